/**
 * What pplcnet agrees to decode: the supported formats (recognised from the file's first bytes, never from
 * its name) and one pixel limit, checked against the size an image declares before any pixel is allocated.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import type { Preprocess } from '../metadata.js';
import type { DecodeMode } from './fast-decode.js';

/**
 * The most pixels (width × height) an image may declare: 268,402,689 = 16383 × 16383, the limit sharp
 * applies by default (`limitInputPixels`), used for every format, BMP included. Decoding an image at the
 * limit takes about 0.8 GB for its RGB pixels alone (3 bytes a pixel) and ~1.1 GB of peak memory (see
 * docs/predict.md); a larger `maxPixels` option (decodeImage, preprocess, createClassifier) allows more.
 */
export const MAX_PIXELS = 0x3fff * 0x3fff;

/** The formats pplcnet reads, as named in messages. */
export const SUPPORTED_FORMATS = Object.freeze(['JPEG', 'PNG', 'WebP', 'TIFF', 'GIF', 'AVIF', 'BMP']);

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' | 'bmp';

/** Options every decoding entry point takes. */
export interface DecodeOptions {
  /** The most pixels an image may declare. [{@link MAX_PIXELS}] */
  maxPixels?: number;
  /**
   * `fast`: a JPEG at least 5× larger than `resize` asks (on both axes) is decoded by libjpeg at 1/4 or 1/8
   * scale (shrink-on-load); NOT Paddle-exact (see `fast-decode.ts`). Other formats and smaller JPEGs are
   * decoded exactly. ['exact']
   */
  decode?: DecodeMode;
  /** The resize that follows decoding (`fast` mode keeps the decoded image at least as large as it asks). */
  resize?: Preprocess['resize'];
}

/** The pixel limit from options, checked. */
export function pixelLimit(options: DecodeOptions | undefined): number {
  const n = options?.maxPixels ?? MAX_PIXELS;
  if (!Number.isSafeInteger(n) || n < 1) throw invalidOption('maxPixels', 'a positive integer', n);
  return n;
}

const ascii = (b: Uint8Array, at: number, text: string): boolean => {
  if (b.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** The ISO-BMFF (HEIF) brands in an `ftyp` box at the start: major and compatible. */
function ftypBrands(b: Uint8Array): string[] | undefined {
  if (!ascii(b, 4, 'ftyp') || b.length < 16) return undefined;
  const size = Math.min(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0, b.length);
  const brands: string[] = [];
  for (let at = 8; at + 4 <= size; at += 4) if (at !== 12) brands.push(String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!));
  return brands;
}

/** The supported format a file's first bytes announce, or undefined. */
export function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(b, 0, '\x89PNG\r\n\x1a\n')) return 'png';
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return 'gif';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'webp';
  if (ascii(b, 0, 'II*\0') || ascii(b, 0, 'MM\0*') || ascii(b, 0, 'II+\0') || ascii(b, 0, 'MM\0+')) return 'tiff';
  if (ftypBrands(b)?.some((x) => x === 'avif' || x === 'avis')) return 'avif';
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  return undefined;
}

/** What an unsupported file looks like, for the message; undefined when unknown. */
export function lookalike(b: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(b.subarray(0, 512)).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(head) || /<svg[\s>]/i.test(head)) return 'SVG';
  if (head.startsWith('%PDF')) return 'PDF';
  if (/^(<!doctype html|<html)/i.test(head)) return 'HTML';
  if (ftypBrands(b)) return 'HEIF/HEIC';
  if (ascii(b, 0, '\0\0\0\x0cjP  ') || (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51)) return 'JPEG 2000';
  if (ascii(b, 0, '\0\0\0\x0cJXL ') || (b[0] === 0xff && b[1] === 0x0a)) return 'JPEG XL';
  if (/^P[1-7]\s/.test(head)) return 'PNM (PBM/PGM/PPM)';
  if (head.startsWith('SIMPLE  =')) return 'FITS';
  if (head.startsWith('#?RADIANCE') || head.startsWith('#?RGBE')) return 'Radiance HDR';
  if (ascii(b, 0, '8BPS')) return 'Photoshop PSD';
  if (ascii(b, 0, '\x08\xf2\xa6\xb6') || ascii(b, 0, '\xb6\xa6\xf2\x08')) return 'a libvips .v file';
  if (ascii(b, 0, '\0\0\x01\0')) return 'ICO';
  return undefined;
}

/** The refusal for a file whose content is not one of the supported formats. */
export function unsupportedFormat(name: string, what: string | undefined): PplcnetError {
  return new PplcnetError(
    'E_IMAGE',
    `${name}: cannot decode the image: ${what ? `it is ${what}, which pplcnet does not read` : 'its content is in no image format pplcnet knows'}; ` +
      `pplcnet reads ${SUPPORTED_FORMATS.slice(0, -1).join(', ')} and ${SUPPORTED_FORMATS.at(-1)} (recognised by content, not by the file name); convert it to PNG or JPEG`,
  );
}

/** Refuse an image that declares more pixels than the limit, before anything is allocated for it. */
export function checkPixels(name: string, width: number, height: number, maxPixels: number, format: string): void {
  const pixels = width * height;
  if (pixels <= maxPixels) return;
  const gb = ((pixels * 3) / 1e9).toFixed(1);
  throw new PplcnetError(
    'E_IMAGE',
    `${name}: the ${format} image declares ${width}x${height} = ${pixels} pixels, more than the limit of ${maxPixels} ` +
      `(its RGB pixels alone would take ${gb} GB); not decoded. Scale it down (PP-LCNet models see about 224x224), ` +
      `or, if the image is genuine, raise the limit (the maxPixels option of createClassifier/decodeImage; pplcnet serve --max-pixels)`,
  );
}
