/**
 * Compile-time scaling: graphs of 1k, 10k, 100k nodes, built with the Graph API (a DAG of
 * elementwise ops with constants, occasional matmul / reshape round trips, duplicated and
 * dead subexpressions and constant-only subexpressions, so every pass has work) or traced
 * from a loop of tfjs ops. Times trace, optimize and ONNX export.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { Graph } from '../ir/graph.js';
import type { Value } from '../ir/graph.js';
import { optimizeInPlace } from '../src/optimize.js';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { tensorData } from '../ir/tensor_data.js';
import { randomData } from './cases.js';

export interface ScalingRow {
  variant: 'graph-api' | 'traced';
  /** Requested size and the node count actually produced. */
  target: number;
  nodes: number;
  /** Nodes after optimization. */
  nodesAfter: number;
  /** Building the graph (graph-api) or gc.trace (traced), ms. */
  buildMs: number;
  optimizeMs: number;
  exportMs: number;
  /** Which optimizer ran (gc.optimize's passes). */
  optimizer: string;
  /** gc.optimize, which copies the graph first (optimizeMs: the passes in place, as compile and the CLI run them). */
  optimizeCopyMs: number;
}

type OptimizeFn = (g: Graph, opts?: unknown) => { graph: Graph };

/** gc.optimize when the build has it (issue #4), else undefined. */
export function gcOptimize(): OptimizeFn | undefined {
  const f = (gc as unknown as { optimize?: OptimizeFn }).optimize;
  return typeof f === 'function' ? f : undefined;
}

const D = 16;

/** A DAG of about `n` nodes built with the Graph API. */
export function buildGraph(n: number, seed = 1): Graph {
  const g = new Graph('scaling');
  const f32 = (...shape: number[]) => ({ dtype: 'float32' as const, shape });
  const x = g.addInput('x', f32(D, D));
  const rnd = randomData(Math.max(16, n), seed);
  let r = 0;
  const next = () => rnd[r++ % rnd.length]!;
  const konst = (shape: number[]) => g.add('const', [], { value: tensorData('float32', shape, randomData(shape.reduce((a, b) => a * b, 1), seed + r++, -1, 1)) });
  const recent: Value[] = [x];
  let cur: Value = x;
  for (let i = 0; g.nodes.length < n; i++) {
    switch (i % 16) {
      case 0: cur = g.add('add', [cur, konst([D])]); break;
      case 1: cur = g.add('mul', [cur, konst([])]); break;
      case 2: cur = g.add('tanh', [cur]); break;
      case 3: cur = g.add('add', [cur, recent[Math.floor(next() * recent.length)]!]); break;
      case 4: { // duplicated subexpression (CSE)
        const a = g.add('sigmoid', [cur]);
        const b = g.add('sigmoid', [cur]);
        cur = g.add('mul', [a, b]);
        break;
      }
      case 5: cur = g.add('matmul', [cur, konst([D, D])], { transpose_a: false, transpose_b: false }); break;
      case 6: cur = g.add('relu', [cur]); break;
      case 7: { // constant-only subexpression (folding)
        const c = g.add('mul', [g.add('add', [konst([D]), konst([D])]), konst([])]);
        cur = g.add('sub', [cur, c]);
        break;
      }
      case 8: g.add('exp', [cur]); break; // dead (DCE)
      case 9: cur = g.add('reshape', [g.add('reshape', [cur], { shape: [D * D] })], { shape: [D, D] }); break;
      case 10: cur = g.add('identity', [cur]); break;
      case 11: cur = g.add('maximum', [cur, recent[Math.floor(next() * recent.length)]!]); break;
      case 12: cur = g.add('neg', [g.add('neg', [cur])]); break;
      case 13: cur = g.add('div', [cur, g.add('add', [g.add('abs', [cur]), konst([])])]); break;
      case 14: cur = g.add('square', [cur]); break;
      case 15: cur = g.add('clip', [cur], { min: -4, max: 4 }); break;
    }
    recent.push(cur);
    if (recent.length > 32) recent.shift();
  }
  g.setOutput('output_0', cur);
  return g;
}

