/**
 * A JSON reader for request bodies with a structure bound: nesting depth, keys per object, string length and
 * the number of arrays and objects are capped, and the reader hands the event loop back every slice of
 * bytes, so a hostile body (10 MB of `[`, a million keys) is refused early while health checks keep being
 * answered. `JSON.parse` can neither bound the structure nor yield, hence this reader of our own; it works
 * on the bytes, builds objects without a prototype (`__proto__` is a key like any other), and gives a
 * long array of numbers only as a Float64Array.
 */
import { ServeError } from './errors.js';

export interface JsonBounds {
  /** Deepest nesting of arrays and objects (the body's top-level value is depth 1). */
  readonly maxDepth: number;
  /** Most keys in one object. [64] */
  readonly maxKeys?: number;
  /** Longest string, in bytes. [4096] */
  readonly maxStringBytes?: number;
  /** Most arrays and objects in the whole body. */
  readonly maxContainers: number;
  /** Most numbers in the whole body. [no bound] */
  readonly maxNumbers?: number;
  /** Bytes read between two turns of the event loop. [65536] */
  readonly sliceBytes?: number;
  /** What the body is, for messages. ['the JSON body'] */
  readonly what?: string;
  /** Why the depth is bounded, appended to its message. */
  readonly depthReason?: string;
}

/**
 * A long array of numbers only (a tensor's row) moves into a Float64Array once it holds TYPED_AFTER of them:
 * no JavaScript array of a million numbers to grow and copy. It becomes a JavaScript array again at its first
 * other element; short arrays (a shape) stay JavaScript arrays.
 */
const TYPED_AFTER = 256;

interface ArrayFrame {
  kind: 'array';
  value: unknown[];
  numbers: Float64Array | undefined;
  count: number;
  onlyNumbers: boolean;
}
type Container = ArrayFrame | { kind: 'object'; value: Record<string, unknown>; key: string | undefined; keys: number };

function pushToArray(a: ArrayFrame, v: unknown): void {
  if (a.numbers) {
    if (typeof v === 'number') {
      if (a.count === a.numbers.length) {
        const grown = new Float64Array(a.numbers.length * 2);
        grown.set(a.numbers);
        a.numbers = grown;
      }
      a.numbers[a.count++] = v;
      return;
    }
    a.value = Array.from(a.numbers.subarray(0, a.count));
    a.numbers = undefined;
  }
  a.value.push(v);
  if (typeof v !== 'number') a.onlyNumbers = false;
  else if (a.onlyNumbers && a.value.length === TYPED_AFTER) {
    a.numbers = new Float64Array(4 * TYPED_AFTER);
    a.numbers.set(a.value as number[]);
    a.count = TYPED_AFTER;
    a.value = [];
  }
}

/** A closed array: its elements, or its numbers as a Float64Array. */
function arrayValue(a: ArrayFrame): unknown {
  return a.numbers ? a.numbers.subarray(0, a.count) : a.value;
}

