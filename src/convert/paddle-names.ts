/**
 * What Paddle calls things and what PaddleClas calls them: data only, read by the program readers
 * (op types, input slots) and by the interpreter (which op is which layer, which parameter is which key).
 */
import type { Activation } from '../builder/architecture.js';

/** Legacy ProgramDesc op types → the normalized names PIR uses. */
export const LEGACY_OP_TYPES: Readonly<Record<string, string>> = Object.freeze({
  hard_swish: 'hardswish',
  hard_sigmoid: 'hardsigmoid',
  elementwise_add: 'add',
  elementwise_mul: 'multiply',
  matmul_v2: 'matmul',
  flatten_contiguous_range: 'flatten',
  reshape2: 'reshape',
  feed: 'data',
});

/** Positional input slots of the PIR ops PP-LCNet uses (PIR lists inputs by position, ProgramDesc by slot). */
export const PIR_INPUT_SLOTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  conv2d: ['Input', 'Filter'],
  depthwise_conv2d: ['Input', 'Filter'],
  batch_norm: ['X', 'Mean', 'Variance', 'Scale', 'Bias'],
  add: ['X', 'Y'],
  multiply: ['X', 'Y'],
  matmul: ['X', 'Y'],
  pool2d: ['X', 'KernelSize'],
  reshape: ['X', 'Shape'],
  dropout: ['X', 'SeedTensor', 'P'],
  scale: ['X', 'Scale'],
  fetch: ['X'],
});

/** Ops that carry no computation of the network (inputs, outputs, constants). */
export const SKIPPED_OPS: ReadonlySet<string> = new Set(['data', 'fetch', 'full_int_array', 'full', 'assign_value', 'shape', 'feed']);

/** Activation ops → the builder's activation names. */
export const ACTIVATION_OPS: Readonly<Record<string, Activation>> = Object.freeze({ hardswish: 'hardswish', relu: 'relu', relu6: 'relu6' });

/** The parameters a ConvBN layer reads: role → the op and input slot it comes from. */
export const CONV_BN_INPUTS = Object.freeze({
  filter: { op: 'conv', slot: 'Filter' },
  scale: { op: 'bn', slot: 'Scale' },
  bias: { op: 'bn', slot: 'Bias' },
  mean: { op: 'bn', slot: 'Mean' },
  variance: { op: 'bn', slot: 'Variance' },
} as const);
export type ConvBNRole = keyof typeof CONV_BN_INPUTS;

/** PaddleClas key suffix of a ConvBN layer (under `conv1`, `blocksN.i.dw_conv`, …) → parameter role. */
export const CONV_BN_KEYS: Readonly<Record<string, ConvBNRole>> = Object.freeze({
  'conv.weight': 'filter',
  'bn.weight': 'scale',
  'bn.bias': 'bias',
  'bn._mean': 'mean',
  'bn._variance': 'variance',
});

export type SERole = 'conv1Weight' | 'conv1Bias' | 'conv2Weight' | 'conv2Bias';
/** PaddleClas key suffix of an SE module (under `blocksN.i.se`) → parameter role. */
export const SE_KEYS: Readonly<Record<string, SERole>> = Object.freeze({
  'conv1.weight': 'conv1Weight',
  'conv1.bias': 'conv1Bias',
  'conv2.weight': 'conv2Weight',
  'conv2.bias': 'conv2Bias',
});

export type HeadRole = 'lastConv' | 'fcWeight' | 'fcBias';
/** PaddleClas keys of the head → parameter role. */
export const HEAD_KEYS: Readonly<Record<string, HeadRole>> = Object.freeze({
  'last_conv.weight': 'lastConv',
  'fc.weight': 'fcWeight',
  'fc.bias': 'fcBias',
});

/** Values the architecture needs that a program without SE modules does not state (no op reads them then). */
export const ATTR_DEFAULTS = Object.freeze({
  /** PP-LCNet's own HardSigmoid slope, used when no block has an SE module. */
  seSlope: 0.1666667,
  seOffset: 0.5,
});

/** Block indices (0-based, of 13) that start blocks3..blocks6: their strides are stride_list[1..4]. */
export const FIRST_BLOCK_OF_STAGE = Object.freeze([1, 3, 5, 11]);
export const BLOCK_COUNT = 13;
