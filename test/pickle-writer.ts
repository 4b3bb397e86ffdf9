/**
 * Writes pickles for tests of the reader's bounds: a dict of name → numpy float32 array, where an array
 * may be shared through the pickle memo (one array, many keys) and dimensions may be written as Python
 * floats or as 8-byte ints.
 */

/** A dimension: an int, or `{ float }` written as a Python float (BINFLOAT). */
export type Dim = number | { float: number };

export interface PickleEntry {
  key: string;
  shape: readonly Dim[];
  data: Float32Array;
}

class Out {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  bytes(...b: number[]): void {
    this.grow(b.length);
    for (const x of b) this.buf[this.length++] = x;
  }
  raw(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  u32(v: number): void {
    this.grow(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }
  /** A str: SHORT_BINUNICODE when short, else BINUNICODE; `binunicode` always BINUNICODE (as protocol 2 writes it). */
  str(s: string, binunicode = false): void {
    const b = Buffer.from(s, 'utf8');
    if (b.length < 256 && !binunicode) this.bytes(0x8c, b.length);
    else {
      this.bytes(0x58);
      this.u32(b.length);
    }
    this.raw(b);
  }
  global(m: string, n: string): void {
    this.bytes(0x63);
    this.raw(Buffer.from(`${m}\n${n}\n`));
  }
  result(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.length));
  }
}

function writeDim(o: Out, d: Dim): void {
  if (typeof d === 'object') {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(d.float);
    o.bytes(0x47);
    o.raw(b);
  } else if (d < 2 ** 31) {
    o.bytes(0x4a);
    o.u32(d);
  } else {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(d));
    o.bytes(0x8a, 8); // LONG1, 8 bytes
    o.raw(b);
  }
}

function writeArray(o: Out, shape: readonly Dim[], data: Float32Array, binunicode = false): void {
  o.global('numpy.core.multiarray', '_reconstruct');
  o.global('numpy', 'ndarray');
  o.bytes(0x4b, 0x00, 0x85, 0x43, 1, 0x62, 0x87, 0x52); // (0,) b'b' TUPLE3 REDUCE
  o.bytes(0x28, 0x4b, 0x01, 0x28); // MARK 1 MARK
  for (const d of shape) writeDim(o, d);
  o.bytes(0x74);
  o.global('numpy', 'dtype');
  o.str('f4', binunicode);
  o.bytes(0x89, 0x88, 0x87, 0x52);
  o.bytes(0x28, 0x4b, 0x03);
  o.str('<', binunicode);
  o.bytes(0x4e, 0x4e, 0x4e, 0x4a);
  o.u32(0xffffffff);
  o.bytes(0x4a);
  o.u32(0xffffffff);
  o.bytes(0x4b, 0x00, 0x74, 0x62, 0x89);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  o.bytes(0x42);
  o.u32(bytes.length);
  o.raw(bytes);
  o.bytes(0x74, 0x62); // TUPLE BUILD
}

/**
 * A dict pickle (protocol 2 header) of `entries`: a plain dict filled by one SETITEMS, or with `paddle` a
 * `collections.OrderedDict` filled by one SETITEM per entry with BINUNICODE strings, as numpy 1.x and Paddle
 * write a `.pdparams`.
 */
export function pickleArrays(entries: Iterable<PickleEntry>, { paddle = false } = {}): Uint8Array {
  const o = new Out();
  o.bytes(0x80, 0x02);
  if (paddle) {
    o.global('collections', 'OrderedDict');
    o.bytes(0x29, 0x52); // () REDUCE
  } else o.bytes(0x7d, 0x28); // {} MARK
  for (const e of entries) {
    o.str(e.key, paddle);
    writeArray(o, e.shape, e.data, paddle);
    if (paddle) o.bytes(0x73); // SETITEM
  }
  if (!paddle) o.bytes(0x75); // SETITEMS
  o.bytes(0x2e); // STOP
  return o.result();
}

/**
 * A dict of `count` keys all holding ONE array (written once, memoized, then fetched with LONG_BINGET):
 * tiny on disk, `count` times the array's size once read naively.
 */
export function pickleSharedArray(count: number, shape: readonly number[], data: Float32Array): Uint8Array {
  const o = new Out();
  o.bytes(0x80, 0x02, 0x7d);
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) o.bytes(0x28); // MARK
    o.str(`k${i}`);
    if (i === 0) {
      writeArray(o, shape, data);
      o.bytes(0x72);
      o.u32(0); // LONG_BINPUT 0
    } else {
      o.bytes(0x6a);
      o.u32(0); // LONG_BINGET 0
    }
    if (i % 1000 === 999 || i === count - 1) o.bytes(0x75); // SETITEMS
  }
  o.bytes(0x2e);
  return o.result();
}
