/**
 * An image's width and height from its header bytes alone, for the browser, which must refuse an image over
 * its pixel limit before `createImageBitmap` decodes it (Node reads the same fields: the JPEG frame header
 * in `decode.ts`, the others through sharp's metadata). PNG IHDR, JPEG SOFn, WebP (VP8, VP8L, VP8X), GIF's
 * logical screen, BMP's info header. Imports nothing: it runs in browsers (`pplcnet/web`), and the serve page
 * embeds its source to check a thumbnail's size.
 */

/** What a header says: the format and the size it declares, or that more bytes are needed to find it. */
export type HeaderSize =
  | {
      readonly format: 'PNG' | 'JPEG' | 'WebP' | 'GIF' | 'BMP';
      readonly width: number;
      readonly height: number;
      /** JPEG: the colour components its frame header declares. */
      readonly components?: number;
    }
  /** The size lies beyond the bytes given (a JPEG's frame header after large metadata): read more. */
  | { readonly format: 'JPEG'; readonly needMore: true }
  /** A format this reader knows, but its header is damaged or declares no size. */
  | { readonly format: 'PNG' | 'JPEG' | 'WebP' | 'GIF' | 'BMP'; readonly damaged: string };

/**
 * The size an image declares in its first bytes; undefined when the bytes are none of PNG, JPEG, WebP, GIF
 * or BMP. `complete` says the bytes are the whole file (then a JPEG without a frame header is damaged).
 * Self-contained (no outer references) so that its source can run as it is in a page's script.
 */
export function imageHeaderSize(b: Uint8Array, complete = false): HeaderSize | undefined {
  const u16be = (i: number): number => (b[i]! << 8) | b[i + 1]!;
  const u16le = (i: number): number => b[i]! | (b[i + 1]! << 8);
  const u24le = (i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
  const u32be = (i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  const i32le = (i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
  const text = (i: number, n: number): string => String.fromCharCode(...b.subarray(i, i + n));
  if (b.length >= 8 && b[0] === 0x89 && text(1, 3) === 'PNG') {
    if (b.length < 24 || text(12, 4) !== 'IHDR') return { format: 'PNG', damaged: 'no IHDR chunk first' };
    return { format: 'PNG', width: u32be(16), height: u32be(20) };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    let i = 2;
    for (;;) {
      if (i + 4 > b.length) return complete ? { format: 'JPEG', damaged: 'no frame header (SOFn)' } : { format: 'JPEG', needMore: true };
      if (b[i] !== 0xff) return { format: 'JPEG', damaged: `no marker at byte ${i}` };
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        // marker, length, precision, height, width, components: 10 bytes
        if (i + 10 > b.length) return complete ? { format: 'JPEG', damaged: 'a cut frame header' } : { format: 'JPEG', needMore: true };
        return { format: 'JPEG', width: u16be(i + 7), height: u16be(i + 5), components: b[i + 9]! };
      }
      if (marker === 0xda || marker === 0xd9) return { format: 'JPEG', damaged: 'no frame header (SOFn) before the image data' };
      // markers without a length: TEM and RSTn
      i += marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) ? 2 : 2 + u16be(i + 2);
    }
  }
  if (b.length >= 12 && text(0, 4) === 'RIFF' && text(8, 4) === 'WEBP') {
    const chunk = text(12, 4);
    if (chunk === 'VP8 ' && b.length >= 30) return { format: 'WebP', width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff };
    if (chunk === 'VP8L' && b.length >= 25) {
      const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
      return { format: 'WebP', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X' && b.length >= 30) return { format: 'WebP', width: u24le(24) + 1, height: u24le(27) + 1 };
    return { format: 'WebP', damaged: `no VP8, VP8L or VP8X chunk with a size (found ${JSON.stringify(chunk)})` };
  }
  if (b.length >= 6 && (text(0, 6) === 'GIF87a' || text(0, 6) === 'GIF89a')) {
    if (b.length < 10) return { format: 'GIF', damaged: 'a cut logical screen descriptor' };
    return { format: 'GIF', width: u16le(6), height: u16le(8) };
  }
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    const info = (b[14]! | (b[15]! << 8) | (b[16]! << 16) | (b[17]! << 24)) >>> 0;
    if (info === 12) return { format: 'BMP', width: u16le(18), height: u16le(20) };
    if (info < 40) return { format: 'BMP', damaged: `an info header of ${info} bytes` };
    // a negative height means rows stored top-down
    return { format: 'BMP', width: Math.abs(i32le(18)), height: Math.abs(i32le(22)) };
  }
  return undefined;
}
