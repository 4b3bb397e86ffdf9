// Copy the gRPC service definitions next to the compiled code (tsc copies only TypeScript), so
// dist/src/serve/grpc/*.proto ships in the package and loads at run time.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const from = 'src/serve/grpc';
const to = join('dist', from);
mkdirSync(to, { recursive: true });
for (const f of readdirSync(from)) if (f.endsWith('.proto')) copyFileSync(join(from, f), join(to, f));
