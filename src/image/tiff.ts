/**
 * TIFF variants, decoded as OpenCV 4.6's `cv2.imread(IMREAD_COLOR)` decodes them, or refused. OpenCV reads
 * grayscale TIFFs itself (16-bit samples reduced by dropping the low byte, as for PNG) and every other TIFF
 * through libtiff's RGBA interface, which: reduces 16-bit samples with (v + 128) / 257; multiplies the colours
 * of an image with unassociated alpha by it ((v·a + 127) / 255) and keeps those of associated alpha as they
 * are; turns 8-bit CMYK into RGB with (255 − K)(255 − C) / 255. OpenCV refuses float samples. sharp (libvips)
 * gives the stored samples, except that it divides associated alpha out: that variant, float and signed
 * samples, and anything whose layout this reader cannot tell, are refused with what to do.
 */
import { PplcnetError } from '../errors.js';
import type { Image8 } from './resize.js';

/** The first image's tags that decide how its samples become RGB. */
export interface TiffLayout {
  readonly bitsPerSample: number;
  readonly samplesPerPixel: number;
  /** 0 white is zero, 1 black is zero, 2 RGB, 3 palette, 5 separated (CMYK with InkSet 1), 6 YCbCr, … */
  readonly photometric: number;
  /** 1 unsigned integer, 2 signed integer, 3 IEEE float. */
  readonly sampleFormat: number;
  /** ExtraSamples: 0 unspecified, 1 associated alpha, 2 unassociated alpha. */
  readonly extraSamples: readonly number[];
  readonly inkSet: number;
}

/** How the samples sharp gives become OpenCV's pixels. */
export type TiffPlan =
  /** sharp's 8-bit or grayscale decode already equals OpenCV's. */
  | { readonly kind: 'as-is' }
  /** 16-bit colour samples: (v + 128) / 257 each; alpha (unassociated) multiplied in when present. */
  | { readonly kind: 'rgb'; readonly bits: 8 | 16; readonly alpha: boolean }
  /** 8-bit CMYK without alpha. */
  | { readonly kind: 'cmyk' };

const TAG = { bits: 258, photometric: 262, samples: 277, extra: 338, sampleFormat: 339, inkSet: 332 } as const;

/** The first image file directory's tags of a classic (not Big) TIFF; undefined when it cannot be read. */
export function readTiffLayout(b: Uint8Array): TiffLayout | undefined {
  if (b.length < 8) return undefined;
  const le = b[0] === 0x49;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint16(2, le) !== 42) return undefined; // 43: BigTIFF
  const ifd = view.getUint32(4, le);
  if (ifd + 2 > b.length) return undefined;
  const count = view.getUint16(ifd, le);
  if (ifd + 2 + count * 12 > b.length) return undefined;
  const tags = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + i * 12;
    const tag = view.getUint16(at, le);
    const type = view.getUint16(at + 2, le);
    const n = view.getUint32(at + 4, le);
    const size = type === 3 ? 2 : type === 4 ? 4 : type === 1 ? 1 : 0;
    if (size === 0 || n > 64) continue; // only short lists of BYTE, SHORT and LONG values matter here
    const where = n * size <= 4 ? at + 8 : view.getUint32(at + 8, le);
    if (where + n * size > b.length) return undefined;
    const values: number[] = [];
    for (let k = 0; k < n; k++) values.push(size === 2 ? view.getUint16(where + 2 * k, le) : size === 4 ? view.getUint32(where + 4 * k, le) : b[where + k]!);
    tags.set(tag, values);
  }
  const photometric = tags.get(TAG.photometric)?.[0];
  if (photometric === undefined) return undefined;
  return {
    bitsPerSample: tags.get(TAG.bits)?.[0] ?? 1,
    samplesPerPixel: tags.get(TAG.samples)?.[0] ?? 1,
    photometric,
    sampleFormat: tags.get(TAG.sampleFormat)?.[0] ?? 1,
    extraSamples: tags.get(TAG.extra) ?? [],
    inkSet: tags.get(TAG.inkSet)?.[0] ?? 1,
  };
}

/** The refusal of a TIFF variant, naming the file, the variant and what to do. */
function refuse(name: string, variant: string, why: string): PplcnetError {
  return new PplcnetError(
    'E_IMAGE',
    `${name}: a TIFF with ${variant}: ${why}, so pplcnet refuses it rather than classify different pixels; ` +
      'convert it to an 8-bit RGB PNG (or an 8-bit RGB TIFF without alpha) and classify that',
  );
}

