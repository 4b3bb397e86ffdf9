/**
 * Classification metrics, as users compare them: top-1 / top-5 accuracy, per-class precision, recall and F1
 * with the confusion matrix (scikit-learn's `classification_report` / `confusion_matrix` definitions: a
 * class never predicted has precision 0, never present recall 0), and for multi-label data PaddleClas's
 * attribute metrics (`ppcls/metric/metrics.py` ATTRMetric): per label the recall of positives and of
 * negatives, mA their mean over labels, and the instance-based accuracy, precision, recall and F1.
 */

export interface ClassMetrics {
  readonly label: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Images of this class. */
  readonly support: number;
}

export interface SingleLabelMetrics {
  readonly images: number;
  readonly top1: number;
  readonly top5: number;
  readonly perClass: readonly ClassMetrics[];
  readonly macroF1: number;
  /** `confusion[true][predicted]`. */
  readonly confusion: readonly (readonly number[])[];
}

/** Ranks of the class ids by score, best first (ties: lower id first). */
function rankOf(scores: ArrayLike<number>, label: number): number {
  const s = scores[label]!;
  let rank = 0;
  for (let c = 0; c < scores.length; c++) if (scores[c]! > s || (scores[c]! === s && c < label)) rank++;
  return rank;
}

function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < scores.length; c++) if (scores[c]! > scores[best]!) best = c;
  return best;
}

/** Metrics of score rows (one per image, `labels.length` classes) against true class ids. */
export function singleLabelMetrics(scores: readonly ArrayLike<number>[], truth: readonly number[], labels: readonly string[]): SingleLabelMetrics {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let top1 = 0;
  let top5 = 0;
  scores.forEach((s, i) => {
    const t = truth[i]!;
    const rank = rankOf(s, t);
    if (rank === 0) top1++;
    if (rank < 5) top5++;
    confusion[t]![argmax(s)]!++;
  });
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, v) => a + v, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const present = perClass.filter((c) => c.support > 0);
  const n = Math.max(1, scores.length);
  return { images: scores.length, top1: top1 / n, top5: top5 / n, perClass, macroF1: present.reduce((a, c) => a + c.f1, 0) / Math.max(1, present.length), confusion };
}

export interface LabelMetrics {
  readonly label: string;
  /** Recall of the positives (TP / positives). */
  readonly positiveRecall: number;
  /** Recall of the negatives (TN / negatives). */
  readonly negativeRecall: number;
  /** (positiveRecall + negativeRecall) / 2. */
  readonly mA: number;
  readonly precision: number;
  readonly recall: number;
  readonly positives: number;
}

export interface MultiLabelMetrics {
  readonly images: number;
  readonly threshold: number;
  readonly mA: number;
  readonly instance: { readonly accuracy: number; readonly precision: number; readonly recall: number; readonly f1: number };
  readonly perLabel: readonly LabelMetrics[];
}

/** PaddleClas's epsilon in its attribute metrics (it keeps 0/0 at 0). */
const EPS = 1e-20;

/** Attribute metrics of score rows against 0/1 targets; a label is predicted when its score reaches `threshold`. */
export function multiLabelMetrics(scores: readonly ArrayLike<number>[], targets: readonly ArrayLike<number>[], labels: readonly string[], threshold = 0.5): MultiLabelMetrics {
  const k = labels.length;
  const tp = new Float64Array(k);
  const tn = new Float64Array(k);
  const pos = new Float64Array(k);
  const neg = new Float64Array(k);
  const predPos = new Float64Array(k);
  let acc = 0;
  let prec = 0;
  let rec = 0;
  scores.forEach((s, i) => {
    let inter = 0;
    let union = 0;
    let gt = 0;
    let pr = 0;
    for (let c = 0; c < k; c++) {
      const t = targets[i]![c]! === 1;
      const p = s[c]! >= threshold;
      if (t) pos[c]!++;
      else neg[c]!++;
      if (p) predPos[c]!++;
      if (t && p) tp[c]!++;
      if (!t && !p) tn[c]!++;
      inter += t && p ? 1 : 0;
      union += t || p ? 1 : 0;
      gt += t ? 1 : 0;
      pr += p ? 1 : 0;
    }
    acc += inter / (union + EPS);
    prec += inter / (pr + EPS);
    rec += inter / (gt + EPS);
  });
  const n = Math.max(1, scores.length);
  const perLabel = labels.map((label, c) => {
    const positiveRecall = tp[c]! / (pos[c]! + EPS);
    const negativeRecall = tn[c]! / (neg[c]! + EPS);
    return { label, positiveRecall, negativeRecall, mA: (positiveRecall + negativeRecall) / 2, precision: tp[c]! / (predPos[c]! + EPS), recall: positiveRecall, positives: pos[c]! };
  });
  const [a, p, r] = [acc / n, prec / n, rec / n];
  return {
    images: scores.length,
    threshold,
    mA: perLabel.reduce((s, l) => s + l.mA, 0) / Math.max(1, k),
    instance: { accuracy: a, precision: p, recall: r, f1: (2 * p * r) / (p + r + EPS) },
    perLabel,
  };
}
