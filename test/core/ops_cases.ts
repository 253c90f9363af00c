/**
 * The op cases of the compiled ≡ eager table (test/core/ops_table.test.ts), shared with the
 * ONNX interop suite (test/exporters/onnx/interop.test.ts): each case is a tfjs function with the
 * specs of its inputs (shapes, dtypes, value ranges), and per-backend exclusions with reasons.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

export type Backend = 'cpu' | 'wasm' | 'webgpu';
export type DT = 'float32' | 'int32' | 'bool';

export interface InSpec {
  shape: number[];
  dtype?: DT;
  /** [lo, hi]: uniform floats in [lo, hi); integers in [lo, hi] inclusive. */
  range?: [number, number];
  /** Float inputs with integral values (so that equality comparisons can be true). */
  integral?: boolean;
  /** Resample values with |v| < minAbs (divisors, reciprocals). */
  minAbs?: number;
}

export type Out = tf.Tensor | tf.Tensor[];

export interface Case {
  name: string;
  fn: (...xs: tf.Tensor[]) => Out;
  inputs: InSpec[];
  /** Backends this case is excluded on, and why (tfjs itself fails or is inaccurate there). */
  skip?: Partial<Record<Backend, string>>;
  /**
   * ONNX interop (test/exporters/onnx/interop.test.ts): the inputs whose leading dim is traced as the
   * symbolic 'batch', or false to keep every shape static. Default: the interop suite tries
   * every input whose leading dim equals the first input's, and keeps static shapes where the
   * function is not polymorphic in it.
   */
  batch?: number[] | false;
}

const f32 = (...shape: number[]): InSpec => ({ shape, dtype: 'float32' });
const i32 = (...shape: number[]): InSpec => ({ shape, dtype: 'int32' });
const bool = (...shape: number[]): InSpec => ({ shape, dtype: 'bool' });
const r = (s: InSpec, lo: number, hi: number, extra: Partial<InSpec> = {}): InSpec => ({ ...s, range: [lo, hi], ...extra });
const T4 = (t: tf.Tensor) => t as tf.Tensor4D;
export const T1 = (t: tf.Tensor) => t as tf.Tensor1D;

export const CASES: Case[] = [];
// tfjs-backend-webgpu's TransposeProgram does not compile for int32/bool ("type mismatch in
// setOutputAtIndex, expected f32, got i32"): eager results are garbage. Reductions of such
// tensors over a non-last axis transpose first.
const WEBGPU_INT_TRANSPOSE = { webgpu: 'tfjs-backend-webgpu Transpose of int32/bool: WGSL compile error, garbage output (eager too)' };
const add = (name: string, inputs: InSpec[], fn: Case['fn'], skip?: Case['skip'], batch?: Case['batch']) =>
  CASES.push({ name, inputs, fn, skip, ...(batch === undefined ? {} : { batch }) });

// ---- unary math -------------------------------------------------------------------------------

const UNARY: [string, (x: tf.Tensor) => tf.Tensor, [number, number]?][] = [
  ['abs', tf.abs], ['acos', tf.acos, [-0.95, 0.95]], ['acosh', tf.acosh, [1.1, 4]], ['asin', tf.asin, [-0.95, 0.95]],
  ['asinh', tf.asinh], ['atan', tf.atan], ['atanh', tf.atanh, [-0.95, 0.95]], ['ceil', tf.ceil], ['cos', tf.cos],
  ['cosh', tf.cosh], ['elu', tf.elu], ['erf', tf.erf], ['exp', tf.exp], ['expm1', tf.expm1], ['floor', tf.floor],
  ['log', tf.log, [0.1, 4]], ['log1p', tf.log1p, [-0.9, 3]], ['neg', tf.neg], ['reciprocal', tf.reciprocal, [0.2, 3]],
  ['relu', tf.relu], ['relu6', tf.relu6, [-3, 9]], ['round', tf.round, [-3, 3]], ['rsqrt', tf.rsqrt, [0.1, 4]],
  ['selu', tf.selu], ['sigmoid', tf.sigmoid, [-5, 5]], ['sign', tf.sign], ['sin', tf.sin], ['sinh', tf.sinh],
  ['softplus', tf.softplus, [-5, 5]], ['sqrt', tf.sqrt, [0.1, 4]], ['square', tf.square], ['tan', tf.tan, [-1.2, 1.2]],
  ['tanh', tf.tanh], ['zerosLike', tf.zerosLike], ['onesLike', tf.onesLike],
];
for (const [name, op, range] of UNARY) add(name, [r(f32(2, 3), ...(range ?? [-2, 2]))], (x) => op(x));
add('reciprocal (negative)', [r(f32(2, 3), 0.2, 3)], (x) => tf.reciprocal(tf.neg(x)));
add('leakyRelu', [f32(2, 3)], (x) => tf.leakyRelu(x, 0.1));
add('leakyRelu default alpha', [f32(2, 3)], (x) => tf.leakyRelu(x));
add('prelu [2,3]·[3]', [f32(2, 3), r(f32(3), 0.05, 0.5)], (x, a) => tf.prelu(x, a));
add('step', [f32(2, 3)], (x) => tf.step(x));
add('step alpha 0.3', [f32(2, 3)], (x) => tf.step(x, 0.3));
add('isNaN (of log)', [f32(2, 3)], (x) => tf.isNaN(tf.log(x)));
add('isInf (of 1/floor)', [f32(2, 4)], (x) => tf.isInf(tf.div(1, tf.floor(x))));
add('isFinite (of log and 1/floor)', [f32(2, 4)], (x) => tf.isFinite(tf.add(tf.log(x), tf.div(1, tf.floor(x)))));
add('logicalNot', [bool(2, 3)], (x) => tf.logicalNot(x));
// int32 unary
for (const [name, op] of [['abs', tf.abs], ['neg', tf.neg], ['sign', tf.sign], ['square', tf.square], ['relu', tf.relu],
  ['zerosLike', tf.zerosLike], ['onesLike', tf.onesLike]] as const) {
  add(`${name} int32`, [i32(2, 3)], (x) => op(x));
}
add('zerosLike bool', [bool(2, 3)], (x) => tf.zerosLike(x));
add('onesLike bool', [bool(2, 3)], (x) => tf.onesLike(x));