/** Describe a layout for messages: `32-bit float samples`, `16-bit samples, 4 per pixel`. */
function samplesText(l: TiffLayout): string {
  const format = l.sampleFormat === 3 ? 'float' : l.sampleFormat === 2 ? 'signed integer' : 'unsigned integer';
  return `${l.bitsPerSample}-bit ${format} samples, ${l.samplesPerPixel} per pixel`;
}

/** How to decode a TIFF of this layout as OpenCV does, or the refusal (thrown). */
export function tiffPlan(l: TiffLayout | undefined, name: string): TiffPlan {
  const opencv = "OpenCV's cv2.imread gives other pixels than pplcnet can reproduce for it";
  if (!l) throw refuse(name, 'an image file directory pplcnet cannot read', 'it cannot tell how OpenCV would decode it');
  if (l.sampleFormat === 3) throw refuse(name, samplesText(l), "OpenCV's cv2.imread does not read float TIFFs into 8-bit colour");
  if (l.sampleFormat !== 1) throw refuse(name, samplesText(l), opencv);
  const extra = l.extraSamples;
  const grey = l.photometric === 0 || l.photometric === 1;
  if (grey) {
    if (extra.length > 0 || l.samplesPerPixel !== 1) throw refuse(name, `grayscale and ${extra.length || l.samplesPerPixel - 1} extra sample(s) (${samplesText(l)})`, opencv);
    return { kind: 'as-is' };
  }
  if (l.photometric === 5) {
    if (l.inkSet !== 1 || l.bitsPerSample !== 8 || l.samplesPerPixel !== 4) throw refuse(name, `separated colour other than 8-bit CMYK (${samplesText(l)}, InkSet ${l.inkSet})`, opencv);
    return { kind: 'cmyk' };
  }
  if (l.photometric !== 2) return { kind: 'as-is' }; // palette, YCbCr, …: sharp and libtiff agree on these
  if (l.bitsPerSample !== 8 && l.bitsPerSample !== 16) throw refuse(name, `RGB ${samplesText(l)}`, opencv);
  const alpha = l.samplesPerPixel > 3;
  // libtiff takes a fourth sample with no ExtraSamples, or an unspecified one, as associated alpha
  const associated = alpha && (extra.length === 0 || extra[0] === 0 || extra[0] === 1);
  if (associated) throw refuse(name, 'associated (premultiplied) alpha', 'its colours cannot be read back exactly as stored');
  if (l.samplesPerPixel > 4) throw refuse(name, `RGB and ${l.samplesPerPixel - 3} extra samples`, opencv);
  if (l.bitsPerSample === 8 && !alpha) return { kind: 'as-is' };
  return { kind: 'rgb', bits: l.bitsPerSample, alpha };
}

/**
 * OpenCV's RGB from the samples sharp gives (interleaved, 3 or 4 per pixel, 8 or 16 bits): 16-bit samples
 * reduced with (v + 128) / 257, colours multiplied by unassociated alpha with (v·a + 127) / 255.
 */
export function tiffRgb(samples: Uint8Array | Uint16Array, width: number, height: number, channels: number, plan: TiffPlan & { kind: 'rgb' }): Image8 {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const to8 = plan.bits === 16 ? (v: number): number => Math.floor((v + 128) / 257) : (v: number): number => v;
  for (let i = 0; i < n; i++) {
    const a = plan.alpha ? to8(samples[i * channels + 3]!) : 255;
    for (let c = 0; c < 3; c++) {
      const v = to8(samples[i * channels + c]!);
      out[3 * i + c] = plan.alpha ? Math.floor((v * a + 127) / 255) : v;
    }
  }
  return { width, height, channels: 3, data: out };
}

/** OpenCV's RGB from 8-bit CMYK samples (through libtiff): (255 − K)(255 − C) / 255, likewise M→G, Y→B. */
export function tiffCmyk(samples: Uint8Array, width: number, height: number): Image8 {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const k = 255 - samples[4 * i + 3]!;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.floor((k * (255 - samples[4 * i + c]!)) / 255);
  }
  return { width, height, channels: 3, data: out };
}
