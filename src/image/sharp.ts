/**
 * sharp, loaded through `require`. Its ES module build (what `import 'sharp'` resolves to) costs a fresh
 * process about 75 ms more than its CommonJS build: 154 against 80 ms over Node's own start (2-core EPYC, 11
 * alternating runs). Every `predict` pays that, and so does every worker thread that decodes. Both builds
 * wrap the same native module; the types are the package's own.
 */
import { createRequire } from 'node:module';
import type Sharp from 'sharp';

const sharp: typeof Sharp = createRequire(import.meta.url)('sharp');
export default sharp;
