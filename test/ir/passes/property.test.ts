/**
 * Property: for random graphs of elementwise ops, matmul, reshape, transpose and reductions
 * with constants sprinkled in (zeros, ones, duplicates, no-op shape ops, so that folding,
 * simplification and CSE all fire), the optimized graph verifies, is no larger, and computes
 * what the original computes on random inputs (both run by a cpu Session).
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { Graph } from '../../../ir/graph.js';
import type { Value } from '../../../ir/graph.js';
import type { Attrs, OpName } from '../../../ir/ops.js';
import { OPS } from '../../../ir/ops.js';
import { printGraph } from '../../../ir/printer.js';
import { tensorData, sizeOf } from '../../../ir/tensor_data.js';
import { verifyGraph } from '../../../ir/verify.js';
import { rng } from '../fixtures.js';

interface Inst { k: number; a: number; b: number; c: number; s: number }

const UNARY: OpName[] = ['tanh', 'relu', 'neg', 'sigmoid', 'identity', 'abs'];
const BINARY: OpName[] = ['add', 'mul', 'sub', 'maximum'];
const REDUCE: OpName[] = ['reduce_sum', 'reduce_mean', 'reduce_max'];

/** The k-th permutation of 0..n-1 (k mod n!). */
function permutation(n: number, k: number): number[] {
  const rest = Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let m = n; m > 0; m--) {
    out.push(rest.splice(k % m, 1)[0]!);
    k = Math.floor(k / m);
  }
  return out;
}

function staticShape(v: Value): number[] {
  return v.shape as number[];
}

/** Builds a graph from instructions; an instruction whose operands do not fit is skipped. */
function build(rows: number, cols: number, insts: Inst[]): Graph {
  const g = new Graph('prop');
  const x = g.addInput('x', { dtype: 'float32', shape: [rows, cols] });
  const y = g.addInput('y', { dtype: 'float32', shape: [cols] });
  const z = g.addInput('z', { dtype: 'float32', shape: [cols, cols, cols] });
  const pool: Value[] = [x, y, z];
  const named: Value[] = [];
  const add = (op: OpName, ins: Value[], attrs: Attrs = {}): Value => {
    const v = g.add(op, ins, attrs);
    pool.push(v);
    return v;
  };
  const constant = (shape: number[], mode: number, seed: number): Value => {
    const r = rng(seed);
    const n = sizeOf(shape);
    const vals = Array.from({ length: n }, () => [0, 1, (r() - 0.5) * 4, 0.5 + r() * 1.5][mode % 4]!);
    return add('const', [], { value: tensorData('float32', shape, vals) });
  };
  insts.forEach((it, i) => {
    const a = pool[it.a % pool.length]!, b = pool[it.b % pool.length]!;
    const sa = staticShape(a);
    try {
      switch (it.k) {
        case 0: constant([[...sa], sa.slice(-1), []][it.c % 3]!, it.s, it.s); break;
        case 1: add(UNARY[it.c % UNARY.length]!, [a]); break;
        case 2: add('exp', [add('tanh', [a])]); break;
        case 3: add(BINARY[it.c % BINARY.length]!, it.s % 2 ? [a, b] : [b, a]); break;
        case 4: add('div', [a, constant(it.c % 2 ? [] : sa.slice(-1), 1 + 2 * (it.s % 2), it.s)]); break;
        case 5: {
          if (sa.length !== 2) break;
          const k = sa[1]!;
          const rhs = pool.find((v) => v.shape.length === 2 && v.shape[0] === k && v !== a) ?? constant([k, 1 + (it.c % 3)], 2, it.s);
          add('matmul', [a, rhs], { transpose_a: false, transpose_b: false });
          break;
        }
        case 6: {
          const flat = add('reshape', [a], { shape: [-1] });
          if (it.c % 3 === 0) add('reshape', [flat], { shape: sa });
          else if (it.c % 3 === 1 && sa.length === 2) add('reshape', [flat], { shape: [sa[1]!, sa[0]!] });
          else if (sa.length === 2) add('reshape', [flat], { shape: [sa[0]!, 1, sa[1]!] });
          break;
        }
        case 7: {
          if (sa.length < 2) break;
          const t = add('transpose', [a], { perm: permutation(sa.length, it.c) });
          if (it.s % 2) add('transpose', [t], { perm: permutation(sa.length, it.s >> 1) });
          break;
        }
        case 8: if (sa.length > 0) add(REDUCE[it.c % REDUCE.length]!, [a], { axes: [it.s % sa.length], keep_dims: it.s % 3 === 0 }); break;
        case 9: {
          const n = g.nodes[it.c % Math.max(1, g.nodes.length)];
          // The same node again, its operands swapped half the time (CSE must see sub(a, b) ≠ sub(b, a)).
          const ins = n && it.s % 2 ? [...n.inputs].reverse() : n?.inputs;
          if (n && OPS[n.op].effect === 'pure' && n.outputs.length === 1) add(n.op, [...ins!], n.attrs);
          break;
        }
        case 10: {
          if (sa.length === 0) break; // tfjs cannot slice a scalar
          const choices: Array<[OpName, Attrs]> = [
            ['cast', { dtype: 'float32' }], ['pad', { paddings: sa.flatMap(() => [0, 0]), value: 0 }],
            ['tile', { reps: sa.map(() => 1) }], ['slice', { begin: sa.map(() => 0), size: sa }],
          ];
          const [op, attrs] = choices[it.c % choices.length]!;
          add(op, [a], attrs);
          break;
        }
        case 11: add('neg', [add('neg', [a])]); break;
        case 12: add('add', [a, constant([2, ...sa], 0, it.s)]); break;
        case 14: {
          // A binary op with a constant operand (zeros, ones, …) on either side: the neutral-element rules' ground.
          const op = (['add', 'sub', 'mul', 'div'] as const)[it.c % 4]!;
          const k = constant([[...sa], sa.slice(-1), []][it.s % 3]!, op === 'div' ? 1 + 2 * ((it.s >> 2) % 2) : it.s >> 2, it.s);
          add(op, it.b % 2 ? [a, k] : [k, a]);
          break;
        }
        case 13: if (a.kind === 'node' && a.name === undefined && sa.length <= 2) { g.setName(a, `h${i}`); named.push(a); } break;
      }
    } catch (e) {
      if (!(e instanceof gc.GcError)) throw e; // an ill-fitting instruction: skipped
    }
  });
  // Every sink is an output, so every computed value is observed.
  const sinks = pool.filter((v) => v.kind === 'node' && v.uses.length === 0 && v.producer!.op !== 'const');
  const outs = new Set<Value>([...sinks, pool[(insts[0]?.a ?? 0) % pool.length]!, ...named]);
  [...outs].forEach((v, i) => g.setOutput(`out_${i}`, v));
  return g;
}

