/**
 * Control flow on the tfjs engines (runtime/control_flow.ts): graphs built from IR text run on
 * cpu and wasm at two batch sizes, against values computed by hand (float32 emulated in JS) or
 * by tfjs eagerly; regions free what they make (tf.memory().numTensors), loops stop at
 * maximum_iterations and fail past the session's loop budget.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import 'graphc';
import { parseGraph } from '../../ir/parser.js';
import { printGraph } from '../../ir/printer.js';
import { optimize } from '../../src/optimize.js';
import { Session } from '../../runtime/session.js';
import type { SessionOptions } from '../../runtime/session.js';
import { releaseBackend, SWIFTSHADER_ICD } from '../../runtime/backends/select.js';

const COND = `graph @branch(%p: f32[], %x: f32[batch,3], %w: f32[3]) {
  %0: f32[batch,3] = cond %p, %x, %w
    region then(%a: f32[batch,3], %b: f32[3]) {
      %0: f32[batch,3] = mul %a, %b
      %1: f32[] = const {value = dense<f32[]> [1]}
      %2: f32[batch,3] = add %0, %1
      return %2
    }
    region else(%a: f32[batch,3], %b: f32[3]) {
      %0: f32[batch,3] = neg %a
      return %0
    }
  return y = %0
}`;

const NEWTON = `graph @newton(%a: f32[batch]) {
  %n: i32[] = const {value = dense<i32[]> [0]}
  %0: f32[batch], %1: i32[] = while_loop %a, %n, %a {maximum_iterations = 100}
    region cond(%x: f32[batch], %i: i32[], %c: f32[batch]) {
      %0: f32[batch] = mul %x, %x
      %1: f32[batch] = sub %0, %c
      %2: f32[batch] = abs %1
      %3: f32[] = const {value = dense<f32[]> [0.0001]}
      %4: bool[batch] = greater %2, %3
      %5: bool[] = reduce_any %4 {axes = [0], keep_dims = false}
      return %5
    }
    region body(%x: f32[batch], %i: i32[], %c: f32[batch]) {
      %0: f32[batch] = div %c, %x
      %1: f32[batch] = add %x, %0
      %2: f32[] = const {value = dense<f32[]> [0.5]}
      %3: f32[batch] = mul %1, %2
      %4: i32[] = const {value = dense<i32[]> [1]}
      %5: i32[] = add %i, %4
      return %3, %5
    }
  return root = %0, steps = %1
}`;

const SCAN = (reverse: boolean) => `graph @cumsum(%xs: f32[time,batch]) {
  %z: f32[batch] = reduce_sum %xs {axes = [0], keep_dims = false}
  %zero: f32[batch] = zeros_like %z
  %0: f32[batch], %1: f32[time,batch] = scan %zero, %xs {num_carries = 1, num_xs = 1, reverse = ${reverse}}
    region body(%c: f32[batch], %x: f32[batch]) {
      %0: f32[batch] = add %c, %x
      return %0, %0
    }
  return last = %0, all = %1
}`;

const NESTED = `graph @nested(%x: f32[batch], %n: i32[]) {
  %0: f32[batch], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[batch], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[batch], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [2]}
      %z: i32[] = const {value = dense<i32[]> [0]}
      %1: i32[] = mod %k, %0
      %2: bool[] = equal %1, %z
      %3: f32[batch] = cond %2, %v
        region then(%a: f32[batch]) {
          %0: f32[batch] = neg %a
          return %0
        }
        region else(%a: f32[batch]) {
          %0: f32[] = const {value = dense<f32[]> [2]}
          %1: f32[batch] = mul %a, %0
          return %1
        }
      %4: i32[] = const {value = dense<i32[]> [1]}
      %5: i32[] = sub %k, %4
      return %3, %5
    }
  return y = %0
}`;

const FOREVER = `graph @forever(%x: f32[]) {
  %0: f32[] = while_loop %x
    region cond(%v: f32[]) {
      %0: bool[] = const {value = dense<bool[]> [true]}
      return %0
    }
    region body(%v: f32[]) {
      %0: f32[] = const {value = dense<f32[]> [1]}
      %1: f32[] = add %v, %0
      return %1
    }
  return y = %0
}`;

/** A loop whose body holds invariant code (hoisted by the control-flow pass) and a cond on a constant (inlined). */
const INVARIANT = `graph @inv(%x: f32[batch], %w: f32[batch], %n: i32[]) {
  %t: bool[] = const {value = dense<bool[]> [true]}
  %0: f32[batch], %1: i32[] = while_loop %x, %n, %w, %t
    region cond(%v: f32[batch], %k: i32[], %c: f32[batch], %q: bool[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[batch], %k: i32[], %c: f32[batch], %q: bool[]) {
      %0: f32[] = const {value = dense<f32[]> [0.5]}
      %1: f32[batch] = mul %c, %0
      %2: f32[batch] = tanh %1
      %3: f32[batch] = cond %q, %v, %2
        region then(%a: f32[batch], %b: f32[batch]) {
          %0: f32[batch] = mul %a, %b
          %1: f32[batch] = add %0, %b
          return %1
        }
        region else(%a: f32[batch], %b: f32[batch]) {
          return %a
        }
      %4: i32[] = const {value = dense<i32[]> [1]}
      %5: i32[] = sub %k, %4
      return %3, %5
    }
  return y = %0
}`;

