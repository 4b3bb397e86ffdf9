/**
 * The one-way rule of the source tree (docs/architecture.md): adapters (cli, serve, queue, web) →
 * index (the public API; core, its part free of Node built-ins, for the browser) → classifier/compare/bench/
 * inspect → models → zoo → convert → builder, with runtime and image beside them and
 * errors/version/metadata/labels/util/onnx underneath. The adapters serve, queue and web are package entry
 * points of their own (`pplcnet/serve`, …): each imports only its door into the library and its own folder,
 * and others reach an adapter only through its `index.ts`. Checked on the TypeScript sources: every relative
 * `import … from`, `export … from`, side-effect `import '…'` and `import('…')`.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers.js';

/** The modules underneath everything: formats, errors and helpers. */
const BASE = ['errors', 'version', 'metadata', 'labels', 'output', 'util', 'onnx'];
/** Everything the public API is made of. */
const LIBRARY = ['classifier', 'output-row', 'train', 'compare', 'bench', 'report', 'inspect', 'web-export', 'models', 'zoo', 'convert', 'runtime', 'image', 'builder', ...BASE];

/** The adapters that are package entry points (`pplcnet/<name>`), and their one door into the library. */
const ADAPTERS: Readonly<Record<string, string>> = { serve: 'index', queue: 'index', web: 'core' };

/**
 * Which areas each area may import besides itself. An area is a folder under src/ (`cli`, `zoo`, …) or a
 * top-level module (`index`, `classifier`, …). A new folder gets a line here.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // adapters: the CLI uses the public API, and the serve and queue adapters through their entry points;
  // serve and queue use the public API; the browser build its Node-free part
  cli: ['index', 'essentials', 'classify', 'serve', 'queue'],
  serve: ['index'],
  queue: ['index'],
  web: ['core'],
  // the public API; it does not export the adapters
  index: LIBRARY,
  // the part of the public API the CLI's shared files and predict use (a one-image run loads only it)
  essentials: LIBRARY,
  // createClassifier alone, imported by predict when it needs it (the import loads sharp and onnxruntime)
  classify: ['classifier'],
  // the public API's part free of Node built-ins (which of its imports are is web-imports.test.ts's business)
  core: ['classifier', 'output-row', 'image', ...BASE],
  // what index gathers: the classifier (classifier.ts assembles the parts in classifier/, one area) and the
  // tools built on it
  classifier: ['models', 'zoo', 'convert', 'runtime', 'image', 'builder', ...BASE],
  'output-row': ['classifier', ...BASE], // the predict --json row, shared by predict, serve and the queue
  compare: ['classifier', 'models', 'zoo', 'convert', 'runtime', 'image', 'builder', ...BASE],
  bench: ['classifier', 'models', 'zoo', 'convert', 'runtime', 'builder', ...BASE], // the folder run goes through the classifier's stream
  report: ['bench', 'compare', 'train', 'output-row', 'runtime', ...BASE], // result → HTML page (types of bench, compare and eval; the runtime's version)
  // datasets, splits, cached features, the trainer and eval: features and eval run through the classifier
  train: ['classifier', 'output-row', 'models', 'zoo', 'runtime', 'image', 'builder', ...BASE],
  inspect: ['models', 'zoo', 'convert', 'runtime', 'builder', ...BASE],
  // export-web: resolves the model and writes the static site around the browser bundle
  'web-export': ['models', 'zoo', ...BASE],
  // the layers
  models: ['zoo', 'convert', 'builder', ...BASE], // what the user gave (name, path, bytes) → ONNX: pulls through zoo, converts through convert
  zoo: ['convert', 'builder', ...BASE], // pulls and caches; a download is checked by parsing it (convert's readers)
  convert: ['builder', ...BASE],
  runtime: ['builder', ...BASE], // the matmul-peak model is built with the graph builder
  image: BASE,
  // metadata: buildPPLCNet still writes the default preprocessing when a caller gives none
  builder: ['errors', 'version', 'util', 'onnx', 'metadata'],
  // underneath
  errors: [],
  version: [],
  metadata: ['errors'],
  output: [], // top-k and softmax, shared with the browser build
  labels: ['util', 'errors'],
  util: ['errors'],
  onnx: ['util', 'errors', 'metadata'], // weight storage records itself in the metadata
};

interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Relative import specifiers of a TypeScript source (comments removed first). */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*'(\.{1,2}\/[^']+)'/g,
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*"(\.{1,2}\/[^"]+)"/g,
    /\bimport\s*'(\.{1,2}\/[^']+)'/g,
    /\bimport\s*"(\.{1,2}\/[^"]+)"/g,
    /\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The area of a path under src/ (`cli/commands/predict.ts` → `cli`, `index.ts` → `index`). */
function areaOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
}

/** Import edges between files (paths relative to src/, `.ts`), once each; unresolvable imports are reported. */
function importGraph(files: ReadonlyMap<string, string>): { edges: Edge[]; unresolved: string[] } {
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const [from, source] of files) {
    const seen = new Set<string>();
    for (const spec of importSpecifiers(source)) {
      const to = posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts');
      if (!files.has(to)) unresolved.push(`${from}: '${spec}' is not a source file under src/`);
      else if (!seen.has(to)) {
        seen.add(to);
        edges.push({ from, to });
      }
    }
  }
  return { edges, unresolved };
}

/**
 * Every edge the rule table does not allow, areas it has no line for, and
 * imports of an adapter other than its entry point.
 */
function ruleViolations(edges: readonly Edge[], allowed: Readonly<Record<string, readonly string[]>> = ALLOWED): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const a = areaOf(from);
    const b = areaOf(to);
    if (a === b) continue;
    if (ADAPTERS[b] !== undefined && to !== `${b}/index.ts`) out.push(`${from} imports ${to}: an adapter is reached only through its entry point ${b}/index.ts`);
    const rule = allowed[a];
    if (!rule) out.push(`${from}: src/${a} has no line in the rule table`);
    else if (!rule.includes(b)) out.push(`${from} imports ${to}: ${a} may import only ${rule.length ? rule.join(', ') : 'nothing outside itself'}`);
  }
  return [...new Set(out)];
}

/** Import cycles between files, each as the path around it. */
function importCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of next.get(f) ?? []) {
      if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t]);
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...next.keys()].sort()) if (!state.has(f)) visit(f);
  return cycles;
}