const enum Expect {
  Value,
  ValueOrEnd,
  KeyOrEnd,
  Key,
  CommaOrEnd,
  Done,
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Bounds = Required<Omit<JsonBounds, 'depthReason'>> & { depthReason?: string };

const withDefaults = (bounds: JsonBounds): Bounds => ({ maxKeys: 64, maxStringBytes: 4096, sliceBytes: 65536, maxNumbers: Infinity, what: 'the JSON body', ...bounds });

/** The refusals of a structure bound, worded once for the scan and the reader. */
const tooDeep = (b: Bounds, depth: number, at: number): ServeError =>
  new ServeError('E_BAD_REQUEST', `${b.what} nests arrays and objects ${depth} deep at byte ${at}; at most ${b.maxDepth}${b.depthReason ? ` (${b.depthReason})` : ''}`);
const tooManyContainers = (b: Bounds, at: number): ServeError =>
  new ServeError('E_BAD_REQUEST', `${b.what} holds more than ${b.maxContainers} arrays and objects (at byte ${at}); a request for this model needs fewer`);
const tooManyKeys = (b: Bounds, at: number): ServeError => new ServeError('E_BAD_REQUEST', `${b.what} has an object of more than ${b.maxKeys} keys (at byte ${at})`);
const tooLongString = (b: Bounds, at: number): ServeError => new ServeError('E_BAD_REQUEST', `${b.what} holds a string longer than ${b.maxStringBytes} bytes at byte ${at}`);
const tooManyNumbers = (b: Bounds, at: number): ServeError =>
  new ServeError('E_BAD_REQUEST', `${b.what} holds more than ${b.maxNumbers} numbers (at byte ${at}); a request for this model needs at most that many`);

const isNumberByte = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;

/**
 * The structure bound checked on a body's chunks as they arrive (depth, arrays and objects, keys per object,
 * string length, numbers), so that a hostile body is refused at its first chunk that breaks it, before the
 * rest is read or anything is built. It tracks only strings and brackets; the reader checks the grammar.
 */
export class JsonStructureScan {
  readonly #b: Bounds;
  #at = 0;
  #inString = false;
  #escaped = false;
  #stringStart = 0;
  #inNumber = false;
  #containers = 0;
  #numbers = 0;
  /** Per open container: -1 for an array, else the keys seen in the object. */
  readonly #stack: number[] = [];

  constructor(bounds: JsonBounds) {
    this.#b = withDefaults(bounds);
  }

  /** Check the next chunk; throws the E_BAD_REQUEST ServeError of the first rule it breaks. */
  feed(chunk: Uint8Array): void {
    const b = this.#b;
    for (let i = 0; i < chunk.length; i++, this.#at++) {
      const c = chunk[i]!;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c) this.#escaped = true;
        else if (c === 0x22) this.#inString = false;
        if (this.#at - this.#stringStart > b.maxStringBytes) throw tooLongString(b, this.#stringStart);
        continue;
      }
      if (isNumberByte(c)) {
        if (!this.#inNumber && ++this.#numbers > b.maxNumbers) throw tooManyNumbers(b, this.#at);
        this.#inNumber = true;
        continue;
      }
      this.#inNumber = false;
      if (c === 0x22) {
        this.#inString = true;
        this.#stringStart = this.#at;
      } else if (c === 0x5b || c === 0x7b) {
        if (this.#stack.length + 1 > b.maxDepth) throw tooDeep(b, this.#stack.length + 1, this.#at);
        if (++this.#containers > b.maxContainers) throw tooManyContainers(b, this.#at);
        this.#stack.push(c === 0x5b ? -1 : 0);
      } else if (c === 0x5d || c === 0x7d) this.#stack.pop();
      else if (c === 0x3a && this.#stack.length > 0 && this.#stack.at(-1)! >= 0) {
        const keys = this.#stack.pop()! + 1;
        if (keys > b.maxKeys) throw tooManyKeys(b, this.#at);
        this.#stack.push(keys);
      }
    }
  }
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

class Reader {
  i = 0;
  containers = 0;
  numbers = 0;
  readonly stack: Container[] = [];
  /**
   * A window of the body as a one-byte string, for numbers: a substring is cheaper than a string made from
   * bytes for each number, and decoding a window at a time keeps each turn short.
   */
  text = '';
  textStart = 0;
  constructor(
    readonly b: Buffer,
    readonly bounds: Bounds,
  ) {}

  /** The body's bytes [start, end) as text. */
  slice(start: number, end: number): string {
    if (start < this.textStart || end > this.textStart + this.text.length) {
      this.textStart = start;
      this.text = this.b.toString('latin1', start, Math.max(end, Math.min(this.b.length, start + this.bounds.sliceBytes)));
    }
    return this.text.slice(start - this.textStart, end - this.textStart);
  }

  fail(what: string): never {
    throw new ServeError('E_BAD_REQUEST', `${this.bounds.what} is not valid JSON: ${what} at byte ${this.i}`);
  }

  skipSpace(): void {
    const b = this.b;
    let i = this.i;
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
    this.i = i;
  }

  open(kind: 'array' | 'object'): void {
    const depth = this.stack.length + 1;
    if (depth > this.bounds.maxDepth) throw tooDeep(this.bounds, depth, this.i);
    if (++this.containers > this.bounds.maxContainers) throw tooManyContainers(this.bounds, this.i);
    this.stack.push(kind === 'array' ? { kind, value: [], numbers: undefined, count: 0, onlyNumbers: true } : { kind, value: Object.create(null) as Record<string, unknown>, key: undefined, keys: 0 });
    this.i++;
  }

  string(): string {
    const b = this.b;
    const start = this.i;
    let i = start + 1;
    let escaped = false;
    while (i < b.length && b[i] !== 0x22) {
      const c = b[i]!;
      if (c < 0x20) this.fail('a control character inside a string');
      if (c === 0x5c) {
        escaped = true;
        i++;
      }
      i++;
      if (i - start > this.bounds.maxStringBytes) throw tooLongString(this.bounds, start);
    }
    if (i >= b.length) this.fail('a string without its closing quote');
    this.i = i + 1;
    if (!escaped) return b.toString('utf8', start + 1, i);
    try {
      return JSON.parse(b.toString('utf8', start, i + 1)) as string;
    } catch {
      this.i = start;
      return this.fail('a bad escape in a string');
    }
  }

  number(): number {
    const b = this.b;
    const start = this.i;
    let i = start;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (b[i]! >= 0x31 && b[i]! <= 0x39) while (isDigit(b[i]!)) i++;
    else this.fail('a number without digits');
    if (b[i] === 0x2e) {
      i++;
      if (!isDigit(b[i]!)) this.fail('a number without digits after its point');
      while (isDigit(b[i]!)) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i]!)) this.fail('a number without digits in its exponent');
      while (isDigit(b[i]!)) i++;
    }
    this.i = i;
    if (++this.numbers > this.bounds.maxNumbers) throw tooManyNumbers(this.bounds, start);
    return Number(this.slice(start, i));
  }

  literal(): boolean | null {
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.b.toString('latin1', this.i, this.i + word.length) === word) {
        this.i += word.length;
        return value;
      }
    }
    return this.fail(`an unexpected ${this.i < this.b.length ? `character ${JSON.stringify(String.fromCharCode(this.b[this.i]!))}` : 'end'}`);
  }

  /** Read one scalar, or open a container; returns the state to go on with. */
  value(attach: (v: unknown) => Expect): Expect {
    if (this.i >= this.b.length) this.fail('an unexpected end');
    const c = this.b[this.i]!;
    if (c === 0x5b) {
      this.open('array');
      return Expect.ValueOrEnd;
    }
    if (c === 0x7b) {
      this.open('object');
      return Expect.KeyOrEnd;
    }
    if (c === 0x22) return attach(this.string());
    if (c === 0x2d || isDigit(c)) return attach(this.number());
    return attach(this.literal());
  }
}

