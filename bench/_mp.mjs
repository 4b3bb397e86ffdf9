import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
const [path, h, w, n] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 8)];
const mk = (o) => ort.InferenceSession.create(readFileSync(path), { intraOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } }, ...o });
const a = await mk({}); const b = await mk({ enableMemPattern: false });
const data = new Float32Array(n * 3 * h * w).fill(0.1);
const feeds = (s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', data, [n, 3, h, w]) });
const ta = [], tb = [];
for (let r = 0; r < 40; r++) for (const [s, t] of [[a, ta], [b, tb]]) { const c0 = process.cpuUsage(); await s.run(feeds(s)); const c = process.cpuUsage(c0); t.push((c.user + c.system) / 1000); }
const med = (t) => t.slice(5).sort((x, y) => x - y)[Math.floor((t.length - 5) / 2)].toFixed(2);
console.log('CPU ms p50 mempattern on', med(ta), 'off', med(tb));
