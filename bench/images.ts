/**
 * Seeded synthetic images for the benchmarks: photo-like JPEGs and scan-like PNGs, and a process-CPU clock.
 */
import sharp from 'sharp';

/** A seeded generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A photo-like RGB image: smooth gradients, a few blobs, sensor-like noise (so JPEG has work to do). */
export function photo(w: number, h: number, seed: number): Buffer {
  const r = rng(seed);
  const px = Buffer.alloc(w * h * 3);
  const blobs = Array.from({ length: 6 }, () => [r() * w, r() * h, (0.05 + r() * 0.2) * w, r() * 255, r() * 255, r() * 255] as const);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      let c0 = (x * 255) / w;
      let c1 = (y * 255) / h;
      let c2 = 128;
      for (const [bx, by, br, R, G, B] of blobs) {
        const dx = x - bx;
        const dy = y - by;
        if (dx * dx + dy * dy < br * br) [c0, c1, c2] = [R, G, B];
      }
      px[o] = Math.max(0, Math.min(255, c0 + (r() - 0.5) * 24));
      px[o + 1] = Math.max(0, Math.min(255, c1 + (r() - 0.5) * 24));
      px[o + 2] = Math.max(0, Math.min(255, c2 + (r() - 0.5) * 24));
    }
  return px;
}

/** {@link photo} as a quality-90 JPEG. */
export const photoJpeg = (w: number, h: number, seed: number): Promise<Buffer> => sharp(photo(w, h, seed), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();

/** A scan-like grayscale page: white paper, rows of dark "words". */
export function scan(w: number, h: number, seed: number): Buffer {
  const r = rng(seed);
  const px = Buffer.alloc(w * h, 245);
  for (let line = 40; line + 20 < h - 40; line += 34) {
    let x = 60;
    while (x < w - 120) {
      const len = 20 + Math.floor(r() * 90);
      for (let y = line; y < line + 18; y++) for (let i = x; i < Math.min(x + len, w - 60); i++) if (r() < 0.55) px[y * w + i] = 20 + Math.floor(r() * 40);
      x += len + 12;
    }
  }
  return px;
}

/** Process CPU time (user + system, every thread) in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