// ---- binary with broadcasting -----------------------------------------------------------------

const BCAST: [string, number[], number[]][] = [
  ['[2,3]⊕[3]', [2, 3], [3]], ['[2,1]⊕[1,3]', [2, 1], [1, 3]], ['[2,3]⊕scalar', [2, 3], []], ['scalar⊕[3]', [], [3]],
];
type BinOp = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
interface BinDef { name: string; op: BinOp; a?: [number, number]; b?: [number, number]; bMinAbs?: number; dtypes: DT[]; skip?: Case['skip'] }
const BINARY: BinDef[] = [
  { name: 'add', op: tf.add, dtypes: ['float32', 'int32'] },
  { name: 'sub', op: tf.sub, dtypes: ['float32', 'int32'] },
  { name: 'mul', op: tf.mul, dtypes: ['float32', 'int32'] },
  { name: 'div', op: tf.div, b: [-3, 3], bMinAbs: 0.5, dtypes: ['float32', 'int32'] },
  // tfjs-backend-wasm's FloorDiv yields float32 for float32 operands; cpu and webgpu (and graphc,
  // whose graphs do not depend on the backend) yield int32. The values are checked on wasm by
  // 'floorDiv float32 → cast' below.
  { name: 'floorDiv', op: tf.floorDiv, a: [-6, 6], b: [-3, 3], bMinAbs: 0.5, dtypes: ['float32', 'int32'],
    skip: { wasm: 'tfjs-backend-wasm FloorDiv returns float32 for float32 inputs (cpu/webgpu: int32)' } },
  { name: 'mod', op: tf.mod, a: [-6, 6], b: [-3, 3], bMinAbs: 0.5, dtypes: ['float32', 'int32'] },
  { name: 'pow', op: tf.pow, a: [0.5, 2], b: [-2, 2], dtypes: ['float32'] },
  { name: 'maximum', op: tf.maximum, dtypes: ['float32', 'int32'] },
  { name: 'minimum', op: tf.minimum, dtypes: ['float32', 'int32'] },
  { name: 'squaredDifference', op: tf.squaredDifference, dtypes: ['float32', 'int32'] },
  { name: 'atan2', op: tf.atan2, dtypes: ['float32'] },
];
for (const d of BINARY) {
  for (const dtype of d.dtypes) {
    for (const [label, sa, sb] of dtype === 'float32' ? BCAST : BCAST.slice(0, 2)) {
      const lo = dtype === 'int32' ? -5 : -2, hi = -lo;
      add(`${d.name} ${dtype} ${label}`, [
        { shape: sa, dtype, range: d.a ?? [lo, hi] },
        { shape: sb, dtype, range: d.b ?? [lo, hi], minAbs: d.bMinAbs },
      ], (a, b) => d.op(a, b), dtype === 'float32' ? d.skip : undefined);
    }
  }
}
add('floorDiv float32 → cast', [r(f32(2, 3), -6, 6), r(f32(3), -3, 3, { minAbs: 0.5 })], (a, b) => tf.cast(tf.floorDiv(a, b), 'float32'));
add('pow int32 [2,3]⊕[3]', [r(i32(2, 3), -3, 3), r(i32(3), 0, 3)], (a, b) => tf.pow(a, b));
add('add float32+int32 (upcast)', [f32(2, 3), i32(3)], (a, b) => tf.add(a, b));
add('mul int32·scalar const', [i32(2, 3)], (a) => tf.mul(a, tf.scalar(3, 'int32')));

const COMPARE: [string, BinOp][] = [
  ['equal', tf.equal], ['notEqual', tf.notEqual], ['less', tf.less], ['lessEqual', tf.lessEqual],
  ['greater', tf.greater], ['greaterEqual', tf.greaterEqual],
];
for (const [name, op] of COMPARE) {
  add(`${name} float32 [2,3]⊕[3]`, [r(f32(2, 3), -2, 2, { integral: true }), r(f32(3), -2, 2, { integral: true })], (a, b) => op(a, b));
  add(`${name} float32 [2,1]⊕[1,3]`, [f32(2, 1), f32(1, 3)], (a, b) => op(a, b));
  add(`${name} int32 [2,3]⊕scalar`, [r(i32(2, 3), 0, 2), r(i32(), 0, 2)], (a, b) => op(a, b));
  add(`${name} bool [2,3]⊕[3]`, [bool(2, 3), bool(3)], (a, b) => op(a, b));
}
for (const [name, op] of [['logicalAnd', tf.logicalAnd], ['logicalOr', tf.logicalOr], ['logicalXor', tf.logicalXor]] as const) {
  add(`${name} [2,3]⊕[3]`, [bool(2, 3), bool(3)], (a, b) => op(a, b));
  add(`${name} [2,1]⊕[1,3]`, [bool(2, 1), bool(1, 3)], (a, b) => op(a, b));
}
add('where float32', [bool(2, 3), f32(2, 3), f32(2, 3)], (c, a, b) => tf.where(c, a, b));
add('where float32 broadcast', [bool(2, 1), f32(2, 3), f32(3)], (c, a, b) => tf.where(c, a, b));
add('where int32', [bool(2, 3), i32(2, 3), i32(2, 3)], (c, a, b) => tf.where(c, a, b));
add('where bool', [bool(2, 3), bool(2, 3), bool(2, 3)], (c, a, b) => tf.where(c, a, b),
  // Eager tf.where on bool branches corrupts the wasm heap ("memory access out of bounds").
  { wasm: 'tfjs-backend-wasm Select on bool branches: memory access out of bounds (eager too)' });
