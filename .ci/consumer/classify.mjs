// A consumer's script: pplcnet installed from its tarball, the shipped model on the shipped examples.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { VERSION, createClassifier } from 'pplcnet';

const examples = fileURLToPath(new URL('./node_modules/pplcnet/models/examples/', import.meta.url));
const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', threads: 1 });
try {
  for (const [file, expected] of [['textline_upright.png', '0_degree'], ['textline_upside_down.png', '180_degree']]) {
    const { topk } = await clf.classify(`${examples}${file}`);
    assert.equal(topk[0].label, expected, `${file}: top-1 ${topk[0].label}, expected ${expected}`);
    console.log(`${file}: ${topk[0].label} ${topk[0].score.toFixed(4)}`);
  }
} finally {
  await clf.close();
}
console.log(`pplcnet ${VERSION} classifies from a consumer project`);
