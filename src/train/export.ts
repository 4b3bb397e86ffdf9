/**
 * A trained head spliced into its backbone's ONNX graph: the backbone is cut at the value the head reads
 * (`flatten`, the embedding, or `avg_pool`, the pooled last block, for `last-conv`), everything after it is
 * dropped, and the new layers — written with the graph builder, so their shapes are checked as they are
 * made — are appended. The result is one ordinary pplcnet model: `logits` and `probs` (softmax) or `scores`
 * (sigmoid), labels, preprocessing and `trained=true` in its metadata.
 */
import { type Dim, GraphBuilder } from '../builder/graph.js';
import * as op from '../builder/ops.js';
import { PplcnetError } from '../errors.js';
import { type ModelHead, metadataEntries, parseMetadata } from '../metadata.js';
import { onnx, type OnnxTypes } from '../onnx/proto.js';
import { float32FromLE } from '../util/float32.js';
import { VERSION } from '../version.js';
import type { TrainedHead } from './trainer.js';

/** What the trained model's metadata records beyond the backbone's. */
export interface TrainedDescription {
  readonly name: string;
  readonly labels: readonly string[];
  /** The backbone the features came from (its name). */
  readonly backbone: string;
  /** The dataset summary (JSON-able): folder, counts per class, the split. */
  readonly dataset: Record<string, unknown>;
  /** Validation results (JSON-able): accuracy, epoch, images. */
  readonly validation: Record<string, unknown>;
}

/** Metadata keys the trained model adds. */
export const TRAIN_METADATA_KEYS = Object.freeze({ dataset: 'pplcnet.dataset', validation: 'pplcnet.validation', backbone: 'pplcnet.backbone' });

/** The value a head of this mode reads. */
export function cutValue(mode: TrainedHead['mode']): string {
  return mode === 'head' ? 'flatten' : 'avg_pool';
}

/** The nodes needed to compute `target`, in graph order. */
function nodesFor(nodes: readonly OnnxTypes.INodeProto[], target: string, where: string): OnnxTypes.INodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  if (!producer.has(target)) throw new PplcnetError('E_MODEL', `${where}: no node computes '${target}'; train needs a model built or converted by pplcnet`);
  const keep = new Set<number>();
  const todo = [target];
  while (todo.length > 0) {
    const v = todo.pop()!;
    const i = producer.get(v);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    for (const input of nodes[i]!.input ?? []) if (input) todo.push(input);
  }
  return nodes.filter((_, i) => keep.has(i));
}

/** The pretrained last 1×1 conv of a backbone: [hidden, dims] row-major. */
export function lastConvWeight(bytes: Uint8Array, where: string): { weight: Float32Array; hidden: number; dims: number } {
  const graph = onnx.ModelProto.decode(bytes).graph;
  const t = graph?.initializer?.find((i) => i.name === 'last_conv.weight');
  if (!t || !t.rawData) throw new PplcnetError('E_MODEL', `${where}: this backbone has no last conv (its architecture sets useLastConv false, or it was not built by pplcnet); use --train head`);
  const dims = (t.dims ?? []).map(Number);
  return { weight: float32FromLE(t.rawData), hidden: dims[0]!, dims: dims[1]! };
}

/** The head's layers, written with the graph builder on an input named after the cut value. */
function headGraph(head: TrainedHead, cut: { name: string; shape: readonly Dim[] }, opset: number): OnnxTypes.IGraphProto {
  const g = new GraphBuilder();
  const k = head.fcBias.length;
  let x = g.input(cut.name, cut.shape);
  if (head.mode === 'last-conv') {
    const hidden = head.hidden!;
    const dims = head.lastConvWeight!.length / hidden;
    x = op.conv(g, 'last_conv', x, g.initializer('last_conv.weight', [hidden, dims, 1, 1], head.lastConvWeight!), undefined);
    x = op.hardSwish(g, 'act', x);
    // dropout was inverted while training: the identity at inference
    x = op.flatten(g, 'flatten', x, { axis: 1 });
  }
  const inDims = head.fcWeight.length / k;
  const fc = op.gemm(g, 'fc', x, g.initializer('fc.weight', [inDims, k], head.fcWeight), g.initializer('fc.bias', [k], head.fcBias));
  const logits = op.identity(g, 'logits', fc);
  g.output(logits);
  g.output(head.multiLabel ? op.sigmoid(g, 'scores', logits) : op.softmax(g, 'probs', logits, { axis: 1 }));
  const model = onnx.ModelProto.decode(g.toModel({ opset, producerName: 'pplcnet', producerVersion: VERSION, graphName: 'head' }));
  return model.graph!;
}