add('where from comparison', [f32(2, 3), f32(2, 3)], (a, b) => tf.where(tf.greater(a, b), a, tf.neg(b)));

// ---- casts, clip, addN --------------------------------------------------------------------------

add('cast float32→int32', [r(f32(2, 3), -3, 3)], (x) => tf.cast(x, 'int32'));
add('cast int32→float32', [i32(2, 3)], (x) => tf.cast(x, 'float32'));
add('cast bool→float32', [bool(2, 3)], (x) => tf.cast(x, 'float32'));
add('cast bool→int32', [bool(2, 3)], (x) => tf.cast(x, 'int32'));
add('cast float32→bool', [r(f32(2, 3), -2, 2, { integral: true })], (x) => tf.cast(x, 'bool'),
  { wasm: 'tfjs-backend-wasm Cast to bool leaves raw bytes (2, 254) instead of 0/1 (eager too)' });
add('cast int32→bool', [r(i32(2, 3), -1, 1)], (x) => tf.cast(x, 'bool'));
add('clipByValue', [f32(2, 3)], (x) => tf.clipByValue(x, -0.5, 0.7));
add('clipByValue int32', [i32(2, 3)], (x) => tf.clipByValue(x, -2, 3),
  { wasm: 'tfjs-backend-wasm ClipByValue reads int32 data as float32: garbage (eager too)' });
add('addN float32', [f32(2, 3), f32(2, 3), f32(2, 3)], (a, b, c) => tf.addN([a, b, c]));
add('addN int32', [i32(2, 3), i32(2, 3)], (a, b) => tf.addN([a, b]));

// ---- reductions -------------------------------------------------------------------------------

type Reduce = (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor;
const AXES: [string, number | number[] | undefined, boolean][] = [
  ['all axes', undefined, false], ['axis 0', 0, false], ['axis 1', 1, false], ['axis -1 keepDims', -1, true],
  ['axes [0,2]', [0, 2], false], ['axes [0,2] keepDims', [0, 2], true],
];
const REDUCE: [string, Reduce, DT[], [number, number]?][] = [
  ['sum', tf.sum, ['float32', 'int32', 'bool']], ['mean', tf.mean, ['float32', 'int32']], ['max', tf.max, ['float32', 'int32']],
  ['min', tf.min, ['float32', 'int32']], ['prod', tf.prod, ['float32', 'int32'], [0.5, 1.5]], ['all', tf.all, ['bool']], ['any', tf.any, ['bool']],
];
for (const [name, op, dtypes, range] of REDUCE) {
  for (const dtype of dtypes) {
    const axes = dtype === 'float32' ? AXES : AXES.filter((_, i) => i % 2 === 0);
    for (const [label, axis, keep] of axes) {
      const rng: [number, number] = dtype === 'int32' ? (name === 'prod' ? [-2, 2] : [-5, 5]) : (range ?? [-2, 2]);
      const transposes = dtype !== 'float32' && axis !== undefined && axis !== -1;
      add(`${name} ${dtype} ${label}`, [{ shape: [2, 3, 4], dtype, range: rng }], (x) => op(x, axis, keep), transposes ? WEBGPU_INT_TRANSPOSE : undefined);
    }
  }
}
for (const [name, op] of [['argMax', tf.argMax], ['argMin', tf.argMin]] as const) {
  for (const axis of [0, 1, -1]) add(`${name} axis ${axis}`, [f32(2, 3, 4)], (x) => op(x, axis));
  add(`${name} int32 axis 1`, [r(i32(3, 4), -20, 20)], (x) => op(x, 1));
  add(`${name} 1-D`, [f32(5)], (x) => op(x));
}
add('cumsum axis 0', [f32(3, 4)], (x) => tf.cumsum(x, 0));
add('cumsum axis 1 exclusive', [f32(3, 4)], (x) => tf.cumsum(x, 1, true));
add('cumsum axis 1 reverse', [f32(3, 4)], (x) => tf.cumsum(x, 1, false, true));
// (tf.cumsum gives a wrong shape eagerly for a negative axis, so none here)
add('cumsum axis 1 exclusive reverse', [f32(3, 4)], (x) => tf.cumsum(x, 1, true, true));
add('cumsum int32', [i32(3, 4)], (x) => tf.cumsum(x, 1));
add('cumprod axis 1', [r(f32(3, 4), 0.5, 1.5)], (x) => tf.cumprod(x, 1));
add('cumprod axis 0 exclusive reverse', [r(f32(3, 4), 0.5, 1.5)], (x) => tf.cumprod(x, 0, true, true));
add('softmax [2,5]', [f32(2, 5)], (x) => tf.softmax(x));
add('softmax [2,3,4]', [r(f32(2, 3, 4), -4, 4)], (x) => tf.softmax(x));
add('logSoftmax [2,5]', [f32(2, 5)], (x) => tf.logSoftmax(x));
add('logSoftmax [2,3,4]', [r(f32(2, 3, 4), -4, 4)], (x) => tf.logSoftmax(x));

// ---- matmul ---------------------------------------------------------------------------------

add('matMul', [f32(2, 3), f32(3, 4)], (a, b) => tf.matMul(a, b));
add('matMul transposeA', [f32(3, 2), f32(3, 4)], (a, b) => tf.matMul(a, b, true));
add('matMul transposeB', [f32(2, 3), f32(4, 3)], (a, b) => tf.matMul(a, b, false, true));
add('matMul transposeA+B', [f32(3, 2), f32(4, 3)], (a, b) => tf.matMul(a, b, true, true));
add('matMul batched', [f32(2, 2, 3), f32(2, 3, 4)], (a, b) => tf.matMul(a, b));
add('matMul batched transposeB', [f32(2, 2, 3), f32(2, 4, 3)], (a, b) => tf.matMul(a, b, false, true));
add('matMul batch broadcast [2,2,3]·[1,3,4]', [f32(2, 2, 3), f32(1, 3, 4)], (a, b) => tf.matMul(a, b));
add('matMul int32', [r(i32(2, 3), -3, 3), r(i32(3, 2), -3, 3)], (a, b) => tf.matMul(a, b),
  { wasm: 'tfjs-backend-wasm BatchMatMul supports float32 only (eager fails)' });
add('fused.matMul bias', [f32(2, 3), f32(3, 4), f32(4)], (a, b, bias) => tf.fused.matMul({ a, b, bias }));
add('fused.matMul bias relu', [f32(2, 3), f32(3, 4), f32(4)], (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }));
add('fused.matMul transposeB bias sigmoid', [f32(2, 3), f32(4, 3), f32(4)],
  (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeB: true, activation: 'sigmoid' }),
  { wasm: 'tfjs-backend-wasm _FusedMatMul transposeB+bias+sigmoid differs from cpu by up to 0.2 (eager too)' });
