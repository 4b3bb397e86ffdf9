/**
 * Windows BMP decoding, our own: sharp's libvips build does not read BMP, and a BMP header is easy to make
 * lie (a 74-byte file can declare 37000x37000 pixels), so every field is checked here before any pixel is
 * allocated. Read: uncompressed 1/4/8-bit palette, 16-bit (5-5-5 or bitfields), 24-bit and 32-bit (BI_RGB or
 * BI_BITFIELDS), bottom-up or top-down; RLE and embedded JPEG/PNG are refused. The result is RGB like
 * OpenCV's `imread(IMREAD_COLOR)` (alpha dropped).
 */
import { PplcnetError } from '../errors.js';
import { type DecodeOptions, checkPixels, pixelLimit } from './limits.js';
import type { Image8 } from './resize.js';

export function isBmp(b: Uint8Array): boolean {
  return b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d;
}

/** DIB header sizes: BITMAPCOREHEADER, BITMAPINFOHEADER, V2, V3, V4, V5. */
const HEADER_SIZES = [12, 40, 52, 56, 108, 124];
const BIT_DEPTHS = [1, 4, 8, 16, 24, 32];
const COMPRESSION: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'embedded JPEG', 5: 'embedded PNG' };

/** A colour mask's shift and maximum, checked: contiguous bits within the pixel's bits. */
function maskField(mask: number, bpp: number, fail: (m: string) => never): { mask: number; shift: number; max: number } {
  if (mask === 0) return { mask, shift: 0, max: 0 };
  if (bpp < 32 && mask >>> bpp !== 0) fail(`BMP colour mask 0x${mask.toString(16)} has bits beyond the ${bpp} bits of a pixel`);
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  if ((max & (max + 1)) !== 0) fail(`BMP colour mask 0x${mask.toString(16)} is not one run of bits`);
  return { mask, shift, max };
}

type Mask = ReturnType<typeof maskField>;

/** The file with its name, for reads that fail with an E_IMAGE naming it. */
interface BmpFile {
  readonly buf: Uint8Array;
  readonly dv: DataView;
  fail(message: string): never;
  /** Fails unless the file has `n` bytes for `what`. */
  need(n: number, what: string): void;
}

/** The fields of the file and DIB headers the decoding uses, checked. */
interface BmpHeader {
  readonly dataOffset: number;
  readonly headerSize: number;
  readonly width: number;
  readonly height: number;
  readonly topDown: boolean;
  readonly bpp: number;
  readonly compression: number;
  readonly colors: number;
}

/** Reads and checks the headers: size, depth, compression, and the pixel count against the limit. */
function readHeader(f: BmpFile, name: string, maxPixels: number): BmpHeader {
  const { dv, fail } = f;
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (!HEADER_SIZES.includes(headerSize)) fail(`BMP header of ${headerSize} bytes; expected one of ${HEADER_SIZES.join(', ')}`);
  f.need(14 + headerSize, 'header');
  const core = headerSize === 12;
  const width = core ? dv.getUint16(18, true) : dv.getInt32(18, true);
  const signedHeight = core ? dv.getInt16(20, true) : dv.getInt32(22, true);
  const bpp = dv.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : dv.getUint32(30, true);
  const colors = core ? 0 : dv.getUint32(46, true);
  // the colour-plane count (always 1 in practice) is not checked: OpenCV ignores it, and so does the decoding
  if (!BIT_DEPTHS.includes(bpp)) fail(`BMP with ${bpp} bits per pixel; expected one of ${BIT_DEPTHS.join(', ')}`);
  if (compression !== 0 && compression !== 3 && compression !== 6) {
    fail(`BMP compression ${compression} (${COMPRESSION[compression] ?? 'unknown'}) is not supported; save it as an uncompressed BMP or a PNG`);
  }
  if (compression !== 0 && bpp !== 16 && bpp !== 32) fail(`BMP bitfields compression with ${bpp} bits per pixel; expected 16 or 32`);
  const height = Math.abs(signedHeight);
  if (width <= 0 || height <= 0) fail(`BMP size ${width}x${height}; expected a positive width and height`);
  checkPixels(name, width, height, maxPixels, 'BMP');
  return { dataOffset, headerSize, width, height, topDown: signedHeight < 0, bpp, compression, colors };
}

/**
 * The colour masks (bitfields, or 16-bit's default 5-5-5; none for the other depths), and where the data
 * after the header and the masks starts.
 */
