/**
 * The per-op direct calls of the wasm executor: for one step of a plan, the call of
 * tfjs-backend-wasm's compiled C kernel with the arguments its tfjs kernel would compute, on the
 * buffers the program planned (runtime/wasm/buffer_plan.ts). A step without a direct call here
 * throws NoDirect while it is built, and runs its tfjs kernel instead (WasmProgram.fallback).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FusedActivation, OpName } from '../../ir/ops.js';
import { isFusedActivation } from '../../ir/ops.js';
import type { PlanStep } from '../plan.js';
import { checkFitsInt64AsInt32 } from '../tensor_limits.js';
import { convAttrs, poolAttrs } from '../kernels/conv_attrs.js';
import type { HeapBuffer, WasmProgram } from './program.js';
import { avgPoolNaNs, channelwiseNaNs, coalesceBroadcast, isChannelwiseConv, maxPoolNaNs, sameAsExplicit, XNN_MAX_DIMS } from './quirks.js';
import type { Dt } from './tfjs_wasm.js';
import { BYTES, CPP, wasmActivation } from './tfjs_wasm.js';

/** Weights (K·N elements) from which the transposed product of a changing W pays off. */
const TRANSPOSED_MIN_WEIGHTS = 1 << 14;

/** Sources whose value depends on the binding only: written once, when the program is built. */
export const SOURCES: ReadonlySet<OpName> = new Set<OpName>(['fill', 'sym_const', 'zeros_like', 'ones_like']);

/** tfjs-backend-wasm's Transpose drops size-1 axes first (kernels/Transpose.ts); the same reduction here. */
function removeOneSizeDims(shape: readonly number[], perm: readonly number[]): [number[], number[]] {
  const newShape: number[] = [], newPerm: number[] = [];
  for (let i = 0; i < shape.length; ++i) {
    if (shape[i] !== 1) newShape.push(shape[i]!);
    if (shape[perm[i]!] !== 1) newPerm.push(perm[i]!);
  }
  for (let i = 0; i < newPerm.length; ++i) {
    let min = -1;
    for (let j = 0; j < newPerm.length; ++j) if (newPerm[j]! >= i && (min === -1 || newPerm[min]! > newPerm[j]!)) min = j;
    newPerm[min] = i;
  }
  return [newShape, newPerm];
}

/** A failure while building a direct step: the node runs its tfjs kernel instead. */
export class NoDirect extends Error {}

/** A built step: its call, and whether its result may take the buffer of an operand that dies with it. */
export interface Built { run: () => void; inPlace: boolean }

/** A step's attrs as its tfjs kernel reads them; attrs that kernel refuses leave the step to it (and its error). */
function kernelAttrs<T>(read: () => T, op: string): T {
  try {
    return read();
  } catch {
    throw new NoDirect(op);
  }
}

export function fillSource(prog: WasmProgram, st: PlanStep, o: number, b: HeapBuffer): void {
  const op = st.node.op;
  const a = st.attrs;
  const dt = prog.dt(o);
  let value: number;
  if (op === 'fill') value = a.float('value');
  else if (op === 'sym_const') value = prog.spec.dim(a.dim('value'));
  else value = op === 'ones_like' ? 1 : 0;
  prog.view(dt, b.offset, prog.size(o)).fill(dt === 'bool' ? (value ? 1 : 0) : value);
}

/** The direct C call of a step, or NoDirect. Reads operands' ids from prog.ids at run time. */
/** A step's direct call as it is built: the program, the step, and its operands' and result's storage roots and dtypes. */
interface Site {
  prog: WasmProgram;
  st: PlanStep;
  /** Wasm tensor ids by root (read when the call runs). */
  ids: number[];
  /** Roots of the operands; x is the first. */
  ins: number[];
  x: number;
  /** Root of the (single) result. */
  out: number;
  inDt: Dt | undefined;
  outDt: Dt;
}

type DirectCall = (c: Site) => Built;

/** A float32 unary C kernel f(x, dtype, out) (tfjs-wasm's unary kernels). */
const unary = (name: string): DirectCall => ({ prog, st, ids, x, out, inDt, outDt }) => {
  if (inDt !== 'float32' || outDt !== 'float32') throw new NoDirect(st.node.op);
  const f = prog.fn(name);
  return { inPlace: true, run: () => f(ids[x]!, 0, ids[out]!) };
};