add('fused.matMul transposeA elu', [f32(3, 2), f32(3, 4)], (a, b) => tf.fused.matMul({ a, b, transposeA: true, activation: 'elu' }));
add('fused.matMul bias relu6', [r(f32(2, 3), -3, 3), r(f32(3, 4), -3, 3), f32(4)], (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu6' }));
add('fused.matMul leakyrelu alpha 0.3', [f32(2, 3), f32(3, 4), f32(4)],
  (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'leakyrelu', leakyreluAlpha: 0.3 }));
add('fused.matMul prelu', [f32(2, 3), f32(3, 4), f32(4), r(f32(4), 0.05, 0.5)],
  (a, b, bias, w) => tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: w }));
add('fused.matMul batched bias [2,4] relu', [f32(2, 2, 3), f32(2, 3, 4), f32(2, 4)],
  (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }),
  { wasm: 'tfjs-backend-wasm _FusedMatMul supports a rank-1 bias only (eager fails)' });

// ---- shape and data movement ---------------------------------------------------------------------

for (const [dt, s] of [['float32', f32(2, 3, 4)], ['int32', i32(2, 3, 4)], ['bool', bool(2, 3, 4)]] as const) {
  const intT = dt === 'float32' ? undefined : WEBGPU_INT_TRANSPOSE;
  add(`transpose ${dt}`, [s], (x) => tf.transpose(x), intT);
  add(`transpose ${dt} perm [1,0,2]`, [s], (x) => tf.transpose(x, [1, 0, 2]), intT);
  add(`reshape ${dt} [6,4]`, [s], (x) => tf.reshape(x, [6, 4]));
  add(`concat ${dt} axis 1`, [s, { ...s, shape: [2, 2, 4] }], (a, b) => tf.concat([a, b], 1));
  add(`stack ${dt}`, [s, s], (a, b) => tf.stack([a, b], 1));
  add(`tile ${dt}`, [s], (x) => tf.tile(x, [1, 2, 1]));
  // tfjs-backend-wasm's Reverse and BroadcastTo on bool corrupt its heap (eager too).
  const wasmBool = dt === 'bool' ? { wasm: 'tfjs-backend-wasm on bool: memory access out of bounds (eager too)' } : undefined;
  add(`reverse ${dt} axis 1`, [s], (x) => tf.reverse(x, 1), wasmBool);
  add(`slice ${dt}`, [s], (x) => tf.slice(x, [0, 1, 1], [2, 2, -1]));
  add(`gather ${dt} axis 1`, [s, r(i32(5), 0, 2)], (x, i) => tf.gather(x, i, 1));
  add(`pad ${dt}`, [s], (x) => tf.pad(x, [[0, 1], [1, 0], [0, 2]]));
  add(`broadcastTo ${dt}`, [{ ...s, shape: [3, 1] }], (x) => tf.broadcastTo(x, [2, 3, 4]), wasmBool);
}
add('reshape [-1]', [f32(2, 3, 4)], (x) => tf.reshape(x, [-1]));
add('reshape [4,-1]', [f32(2, 3, 4)], (x) => tf.reshape(x, [4, -1]));
add('expandDims 0', [f32(2, 3)], (x) => tf.expandDims(x, 0));
add('expandDims -1', [f32(2, 3)], (x) => tf.expandDims(x, -1));
add('expandDims 1 int32', [i32(2, 3)], (x) => tf.expandDims(x, 1));
add('squeeze', [f32(2, 1, 3, 1)], (x) => tf.squeeze(x));
add('squeeze axis [1]', [f32(2, 1, 3, 1)], (x) => tf.squeeze(x, [1]));
add('concat axis 0, three inputs', [f32(1, 3), f32(2, 3), f32(3, 3)], (a, b, c) => tf.concat([a, b, c], 0));
add('concat axis -1', [f32(2, 1), f32(2, 3)], (a, b) => tf.concat([a, b], -1));
add('concat 1-D', [f32(2), f32(3)], (a, b) => tf.concat([a, b]));
add('stack axis 0', [f32(2, 3), f32(2, 3), f32(2, 3)], (a, b, c) => tf.stack([a, b, c]));
add('stack axis -1', [f32(2, 3), f32(2, 3)], (a, b) => tf.stack([a, b], -1));
// One output per row: not polymorphic in the leading dim, which graphc's unification does not
// reject yet (it keeps the first trace's 5 outputs over an unpack of a symbolic dim).
add('unstack axis 0', [f32(3, 4)], (x) => tf.unstack(x), undefined, false);
add('unstack axis 1', [f32(2, 3, 2)], (x) => tf.unstack(x, 1));
add('unstack int32', [i32(2, 3)], (x) => tf.unstack(x, 1));
add('split 2 axis 1', [f32(2, 4)], (x) => tf.split(x, 2, 1));
add('split sizes [1,3] axis 1', [f32(2, 4)], (x) => tf.split(x, [1, 3], 1));
add('split sizes [1,-1,2] axis 0', [f32(5, 2)], (x) => tf.split(x, [1, -1, 2], 0));
add('slice 1-D', [f32(6)], (x) => tf.slice(x, 2, 3));
add('slice [2,3]', [f32(4, 5)], (x) => tf.slice(x, [1, 2], [2, 3]));
add('slice size -1', [f32(4, 5)], (x) => tf.slice(x, [1, 1], [-1, 2]));
add('stridedSlice strides', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [0, 1, 0], [3, 4, 5], [1, 2, 2]));
add('stridedSlice negative stride', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [2, 3, 4], [0, 0, 0], [-1, -2, -1]));
add('stridedSlice negative stride endMask', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [-1, 0, 0], [0, 4, 5], [-1, 1, 1], 0, 1));
add('stridedSlice begin/end masks', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [1, 1, 1], [2, 3, 4], [1, 1, 2], 0b101, 0b010));
add('stridedSlice negative begin/end', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [-2, -3, -4], [-1, -1, -1], [1, 1, 1]));
add('stridedSlice ellipsisMask', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [0, 1], [0, 3], [1, 1], 0, 0, 0b001));
add('stridedSlice newAxisMask', [f32(3, 4)], (x) => tf.stridedSlice(x, [0, 0, 1], [2, 0, 3], [1, 1, 1], 0, 0, 0, 0b010));
add('stridedSlice shrinkAxisMask', [f32(3, 4, 5)], (x) => tf.stridedSlice(x, [1, 0, 2], [2, 4, 3], [1, 1, 1], 0, 0, 0, 0, 0b101));
add('stridedSlice int32', [i32(3, 4)], (x) => tf.stridedSlice(x, [0, 3], [3, 0], [2, -1]),
  { wasm: 'tfjs-backend-wasm StridedSlice always outputs float32 (eager gives float32 for int32 input)' });
