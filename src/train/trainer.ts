/**
 * The trainer: a pure function of feature rows and labels (no images, no files), so it is tested on its own.
 *
 * - `head`: a new fc on the embedding: softmax cross-entropy, or per-label sigmoid cross-entropy for
 *   multi-label data. Features are standardized for the optimizer and the scaling is folded back into the
 *   exported weights, so the model computes `embedding · W + b` on the raw embedding.
 * - `last-conv`: also fine-tunes the backbone's last 1×1 conv (pooled features → hidden, no bias) from its
 *   pretrained weights, followed by hardswish and dropout (inverted: scaled by 1/(1−p) while training, so
 *   inference is the identity), then the new fc.
 *
 * The optimizer is AdamW (Adam with decoupled weight decay, Loshchilov & Hutter), minibatches of shuffled
 * rows, early stopping on the validation rows (the best epoch's weights are kept). The numerics are written
 * here on Float32 feature rows with Float64 parameters rather than through an npm tensor library: the
 * models are one or two dense layers, a few hundred lines of plain loops run them at ~1 GFLOP/s on one core
 * with no native build, no WebGL/WASM backend to load, and the results are bit-for-bit repeatable for a
 * seed (tfjs's CPU backend is float32-only and nondeterministic in reductions across versions; ml-matrix
 * has no optimizers).
 */
import { Random } from '../builder/random.js';
import { invalidOption } from '../errors.js';
import { shuffled } from './split.js';

/** Feature rows: `n` rows of `dims` float32 values, row-major. */
export interface FeatureRows {
  readonly x: Float32Array;
  readonly n: number;
  readonly dims: number;
  /** Single-label: class id per row. */
  readonly labels?: Int32Array;
  /** Multi-label: `n × classes` 0/1 targets. */
  readonly targets?: Uint8Array;
  /** Rows that are views of the same image share a group id (one view per image per epoch); absent: each row is its own image. */
  readonly group?: Int32Array;
}

export type TrainMode = 'head' | 'last-conv';

export interface TrainerOptions {
  readonly mode?: TrainMode;
  readonly classes: number;
  readonly multiLabel?: boolean;
  /** `last-conv` only: the pretrained conv, [hidden, dims] row-major (ONNX's [hidden, dims, 1, 1]). */
  readonly lastConv?: { readonly weight: Float32Array; readonly hidden: number };
  /** Dropout before fc in `last-conv` mode. [0.2] */
  readonly dropout?: number;
  /** Most epochs. [200] */
  readonly epochs?: number;
  /** Rows per step. [32] */
  readonly batchSize?: number;
  /** AdamW learning rate. [0.001 for head, 0.0003 for last-conv] */
  readonly lr?: number;
  /** Decoupled weight decay (not on biases). [0.0001] */
  readonly weightDecay?: number;
  /** Epochs without a better validation result before stopping. [15] */
  readonly patience?: number;
  /** Per-class loss weights (single-label), e.g. from {@link balancedClassWeights}. [all 1] */
  readonly classWeights?: Float64Array;
  readonly seed?: number;
  readonly onEpoch?: (e: EpochReport) => void;
}

export interface EpochReport {
  readonly epoch: number;
  readonly loss: number;
  /** Accuracy of the epoch's training rows as they were seen (multi-label: per-label accuracy). */
  readonly trainAccuracy: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly best: boolean;
}