function readMasks(f: BmpFile, h: BmpHeader): { masks?: [Mask, Mask, Mask]; at: number } {
  const at = 14 + h.headerSize;
  if (h.compression === 3 || h.compression === 6) {
    const inHeader = h.headerSize >= 52;
    const maskAt = inHeader ? 54 : at;
    f.need(maskAt + 12, 'colour masks');
    const masks = [0, 4, 8].map((o) => maskField(f.dv.getUint32(maskAt + o, true), h.bpp, f.fail)) as [Mask, Mask, Mask];
    const [r, g, b] = masks.map((m) => m.mask) as [number, number, number];
    if ((r & g) | (r & b) | (g & b)) f.fail('BMP colour masks overlap');
    return { masks, at: inHeader ? at : at + (h.compression === 6 ? 16 : 12) };
  }
  if (h.bpp === 16) return { masks: [0x7c00, 0x03e0, 0x001f].map((m) => maskField(m, 16, f.fail)) as [Mask, Mask, Mask], at };
  return { at };
}

/** The palette as RGB (256 entries; unlisted ones are checked per pixel), its size, and where it ends. */
function readPalette(f: BmpFile, h: BmpHeader, at: number): { palette: Uint8Array; paletteSize: number; end: number } {
  const { bpp, colors } = h;
  const entry = h.headerSize === 12 ? 3 : 4;
  if (bpp <= 8 && colors > 1 << bpp) f.fail(`BMP palette of ${colors} colours for ${bpp} bits per pixel; at most ${1 << bpp}`);
  if (bpp > 8 && colors > 1 << 24) f.fail(`BMP declares a palette of ${colors} colours`);
  const paletteSize = bpp <= 8 ? colors || 1 << bpp : 0;
  const palette = new Uint8Array(256 * 3);
  if (paletteSize === 0) return { palette, paletteSize, end: at };
  f.need(at + paletteSize * entry, 'palette');
  for (let i = 0; i < paletteSize; i++) {
    const p = at + i * entry;
    palette[3 * i] = f.buf[p + 2]!;
    palette[3 * i + 1] = f.buf[p + 1]!;
    palette[3 * i + 2] = f.buf[p]!;
  }
  return { palette, paletteSize, end: at + paletteSize * entry };
}

/** A masked colour value scaled to 0–255. */
function field(v: number, m: Mask): number {
  return m.max === 0 ? 0 : Math.round((((v & m.mask) >>> m.shift) * 255) / m.max);
}

/** The pixels, row by row into RGB, by the kind of pixel: palette index, BGR bytes, or masked fields. */
function decodePixels(f: BmpFile, h: BmpHeader, stride: number, masks: [Mask, Mask, Mask] | undefined, palette: Uint8Array, paletteSize: number): Uint8Array {
  const { buf, dv } = f;
  const { width, height, bpp } = h;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + (h.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    if (bpp <= 8) {
      const valueMask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++, o += 3) {
        const bit = x * bpp;
        const idx = (buf[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & valueMask;
        if (idx >= paletteSize) f.fail(`pixel (${x}, ${y}) uses palette entry ${idx} of ${paletteSize}`);
        out[o] = palette[3 * idx]!;
        out[o + 1] = palette[3 * idx + 1]!;
        out[o + 2] = palette[3 * idx + 2]!;
      }
    } else if (!masks) {
      const step = bpp / 8;
      for (let x = 0, p = row; x < width; x++, o += 3, p += step) {
        out[o] = buf[p + 2]!;
        out[o + 1] = buf[p + 1]!;
        out[o + 2] = buf[p]!;
      }
    } else {
      const [mr, mg, mb] = masks;
      for (let x = 0; x < width; x++, o += 3) {
        const v = bpp === 16 ? dv.getUint16(row + x * 2, true) : dv.getUint32(row + x * 4, true);
        out[o] = field(v, mr);
        out[o + 1] = field(v, mg);
        out[o + 2] = field(v, mb);
      }
    }
  }
  return out;
}

export function decodeBmp(buf: Uint8Array, name: string, options?: DecodeOptions): Image8 {
  const f: BmpFile = {
    buf,
    dv: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
    fail(m: string): never {
      throw new PplcnetError('E_IMAGE', `${name}: ${m}`);
    },
    need(n: number, what: string): void {
      if (n > buf.length) f.fail(`truncated BMP: its ${what} needs ${n} bytes, the file has ${buf.length}`);
    },
  };
  if (!isBmp(buf)) f.fail('not a BMP file');
  const h = readHeader(f, name, pixelLimit(options));
  // where the colour masks and the palette are, and that they end before the pixels
  const { masks, at } = readMasks(f, h);
  const { palette, paletteSize, end } = readPalette(f, h, at);
  if (h.dataOffset < end) f.fail(`BMP pixel data at byte ${h.dataOffset} overlaps its header, masks or palette (which end at byte ${end})`);
  const stride = Math.ceil((h.width * h.bpp) / 32) * 4;
  if (stride * h.height > buf.length - Math.min(h.dataOffset, buf.length)) {
    f.fail(`truncated BMP: ${h.height} rows of ${stride} bytes from byte ${h.dataOffset} need ${h.dataOffset + stride * h.height} bytes, the file has ${buf.length}`);
  }
  return { width: h.width, height: h.height, channels: 3, data: decodePixels(f, h, stride, masks, palette, paletteSize) };
}