/** A broadcasting binary C kernel on operands of one of `dts`; comparisons and logic give bool. */
const binary = (name: string, dts: readonly Dt[], result: 'operand' | 'bool' = 'operand'): DirectCall => ({ prog, st, ids, ins, x, out, inDt, outDt }) => {
  const bDt = prog.dt(st.ins[1]!);
  if (inDt === undefined || !dts.includes(inDt) || bDt !== inDt) throw new NoDirect(st.node.op);
  if ((result === 'bool' ? 'bool' : inDt) !== outDt) throw new NoDirect(st.node.op);
  const f = prog.fn(name);
  let sa = prog.shape(st.ins[0]!), sb = prog.shape(st.ins[1]!);
  // XNNPACK takes at most 6 dims (quirks.ts coalesceBroadcast): the same call at a lower rank, or the op's tfjs kernel (which handles it).
  if (Math.max(sa.length, sb.length) > XNN_MAX_DIMS) {
    const c = coalesceBroadcast(sa, sb);
    if (c === null) throw new NoDirect(st.node.op);
    sa = c.a;
    sb = c.b;
  }
  const pa = prog.intArray(sa), pb = prog.intArray(sb);
  const y = ins[1]!, c = CPP[inDt];
  return { inPlace: true, run: () => f(ids[x]!, pa, sa.length, ids[y]!, pb, sb.length, c, ids[out]!) };
};

const NUMERIC: readonly Dt[] = ['float32', 'int32'];
const FLOAT: readonly Dt[] = ['float32'];

/**
 * The ops the program calls a C kernel for, keyed by IR op (a node of another op, or whose
 * dtypes or attrs a call does not take, throws NoDirect and runs its tfjs kernel).
 */
