/** Graphs built with the Graph API, shared by the printer, parser and verifier tests. */
import { sym } from '../../ir/dim.js';
import type { SourceLoc } from '../../ir/errors.js';
import { Graph } from '../../ir/graph.js';
import type { TensorType } from '../../ir/graph.js';
import type { Attrs, OpName } from '../../ir/ops.js';
import { tensorData } from '../../ir/tensor_data.js';
import type { TensorData } from '../../ir/tensor_data.js';

export const f32 = (...shape: TensorType['shape']): TensorType => ({ dtype: 'float32', shape });
export const i32 = (...shape: TensorType['shape']): TensorType => ({ dtype: 'int32', shape });
export const loc = (file: string, line: number, col: number): SourceLoc => ({ file, line, col });

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Golden 1: a const with awkward floats, a location, a float attr. */
export function smallGraph(): Graph {
  const g = new Graph('f');
  const x = g.addInput('x', f32(sym('batch'), 4));
  const c = g.add('const', [], { value: tensorData('float32', [4], [1, 0.1, -0, NaN]) });
  const a = g.add('add', [x, c], {}, loc('examples/mlp.ts', 14, 10));
  const e = g.add('leaky_relu', [a], { alpha: 0.2 });
  g.setOutput('output_0', e);
  return g;
}

export const SMALL_TEXT = `graph @f(%x: f32[batch,4]) {
  %0: f32[4] = const {value = dense<f32[4]> [1, 0.1, -0, NaN]}
  %1: f32[batch,4] = add %x, %0 @ "examples/mlp.ts":14:10
  %2: f32[batch,4] = leaky_relu %1 {alpha = 0.2}
  return output_0 = %2
}`;

/** Golden 2: states with assign, split, a named value, reshape with symbolic dims, every dtype. */
export function stateGraph(): Graph {
  const g = new Graph('train');
  const x = g.addInput('x', f32(sym('batch', 28), 28));
  const k = g.addState('dense/kernel', f32(2, 2), tensorData('float32', [2, 2], [1, 2, 3, 4]));
  const step = g.addState('step', { dtype: 'int64', shape: [] }, tensorData('int64', [], [5n]), false);
  const r = g.add('reshape', [x], { shape: [sym('batch'), 784] });
  const [lo, hi] = g.addNode('split', [r], { axis: 1, sizes: [392, 392] }).outputs as [never, never];
  g.setName(hi, 'right');
  const c = g.add('clip', [lo], { min: -0, max: Infinity }, loc('examples/train.ts', 7, 3));
  const n = g.add('sym_const', [], { value: sym('batch', 28), dtype: 'int32' });
  g.add('const', [], { value: tensorData('bool', [2], [true, false]) });
  g.add('const', [], { value: tensorData('int64', [1], [9007199254740993n]) });
  const upd = g.add('add', [k, k]);
  g.addNode('assign', [upd], { var: 'dense/kernel' });
  const one = g.add('const', [], { value: tensorData('int64', [], [1n]) });
  const s2 = g.add('add', [step, one]);
  g.addNode('assign', [s2], { var: 'step' });
  g.setOutput('out', c);
  g.setOutput('dense/BiasAdd:0', hi);
  g.setOutput('n', n);
  return g;
}

export const STATE_TEXT = `graph @train(%x: f32[28*batch,28]) state(%dense_kernel: f32[2,2] = "dense/kernel" trainable, %step: i64[] = "step") {
  %0: f32[batch,784] = reshape %x {shape = [batch, 784]}
  %1: f32[batch,392], %right: f32[batch,392] = split %0 {axis = 1, sizes = [392, 392]}
  %2: f32[batch,392] = clip %1 {max = Infinity, min = -0} @ "examples/train.ts":7:3
  %3: i32[] = sym_const {dtype = i32, value = 28*batch}
  %4: bool[2] = const {value = dense<bool[2]> [true, false]}
  %5: i64[1] = const {value = dense<i64[1]> [9007199254740993]}
  %6: f32[2,2] = add %dense_kernel, %dense_kernel
  assign %6 {var = "dense/kernel"}
  %7: i64[] = const {value = dense<i64[]> [1]}
  %8: i64[] = add %step, %7
  assign %8 {var = "step"}
  init %dense_kernel = dense<f32[2,2]> [1, 2, 3, 4]
  init %step = dense<i64[]> [5]
  return out = %2, "dense/BiasAdd:0" = %right, n = %3
}`;

