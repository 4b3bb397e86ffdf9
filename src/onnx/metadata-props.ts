/** ONNX `metadata_props`, read without the protobuf runtime. */
import { ProtoReader, fields, utf8 } from '../util/protobuf.js';

/**
 * `metadata_props` of a model (ModelProto field 14), read without decoding the graph: a few microseconds
 * even for a large model.
 */
export function readMetadataProps(bytes: Uint8Array, where = 'model'): Record<string, string> {
  const r = new ProtoReader(bytes, where);
  const out: Record<string, string> = {};
  for (let f = r.next(); f; f = r.next()) {
    if (f.no !== 14 || f.wire !== 2) continue;
    let key = '';
    let value = '';
    for (const e of fields(f.bytes, where)) {
      if (e.no === 1) key = utf8(e.bytes);
      else if (e.no === 2) value = utf8(e.bytes);
    }
    out[key] = value;
  }
  return out;
}