const DIRECT_CALLS: Partial<Record<OpName, DirectCall>> = {
  abs: unary('Abs'), acos: unary('Acos'), acosh: unary('Acosh'), asin: unary('Asin'), asinh: unary('Asinh'), atan: unary('Atan'),
  atanh: unary('Atanh'), ceil: unary('Ceil'), cos: unary('Cos'), cosh: unary('Cosh'), elu: unary('Elu'), erf: unary('Erf'),
  exp: unary('Exp'), expm1: unary('Expm1'), floor: unary('Floor'), log: unary('Log'), log1p: unary('Log1p'), neg: unary('Neg'),
  reciprocal: unary('Reciprocal'), relu: unary('Relu'), relu6: unary('Relu6'), round: unary('Round'), rsqrt: unary('Rsqrt'),
  selu: unary('Selu'), sign: unary('Sign'), sin: unary('Sin'), sinh: unary('Sinh'), softplus: unary('Softplus'), sqrt: unary('Sqrt'),
  square: unary('Square'), tan: unary('Tan'), tanh: unary('Tanh'),

  add: binary('Add', NUMERIC), sub: binary('Sub', NUMERIC), mul: binary('Multiply', NUMERIC), div: binary('RealDiv', FLOAT),
  maximum: binary('Maximum', NUMERIC), minimum: binary('Minimum', NUMERIC), pow: binary('Pow', FLOAT),
  squared_difference: binary('SquaredDifference', FLOAT), floor_div: binary('FloorDiv', NUMERIC), mod: binary('Mod', NUMERIC),
  atan2: binary('Atan2', FLOAT),
  equal: binary('Equal', NUMERIC, 'bool'), not_equal: binary('NotEqual', NUMERIC, 'bool'), less: binary('Less', NUMERIC, 'bool'),
  less_equal: binary('LessEqual', NUMERIC, 'bool'), greater: binary('Greater', NUMERIC, 'bool'), greater_equal: binary('GreaterEqual', NUMERIC, 'bool'),
  logical_and: binary('LogicalAnd', ['bool'], 'bool'), logical_or: binary('LogicalOr', ['bool'], 'bool'), logical_xor: binary('LogicalXor', ['bool'], 'bool'),

  sigmoid: ({ prog, st, ids, x, out, inDt }) => {
    if (inDt !== 'float32') throw new NoDirect(st.node.op);
    const f = prog.fn('Sigmoid');
    return { inPlace: true, run: () => f(ids[x]!, ids[out]!) };
  },
  step: ({ prog, st, ids, x, out, inDt }) => {
    if (inDt !== 'float32') throw new NoDirect(st.node.op);
    const f = prog.fn('Step'), alpha = st.attrs.float('alpha');
    return { inPlace: true, run: () => f(ids[x]!, alpha, 0, ids[out]!) };
  },
  leaky_relu: ({ prog, st, ids, x, out, inDt }) => {
    if (inDt !== 'float32') throw new NoDirect(st.node.op);
    const f = prog.fn('LeakyRelu'), alpha = st.attrs.float('alpha');
    return { inPlace: true, run: () => f(ids[x]!, 0, alpha, ids[out]!) };
  },
  clip: ({ prog, st, ids, x, out, inDt }) => {
    if (inDt !== 'float32') throw new NoDirect(st.node.op);
    const f = prog.fn('ClipByValue'), lo = st.attrs.float('min'), hi = st.attrs.float('max');
    return { inPlace: true, run: () => f(ids[x]!, lo, hi, ids[out]!) };
  },
  cast: ({ prog, st, x, out, inDt, outDt }) => {
    // tfjs-backend-wasm's Cast kernel is a typed-array copy (kernels/Cast.ts), the same here,
    // except to bool: a byte copy truncates (0.5 → 0, 256 → 0, -1 → 255), TF's cast is x ≠ 0.
    const from = inDt!, to = outDt, n = prog.size(st.ins[0]!), offs = prog.offs;
    if (to === 'bool' && from !== 'bool') {
      return { inPlace: false, run: () => {
        const src = prog.view(from, offs[x]!, n), dst = prog.view(to, offs[out]!, n);
        for (let i = 0; i < n; i++) dst[i] = src[i] !== 0 ? 1 : 0;
      } };
    }
    if (from === 'float32' && st.node.outputs[0]!.dtype === 'int64') {
      return { inPlace: false, run: () => {
        const src = prog.view(from, offs[x]!, n);
        checkFitsInt64AsInt32(src);
        prog.view(to, offs[out]!, n).set(src);
      } };
    }
    return { inPlace: false, run: () => { prog.view(to, offs[out]!, n).set(prog.view(from, offs[x]!, n)); } };
  },
  softmax: ({ prog, st, ids, x, out, inDt }) => {
    const s = prog.shape(st.ins[0]!);
    const a = st.attrs;
    const axis = a.int('axis') < 0 ? a.int('axis') + s.length : a.int('axis');
    if (inDt !== 'float32' || axis !== s.length - 1) throw new NoDirect(st.node.op);
    const f = prog.fn('Softmax'), channels = s[axis]!, batch = tf.util.sizeFromShape(s) / channels;
    return { inPlace: false, run: () => f(ids[x]!, ids[out]!, channels, batch) };
  },
  matmul: ({ prog, st, ins, out }) => matmul(prog, st, ins, out),
  fused_matmul: ({ prog, st, ins, out }) => matmul(prog, st, ins, out),
  conv2d: ({ prog, st, ins, out }) => conv(prog, st, ins, out),
  fused_conv2d: ({ prog, st, ins, out }) => conv(prog, st, ins, out),
  max_pool: ({ prog, st, x, out }) => pool(prog, st, x, out),
  avg_pool: ({ prog, st, x, out }) => pool(prog, st, x, out),
  transpose: ({ prog, st, x, out, inDt }) => {
    if (inDt !== 'float32' && inDt !== 'int32') throw new NoDirect(st.node.op);
    return transposeCall(prog, st.ins[0]!, x, out, [...st.attrs.ints('perm')]);
  },
  reduce_sum: ({ prog, st, x, out }) => reduce(prog, st, x, out),
  reduce_mean: ({ prog, st, x, out }) => reduce(prog, st, x, out),
  reduce_max: ({ prog, st, x, out }) => reduce(prog, st, x, out),
  reduce_min: ({ prog, st, x, out }) => reduce(prog, st, x, out),
  reduce_prod: ({ prog, st, x, out }) => reduce(prog, st, x, out),
  select: ({ prog, st, ids, out }) => {
    const [c, t, e] = st.ins;
    const sc = prog.shape(c!), s = prog.shape(t!);
    if (prog.dt(t!) !== 'float32' || prog.dt(c!) !== 'bool' || !tf.util.arraysEqual(sc, s) || !tf.util.arraysEqual(prog.shape(e!), s)) throw new NoDirect(st.node.op);
    const f = prog.fn('SelectV2');
    const cr = prog.root[c!]!, tr = prog.root[t!]!, er = prog.root[e!]!;
    // Equal shapes: one condition per element (offset 1 in tfjs's Select kernel).
    return { inPlace: false, run: () => f(ids[cr]!, ids[tr]!, ids[er]!, 1, ids[out]!) };
  },
};

