/**
 * The browser build (`pplcnet/web` and the exported page) reaches no Node built-in, no sharp and no
 * onnxruntime-node, and shares the preprocessing and output modules with the Node classifier (not copies).
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { test } from 'node:test';
import { reachableModules } from '../helpers.js';

/** Every module reachable from `entry` (TypeScript sources), and the bare specifiers they import, by importer. */
const importGraph = (entry: string): ReturnType<typeof reachableModules> => reachableModules(entry, '.ts');

function nodeOnly(external: Map<string, string[]>): string[] {
  const builtins = new Set(builtinModules);
  return [...external]
    .filter(([spec]) => spec.startsWith('node:') || builtins.has(spec.split('/')[0]!) || spec === 'sharp' || spec.startsWith('onnxruntime-node'))
    .map(([spec, from]) => `${spec} (imported by ${from.join(', ')})`);
}

for (const entry of ['src/web/index.ts', 'src/web/page.ts']) {
  test(`${entry}: no module it reaches imports Node built-ins, sharp or onnxruntime-node`, () => {
    const { modules, external } = importGraph(entry);
    assert.deepEqual(nodeOnly(external), []);
    assert.deepEqual([...external.keys()], ['onnxruntime-web']);
    // the shared modules are the Node classifier's own, not copies
    for (const shared of ['src/image/pipeline.ts', 'src/image/resize.ts', 'src/metadata.ts', 'src/output.ts', 'src/onnx/metadata-props.ts', 'src/util/protobuf.ts']) {
      assert.ok(modules.includes(shared), `${shared} in ${modules.join(', ')}`);
    }
  });
}

test('the Node side imports the same modules: preprocess.ts uses pipeline.ts, classifier.ts uses output.ts', () => {
  const pre = importGraph('src/image/preprocess.ts');
  assert.ok(pre.modules.includes('src/image/pipeline.ts'));
  // the checker sees Node imports where they are: the Node preprocess reaches sharp and node:fs through decode.ts
  assert.ok(nodeOnly(pre.external).some((s) => s.startsWith('sharp')));
  assert.ok(nodeOnly(pre.external).some((s) => s.startsWith('node:fs')));
  assert.ok(importGraph('src/classifier.ts').modules.includes('src/output.ts'));
});
