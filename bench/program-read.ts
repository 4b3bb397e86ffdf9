/**
 * Reading a legacy ProgramDesc (`inference.pdmodel`): the project's field-by-field decoder against
 * protobufjs decoding the same fields from a JSON schema, alternating in one process; then what each
 * makes of attributes written with the wrong wire type (the decoder must refuse them, not guess).
 *
 *   node dist/bench/program-read.js [--runs 50] [--file test/fixtures/legacy/PPLCNet_x0_75.pdmodel]
 *
 * protobufjs is loaded from onnx-proto's dependency (the project does not depend on it directly).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { readProgramDesc } from '../src/convert/pdmodel.js';
import { percentile } from '../src/runtime/bench.js';

/** framework.proto, only the fields the reader uses. */
const SCHEMA = {
  nested: {
    ProgramDesc: { fields: { blocks: { rule: 'repeated', type: 'BlockDesc', id: 1 }, version: { type: 'Version', id: 4 } } },
    Version: { fields: { version: { type: 'int64', id: 1 } } },
    BlockDesc: { fields: { idx: { type: 'int32', id: 1 }, vars: { rule: 'repeated', type: 'VarDesc', id: 3 }, ops: { rule: 'repeated', type: 'OpDesc', id: 4 } } },
    VarDesc: { fields: { name: { type: 'string', id: 1 }, type: { type: 'VarType', id: 2 }, persistable: { type: 'bool', id: 3 } } },
    VarType: { fields: { type: { type: 'int32', id: 1 }, lodTensor: { type: 'LoDTensorDesc', id: 3 } } },
    LoDTensorDesc: { fields: { tensor: { type: 'TensorDesc', id: 1 } } },
    TensorDesc: { fields: { dataType: { type: 'int32', id: 1 }, dims: { rule: 'repeated', type: 'int64', id: 2 } } },
    OpVar: { fields: { parameter: { type: 'string', id: 1 }, arguments: { rule: 'repeated', type: 'string', id: 2 } } },
    OpDesc: {
      fields: {
        inputs: { rule: 'repeated', type: 'OpVar', id: 1 },
        outputs: { rule: 'repeated', type: 'OpVar', id: 2 },
        type: { type: 'string', id: 3 },
        attrs: { rule: 'repeated', type: 'Attr', id: 4 },
      },
    },
    Attr: {
      fields: {
        name: { type: 'string', id: 1 },
        type: { type: 'int32', id: 2 },
        i: { type: 'int32', id: 3 },
        f: { type: 'float', id: 4 },
        s: { type: 'string', id: 5 },
        ints: { rule: 'repeated', type: 'int32', id: 6 },
        floats: { rule: 'repeated', type: 'float', id: 7 },
        strings: { rule: 'repeated', type: 'string', id: 8 },
        b: { type: 'bool', id: 10 },
        bools: { rule: 'repeated', type: 'bool', id: 11 },
        l: { type: 'int64', id: 13 },
        longs: { rule: 'repeated', type: 'int64', id: 15 },
        float64: { type: 'double', id: 19 },
      },
    },
  },
};

/** A ProgramDesc with one op holding one attribute message. */
function programWithAttr(attr: number[]): Uint8Array {
  const msg = (no: number, body: number[]): number[] => [(no << 3) | 2, body.length, ...body];
  const op = [...msg(3, [...Buffer.from('batch_norm')]), ...msg(4, attr)];
  return Uint8Array.from(msg(1, [0x08, 0x00, ...msg(4, op)]));
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' }, file: { type: 'string', default: 'test/fixtures/legacy/PPLCNet_x0_75.pdmodel' } } });
  const require = createRequire(createRequire(import.meta.url).resolve('onnx-proto'));
  const protobuf = require('protobufjs') as { Root: { fromJSON(j: object): { lookupType(n: string): { decode(b: Uint8Array): unknown } } } };
  const ProgramDesc = protobuf.Root.fromJSON(SCHEMA).lookupType('ProgramDesc');
  const buf = new Uint8Array(readFileSync(values.file));
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    let t = performance.now();
    readProgramDesc(buf, values.file);
    ours.push(performance.now() - t);
    t = performance.now();
    ProgramDesc.decode(buf);
    theirs.push(performance.now() - t);
  }
  const p50 = (xs: number[]): string => percentile([...xs].sort((a, b) => a - b), 50).toFixed(2);
  console.log(`${values.file} (${buf.length} bytes), ${values.runs} runs each, alternating`);
  console.log(`field-by-field reader (+ attribute checks): p50 ${p50(ours)} ms`);
  console.log(`protobufjs decode (fields only, no checks): p50 ${p50(theirs)} ms`);
  const name = [0x0a, 7, ...Buffer.from('epsilon')];
  for (const [what, attr] of [
    ['FLOAT written as a varint', [...name, 0x10, 0x01, 0x20, 0x05]],
    ['FLOAT with a 3-byte payload', [...name, 0x10, 0x01, 0x22, 0x03, 0x00, 0x00, 0x80]],
  ] as const) {
    const b = programWithAttr([...attr]);
    let mine: string;
    try {
      mine = `read ${JSON.stringify(readProgramDesc(b, 'probe').ops[0]?.attrs.epsilon)}`;
    } catch (err) {
      mine = `refused: ${(err as Error).message}`;
    }
    let pb: string;
    try {
      const d = ProgramDesc.decode(b) as { blocks: { ops: { attrs: { f?: number }[] }[] }[] };
      pb = `read f = ${String(d.blocks[0]?.ops[0]?.attrs[0]?.f)}`;
    } catch (err) {
      pb = `threw ${(err as Error).message}`;
    }
    console.log(`${what}: ours ${mine} | protobufjs ${pb}`);
  }
}

main();
