/**
 * `evaluateModel`: any model (zoo, converted, trained) on a labelled folder or list. Images go through the
 * classifier's stream (the same preprocessing, workers and batches as `predict`); an image that fails is an
 * error row and is counted, never dropped silently. Dataset classes are matched to the model's by name when
 * the model names all of them, else by id.
 */
import { createClassifier } from '../classifier.js';
import type { ClassifierOptions } from '../classifier/types.js';
import { PplcnetError } from '../errors.js';
import { type ErrorRow, errorRow } from '../output-row.js';
import { type Dataset, openEvalDataset } from './dataset.js';
import { type MultiLabelMetrics, type SingleLabelMetrics, multiLabelMetrics, singleLabelMetrics } from './metrics.js';

export interface EvalOptions extends Omit<ClassifierOptions, 'topk' | 'labels'> {
  /** A folder of class folders, a list file, or a split folder (its test list, else its val list). */
  readonly data: string;
  readonly onImages?: (done: number, total: number) => void;
}

/** One image's outcome. */
export interface EvalRow {
  readonly file: string;
  /** The true class (single-label) or the positive labels (multi-label). */
  readonly truth: string | readonly string[];
  /** The top class (single-label) or the labels over the threshold (multi-label). */
  readonly predicted: string | readonly string[];
  /** The score the model gave the true class (single-label), or the mean per-label agreement (multi-label). */
  readonly score: number;
  readonly correct: boolean;
}

export interface EvalReport {
  readonly model: string;
  readonly data: string;
  readonly multiLabel: boolean;
  readonly labels: readonly string[];
  readonly images: number;
  readonly failed: number;
  readonly single?: SingleLabelMetrics;
  readonly multi?: MultiLabelMetrics;
  /** In dataset order; failed images are error rows. */
  readonly rows: readonly (EvalRow | ErrorRow)[];
  /** How dataset classes were matched to model classes. */
  readonly matchedBy: 'name' | 'id';
}

/** Dataset class id → model class id. */
function classMap(d: Dataset, modelLabels: readonly string[] | undefined, classes: number, model: string): { map: number[]; by: 'name' | 'id' } {
  if (modelLabels && d.labels.every((l) => modelLabels.includes(l))) return { map: d.labels.map((l) => modelLabels.indexOf(l)), by: 'name' };
  if (d.labels.length !== classes) {
    const named = modelLabels ? ` (its labels: ${modelLabels.slice(0, 8).join(', ')}${modelLabels.length > 8 ? ', …' : ''})` : '';
    throw new PplcnetError('E_DATASET', `${d.source}: ${d.labels.length} classes (${d.labels.slice(0, 8).join(', ')}) but ${model} has ${classes}${named}; evaluate on a dataset with the model's classes`);
  }
  return { map: d.labels.map((_, i) => i), by: 'id' };
}

export async function evaluateModel(options: EvalOptions): Promise<EvalReport> {
  const d = await openEvalDataset(options.data);
  const clf = await createClassifier({ ...options, topk: 1 });
  const scores: Float32Array[] = [];
  const ok: number[] = [];
  const rows: (EvalRow | ErrorRow | undefined)[] = new Array(d.samples.length);
  let failed = 0;
  try {
    let done = 0;
    for await (const batch of clf.classifyStream(d.samples.map((s) => s.path))) {
      for (const r of batch) {
        if (r instanceof Error) {
          rows[done] = errorRow(d.samples[done]!.path, r);
          failed++;
        } else {
          scores.push(r.probs);
          ok.push(done);
        }
        done++;
      }
      options.onImages?.(done, d.samples.length);
    }
  } finally {
    await clf.close();
  }
  const classes = scores[0]?.length ?? clf.labels?.length ?? d.labels.length;
  const multi = d.multiLabel;
  if (multi && !clf.multiLabel) throw new PplcnetError('E_DATASET', `${d.source}: a multi-label list, but ${clf.name} is single-label (softmax); evaluate a sigmoid model on it`);
  const { map, by } = classMap(d, clf.labels, classes, clf.name);
  const modelLabel = (c: number): string => clf.labels?.[c] ?? String(c);
  // scores re-ordered into the dataset's classes, so metrics are per dataset class
  const reordered = scores.map((s) => Float32Array.from(map, (m) => s[m]!));
  const report = { model: clf.name, data: options.data, multiLabel: multi, labels: d.labels, images: d.samples.length, failed, matchedBy: by };
  if (multi) {
    const targets = ok.map((i) => d.samples[i]!.targets!);
    const metrics = multiLabelMetrics(reordered, targets, d.labels, clf.threshold);
    ok.forEach((i, j) => {
      const t = targets[j]!;
      const s = reordered[j]!;
      const agree = Array.from(t).filter((v, c) => (s[c]! >= clf.threshold ? 1 : 0) === v).length / t.length;
      rows[i] = { file: d.samples[i]!.path, truth: d.labels.filter((_, c) => t[c] === 1), predicted: d.labels.filter((_, c) => s[c]! >= clf.threshold), score: agree, correct: agree === 1 };
    });
    return { ...report, multi: metrics, rows: rows as (EvalRow | ErrorRow)[] };
  }
  const truth = ok.map((i) => d.samples[i]!.label);
  const metrics = singleLabelMetrics(reordered, truth, d.labels);
  ok.forEach((i, j) => {
    const s = scores[j]!;
    let top = 0;
    for (let c = 1; c < s.length; c++) if (s[c]! > s[top]!) top = c;
    const t = truth[j]!;
    rows[i] = { file: d.samples[i]!.path, truth: d.labels[t]!, predicted: modelLabel(top), score: s[map[t]!]!, correct: top === map[t] };
  });
  return { ...report, single: metrics, rows: rows as (EvalRow | ErrorRow)[] };
}

/** Small JPEG thumbnails as `data:` URIs, for the report (a file that cannot be read is left out). */
export async function thumbnails(files: readonly string[], box = 150): Promise<Map<string, string>> {
  const { default: sharp } = await import('../image/sharp.js');
  const out = new Map<string, string>();
  for (const f of files) {
    try {
      const jpeg = await sharp(f, { limitInputPixels: 50_000_000 }).rotate().resize(box, box, { fit: 'inside' }).flatten({ background: '#ffffff' }).jpeg({ quality: 70 }).toBuffer();
      out.set(f, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
    } catch {
      // shown by name only
    }
  }
  return out;
}