add('gather axis 0', [f32(4, 3), r(i32(5), 0, 3)], (x, i) => tf.gather(x, i));
add('gather axis 0, 2-D indices', [f32(4, 3), r(i32(2, 2), 0, 3)], (x, i) => tf.gather(x, i, 0));
add('gather axis 1', [f32(2, 3, 2), r(i32(4), 0, 2)], (x, i) => tf.gather(x, i, 1));
add('gather constant indices', [f32(4, 3)], (x) => tf.gather(x, tf.tensor1d([3, 0, 0, 2], 'int32')));
add('pad value 1.5', [f32(2, 3)], (x) => tf.pad(x, [[1, 0], [0, 2]], 1.5));
add('pad 1-D', [f32(4)], (x) => tf.pad(x, [[2, 1]]));
add('tile [2,3]·[2,2]', [f32(2, 3)], (x) => tf.tile(x, [2, 2]));
add('reverse all', [f32(2, 3)], (x) => tf.reverse(x));
add('reverse [0,1]', [f32(2, 3, 2)], (x) => tf.reverse(x, [0, 1]));
add('reverse -1', [f32(2, 3)], (x) => tf.reverse(x, -1));
add('broadcastTo [3]→[2,3]', [f32(3)], (x) => tf.broadcastTo(x, [2, 3]));
add('broadcastTo [2,1]→[2,3]', [f32(2, 1)], (x) => tf.broadcastTo(x, [2, 3]));
add('oneHot', [r(i32(5), 0, 3)], (i) => tf.oneHot(T1(i), 4));
add('oneHot on/off out-of-range', [r(i32(2, 3), -1, 4)], (i) => tf.oneHot(i, 4, 3, -1));
add('oneHot float32 dtype', [r(i32(4), 0, 2)], (i) => tf.oneHot(T1(i), 3, 1, 0, 'float32'),
  { wasm: 'tfjs-backend-wasm OneHot with dtype float32 gives all zeros (eager too)' });
add('range 0..5', [], () => tf.range(0, 5));
add('range 1..10 step 3', [], () => tf.range(1, 10, 3));
add('range 5..1', [], () => tf.range(5, 1));
add('range 0..1 step 0.25', [], () => tf.range(0, 1, 0.25));
add('range int32 step -2', [], () => tf.range(7, -2, -2, 'int32'));
add('range + input', [f32(4)], (x) => tf.add(x, tf.range(0, 4)));
add('fill float32', [], () => tf.fill([2, 3], 1.5));
add('fill int32', [], () => tf.fill([3], 7, 'int32'));
add('fill + input', [f32(2, 3)], (x) => tf.mul(x, tf.fill([2, 3], -2)));
add('zeros/ones + input', [f32(2, 3)], (x) => tf.add(tf.mul(x, tf.ones([2, 3])), tf.zeros([3])));

// ---- conv, pool, norm ---------------------------------------------------------------------------

