/**
 * Run in a child process by trace_state.test.ts: generated traced functions that leave
 * asynchronous work behind (async bodies with awaits at several points, compiled functions
 * called inside them, helpers and data() reads nobody awaits). Prints one JSON line: what each
 * call answered and every unhandled rejection or uncaught exception the process saw.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import * as gc from '../../src/index.js';

const unhandled: string[] = [];
process.on('unhandledRejection', (e) => { unhandled.push(String(e).split('\n')[0]!); });
process.on('uncaughtException', (e) => { unhandled.push(`uncaught: ${String(e).split('\n')[0]}`); });

type Step = 'op' | 'await' | 'sleep' | 'inner' | 'innerSync' | 'dropInner' | 'dropHelper' | 'dropData' | 'awaitData';
type Mode = 'async' | 'returnsPromise' | 'dropsPromise';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await tf.setBackend('cpu');
const g = gc.compile((x: tf.Tensor) => tf.exp(x), { backend: 'cpu' });
await g.ready();
await g(tf.zeros([2]));

async function body(x: tf.Tensor, steps: readonly Step[]): Promise<tf.Tensor> {
  for (const s of steps) {
    switch (s) {
      case 'op': x = tf.add(x, 1); break;
      case 'await': await null; break;
      case 'sleep': await sleep(1); break;
      case 'inner': x = await g(x); break;
      case 'innerSync': x = g.sync(x); break;
      case 'dropInner': void g(x); break;
      case 'dropHelper': void (async (y: tf.Tensor) => { await null; return tf.exp(y); })(x); break;
      case 'dropData': void x.data(); break;
      case 'awaitData': await x.data(); break;
    }
  }
  return x;
}

const outcomes: Record<string, number> = {};
const problems: string[] = [];
const note = (k: string) => { outcomes[k] = (outcomes[k] ?? 0) + 1; };
const step = fc.constantFrom<Step>('op', 'await', 'sleep', 'inner', 'innerSync', 'dropInner', 'dropHelper', 'dropData', 'awaitData');

await fc.assert(fc.asyncProperty(fc.constantFrom<Mode>('async', 'returnsPromise', 'dropsPromise'), fc.array(step, { minLength: 1, maxLength: 6 }), async (mode, steps) => {
  const before = tf.memory().numTensors;
  const x = tf.tensor1d([0.5, -1]);
  let answer: string;
  try {
    const fn = mode === 'async' ? async (t: tf.Tensor) => body(t, steps)
      : mode === 'returnsPromise' ? (t: tf.Tensor) => body(t, steps) as unknown as tf.Tensor
        : (t: tf.Tensor) => { void body(t, steps); return tf.neg(t); };
    const f = gc.compile(fn as (t: tf.Tensor) => tf.Tensor, { backend: 'cpu' });
    const y = (await f(x)) as tf.Tensor;
    const got = Array.from(y.dataSync());
    if (mode !== 'dropsPromise' || got[0] !== -0.5 || got[1] !== 1) problems.push(`${mode} ${steps.join(',')}: resolved to ${got}`);
    y.dispose();
    answer = 'ok';
  } catch (e) {
    answer = e instanceof gc.GcError ? e.code : `not a GcError: ${String(e).split('\n')[0]}`;
  }
  note(`${mode}:${answer}`);
  // Let the work the function left behind run out.
  await sleep(5);
  x.dispose();
  if (tf.memory().numTensors !== before) problems.push(`${mode} ${steps.join(',')}: ${tf.memory().numTensors - before} tensors left`);
  if (tf.getBackend() !== 'cpu') problems.push(`${mode} ${steps.join(',')}: backend ${tf.getBackend()}`);
}), { seed: Number(process.argv[2] ?? 1), numRuns: Number(process.argv[3] ?? 60) });

await sleep(50);
// The process lives, and compiled functions still work.
const h = gc.compile((x: tf.Tensor) => tf.mul(x, 2), { backend: 'cpu' });
const last = Array.from(((await h(tf.tensor1d([1, 2]))) as tf.Tensor).dataSync());
console.log(JSON.stringify({ outcomes, problems, unhandled, last }));
