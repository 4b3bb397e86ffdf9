/** Writers for test data: ustar archives and protocol-2 pickles of numpy arrays (as Paddle writes them). */

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
  const out: number[] = [];
  const u32 = (v: number) => out.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    out.push(0x58);
    u32(b.length);
    out.push(...b);
  };
  const global = (m: string, n: string) => out.push(0x63, ...new TextEncoder().encode(`${m}\n${n}\n`));
  out.push(0x80, 0x02);
  global('collections', 'OrderedDict');
  out.push(0x29, 0x52); // () REDUCE
  for (const [name, shape, data] of tensors) {
    str(name);
    global('numpy.core.multiarray', '_reconstruct');
    global('numpy', 'ndarray');
    out.push(0x4b, 0x00, 0x85); // (0,)
    out.push(0x43, 1, 0x62, 0x87, 0x52); // b'b' TUPLE3 REDUCE
    out.push(0x28, 0x4b, 0x01); // MARK 1
    out.push(0x28);
    for (const d of shape) {
      out.push(0x4a);
      u32(d);
    }
    out.push(0x74); // shape tuple
    global('numpy', 'dtype');
    str('f4');
    out.push(0x89, 0x88, 0x87, 0x52); // (f4, False, True) REDUCE
    out.push(0x28, 0x4b, 0x03); // state MARK 3
    str('<');
    out.push(0x4e, 0x4e, 0x4e, 0x4a);
    u32(0xffffffff);
    out.push(0x4a);
    u32(0xffffffff);
    out.push(0x4b, 0x00, 0x74, 0x62); // TUPLE BUILD
    out.push(0x89); // not fortran
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.push(0x42);
    u32(bytes.length);
    for (const b of bytes) out.push(b);
    out.push(0x74, 0x62); // TUPLE BUILD
    out.push(0x73); // SETITEM
  }
  out.push(0x2e);
  return Uint8Array.from(out);
}
