/**
 * What `embed` costs beside `classify`: the first call (which opens the feature session on the same model),
 * then per-image medians of classify and embed, for the shipped text-line model and an x1_0 ImageNet-size
 * model at 224 (random initialization). One intra-op thread unless `--threads`.
 *
 *   node dist/bench/embed.js [--runs 30] [--threads 1]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPPLCNet, createClassifier } from '../src/index.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, threads: { type: 'string', default: '1' } } });
  const runs = Number(values.runs);
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-embed-bench-'));
  try {
    const x1 = join(dir, 'x1_0.onnx');
    await writeFile(x1, buildPPLCNet({ scale: 1.0 }).bytes);
    const image = new URL('../../models/examples/textline_upright.png', import.meta.url).pathname;
    for (const model of ['PP-LCNet_x0_25_textline_ori', x1]) {
      const clf = await createClassifier({ model, ep: 'cpu', threads: Number(values.threads), workers: 0, cacheDir: dir });
      const t0 = performance.now();
      await clf.embed(image);
      const first = performance.now() - t0;
      const times = async (f: () => Promise<unknown>): Promise<number> => {
        const t: number[] = [];
        for (let i = 0; i < runs; i++) {
          const s = performance.now();
          await f();
          t.push(performance.now() - s);
        }
        return median(t);
      };
      const classify = await times(() => clf.classify(image));
      const embed = await times(() => clf.embed(image));
      console.log(`${model === x1 ? 'x1_0 (224)' : model}: first embed ${first.toFixed(0)} ms (opens the feature session); per image classify ${classify.toFixed(2)} ms, embed ${embed.toFixed(2)} ms`);
      await clf.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
