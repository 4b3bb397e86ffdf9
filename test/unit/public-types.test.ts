/**
 * The declarations of the package's main entry stand alone: the `.d.ts` files `dist/src/index.d.ts` reaches
 * import no onnxruntime package, whose declarations need the DOM (a consumer's type check with
 * `skipLibCheck: false` would fail inside them). `.ci/consumer.sh` type-checks a consumer's script for real.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The bare specifiers the declarations reachable from `entry` import, each with its importers. */
function declarationImports(entry: string): { files: number; external: Map<string, string[]> } {
  const seen = new Set<string>();
  const external = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.d.ts')));
      else external.set(spec, [...(external.get(spec) ?? []), relative(ROOT, file)]);
    }
  };
  visit(join(ROOT, entry));
  return { files: seen.size, external };
}

test("the main entry's declarations reach no onnxruntime package", () => {
  const entry = 'dist/src/index.d.ts';
  assert.ok(existsSync(join(ROOT, entry)), `${entry} (npm run build writes it)`);
  const { files, external } = declarationImports(entry);
  const ort = [...external].filter(([spec]) => spec.startsWith('onnxruntime')).map(([spec, from]) => `${spec} (imported by ${from.join(', ')})`);
  assert.deepEqual(ort, []);
  // the walk reads the real declarations: the classifier's, among many
  assert.ok(files > 30, `${files} declaration files`);
  assert.ok(existsSync(join(ROOT, 'dist/src/classifier/types.d.ts')));
  // the runtime module itself still names onnxruntime's types (the check above would catch a re-export)
  assert.match(readFileSync(join(ROOT, 'dist/src/runtime/session.d.ts'), 'utf8'), /from 'onnxruntime-node'/);
});