/** What a test fetches: the outputs, then every named node value (they must stay fetchable). */
function fetches(g: Graph): string[] {
  return [...g.outputs.map((o) => o.name), ...[...g.values()].filter((v) => v.name !== undefined && v.kind === 'node').map((v) => v.name!)];
}

async function runAll(g: Graph, names: string[], feeds: Record<string, tf.Tensor>): Promise<Float32Array[]> {
  const s = await gc.Session.create(g, { backend: 'cpu' });
  try {
    const outs = await s.run(names, feeds) as tf.Tensor[];
    const data = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outs);
    return data;
  } finally {
    s.dispose();
  }
}

function close(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (Math.abs(x - y) > 1e-5 * Math.max(Math.abs(x), Math.abs(y)) + 1e-7) return false;
  }
  return true;
}

const inst = fc.record({ k: fc.nat(14), a: fc.nat(1000), b: fc.nat(1000), c: fc.nat(1000), s: fc.nat(1_000_000) });

describe('optimization preserves values (property)', () => {
  it('random graphs: optimized ≡ original on cpu, verified, not larger, original untouched', async () => {
    await tf.setBackend('cpu');
    let fired = 0;
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.array(inst, { minLength: 6, maxLength: 40 }), fc.nat(1000),
      async (rows, cols, insts, seed) => {
        const g = build(rows, cols, insts);
        const before = printGraph(g);
        const { graph: opt, report } = gc.optimize(g, { verify: true });
        expect(printGraph(g)).toBe(before);
        verifyGraph(opt);
        expect(opt.nodes.length).toBeLessThanOrEqual(g.nodes.length);
        if (report.some((r) => r.changed)) fired++;
        const r = rng(seed);
        const feeds = {
          x: tf.tensor(Array.from({ length: rows * cols }, () => r() * 2 - 1), [rows, cols]),
          y: tf.tensor(Array.from({ length: cols }, () => r() * 2 - 1), [cols]),
          z: tf.tensor(Array.from({ length: cols ** 3 }, () => r() * 2 - 1), [cols, cols, cols]),
        };
        try {
          const [want, got] = [await runAll(g, fetches(g), feeds), await runAll(opt, fetches(g), feeds)];
          expect(got.length).toBe(want.length);
          want.forEach((w, i) => {
            if (!close(w, got[i]!)) throw new Error(`output ${i} differs:\n${before}\n--- optimized:\n${printGraph(opt)}\nwant ${Array.from(w)}\ngot  ${Array.from(got[i]!)}`);
          });
        } finally {
          tf.dispose(Object.values(feeds));
        }
      }), { numRuns: 400, seed: 20240604 });
    expect(fired).toBeGreaterThan(300);
  });
});
