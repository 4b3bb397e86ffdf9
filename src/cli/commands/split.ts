/** `pplcnet split`: a folder of class folders → PaddleX's train/val/test lists and labels.txt, stratified and seeded. */
import { Command } from '../commander.js';
import { splitFolder } from '../../index.js';
import type { CliContext } from '../context.js';
import { parseInteger, parseNumber } from '../parse.js';

interface SplitFlags {
  val: number;
  test: number;
  seed: number;
  json: boolean;
  quiet?: boolean;
}

export function splitCommand(ctx: CliContext): Command {
  return new Command('split')
    .description('split a folder of class folders into train_list.txt, val_list.txt, test_list.txt and labels.txt (PaddleX ImageNet format)')
    .argument('<folder>', 'a folder with one sub-folder of images per class')
    .option('--val <fraction>', 'fraction of each class for validation', parseNumber, 0.2)
    .option('--test <fraction>', 'fraction of each class for the test list', parseNumber, 0.1)
    .option('--seed <n>', 'seed of the shuffle (the same folder and seed give the same lists)', parseInteger, 0)
    .option('--json', 'print a machine-readable summary', false)
    .option('-q, --quiet', 'print nothing but errors', false)
    .addHelpText(
      'after',
      `
Each class's images are shuffled (seeded); floor(n x val) go to val_list.txt, floor(n x test) to test_list.txt,
the rest to train_list.txt, as 'class/image.jpg <class id>' lines. Class ids follow labels.txt (class folders
in name order). The four files are written together (temp files renamed at the end).

Example:
  $ pplcnet split pandatiger/ --val 0.2 --test 0.1`,
    )
    .action(async (folder: string, flags: SplitFlags) => {
      const r = await splitFolder(folder, { val: flags.val, test: flags.test, seed: flags.seed });
      if (flags.json) {
        ctx.stdout(`${JSON.stringify(r)}\n`);
        return;
      }
      if (flags.quiet) return;
      ctx.stdout(`${folder}: ${r.labels.length} classes, ${r.counts.train} train, ${r.counts.val} val, ${r.counts.test} test (seed ${r.seed})\n`);
      r.labels.forEach((l, i) => ctx.stdout(`  ${i} ${l}: ${r.perClass[i]!.join(' / ')}\n`));
      ctx.stdout(`wrote ${r.files.join(', ')}\n`);
    });
}
