/**
 * RNNs over any sequence length (src/trace/roll_loops.ts, roll_traces.ts): a JavaScript loop
 * over the time steps (tfjs-layers SimpleRNN / GRU / LSTM; a hand-written loop over
 * tf.unstack(x, 1)) compiled with a symbolic 'time' dim traces once, holds one scan instead of a
 * chain of steps, and gives eager's numbers at time 3, 17 and 50 and batch 1 and 4, on cpu and
 * wasm. Loops that are not one repeated step keep the trace error, which now says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import type { Graph } from '../../ir/graph.js';
import { walkNodes } from '../../ir/regions.js';
import { GcError } from '../../ir/errors.js';
import { rollLoops } from '../../src/trace/roll_loops.js';

await tf.setBackend('cpu');

const LENGTHS = [3, 17, 50];
const BATCHES = [1, 4];

/** max over elements of |y − e| − tol·|e|: ≤ tol means every element is within tol + tol·|e|. */
function excess(y: tf.Tensor, e: tf.Tensor, tol: number): number {
  return tf.tidy(() => tf.max(tf.sub(tf.abs(tf.sub(y, e)), tf.mul(tf.abs(e), tol))).dataSync()[0]!);
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);
const count = (g: Graph, op: string) => [...walkNodes(g)].filter((w) => w.depth === 0 && w.node.op === op).length;