type Pad = 'same' | 'valid' | number;
const CONV: [string, number[], number[], [number, number] | number, Pad, number][] = [
  ['same', [1, 5, 5, 2], [3, 3, 2, 3], 1, 'same', 1],
  ['valid', [1, 5, 5, 2], [3, 3, 2, 3], 1, 'valid', 1],
  ['strides 2 same', [2, 6, 6, 2], [3, 3, 2, 2], 2, 'same', 1],
  ['strides [2,1] valid', [1, 5, 5, 2], [2, 2, 2, 3], [2, 1], 'valid', 1],
  ['dilation 2 same', [1, 6, 6, 2], [2, 2, 2, 2], 1, 'same', 2],
  ['dilation 2 valid', [1, 6, 6, 1], [3, 3, 1, 2], 1, 'valid', 2],
  ['pad 1', [1, 4, 4, 2], [3, 3, 2, 2], 1, 1, 1],
];
for (const [label, xs, ws, strides, pad, dil] of CONV) {
  add(`conv2d ${label}`, [f32(...xs), f32(...ws)], (x, w) => tf.conv2d(T4(x), T4(w), strides, pad, 'NHWC', dil));
  add(`depthwiseConv2d ${label}`, [f32(...xs), f32(ws[0]!, ws[1]!, ws[2]!, 2)],
    (x, w) => tf.depthwiseConv2d(T4(x), T4(w), strides, pad, 'NHWC', dil));
}
add('fused.conv2d bias relu', [f32(1, 4, 4, 2), f32(3, 3, 2, 3), f32(3)],
  (x, w, bias) => tf.fused.conv2d({ x: T4(x), filter: T4(w), strides: 1, pad: 'same', bias, activation: 'relu' }));
add('fused.depthwiseConv2d bias elu', [f32(1, 4, 4, 2), f32(3, 3, 2, 1), f32(2)],
  (x, w, bias) => tf.fused.depthwiseConv2d({ x: T4(x), filter: T4(w), strides: 1, pad: 'valid', bias, activation: 'elu' }));
const POOL: [string, number[], [number, number] | number, [number, number] | number, Pad][] = [
  ['2x2 stride 2 valid', [1, 4, 4, 2], 2, 2, 'valid'],
  ['3x3 stride 1 same', [1, 4, 4, 2], 3, 1, 'same'],
  ['3x3 stride 2 same', [2, 5, 5, 1], 3, 2, 'same'],
  ['[2,3] stride [1,2] valid', [1, 4, 5, 2], [2, 3], [1, 2], 'valid'],
  ['pad 1', [1, 4, 4, 1], 3, 1, 1],
];
for (const [label, xs, k, s, pad] of POOL) {
  add(`maxPool ${label}`, [f32(...xs)], (x) => tf.maxPool(T4(x), k, s, pad));
  add(`avgPool ${label}`, [f32(...xs)], (x) => tf.avgPool(T4(x), k, s, pad));
}
add('batchNorm', [f32(2, 3, 4), f32(4), r(f32(4), 0.5, 2), f32(4), f32(4)],
  (x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, 0.001));
add('batchNorm without offset/scale', [f32(2, 3, 4), f32(4), r(f32(4), 0.5, 2)], (x, m, v) => tf.batchNorm(x, m, v));
add('batchNorm 4-D scale only', [f32(1, 2, 2, 3), f32(3), r(f32(3), 0.5, 2), f32(3)],
  (x, m, v, s) => tf.batchNorm(x, m, v, undefined, s, 0.01));

// ---- composites and less common kernels --------------------------------------------------------

const noWasmKernel = (k: string) => ({ wasm: `tfjs-backend-wasm has no ${k} kernel (eager fails)` });

add('conv2dTranspose', [f32(1, 3, 3, 2), f32(3, 3, 4, 2)], (x, w) => tf.conv2dTranspose(T4(x), T4(w), [1, 5, 5, 4], 2, 'same'));
add('conv1d', [f32(2, 6, 2), f32(3, 2, 3)], (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'same'));
add('separableConv2d', [f32(1, 4, 4, 2), f32(3, 3, 2, 2), f32(1, 1, 4, 3)],
  (x, d, p) => tf.separableConv2d(T4(x), T4(d), T4(p), 1, 'same'));
