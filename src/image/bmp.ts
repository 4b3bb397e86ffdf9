/**
 * Windows BMP decoding (sharp's libvips build does not read BMP): uncompressed 1/4/8-bit palette, 16-bit
 * (5-5-5 or bitfields), 24-bit and 32-bit (BI_RGB or BI_BITFIELDS), bottom-up or top-down; RLE is refused.
 * The result is RGB like OpenCV's `imread(IMREAD_COLOR)` (alpha dropped).
 */
import { PplcnetError } from '../errors.js';
import type { Image8 } from './resize.js';

export function isBmp(b: Uint8Array): boolean {
  return b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d;
}

export function decodeBmp(buf: Uint8Array, name: string): Image8 {
  const fail = (m: string): never => {
    throw new PplcnetError('E_IMAGE', `${name}: ${m}`);
  };
  if (!isBmp(buf)) fail('not a BMP file');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (n: number): void => {
    if (n > buf.length) fail(`truncated BMP: needs ${n} bytes, has ${buf.length}`);
  };
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (headerSize < 12) fail(`BMP header of ${headerSize} bytes`);
  need(14 + headerSize);
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
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) fail(`BMP size ${width}x${height} is not plausible`);
  if (compression !== 0 && compression !== 3 && compression !== 6) fail(`BMP compression ${compression} (RLE or embedded JPEG/PNG) is not supported`);
  let masks: [number, number, number] | undefined;
  if (compression === 3 || compression === 6) {
    const at = headerSize >= 52 ? 54 : 14 + headerSize;
    need(at + 12);
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true)];
  } else if (bpp === 16) masks = [0x7c00, 0x03e0, 0x001f];
  const palette: number[][] = [];
  if (bpp <= 8) {
    const entry = headerSize === 12 ? 3 : 4;
    const n = colors || 1 << bpp;
    const at = 14 + headerSize;
    need(at + n * entry);
    for (let i = 0; i < n; i++) palette.push([buf[at + i * entry + 2]!, buf[at + i * entry + 1]!, buf[at + i * entry]!]);
  } else if (![16, 24, 32].includes(bpp)) fail(`BMP with ${bpp} bits per pixel is not supported`);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  need(dataOffset + stride * height);
  const out = new Uint8Array(width * height * 3);
  const field = (v: number, mask: number): number => {
    if (mask === 0) return 0;
    let shift = 0;
    while (((mask >>> shift) & 1) === 0) shift++;
    const max = mask >>> shift;
    return Math.round((((v & mask) >>> shift) * 255) / max);
  };
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      let r: number;
      let g: number;
      let b: number;
      if (bpp <= 8) {
        const bit = x * bpp;
        const byte = buf[row + (bit >> 3)]!;
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        const c = palette[idx] ?? fail(`pixel (${x}, ${y}) uses palette entry ${idx} of ${palette.length}`);
        [r, g, b] = c as number[] as [number, number, number];
      } else if (bpp === 24 || (bpp === 32 && !masks)) {
        const p = row + x * (bpp / 8);
        [b, g, r] = [buf[p]!, buf[p + 1]!, buf[p + 2]!];
      } else {
        const v = bpp === 16 ? dv.getUint16(row + x * 2, true) : dv.getUint32(row + x * 4, true);
        [r, g, b] = [field(v, masks![0]), field(v, masks![1]), field(v, masks![2])];
      }
      const o = (y * width + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return { width, height, channels: 3, data: out };
}