export interface TrainedHead {
  readonly mode: TrainMode;
  readonly multiLabel: boolean;
  /** fc weight [in, classes] row-major (ONNX Gemm's B without transB), float32 as exported. */
  readonly fcWeight: Float32Array;
  readonly fcBias: Float32Array;
  /** `last-conv`: the tuned conv [hidden, dims]. */
  readonly lastConvWeight?: Float32Array;
  readonly hidden?: number;
  readonly epochs: readonly EpochReport[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly valAccuracy?: number;
  readonly trainAccuracy: number;
}

/** sklearn's `class_weight='balanced'`: n / (classes · count); a class without rows weighs 0. */
export function balancedClassWeights(labels: Int32Array, classes: number): Float64Array {
  const counts = new Float64Array(classes);
  for (const l of labels) counts[l]!++;
  return counts.map((c) => (c > 0 ? labels.length / (classes * c) : 0));
}

interface Params {
  /** [classes, in] */
  w: Float64Array;
  b: Float64Array;
  /** [hidden, dims] */
  c?: Float64Array;
}

interface Settings {
  mode: TrainMode;
  k: number;
  multi: boolean;
  dims: number;
  hidden: number;
  dropout: number;
  epochs: number;
  batch: number;
  lr: number;
  wd: number;
  patience: number;
  seed: number;
  cw: Float64Array;
}

function settings(o: TrainerOptions, dims: number): Settings {
  const mode = o.mode ?? 'head';
  if (mode !== 'head' && mode !== 'last-conv') throw invalidOption('mode', "'head' or 'last-conv'", mode);
  if (!Number.isInteger(o.classes) || o.classes < 1) throw invalidOption('classes', 'a positive integer', o.classes);
  if (mode === 'last-conv' && (!o.lastConv || o.lastConv.weight.length !== o.lastConv.hidden * dims)) {
    throw invalidOption('lastConv', `a [hidden, ${dims}] weight`, o.lastConv?.weight.length);
  }
  const posInt = (name: string, v: number): number => {
    if (!Number.isInteger(v) || v < 1) throw invalidOption(name, 'a positive integer', v);
    return v;
  };
  const dropout = o.dropout ?? 0.2;
  if (!(dropout >= 0 && dropout < 1)) throw invalidOption('dropout', 'a number from 0 to below 1', dropout);
  const lr = o.lr ?? (mode === 'head' ? 0.001 : 0.0003);
  if (!(lr > 0)) throw invalidOption('lr', 'a positive number', lr);
  const wd = o.weightDecay ?? 1e-4;
  if (!(wd >= 0)) throw invalidOption('weightDecay', 'a number ≥ 0', wd);
  const cw = o.classWeights ?? new Float64Array(o.classes).fill(1);
  if (cw.length !== o.classes) throw invalidOption('classWeights', `${o.classes} weights`, cw.length);
  return {
    mode,
    k: o.classes,
    multi: o.multiLabel === true,
    dims,
    hidden: mode === 'last-conv' ? o.lastConv!.hidden : dims,
    dropout: mode === 'last-conv' ? dropout : 0,
    epochs: posInt('epochs', o.epochs ?? 200),
    batch: posInt('batchSize', o.batchSize ?? 32),
    lr,
    wd,
    patience: posInt('patience', o.patience ?? 15),
    seed: o.seed ?? 0,
    cw,
  };
}

/** Per-column mean and standard deviation (a constant column gets σ = 1). */
export function columnStats(rows: FeatureRows): { mean: Float64Array; std: Float64Array } {
  const { x, n, dims } = rows;
  const mean = new Float64Array(dims);
  const sq = new Float64Array(dims);
  for (let r = 0; r < n; r++) for (let j = 0; j < dims; j++) mean[j]! += x[r * dims + j]!;
  for (let j = 0; j < dims; j++) mean[j]! /= n;
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dims; j++) {
      const d = x[r * dims + j]! - mean[j]!;
      sq[j]! += d * d;
    }
  }
  const std = sq.map((s) => Math.sqrt(s / n)).map((s) => (s > 1e-12 ? s : 1));
  return { mean, std };
}

/** Scratch buffers for one row's forward and backward pass. */
interface Scratch {
  input: Float64Array;
  z: Float64Array;
  h: Float64Array;
  mask: Float64Array;
  logits: Float64Array;
  g: Float64Array;
  gh: Float64Array;
}

function scratch(s: Settings): Scratch {
  return {
    input: new Float64Array(s.dims),
    z: new Float64Array(s.hidden),
    h: new Float64Array(s.hidden),
    mask: new Float64Array(s.hidden).fill(1),
    logits: new Float64Array(s.k),
    g: new Float64Array(s.k),
    gh: new Float64Array(s.hidden),
  };
}

const hswish = (z: number): number => (z <= -3 ? 0 : z >= 3 ? z : (z * (z + 3)) / 6);
const hswishGrad = (z: number): number => (z <= -3 ? 0 : z >= 3 ? 1 : (2 * z + 3) / 6);

