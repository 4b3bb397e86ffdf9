/** Writers for test data: ustar archives and protocol-2 pickles of numpy arrays (as Paddle writes them). */
import { pickleArrays } from './pickle-writer.js';

export interface TarEntry {
  name: string;
  data?: Uint8Array;
  /** '0' file (default), '5' folder, '2' symlink. */
  type?: '0' | '5' | '2';
  linkname?: string;
}

export function makeTar(entries: TarEntry[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const e of entries) {
    const h = new Uint8Array(512);
    const put = (s: string, off: number, len: number) => h.set(enc.encode(s).subarray(0, len), off);
    const data = e.data ?? new Uint8Array(0);
    put(e.name, 0, 100);
    put('0000644\0', 100, 8);
    put('0000000\0', 108, 8);
    put('0000000\0', 116, 8);
    put(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 12);
    put('00000000000\0', 136, 12);
    put('        ', 148, 8);
    h[156] = (e.type ?? '0').charCodeAt(0);
    if (e.linkname) put(e.linkname, 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(h);
    if (data.length) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** A protocol-2 pickle of OrderedDict(name → float32 ndarray), laid out like numpy 1.x + Paddle write it. */
export function picklePdparams(tensors: Iterable<[string, readonly number[], Float32Array]>): Uint8Array {
  return pickleArrays([...tensors].map(([key, shape, data]) => ({ key, shape, data })), { paddle: true });
}
