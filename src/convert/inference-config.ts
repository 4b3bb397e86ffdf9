/**
 * PaddleClas / PaddleX inference configs (`inference.yml`, `inference_cls.yaml`): the preprocessing,
 * label list and top-k they declare, as this project's {@link ModelDescription}.
 */
import { createRequire } from 'node:module';
import type { parseDocument as ParseDocument } from 'yaml';
import { PplcnetError } from '../errors.js';
import { IMAGENET_PREPROCESS, type ModelDescription, type Preprocess, checkPreprocess } from '../metadata.js';

export type YamlValue = null | boolean | number | string | YamlValue[] | { [k: string]: YamlValue };


/** The `yaml` package, loaded on first use (~60 ms that a command reading no config should not pay). */
let yamlParse: typeof ParseDocument | undefined;
const parseDocument = (): typeof ParseDocument => (yamlParse ??= (createRequire(import.meta.url)('yaml') as { parseDocument: typeof ParseDocument }).parseDocument);

/** Bounds on an inference config: PaddleClas writes a few kB, with no aliases or a handful. */
export const CONFIG_LIMITS = Object.freeze({ maxBytes: 1 << 20, maxAliasCount: 100 });

/**
 * Parse an inference config with the `yaml` package (YAML 1.2, core schema), bounded: the text's size, and
 * how much aliases may expand (`maxAliasCount`, against "billion laughs" files). Errors name the file and line.
 */
export function parseConfigYaml(text: string, file: string): YamlValue {
  if (text.length > CONFIG_LIMITS.maxBytes) {
    throw new PplcnetError('E_FORMAT', `${file}: ${text.length} characters, more than the ${CONFIG_LIMITS.maxBytes} an inference config can take`);
  }
  const doc = parseDocument()(text, { prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0].line;
    throw new PplcnetError('E_FORMAT', `${file}${line ? `:${line}` : ''}: not valid YAML: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  try {
    return doc.toJS({ maxAliasCount: CONFIG_LIMITS.maxAliasCount }) as YamlValue;
  } catch (e) {
    // unresolved aliases and aliases expanding past maxAliasCount
    if (e instanceof ReferenceError) throw new PplcnetError('E_FORMAT', `${file}: ${e.message}`);
    throw e;
  }
}

type Obj = { [k: string]: YamlValue };
const isObj = (v: YamlValue | undefined): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `0.00392…`, `1.0/255.0` or `1/255` → a number. */
function number(v: YamlValue | undefined, what: string, file: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(v);
    if (m) return Number(m[1]) / Number(m[2]);
    if (v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  }
  throw new PplcnetError('E_FORMAT', `${file}: ${what} is ${JSON.stringify(v)}, expected a number`);
}

/** [w, h] from `size: 224` or `size: [w, h]`. */
function size(v: YamlValue | undefined, what: string, file: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  throw new PplcnetError('E_FORMAT', `${file}: ${what} is ${JSON.stringify(v)}, expected a size or [width, height]`);
}

export function readInferenceConfig(text: string, file: string): ModelDescription {
  const root = parseConfigYaml(text, file);
  if (!isObj(root)) throw new PplcnetError('E_FORMAT', `${file}: expected a mapping at the top level`);
  const out: { -readonly [K in keyof ModelDescription]: ModelDescription[K] } = {};
  const global = root.Global;
  if (isObj(global) && typeof global.model_name === 'string') out.name = global.model_name;

  const pre = root.PreProcess;
  const ops = isObj(pre) ? pre.transform_ops : undefined;
  if (Array.isArray(ops)) {
    let p: { -readonly [K in keyof Preprocess]: Preprocess[K] } = { ...IMAGENET_PREPROCESS, crop: undefined };
    let sawResize = false;
    for (const entry of ops) {
      if (!isObj(entry)) continue;
      const [name, args0] = Object.entries(entry)[0] ?? [];
      const args: Obj = isObj(args0) ? args0 : {};
      switch (name) {
        case 'DecodeImage':
          if (args.to_rgb === false) p.channelOrder = 'bgr';
          break;
        case 'ResizeImage': {
          sawResize = true;
          const interp = args.interpolation;
          if (interp !== undefined && interp !== null && !/^(linear|bilinear|1)$/i.test(String(interp))) {
            throw new PplcnetError('E_FORMAT', `${file}: ResizeImage interpolation ${JSON.stringify(interp)} is not supported (OpenCV INTER_LINEAR only)`);
          }
          if (args.backend !== undefined && args.backend !== null && args.backend !== 'cv2') {
            throw new PplcnetError('E_FORMAT', `${file}: ResizeImage backend ${JSON.stringify(args.backend)} is not supported (cv2 only)`);
          }
          if (args.resize_short !== undefined && args.resize_short !== null) p.resize = { mode: 'short', size: number(args.resize_short, 'ResizeImage.resize_short', file) };
          else {
            const [w, h] = size(args.size, 'ResizeImage.size', file);
            p.resize = { mode: 'exact', width: w, height: h };
          }
          break;
        }
        case 'CropImage': {
          const [w, h] = size(args.size, 'CropImage.size', file);
          p.crop = { width: w, height: h };
          break;
        }
        case 'NormalizeImage': {
          if (args.order !== undefined && args.order !== '' && args.order !== 'hwc') {
            throw new PplcnetError('E_FORMAT', `${file}: NormalizeImage order ${JSON.stringify(args.order)} is not supported`);
          }
          const triple = (v: YamlValue | undefined, d: readonly [number, number, number], what: string): [number, number, number] => {
            if (v === undefined || v === null) return [...d];
            if (!Array.isArray(v) || v.length !== 3) throw new PplcnetError('E_FORMAT', `${file}: NormalizeImage.${what} is ${JSON.stringify(v)}, expected 3 numbers`);
            return v.map((x, k) => number(x, `NormalizeImage.${what}[${k}]`, file)) as [number, number, number];
          };
          p = {
            ...p,
            scale: args.scale === undefined || args.scale === null ? 1 / 255 : number(args.scale, 'NormalizeImage.scale', file),
            mean: triple(args.mean, IMAGENET_PREPROCESS.mean, 'mean'),
            std: triple(args.std, IMAGENET_PREPROCESS.std, 'std'),
          };
          break;
        }
        case 'ToCHWImage':
          break;
        default:
          throw new PplcnetError('E_FORMAT', `${file}: preprocessing op ${JSON.stringify(name)} is not supported`);
      }
    }
    // PaddleX configs (they name the model under Global) are run by PaddleX's Normalize
    if (out.name !== undefined) p.normalization = 'paddlex';
    if (sawResize) out.preprocess = checkPreprocess(JSON.parse(JSON.stringify(p)), file);
  }
  const post = root.PostProcess;
  const topk = isObj(post) ? post.Topk : undefined;
  if (isObj(topk)) {
    if (typeof topk.topk === 'number') out.topk = topk.topk;
    if (Array.isArray(topk.label_list)) out.labels = topk.label_list.map((l) => String(l));
  }
  return out;
}
