/**
 * What a model file says about itself in ONNX `metadata_props`: architecture, preprocessing, labels,
 * provenance. The builder writes these; the runtime reads them.
 */
import { invalidOption } from './errors.js';

/** The preprocessing a model expects, applied to an RGB uint8 image. */
export interface Preprocess {
  /**
   * `short`: scale so the short side is `size` (PaddleClas `ResizeImage resize_short`);
   * `exact`: resize to width × height, ignoring the aspect ratio (PaddleX `ResizeImage size`).
   */
  readonly resize: { readonly mode: 'short'; readonly size: number } | { readonly mode: 'exact'; readonly width: number; readonly height: number };
  /** Center crop after resizing (PaddleClas `CropImage size`); none when absent. */
  readonly crop?: { readonly width: number; readonly height: number };
  /** Interpolation of the resize: OpenCV INTER_LINEAR semantics. ['linear'] */
  readonly interpolation: 'linear';
  /** Channel order fed to the network. PaddleClas and PaddleX decode to RGB. ['rgb'] */
  readonly channelOrder: 'rgb' | 'bgr';
  /** Pixel scale before mean/std. [1/255] */
  readonly scale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /**
   * The float32 arithmetic of normalization: `paddleclas` computes (x·scale − mean)/std (PaddleClas
   * `NormalizeImage`); `paddlex` computes x·(scale/std) + (−mean/std) (PaddleX `Normalize`). ['paddleclas']
   */
  readonly normalization?: 'paddleclas' | 'paddlex';
}

/** PaddleClas's ImageNet inference pipeline: resize_short 256, center crop 224, ImageNet mean/std. */
export const IMAGENET_PREPROCESS: Preprocess = Object.freeze({
  resize: Object.freeze({ mode: 'short' as const, size: 256 }),
  crop: Object.freeze({ width: 224, height: 224 }),
  interpolation: 'linear' as const,
  channelOrder: 'rgb' as const,
  scale: 1 / 255,
  mean: Object.freeze([0.485, 0.456, 0.406] as const),
  std: Object.freeze([0.229, 0.224, 0.225] as const),
});

/** The preprocessing for a network input of h × w: ImageNet's when it is 224 × 224, a plain resize otherwise. */
export function defaultPreprocess(input: readonly [number, number]): Preprocess {
  const [h, w] = input;
  if (h === 224 && w === 224) return IMAGENET_PREPROCESS;
  return Object.freeze({ ...IMAGENET_PREPROCESS, resize: Object.freeze({ mode: 'exact' as const, width: w, height: h }), crop: undefined });
}

/** Keys of `metadata_props`. */
export const METADATA_KEYS = Object.freeze({
  formatVersion: 'pplcnet.format_version',
  name: 'pplcnet.name',
  architecture: 'pplcnet.architecture',
  inputSize: 'pplcnet.input_size',
  preprocess: 'pplcnet.preprocess',
  labels: 'pplcnet.labels',
  topk: 'pplcnet.topk',
  source: 'pplcnet.source',
  license: 'pplcnet.license',
  trained: 'pplcnet.trained',
  head: 'pplcnet.head',
  threshold: 'pplcnet.threshold',
  postprocess: 'pplcnet.postprocess',
  /** How the weights are stored: `fp16` or `int8` (see onnx/weight-storage.ts); absent for fp32. */
  weights: 'pplcnet.weights',
  /** The largest |stored − fp32| weight difference of fp16/int8 storage. */
  weightsMaxError: 'pplcnet.weights_max_error',
});

/**
 * PaddleClas's attribute post-processing of a multi-label model (`ppcls/data/postprocess/attr_rec.py`),
 * reproduced by `paddleClasAttributes`.
 */
export type AttributePostprocess = 'PersonAttribute' | 'VehicleAttribute' | 'TableAttribute';
export const ATTRIBUTE_POSTPROCESSES: readonly AttributePostprocess[] = Object.freeze(['PersonAttribute', 'VehicleAttribute', 'TableAttribute']);

/** What follows fc in a model: `softmax` (single-label), `sigmoid` (multi-label) or `none` (logits only). */
export type ModelHead = 'softmax' | 'sigmoid' | 'none';
export const HEADS: readonly ModelHead[] = Object.freeze(['softmax', 'sigmoid', 'none']);