/** The traced program: a loop of tfjs ops (steps iterations). */
export function tracedProgram(steps: number): (x: tf.Tensor) => tf.Tensor {
  return (x: tf.Tensor) => {
    const w = tf.tensor2d(randomData(D * D, 7, -0.2, 0.2), [D, D]);
    let y = x;
    const recent: tf.Tensor[] = [x];
    for (let i = 0; i < steps; i++) {
      switch (i % 8) {
        case 0: y = tf.add(tf.mul(y, 0.5), 1); break;
        case 1: y = tf.tanh(y); break;
        case 2: y = tf.add(y, recent[i % recent.length]!); break;
        case 3: y = tf.matMul(y, w); break;
        case 4: y = tf.mul(tf.sigmoid(y), tf.sigmoid(y)); break;
        case 5: y = tf.reshape(tf.reshape(y, [D * D]), [D, D]); break;
        case 6: y = tf.relu(y); break;
        case 7: y = tf.clipByValue(y, -4, 4); break;
      }
      recent.push(y);
      if (recent.length > 16) recent.shift();
    }
    return y;
  };
}

function timeIt<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
}

/**
 * A full garbage collection before each timed step, so a step does not pay for the garbage
 * of the one before (a 100k-node trace leaves a lot): node's gc() when exposed, else V8's.
 */
const collect: () => void = (() => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  v8.setFlagsFromString('--expose-gc');
  const f = vm.runInNewContext('gc') as unknown;
  return typeof f === 'function' ? (f as () => void) : () => {};
})();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Timed repeats per graph (medians reported): at 10k nodes one run takes tens of ms and varies by half. */
const REPEATS = 5;

/**
 * Optimize as compile and the CLI run it (in place), each repeat on a fresh copy made and
 * collected before the clock starts, after one untimed warm-up run; gc.optimize (the public
 * API, which copies the graph first) timed as well; then the export of the optimized graph.
 */
function optimizeAndExport(g: Graph): { optimizeMs: number; optimizeCopyMs: number; exportMs: number; nodesAfter: number; optimizer: string } {
  optimizeInPlace(g.clone());
  const optMs: number[] = [], copyMs: number[] = [], expMs: number[] = [];
  let out = g;
  for (let r = 0; r < REPEATS; r++) {
    out = g.clone();
    collect();
    optMs.push(timeIt(() => optimizeInPlace(out))[1]);
  }
  for (let r = 0; r < 3; r++) {
    collect();
    copyMs.push(timeIt(() => gc.optimize(g))[1]);
  }
  for (let r = 0; r < 3; r++) {
    collect();
    expMs.push(timeIt(() => gc.toOnnx(out))[1]);
  }
  return { optimizeMs: median(optMs), optimizeCopyMs: median(copyMs), exportMs: median(expMs), nodesAfter: out.nodes.length, optimizer: 'gc.optimize passes' };
}

export function runScaling(sizes: number[], opts: { traced?: boolean; log?: (s: string) => void } = {}): ScalingRow[] {
  const log = opts.log ?? (() => {});
  const rows: ScalingRow[] = [];
  for (const n of sizes) {
    const [g, buildMs] = timeIt(() => buildGraph(n));
    const nodes = g.nodes.length;
    rows.push({ variant: 'graph-api', target: n, nodes, buildMs, ...optimizeAndExport(g) });
    log(`  scaling graph-api ${n}: ${JSON.stringify(rows.at(-1))}`);
  }
  if (opts.traced !== false) {
    // Nodes per loop iteration, from a small trace.
    const probe = 64;
    const perStep = gc.trace(tracedProgram(probe), [gc.spec([D, D], 'float32', 'x')]).nodes.length / probe;
    for (const n of sizes) {
      const steps = Math.max(1, Math.round(n / perStep));
      const [g, buildMs] = timeIt(() => gc.trace(tracedProgram(steps), [gc.spec([D, D], 'float32', 'x')]));
      rows.push({ variant: 'traced', target: n, nodes: g.nodes.length, buildMs, ...optimizeAndExport(g) });
      log(`  scaling traced ${n}: ${JSON.stringify(rows.at(-1))}`);
    }
  }
  return rows;
}
