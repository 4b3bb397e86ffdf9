/** `pplcnet embed`: the pooled feature vector of each image, as NDJSON or a `.npy` float32 matrix. */
import { Command, Option } from '../commander.js';
import { PplcnetError, checkOutputPath, createClassifier, encodeNpyFloat32, expandImageInputs, writeFileAtomic } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, type SessionFlags, addModelSourceOptions, addSessionOptions, modelSourceOptionsFrom, noticeFrom, requireModel, sessionOptionsFrom, untrainedWarning } from '../options.js';

interface EmbedFlags extends SessionFlags, ModelSourceFlags {
  model?: string;
  layer: 'embedding' | 'gap';
  normalize: boolean;
  output?: string;
}

export function embedCommand(ctx: CliContext): Command {
  const cmd = new Command('embed')
    .description('print the pooled feature vector (the fc input) of each image, for retrieval indexes')
    .argument('<images...>', 'image files, folders (searched recursively) or glob patterns')
    .option('-m, --model <name|path>', 'zoo name, .onnx, .pdparams or Paddle inference model (default $PPLCNET_MODEL)')
    .addOption(new Option('--layer <name>', 'embedding: the fc input (after the last conv when there is one); gap: the pooled last block, before the last conv').choices(['embedding', 'gap']).default('embedding'))
    .option('--normalize', 'divide each vector by its L2 norm', false)
    .option('-o, --output <file.npy>', 'write a float32 .npy matrix [images, dims] (rows in input order; stdout lists file and row)');
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  return cmd.action(async (images: string[], flags: EmbedFlags) => {
    const model = requireModel(flags);
    if (flags.output !== undefined && !flags.output.endsWith('.npy')) throw new RangeError(`--output must name a .npy file, got '${flags.output}'`);
    // an output that cannot be written is refused before any image is read
    if (flags.output !== undefined) await checkOutputPath(flags.output);
    const { files, skipped } = await expandImageInputs(images);
    for (const s of skipped) ctx.stderr(`pplcnet: skipped ${s.path}: ${s.reason}\n`);
    if (files.length === 0) throw new PplcnetError('E_IO', `no images found in ${images.join(', ')}`);
    const classifier = await createClassifier({ model, ...sessionOptionsFrom(flags, ctx), ...modelSourceOptionsFrom(flags, ctx), workers: 0 });
    if (classifier.metadata.trained === false) noticeFrom(flags, ctx)(untrainedWarning(classifier.name));
    const rows: Float32Array[] = [];
    let failed = 0;
    try {
      for (const file of files) {
        let v: Float32Array;
        try {
          v = await classifier.embed(file, { layer: flags.layer, normalize: flags.normalize });
        } catch (err) {
          if (!(err instanceof PplcnetError) || err.code === 'E_MODEL') throw err;
          failed++;
          ctx.stderr(`pplcnet: error: ${err.message}\n`);
          continue;
        }
        if (flags.output) {
          ctx.stdout(`${JSON.stringify({ file, row: rows.length, dims: v.length })}\n`);
          rows.push(v);
        } else ctx.stdout(`${JSON.stringify({ file, model: classifier.name, layer: flags.layer, normalized: flags.normalize, embedding: Array.from(v) })}\n`);
      }
    } finally {
      await classifier.close();
    }
    if (flags.output && rows.length > 0) await writeFileAtomic(flags.output, encodeNpyFloat32(rows));
    if (failed > 0) {
      ctx.stderr(`pplcnet: ${failed} of ${files.length} image(s) failed${flags.output ? ' (left out of the .npy)' : ''}\n`);
      process.exitCode = EXIT.failure;
    }
  });
}