/** Weights drawn from a seed (not the layers' own initializers, which tfjs-layers draws unseeded). */
function randomize(m: tfl.LayersModel, seed: number): void {
  const ws = m.weights.map((w, i) => tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', seed + i));
  m.setWeights(ws);
  tf.dispose(ws);
}

interface Case {
  label: string;
  fn: (x: tf.Tensor) => tf.Tensor;
  /** Result shape at batch b, time t. */
  shape: (b: number, t: number) => number[];
}

const layerCases: Case[] = [];
for (const [kind, make] of [['SimpleRNN', tfl.layers.simpleRNN], ['GRU', tfl.layers.gru], ['LSTM', tfl.layers.lstm]] as const) {
  for (const returnSequences of [false, true]) {
    for (const goBackwards of kind === 'SimpleRNN' || kind === 'GRU' ? [false, true] : [false]) {
      const m = tfl.sequential({ layers: [make({ units: 5, returnSequences, goBackwards, inputShape: [null, 8] })] });
      randomize(m, 100 * layerCases.length);
      layerCases.push({
        label: `${kind}${returnSequences ? ' return_sequences' : ''}${goBackwards ? ' goBackwards' : ''}`,
        fn: (x) => m.predict(x) as tf.Tensor,
        shape: (b, t) => (returnSequences ? [b, t, 5] : [b, 5]),
      });
    }
  }
}
{
  // Two stacked layers: two loops, each rolled.
  const m = tfl.sequential({ layers: [tfl.layers.lstm({ units: 6, returnSequences: true, inputShape: [null, 8] }), tfl.layers.gru({ units: 3 })] });
  randomize(m, 7000);
  layerCases.push({ label: 'LSTM(return_sequences) → GRU', fn: (x) => m.predict(x) as tf.Tensor, shape: (b) => [b, 3] });
}

const W = tf.variable(tf.randomNormal([8, 6], 0, 0.4, 'float32', 1), true, 'rnnroll_W');
const U = tf.variable(tf.randomNormal([6, 6], 0, 0.4, 'float32', 2), true, 'rnnroll_U');
const B = tf.variable(tf.randomNormal([6], 0, 0.4, 'float32', 3), true, 'rnnroll_B');
const zeros = (x: tf.Tensor) => tf.zeros([x.shape[0]!, 6]);

const handCases: Case[] = [
  {
    label: 'hand-written: x·W first, last carry',
    fn: (x) => {
      let h = zeros(x);
      for (const xt of tf.unstack(x, 1)) h = tf.tanh(tf.add(tf.add(tf.matMul(xt, W), tf.matMul(h, U)), B));
      return h;
    },
    shape: (b) => [b, 6],
  },
  {
    // The step starts before the node that reads its slice (h·U, then x·W): the phase search.
    label: 'hand-written: h·U first, tf.stack of every h',
    fn: (x) => {
      let h = zeros(x);
      const hs: tf.Tensor[] = [];
      for (const xt of tf.unstack(x, 1)) { h = tf.tanh(tf.add(tf.matMul(h, U), tf.matMul(xt, W))); hs.push(h); }
      return tf.stack(hs, 1);
    },
    shape: (b, t) => [b, t, 6],
  },
  {
    label: 'hand-written: concat of expandDims, two carries, a map after the loop and addN',
    fn: (x) => {
      let h = zeros(x), c = zeros(x);
      const hs: tf.Tensor[] = [], cs: tf.Tensor[] = [];
      for (const xt of tf.unstack(x, 1)) {
        c = tf.add(tf.mul(c, 0.5), tf.matMul(xt, W));
        h = tf.sigmoid(tf.add(tf.matMul(h, U), c));
        hs.push(tf.expandDims(h, 1));
        cs.push(c);
      }
      const squares = cs.map((v) => tf.square(v));
      return tf.add(tf.sum(tf.concat(hs, 1), 2), tf.sum(tf.addN(squares), 1, true));
    },
    shape: (b, t) => [b, t],
  },
];

handCases.push({
  label: 'hand-written: tf.slice one step wide in a for loop over x.shape[1]',
  fn: (x) => {
    let h = zeros(x);
    for (let t = 0; t < x.shape[1]!; t++) {
      const xt = tf.reshape(tf.slice(x, [0, t, 0], [-1, 1, -1]), [x.shape[0]!, 8]);
      h = tf.tanh(tf.add(tf.matMul(h, U), tf.matMul(xt, W)));
    }
    return h;
  },
  shape: (b) => [b, 6],
});

// Plain tensors, not variables: the trace makes each a constant where a step first reads it (in step 0).
const Wc = tf.randomNormal([8, 6], 0, 0.4, 'float32', 4), Uc = tf.randomNormal([6, 6], 0, 0.4, 'float32', 5);
handCases.push({
  label: 'hand-written: plain tensors as weights (constants first made inside step 0), a last value that is not carried',
  fn: (x) => {
    let h = zeros(x), y = h;
    for (const xt of tf.unstack(x, 1)) { h = tf.tanh(tf.add(tf.matMul(xt, Wc), tf.matMul(h, Uc))); y = tf.sigmoid(tf.mul(h, 2)); }
    return y;
  },
  shape: (b) => [b, 6],
});

describe.each(['cpu', 'wasm'] as const)('a loop over a symbolic time dim compiles once into a scan (%s)', (backend) => {
  beforeAll(async () => { await tf.setBackend('cpu'); });
  afterAll(async () => { await tf.setBackend('cpu'); });

  it.each([...layerCases, ...handCases])('$label', async (c) => {
    const f = gc.compile(c.fn, { inputs: [gc.spec(['batch', 'time', 8])], backend });
    for (const t of LENGTHS) {
      for (const b of BATCHES) {
        const x = tf.randomNormal([b, t, 8], 0, 1, 'float32', 31 * t + b);
        const y = (await f(x)) as tf.Tensor;
        const e = c.fn(x);
        expect(y.shape).toEqual(c.shape(b, t));
        expect(excess(y, e, 1e-5), `time ${t}, batch ${b}`).toBeLessThanOrEqual(1e-5);
        tf.dispose([x, y, e]);
      }
    }
    expect(f.traceCount).toBe(1);
    // One graph for every length: scans, no unpack into a traced number of slices.
    expect(count(f.graph, 'scan')).toBeGreaterThanOrEqual(1);
    expect(ops(f.graph)).not.toContain('unpack');
    expect(f.graph.inputs[0]!.type.shape).toEqual(['batch', 'time', 8].map((d) => (typeof d === 'string' ? { sym: d, k: 1, c: 0 } : d)));
  });
});

describe('a masked LSTM (tfjs-layers Masking: the last step lacks its dead masked state)', () => {
  it.each(['cpu', 'wasm'] as const)('%s', async (backend) => {
    const m = tfl.sequential({ layers: [tfl.layers.masking({ maskValue: 0, inputShape: [null, 8] }), tfl.layers.lstm({ units: 5, returnSequences: true })] });
    randomize(m, 9000);
    const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
    const f = gc.compile(fn, { inputs: [gc.spec(['batch', 'time', 8])], backend });
    for (const t of LENGTHS) {
      for (const b of BATCHES) {
        // Whole time steps zeroed (masked) at random.
        const x = tf.tidy(() => tf.mul(tf.randomNormal([b, t, 8], 0, 1, 'float32', t + b), tf.cast(tf.greater(tf.randomUniform([b, t, 1], 0, 1, 'float32', t * b), 0.3), 'float32')));
        const y = (await f(x)) as tf.Tensor;
        expect(excess(y, fn(x), 1e-5), `time ${t}, batch ${b}`).toBeLessThanOrEqual(1e-5);
      }
    }
    expect(f.traceCount).toBe(1);
    expect(count(f.graph, 'scan')).toBe(1);
  });
});

describe('the initial state as an input, time-major', () => {
  it('h0 fed, x of shape [time, batch, 8] unstacked along axis 0', async () => {
    const fn = (x: tf.Tensor, h0: tf.Tensor) => {
      let h = h0;
      for (const xt of tf.unstack(x)) h = tf.tanh(tf.add(tf.matMul(xt, Wc), tf.matMul(h, Uc)));
      return h;
    };
    const f = gc.compile(fn, { inputs: [gc.spec(['time', 'batch', 8]), gc.spec(['batch', 6])], backend: 'cpu' });
    for (const t of LENGTHS) {
      const x = tf.randomNormal([t, 3, 8], 0, 1, 'float32', t), h0 = tf.randomNormal([3, 6], 0, 1, 'float32', t + 1);
      const y = (await f(x, h0)) as tf.Tensor;
      expect(excess(y, fn(x, h0), 1e-5)).toBeLessThanOrEqual(1e-5);
    }
    expect(f.traceCount).toBe(1);
    expect(count(f.graph, 'scan')).toBe(1);
  });
});

describe('the raw trace holds one scan per loop', () => {
  it('tfjs-layers LSTM: the unified graph has one scan whose xs are [time, batch, 8]', () => {
    const c = layerCases.find((k) => k.label === 'LSTM return_sequences')!;
    const g = gc.trace(c.fn, [gc.spec(['batch', 'time', 8])]);
    expect(count(g, 'scan')).toBe(1);
    const scan = g.nodes.find((n) => n.op === 'scan')!;
    expect(scan.attrs).toMatchObject({ num_carries: 2, num_xs: 1, reverse: false });
    expect(g.toString()).toMatch(/f32\[time,batch,8\] = transpose %/);
    // h and c carried; the body is one LSTM step (35 ops in tfjs-layers 4.22), not T of them.
    expect(scan.regions[0]!.nodes.length).toBeLessThan(40);
    expect(g.nodes.length).toBeLessThan(15);
  });

  it('stacked layers: two scans', () => {
    const c = layerCases.find((k) => k.label.startsWith('LSTM(return_sequences)'))!;
    expect(count(gc.trace(c.fn, [gc.spec(['batch', 'time', 8])]), 'scan')).toBe(2);
  });

  it('a static length: rollLoops makes the same number of nodes at every length, and the same numbers as the chain', async () => {
    const c = layerCases.find((k) => k.label === 'GRU return_sequences')!;
    const sizes: number[] = [];
    for (const t of [4, 9]) {
      const chain = gc.trace(c.fn, [gc.spec([2, t, 8])], { loops: 'unroll' });
      const r = rollLoops(chain);
      expect(r.rolled).toBe(1);
      expect(r.failures).toEqual([]);
      sizes.push([...walkNodes(r.graph)].length);
      const x = tf.randomNormal([2, t, 8], 0, 1, 'float32', t);
      const s1 = await gc.Session.create(chain, { backend: 'cpu' }), s2 = await gc.Session.create(r.graph, { backend: 'cpu' });
      const [a, b] = [await s1.run('output_0', { x }), await s2.run('output_0', { x })] as tf.Tensor[];
      expect(excess(b!, a!, 1e-6)).toBeLessThanOrEqual(1e-6);
      s1.dispose(); s2.dispose();
    }
    expect(sizes[0]).toBe(sizes[1]);
  });
});

describe('a loop that is not one repeated step keeps the trace error, with the reason', () => {
  const fails = (fn: (x: tf.Tensor) => tf.Tensor, reason: RegExp) => {
    let err: unknown;
    try { gc.trace(fn, [gc.spec(['batch', 'time', 8])]); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GcError);
    const e = err as GcError;
    expect(e.info.code).toBe('GC0103');
    expect(e.info.message).toMatch(/(could not|cannot) roll (it )?into a scan/);
    expect(e.info.message).toMatch(reason);
    expect(e.info.help).toMatch(/fixed size in gc\.spec/);
  };

  it('a step that reads two steps back', () => fails((x) => {
    let h = zeros(x), prev = zeros(x);
    for (const xt of tf.unstack(x, 1)) { const next = tf.tanh(tf.add(tf.add(tf.matMul(xt, W), tf.matMul(h, U)), prev)); prev = h; h = next; }
    return h;
  }, /reads a value of step \d+ \(only the previous step's values can be carried\)/));

  it('steps that differ (a branch on the step number)', () => fails((x) => {
    let h = zeros(x);
    tf.unstack(x, 1).forEach((xt, t) => { const a = tf.add(tf.matMul(xt, W), tf.matMul(h, U)); h = t % 2 === 0 ? tf.tanh(a) : tf.relu(a); });
    return h;
  }, /step \d+ differs from step 1 at its op #\d+: (tanh vs relu|relu vs tanh)/));

  it('a result read from one step in the middle', () => fails((x) => {
    let h = zeros(x);
    const hs: tf.Tensor[] = [];
    for (const xt of tf.unstack(x, 1)) { h = tf.tanh(tf.add(tf.matMul(xt, W), tf.matMul(h, U))); hs.push(h); }
    return tf.add(hs[1]!, h);
  }, /reads a value of step 1 of \d+/));

  it('a loop over the size without tf.unstack or tf.slice (tf.gather of step t)', () => fails((x) => {
    let h = zeros(x);
    for (let t = 0; t < x.shape[1]!; t++) h = tf.tanh(tf.add(h, tf.matMul(tf.squeeze(tf.gather(x, [t], 1), [1]), W)));
    return h;
  }, /branch on that size or a loop over it that graphc cannot roll into a scan — no tf\.unstack into \d+ slices, nor \d+ tf\.slice's/));

  it('a gradient through the loop (training a SimpleRNN): the backward pass reads every step\'s values', () => {
    const m = tfl.sequential({ layers: [tfl.layers.simpleRNN({ units: 4, inputShape: [null, 8] })] });
    const opt = tf.train.sgd(0.1);
    fails((x) => opt.minimize(() => tf.mean(tf.square(m.predict(x) as tf.Tensor)), true)!, /after the loop reads a value of step \d+ of \d+/);
  });

  it('a branch on the size (no loop at all)', () => {
    let base: number | undefined; // the first traced size: the others take the other branch
    fails((x) => { base ??= x.shape[1]!; return x.shape[1] === base ? tf.tanh(tf.matMul(tf.sum(x, 1), W)) : tf.matMul(tf.sum(x, 1), W); },
      /its number of ops follows 'time', from a JavaScript branch on that size/);
  });
});

describe('an optimizer step after a rolled loop', () => {
  // The loop shifts every node after it: the optimizer's hyperparameter constants (found by
  // node index in the unrolled trace) must be found in the rolled graph, not at their old index.
  it('learning-rate changes between calls take effect, as eagerly (sgd, adam)', async () => {
    for (const make of [() => tf.train.sgd(0.1), () => tf.train.adam(0.05)]) {
      const wc = tf.variable(tf.randomNormal([8, 3], 0, 0.5, 'float32', 11)), we = tf.variable(wc.clone());
      const oc = make(), oe = make();
      const step = (w: tf.Variable, opt: tf.Optimizer) => (x: tf.Tensor) => {
        let h = tf.zeros([x.shape[0]!, 8]);
        for (const xt of tf.unstack(x, 1)) h = tf.tanh(tf.add(tf.mul(h, 0.5), xt));
        return opt.minimize(() => tf.mean(tf.square(tf.matMul(h, w))), true, [w])!;
      };
      const f = gc.compile(step(wc, oc), { inputs: [gc.spec(['batch', 'time', 8])], backend: 'cpu' });
      const eager = step(we, oe);
      for (const [i, t] of [5, 17, 3, 9].entries()) {
        if (i === 2) { (oc as unknown as { learningRate: number }).learningRate = 0.01; (oe as unknown as { learningRate: number }).learningRate = 0.01; }
        const x = tf.randomNormal([2, t, 8], 0, 1, 'float32', 100 + i);
        const lc = (await f(x)) as tf.Tensor, le = eager(x);
        expect(excess(lc, le, 1e-5), `call ${i}`).toBeLessThanOrEqual(1e-5);
        expect(excess(wc, we, 1e-5), `call ${i}`).toBeLessThanOrEqual(1e-5);
      }
      expect(f.traceCount).toBe(1);
      expect(count(f.graph, 'scan')).toBe(1);
    }
  });
});

describe("compile's loops option", () => {
  const c = () => layerCases.find((k) => k.label === 'LSTM return_sequences')!;

  it("'roll' keeps a loop at a fixed length: the graph's size does not follow the length, numbers as eager (cpu, wasm)", async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const sizes: number[] = [];
      for (const t of [4, 13]) {
        const f = gc.compile(c().fn, { inputs: [gc.spec(['batch', t, 8])], backend, loops: 'roll' });
        const x = tf.randomNormal([3, t, 8], 0, 1, 'float32', t);
        const y = (await f(x)) as tf.Tensor, e = c().fn(x);
        expect(excess(y, e, 1e-5)).toBeLessThanOrEqual(1e-5);
        expect(count(f.graph, 'scan')).toBe(1);
        sizes.push([...walkNodes(f.graph)].length);
      }
      expect(sizes[0]).toBe(sizes[1]);
    }
  });

  it("'auto' (default) keeps a loop for a fixed length too (as 'roll'); 'unroll' keeps the chain, as traced", () => {
    const g = gc.trace(c().fn, [gc.spec(['batch', 4, 8])]);
    expect(count(g, 'scan')).toBe(1);
    expect(count(g, 'unpack')).toBe(0);
    expect(count(gc.trace(c().fn, [gc.spec(['batch', 4, 8])], { loops: 'roll' }), 'scan')).toBe(1);
    const chain = gc.trace(c().fn, [gc.spec(['batch', 4, 8])], { loops: 'unroll' });
    expect(count(chain, 'scan')).toBe(0);
    expect(count(chain, 'unpack')).toBe(1);
  });

  it("'unroll' rolls nothing: a loop over a symbolic dim is the trace error of before", () => {
    expect(() => gc.trace(c().fn, [gc.spec(['batch', 'time', 8])], { loops: 'unroll' })).toThrow(/traces have different numbers of ops/);
  });
});
