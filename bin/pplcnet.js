#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// A closed pipe (`pplcnet predict … | head`) ends the run quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