export function randomFloats(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => (r() - 0.5) * 2 ** Math.floor(r() * 20 - 10));
}

/** An MLP step with a 784×10 kernel (base64 init) and named values. */
export function mlpGraph(): Graph {
  const g = new Graph('mlp');
  const x = g.addInput('x', f32(sym('batch'), 784));
  const y = g.addInput('y', i32(sym('batch')));
  const k = g.addState('dense/kernel', f32(784, 10), tensorData('float32', [784, 10], randomFloats(7840, 1)));
  const b = g.addState('dense/bias', f32(10), tensorData('float32', [10], new Array(10).fill(0)), false);
  const mm = g.add('matmul', [x, k], { transpose_a: false, transpose_b: false }, loc('examples/mlp.ts', 14, 10));
  const logits = g.add('add', [mm, b], {}, loc('examples/mlp.ts', 15, 3));
  g.setName(logits, 'logits');
  const oh = g.add('one_hot', [y], { depth: 10, on_value: 1, off_value: 0, dtype: 'float32' });
  const ls = g.add('log_softmax', [logits], { axis: -1 });
  const prod = g.add('mul', [oh, ls]);
  const loss = g.add('reduce_mean', [g.add('neg', [g.add('reduce_sum', [prod], { axes: [1], keep_dims: false })])], { axes: [0], keep_dims: false });
  g.setOutput('loss', loss);
  g.setOutput('logits', logits);
  return g;
}

/** Convolution, pooling, reshape with -1, reductions, a 100-element int32 const, random ops. */
export function cnnGraph(): Graph {
  const g = new Graph('cnn');
  const x = g.addInput('img', f32(sym('n'), 28, 28, 1));
  const w = g.addState('conv/w', f32(3, 3, 1, 8), tensorData('float32', [3, 3, 1, 8], randomFloats(72, 2)));
  const c = g.add('conv2d', [x, w], { strides: [1, 1], padding: 'same', pads: [0, 0, 0, 0], dilations: [1, 1] });
  const p = g.add('max_pool', [c], { filter_size: [2, 2], strides: [2, 2], padding: 'valid', pads: [0, 0, 0, 0] });
  const flat = g.add('reshape', [p], { shape: [-1, 1568] });
  const m = g.add('reduce_mean', [flat], { axes: [1], keep_dims: true });
  const sm = g.add('softmax', [flat], { axis: -1 });
  const idx = g.add('argmax', [sm], { axis: 1 });
  const cat = g.add('concat', [m, m, m], { axis: 1 });
  const big = g.add('const', [], { value: tensorData('int32', [100], Array.from({ length: 100 }, (_, i) => i * i - 50)) });
  const r = g.add('range', [], { start: 0, stop: 1, step: 0.1, dtype: 'float32' });
  const rnd = g.add('random_normal', [], { shape: [sym('n'), 3], mean: 0, std: 1.5, dtype: 'float32', truncated: false, seed: 42 });
  const sum = g.add('add', [cat, rnd]);
  const bigI64 = g.add('const', [], { value: tensorData('int64', [20], Array.from({ length: 20 }, (_, i) => -(2n ** 62n) + BigInt(i))) });
  const bools = g.add('const', [], { value: tensorData('bool', [17], Array.from({ length: 17 }, (_, i) => i % 3 === 0)) });
  g.setOutput('idx', idx);
  g.setOutput('sum', sum);
  g.setOutput('big', big);
  g.setOutput('range', r);
  g.setOutput('i64', bigI64);
  g.setOutput('bools', bools);
  return g;
}

