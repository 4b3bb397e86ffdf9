/**
 * The serve page draws a thumbnail (which the browser decodes) only for an image whose header declares at most
 * 100 megapixels: the header reader it embeds parses as page script and reads the sizes the library's does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { imageHeaderSize } from '../../../src/image/header.js';
import { servePageHtml } from '../../../src/serve/page.js';
import { seededBytes } from '../../helpers.js';

test('the serve page embeds a working header reader and checks a thumbnail against it', async () => {
  for (const options of [{}, { ort: { module: 'ort/ort.mjs', mjs: 'ort/x.mjs', wasm: 'ort/x.wasm' } }]) {
    const html = servePageHtml(options);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    assert.doesNotThrow(() => new Function(script), 'the page script parses');
    assert.ok(!html.includes('__HEADER_SIZE__'));
    assert.match(script, /async function thumbnail\(img, file\) \{[\s\S]*?head\.width \* head\.height <= 100e6\) img\.src = URL\.createObjectURL\(file\)/);
    assert.match(script, /void thumbnail\(img, file\);/);
    assert.ok(!/img\.src = URL\.createObjectURL\(file\);\s*const body/.test(script), 'no thumbnail before the check');
    const start = script.indexOf('const imageHeaderSize = ');
    const embedded = new Function(`${script.slice(start, script.indexOf('async function thumbnail', start))}; return imageHeaderSize;`)() as typeof imageHeaderSize;
    const huge = new Uint8Array(33);
    huge.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(huge.buffer).setUint32(16, 20000);
    new DataView(huge.buffer).setUint32(20, 20000);
    assert.deepEqual(embedded(huge), { format: 'PNG', width: 20000, height: 20000 });
    const jpeg = await sharp(seededBytes(40 * 30 * 3, 3), { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toBuffer();
    assert.deepEqual(embedded(new Uint8Array(jpeg), true), imageHeaderSize(new Uint8Array(jpeg), true));
    assert.deepEqual(embedded(new Uint8Array(jpeg), true), { format: 'JPEG', width: 40, height: 30, components: 3 });
  }
});