const f = Math.fround;
const data = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const seq = (n: number, k: number, off = 0): number[] => Array.from({ length: n }, (_, i) => ((i * 7 + off) % 11) * k - 3);

async function session(text: string, backend: string, opts: SessionOptions = {}): Promise<Session> {
  return Session.create(parseGraph(text), { backend: backend as 'cpu', ...opts });
}

/** Runs and returns the fetched values, checking that the run leaves no tensor behind. */
function runChecked(s: Session, fetches: string[], feeds: Record<string, tf.Tensor>): number[][] {
  s.runSync(fetches, feeds); // the first run makes the session's constants
  const before = tf.memory().numTensors;
  const outs = s.runSync(fetches, feeds) as tf.Tensor[];
  const values = outs.map(data);
  tf.dispose(outs);
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

/** Newton's iteration for sqrt in float32, as the graph computes it: [roots, steps]. */
function newton(a: number[]): [number[], number] {
  let x = a.map(f), steps = 0;
  const tol = f(0.0001);
  while (steps < 100 && x.some((xi, i) => Math.abs(f(f(xi * xi) - f(a[i]!))) > tol)) {
    x = x.map((xi, i) => f(f(xi + f(f(a[i]!) / xi)) * f(0.5)));
    steps++;
  }
  return [x, steps];
}

for (const backend of ['cpu', 'wasm']) {
  describe(`control flow on ${backend}`, () => {
    // Sessions run on `backend`; eager reference values are computed on cpu.
    beforeAll(async () => { await tf.setBackend('cpu'); });

    for (const batch of [1, 5]) {
      it(`cond takes each branch by the predicate's value (batch ${batch})`, async () => {
        const s = await session(COND, backend);
        const xv = seq(batch * 3, 0.5), wv = [2, -1, 0.25];
        const x = tf.tensor2d(xv, [batch, 3]), w = tf.tensor1d(wv);
        for (const p of [1, 0, -2.5]) {
          const [y] = runChecked(s, ['y'], { p: tf.scalar(p), x, w });
          const want = p !== 0 ? xv.map((v, i) => f(f(v * wv[i % 3]!) + 1)) : xv.map((v) => -v);
          expect(y).toEqual(want);
        }
        s.dispose();
        tf.dispose([x, w]);
      });

      it(`while_loop: Newton's iteration to convergence, a data-dependent trip count (batch ${batch})`, async () => {
        const s = await session(NEWTON, backend);
        for (const av of [seq(batch, 3, 4).map((v) => Math.abs(v) + 2), seq(batch, 40).map((v) => Math.abs(v) + 100)]) {
          const [root, steps] = runChecked(s, ['root', 'steps'], { a: tf.tensor1d(av) });
          const [want, n] = newton(av);
          expect(steps).toEqual([n]);
          expect(n).toBeGreaterThan(2);
          root!.forEach((r, i) => expect(r).toBeCloseTo(want[i]!, 5));
          root!.forEach((r, i) => expect(r).toBeCloseTo(Math.sqrt(av[i]!), 3));
        }
        s.dispose();
      });

      for (const reverse of [false, true]) {
        it(`scan: a running sum${reverse ? ' from the end' : ''} matches tf.cumsum (batch ${batch})`, async () => {
          const s = await session(SCAN(reverse), backend);
          const xs = tf.tensor2d(seq(6 * batch, 0.25), [6, batch]);
          const [last, all] = runChecked(s, ['last', 'all'], { xs });
          const want = tf.cumsum(xs, 0, false, reverse);
          expect(all).toEqual(data(want));
          const end = tf.slice(want, [reverse ? 0 : 5, 0], [1, batch]);
          expect(last).toEqual(data(end));
          tf.dispose([xs, want, end]);
          s.dispose();
        });
      }

      it(`nested cond inside while_loop (batch ${batch})`, async () => {
        const s = await session(NESTED, backend);
        const xv = seq(batch, 1.5);
        for (const n of [0, 1, 4, 5]) {
          const [y] = runChecked(s, ['y'], { x: tf.tensor1d(xv), n: tf.scalar(n, 'int32') });
          let want = xv.map(f);
          for (let k = n; k > 0; k--) want = want.map((v) => (k % 2 === 0 ? -v : f(v * 2)));
          expect(y).toEqual(want);
        }
        s.dispose();
      });
    }

    it('optimized ≡ unoptimized: the default passes (invariants hoisted, constant conds inlined, fusion in regions) keep every result', async () => {
      const feeds = (batch: number): Record<string, Record<string, () => tf.Tensor>> => ({
        COND: { p: () => tf.scalar(1), x: () => tf.tensor2d(seq(batch * 3, 0.5), [batch, 3]), w: () => tf.tensor1d([2, -1, 0.25]) },
        NEWTON: { a: () => tf.tensor1d(seq(batch, 3).map((v) => Math.abs(v) + 2)) },
        SCAN: { xs: () => tf.tensor2d(seq(4 * batch, 0.25), [4, batch]) },
        NESTED: { x: () => tf.tensor1d(seq(batch, 1.5)), n: () => tf.scalar(5, 'int32') },
        INVARIANT: { x: () => tf.tensor1d(seq(batch, 0.1)), w: () => tf.tensor1d(seq(batch, 0.3, 2)), n: () => tf.scalar(4, 'int32') },
      });
      const texts: Record<string, string> = { COND, NEWTON, SCAN: SCAN(false), NESTED, INVARIANT };
      for (const batch of [1, 5]) {
        for (const [name, text] of Object.entries(texts)) {
          const g = parseGraph(text);
          const opt = optimize(g, { backend, verify: true }).graph;
          const fetch = g.outputs.map((o) => o.name);
          const fed = Object.fromEntries(Object.entries(feeds(batch)[name]!).map(([k, mk]) => [k, mk()]));
          const [a, b] = [await Session.create(g, { backend: backend as 'cpu' }), await Session.create(opt, { backend: backend as 'cpu' })];
          const want = runChecked(a, fetch, fed), got = runChecked(b, fetch, fed);
          got.forEach((vs, i) => vs.forEach((v, k) => expect(v, `${name} ${fetch[i]}[${k}]`).toBeCloseTo(want[i]![k]!, 5)));
          if (name === 'INVARIANT') {
            // tanh(w · 0.5) left the body; the cond on a constant is inlined.
            const body = opt.nodes.find((n) => n.op === 'while_loop')!.regions[1]!;
            expect(printGraph(body)).not.toMatch(/tanh|cond/);
            expect(printGraph(opt).split('region')[0]).toMatch(/tanh/);
          }
          a.dispose(); b.dispose();
          tf.dispose(Object.values(fed));
        }
      }
    });

    it('variables: a loop reads a variable through a capture and its result is assigned after the loop', async () => {
      const text = `graph @acc(%x: f32[3]) state(%w: f32[3] = "w" trainable) {
  %n: i32[] = const {value = dense<i32[]> [3]}
  %0: f32[3], %1: i32[] = while_loop %w, %n, %x
    region cond(%v: f32[3], %k: i32[], %c: f32[3]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[3], %k: i32[], %c: f32[3]) {
      %0: f32[3] = add %v, %c
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  assign %0 {var = "w"}
  init %w = dense<f32[3]> [1, 2, 3]
  return y = %0
}`;
      const s = await session(text, backend);
      const x = tf.tensor1d([0.5, -1, 2]);
      for (const k of [1, 2]) {
        const y = s.runSync('y', { x }) as tf.Tensor;
        expect(data(y)).toEqual([1, 2, 3].map((w, i) => w + 3 * k * [0.5, -1, 2][i]!));
        y.dispose();
      }
      const w = s.variable('w');
      expect(data(w)).toEqual([4, -4, 15]);
      tf.dispose([w, x]);
      s.dispose();
    });

    it('random ops in a loop body draw anew at each step; a session seed reproduces the whole run', async () => {
      const text = `graph @noise(%xs: f32[4,2]) {
  %0: f32[4,2] = scan %xs {num_carries = 0, num_xs = 1, reverse = false}
    region body(%x: f32[2]) {
      %0: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = -1, shape = [2]}
      %1: f32[2] = add %0, %x
      return %1
    }
  return ys = %0
}`;
      const xs = tf.zeros([4, 2]);
      const draw = async (seed: number) => {
        const s = await session(text, backend, { seed });
        const ys = s.runSync('ys', { xs }) as tf.Tensor;
        const v = data(ys);
        ys.dispose();
        s.dispose();
        return v;
      };
      const a = await draw(7), b = await draw(7), c = await draw(8);
      expect(a).toEqual(b);
      expect(new Set(a).size).toBe(8); // four steps, two values each: no step repeats another
      expect(c).not.toEqual(a);
      xs.dispose();
    });

    it('a loop value whose length changes every step (a data-dependent dim) is bound from what each region is fed', async () => {
      const text = `graph @grow(%x: f32[2], %n: i32[]) {
  %0: f32[_dyn0], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[_dyn0], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[_dyn0], %k: i32[]) {
      %0: f32[] = const {value = dense<f32[]> [10]}
      %1: f32[_dyn0] = mul %v, %0
      %2: f32[2*_dyn0] = concat %v, %1 {axis = 0}
      %3: i32[] = const {value = dense<i32[]> [1]}
      %4: i32[] = sub %k, %3
      return %2, %4
    }
  return y = %0
}`;
      const s = await session(text, backend);
      for (const n of [0, 1, 3]) {
        let want = [1, 2];
        for (let k = 0; k < n; k++) want = [...want, ...want.map((v) => v * 10)];
        expect(runChecked(s, ['y'], { x: tf.tensor1d([1, 2]), n: tf.scalar(n, 'int32') })).toEqual([want]);
      }
      s.dispose();
    });

    it('a scan over zero steps gives the initial carry and empty ys', async () => {
      const s = await session(SCAN(false), backend);
      const [last, all] = s.runSync(['last', 'all'], { xs: tf.zeros([0, 3]) }) as tf.Tensor[];
      expect(last!.shape).toEqual([3]);
      expect(data(last!)).toEqual([0, 0, 0]);
      expect(all!.shape).toEqual([0, 3]);
      tf.dispose([last!, all!]);
      s.dispose();
    });

    it('maximum_iterations stops a loop; past the loop budget a run fails with GC0403 instead of hanging', async () => {
      const capped = await session(FOREVER.replace('while_loop %x', 'while_loop %x {maximum_iterations = 7}'), backend);
      expect(runChecked(capped, ['y'], { x: tf.scalar(1) })).toEqual([[8]]);
      capped.dispose();
      const s = await session(FOREVER, backend, { maxLoopIterations: 50 });
      const x = tf.scalar(0);
      const fail = () => s.runSync('y', { x });
      expect(fail).toThrow(/error\[GC0403\]: while executing %\d+ = while_loop %x: the loop ran 50 times without ending[\s\S]*maxLoopIterations/);
      // The failed run freed what it made (the session's constants are made by the first).
      const before = tf.memory().numTensors;
      expect(fail).toThrow(/GC0403/);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      s.dispose();
    });
  });
}

// webgpu runs control flow through the same generic path (on SwiftShader here; a GPU where there is one). In Node,
// tfjs-webgpu cannot read a GPU buffer synchronously (it needs OffscreenCanvas): a predicate the graph computes is refused
// with a GcError that says so; a fed predicate and scans (which read no predicate) run.
describe.skipIf(!existsSync(SWIFTSHADER_ICD))('control flow on webgpu (SwiftShader)', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });
  afterAll(() => releaseBackend('webgpu'));
  const opts: SessionOptions = { allowSoftwareWebgpu: true };

  it('a cond on a fed predicate both ways and a running sum run; a computed loop predicate is a GC0403 that says why', async () => {
    const c = await session(COND, 'webgpu', opts);
    const x = tf.tensor2d(seq(15, 0.5), [5, 3]), w = tf.tensor1d([2, -1, 0.25]);
    for (const p of [1, 0]) {
      const y = c.runSync('y', { p: tf.scalar(p), x, w }) as tf.Tensor;
      expect(Array.from(await y.data())).toEqual(seq(15, 0.5).map((v, i) => (p ? f(f(v * [2, -1, 0.25][i % 3]!) + 1) : -v)));
      y.dispose();
    }
    c.dispose();
    const sc = await session(SCAN(true), 'webgpu', opts);
    const xs = tf.tensor2d(seq(30, 0.25), [6, 5]);
    const all = sc.runSync('all', { xs }) as tf.Tensor;
    const want = tf.cumsum(xs, 0, false, true);
    expect(Array.from(await all.data())).toEqual(data(want));
    sc.dispose();
    const nw = await session(NEWTON, 'webgpu', opts);
    expect(() => nw.runSync(['root'], { a: tf.tensor1d([2, 3]) })).toThrow(/GC0403[\s\S]*the predicate computed on webgpu cannot be read synchronously here[\s\S]*help: .*backend 'cpu', 'wasm' or 'tensorflow'/);
    nw.dispose();
    tf.dispose([x, w, xs, all, want]);
  }, 60_000);
});
