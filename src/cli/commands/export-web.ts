/** `pplcnet export-web`: a static site that classifies images in the browser with a model. */
import { Command } from '../commander.js';
import { type WeightStorage, exportWebSite, formatBytes } from '../../index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, addModelSourceOptions, modelSourceOptionsFrom, noticeFrom, requireModel, untrainedWarning, weightsOption } from '../options.js';

interface ExportWebFlags extends ModelSourceFlags {
  model?: string;
  output: string;
  force: boolean;
  webgpu: boolean;
  title?: string;
  json: boolean;
  weights: WeightStorage;
  precompress: boolean;
}

export function exportWebCommand(ctx: CliContext): Command {
  const cmd = new Command('export-web')
    .description('write a static site (HTML, script, model, onnxruntime-web) that classifies images in the browser')
    .option('-m, --model <name|path>', 'zoo name, .onnx, .pdparams or Paddle inference model (default $PPLCNET_MODEL)')
    .requiredOption('-o, --output <dir>', 'the site folder to write (must be new or empty unless --force; not an archive name: zip the folder afterwards)')
    .option('--force', 'replace a non-empty output folder', false)
    .option('--webgpu', "ship onnxruntime-web's WebGPU build too (?backend=webgpu; 28 MB of .wasm instead of 14 MB)", false)
    .option('--title <text>', "the page's heading (default: the model's name)")
    .option('--json', 'print the summary as JSON', false)
    .option('--no-precompress', 'no .br/.gz copies of the large files');
  addModelSourceOptions(cmd).addOption(weightsOption());
  return cmd.action(async (flags: ExportWebFlags) => {
    const model = requireModel(flags);
    const r = await exportWebSite({
      model,
      outDir: flags.output,
      force: flags.force,
      webgpu: flags.webgpu,
      weightStorage: flags.weights,
      precompress: flags.precompress,
      ...(flags.title ? { title: flags.title } : {}),
      ...modelSourceOptionsFrom(flags, ctx),
    });
    if (!r.trained) noticeFrom(flags, ctx)(untrainedWarning(r.model));
    if (flags.json) {
      ctx.stdout(`${JSON.stringify(r)}\n`);
      return;
    }
    ctx.stdout(`${r.outDir}: ${r.model}, ${r.files.length} files\n`);
    ctx.stdout(`  script ${formatBytes(r.scriptBytes)} (minified, without onnxruntime-web), model ${formatBytes(r.modelBytes)}, onnxruntime-web ${formatBytes(r.runtimeBytes)}${r.brotliBytes ? `; ${formatBytes(r.brotliBytes)} with the .br copies` : ''}\n`);
    ctx.stdout(`serve it with any static file server, e.g.  python3 -m http.server -d ${flags.output} 8000\n`);
    ctx.stdout('threads need the COOP/COEP headers in its _headers file (see its README.txt)\n');
  });
}