export function emptyGraph(): Graph {
  return new Graph('empty');
}

/** A graph whose names and graph name are not identifiers, and an f32 NaN with a payload. */
export function oddNamesGraph(): Graph {
  const g = new Graph('model/call');
  const x = g.addInput('input:0', f32(2));
  const data = new Float32Array([1, 2]);
  new Uint32Array(data.buffer)[1] = 0x7fc00123; // NaN with a payload: must go through b64
  const c = g.add('const', [], { value: { dtype: 'float32', shape: [2], data } satisfies TensorData });
  const s = g.add('sub', [x, c], {}, loc('dir with space/"quoted".ts', 1, 1));
  g.setName(s, 'a b');
  g.setOutput('out put', s);
  return g;
}

/** Seeded random elementwise graphs: random names, locations, float attrs with arbitrary bits. */
export function randomGraph(seed: number): Graph {
  const r = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bits = new DataView(new ArrayBuffer(8));
  const anyDouble = (): number => {
    bits.setUint32(0, Math.floor(r() * 2 ** 32));
    bits.setUint32(4, Math.floor(r() * 2 ** 32));
    return pick([bits.getFloat64(0), r(), -r() * 1e-30, 1e21, 5e-324, -0, NaN, -Infinity]);
  };
  const g = new Graph(`g${seed}`);
  const shape = [sym('b', 1 + Math.floor(r() * 3), Math.floor(r() * 5) - 2), 4] as const;
  const vals = [g.addInput('in0', f32(...shape)), g.addInput('in1', f32(...shape))];
  let named = 0;
  for (let i = 0; i < 25; i++) {
    const kind = pick(['unary', 'binary', 'alpha', 'clip', 'const'] as const);
    const at = r() < 0.5 ? loc(`src/f${Math.floor(r() * 3)}.ts`, Math.floor(r() * 500), Math.floor(r() * 80)) : undefined;
    let op: OpName;
    let ins = [pick(vals)];
    let attrs: Attrs = {};
    switch (kind) {
      case 'unary': op = pick(['exp', 'neg', 'tanh', 'relu', 'identity'] as const); break;
      case 'binary': op = pick(['add', 'mul', 'sub', 'maximum'] as const); ins = [pick(vals), pick(vals)]; break;
      case 'alpha': op = 'leaky_relu'; attrs = { alpha: anyDouble() }; break;
      case 'clip': op = 'clip'; attrs = { min: anyDouble(), max: anyDouble() }; break;
      case 'const': {
        op = 'const';
        ins = [];
        const n = pick([4, 4, 20]);
        const data = new Float32Array(n);
        const u = new Uint32Array(data.buffer);
        for (let j = 0; j < n; j++) u[j] = Math.floor(r() * 2 ** 32);
        attrs = { value: { dtype: 'float32', shape: [n], data } };
        break;
      }
    }
    const v = g.add(op, ins, attrs, at);
    if (r() < 0.3) g.setName(v, `v${named++}_${Math.floor(r() * 100)}`);
    if (v.shape.length === 2 || v.shape[0] === 4) vals.push(v); // a [20] const would not broadcast
  }
  for (let i = 0; i < 3; i++) {
    const name = `o${i}`;
    g.setOutput(name, pick(vals));
  }
  return g;
}

export const FIXTURES: ReadonlyArray<readonly [string, () => Graph]> = [
  ['small', smallGraph],
  ['state', stateGraph],
  ['mlp', mlpGraph],
  ['cnn', cnnGraph],
  ['empty', emptyGraph],
  ['odd names', oddNamesGraph],
  ...Array.from({ length: 8 }, (_, i) => [`random ${i}`, () => randomGraph(100 + i)] as const),
];