function readSources(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.set(relative(dir, p).split(sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

describe('architecture: the one-way rule over src/', () => {
  const files = readSources(join(ROOT, 'src'));
  const { edges, unresolved } = importGraph(files);

  test('the sources are found and every relative import resolves to one', () => {
    assert.ok(files.has('index.ts') && files.has('cli/main.ts') && files.has('builder/pplcnet.ts'), `read ${files.size} files from ${join(ROOT, 'src')}`);
    assert.ok(edges.length > 100, `only ${edges.length} import edges found`);
    assert.deepEqual(unresolved, []);
  });

  test('files in src/cli import only src/index.ts (or its parts src/essentials.ts and src/classify.ts), the serve and queue entry points and src/cli/**', () => {
    const bad = edges.filter((e) => e.from.startsWith('cli/') && !(['index.ts', 'essentials.ts', 'classify.ts', 'serve/index.ts', 'queue/index.ts'].includes(e.to) || e.to.startsWith('cli/')));
    assert.deepEqual(bad, []);
    assert.ok(edges.some((e) => e.from.startsWith('cli/commands/') && e.to === 'index.ts'), 'the commands reach the library through index.ts');
  });

  test('src/builder imports none of convert, zoo, runtime, cli, image, classifier', () => {
    const bad = edges.filter((e) => e.from.startsWith('builder/') && /^(convert|zoo|runtime|cli|image)\/|^classifier\.ts$/.test(e.to));
    assert.deepEqual(bad, []);
  });

  test('nothing outside src/cli imports src/cli', () => {
    assert.deepEqual(edges.filter((e) => !e.from.startsWith('cli/') && e.to.startsWith('cli/')), []);
  });

  test('every import follows the rule table, and every area has a line in it', () => {
    assert.deepEqual(ruleViolations(edges), []);
  });

  test('no import cycles', () => {
    assert.deepEqual(importCycles(edges).map((c) => c.join(' → ')), []);
  });

  test('every adapter is a package entry point with its index.ts, and the library does not export it', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    for (const adapter of Object.keys(ADAPTERS)) {
      assert.ok(files.has(`${adapter}/index.ts`), `src/${adapter}/index.ts`);
      assert.deepEqual(pkg.exports[`./${adapter}`], { types: `./dist/src/${adapter}/index.d.ts`, default: `./dist/src/${adapter}/index.js` });
    }
    assert.deepEqual(edges.filter((e) => e.from === 'index.ts' && ADAPTERS[areaOf(e.to)] !== undefined), []);
  });
});

describe('architecture: the checker itself', () => {
  const sources = new Map([
    ['index.ts', "export * from './builder/a.js';\nexport { c } from './cli/c.js';"],
    ['builder/a.ts', "import { z } from '../zoo/z.js';\n// import { nothing } from '../cli/c.js';\nexport const a = 1;"],
    ['zoo/z.ts', "import type {\n  A,\n} from '../builder/a.js';\nexport const z = async () => import('../builder/a.js');\nconst url = 'https://example.com/x';"],
    ['cli/c.ts', "import '../zoo/z.js';\nimport { a } from \"../index.js\";\nimport { gone } from './gone.js';"],
    ['newfolder/n.ts', "import { a } from '../index.js';"],
  ]);
  const { edges, unresolved } = importGraph(sources);

  test('finds static, type-only, multi-line, side-effect, re-export and dynamic imports; skips comments', () => {
    const pairs = edges.map((e) => `${e.from}>${e.to}`).sort();
    assert.deepEqual(pairs, [
      'builder/a.ts>zoo/z.ts',
      'cli/c.ts>index.ts',
      'cli/c.ts>zoo/z.ts',
      'index.ts>builder/a.ts',
      'index.ts>cli/c.ts',
      'newfolder/n.ts>index.ts',
      'zoo/z.ts>builder/a.ts',
    ]);
    assert.deepEqual(unresolved, ["cli/c.ts: './gone.js' is not a source file under src/"]);
  });

  test('each adapter rule can fail: a forbidden import in serve, queue and web, an adapter reached past its entry point, index exporting an adapter', () => {
    const adapters = new Map([
      ['index.ts', "export { a } from './builder/a.js';\nexport { q } from './queue/index.js';"],
      ['builder/a.ts', 'export const a = 1;'],
      ['convert/pickle.ts', 'export const p = 1;'],
      ['classifier.ts', 'export const c = 1;'],
      ['core.ts', 'export const k = 1;'],
      ['serve/index.ts', "import { a } from '../index.js';\nimport { k } from '../classifier.js';\nimport { p } from '../convert/pickle.js';"],
      ['queue/index.ts', "import { a } from '../index.js';\nimport { c } from '../classifier.js';\nexport const q = 1;"],
      ['web/index.ts', "import { k } from '../core.js';\nimport { a } from '../index.js';"],
      ['cli/c.ts', "import { a } from '../index.js';\nimport { q } from '../queue/index.js';\nimport { s } from '../serve/app.js';"],
      ['serve/app.ts', 'export const s = 1;'],
    ]);
    const v = ruleViolations(importGraph(adapters).edges, ALLOWED);
    assert.deepEqual(v.sort(), [
      'cli/c.ts imports serve/app.ts: an adapter is reached only through its entry point serve/index.ts',
      'index.ts imports queue/index.ts: index may import only ' + LIBRARY.join(', '),
      'queue/index.ts imports classifier.ts: queue may import only index',
      'serve/index.ts imports classifier.ts: serve may import only index',
      'serve/index.ts imports convert/pickle.ts: serve may import only index',
      'web/index.ts imports index.ts: web may import only core',
    ]);
  });

  test('reports edges against the table, areas without a line, and cycles', () => {
    const v = ruleViolations(edges);
    assert.ok(v.some((m) => m.startsWith('builder/a.ts imports zoo/z.ts: builder may import only')), v.join('\n'));
    assert.ok(v.some((m) => m.startsWith('cli/c.ts imports zoo/z.ts: cli may import only index')), v.join('\n'));
    assert.ok(v.some((m) => m.startsWith('index.ts imports cli/c.ts')), v.join('\n'));
    assert.ok(v.includes('newfolder/n.ts: src/newfolder has no line in the rule table'), v.join('\n'));
    assert.equal(v.length, 4, v.join('\n'));
    assert.deepEqual(importCycles(edges).map((c) => c.join(' → ')), ['builder/a.ts → zoo/z.ts → builder/a.ts', 'cli/c.ts → index.ts → cli/c.ts']);
  });
});
