/**
 * The README's "Using it" snippet runs as written (through tsx, as a user's module importing
 * the built package), and gives what it claims: a softmax per row (applied once: the model
 * ends in logits), a finite loss, and a learning-rate change that takes effect without a retrace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('README', () => {
  it('"Using it" runs as written and computes what it says', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const m = /## Using it\n\n```ts\n([\s\S]*?)```/.exec(readme);
    expect(m, 'the Using it block').not.toBeNull();
    const checks = `
const rows = (y as tf.Tensor).sum(1).dataSync();
const again = await step(images, labels);
// Softmax applied once: trained on one batch the loss goes far below what a softmax over
// probabilities allows (≥ −ln(e/(e+9)) ≈ 1.46).
opt['learningRate'] = 1e-2;
let last = 0;
for (let i = 0; i < 60; i++) last = ((await step(images, labels)) as tf.Tensor).dataSync()[0]!;
console.log('RESULT ' + JSON.stringify({ shape: (y as tf.Tensor).shape, rowMin: Math.min(...rows), rowMax: Math.max(...rows),
  loss: (loss as tf.Tensor).dataSync()[0], again: (again as tf.Tensor).dataSync()[0], traces: step.traceCount, last }));
`;
    const file = `${root}readme_snippet.tmp.mts`;
    writeFileSync(file, m![1]!.replace('console.log(predict.graph.toString());', '') + checks);
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBeDefined();
      const res = JSON.parse(line!.slice(7)) as { shape: number[]; rowMin: number; rowMax: number; loss: number; again: number; traces: number; last: number };
      expect(res.shape).toEqual([1000, 10]);
      expect(res.rowMin).toBeGreaterThan(0.9999);
      expect(res.rowMax).toBeLessThan(1.0001);
      expect(Number.isFinite(res.loss) && res.loss > 0).toBe(true);
      expect(Number.isFinite(res.again)).toBe(true);
      expect(res.traces).toBe(1);
      expect(res.last).toBeLessThan(1.0);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
