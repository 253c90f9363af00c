/**
 * gc.cond / gc.whileLoop / gc.scan: compiled ≡ eager (eager is plain JavaScript control flow) for
 * a branch taken both ways, Newton's iteration to convergence, running sums, a cond nested in a
 * loop and gradients through cond and scan, at two batch sizes on cpu, wasm and auto; errors
 * that name the user's line; eager memory; variables and random draws inside regions; AutoGraph.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { installRuntime } from '../../src/autograph/enable.js';
import { transformSource } from '../../src/autograph/transform.js';

const BACKENDS = ['cpu', 'wasm', 'auto'] as const;
const BATCHES = [1, 5];

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toEqual(b.dtype);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(tf.cast(a, 'float32'), tf.cast(b, 'float32')))).dataSync()[0]!);
}

function expectClose(got: unknown, want: unknown, tol = 1e-5): void {
  const g = got instanceof tf.Tensor ? [got] : (got as tf.Tensor[]);
  const w = want instanceof tf.Tensor ? [want] : (want as tf.Tensor[]);
  expect(g.length).toBe(w.length);
  g.forEach((t, i) => expect(maxDiff(t, w[i]!)).toBeLessThanOrEqual(tol));
}

/** Inputs of `batch` rows from a seed, with a sign so that a branch on their sum goes either way. */
function rows(batch: number, cols: number, seed: number, sign: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.abs(tf.randomNormal([batch, cols], 0, 1, 'float32', seed)), sign));
}

async function useBackend(b: (typeof BACKENDS)[number]): Promise<void> {
  const real = b === 'auto' ? 'cpu' : b;
  await gc.ensureBackend(real);
  await tf.setBackend(real);
}

// ---- the programs -----------------------------------------------------------------------------

const branch = (x: tf.Tensor) => gc.cond(tf.greater(tf.sum(x), 0),
  () => tf.add(tf.mul(x, 2), 1),
  () => tf.neg(tf.square(x)));

/** Newton's iteration for √a, each row until it converged: a trip count that depends on the data. */
const newton = (a: tf.Tensor) => gc.whileLoop(
  (y, i) => tf.logicalAnd(tf.greater(tf.max(tf.abs(tf.sub(tf.square(y), a))), 1e-4), tf.less(i, 100)),
  (y, i) => [tf.mul(0.5, tf.add(y, tf.div(a, y))), tf.add(i, 1)],
  [a, tf.scalar(0)]);

/** Running sums over the columns of x (x: [batch, 6], scanned along the 6): tf.scan style. */
const runningSum = (x: tf.Tensor) => gc.scan((c, xt) => tf.add(c as tf.Tensor, xt as tf.Tensor), tf.zeros([x.shape[0]!]), tf.transpose(x)) as tf.Tensor;

/** jax style: [final carry, ys]. */
const runningPair = (x: tf.Tensor) => gc.scan((c, xt) => {
  const n = tf.add(c as tf.Tensor, xt as tf.Tensor);
  return [n, tf.mul(n, xt as tf.Tensor)];
}, tf.zeros([x.shape[0]!]), tf.transpose(x)) as [tf.Tensor, tf.Tensor];

/** A cond inside a loop: the branch each step takes depends on the value carried. */
const nested = (x: tf.Tensor) => gc.whileLoop(
  (s, i) => tf.less(i, tf.add(tf.cast(tf.greater(tf.sum(x), 0), 'float32'), 4)),
  (s, i) => [gc.cond(tf.greater(tf.sum(s), 3), () => tf.sub(s, 3), () => tf.add(tf.mul(s, 2), 1)), tf.add(i, 1)],
  [x, tf.scalar(0)]);

/** A loss with a branch; its gradient in x. */
const branchLoss = (x: tf.Tensor, w: tf.Tensor) => tf.sum(gc.cond(tf.greater(tf.sum(x), 0),
  () => tf.tanh(tf.mul(x, w)),
  () => tf.square(tf.sub(x, w))));

/** A loss over a scan (an RNN-like recurrence); its gradients in x and w. */
const scanLoss = (x: tf.Tensor, w: tf.Tensor) => {
  const [last, ys] = gc.scan((c, xt) => {
    const h = tf.tanh(tf.add(tf.mul(c as tf.Tensor, w), xt as tf.Tensor));
    return [h, tf.square(h)];
  }, tf.zeros([x.shape[0]!]), tf.transpose(x)) as [tf.Tensor, tf.Tensor];
  return tf.add(tf.sum(last), tf.mul(tf.sum(ys), 0.5));
};