/** The ops with a direct call (others always run their tfjs kernel inside a program). */
export const DIRECT_OPS: ReadonlySet<OpName> = new Set(Object.keys(DIRECT_CALLS) as OpName[]);

/** The direct C call of a step, or NoDirect. Reads operands' ids from prog.ids at run time. */
export function direct(prog: WasmProgram, st: PlanStep): Built {
  const call = DIRECT_CALLS[st.node.op];
  if (call === undefined || st.outs.length !== 1) throw new NoDirect(st.node.op);
  const ins = st.ins.map((s) => prog.root[s]!);
  return call({
    prog, st, ids: prog.ids, ins, x: ins[0]!, out: prog.root[st.outs[0]!]!,
    inDt: st.ins.length > 0 ? prog.dt(st.ins[0]!) : undefined, outDt: prog.dt(st.outs[0]!),
  });
}

function matmul(prog: WasmProgram, st: PlanStep, ins: number[], out: number): Built {
  const a = st.attrs;
  const [xs, ws] = [prog.shape(st.ins[0]!), prog.shape(st.ins[1]!)];
  const r = xs.length;
  if ((r !== 2 && r !== 3) || ws.length !== r || prog.dt(st.ins[0]!) !== 'float32' || prog.dt(st.ins[1]!) !== 'float32') throw new NoDirect('matmul');
  if (r === 3 && xs[0] !== ws[0]) throw new NoDirect('matmul');
  const ta = a.bool('transpose_a'), tb = a.bool('transpose_b');
  // An empty inner dim: XNNPACK refuses the operator (the kernel's result is zeros).
  if ((ta ? xs[r - 2] : xs[r - 1]) === 0) throw new NoDirect('matmul');
  let act = 0, bias = -1, alpha = 0;
  const activation = st.node.op === 'fused_matmul' ? a.str('activation') : 'linear';
  if (st.node.op === 'fused_matmul') {
    const id = wasmActivation(activation);
    if (id === undefined) throw new NoDirect('fused_matmul');
    act = id;
    alpha = a.has('alpha') ? a.float('alpha') : 0;
    if (a.bool('has_bias')) {
      // tfjs-backend-wasm 4.22 adds the bias at the wrong elements with a transposed operand (see runtime/kernels/op_kernels.ts).
      const bs = prog.shape(st.ins[2]!);
      const n = tb ? ws[r - 2]! : ws[r - 1]!;
      if (ta || tb || bs.length !== 1 || bs[0] !== n || prog.dt(st.ins[2]!) !== 'float32') throw new NoDirect('fused_matmul');
      bias = ins[2]!;
    }
  }
  const [M, K, N] = [xs[r - 2]!, xs[r - 1]!, ws[r - 1]!];
  if (!ta && !tb && (r === 2 || xs[0] === 1) && prog.changesEveryRun(st.ins[1]!) && 2 * M <= N && K * N >= TRANSPOSED_MIN_WEIGHTS) {
    return matmulTransposed(prog, ins[0]!, ins[1]!, bias, out, M, K, N, activation, alpha);
  }
  const s3 = (s: number[]) => (r === 3 ? s : [1, ...s]);
  const pa = prog.intArray(s3(xs)), pb = prog.intArray(s3(ws));
  const f = prog.fn('_FusedMatMul');
  const ids = prog.ids, x = ins[0]!, w = ins[1]!;
  const ita = ta ? 1 : 0, itb = tb ? 1 : 0;
  if (bias < 0) return { inPlace: false, run: () => f(ids[x]!, pa, 3, ids[w]!, pb, 3, ita, itb, act, 0, 0, alpha, ids[out]!) };
  return { inPlace: false, run: () => f(ids[x]!, pa, 3, ids[w]!, pb, 3, ita, itb, act, ids[bias]!, 0, alpha, ids[out]!) };
}