/**
 * Parse `body` as JSON within `bounds`, yielding to the event loop between slices. Throws an E_BAD_REQUEST
 * ServeError naming the byte where the body breaks a rule.
 */
export async function parseJsonBounded(body: Buffer, bounds: JsonBounds): Promise<unknown> {
  const r = new Reader(body, withDefaults(bounds));
  let root: unknown;
  const attach = (v: unknown): Expect => {
    const top = r.stack.at(-1);
    if (!top) {
      root = v;
      return Expect.Done;
    }
    if (top.kind === 'array') pushToArray(top, v);
    else top.value[top.key!] = v;
    return Expect.CommaOrEnd;
  };
  const close = (): Expect => {
    r.i++;
    const done = r.stack.pop()!;
    return attach(done.kind === 'array' ? arrayValue(done) : done.value);
  };
  let state: Expect = Expect.Value;
  let next = r.bounds.sliceBytes;
  while (state !== Expect.Done) {
    if (r.i >= next) {
      await turn();
      next = r.i + r.bounds.sliceBytes;
    }
    r.skipSpace();
    const c = r.b[r.i];
    const top = r.stack.at(-1);
    switch (state) {
      case Expect.ValueOrEnd:
        state = c === 0x5d ? close() : r.value(attach);
        break;
      case Expect.Value:
        state = r.value(attach);
        break;
      case Expect.KeyOrEnd:
      case Expect.Key: {
        if (state === Expect.KeyOrEnd && c === 0x7d) {
          state = close();
          break;
        }
        if (c !== 0x22) r.fail('a key expected');
        const o = top as Extract<Container, { kind: 'object' }>;
        if (++o.keys > r.bounds.maxKeys) throw tooManyKeys(r.bounds, r.i);
        o.key = r.string();
        r.skipSpace();
        if (r.b[r.i] !== 0x3a) r.fail("a ':' expected");
        r.i++;
        state = Expect.Value;
        break;
      }
      case Expect.CommaOrEnd:
        if (c === 0x2c) {
          r.i++;
          state = top!.kind === 'array' ? Expect.Value : Expect.Key;
        } else if ((c === 0x5d && top!.kind === 'array') || (c === 0x7d && top!.kind === 'object')) state = close();
        else r.fail(`a ',' or '${top!.kind === 'array' ? ']' : '}'}' expected`);
        break;
    }
  }
  r.skipSpace();
  if (r.i !== r.b.length) r.fail('data after the end of the JSON value');
  return root;
}

/**
 * Read a request body chunk by chunk, checking the structure bound on its first `scanBytes` bytes (the JSON
 * part; all of it by default) as they arrive: a hostile body is refused at its first bad chunk, before the rest
 * is read or held (the rest is drained by the service's hooks, up to a bound). Over `bound` bytes (by
 * Content-Length, or as read) is `tooLarge()`.
 */
export function readBounded(
  req: { headers: Record<string, string | string[] | undefined> },
  payload: NodeJS.ReadableStream,
  bound: number,
  scan: JsonStructureScan,
  tooLarge: () => Error,
  scanBytes = Infinity,
): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > bound) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = (err?: unknown): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', stop);
      if (err !== undefined) reject(err);
    };
    const onData = (chunk: Buffer): void => {
      const at = total;
      total += chunk.length;
      try {
        if (total > bound) throw tooLarge();
        if (at < scanBytes) scan.feed(total <= scanBytes ? chunk : chunk.subarray(0, scanBytes - at));
      } catch (err) {
        payload.pause();
        return stop(err);
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, total));
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', stop);
  });
}
