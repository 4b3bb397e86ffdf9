/** onnxruntime's graph optimization levels, in a module of their own: naming them loads no binding. */

/** Graph optimization levels, as onnxruntime names them. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export const GRAPH_OPT_LEVELS: readonly GraphOptimizationLevel[] = Object.freeze(['disabled', 'basic', 'extended', 'all']);
