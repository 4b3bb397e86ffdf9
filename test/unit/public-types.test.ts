/**
 * The declarations of the package's main entry stand alone: the `.d.ts` files `dist/src/index.d.ts` reaches
 * import no onnxruntime package, whose declarations need the DOM, and not onnx-proto, whose declarations
 * name protobufjs's global `Long` (a consumer's type check with `skipLibCheck: false` would fail inside
 * them). `.ci/consumer.sh` type-checks a consumer's script for real.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, reachableModules } from '../helpers.js';

test("the main entry's declarations reach no onnxruntime package and not onnx-proto", () => {
  const entry = 'dist/src/index.d.ts';
  assert.ok(existsSync(join(ROOT, entry)), `${entry} (npm run build writes it)`);
  const { modules, external } = reachableModules(entry, '.d.ts');
  const files = modules.length;
  const ort = [...external].filter(([spec]) => spec.startsWith('onnxruntime')).map(([spec, from]) => `${spec} (imported by ${from.join(', ')})`);
  assert.deepEqual(ort, []);
  const proto = [...external].filter(([spec]) => spec.startsWith('onnx-proto') || spec.startsWith('protobufjs')).map(([spec, from]) => `${spec} (imported by ${from.join(', ')})`);
  assert.deepEqual(proto, []);
  // the walk reads the real declarations: the classifier's, among many
  assert.ok(files > 30, `${files} declaration files`);
  assert.ok(existsSync(join(ROOT, 'dist/src/classifier/types.d.ts')));
  // the runtime module itself still names onnxruntime's types (the check above would catch a re-export)
  assert.match(readFileSync(join(ROOT, 'dist/src/runtime/session.d.ts'), 'utf8'), /from 'onnxruntime-node'/);
});
