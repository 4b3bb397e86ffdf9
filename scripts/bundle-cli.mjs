// The predict command in one file: dist/src/cli/predict-bundle.js, from the compiled dist/src/cli/predict-main.js
// and everything it imports (packages stay outside, loaded from node_modules as before). Node loads one file
// instead of about sixty modules. Code that finds files relative to its own module (worker threads, the
// shipped models, createRequire) keeps doing so: each `import.meta.url` becomes its module's own URL,
// computed from the bundle's.
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const entry = 'dist/src/cli/predict-main.js';
const outfile = 'dist/src/cli/predict-bundle.js';
const outDir = dirname(resolve(outfile));

/** `import.meta.url` of each bundled module → that module's URL, relative to the bundle's own. */
const moduleUrls = {
  name: 'module-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const rel = relative(outDir, args.path).split(sep).join('/');
      const own = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', own), loader: 'js' };
    });
  },
};

await build({ entryPoints: [entry], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', plugins: [moduleUrls], logLevel: 'warning' });