add('mirrorPad reflect', [f32(3, 4)], (x) => tf.mirrorPad(x, [[1, 1], [2, 1]], 'reflect'));
add('mirrorPad symmetric', [f32(3, 4)], (x) => tf.mirrorPad(x, [[0, 2], [1, 1]], 'symmetric'));
add('linspace', [f32(5)], (x) => tf.add(x, tf.linspace(-1, 3, 5)));
add('gatherND', [f32(3, 4), r(i32(5, 2), 0, 2)], (x, i) => tf.gatherND(x, i));
add('scatterND', [r(i32(3, 1), 0, 4), f32(3, 2)], (i, u) => tf.scatterND(i, u, [5, 2]));
add('depthToSpace', [f32(1, 2, 2, 8)], (x) => tf.depthToSpace(T4(x), 2));
add('image.flipLeftRight', [f32(2, 3, 4, 2)], (x) => tf.image.flipLeftRight(T4(x)));
add('logSumExp', [f32(2, 5)], (x) => tf.logSumExp(x, 1));
add('moments', [f32(2, 3, 4)], (x) => { const m = tf.moments(x, [0, 1]); return [m.mean, m.variance]; });
add('norm euclidean / 1 / inf', [f32(3, 4)], (x) => [tf.norm(x), tf.norm(x, 1, 1), tf.norm(x, Infinity, 0)]);
add('losses.softmaxCrossEntropy', [f32(3, 4), r(i32(3), 0, 3)], (x, y) => tf.losses.softmaxCrossEntropy(tf.oneHot(T1(y), 4), x));
add('losses.meanSquaredError', [f32(3, 4), f32(3, 4)], (a, b) => tf.losses.meanSquaredError(a, b));
add('sigmoidCrossEntropy', [f32(3, 4), r(f32(3, 4), 0, 1, { integral: true })], (x, y) => tf.losses.sigmoidCrossEntropy(y, x));
add('spaceToBatchND', [f32(1, 4, 4, 1)], (x) => tf.spaceToBatchND(x, [2, 2], [[0, 0], [0, 0]]));
add('spaceToBatchND padded', [f32(2, 3, 2, 2)], (x) => tf.spaceToBatchND(x, [2, 2], [[1, 0], [1, 1]]));
add('batchToSpaceND', [f32(4, 2, 2, 1)], (x) => tf.batchToSpaceND(x, [2, 2], [[0, 0], [0, 0]]));
add('batchToSpaceND cropped', [f32(8, 2, 3, 1)], (x) => tf.batchToSpaceND(x, [2, 2], [[1, 0], [0, 2]]));
add('batchToSpaceND int32', [i32(4, 2, 2, 1)], (x) => tf.batchToSpaceND(x, [2, 2], [[0, 0], [0, 0]]), WEBGPU_INT_TRANSPOSE);
add('unsortedSegmentSum', [f32(5, 2), r(i32(5), 0, 2)], (x, i) => tf.unsortedSegmentSum(x, T1(i), 3), noWasmKernel('UnsortedSegmentSum'));
add('diag', [f32(3)], (x) => tf.diag(x));
add('diag 2-D int32', [i32(2, 2)], (x) => tf.diag(x));
add('bandPart', [f32(4, 4)], (x) => tf.linalg.bandPart(x, 1, 0));
// Boxes across the image's edge, two images: samples inside, extrapolated and (index 2) a box
// outside the batch (zeros; tfjs-wasm leaves it unwritten, so no index 2 there).
add('image.cropAndResize bilinear', [f32(2, 4, 5, 2), r(f32(3, 4), -0.2, 1.2), r(i32(3), 0, 1)],
  (x, b, i) => tf.image.cropAndResize(T4(x), b as tf.Tensor2D, T1(i), [3, 2], 'bilinear', 0.5));
add('image.cropAndResize nearest', [f32(2, 4, 5, 2), r(f32(3, 4), -0.2, 1.2), r(i32(3), 0, 1)],
  (x, b, i) => tf.image.cropAndResize(T4(x), b as tf.Tensor2D, T1(i), [2, 4], 'nearest', -1));
add('localResponseNormalization', [f32(2, 2, 2, 6)], (x) => tf.localResponseNormalization(T4(x), 2, 1.5, 0.3, 0.75));
add('grad localResponseNormalization', [f32(1, 2, 2, 5)], (x) => tf.grad((a) => sq(tf.localResponseNormalization(T4(a), 1, 1, 0.5, 0.5)))(x));
// A row sorted in the function (topk's values, reversed); integral values, so that ties occur.
add('searchSorted left / right', [r(f32(2, 6), -3, 3, { integral: true }), r(f32(2, 4), -3, 3, { integral: true })],
  (s, v) => { const row = tf.reverse(tf.topk(s, 6).values, -1); return [tf.searchSorted(row, v, 'left'), tf.searchSorted(row, v, 'right')]; });
add('conv3d same stride [1,2,1]', [f32(1, 3, 4, 4, 2), f32(2, 3, 2, 2, 3)], (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, [1, 2, 1], 'same'));
add('maxPool3d / avgPool3d 2x2x2 valid', [f32(2, 4, 4, 4, 1)], (x) => [tf.maxPool3d(x as tf.Tensor5D, 2, 2, 'valid'), tf.avgPool3d(x as tf.Tensor5D, 2, 2, 'valid')]);
add('maxPool3d / avgPool3d 3x3x3 same', [f32(1, 3, 4, 5, 2)], (x) => [tf.maxPool3d(x as tf.Tensor5D, 3, 1, 'same'), tf.avgPool3d(x as tf.Tensor5D, 3, 1, 'same')]);

// ---- gradients ------------------------------------------------------------------------------------

export const sq = (t: tf.Tensor) => tf.sum(tf.square(t));
add('grad elu', [f32(2, 3)], (x) => tf.grad((a) => tf.sum(tf.mul(tf.elu(a), a)))(x));
add('grad relu/sigmoid/tanh', [f32(2, 3)], (x) => tf.grad((a) => tf.sum(tf.add(tf.relu(a), tf.mul(tf.sigmoid(a), tf.tanh(a)))))(x));
add('grad selu/softplus/relu6', [r(f32(2, 3), -3, 8)], (x) => tf.grad((a) => tf.sum(tf.addN([tf.selu(a), tf.softplus(a), tf.relu6(a)])))(x));
add('grad log/sqrt/exp', [r(f32(2, 3), 0.2, 2)], (x) => tf.grad((a) => tf.sum(tf.mul(tf.log(a), tf.add(tf.sqrt(a), tf.exp(a)))))(x));
add('grads leakyRelu/prelu', [f32(2, 3), r(f32(3), 0.05, 0.5)],
  (x, al) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.add(tf.leakyRelu(a, 0.2), tf.prelu(a, b))))([x, al]));
add('grads broadcast add/mul/div', [f32(2, 3), r(f32(3), 0.5, 2)],
  (x, y) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.div(tf.mul(tf.add(a, b), a), b)))([x, y]));
add('grads pow/atan2/maximum', [r(f32(2, 3), 0.5, 2), r(f32(2, 3), 0.5, 2)],
  (x, y) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.add(tf.pow(a, b), tf.add(tf.atan2(a, b), tf.maximum(a, b)))))([x, y]));
add('grads matMul+bias+sigmoid', [f32(2, 3), f32(3, 4), f32(4)],
  (x, w, b) => tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => sq(tf.sigmoid(tf.add(tf.matMul(a, c), d))))([x, w, b]));
