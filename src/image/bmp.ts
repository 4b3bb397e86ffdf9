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

export function decodeBmp(buf: Uint8Array, name: string, options?: DecodeOptions): Image8 {
  const maxPixels = pixelLimit(options);
  const fail = (m: string): never => {
    throw new PplcnetError('E_IMAGE', `${name}: ${m}`);
  };
  if (!isBmp(buf)) fail('not a BMP file');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (n: number, what: string): void => {
    if (n > buf.length) fail(`truncated BMP: its ${what} needs ${n} bytes, the file has ${buf.length}`);
  };
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (!HEADER_SIZES.includes(headerSize)) fail(`BMP header of ${headerSize} bytes; expected one of ${HEADER_SIZES.join(', ')}`);
  need(14 + headerSize, 'header');
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let colors = 0;
  if (headerSize === 12) {
    width = dv.getUint16(18, true);
    height = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
  } else {
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colors = dv.getUint32(46, true);
  }
  // the colour-plane count (always 1 in practice) is not checked: OpenCV ignores it, and so does the decoding
  if (!BIT_DEPTHS.includes(bpp)) fail(`BMP with ${bpp} bits per pixel; expected one of ${BIT_DEPTHS.join(', ')}`);
  if (compression !== 0 && compression !== 3 && compression !== 6) {
    fail(`BMP compression ${compression} (${COMPRESSION[compression] ?? 'unknown'}) is not supported; save it as an uncompressed BMP or a PNG`);
  }
  if (compression !== 0 && bpp !== 16 && bpp !== 32) fail(`BMP bitfields compression with ${bpp} bits per pixel; expected 16 or 32`);
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0) fail(`BMP size ${width}x${height}; expected a positive width and height`);
  checkPixels(name, width, height, maxPixels, 'BMP');

  // where the colour masks and the palette are, and that they end before the pixels
  let at = 14 + headerSize;
  let masks: ReturnType<typeof maskField>[] | undefined;
  if (compression === 3 || compression === 6) {
    const inHeader = headerSize >= 52;
    const maskAt = inHeader ? 54 : at;
    need(maskAt + 12, 'colour masks');
    masks = [0, 4, 8].map((o) => maskField(dv.getUint32(maskAt + o, true), bpp, fail));
    const [r, g, b] = masks.map((m) => m.mask) as [number, number, number];
    if ((r & g) | (r & b) | (g & b)) fail('BMP colour masks overlap');
    if (!inHeader) at += compression === 6 ? 16 : 12;
  } else if (bpp === 16) masks = [0x7c00, 0x03e0, 0x001f].map((m) => maskField(m, 16, fail));
  const entry = headerSize === 12 ? 3 : 4;
  if (bpp <= 8 && colors > 1 << bpp) fail(`BMP palette of ${colors} colours for ${bpp} bits per pixel; at most ${1 << bpp}`);
  if (bpp > 8 && colors > 1 << 24) fail(`BMP declares a palette of ${colors} colours`);
  const paletteSize = bpp <= 8 ? colors || 1 << bpp : 0;
  const palette = new Uint8Array(256 * 3); // RGB; unlisted entries are checked per pixel
  if (paletteSize > 0) {
    need(at + paletteSize * entry, 'palette');
    for (let i = 0; i < paletteSize; i++) {
      const p = at + i * entry;
      palette[3 * i] = buf[p + 2]!;
      palette[3 * i + 1] = buf[p + 1]!;
      palette[3 * i + 2] = buf[p]!;
    }
    at += paletteSize * entry;
  }
  if (dataOffset < at) fail(`BMP pixel data at byte ${dataOffset} overlaps its header, masks or palette (which end at byte ${at})`);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (stride * height > buf.length - Math.min(dataOffset, buf.length)) {
    fail(`truncated BMP: ${height} rows of ${stride} bytes from byte ${dataOffset} need ${dataOffset + stride * height} bytes, the file has ${buf.length}`);
  }

  const out = new Uint8Array(width * height * 3);
  const field = (v: number, m: { mask: number; shift: number; max: number }): number =>
    m.max === 0 ? 0 : Math.round((((v & m.mask) >>> m.shift) * 255) / m.max);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    if (bpp <= 8) {
      const valueMask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++, o += 3) {
        const bit = x * bpp;
        const idx = (buf[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & valueMask;
        if (idx >= paletteSize) fail(`pixel (${x}, ${y}) uses palette entry ${idx} of ${paletteSize}`);
        out[o] = palette[3 * idx]!;
        out[o + 1] = palette[3 * idx + 1]!;
        out[o + 2] = palette[3 * idx + 2]!;
      }
    } else if (bpp === 24 || (bpp === 32 && !masks)) {
      const step = bpp / 8;
      for (let x = 0, p = row; x < width; x++, o += 3, p += step) {
        out[o] = buf[p + 2]!;
        out[o + 1] = buf[p + 1]!;
        out[o + 2] = buf[p]!;
      }
    } else {
      const [mr, mg, mb] = masks as [ReturnType<typeof maskField>, ReturnType<typeof maskField>, ReturnType<typeof maskField>];
      for (let x = 0; x < width; x++, o += 3) {
        const v = bpp === 16 ? dv.getUint16(row + x * 2, true) : dv.getUint32(row + x * 4, true);
        out[o] = field(v, mr);
        out[o + 1] = field(v, mg);
        out[o + 2] = field(v, mb);
      }
    }
  }
  return { width, height, channels: 3, data: out };
}
