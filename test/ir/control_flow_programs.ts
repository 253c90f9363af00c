/**
 * Random programs with control flow for property tests (test/runtime/control_flow_property,
 * test/exporters/onnx/export/control_flow_export_property): nested conds, while loops with
 * data-dependent trip counts, scans both ways; unused, duplicate and constant captures,
 * loop-invariant code, constant predicates.
 */
import { sym } from '../../ir/dim.js';
import { Graph } from '../../ir/graph.js';
import type { Value } from '../../ir/graph.js';
import { addCond, addScan, addWhileLoop } from '../../ir/regions.js';
import { rng } from '../exporters/onnx/harness.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const scalar = (g: Graph, x: number, dtype: 'float32' | 'int32' | 'bool' = 'float32'): Value => {
  const data = dtype === 'float32' ? new Float32Array([x]) : dtype === 'int32' ? new Int32Array([x]) : new Uint8Array([x]);
  return g.add('const', [], { value: { dtype, shape: [], data } });
};

/** A bool scalar computed from `v` (or a constant, now and then). */
function predicate(g: Graph, r: Rand, v: Value): Value {
  if (r() < 0.2) return scalar(g, r() < 0.5 ? 1 : 0, 'bool');
  const s = g.add('reduce_sum', [v], { axes: v.shape.map((_, i) => i), keep_dims: false });
  return g.add('greater', [s, scalar(g, pick(r, [-1, 0, 0.5]))]);
}

/**
 * Adds `steps` random nodes on f32 values of one shape (`pool`), with control flow while
 * `depth` allows; returns the pool grown by them.
 */
function grow(g: Graph, r: Rand, pool: Value[], steps: number, depth: number): Value[] {
  const vals = [...pool];
  const any = () => pick(r, vals);
  for (let i = 0; i < steps; i++) {
    const k = r();
    let v: Value;
    if (k < 0.25) v = g.add(pick(r, ['tanh', 'neg', 'sigmoid', 'abs'] as const), [any()]);
    else if (k < 0.5) v = g.add(pick(r, ['add', 'mul', 'sub', 'maximum'] as const), [any(), any()]);
    else if (k < 0.6) v = g.add('mul', [any(), scalar(g, pick(r, [0.5, -1, 2]))]);
    else if (depth <= 0) v = g.add('tanh', [any()]);
    else if (k < 0.75) {
      // cond: captures with an unused one and a duplicate now and then.
      const caps = [any(), any(), ...(r() < 0.5 ? [any()] : [])];
      const branch = (q: Graph, args: Value[]) => {
        const out = grow(q, r, args.slice(0, 2), 1 + Math.floor(r() * 3), depth - 1);
        return [out[out.length - 1]!];
      };
      [v] = addCond(g, predicate(g, r, any()), caps, branch, branch) as [Value];
    } else if (k < 0.9) {
      // while: a counter from a data-dependent start (1 to 3 steps), a loop value, captures (one invariant chain).
      const start = g.add('cast', [g.add('greater', [g.add('reduce_sum', [any()], { axes: any().shape.map((_, j) => j), keep_dims: false }), scalar(g, 0)])], { dtype: 'int32' });
      const n = g.add('add', [start, scalar(g, 1 + Math.floor(r() * 2), 'int32')]);
      const caps = [any(), any()];
      // Now and then a third loop value that the body yields unchanged (it becomes a capture).
      const through = r() < 0.5 ? [any()] : [];
      // And a loop value that only feeds itself (dropped by the passes).
      const dead = r() < 0.3 ? [any()] : [];
      const t = through.length, d = dead.length;
      const [out, , ...rest] = addWhileLoop(g, [any(), n, ...through, ...dead], caps,
        (q, [, kk]) => q.add('greater', [kk!, scalar(q, 0, 'int32')]),
        (q, args) => {
          const [lv, kk] = args;
          const [c0, c1] = args.slice(2 + t + d);
          const inv = q.add('tanh', [q.add('mul', [c0!, scalar(q, 0.5)])]);
          const body = grow(q, r, [lv!, inv, c1!, ...args.slice(2, 2 + t)], 1 + Math.floor(r() * 2), depth - 1);
          return [q.add('tanh', [body[body.length - 1]!]), q.add('sub', [kk!, scalar(q, 1, 'int32')]), ...args.slice(2, 2 + t),
            ...args.slice(2 + t, 2 + t + d).map((a) => q.add('tanh', [q.add('add', [a, a])]))];
        }, r() < 0.3 ? { maximumIterations: 2 } : {});
      v = t === 0 ? out! : g.add('add', [out!, rest[0]!]);
    } else {
      // scan along axis 0: carry a row, ys the running rows; a captured row is invariant.
      const xs = any();
      const row = g.add('reduce_mean', [any()], { axes: [0], keep_dims: false });
      const [last, ys] = addScan(g, [row], [xs], [row, any()], (q, [c, x, cap]) => {
        const inv = q.add('sigmoid', [cap!]);
        const next = q.add('tanh', [q.add('add', [q.add('mul', [c!, inv]), x!])]);
        return [next, q.add('add', [next, x!])];
      }, { reverse: r() < 0.5 });
      v = r() < 0.5 ? ys! : g.add('add', [any(), last!]);
    }
    vals.push(v);
  }
  return vals;
}

export function program(seed: number): Graph {
  const r = rng(seed);
  const g = new Graph(`p${seed}`);
  const x = g.addInput('x', { dtype: 'float32', shape: [sym('batch'), 3] });
  const y = g.addInput('y', { dtype: 'float32', shape: [sym('batch'), 3] });
  const vals = grow(g, r, [x, y], 4 + Math.floor(r() * 4), 2);
  g.setOutput('out', vals[vals.length - 1]!);
  g.setOutput('mid', vals[2 + Math.floor(r() * (vals.length - 2))]!);
  return g;
}