add('grads fused.matMul bias relu', [f32(2, 3), f32(3, 4), f32(4)],
  (x, w, b) => tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => sq(tf.fused.matMul({ a, b: c, bias: d, activation: 'relu' })))([x, w, b]));
add('grad softmax/logSoftmax', [f32(2, 4)],
  (x) => tf.grad((a) => tf.sum(tf.mul(tf.softmax(a), tf.logSoftmax(tf.mul(a, 2)))))(x));
add('grad mean/max/min', [f32(2, 3, 4)], (x) => tf.grad((a) => tf.add(tf.mean(tf.square(a)), tf.sum(tf.mul(tf.max(a, 1, true), tf.min(a, 2, true)))))(x));
add('grads conv2d same', [f32(1, 4, 4, 2), f32(3, 3, 2, 3)],
  (x, w) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.conv2d(T4(a), T4(b), 1, 'same')))([x, w]), noWasmKernel('Conv2DBackpropFilter'));
add('grads conv2d stride 2 valid', [f32(1, 5, 5, 2), f32(2, 2, 2, 2)],
  (x, w) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.conv2d(T4(a), T4(b), 2, 'valid')))([x, w]), noWasmKernel('Conv2DBackpropFilter'));
add('grads conv2d elu (EluGrad)', [f32(1, 4, 4, 1), f32(2, 2, 1, 2)],
  (x, w) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.elu(tf.conv2d(T4(a), T4(b), 1, 'same'))))([x, w]), noWasmKernel('Conv2DBackpropFilter'));
add('grads depthwiseConv2d same', [f32(1, 4, 4, 2), f32(3, 3, 2, 2)],
  (x, w) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.depthwiseConv2d(T4(a), T4(b), 1, 'same')))([x, w]), noWasmKernel('DepthwiseConv2dNativeBackprop*'));
add('grad maxPool 2x2 stride 2', [f32(1, 4, 4, 2)], (x) => tf.grad((a) => sq(tf.maxPool(T4(a), 2, 2, 'valid')))(x));
add('grad maxPool 3x3 same', [f32(1, 4, 4, 1)], (x) => tf.grad((a) => sq(tf.maxPool(T4(a), 3, 1, 'same')))(x));
add('grad avgPool 2x2 stride 2', [f32(1, 4, 4, 2)], (x) => tf.grad((a) => sq(tf.avgPool(T4(a), 2, 2, 'valid')))(x));
add('grad avgPool 3x3 same', [f32(1, 4, 4, 1)], (x) => tf.grad((a) => sq(tf.avgPool(T4(a), 3, 1, 'same')))(x));
add('grad gather (UnsortedSegmentSum)', [f32(4, 3), r(i32(6), 0, 3)], (x, i) => tf.grad((a) => sq(tf.gather(a, i)))(x), noWasmKernel('UnsortedSegmentSum'));
add('grad gather axis 1', [f32(2, 4), r(i32(3), 0, 3)], (x, i) => tf.grad((a) => sq(tf.gather(a, i, 1)))(x), noWasmKernel('UnsortedSegmentSum'));
add('grad concat/slice/transpose/pad', [f32(2, 3)],
  (x) => tf.grad((a) => sq(tf.pad(tf.transpose(tf.slice(tf.concat([a, tf.square(a)], 1), [0, 1], [2, 4])), [[1, 0], [0, 1]])))(x));
// Length 4 like the reverse cumsums above: tfjs-backend-webgpu's cumsum shader bakes in the axis
// length but leaves it out of its cache key, so a reverse cumsum of another length would reuse a
// wrong shader (eager and compiled alike).
add('grad cumsum/where/clip', [f32(2, 4), bool(2, 4)],
  (x, c) => tf.grad((a) => sq(tf.where(c, tf.cumsum(a, 1), tf.clipByValue(a, -0.5, 0.5))))(x));
add('grads batchNorm', [f32(2, 4), f32(4), r(f32(4), 0.5, 2), f32(4), f32(4)],
  (x, m, v, o, s) => tf.grads((a: tf.Tensor, b: tf.Tensor) => sq(tf.batchNorm(a, m, v, o, b)))([x, s]));

// ---- inputs ---------------------------------------------------------------------------------------

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * Seeded by case name: adding a case does not change the inputs of the others. `shapes`
 * replaces the specs' shapes (the interop suite's other batch sizes).
 */
export function makeInputs(c: Case, shapes: readonly number[][] = c.inputs.map((s) => s.shape)): tf.Tensor[] {
  const rng = seedrandom(`ops_table:${c.name}:${hashString(c.name)}`);
  return c.inputs.map((spec, k) => {
    const s = { ...spec, shape: shapes[k]! };
    const dtype = s.dtype ?? 'float32';
    const n = s.shape.reduce((a, b) => a * b, 1);
    const [lo, hi] = s.range ?? (dtype === 'int32' ? [-5, 5] : [-2, 2]);
    const draw = (): number => {
      for (;;) {
        let v: number;
        if (dtype === 'bool') v = rng() < 0.5 ? 1 : 0;
        else if (dtype === 'int32') v = lo + Math.floor((hi - lo + 1) * rng());
        else v = s.integral ? lo + Math.floor((hi - lo + 1) * rng()) : lo + (hi - lo) * rng();
        if (s.minAbs === undefined || Math.abs(v) >= s.minAbs) return v;
      }
    };
    for (let attempt = 0; ; attempt++) {
      const vals = Array.from({ length: n }, draw);
      if (n === 0 || vals.some((v) => v !== 0)) return tf.tensor(vals, s.shape, dtype);
      if (attempt > 100) throw new Error(`${c.name}: cannot draw a non-zero input in [${lo}, ${hi}]`);
    }
  });
}
