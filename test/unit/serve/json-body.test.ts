/**
 * The bounded JSON reader against `JSON.parse` (the reference): seeded random documents read the same (long
 * arrays of numbers come back as Float64Arrays of the same values), seeded mutations of them are refused by
 * both or read the same by both; and each structure bound is enforced by the reader and by the chunk scan,
 * whatever the chunking.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JsonStructureScan, parseJsonBounded } from '../../../src/serve/json-body.js';

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** A random JSON value: nested arrays and objects, strings with escapes, numbers of every form, literals. */
function randomValue(next: () => number, depth: number): unknown {
  const r = next();
  if (depth < 4 && r < 0.05) return Array.from({ length: 200 + Math.floor(next() * 400) }, () => randomNumber(next)); // a tensor's row
  if (depth < 4 && r < 0.25) return Array.from({ length: Math.floor(next() * 6) }, () => (next() < 0.6 ? randomNumber(next) : randomValue(next, depth + 1)));
  if (depth < 4 && r < 0.4) return Object.fromEntries(Array.from({ length: Math.floor(next() * 5) }, (_, i) => [`k${i}${next() < 0.2 ? '"\\\n\u00e9' : ''}`, randomValue(next, depth + 1)]));
  if (r < 0.55) return ['plain', 'quote " back \\ slash', 'tab\tnew\nline', 'unicode é ☃ 𝄞', '\u0001 control', '[{ not a bracket'][Math.floor(next() * 6)];
  if (r < 0.65) return [true, false, null][Math.floor(next() * 3)];
  return randomNumber(next);
}

function randomNumber(next: () => number): number {
  const forms = [() => 0, () => -0.5, () => Math.floor(next() * 1e6), () => (next() - 0.5) * 1e-30, () => (next() - 0.5) * 1e300, () => Math.fround(next() * 4 - 2), () => 123456789012345680000];
  return forms[Math.floor(next() * forms.length)]!();
}

/** How many Float64Arrays a read value holds. */
function typedArrays(v: unknown): number {
  if (v instanceof Float64Array) return 1;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + typedArrays(x), 0);
  if (v && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + typedArrays(x), 0);
  return 0;
}

/** Float64Arrays as plain arrays, for comparing with JSON.parse. */
function plain(v: unknown): unknown {
  if (v instanceof Float64Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const LOOSE = { maxDepth: 64, maxContainers: 1e6, maxKeys: 1000, maxStringBytes: 1e6, sliceBytes: 97 };

/** Scan `text` in chunks of `size`; the error message, or undefined. */
function scanIn(text: string, size: number, bounds: ConstructorParameters<typeof JsonStructureScan>[0]): string | undefined {
  const scan = new JsonStructureScan(bounds);
  const b = Buffer.from(text);
  try {
    for (let i = 0; i < b.length; i += size) scan.feed(b.subarray(i, i + size));
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

describe('bounded JSON reader', () => {
  test('300 seeded documents read as JSON.parse reads them; long number arrays as Float64Arrays', async () => {
    const next = xorshift(2024);
    let typed = 0;
    for (let n = 0; n < 300; n++) {
      const text = JSON.stringify(randomValue(next, 0), null, n % 3 === 0 ? 2 : undefined);
      const got = await parseJsonBounded(Buffer.from(text), LOOSE);
      assert.deepEqual(plain(got), JSON.parse(text), text.slice(0, 200));
      typed += typedArrays(got);
      assert.equal(scanIn(text, 1 + (n % 7), LOOSE), undefined);
    }
    assert.ok(typed > 0, 'some documents held long arrays of numbers');
  });

  test('3,000 seeded mutations: refused by both, or read the same by both', async () => {
    const next = xorshift(77);
    const bytes = ['[', ']', '{', '}', '"', '\\', ',', ':', '-', '0', 'e', '.', ' ', 't', 'x', '\u0000'];
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      let text = JSON.stringify(randomValue(next, 0));
      const at = Math.floor(next() * (text.length + 1));
      const op = next();
      if (op < 0.4) text = text.slice(0, at) + bytes[Math.floor(next() * bytes.length)]! + text.slice(at);
      else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1);
      else text = text.slice(0, at);
      // the bytes a client sends: a surrogate pair cut in two is U+FFFD in UTF-8
      text = Buffer.from(text).toString();
      let want: unknown;
      let wantError = false;
      try {
        want = JSON.parse(text);
      } catch {
        wantError = true;
      }
      const got = await parseJsonBounded(Buffer.from(text), LOOSE).then(
        (v) => ({ v }),
        (e: Error) => ({ e }),
      );
      if (wantError) {
        assert.ok('e' in got, `accepted what JSON.parse refuses: ${JSON.stringify(text.slice(0, 120))}`);
        assert.match(got.e.message, /^the JSON body is not valid JSON: .* at byte \d+$/);
        refused++;
      } else {
        assert.ok('v' in got, `refused what JSON.parse reads: ${JSON.stringify(text.slice(0, 120))}: ${'e' in got ? got.e.message : ''}`);
        assert.deepEqual(plain(got.v), want);
      }
    }
    assert.ok(refused > 500 && refused < 3000, `${refused} refused`);
  });

  test('each bound, in the reader and in the chunk scan (chunks of 1, 3 and 4096 bytes)', async () => {
    const cases: [string, Record<string, number>, RegExp][] = [
      ['[[[[1]]]]', { maxDepth: 3 }, /nests arrays and objects 4 deep at byte 3; at most 3/],
      ['{"a":{"b":[{}]}}', { maxDepth: 3 }, /4 deep at byte 11/],
      ['[[1],[2],[3]]', { maxContainers: 3 }, /more than 3 arrays and objects \(at byte 9\)/],
      ['{"a":1,"b":2,"c":3}', { maxKeys: 2 }, /an object of more than 2 keys/],
      ['["abcdefghij"]', { maxStringBytes: 5 }, /a string longer than 5 bytes at byte 1/],
      ['[1,2.5,-3e2,4]', { maxNumbers: 3 }, /more than 3 numbers/],
    ];
    for (const [text, bound, want] of cases) {
      const bounds = { ...LOOSE, ...bound };
      await assert.rejects(parseJsonBounded(Buffer.from(text), bounds), want, text);
      for (const size of [1, 3, 4096]) assert.match(scanIn(text, size, bounds) ?? '(accepted)', want, `${text} in chunks of ${size}`);
    }
    // brackets, colons and digits inside strings are not structure
    const inString = '["[[[[{:::}]]]] 1 2 3 \\" [[[["]';
    assert.equal(scanIn(inString, 2, { ...LOOSE, maxDepth: 1, maxNumbers: 0, maxKeys: 0 }), undefined);
    assert.deepEqual(await parseJsonBounded(Buffer.from(inString), { ...LOOSE, maxDepth: 1, maxNumbers: 0, maxKeys: 0 }), JSON.parse(inString));
  });

  test('__proto__ is an own key; the reader hands the event loop back between slices', async () => {
    const v = (await parseJsonBounded(Buffer.from('{"__proto__":{"polluted":1},"a":2}'), LOOSE)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ['__proto__', 'a']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(v), null);
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    await parseJsonBounded(Buffer.from(`[${'1.5,'.repeat(200_000)}1]`), { ...LOOSE, sliceBytes: 4096 });
    clearInterval(timer);
    assert.ok(turns > 0, 'no timer ran while 800 kB were read');
  });
});
