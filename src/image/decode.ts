/**
 * Decoding with sharp into the 8-bit RGB pixels OpenCV's `imread(IMREAD_COLOR)` gives PaddleClas (after its
 * BGR→RGB): EXIF orientation applied, alpha dropped (not composited), grayscale replicated, 16-bit samples
 * reduced by dropping the low byte (libpng's strip_16), palettes expanded, CMYK converted to sRGB.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { PplcnetError } from '../errors.js';
import { decodeBmp, isBmp } from './bmp.js';
import type { Image8 } from './resize.js';

/** An image input: a file path, or encoded bytes. */
export type ImageInput = string | Uint8Array;

sharp.cache(false);

function describeInput(input: ImageInput): string {
  return typeof input === 'string' ? input : `<${input.length} bytes>`;
}

/** Decode to interleaved RGB uint8 (HWC). */
export async function decodeImage(input: ImageInput, name = describeInput(input)): Promise<Image8> {
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? new Uint8Array(await readFile(input)) : input;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PplcnetError('E_IMAGE', code === 'ENOENT' ? `${name}: no such file` : `${name}: cannot read (${(err as Error).message})`, { cause: err });
  }
  if (bytes.length === 0) throw new PplcnetError('E_IMAGE', `${name}: the file is empty`);
  if (isBmp(bytes)) return decodeBmp(bytes, name);
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    // JPEG is always 8-bit: skip the metadata pass; other formats may hold 16-bit samples
    const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
    const meta = jpeg ? undefined : await sharp(source).metadata();
    const sixteen = meta !== undefined && (meta.depth === 'ushort' || meta.depth === 'short');
    if (jpeg && jpegComponents(bytes) === 4) {
      return cmykToRgb(await sharp(source).rotate().pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true }), name);
    }
    let pipeline = sharp(source).rotate();
    if (sixteen) {
      pipeline = pipeline.toColourspace(meta!.channels !== undefined && meta!.channels <= 2 && meta!.space === 'grey16' ? 'grey16' : 'rgb16');
      const { data, info } = await pipeline.removeAlpha().raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const words = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      return toRgb(Uint8Array.from(words, (w) => w >> 8), info.width, info.height, info.channels, name);
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return toRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, info.channels, name);
  } catch (err) {
    if (err instanceof PplcnetError) throw err;
    const msg = ((err as Error).message ?? String(err)).trim();
    throw new PplcnetError('E_IMAGE', `${name}: cannot decode the image (${msg}); pplcnet reads JPEG, PNG, WebP, TIFF, GIF, AVIF and BMP`, { cause: err });
  }
}

/** The number of colour components in a JPEG's frame header (SOFn), or undefined when none is found. */
export function jpegComponents(b: Uint8Array): number | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9];
    if (marker === 0xda) return undefined; // start of scan: no frame header before it
    i += 2 + len;
  }
  return undefined;
}

/**
 * CMYK as OpenCV converts it (icvCvt_CMYK2BGR on libjpeg's Adobe-inverted samples), written for the
 * uninverted values libvips gives: R = (255 − K) − ((C·(255 − K)) >> 8), likewise G from M and B from Y.
 */
function cmykToRgb({ data, info }: { data: Buffer; info: { width: number; height: number; channels: number } }, name: string): Image8 {
  if (info.channels !== 4) throw new PplcnetError('E_IMAGE', `${name}: CMYK image decoded to ${info.channels} channels`);
  const n = info.width * info.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const k = 255 - data[4 * i + 3]!;
    out[3 * i] = k - ((data[4 * i]! * k) >> 8);
    out[3 * i + 1] = k - ((data[4 * i + 1]! * k) >> 8);
    out[3 * i + 2] = k - ((data[4 * i + 2]! * k) >> 8);
  }
  return { width: info.width, height: info.height, channels: 3, data: out };
}

function toRgb(data: Uint8Array, width: number, height: number, channels: number, name: string): Image8 {
  if (channels === 3) return { width, height, channels: 3, data };
  if (channels === 1) {
    const out = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i]!;
    return { width, height, channels: 3, data: out };
  }
  throw new PplcnetError('E_IMAGE', `${name}: decoded to ${channels} channels, expected 1 or 3`);
}