/** conv2d / fused_conv2d (NHWC) as tfjs-wasm's Conv2D / FusedConv2D kernels call their C functions. */
function conv(prog: WasmProgram, st: PlanStep, ins: number[], out: number): Built {
  const a = st.attrs;
  const xs = prog.shape(st.ins[0]!), fs = prog.shape(st.ins[1]!);
  if (xs.length !== 4 || fs.length !== 4 || prog.dt(st.ins[0]!) !== 'float32' || prog.dt(st.ins[1]!) !== 'float32') throw new NoDirect('conv');
  const c = kernelAttrs(() => convAttrs(a), 'conv');
  const info = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], fs as [number, number, number, number],
    c.strides, c.dilations, c.pad as 'same', undefined, false, 'channelsLast');
  const p = info.padInfo;
  const same = p.type === 'SAME' && !sameAsExplicit(info) ? 1 : 0;
  const ids = prog.ids, x = ins[0]!, w = ins[1]!;
  // XNNPACK's channelwise kernel turns NaN into -Infinity (see isChannelwiseConv): checked after it.
  const offs = prog.offs, ny = prog.size(st.outs[0]!);
  const nans = (bias: number) => (isChannelwiseConv(info, false)
    ? () => channelwiseNaNs(prog.view('float32', offs[x]!, ny), prog.view('float32', offs[w]!, 1), bias < 0 ? undefined : prog.view('float32', offs[bias]!, 1),
      prog.view('float32', offs[out]!, ny) as Float32Array)
    : undefined);
  if (st.node.op === 'conv2d') {
    const f = prog.fn('Conv2D'), fix = nans(-1);
    return { inPlace: false, run: () => {
      f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, ids[w]!, info.filterHeight, info.filterWidth, p.top, p.right, p.bottom, p.left, same,
        info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth, info.inChannels, info.outChannels, ids[out]!);
      fix?.();
    } };
  }
  const activation = a.str('activation');
  const act = wasmActivation(activation);
  if (act === undefined) throw new NoDirect('fused_conv2d');
  const alpha = a.has('alpha') ? a.float('alpha') : 0;
  let bias = -1;
  if (a.bool('has_bias')) {
    const bs = prog.shape(st.ins[2]!);
    if (bs.length !== 1 || bs[0] !== info.outChannels || prog.dt(st.ins[2]!) !== 'float32') throw new NoDirect('fused_conv2d');
    bias = ins[2]!;
  }
  const f = prog.fn('FusedConv2D'), fix = nans(bias);
  // A channelwise conv's NaN check comes before its activation (fuzz seed 1702543): the kernel
  // runs linear, then the activation as its own step.
  let kernelAct = act, after: (() => void) | null = null;
  if (fix !== undefined && activation !== 'linear') {
    const step = ACTIVATION_STEP[activation as FusedActivation];
    if (step === undefined) throw new NoDirect('fused_conv2d');
    kernelAct = wasmActivation('linear')!;
    after = step(prog, out, alpha);
  }
  return { inPlace: false, run: () => {
    f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, ids[w]!, info.filterHeight, info.filterWidth, bias < 0 ? 0 : ids[bias]!,
      p.top, p.right, p.bottom, p.left, same, info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth,
      info.inChannels, info.outChannels, kernelAct, 0, alpha, ids[out]!);
    fix?.();
    after?.();
  } };
}