/** Forward one row (already in `sc.input`): fills `sc.h` (the fc input) and `sc.logits`. */
function forward(p: Params, s: Settings, sc: Scratch): void {
  const { input, z, h, mask, logits } = sc;
  if (p.c) {
    for (let o = 0; o < s.hidden; o++) {
      let acc = 0;
      const base = o * s.dims;
      for (let j = 0; j < s.dims; j++) acc += p.c[base + j]! * input[j]!;
      z[o] = acc;
      h[o] = hswish(acc) * mask[o]!;
    }
  } else h.set(input);
  // fc weights are held [classes, in] here (one long inner loop per class), [in, classes] when exported
  for (let c = 0; c < s.k; c++) {
    let acc = p.b[c]!;
    const base = c * s.hidden;
    for (let i = 0; i < s.hidden; i++) acc += h[i]! * p.w[base + i]!;
    logits[c] = acc;
  }
}

/** Loss of one row and dL/dlogits into `sc.g` (scaled by `weight`); returns [loss, correct (0..1)]. */
function lossGrad(sc: Scratch, s: Settings, label: number, targets: Uint8Array | undefined, tOff: number, weight: number): [number, number] {
  const { logits, g } = sc;
  if (s.multi) {
    let loss = 0;
    let right = 0;
    for (let c = 0; c < s.k; c++) {
      const t = targets![tOff + c]!;
      const zc = logits[c]!;
      const p = 1 / (1 + Math.exp(-zc));
      // log(1 + e^−|z|) + max(z, 0) − t·z: stable binary cross-entropy with logits
      loss += Math.log1p(Math.exp(-Math.abs(zc))) + Math.max(zc, 0) - t * zc;
      g[c] = (weight * (p - t)) / s.k;
      right += (p >= 0.5 ? 1 : 0) === t ? 1 : 0;
    }
    return [(weight * loss) / s.k, right / s.k];
  }
  let max = -Infinity;
  let arg = 0;
  for (let c = 0; c < s.k; c++) if (logits[c]! > max) [max, arg] = [logits[c]!, c];
  let sum = 0;
  for (let c = 0; c < s.k; c++) sum += Math.exp(logits[c]! - max);
  for (let c = 0; c < s.k; c++) g[c] = (weight * Math.exp(logits[c]! - max)) / sum;
  g[label]! -= weight;
  return [weight * (Math.log(sum) + max - logits[label]!), arg === label ? 1 : 0];
}

/** Accumulate one row's gradients (dL/dlogits in `sc.g`) into `grad`. */
function backward(p: Params, grad: Params, s: Settings, sc: Scratch): void {
  const { h, g, gh, z, mask, input } = sc;
  const tuneConv = p.c !== undefined && grad.c !== undefined;
  if (tuneConv) gh.fill(0);
  for (let c = 0; c < s.k; c++) {
    const gc = g[c]!;
    grad.b[c]! += gc;
    if (gc === 0) continue;
    const base = c * s.hidden;
    for (let i = 0; i < s.hidden; i++) grad.w[base + i]! += h[i]! * gc;
    if (tuneConv) for (let i = 0; i < s.hidden; i++) gh[i]! += p.w[base + i]! * gc;
  }
  if (!p.c || !grad.c) return;
  for (let o = 0; o < s.hidden; o++) {
    const gz = gh[o]! * mask[o]! * hswishGrad(z[o]!);
    if (gz === 0) continue;
    const base = o * s.dims;
    for (let j = 0; j < s.dims; j++) grad.c[base + j]! += gz * input[j]!;
  }
}

/** AdamW state for one parameter array. */
class AdamW {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(
    private readonly p: Float64Array,
    private readonly decay: number,
  ) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(grad: Float64Array, lr: number, scale: number): void {
    const b1 = 0.9;
    const b2 = 0.999;
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const { p, m, v } = this;
    for (let i = 0; i < p.length; i++) {
      const gi = grad[i]! * scale;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! * (1 - lr * this.decay) - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8);
    }
    grad.fill(0);
  }
}

