import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readPdparams } from '../../../src/convert/pdparams.js';
import { PplcnetError } from '../../../src/errors.js';
import { FIXTURES } from '../../fixtures/index.js';
import { applyMutation, judge, type MutationCorpus, type Outcome, pickleDigest } from '../../pickle-mutations.js';
import { unpickle } from '../../../src/convert/pickle.js';

const corpus = async (file = 'mutations.json'): Promise<{ c: MutationCorpus; base: Uint8Array }> => {
  const c = JSON.parse(await readFile(join(FIXTURES.pdparams, file), 'utf8')) as MutationCorpus;
  const base = new Uint8Array(await readFile(join(FIXTURES.pdparams, c.base)));
  return { c, base };
};

/** The base's FRAME opcodes, as pickletools found them. */
const framesOf = (c: MutationCorpus): { at: number; len: number }[] => c.frames.map(([at, len]) => ({ at, len }));

const refusedAsPickle = (e: unknown): boolean => e instanceof PplcnetError && e.code === 'E_PICKLE';

describe('pickle frames', () => {
  test('the corpus base is the committed fixture, and both readers build the same arrays from it', async () => {
    const { c, base } = await corpus();
    assert.equal(createHash('sha256').update(base).digest('hex'), c.sha256);
    assert.equal(pickleDigest(unpickle(base, c.base)), c.original);
    assert.ok(framesOf(c).length >= 3, 'the base has several frames and data between them');
  });

  test('a byte removed inside the last frame: FRAME length larger than the bytes that follow → E_PICKLE', async () => {
    const { c, base } = await corpus();
    const last = framesOf(c).at(-1)!;
    const cut = applyMutation(base, 'delete', last.at + 9 + Math.floor(last.len / 2), 0);
    assert.throws(() => readPdparams(cut, 'cut.pdparams'), (e: unknown) => refusedAsPickle(e) && /FRAME of \d+ bytes but only \d+ follow: pickle data was truncated/.test((e as Error).message));
  });

  test('a byte removed inside an earlier frame: the opcode at its end straddles it → E_PICKLE, not shifted values', async () => {
    const { c, base } = await corpus();
    const [first] = framesOf(c);
    const cut = applyMutation(base, 'delete', first!.at + 9 + first!.len - 200, 0);
    assert.throws(() => readPdparams(cut, 'cut.pdparams'), (e: unknown) => refusedAsPickle(e) && /runs past the end of its frame|before the end of the current one|unread/.test((e as Error).message));
  });

  test('a frame length too long, and a frame nested in a frame, are refused', async () => {
    const { c, base } = await corpus();
    const [first, second] = framesOf(c);
    for (const d of [1, 8]) assert.throws(() => readPdparams(applyMutation(base, 'frame', first!.at, d), 'f.pdparams'), refusedAsPickle, `first frame ${d}`);
    // one short: its last opcode (one byte) is then read outside frames, which the format allows; same arrays
    assert.equal(pickleDigest(unpickle(applyMutation(base, 'frame', first!.at, -1), 'f.pdparams')), c.original);
    // a FRAME opcode as the first opcode inside a frame
    const nested = Buffer.concat([base.subarray(0, first!.at + 9), Buffer.from([0x95, 0, 0, 0, 0, 0, 0, 0, 0]), base.subarray(first!.at + 9)]);
    nested.writeBigUInt64LE(BigInt(first!.len + 9), first!.at + 1);
    assert.throws(() => readPdparams(nested, 'n.pdparams'), (e: unknown) => refusedAsPickle(e) && /new frame begins/.test((e as Error).message));
    assert.ok(second);
  });

  test('STOP with bytes of its frame left over is refused (the length and the contents disagree)', async () => {
    const { c, base } = await corpus();
    const last = framesOf(c).at(-1)!;
    const longer = Buffer.concat([base, Buffer.from([0x4e])]);
    longer.writeBigUInt64LE(BigInt(last.len + 1), last.at + 1);
    assert.throws(() => readPdparams(longer, 'l.pdparams'), (e: unknown) => refusedAsPickle(e) && /unread/.test((e as Error).message));
  });

  for (const file of ['mutations.json', 'mutations-found.json']) {
    test(`${file}: no file CPython pickle refuses is accepted, and what both accept reads the same`, { timeout: 60_000 }, async () => {
      const { c, base } = await corpus(file);
      const counts: Record<Outcome, number> = { 'both-refused': 0, 'pplcnet-stricter': 0, 'both-accepted-same': 0, 'both-accepted-different': 0, 'python-refused-pplcnet-accepted': 0 };
      const bad: string[] = [];
      for (const row of c.mutations) {
        const { outcome, detail } = judge(applyMutation(base, row[0], row[1], row[2]), row);
        counts[outcome]++;
        if (outcome === 'python-refused-pplcnet-accepted' || outcome === 'both-accepted-different') bad.push(`${row.slice(0, 3).join(' ')}: ${outcome} (python: ${row[4]}; pplcnet: ${detail})`);
      }
      assert.deepEqual(bad, [], `counts ${JSON.stringify(counts)}`);
      // the seeded corpus exercises both sides; the found one holds files only Python refused (numpy's checks)
      if (file === 'mutations.json') assert.ok(counts['both-refused'] > 100 && counts['both-accepted-same'] > 50, JSON.stringify(counts));
      else assert.equal(counts['both-refused'], c.mutations.length);
    });
  }
});