/** max_pool / avg_pool (NHWC, f32) as tfjs-wasm's MaxPool / AvgPool kernels call their C functions. */
function pool(prog: WasmProgram, st: PlanStep, x: number, out: number): Built {
  const a = st.attrs;
  const xs = prog.shape(st.ins[0]!);
  if (xs.length !== 4 || prog.dt(st.ins[0]!) !== 'float32') throw new NoDirect('pool');
  const c = kernelAttrs(() => poolAttrs(a), 'pool');
  const info = tf.backend_util.computePool2DInfo(xs as [number, number, number, number], c.filterSize, c.strides, 1, c.pad as 'same', undefined);
  const p = info.padInfo, ids = prog.ids;
  const offs = prog.offs, nx = prog.size(st.ins[0]!), ny = prog.size(st.outs[0]!);
  if (st.node.op === 'max_pool') {
    const f = prog.fn('MaxPool');
    return { inPlace: false, run: () => {
      f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, info.filterHeight, info.filterWidth, p.top, p.right, p.bottom, p.left,
        info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth, info.inChannels, info.outChannels, ids[out]!);
      maxPoolNaNs(prog.view('float32', offs[x]!, nx), xs, info, prog.view('float32', offs[out]!, ny) as Float32Array);
    } };
  }
  const f = prog.fn('AvgPool');
  return { inPlace: false, run: () => {
    f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, info.filterHeight, info.filterWidth, p.top, p.right, p.bottom, p.left,
      info.strideHeight, info.strideWidth, info.inChannels, ids[out]!);
    avgPoolNaNs(prog.view('float32', offs[x]!, nx), xs, info, prog.view('float32', offs[out]!, ny) as Float32Array);
  } };
}

/** A fused activation applied in place to `out` after the transposed product (null: linear; undefined: no direct call). */
const ACTIVATION_STEP: Readonly<Record<FusedActivation, ((prog: WasmProgram, out: number, alpha: number) => (() => void) | null) | undefined>> = {
  linear: () => null,
  relu: (prog, out) => { const f = prog.fn('Relu'), ids = prog.ids; return () => f(ids[out]!, 0, ids[out]!); },
  relu6: (prog, out) => { const f = prog.fn('Relu6'), ids = prog.ids; return () => f(ids[out]!, 0, ids[out]!); },
  elu: (prog, out) => { const f = prog.fn('Elu'), ids = prog.ids; return () => f(ids[out]!, 0, ids[out]!); },
  sigmoid: (prog, out) => { const f = prog.fn('Sigmoid'), ids = prog.ids; return () => f(ids[out]!, ids[out]!); },
  leakyrelu: (prog, out, alpha) => { const f = prog.fn('LeakyRelu'), ids = prog.ids; return () => f(ids[out]!, 0, alpha, ids[out]!); },
  prelu: undefined,
};

/**
 * x·W as (Wᵀ·xᵀ)ᵀ, for a W that changes on every run and a short x. tfjs-wasm hands the right
 * operand to XNNPACK as weights, packed when the operator is made: a new W is packed on every
 * run (a [784,300] W: 0.5 ms of a 1.2 ms [64,784]·[784,300] product). Transposing W (0.1 ms)
 * and x, packing xᵀ instead and transposing the [N,M] result back costs less when M ≤ N/2.
 * The bias and the activation follow as their own kernels, in place. (Measured on tfjs-wasm
 * 4.22, 2 cores: 1.20 → 0.92 ms for the [64,784]·[784,300] forward of an MLP train step.)
 */
function matmulTransposed(prog: WasmProgram, x: number, w: number, bias: number, out: number, M: number, K: number, N: number, activation: string, alpha: number): Built {
  const ids = prog.ids;
  prog.stats.transposedMatmuls++;
  const tW = prog.temp('float32', N * K), tX = prog.temp('float32', K * M), tO = prog.temp('float32', N * M);
  const trW = transposeRaw(prog, [K, N], 'float32', w, tW);
  const trX = transposeRaw(prog, [M, K], 'float32', x, tX);
  const trO = transposeRaw(prog, [N, M], 'float32', tO, out);
  const pW = prog.intArray([1, N, K]), pX = prog.intArray([1, K, M]);
  const mm = prog.fn('_FusedMatMul');
  const steps: (() => void)[] = [];
  if (bias >= 0) {
    const add = prog.fn('Add'), po = prog.intArray([M, N]), pbias = prog.intArray([N]);
    steps.push(() => add(ids[out]!, po, 2, ids[bias]!, pbias, 1, 0, ids[out]!));
  }
  const step = isFusedActivation(activation) ? ACTIVATION_STEP[activation] : undefined;
  if (step === undefined) throw new NoDirect(`fused_matmul activation ${activation}`);
  const act = step(prog, out, alpha);
  if (act) steps.push(act);
  return { inPlace: false, run: () => {
    trW.run();
    trX.run();
    prog.refresh(tX, K * M);
    mm(ids[tW]!, pW, 3, ids[tX]!, pX, 3, 0, 0, 0, 0, 0, 0, ids[tO]!);
    trO.run();
    for (const f of steps) f();
  } };
}