function shapeOf(info: OnnxTypes.IValueInfoProto | undefined): Dim[] | undefined {
  const dims = info?.type?.tensorType?.shape?.dim;
  return dims?.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
}

/** The metadata entries of the trained model: the backbone's architecture and preprocessing, the new head's labels. */
function trainedMetadata(props: Record<string, string>, head: TrainedHead, d: TrainedDescription): [string, string][] {
  const meta = parseMetadata(props);
  // dropout is the identity at inference here (inverted while training): the graph has no (1 − p) scale
  const arch = { ...(meta.architecture ?? {}), classNum: d.labels.length, dropoutProb: 0, ...(head.mode === 'last-conv' ? { useLastConv: true, classExpand: head.hidden } : {}) };
  const headKind: ModelHead = head.multiLabel ? 'sigmoid' : 'softmax';
  const entries = metadataEntries(
    arch,
    meta.inputSize ?? [224, 224],
    {
      name: d.name,
      ...(meta.preprocess ? { preprocess: meta.preprocess } : {}),
      labels: d.labels,
      topk: Math.min(5, d.labels.length),
      source: `pplcnet train (${head.mode}) on ${d.backbone}`,
      ...(meta.license ? { license: `backbone: ${meta.license}` } : {}),
      trained: true,
    },
    headKind,
  );
  entries.push([TRAIN_METADATA_KEYS.backbone, d.backbone], [TRAIN_METADATA_KEYS.dataset, JSON.stringify(d.dataset)], [TRAIN_METADATA_KEYS.validation, JSON.stringify(d.validation)]);
  return entries;
}

/** Splice `head` into `backbone` (ONNX bytes). */
export function spliceHead(backbone: Uint8Array, head: TrainedHead, description: TrainedDescription, where = 'backbone'): Uint8Array {
  const model = onnx.ModelProto.decode(backbone);
  const graph = model.graph;
  if (!graph) throw new PplcnetError('E_FORMAT', `${where}: the ONNX file holds no graph`);
  const cut = cutValue(head.mode);
  const kept = nodesFor(graph.node ?? [], cut, where);
  const produced = new Set(kept.flatMap((n) => n.output ?? []));
  const used = new Set(kept.flatMap((n) => n.input ?? []));
  const cutShape = shapeOf((graph.valueInfo ?? []).find((v) => v.name === cut) ?? (graph.output ?? []).find((v) => v.name === cut));
  if (!cutShape) throw new PplcnetError('E_MODEL', `${where}: the graph records no shape for '${cut}'`);
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 17);
  const h = headGraph(head, { name: cut, shape: cutShape }, opset);
  graph.node = [...kept, ...(h.node ?? [])];
  graph.initializer = [...(graph.initializer ?? []).filter((t) => used.has(t.name ?? '')), ...(h.initializer ?? [])];
  graph.valueInfo = [...(graph.valueInfo ?? []).filter((v) => produced.has(v.name ?? '')), ...(h.valueInfo ?? []).filter((v) => v.name !== cut)];
  graph.output = h.output ?? [];
  const props = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  model.metadataProps = trainedMetadata(props, head, description).map(([key, value]) => ({ key, value }));
  model.producerName = 'pplcnet';
  model.producerVersion = VERSION;
  model.docString = `${description.name}: a ${head.mode === 'head' ? 'new fc' : 'tuned last conv and new fc'} on ${description.backbone} (${description.labels.length} ${head.multiLabel ? 'labels, sigmoid' : 'classes, softmax'})`;
  return onnx.ModelProto.encode(model).finish();
}