describe('gc.cond / gc.whileLoop / gc.scan: compiled ≡ eager', () => {
  for (const backend of BACKENDS) {
    it(`a branch taken both ways, on ${backend}`, async () => {
      await useBackend(backend);
      const f = gc.compile(branch, { inputs: [gc.spec(['batch', 3])], backend });
      expect(f.graph.nodes.some((n) => n.op === 'cond')).toBe(true);
      for (const b of BATCHES) {
        for (const sign of [1, -1]) {
          const x = rows(b, 3, 10 + b, sign);
          const want = branch(x);
          expectClose(await f(x), want);
          // The two ways differ: a cond that always took one branch would fail one of them.
          expect(maxDiff(want, sign > 0 ? tf.add(tf.mul(x, 2), 1) : tf.neg(tf.square(x)))).toBe(0);
        }
      }
      expect(f.traceCount).toBe(1);
    });

    it(`Newton's iteration until convergence, on ${backend}`, async () => {
      await useBackend(backend);
      const f = gc.compile(newton, { inputs: [gc.spec(['batch'])], backend });
      expect(f.graph.nodes.some((n) => n.op === 'while_loop')).toBe(true);
      for (const b of BATCHES) {
        const a = tf.add(tf.mul(tf.abs(tf.randomNormal([b], 0, 1, 'float32', b)), 50), 0.5);
        const want = newton(a);
        const got = (await f(a)) as unknown as tf.Tensor[];
        expectClose(got, want, 1e-4);
        expect(maxDiff(got[0]!, tf.sqrt(a))).toBeLessThan(1e-3);
        // The trip count follows the data (a large root takes more steps than a small one).
        expect(got[1]!.dataSync()[0]).toBe(want[1]!.dataSync()[0]);
        expect(got[1]!.dataSync()[0]).toBeGreaterThan(3);
      }
      const small = (await f(tf.tensor1d([1.21]))) as unknown as tf.Tensor[];
      const large = (await f(tf.tensor1d([9000]))) as unknown as tf.Tensor[];
      expect(small[1]!.dataSync()[0]).toBeLessThan(large[1]!.dataSync()[0]!);
    });

    it(`running sums, scan in both styles, on ${backend}`, async () => {
      await useBackend(backend);
      const f = gc.compile(runningSum, { inputs: [gc.spec(['batch', 6])], backend });
      const p = gc.compile(runningPair, { inputs: [gc.spec(['batch', 6])], backend });
      expect(f.graph.nodes.some((n) => n.op === 'scan')).toBe(true);
      for (const b of BATCHES) {
        const x = tf.randomNormal([b, 6], 0, 1, 'float32', 3 + b);
        const want = runningSum(x);
        expectClose(await f(x), want);
        // Against tfjs's own cumulative sum.
        expect(maxDiff(want, tf.transpose(tf.cumsum(x, 1)))).toBeLessThan(1e-5);
        expectClose(await p(x), runningPair(x));
      }
    });

    it(`a cond nested in a loop, on ${backend}`, async () => {
      await useBackend(backend);
      const f = gc.compile(nested, { inputs: [gc.spec(['batch', 2])], backend });
      for (const b of BATCHES) {
        for (const sign of [1, -1]) {
          const x = rows(b, 2, 20 + b, sign);
          const want = nested(x);
          expectClose(await f(x), want);
          // 5 steps for a positive sum, 4 otherwise.
          expect(want[1]!.dataSync()[0]).toBe(sign > 0 ? 5 : 4);
        }
      }
    });

    it(`gradients through cond and scan (tf.grads inside the compiled function), on ${backend}`, async () => {
      await useBackend(backend);
      const gb = gc.compile((x: tf.Tensor, w: tf.Tensor) => tf.grads(branchLoss)([x, w]), { inputs: [gc.spec(['batch', 3]), gc.spec([3])], backend });
      const gs = gc.compile((x: tf.Tensor, w: tf.Tensor) => tf.grads(scanLoss)([x, w]), { inputs: [gc.spec(['batch', 4]), gc.spec([])], backend });
      for (const b of BATCHES) {
        const w = tf.tensor1d([0.5, -1, 2]);
        for (const sign of [1, -1]) {
          const x = rows(b, 3, 30 + b, sign);
          const want = tf.grads(branchLoss)([x, w]);
          expectClose(await gb(x, w), want, 1e-5);
          expect(tf.max(tf.abs(want[0]!)).dataSync()[0]).toBeGreaterThan(0);
        }
        const x = tf.randomNormal([b, 4], 0, 1, 'float32', 40 + b);
        const ws = tf.scalar(0.7);
        const want = tf.grads(scanLoss)([x, ws]);
        expectClose(await gs(x, ws), want, 1e-5);
        expect(Math.abs(want[1]!.dataSync()[0]!)).toBeGreaterThan(0);
      }
    });
  }

  it('tf.grad over a compiled loss with a branch or a scan equals tf.grad over the eager loss (cpu)', async () => {
    await useBackend('cpu');
    const w = tf.tensor1d([0.5, -1, 2]), u = tf.scalar(0.8);
    const loss = gc.compile((x: tf.Tensor) => branchLoss(x, w), { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    const sloss = gc.compile((x: tf.Tensor) => scanLoss(x, u), { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    for (const sign of [1, -1]) {
      const x = rows(3, 3, 50, sign);
      const compiled = tf.grad((t: tf.Tensor) => loss(t) as unknown as tf.Tensor)(x);
      expectClose(compiled, tf.grad((t: tf.Tensor) => branchLoss(t, w))(x));
      expectClose(tf.grad((t: tf.Tensor) => sloss(t) as unknown as tf.Tensor)(x), tf.grad((t: tf.Tensor) => scanLoss(t, u))(x));
    }
  });

  it('maximumIterations stops a loop that would run on, eagerly and compiled (cpu, wasm)', async () => {
    const count = (x: tf.Tensor) => gc.whileLoop((v) => tf.greater(tf.sum(v), 0), (v) => [tf.add(v, 1)], [x], { maximumIterations: 7 });
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const f = gc.compile(count, { inputs: [gc.spec(['batch'])], backend });
      expect(f.graph.nodes.find((n) => n.op === 'while_loop')?.attrs.maximum_iterations).toBe(7);
      for (const x of [tf.tensor1d([1, 2]), tf.tensor1d([-5, 1, 1])]) {
        expectClose(await f(x), count(x));
        expect(Array.from(count(x)[0]!.dataSync())).toEqual(Array.from(x.dataSync()).map((v) => v + (tf.sum(x).dataSync()[0]! > 0 ? 7 : 0)));
      }
    }
  });

  it('an optimizer step whose loss has a branch and a scan: the weights follow eager (cpu)', async () => {
    await useBackend('cpu');
    const mk = (p: string) => ({ w: tf.variable(tf.tensor1d([0.3, -0.2, 0.1]), true, `${p}_w`), u: tf.variable(tf.scalar(0.4), true, `${p}_u`) });
    const eagerP = mk('cf_eager'), compP = mk('cf_comp');
    const lossOf = (p: ReturnType<typeof mk>, x: tf.Tensor) => tf.add(branchLoss(x, p.w), scanLoss(x, p.u));
    const eo = tf.train.sgd(0.05), co = tf.train.sgd(0.05);
    const step = gc.compile((x: tf.Tensor) => co.minimize(() => lossOf(compP, x) as tf.Scalar, true)!, { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    for (let i = 0; i < 6; i++) {
      const x = rows(4, 3, 60 + i, i % 2 === 0 ? 1 : -1);
      const le = eo.minimize(() => lossOf(eagerP, x) as tf.Scalar, true)!;
      expectClose(await step(x), le, 1e-5);
    }
    expectClose([compP.w, compP.u], [eagerP.w, eagerP.u], 1e-5);
    expect(maxDiff(compP.w, tf.tensor1d([0.3, -0.2, 0.1]))).toBeGreaterThan(1e-3);
  });
});

describe('gc.cond / gc.whileLoop / gc.scan: errors, memory, variables, random', () => {
  afterEach(() => tf.setBackend('cpu'));

  const lineOf = (marker: string): number => {
    const text = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    return text.findIndex((l) => l.includes(marker)) + 1;
  };

  function expectGcError(fn: () => unknown, code: string, message: RegExp, marker: string): void {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(gc.GcError);
    const e = err as gc.GcError;
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.info.loc?.file).toMatch(/control_flow_api\.test\.ts$/);
    expect(e.info.loc?.line).toBe(lineOf(marker));
  }

  it('branches of different dtypes or counts, a non-scalar predicate: GcError at the user\'s line', async () => {
    await useBackend('cpu');
    const spec = { inputs: [gc.spec(['batch', 3])], backend: 'cpu' as const };
    expectGcError(() => gc.compile((x: tf.Tensor) => gc.cond(tf.greater(tf.sum(x), 0), () => x, () => tf.cast(x, 'int32')), spec), gc.Codes.dtype, /result 0 is float32 in the then branch and int32/, 'MARK_DTYPE'); // MARK_DTYPE
    expectGcError(() => gc.compile((x: tf.Tensor) => gc.cond(tf.greater(tf.sum(x), 0), () => [x, x], () => [x]), spec), gc.Codes.traceUnsupported, /different structures \(then: an array of 2 tensors, else: an array of 1 tensors\)/, 'MARK_COUNT'); // MARK_COUNT
    expectGcError(() => gc.compile((x: tf.Tensor) => gc.cond(tf.greater(x, 0), () => x, () => x), spec), gc.Codes.shape, /predicate must have one element, got bool\[batch,3\]/, 'MARK_PRED'); // MARK_PRED
    expectGcError(() => gc.compile((x: tf.Tensor) => gc.whileLoop((v) => tf.less(tf.sum(v), 9), (v) => [tf.concat([v, v], 1)], [x]), spec), gc.Codes.shape, /loop variable 0 is float32\[batch,3\] but the body returns float32\[batch,6\]/, 'MARK_GROW'); // MARK_GROW
    // Eagerly, the same non-scalar predicate is the same error.
    expectGcError(() => gc.cond(tf.ones([2]), () => 1, () => 2), gc.Codes.shape, /predicate must have one element/, 'MARK_EAGER'); // MARK_EAGER
  });

  it('eager runs leave no tensor behind', async () => {
    await useBackend('cpu');
    const x = rows(3, 6, 70, 1), a = tf.tensor1d([2, 30, 700]), p = tf.scalar(true, 'bool'), zero = tf.scalar(0), xt = tf.transpose(x), init = tf.zeros([3]);
    const before = tf.memory().numTensors;
    // Only the results stay: the branch's, every step's and every slice's intermediates are freed.
    const outs = [
      gc.cond(p, () => tf.add(tf.mul(x, 2), 1), () => tf.neg(x)),
      ...gc.whileLoop((y, i) => tf.greater(tf.max(tf.abs(tf.sub(tf.square(y), a))), 1e-4), (y, i) => [tf.mul(0.5, tf.add(y, tf.div(a, y))), tf.add(i, 1)], [a, zero]),
      gc.scan((c, t) => tf.add(tf.mul(c as tf.Tensor, 0.5), t as tf.Tensor), init, xt) as tf.Tensor,
      ...(gc.scan((c, t) => { const n = tf.add(c as tf.Tensor, t as tf.Tensor); return [n, tf.square(n)]; }, init, xt) as tf.Tensor[]),
    ];
    expect(tf.memory().numTensors - before).toBe(outs.length);
    tf.dispose(outs);
    expect(tf.memory().numTensors).toBe(before);
    // Zero trips: the loop variables come back as new tensors (the caller may dispose both).
    const z = gc.whileLoop(() => tf.scalar(false, 'bool'), (v) => [v], [a]);
    expect(z[0]).not.toBe(a);
    expect(maxDiff(z[0]!, a)).toBe(0);
    // Eagerly a loop variable may grow (plain JavaScript); compiled, that is the GcError above.
    const grown = gc.whileLoop((v) => tf.less(tf.scalar(v.shape[0]!), 8), (v) => [tf.concat([v, v])], [tf.ones([1])]);
    expect(grown[0]!.shape).toEqual([8]);
  });

  it('variables: read inside a branch, assigned in a branch (one more cond result, assigned after it)', async () => {
    await useBackend('cpu');
    const v = tf.variable(tf.tensor1d([1, 2]), true, 'cf_var_cond');
    const ve = tf.variable(tf.tensor1d([1, 2]), true, 'cf_var_cond_eager');
    const prog = (vv: tf.Variable) => (x: tf.Tensor) => gc.cond(tf.greater(tf.sum(x), 0), () => {
      vv.assign(tf.add(vv, x));
      return tf.mul(vv, 2);
    }, () => tf.sub(vv, x));
    const f = gc.compile(prog(v), { inputs: [gc.spec([2])], backend: 'cpu' });
    expect(f.graph.nodes.filter((n) => n.op === 'assign').map((n) => n.attrs.var)).toEqual(['cf_var_cond']);
    for (const x of [tf.tensor1d([1, 1]), tf.tensor1d([-3, 1]), tf.tensor1d([2, 0.5])]) {
      expectClose(await f(x), prog(ve)(x));
      expectClose(v, ve);
    }
    expect(Array.from(v.dataSync())).toEqual([4, 3.5]);
  });

  it('variables assigned in a loop body or a scan body: carried as loop values, assigned after the loop', async () => {
    await useBackend('cpu');
    const mk = (p: string) => ({ acc: tf.variable(tf.zeros([2]), true, `${p}_acc`), n: tf.variable(tf.scalar(0), true, `${p}_n`) });
    const comp = mk('cf_loopvar'), eager = mk('cf_loopvar_eager');
    // The loop reads the variable it assigns: each step sees the previous step's value.
    const prog = (p: ReturnType<typeof mk>) => (x: tf.Tensor) => {
      const [i] = gc.whileLoop((j) => tf.less(j, tf.sum(tf.abs(x))), (j) => {
        p.acc.assign(tf.add(tf.mul(p.acc, 0.5), x));
        return [tf.add(j, 1)];
      }, [tf.scalar(0)]);
      const ys = gc.scan((c, xt) => { p.n.assign(tf.add(p.n, tf.sum(xt as tf.Tensor))); return tf.add(c as tf.Tensor, p.n); }, tf.zeros([]), x) as tf.Tensor;
      return [i!, ys];
    };
    const f = gc.compile(prog(comp), { inputs: [gc.spec([2])], backend: 'cpu' });
    expect(f.graph.nodes.filter((n) => n.op === 'assign').map((n) => n.attrs.var).sort()).toEqual(['cf_loopvar_acc', 'cf_loopvar_n']);
    for (const x of [tf.tensor1d([1, 2]), tf.tensor1d([-0.5, 4]), tf.tensor1d([0.2, 0.1])]) {
      expectClose(await f(x), prog(eager)(x));
      expectClose([comp.acc, comp.n], [eager.acc, eager.n]);
    }
    expect(comp.n.dataSync()[0]).toBeCloseTo(1 + 2 - 0.5 + 4 + 0.2 + 0.1, 5);
  });

  it('a random op in a scan body draws anew each step', async () => {
    await useBackend('cpu');
    const f = gc.compile((x: tf.Tensor) => gc.scan((c) => tf.add(c as tf.Tensor, tf.randomUniform([4])), tf.zeros([4]), x), { inputs: [gc.spec([5, 4])], backend: 'cpu' });
    const r = (await f(tf.zeros([5, 4]))) as tf.Tensor;
    const steps = tf.sub(r, tf.concat([tf.zeros([1, 4]), tf.slice(r, [0, 0], [4, 4])])).arraySync() as number[][];
    const distinct = new Set(steps.map((s) => s.join(',')));
    expect(distinct.size).toBe(5);
    for (const s of steps) for (const u of s) { expect(u).toBeGreaterThanOrEqual(0); expect(u).toBeLessThan(1); }
  });

  it('AutoGraph: `if (x.dataSync()[0] > 0)` in a transformed module compiles to a cond and runs both ways', async () => {
    await useBackend('cpu');
    installRuntime();
    const text = `function main(x) {
  let y = tf.mul(x, 2);
  if (tf.sum(x).dataSync()[0] > 0) {
    y = tf.add(y, 1);
  } else {
    y = tf.neg(y);
  }
  let n = tf.scalar(0);
  while (tf.sum(y).dataSync()[0] < 20) { y = tf.add(y, 3); n = tf.add(n, 1); }
  return [y, n];
}`;
    const r = transformSource(text);
    expect(r.refused).toEqual([]);
    const load = (code: string) => new Function('tf', 'gc', `${code}\nreturn main;`)(tf, gc) as (x: tf.Tensor) => tf.Tensor[];
    const plain = load(text), graph = load(r.code);
    const f = gc.compile(graph, { inputs: [gc.spec([3])], backend: 'cpu' });
    expect(f.graph.nodes.map((n) => n.op)).toEqual(expect.arrayContaining(['cond', 'while_loop']));
    for (const x of [tf.tensor1d([1, 2, 3]), tf.tensor1d([-1, -2, 0.5])]) expectClose(await f(x), plain(x));
  });
});
