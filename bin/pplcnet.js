#!/usr/bin/env node
// The installed CLI runs the compiled JavaScript in dist/ (no TypeScript loader).
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
let respawn;
try {
  respawn = await import('../dist/src/cli/respawn.js');
} catch {
  // dist/ is missing: said below
}
// a large folder runs in a child process with malloc settings that only a starting process can take
const code = respawn?.wantsTunedMalloc(argv) ? await respawn.runTuned(fileURLToPath(import.meta.url), argv) : undefined;
if (code !== undefined) process.exitCode = code;
else await run();

/** `predict` runs from its one-file build when there is one (dist/src/cli/predict-bundle.js); the rest from main.js. */
async function entry() {
  if (argv[0] === 'predict') {
    try {
      return (await import('../dist/src/cli/predict-bundle.js')).mainPredict;
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('predict-bundle.js')) throw err;
    }
  }
  return (await import('../dist/src/cli/main.js')).main;
}

async function run() {
  let main;
  try {
    main = await entry();
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/cli/main.js')) throw err;
    process.stderr.write('pplcnet: the compiled CLI (dist/) is missing. In a clone, run `npm run build` first.\n');
    process.exit(1);
  }
  // A closed pipe (`pplcnet predict … | head`) ends the run quietly.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(argv);
}