/** Copy row `r` into `sc.input`, standardized when `stats` is given. */
function loadRow(rows: FeatureRows, r: number, sc: Scratch, stats?: { mean: Float64Array; std: Float64Array }): void {
  const off = r * rows.dims;
  if (!stats) for (let j = 0; j < rows.dims; j++) sc.input[j] = rows.x[off + j]!;
  else for (let j = 0; j < rows.dims; j++) sc.input[j] = (rows.x[off + j]! - stats.mean[j]!) / stats.std[j]!;
}

/** Mean loss and accuracy over rows, without dropout. */
function evaluateRows(p: Params, s: Settings, rows: FeatureRows, stats?: { mean: Float64Array; std: Float64Array }): { loss: number; accuracy: number } {
  const sc = scratch(s);
  let loss = 0;
  let right = 0;
  for (let r = 0; r < rows.n; r++) {
    loadRow(rows, r, sc, stats);
    forward(p, s, sc);
    const [l, ok] = lossGrad(sc, s, rows.labels?.[r] ?? 0, rows.targets, r * s.k, 1);
    loss += l;
    right += ok;
  }
  return { loss: loss / Math.max(1, rows.n), accuracy: right / Math.max(1, rows.n) };
}

function initParams(s: Settings, o: TrainerOptions, rng: Random): Params {
  const w = new Float64Array(s.hidden * s.k);
  if (s.mode === 'last-conv') for (let i = 0; i < w.length; i++) w[i] = rng.normal() * 0.01;
  return { w, b: new Float64Array(s.k), ...(s.mode === 'last-conv' ? { c: Float64Array.from(o.lastConv!.weight) } : {}) };
}

const copyParams = (p: Params): Params => ({ w: p.w.slice(), b: p.b.slice(), ...(p.c ? { c: p.c.slice() } : {}) });

/** One image per group (a random view of it), in a shuffled order. */
function epochRows(train: FeatureRows, groups: Map<number, number[]>, rng: Random): number[] {
  if (!train.group) return shuffled(Array.from({ length: train.n }, (_, i) => i), rng);
  const picks = [...groups.values()].map((rows) => rows[rng.nextUint32() % rows.length]!);
  return shuffled(picks, rng);
}

/** Run one epoch of minibatch AdamW; returns the mean loss and accuracy of the rows seen. */
function runEpoch(p: Params, s: Settings, train: FeatureRows, order: number[], opt: { w: AdamW; b: AdamW; c?: AdamW }, grad: Params, rng: Random, stats?: { mean: Float64Array; std: Float64Array }): [number, number] {
  const sc = scratch(s);
  let loss = 0;
  let right = 0;
  for (let start = 0; start < order.length; start += s.batch) {
    const rows = order.slice(start, start + s.batch);
    let wsum = 0;
    for (const r of rows) {
      loadRow(train, r, sc, stats);
      if (s.dropout > 0) for (let i = 0; i < s.hidden; i++) sc.mask[i] = rng.uniform() < s.dropout ? 0 : 1 / (1 - s.dropout);
      forward(p, s, sc);
      const label = train.labels?.[r] ?? 0;
      const weight = s.multi ? 1 : s.cw[label]!;
      const [l, ok] = lossGrad(sc, s, label, train.targets, r * s.k, weight);
      backward(p, grad, s, sc);
      loss += l;
      right += ok;
      wsum += weight;
    }
    const scale = wsum > 0 ? 1 / wsum : 0;
    opt.w.step(grad.w, s.lr, scale);
    opt.b.step(grad.b, s.lr, scale);
    if (opt.c && grad.c) opt.c.step(grad.c, s.lr, scale);
  }
  return [loss / order.length, right / order.length];
}

