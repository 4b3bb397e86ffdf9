/**
 * A value's distribution per channel, as a BatchNorm records it, in a module of its own: the public
 * declarations that name it (weight storage's options) then reach no ONNX protobuf types.
 */

/** A value's distribution per channel, as a BatchNorm records it: N(mean, std²). */
export interface ChannelDistribution {
  readonly mean: Float32Array;
  readonly std: Float32Array;
}