/** How a model's weights are stored in its file (the `weights` key; `fp32` when absent). */
export type WeightStorage = 'fp32' | 'fp16' | 'int8';
export const WEIGHT_STORAGES: readonly WeightStorage[] = Object.freeze(['fp32', 'fp16', 'int8']);

/** Descriptive metadata a caller can attach to a model. */
export interface ModelDescription {
  /** A short model name, e.g. `PPLCNet_x1_0`. */
  readonly name?: string;
  /** The preprocessing the model expects. [defaultPreprocess(inputSize)] */
  readonly preprocess?: Preprocess;
  /** Class names, index = class id. */
  readonly labels?: readonly string[];
  /** How many classes `predict` shows by default. [5] */
  readonly topk?: number;
  /** Where the weights came from (a file name, `random init (seed 0)`, …). */
  readonly source?: string;
  /** License of the weights, when known. */
  readonly license?: string;
  /** `false` for initialized weights that were never trained (`pplcnet build`); unrecorded when unknown. */
  readonly trained?: boolean;
  /**
   * Score threshold of the model's post-processing, when its source defines one: the per-class threshold of
   * a multi-label model (PaddleClas `MultiLabelThreshOutput`), or PaddleClas `ThreshOutput`'s for a binary
   * model (class 1 when its probability reaches the threshold, class 0 otherwise).
   */
  readonly threshold?: number;
  /** PaddleClas's attribute post-processing of a multi-label model (`PersonAttribute`, …; see attributes.ts). */
  readonly postprocess?: AttributePostprocess;
}

/**
 * The one wording of the warning about a model whose weights were initialized and never trained
 * (`trained: false`, a model made by `pplcnet build`); every front-end says it with this sentence.
 */
export function untrainedMessage(name: string): string {
  return `model ${name} holds initialized, untrained weights (made by pplcnet build): its predictions are meaningless until it is trained`;
}

/** Everything `metadata_props` records, parsed back. */
export interface ModelMetadata {
  readonly formatVersion: number;
  readonly name?: string;
  readonly architecture?: Record<string, unknown>;
  readonly inputSize?: readonly [number, number];
  readonly preprocess?: Preprocess;
  readonly labels?: readonly string[];
  readonly topk?: number;
  readonly source?: string;
  readonly license?: string;
  /** `false`: initialized, never trained (predictions are meaningless); undefined when not recorded. */
  readonly trained?: boolean;
  /** What follows fc. ['softmax' when the model does not record it] */
  readonly head: ModelHead;
  readonly threshold?: number;
  readonly postprocess?: AttributePostprocess;
}

export function checkPreprocess(p: unknown, where = 'preprocess'): Preprocess {
  const bad = (what: string, v: unknown): never => {
    throw invalidOption(`${where}.${what}`, 'a valid value', v);
  };
  if (!p || typeof p !== 'object') throw invalidOption(where, 'an object', p, 'type');
  const q = p as Record<string, unknown>;
  const resize = q.resize as Record<string, unknown> | undefined;
  const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!resize || typeof resize !== 'object') bad('resize', resize);
  else if (resize.mode === 'short') {
    if (!posInt(resize.size)) bad('resize.size', resize.size);
  } else if (resize.mode === 'exact') {
    if (!posInt(resize.width) || !posInt(resize.height)) bad('resize', resize);
  } else bad('resize.mode', resize.mode);
  if (q.crop !== undefined) {
    const c = q.crop as Record<string, unknown>;
    if (!c || !posInt(c.width) || !posInt(c.height)) bad('crop', q.crop);
  }
  if (q.interpolation !== 'linear') bad('interpolation', q.interpolation);
  if (q.channelOrder !== 'rgb' && q.channelOrder !== 'bgr') bad('channelOrder', q.channelOrder);
  if (typeof q.scale !== 'number' || !Number.isFinite(q.scale)) bad('scale', q.scale);
  for (const k of ['mean', 'std'] as const) {
    const v = q[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) bad(k, v);
    if (k === 'std' && (v as number[]).some((x) => x === 0)) bad(k, v);
  }
  if (q.normalization !== undefined && q.normalization !== 'paddleclas' && q.normalization !== 'paddlex') bad('normalization', q.normalization);
  return p as Preprocess;
}