/** Transpose of a [rows, cols] float/int buffer at index src into index dst. */
function transposeRaw(prog: WasmProgram, shape: [number, number], dt: Dt, src: number, dst: number): Built {
  const f = prog.fn('Transpose');
  const ps = prog.intArray(shape), pp = prog.intArray([1, 0]), c = CPP[dt];
  const ids = prog.ids;
  return { inPlace: false, run: () => f(ids[src]!, ps, 2, c, ids[dst]!, pp, 2) };
}

/** Transpose from index src to index dst of ids/offs (roots or temporaries). */
function transposeCall(prog: WasmProgram, inSlot: number, src: number, dst: number, perm: number[]): Built {
  const dt = prog.dt(inSlot);
  const [shape, p] = removeOneSizeDims(prog.shape(inSlot), perm);
  const ids = prog.ids, offs = prog.offs;
  if (p.every((v, i) => v === i)) {
    const n = prog.size(inSlot) * BYTES[dt];
    return { inPlace: false, run: () => { prog.be.wasm.HEAPU8.copyWithin(offs[dst]!, offs[src]!, offs[src]! + n); } };
  }
  const f = prog.fn('Transpose');
  const ps = prog.intArray(shape), pp = prog.intArray(p), c = CPP[dt];
  return { inPlace: false, run: () => f(ids[src]!, ps, shape.length, c, ids[dst]!, pp, p.length) };
}

function reduce(prog: WasmProgram, st: PlanStep, x: number, out: number): Built {
  const op = st.node.op;
  const dt = prog.dt(st.ins[0]!);
  const s = prog.shape(st.ins[0]!);
  const r = s.length;
  const axes = [...new Set(st.attrs.ints('axes').map((v) => (v < 0 ? v + r : v)))].sort((p, q) => p - q);
  if (axes.length === 0 || r === 0) throw new NoDirect(op);
  if (op === 'reduce_mean' ? dt !== 'float32' : dt !== 'float32' && dt !== 'int32') throw new NoDirect(op);
  if (prog.dt(st.outs[0]!) !== dt) throw new NoDirect(op);
  const reduceSize = axes.reduce((p, v) => p * s[v]!, 1);
  // tfjs-wasm's reduction kernels divide by the reduced size: empty inputs run as tfjs ops.
  if (reduceSize === 0 || tf.util.sizeFromShape(s) === 0) throw new NoDirect(op);
  const ids = prog.ids;
  const c = CPP[dt];
  const call = (src: number): (() => void) => {
    switch (op) {
      case 'reduce_sum': { const f = prog.fn('Sum'); return () => f(ids[src]!, reduceSize, c, ids[out]!); }
      case 'reduce_mean': { const f = prog.fn('Mean'); return () => f(ids[src]!, reduceSize, ids[out]!); }
      case 'reduce_max': { const f = prog.fn('Max'); return () => f(ids[src]!, c, reduceSize, ids[out]!); }
      case 'reduce_min': { const f = prog.fn('Min'); return () => f(ids[src]!, c, reduceSize, ids[out]!); }
      default: { const f = prog.fn('Prod'); return () => f(ids[src]!, reduceSize, c, ids[out]!); }
    }
  };
  const inner = axes.every((v, i) => v === r - axes.length + i);
  if (inner) return { inPlace: false, run: call(x) };
  // Leading axes: the reduced axes are transposed innermost into a temporary first (as tfjs's kernel does).
  const kept = [...s.keys()].filter((i) => !axes.includes(i));
  const tmp = prog.temp(dt, tf.util.sizeFromShape(s));
  const t = transposeCall(prog, st.ins[0]!, x, tmp, [...kept, ...axes]);
  const red = call(tmp);
  return { inPlace: false, run: () => { t.run(); red(); } };
}
