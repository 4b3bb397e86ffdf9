/**
 * What pplcnet agrees to decode: the supported formats (recognised from the file's first bytes, never from
 * its name) and one pixel limit, checked against the size an image declares before any pixel is allocated.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import type { Preprocess } from '../metadata.js';
import type { DecodeMode } from './fast-decode.js';
import { imageHeaderSize } from './header.js';

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

/**
 * Room for what an image file may hold besides its pixels (EXIF, ICC profiles, XMP, text chunks, thumbnails):
 * 64 MiB, added to every bound below.
 */
export const IMAGE_METADATA_BYTES = 64 << 20;

/**
 * The most bytes per pixel any supported format needs, generously: uncompressed 16-bit RGBA (8 bytes). A PNG
 * stores at most that (plus a filter byte a row), a BMP 4; compressed formats less.
 */
export const MAX_IMAGE_BYTES_PER_PIXEL = 8;

/** The largest Buffer Node can allocate (4 GiB on 64-bit Node 20): a file beyond it cannot be read at all. */
const MAX_BUFFER = 2 ** 32;

/**
 * The most bytes pplcnet reads of an image file at the pixel limit `maxPixels`, before knowing anything of
 * it: uncompressed 16-bit RGBA at the limit plus {@link IMAGE_METADATA_BYTES} (2,214,330,376 bytes at the
 * default {@link MAX_PIXELS}), and never more than Node can hold in one buffer.
 */
export function maxImageFileBytes(maxPixels: number): number {
  return Math.min(MAX_BUFFER, maxPixels * MAX_IMAGE_BYTES_PER_PIXEL + IMAGE_METADATA_BYTES);
}

/** What an image's first bytes declare: its size, and the most bytes a file of that image can take. */
export interface DeclaredImage {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  /** The most bytes such an image can take, metadata included (generous: see {@link declaredImage}). */
  readonly maxBytes: number;
}

const u32be = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** The frames an animated PNG declares (its `acTL` chunk, before the image data), 1 for a still PNG. */
function pngFrames(b: Uint8Array): number {
  for (let at = 8; at + 12 <= b.length; at += 12 + u32be(b, at)) {
    if (ascii(b, at + 4, 'IDAT')) return 1;
    if (ascii(b, at + 4, 'acTL') && at + 12 <= b.length) return Math.max(1, u32be(b, at + 8));
  }
  return 1;
}

/**
 * A PNG's IHDR: samples of `bitDepth` bits, 1–4 channels a pixel by colour type, a filter byte per row; as many
 * times as an animated PNG declares frames.
 */
function pngDeclared(b: Uint8Array): DeclaredImage | undefined {
  if (b.length < 29 || !ascii(b, 12, 'IHDR')) return undefined;
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[b[25]!] ?? 4;
  const rowBytes = Math.ceil((width * channels * Math.max(1, b[24]!)) / 8);
  // ×1.25: interlacing's extra filter bytes, zlib's stored blocks and small IDAT chunks, generously
  return { format: 'PNG', width, height, maxBytes: Math.ceil(height * (1 + rowBytes) * 1.25 * pngFrames(b)) + IMAGE_METADATA_BYTES };
}

/**
 * A JPEG's frame header (SOFn): its size and number of colour components; undefined when none is found in `b`.
 * Read by the browser's header reader, so that Node and the page find the same frame.
 */
export function jpegFrame(b: Uint8Array): { width: number; height: number; components: number } | undefined {
  const h = imageHeaderSize(b);
  return h?.format === 'JPEG' && 'width' in h ? { width: h.width, height: h.height, components: h.components! } : undefined;
}

/**
 * A JPEG's frame header, when it is in `b`: 4 bytes a sample bound any entropy-coded scan (a quality-100
 * photo takes about 1; 12-bit samples, progressive scans and byte stuffing stay under 4).
 */
function jpegDeclared(b: Uint8Array): DeclaredImage | undefined {
  const f = jpegFrame(b);
  return f && { format: 'JPEG', width: f.width, height: f.height, maxBytes: f.width * f.height * Math.max(1, f.components) * 4 + IMAGE_METADATA_BYTES };
}

/** A BMP's info header: at most 4 bytes a pixel, each row padded to 4 bytes. */
function bmpDeclared(b: Uint8Array): DeclaredImage | undefined {
  if (b.length < 26) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const header = dv.getUint32(14, true);
  const width = header === 12 ? dv.getUint16(18, true) : Math.abs(dv.getInt32(18, true));
  const height = header === 12 ? dv.getUint16(20, true) : Math.abs(dv.getInt32(22, true));
  return { format: 'BMP', width, height, maxBytes: height * (4 * width + 4) + IMAGE_METADATA_BYTES };
}

/**
 * The size a PNG, JPEG or BMP declares in its first bytes, and the most bytes a file of that image can take:
 * its samples uncompressed (generously) plus {@link IMAGE_METADATA_BYTES}. A larger file holds something
 * else than this image and is refused before it is read. Undefined for other formats (and a JPEG whose frame
 * header is not in `head`): they are bounded by {@link maxImageFileBytes} only.
 */
export function declaredImage(head: Uint8Array, format: ImageFormat): DeclaredImage | undefined {
  if (format === 'png') return pngDeclared(head);
  if (format === 'jpeg') return jpegDeclared(head);
  if (format === 'bmp') return bmpDeclared(head);
  return undefined;
}

/**
 * Where a PNG (after IEND's CRC) or a JPEG (after EOI) ends in `b`, or undefined when it cannot be told (another
 * format, or a file cut short: the decoder judges those). Bytes after it are ignored by OpenCV's imread and by
 * sharp alike.
 */
export function imageEnd(b: Uint8Array, format: ImageFormat): number | undefined {
  if (format === 'png') {
    let at = 8;
    while (at + 12 <= b.length) {
      const len = u32be(b, at);
      if (ascii(b, at + 4, 'IEND')) return at + 12 + len <= b.length ? at + 12 + len : undefined;
      at += 12 + len;
    }
    return undefined;
  }
  if (format !== 'jpeg') return undefined;
  return jpegEnd(b);
}

/** A JPEG's end: markers walked by their lengths; entropy-coded data scanned for the next marker (FF not followed by 00 or RSTn). */
function jpegEnd(b: Uint8Array): number | undefined {
  let i = 2;
  while (i + 1 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xd9) return i + 2;
    if (marker === 0xff || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += marker === 0xff ? 1 : 2;
      continue;
    }
    if (i + 3 >= b.length) return undefined;
    i += 2 + ((b[i + 2]! << 8) | b[i + 3]!);
    if (marker !== 0xda) continue;
    // entropy-coded data up to the next marker
    for (;;) {
      i = b.indexOf(0xff, i);
      if (i < 0 || i + 1 >= b.length) return undefined;
      const next = b[i + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) i += next === 0xff ? 1 : 2;
      else break;
    }
  }
  return undefined;
}
