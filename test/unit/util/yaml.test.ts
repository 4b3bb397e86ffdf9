import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONFIG_LIMITS, parseConfigYaml, readInferenceConfig } from '../../../src/convert/inference-config.js';
import { PplcnetError } from '../../../src/errors.js';

const parseYaml = (text: string, file = 'yaml') => parseConfigYaml(text, file);

describe('inference configs (YAML through the yaml package, bounded)', () => {
  test('mappings, sequences, nested sequences, anchors, flow lists, quoting, comments', () => {
    const v = parseYaml(`# config
a: 1
b:
  - - 1
    - 3
  - &x [2, 'two', "th\\"ree"]
c: *x
d:
  e: null
  f: true
  g: 1.0/255.0
  h: -3.5e-1
`);
    assert.deepEqual(v, { a: 1, b: [[1, 3], [2, 'two', 'th"ree']], c: [2, 'two', 'th"ree'], d: { e: null, f: true, g: '1.0/255.0', h: -0.35 } });
    assert.throws(() => parseYaml('a: 1\n  b: 2\n', 'x.yml'), (e: unknown) => e instanceof PplcnetError && e.code === 'E_FORMAT' && /^x\.yml:1: not valid YAML: Nested mappings are not allowed/.test(e.message));
    assert.throws(() => parseYaml('a: *nope\n', 'x.yml'), /x\.yml: Unresolved alias \(the anchor must be set before the alias\): nope/);
  });

  test('bounded: an alias bomb and an oversized file are refused, fast', () => {
    // "billion laughs": 9 levels of 9 aliases each would expand to 9^9 items
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${new Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const started = Date.now();
    assert.throws(() => parseYaml(`${levels.join('\n')}\n`, 'bomb.yml'), (e: unknown) => e instanceof PplcnetError && /bomb\.yml: Excessive alias count/.test(e.message));
    assert.ok(Date.now() - started < 5000);
    assert.throws(() => parseYaml(`a: "${'x'.repeat(CONFIG_LIMITS.maxBytes)}"\n`, 'big.yml'), /big\.yml: \d+ characters, more than the 1048576/);
    // a few aliases, as configs use them, are fine
    assert.deepEqual(parseYaml('m: &m [0.5, 0.5, 0.5]\ns: *m\n'), { m: [0.5, 0.5, 0.5], s: [0.5, 0.5, 0.5] });
  });

  test('a PaddleClas inference_cls.yaml: resize_short 256, crop 224, string scale', () => {
    const d = readInferenceConfig(
      `PreProcess:
  transform_ops:
    - ResizeImage:
        resize_short: 256
    - CropImage:
        size: 224
    - NormalizeImage:
        scale: 1.0/255.0
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
        order: ''
    - ToCHWImage:
PostProcess:
  main_indicator: Topk
  Topk:
    topk: 5
    class_id_map_file: "../ppcls/utils/imagenet1k_label_list.txt"
`,
      'inference_cls.yaml',
    );
    assert.deepEqual(d.preprocess?.resize, { mode: 'short', size: 256 });
    assert.deepEqual(d.preprocess?.crop, { width: 224, height: 224 });
    assert.equal(d.preprocess?.scale, 1 / 255);
    assert.equal(d.preprocess?.normalization, undefined);
    assert.equal(d.topk, 5);
    assert.equal(d.labels, undefined);
  });

  test('unsupported preprocessing is refused, naming the file and the op', () => {
    assert.throws(() => readInferenceConfig('PreProcess:\n  transform_ops:\n    - RandCrop:\n        size: 3\n', 'c.yml'), /c\.yml: preprocessing op "RandCrop" is not supported/);
    assert.throws(() => readInferenceConfig('PreProcess:\n  transform_ops:\n    - ResizeImage:\n        resize_short: 256\n        backend: pil\n', 'c.yml'), /backend "pil" is not supported/);
  });
});