/** Metadata entries in a fixed order (so the same model always serializes to the same bytes). */
export function metadataEntries(
  architecture: object,
  inputSize: readonly [number, number],
  description: ModelDescription,
  head: ModelHead = 'softmax',
): [string, string][] {
  const preprocess = checkPreprocess(description.preprocess ?? defaultPreprocess(inputSize));
  const out: [string, string][] = [
    [METADATA_KEYS.formatVersion, '1'],
    [METADATA_KEYS.architecture, JSON.stringify(architecture)],
    [METADATA_KEYS.inputSize, JSON.stringify(inputSize)],
    [METADATA_KEYS.preprocess, JSON.stringify(preprocess)],
  ];
  if (description.name) out.push([METADATA_KEYS.name, description.name]);
  if (description.labels) out.push([METADATA_KEYS.labels, JSON.stringify(description.labels)]);
  if (description.topk !== undefined) out.push([METADATA_KEYS.topk, String(description.topk)]);
  if (description.source) out.push([METADATA_KEYS.source, description.source]);
  if (description.license) out.push([METADATA_KEYS.license, description.license]);
  if (description.trained !== undefined) out.push([METADATA_KEYS.trained, String(description.trained)]);
  out.push([METADATA_KEYS.head, head]);
  if (description.threshold !== undefined) {
    if (!(description.threshold > 0 && description.threshold < 1)) throw invalidOption('threshold', 'a number between 0 and 1', description.threshold);
    out.push([METADATA_KEYS.threshold, String(description.threshold)]);
  }
  if (description.postprocess !== undefined) {
    if (!ATTRIBUTE_POSTPROCESSES.includes(description.postprocess)) throw invalidOption('postprocess', `one of ${ATTRIBUTE_POSTPROCESSES.join(', ')}`, description.postprocess);
    out.push([METADATA_KEYS.postprocess, description.postprocess]);
  }
  return out;
}

/** Parse `metadata_props` (as a key → value record). Unknown keys are ignored; malformed ones throw. */
export function parseMetadata(props: Readonly<Record<string, string>>): ModelMetadata {
  const json = (key: string): unknown => {
    const v = props[key];
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v);
    } catch {
      throw new Error(`model metadata '${key}' is not valid JSON: ${v.slice(0, 80)}`);
    }
  };
  const labels = json(METADATA_KEYS.labels);
  if (labels !== undefined && (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string'))) {
    throw new Error(`model metadata '${METADATA_KEYS.labels}' must be a JSON array of strings`);
  }
  const preprocess = json(METADATA_KEYS.preprocess);
  const topk = props[METADATA_KEYS.topk];
  const head = props[METADATA_KEYS.head] ?? 'softmax';
  if (!(HEADS as readonly string[]).includes(head)) throw new Error(`model metadata '${METADATA_KEYS.head}' must be one of ${HEADS.join(', ')}, found '${head.slice(0, 40)}'`);
  const threshold = props[METADATA_KEYS.threshold] === undefined ? undefined : Number(props[METADATA_KEYS.threshold]);
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) throw new Error(`model metadata '${METADATA_KEYS.threshold}' must be a number between 0 and 1`);
  const postprocess = props[METADATA_KEYS.postprocess];
  // an unknown post-processing (from a later pplcnet) is ignored: the scores stay usable
  const knownPostprocess = postprocess !== undefined && (ATTRIBUTE_POSTPROCESSES as readonly string[]).includes(postprocess) ? (postprocess as AttributePostprocess) : undefined;
  return {
    formatVersion: Number(props[METADATA_KEYS.formatVersion] ?? 0),
    name: props[METADATA_KEYS.name],
    architecture: json(METADATA_KEYS.architecture) as Record<string, unknown> | undefined,
    inputSize: json(METADATA_KEYS.inputSize) as [number, number] | undefined,
    preprocess: preprocess === undefined ? undefined : checkPreprocess(preprocess, `metadata '${METADATA_KEYS.preprocess}'`),
    labels: labels as string[] | undefined,
    topk: topk === undefined ? undefined : Number(topk),
    source: props[METADATA_KEYS.source],
    license: props[METADATA_KEYS.license],
    ...(props[METADATA_KEYS.trained] === 'false' ? { trained: false } : props[METADATA_KEYS.trained] === 'true' ? { trained: true } : {}),
    head: head as ModelHead,
    ...(threshold !== undefined ? { threshold } : {}),
    ...(knownPostprocess ? { postprocess: knownPostprocess } : {}),
  };
}
