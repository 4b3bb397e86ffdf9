/**
 * HTML reports of `bench` and `compare`: pure functions from a result to one self-contained page (inline CSS
 * and SVG; no script, font or URL), and the environment header read from this machine.
 */
import { availableParallelism, cpus } from 'node:os';
import { onnxruntimeVersion } from '../runtime/providers.js';
import { VERSION } from '../version.js';
import type { ReportEnvironment } from './html.js';

export { benchReportHtml, folderRows, peakImagesPerSec, MAX_BARS } from './bench.js';
export { compareReportHtml, histogramBins, worstInputs, WORST_ROWS } from './compare.js';
export { evalReportHtml, confusionSvg, metricBars, worstRows, WORST_IMAGES } from './eval.js';
export { escapeHtml, shellQuote, type ReportEnvironment } from './html.js';

/** This machine, this runtime, now; `commandLine` as typed, when the report comes from one. */
export function reportEnvironment(commandLine?: readonly string[]): ReportEnvironment {
  const cpu = cpus()[0]?.model?.trim() || 'unknown CPU';
  return {
    cpu,
    cores: availableParallelism(),
    onnxruntime: onnxruntimeVersion(),
    pplcnet: VERSION,
    node: process.versions.node,
    date: new Date().toISOString(),
    ...(commandLine ? { commandLine } : {}),
  };
}