/** Train a head on feature rows; `val` (when given and non-empty) decides early stopping. */
export function trainHead(train: FeatureRows, val: FeatureRows | undefined, options: TrainerOptions): TrainedHead {
  const s = settings(options, train.dims);
  if (train.n === 0) throw invalidOption('train', 'at least one row', 0);
  const rng = new Random(s.seed);
  const stats = s.mode === 'head' ? columnStats(train) : undefined;
  const p = initParams(s, options, rng);
  const grad: Params = { w: new Float64Array(p.w.length), b: new Float64Array(p.b.length), ...(p.c ? { c: new Float64Array(p.c.length) } : {}) };
  const opt = { w: new AdamW(p.w, s.wd), b: new AdamW(p.b, 0), ...(p.c ? { c: new AdamW(p.c, s.wd) } : {}) };
  const groups = new Map<number, number[]>();
  if (train.group) for (let r = 0; r < train.n; r++) groups.set(train.group[r]!, [...(groups.get(train.group[r]!) ?? []), r]);
  const hasVal = val !== undefined && val.n > 0;
  const epochs: EpochReport[] = [];
  let best = { params: copyParams(p), epoch: 0, acc: -1, loss: Infinity, trainAcc: 0 };
  let stoppedEarly = false;
  for (let e = 1; e <= s.epochs; e++) {
    const [loss, trainAccuracy] = runEpoch(p, s, train, epochRows(train, groups, rng), opt, grad, rng, stats);
    const v = hasVal ? evaluateRows(p, s, val, stats) : undefined;
    const [acc, vloss] = v ? [v.accuracy, v.loss] : [trainAccuracy, loss];
    const better = acc > best.acc || (acc === best.acc && vloss < best.loss);
    if (better) best = { params: copyParams(p), epoch: e, acc, loss: vloss, trainAcc: trainAccuracy };
    const report: EpochReport = { epoch: e, loss, trainAccuracy, ...(v ? { valLoss: v.loss, valAccuracy: v.accuracy } : {}), best: better };
    epochs.push(report);
    options.onEpoch?.(report);
    if (e - best.epoch >= s.patience) {
      stoppedEarly = e < s.epochs;
      break;
    }
  }
  return exportHead(best.params, s, stats, { epochs, bestEpoch: best.epoch, stoppedEarly, trainAccuracy: best.trainAcc, ...(hasVal ? { valAccuracy: best.acc } : {}) });
}

/** The float32 weights the model computes with: standardization folded into fc (head mode). */
function exportHead(p: Params, s: Settings, stats: { mean: Float64Array; std: Float64Array } | undefined, rest: Omit<TrainedHead, 'mode' | 'multiLabel' | 'fcWeight' | 'fcBias'>): TrainedHead {
  const w = new Float32Array(p.w.length);
  const b = new Float64Array(p.b);
  for (let i = 0; i < s.hidden; i++) {
    for (let c = 0; c < s.k; c++) {
      const wi = stats ? p.w[c * s.hidden + i]! / stats.std[i]! : p.w[c * s.hidden + i]!;
      w[i * s.k + c] = wi;
      if (stats) b[c]! -= wi * stats.mean[i]!;
    }
  }
  return {
    mode: s.mode,
    multiLabel: s.multi,
    fcWeight: w,
    fcBias: Float32Array.from(b),
    ...(p.c ? { lastConvWeight: Float32Array.from(p.c), hidden: s.hidden } : {}),
    ...rest,
  };
}

/** Scores of one feature row under a trained head (softmax or sigmoid), in float64: the model's reference. */
export function headScores(head: TrainedHead, row: Float32Array): Float64Array {
  const k = head.fcBias.length;
  let h: Float64Array = Float64Array.from(row);
  if (head.lastConvWeight) {
    const hidden = head.hidden!;
    const z = new Float64Array(hidden);
    for (let o = 0; o < hidden; o++) {
      let acc = 0;
      for (let j = 0; j < row.length; j++) acc += head.lastConvWeight[o * row.length + j]! * row[j]!;
      z[o] = hswish(acc);
    }
    h = z;
  }
  const logits = Float64Array.from(head.fcBias);
  for (let i = 0; i < h.length; i++) for (let c = 0; c < k; c++) logits[c]! += h[i]! * head.fcWeight[i * k + c]!;
  if (head.multiLabel) return logits.map((z) => 1 / (1 + Math.exp(-z)));
  const max = Math.max(...logits);
  const e = logits.map((z) => Math.exp(z - max));
  const sum = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / sum);
}
