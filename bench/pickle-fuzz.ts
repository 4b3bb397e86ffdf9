/**
 * A long fuzz run of the pickle reader against CPython's pickle: new seeds of damaged copies of a protocol 4
 * .pdparams (test/fixtures/make_pickle_mutations.py writes them with Python's verdicts, using Debian's
 * /usr/bin/python3 with numpy), each read by pplcnet. Prints the counts per outcome; a file Python refuses
 * that pplcnet accepts, or a file both accept with different arrays, is listed and makes the exit code 1.
 *
 *   node dist/bench/pickle-fuzz.js [--seeds 101,102,103] [--count 2000] [--base x0_25.pdparams] [--python /usr/bin/python3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyMutation, judge, type MutationCorpus, type Outcome } from '../test/pickle-mutations.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '101,102,103' },
    count: { type: 'string', default: '2000' },
    base: { type: 'string', default: 'x0_25.pdparams' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pplcnet-pickle-fuzz-'));
const total: Record<Outcome, number> = { 'both-refused': 0, 'pplcnet-stricter': 0, 'both-accepted-same': 0, 'both-accepted-different': 0, 'python-refused-pplcnet-accepted': 0 };
const bad: string[] = [];
try {
  for (const seed of values.seeds!.split(',').map(Number)) {
    const out = join(dir, `seed-${seed}.json`);
    execFileSync(values.python!, [join(fixtures, 'make_pickle_mutations.py'), '--base', values.base!, '--seed', String(seed), '--count', values.count!, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    const c = JSON.parse(readFileSync(out, 'utf8')) as MutationCorpus;
    const base = new Uint8Array(readFileSync(join(fixtures, 'pdparams', c.base)));
    const counts: Record<Outcome, number> = { 'both-refused': 0, 'pplcnet-stricter': 0, 'both-accepted-same': 0, 'both-accepted-different': 0, 'python-refused-pplcnet-accepted': 0 };
    const t0 = performance.now();
    for (const row of c.mutations) {
      const { outcome, detail } = judge(applyMutation(base, row[0], row[1], row[2]), row);
      counts[outcome]++;
      total[outcome]++;
      if (outcome === 'python-refused-pplcnet-accepted' || outcome === 'both-accepted-different') bad.push(`seed ${seed} ${row.slice(0, 3).join(' ')}: ${outcome} (python: ${row[4]}; pplcnet: ${detail})`);
    }
    const ms = (performance.now() - t0) / c.mutations.length;
    console.log(`seed ${seed}: ${c.mutations.length} mutations of ${c.base}, ${ms.toFixed(2)} ms each: ${JSON.stringify(counts)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`total: ${JSON.stringify(total)}`);
for (const line of bad) console.log(line);
process.exitCode = bad.length ? 1 : 0;
