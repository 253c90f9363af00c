/**
 * The runtime binding of each IR op to tfjs-core: one entry per OpName (a missing op is a
 * compile error). Graphs are traced from tfjs kernels, so every entry computes what the
 * tfjs kernel the op was recorded from computes. Where a public tfjs op adds behaviour the
 * kernel does not have (tf.div on int32 dispatches to FloorDiv, tf.oneHot rejects depth 1,
 * tf.clipByValue with min = max becomes a fill, tf.conv2d rejects strides and dilations
 * both > 1), the entry calls the kernel with `tf.engine().runKernel` instead.
 *
 * int64 does not exist in tfjs: int64 values are int32 tensors at run time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dim } from '../../ir/dim.js';
import type { FusedActivation, OpName } from '../../ir/ops.js';
import { AttrReader, isFusedActivation, OP_NAMES } from '../../ir/ops.js';
import { fusedElementwiseKernel } from '../fused/fused_elementwise.js';
import { tensorFromData, tfDtype } from '../tensor_data.js';
import { checkFitsInt64AsInt32 } from '../tensor_limits.js';
import { avgPoolNaNs, channelwiseNaNs, coalesceBroadcast, isChannelwiseConv, maxPoolNaNs, sameAsExplicit, XNN_MAX_DIMS } from '../wasm/quirks.js';
import { conv2dCpu, matmulCpu, sliceCpu, tileJs } from './cpu_kernels.js';
import type { Pad, Pair } from './conv_attrs.js';
import { convAttrs, poolAttrs } from './conv_attrs.js';
import type { ExecCtx, OpKernel, Unsupported } from './kernel_types.js';
import { wasmMatMul } from './wasm_matmul.js';

// ---- helpers -------------------------------------------------------------------------

const runKernel = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown> = {}): tf.Tensor =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

/**
 * A conv's pad argument for the kernel. tfjs-wasm hands a 'same' conv to XNNPACK as TF SAME
 * padding, which XNNPACK works out as (out−1)·stride + filter − in in unsigned arithmetic: where
 * that is negative (a stride larger than the filter, e.g. a 1×2 filter with stride 2 over 6 rows)
 * the result was left zeros (fuzz seed 15431). tfjs clamps it to 0; on wasm the same pads are
 * then given explicitly (see sameAsExplicit).
 */
function convPad(x: tf.Tensor, f: tf.Tensor, a: AttrReader, depthwise: boolean): Pad {
  const { strides, pad, dilations } = convAttrs(a);
  if (pad !== 'same' || tf.getBackend() !== 'wasm' || x.rank !== 4 || f.rank !== 4) return pad;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], f.shape as [number, number, number, number],
    strides, dilations, 'same', undefined, depthwise, 'channelsLast');
  if (!sameAsExplicit(info)) return pad;
  const p = info.padInfo;
  return [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]];
}

/** The optional operands of a fused op: (x, w, [bias], [prelu weights]). */
function fusedExtras(ins: tf.Tensor[], a: AttrReader) {
  const activation = a.str('activation');
  if (!isFusedActivation(activation)) throw new Error(`unknown fused activation '${activation}'`);
  const hasBias = a.bool('has_bias');
  return {
    bias: hasBias ? ins[2] : undefined,
    activation,
    preluActivationWeights: activation === 'prelu' ? ins[hasBias ? 3 : 2] : undefined,
    leakyreluAlpha: a.has('alpha') ? a.float('alpha') : undefined,
  };
}

/**
 * On wasm, a conv that tfjs-wasm runs as XNNPACK's channelwise kernel turns NaN into -Infinity
 * (see isChannelwiseConv): its -Infinity results are checked. `bias`: the fused conv's, if any.
 */
function wasmConvNaNs(y: tf.Tensor, x: tf.Tensor, f: tf.Tensor, bias: tf.Tensor | undefined, a: AttrReader, ctx: ExecCtx, depthwise: boolean): tf.Tensor {
  if (!wasmChannelwise(y, x, f, a, ctx, depthwise)) return y;
  const data = y.dataSync().slice() as Float32Array;
  return channelwiseNaNs(x.dataSync(), f.dataSync(), bias?.dataSync(), data) ? tf.tensor(data, y.shape, 'float32') : y;
}

/** Whether this conv runs on wasm as XNNPACK's channelwise kernel (see isChannelwiseConv). */
function wasmChannelwise(y: tf.Tensor | undefined, x: tf.Tensor, f: tf.Tensor, a: AttrReader, ctx: ExecCtx, depthwise: boolean): boolean {
  if (ctx.backend !== 'wasm' || y?.size === 0 || x.dtype !== 'float32' || x.rank !== 4 || f.rank !== 4) return false;
  const { strides, pad, dilations } = convAttrs(a);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], f.shape as [number, number, number, number],
    strides, dilations, pad as 'same', undefined, depthwise, 'channelsLast');
  return isChannelwiseConv(info, depthwise);
}

/**
 * max_pool / avg_pool. On wasm, tfjs-wasm's MaxPool and AvgPool (XNNPACK) give -Infinity for a
 * window holding a NaN: the -Infinity results are checked (see maxPoolNaNs, avgPoolNaNs).
 */
function pool2d(x: tf.Tensor, a: AttrReader, ctx: ExecCtx, max: boolean): tf.Tensor {
  const p = poolAttrs(a);
  const y = emptyPool(x, a) ?? (max ? tf.maxPool : tf.avgPool)(x as tf.Tensor4D, p.filterSize, p.strides, p.pad);
  if (ctx.backend !== 'wasm' || y.size === 0 || x.dtype !== 'float32') return y;
  const data = y.dataSync().slice() as Float32Array;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], p.filterSize, p.strides, 1, p.pad as 'same');
  return (max ? maxPoolNaNs : avgPoolNaNs)(x.dataSync(), x.shape, info, data) ? tf.tensor(data, y.shape, 'float32') : y;
}

/** FusedConv2D / FusedDepthwiseConv2D: (x, filter, [bias], [prelu weights]). */
function fusedConv(kernel: 'FusedConv2D' | 'FusedDepthwiseConv2D', ins: tf.Tensor[], a: AttrReader, ctx: ExecCtx): tf.Tensor {
  const { bias, preluActivationWeights, activation, leakyreluAlpha } = fusedExtras(ins, a);
  const inputs: tf.NamedTensorMap = { x: ins[0]!, filter: ins[1]! };
  if (bias) inputs['bias'] = bias;
  if (preluActivationWeights) inputs['preluActivationWeights'] = preluActivationWeights;
  const depthwise = kernel === 'FusedDepthwiseConv2D';
  const pad = convPad(ins[0]!, ins[1]!, a, depthwise);
  if (activation !== 'linear' && wasmChannelwise(undefined, ins[0]!, ins[1]!, a, ctx, depthwise)) {
    // The channelwise kernel's -Infinity for a NaN is checked before the activation (fuzz seed
    // 1702543: sigmoid of it gave 0 where tfjs-cpu gives NaN): linear, checked, then activated.
    delete inputs['preluActivationWeights'];
    return tf.tidy(() => {
      const lin = runKernel(kernel, inputs, { ...convAttrs(a), pad, dataFormat: 'NHWC', activation: 'linear' });
      const y = wasmConvNaNs(lin, ins[0]!, ins[1]!, bias, a, ctx, depthwise);
      return activate(y, activation, leakyreluAlpha) ?? tf.prelu(y, preluActivationWeights!);
    });
  }
  const y = runKernel(kernel, inputs, { ...convAttrs(a), pad, dataFormat: 'NHWC', activation, leakyreluAlpha });
  return activation === 'linear' ? wasmConvNaNs(y, ins[0]!, ins[1]!, bias, a, ctx, depthwise) : y;
}

/**
 * A filter [kh, kw, ...] with (d-1) zeros inserted between taps along the two spatial axes:
 * a conv with the dilated filter and dilation 1 equals the conv with dilation d (same output
 * size and the same 'same' padding, which tfjs computes from the effective filter size).
 */
function dilateFilter(f: tf.Tensor, [dh, dw]: Pair): tf.Tensor {
  let out = f;
  for (const [axis, d] of [[0, dh], [1, dw]] as const) {
    if (d === 1) continue;
    const k = out.shape[axis]!;
    const e = tf.expandDims(out, axis + 1);                       // [.., k, 1, ..]
    const padding = e.shape.map((_, i): Pair => (i === axis + 1 ? [0, d - 1] : [0, 0]));
    const spread = tf.reshape(tf.pad(e, padding), out.shape.map((s, i) => (i === axis ? k * d : s)));
    const size = spread.shape.map((s, i) => (i === axis ? (k - 1) * d + 1 : s));
    out = tf.slice(spread, spread.shape.map(() => 0), size);
  }
  return out;
}

const checkDilations = (op: string, dil: Pair): void => {
  if (dil[0] < 1 || dil[1] < 1) throw new Error(`${op}: dilations must be ≥ 1, got [${dil.join(',')}]`);
};

/** Batch norm as tfjs's FusedBatchNorm kernel computes it, when every parameter is per-channel. */
function isPerChannel(p: tf.Tensor, x: tf.Tensor): boolean {
  const last = x.shape[x.rank - 1] ?? 1;
  return p.shape.slice(0, -1).every((d) => d === 1) && (p.size === 1 || p.size === last);
}

/** softmax / log_softmax over any axis: tfjs's kernels only reduce the last axis. */
function alongLastAxis(x: tf.Tensor, axis: number, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax === x.rank - 1) return f(x);
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  perm[ax] = x.rank - 1;
  perm[x.rank - 1] = ax;                                           // a swap is its own inverse
  return tf.transpose(f(tf.transpose(x, perm)), perm);
}

/**
 * strided_slice in the IR's normalized form (one entry per axis, no masks, absolute
 * begin/end): a positive stride walks [begin, end) with 0 ≤ begin, end ≤ n; a negative one
 * walks from begin down to end exclusive, with end = -1 meaning "through index 0". tfjs would
 * read -1 as n-1, so such an end becomes an end-mask bit.
 */
/**
 * tf.slice, as row copies where tfjs copies element by element through TensorBuffer (about
 * 1 µs per element): every slice on tfjs-cpu, and slices of rank 5 and up on tfjs-wasm
 * (its Slice has loops for ranks 2 to 4 only).
 */
function sliceRows(x: tf.Tensor, begin: number[], size: number[], backend: string): tf.Tensor {
  if (backend === 'cpu' || (backend === 'wasm' && x.rank > 4)) {
    const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
    const r = sliceCpu(x, b!, s!);
    if (r) return r;
  }
  return tf.slice(x, begin, size);
}

function stridedSlice(x: tf.Tensor, begin: number[], end: number[], strides: readonly number[], backend: string): tf.Tensor {
  const b: number[] = [], e: number[] = [], s: number[] = [];
  let endMask = 0;
  x.shape.forEach((n, i) => {
    const st = strides[i]!;
    if (st === 0) throw new Error(`strided_slice: stride 0 on axis ${i}`);
    if (st > 0) {
      b.push(Math.min(Math.max(begin[i]!, 0), n)); e.push(Math.min(Math.max(end[i]!, 0), n)); s.push(st);
      return;
    }
    const bi = Math.min(begin[i]!, n - 1), ei = Math.min(Math.max(end[i]!, -1), n - 1);
    if (bi < 0) { b.push(0); e.push(0); s.push(1); return; }        // empty along this axis
    b.push(bi); e.push(ei < 0 ? 0 : ei); s.push(st);
    if (ei < 0) endMask |= 1 << i;
  });
  // Unit strides are a slice: tfjs-cpu's and tfjs-wasm's StridedSlice compute every element's
  // source index in JavaScript (fuzz seed 24 case 4099: the 8 taps of a 3-D AveragePool over
  // [1,3,32,255,32] took 7 s on each engine).
  if (endMask === 0 && s.every((st) => st === 1) && b.every((bi, i) => e[i]! > bi)) {
    const size = b.map((bi, i) => e[i]! - bi);
    return sliceRows(x, b, size, backend);
  }
  return tf.stridedSlice(x, b, e, s, 0, endMask);
}

/** tf.pad with per-side paddings that may be negative (a negative side crops). */
function padSigned(x: tf.Tensor, flat: readonly number[], value: number, backend: string): tf.Tensor {
  const sides = x.shape.map((_, i): Pair => [flat[2 * i]!, flat[2 * i + 1]!]);
  const grown = sides.some(([b, a]) => b > 0 || a > 0)
    ? tf.pad(x, sides.map(([b, a]): Pair => [Math.max(b, 0), Math.max(a, 0)]), value) : x;
  if (sides.every(([b, a]) => b >= 0 && a >= 0)) return grown;
  const begin = sides.map(([b]) => Math.max(-b, 0));
  const size = grown.shape.map((d, i) => d - begin[i]! - Math.max(-sides[i]![1], 0));
  // tfjs-cpu slices element by element (fuzz seed 21 case 2445: Pad by [1,16777216,-1,-1] took 115 s).
  return sliceRows(grown, begin, size, backend);
}

const shapeOf = (ctx: ExecCtx, ds: readonly Dim[]): number[] => ctx.dims(ds);

/** Each fused activation as tfjs's fused kernels apply it (the same kernels); prelu (it needs its weights) is the caller's. */
const ACTIVATE: Readonly<Record<FusedActivation, ((t: tf.Tensor, alpha: number | undefined) => tf.Tensor) | undefined>> = {
  linear: (t) => t,
  relu: (t) => tf.relu(t),
  relu6: (t) => tf.relu6(t),
  sigmoid: (t) => tf.sigmoid(t),
  elu: (t) => tf.elu(t),
  leakyrelu: (t, alpha) => tf.leakyRelu(t, alpha ?? 0.2),
  prelu: undefined,
};

/** A fused op's activation applied to `t`, or undefined for prelu. */
function activate(t: tf.Tensor, activation: FusedActivation, alpha: number | undefined): tf.Tensor | undefined {
  return ACTIVATE[activation]?.(t, alpha);
}

/** matmul / fused_matmul on cpu through runtime/kernels/cpu_kernels.ts where it applies. */
function cpuMatMul(ins: tf.Tensor[], a: AttrReader, ctx: ExecCtx, fused: boolean): tf.Tensor | undefined {
  if (ctx.backend !== 'cpu') return undefined;
  const extras = fused ? fusedExtras(ins, a) : { bias: undefined, activation: 'linear' as const, leakyreluAlpha: undefined, preluActivationWeights: undefined };
  if (extras.activation === 'prelu') return undefined;
  return tf.tidy(() => {
    const y = matmulCpu(ins[0]!, ins[1]!, a.bool('transpose_a'), a.bool('transpose_b'), extras.bias);
    return y && activate(y, extras.activation, extras.leakyreluAlpha);
  });
}

/** conv2d / fused_conv2d on cpu as im2col × filter (runtime/kernels/cpu_kernels.ts) where it applies. */
function cpuConv(ins: tf.Tensor[], a: AttrReader, ctx: ExecCtx, fused: boolean): tf.Tensor | undefined {
  if (ctx.backend !== 'cpu') return undefined;
  const extras = fused ? fusedExtras(ins, a) : { bias: undefined, activation: 'linear' as const, leakyreluAlpha: undefined, preluActivationWeights: undefined };
  if (extras.activation === 'prelu') return undefined;
  const { strides, pad, dilations } = convAttrs(a);
  return tf.tidy(() => {
    const y = conv2dCpu(ins[0]!, ins[1]!, strides, pad, dilations, extras.bias);
    return y && activate(y, extras.activation, extras.leakyreluAlpha);
  });
}

function fusedMatMulFast(ins: tf.Tensor[], a: AttrReader, ctx: ExecCtx): tf.Tensor | undefined {
  const c = cpuMatMul(ins, a, ctx, true);
  if (c) return c;
  if (ctx.backend !== 'wasm') return undefined;
  const extras = fusedExtras(ins, a);
  if (extras.preluActivationWeights !== undefined) return undefined;
  return wasmMatMul(ins[0]!, ins[1]!, a.bool('transpose_a'), a.bool('transpose_b'), extras.bias, extras.activation, extras.leakyreluAlpha, ctx);
}

function fusedMatMulSlow(ins: tf.Tensor[], a: AttrReader, ctx: ExecCtx): tf.Tensor {
    const extras = fusedExtras(ins, a);

    let [x, w] = [ins[0]!, ins[1]!];
    let [ta, tb] = [a.bool('transpose_a'), a.bool('transpose_b')];
    // tfjs-backend-wasm 4.22's _FusedMatMul adds the bias at the wrong elements when an operand
    // is transposed (tf.fused.matMul({a: [[1,2],[3,4],[5,6]], b: [[1,2],[6,8]], transposeB: true,
    // bias: [0,4]}) gives row 1 as [15, 54], not [11, 54]): transpose explicitly there.
    if (ctx.backend === 'wasm' && extras.bias !== undefined && (ta || tb)) {
      const swapLast = (t: tf.Tensor) => tf.transpose(t, [...t.shape.keys()].map((i) => (i < t.rank - 2 ? i : 2 * t.rank - 3 - i)));
      if (ta) x = swapLast(x);
      if (tb) w = swapLast(w);
      ta = tb = false;
    }
    // tfjs-backend-wasm 4.22's _FusedMatMul reads the wrong rows when the operands' batch dims
    // broadcast ([3,1,4,8] × [1,8,5] + bias: max |Δ| 1.04 against tfjs-cpu; its BatchMatMul is
    // right): there the product, then the bias and activation.
    if (ctx.backend === 'wasm' && !sameBatch(x, w)) {
      const y = tf.matMul(x, w, ta, tb);
      const z = extras.bias !== undefined ? tf.add(y, extras.bias) : y;
      return activate(z, extras.activation, extras.leakyreluAlpha) ?? tf.prelu(z, extras.preluActivationWeights!);
    }
    return tf.fused.matMul({ a: x, b: w, transposeA: ta, transposeB: tb, ...extras });
}

/**
 * matmul / fused_matmul of a left operand with batch dims by a right one without (rank 2, or
 * batch dims all 1; a bias or PReLU slope of rank ≤ 1): one 2-D product over all the rows,
 * reshaped back. A scan's hoisted input projection ([time,1,batch,16] × [1,16,128]) is such a
 * product; tfjs multiplies it batch by batch (wasm: 5.9 ms against 1.0 ms flat, 64 batches).
 */
function flatBatch(k: OpKernel): OpKernel {
  return (ins, a, ctx) => {
    const [x, w] = ins as [tf.Tensor, tf.Tensor];
    const r = x.rank;
    if (r <= 2 || w.rank < 2 || a.bool('transpose_a') || w.shape.slice(0, -2).some((d) => d !== 1) || ins.slice(2).some((t) => t.rank > 1)) return k(ins, a, ctx);
    const m = x.shape[r - 2]!, kk = x.shape[r - 1]!;
    const n = a.bool('transpose_b') ? w.shape[w.rank - 2]! : w.shape[w.rank - 1]!;
    const batch = x.shape.slice(0, -2);
    while (batch.length < w.rank - 2) batch.unshift(1);
    const rows = x.size / kk;
    if (!Number.isInteger(rows) || kk === 0) return k(ins, a, ctx);
    return tf.tidy(() => {
      const y = k([tf.reshape(x, [rows, kk]), tf.reshape(w, w.shape.slice(-2)), ...ins.slice(2)], a, ctx);
      return tf.reshape(Array.isArray(y) ? y[0]! : y, [...batch, m, n]);
    });
  };
}

/** Whether two matmul operands have the same batch dims (nothing to broadcast). */
function sameBatch(x: tf.Tensor, w: tf.Tensor): boolean {
  if (x.rank !== w.rank) return false;
  for (let i = 0; i < x.rank - 2; i++) if (x.shape[i] !== w.shape[i]) return false;
  return true;
}

/**
 * prelu as tfjs-cpu's kernel computes it: x < 0 ? alpha·x : x, broadcast. tfjs-wasm's Prelu is
 * XNNPACK's, with x.size / alpha.size rows of alpha.size channels and a result of x's shape: it
 * divides by an empty alpha's size (a wasm trap) and reads the wrong elements (or past the end)
 * for an alpha that is not a suffix of x's shape ([1,1] with [4,2,2]: a [1,1] result of garbage).
 * There the same products are taken elementwise.
 */
function prelu(x: tf.Tensor, alpha: tf.Tensor, ctx: ExecCtx): tf.Tensor {
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(x.shape, alpha.shape);
  if (x.size === 0 || alpha.size === 0) return tf.zeros(shape, x.dtype);
  // XNNPACK's channels are alpha's elements in order: right where alpha, less its leading 1s, is x's last dims.
  const lead = alpha.shape.findIndex((d) => d !== 1);
  const inner = lead < 0 ? [] : alpha.shape.slice(lead);
  const suffix = inner.length <= x.rank && tf.util.arraysEqual(x.shape.slice(x.rank - inner.length), inner);
  if (ctx.backend === 'cpu' || (suffix && tf.util.arraysEqual(shape, x.shape))) return tf.prelu(x, alpha);
  return tf.tidy(() => {
    const xb = tf.util.arraysEqual(shape, x.shape) ? x : tf.broadcastTo(x, shape);
    return tf.where(tf.less(xb, 0), tf.mul(alpha, xb), xb);
  });
}

/**
 * A reshape's target in this run. tf.where keeps a dim of 1 against a broadcast dim of 0 (see
 * selectKernel), so its result can be 1 where its type has a symbol bound to 0, and a target the
 * program took from that result's shape (`v.shape[0]`, 1 eagerly) was traced as the symbol
 * (seed 6276). Where the typed target does not fit x, symbols bound to 0 are read as 1.
 */
function reshapeTarget(x: tf.Tensor, ds: readonly Dim[], ctx: ExecCtx): number[] {
  const shape = shapeOf(ctx, ds);
  if (tf.util.sizeFromShape(shape) === x.size) return shape;
  const alt = ds.map((d) => (typeof d === 'number' || ctx.dim({ sym: d.sym, k: 1, c: 0 }) !== 0 ? ctx.dim(d) : d.k + d.c));
  return tf.util.sizeFromShape(alt) === x.size ? alt : shape;
}

/** The shape tf.broadcastTo(x, shape) gives: tfjs returns x itself (rank-padded) when no dim grows past 1, so 1 → 0 keeps the 1. */
function tfjsBroadcastShape(xs: readonly number[], shape: readonly number[]): number[] {
  const padded = [...Array<number>(shape.length - xs.length).fill(1), ...xs];
  return padded.some((d, i) => d !== shape[i] && shape[i]! > 1) ? [...shape] : padded;
}

/**
 * select of numbers as tf.where computes it on tfjs-cpu. tf.where broadcasts its operands with
 * tf.broadcastTo, which leaves a dim of 1 as it is where the broadcast dim is 0: with a zero-size
 * operand the Select kernel gets operands of different sizes. tfjs-cpu's kernel then gives t's
 * shape, zeros past the condition's elements and reads missing branch elements as NaN (0 in
 * int32); tfjs-wasm's reads and writes past the buffers (garbage, or heap corruption). Those
 * cases are computed here as tfjs-cpu does; all others are tf.where.
 */
function selectKernel(c: tf.Tensor, t: tf.Tensor, e: tf.Tensor): tf.Tensor {
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(tf.broadcast_util.assertAndGetBroadcastShape(c.shape, t.shape), e.shape);
  const [sc, st, se] = [c, t, e].map((x) => tfjsBroadcastShape(x.shape, shape)) as [number[], number[], number[]];
  const n = tf.util.sizeFromShape(st);
  if (tf.util.sizeFromShape(sc) === n && tf.util.sizeFromShape(se) === n) return tf.where(c, t, e);
  // A tiled operand has the broadcast shape, which holds a 0: it is empty.
  const values = (x: tf.Tensor, s: number[]) => (tf.util.sizeFromShape(s) === x.size ? x.dataSync() : new Float32Array(0));
  const cv = values(c, sc), tv = values(t, st), ev = values(e, se);
  const out = t.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  const offset = sc.length === 0 || sc.length > 1 || st.length === 1 ? 1 : tf.util.sizeFromShape(st.slice(1));
  let k = 0;
  for (let i = 0; i < cv.length; i++) {
    for (let j = 0; j < offset; j++) out[k++] = (cv[i] === 1 ? tv[i] : ev[i]) ?? NaN;
  }
  return tf.tensor(out, st, t.dtype);
}

/**
 * A conv or depthwise conv with an empty result is empty, one with no input channels zeros (then
 * the bias and activation of a fused one), as on tfjs-cpu: tfjs-wasm's depthwise kernel divides by
 * the channel count (a wasm trap), XNNPACK refuses the other operators and tfjs-wasm leaves the
 * result uninitialised. An empty result of non-empty operands (a window larger than the padded
 * input, the other dim non-zero) is never handed to the kernel: XNNPACK sizes its output
 * itself, in unsigned arithmetic, and wrote past the empty block into the heap (fuzz seed 26
 * case 10932). Undefined where neither the operands nor the result are empty.
 */
function emptyConv(ins: tf.Tensor[], a: AttrReader, fused: boolean, depthwise = false): tf.Tensor | undefined {
  const [x, f] = [ins[0]!, ins[1]!];
  if (x.rank !== 4 || f.rank !== 4) return undefined;
  const { strides, pad, dilations } = convAttrs(a);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], f.shape as [number, number, number, number],
    strides, dilations, pad as 'same', undefined, depthwise, 'channelsLast');
  const outShape = info.outShape.map((d) => Math.max(0, d));      // tfjs's 'valid' size of a too-large window is -0
  if (x.size > 0 && f.size > 0 && tf.util.sizeFromShape(outShape) > 0) return undefined;
  const zeros = tf.zeros(outShape, x.dtype);
  if (!fused || zeros.size === 0) return zeros;
  const { bias, activation, leakyreluAlpha, preluActivationWeights } = fusedExtras(ins, a);
  const y = bias ? tf.add(zeros, bias) : zeros;
  return activate(y, activation, leakyreluAlpha) ?? tf.prelu(y, preluActivationWeights!);
}

/**
 * A pool with an empty result is empty, without the kernel: XNNPACK refuses the operator of an
 * empty input, and given a window larger than the padded input it sizes its output itself, in
 * unsigned arithmetic, and writes past the empty block into the heap (fuzz seed 26 case 10932:
 * AveragePool 5×5 by 3 over [1,3,32,3] left the wasm heap corrupt, and an unrelated model 9
 * cases later trapped).
 */
function emptyPool(x: tf.Tensor, a: AttrReader): tf.Tensor | undefined {
  if (x.rank !== 4) return undefined;
  const p = poolAttrs(a);
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], p.filterSize, p.strides, 1, p.pad as 'same');
  const outShape = info.outShape.map((d) => Math.max(0, d));      // tfjs's 'valid' size of a too-large window is -0
  return tf.util.sizeFromShape(outShape) === 0 ? tf.zeros(outShape, x.dtype) : undefined;
}

// ---- the table -----------------------------------------------------------------------

/**
 * Kernels that make no temporaries (one tfjs op on operands of one dtype, or the wasm matmul fast
 * path tidying its own fallback): the Session runs them without a tf.tidy of their own (the run's
 * engine scope still catches anything left behind). See NO_TEMPORARIES.
 */
const BARE = new WeakSet<OpKernel>();
const bare = (k: OpKernel): OpKernel => { BARE.add(k); return k; };

const u = (f: (x: tf.Tensor) => tf.Tensor): OpKernel => ([x]) => f(x!);
const b = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): OpKernel => ([x, y], _a, ctx) =>
  (ctx?.backend === 'wasm' && Math.max(x!.rank, y!.rank) > XNN_MAX_DIMS ? highRankOnWasm(f, x!, y!) : f(x!, y!));

/**
 * A broadcasting binary op of more than 6 dims on tfjs-wasm (XNNPACK leaves such a result
 * unwritten: quirks.ts coalesceBroadcast): the operands reshaped to at most 6 dims, or where
 * no such shapes exist, both broadcast to the result's shape and flattened.
 */
function highRankOnWasm(f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(x.shape, y.shape);
  if (shape.includes(0)) return f(x, y);
  const c = coalesceBroadcast(x.shape, y.shape);
  return tf.tidy(() => (c !== null
    ? tf.reshape(f(tf.reshape(x, c.a), tf.reshape(y, c.b)), shape)
    : tf.reshape(f(tf.reshape(tf.broadcastTo(x, shape), [-1]), tf.reshape(tf.broadcastTo(y, shape), [-1])), shape)));
}
/**
 * A unary op whose tfjs-wasm C kernel takes float32 only: given int32 it leaves the result
 * unwritten (heap garbage: log1p, acosh, asinh, …), reads the ints' bits as floats (reciprocal,
 * isFinite, isNaN) or converts ±Infinity and NaN differently (acos, sinh). On wasm an int32 x is
 * computed as tfjs-cpu's kernel does: in doubles, stored into an int32 result (NaN, ±Infinity → 0)
 * or, for the predicates, a bool one (fuzz seeds 7483, 9204, 9630).
 */
const intOnWasm = (f: (x: tf.Tensor) => tf.Tensor, m: (v: number) => number, dtype: 'int32' | 'bool' = 'int32'): OpKernel => ([x]) => {
  if (x!.dtype !== 'int32' || tf.getBackend() !== 'wasm') return f(x!);
  const src = x!.dataSync() as Int32Array;
  const out = dtype === 'bool' ? new Uint8Array(src.length) : new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = m(src[i]!);
  return tf.tensor(out, x!.shape, dtype);
};
/**
 * A reduction. Over an empty tensor it gives what tfjs-cpu's kernel gives, directly: tfjs-wasm's
 * kernels divide by the reduced size (a wasm "divide by zero" trap) or, over an empty axis of a
 * non-empty result, leave the result uninitialised. `empty` is the value of each element of a
 * result reduced over an empty axis, by the result's dtype: tfjs-cpu's sum 0 and prod 1; its
 * mean sums x/n, so 0; its max and min start from the axis's first element, which an empty
 * typed array reads as NaN in float32 and 0 in int32. (all / any keep their identities, true
 * and false, as ONNX Runtime gives; tfjs-cpu's all gives false there.)
 */
const reduce = (f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor, empty: (dtype: 'float32' | 'int32' | 'bool') => number,
  dtypeOf: (x: tf.Tensor) => 'float32' | 'int32' | 'bool' = (x) => x.dtype as 'float32' | 'int32' | 'bool'): OpKernel =>
  ([x], a) => {
    const axes = [...a.ints('axes')], keep = a.bool('keep_dims');
    if (x!.size > 0) return f(x!, axes, keep);
    const r = x!.rank, red = new Set(axes.map((v) => (v < 0 ? v + r : v)));
    const shape = x!.shape.flatMap((d, i) => (!red.has(i) ? [d] : keep ? [1] : []));
    const dtype = dtypeOf(x!);
    return tf.fill(shape, empty(dtype), dtype);
  };
/** tfjs sums and multiplies bools as int32; its mean is float32 (its kernels divide in float). */
const asInt = (x: tf.Tensor) => (x.dtype === 'bool' ? 'int32' : x.dtype as 'float32' | 'int32');
const firstOfEmpty = (dtype: string) => (dtype === 'float32' ? NaN : 0);

/** argmax / argmin: an empty tensor gives index 0 everywhere (tfjs-cpu's kernel; tfjs-wasm's divides by zero). */
const argReduce = (f: (x: tf.Tensor, axis: number) => tf.Tensor): OpKernel => ([x], a) => {
  const axis = a.int('axis');
  if (x!.size > 0) return f(x!, axis);
  const ax = axis < 0 ? axis + x!.rank : axis;
  return tf.zeros(x!.shape.filter((_, i) => i !== ax), 'int32');
};

/** The context of an op inside a fused program (elementwise ops read none of it). */
const CHAIN_CTX: ExecCtx = {
  backend: 'chain', dim: () => { throw new Error('no dims inside a fused program'); }, dims: () => [], seedFor: () => undefined,
};

const TABLE: Record<OpName, OpKernel | Unsupported> = {
  // sources
  const: (_, a) => tensorFromData(a.tensor('value')),
  sym_const: (_, a, ctx) => tf.scalar(ctx.dim(a.dim('value')), tfDtype(a.dtype('dtype'))),
  fill: (_, a, ctx) => tf.fill(shapeOf(ctx, a.dims('shape')), a.float('value'), tfDtype(a.dtype('dtype'))),
  range: (_, a) => {
    const dt = tfDtype(a.dtype('dtype'));
    const r = tf.range(a.float('start'), a.float('stop'), a.float('step'), dt === 'bool' ? 'int32' : dt);
    return dt === 'bool' ? tf.cast(r, 'bool') : r;
  },
  random_uniform: (_, a, ctx) => tf.randomUniform(shapeOf(ctx, a.dims('shape')), a.float('min'), a.float('max'),
    tfDtype(a.dtype('dtype')), ctx.seedFor(a.int('seed'))),
  random_normal: (_, a, ctx) => {
    const dt = tfDtype(a.dtype('dtype'));
    if (dt === 'bool') throw new Error('random_normal: dtype bool is not a numeric type');
    const draw = a.bool('truncated') ? tf.truncatedNormal : tf.randomNormal;
    return draw(shapeOf(ctx, a.dims('shape')), a.float('mean'), a.float('std'), dt, ctx.seedFor(a.int('seed')));
  },
  assign: () => [],                                                // the Session writes the variable
  // Prints as x.print() does eagerly (console.log of tfjs's formatting), at run time.
  print: ([x], a) => { x!.print(a.bool('verbose')); return []; },
  // Control flow runs its regions as sub-plans (runtime/control_flow.ts), not as one tfjs kernel.
  cond: { unsupported: 'cond runs its regions through the executor (runtime/control_flow.ts), not as one tfjs kernel' },
  while_loop: { unsupported: 'while_loop runs its regions through the executor (runtime/control_flow.ts), not as one tfjs kernel' },
  scan: { unsupported: 'scan runs its regions through the executor (runtime/control_flow.ts), not as one tfjs kernel' },

  // elementwise unary
  abs: bare(u(tf.abs)), acos: bare(intOnWasm(tf.acos, Math.acos)), acosh: bare(intOnWasm(tf.acosh, Math.acosh)), asin: bare(intOnWasm(tf.asin, Math.asin)), asinh: bare(intOnWasm(tf.asinh, Math.asinh)),
  atan: bare(u(tf.atan)), atanh: bare(intOnWasm(tf.atanh, Math.atanh)), ceil: bare(u(tf.ceil)), cos: bare(u(tf.cos)), cosh: bare(u(tf.cosh)),
  elu: bare(u(tf.elu)), erf: bare(u(tf.erf)), exp: bare(u(tf.exp)), expm1: bare(intOnWasm(tf.expm1, Math.expm1)), floor: bare(u(tf.floor)),
  log: bare(u(tf.log)), log1p: bare(intOnWasm(tf.log1p, Math.log1p)), neg: bare(u(tf.neg)), reciprocal: bare(intOnWasm(tf.reciprocal, (v) => 1 / v)), relu: bare(u(tf.relu)),
  relu6: bare(u(tf.relu6)), round: bare(u(tf.round)), rsqrt: bare(u(tf.rsqrt)), selu: bare(u(tf.selu)), sigmoid: bare(u(tf.sigmoid)),
  sign: bare(u(tf.sign)), sin: bare(u(tf.sin)), sinh: bare(intOnWasm(tf.sinh, Math.sinh)), softplus: bare(u(tf.softplus)), sqrt: bare(u(tf.sqrt)),
  square: bare(u(tf.square)), tan: bare(u(tf.tan)), tanh: bare(u(tf.tanh)), identity: bare(u(tf.clone)),
  leaky_relu: ([x], a) => tf.leakyRelu(x!, a.float('alpha')),
  step: ([x], a) => tf.step(x!, a.float('alpha')),
  // The ClipByValue kernel, not tf.clipByValue: that one turns min = max into a fill (NaN lost).
  clip: ([x], a) => runKernel('ClipByValue', { x: x! }, { clipValueMin: a.float('min'), clipValueMax: a.float('max') }),
  is_nan: intOnWasm(tf.isNaN, () => 0, 'bool'), is_inf: u(tf.isInf), is_finite: intOnWasm(tf.isFinite, () => 1, 'bool'),
  logical_not: u(tf.logicalNot),
  // To bool, TF's cast is x ≠ 0 (NaN → true); tfjs-backend-wasm's Cast copies bytes (0.5 → false, 256 → false, -1 → 255).
  cast: ([x], a, ctx) => {
    const to = a.dtype('dtype');
    if (to === 'bool' && x!.dtype !== 'bool') return tf.notEqual(x!, tf.scalar(0, x!.dtype));
    // Float to int64 is narrowed to int32: checked where the data can be read synchronously (not webgpu).
    if (to === 'int64' && x!.dtype === 'float32' && (ctx.backend === 'cpu' || ctx.backend === 'wasm')) checkFitsInt64AsInt32(x!.dataSync() as Float32Array);
    return tf.cast(x!, tfDtype(to));
  },
  zeros_like: u(tf.zerosLike), ones_like: u(tf.onesLike),

  // elementwise binary
  add: bare(b(tf.add)), sub: bare(b(tf.sub)), mul: bare(b(tf.mul)),
  // RealDiv: tf.div on two int32 tensors would run FloorDiv instead.
  div: b((x, y) => runKernel('RealDiv', { a: x, b: y })),
  floor_div: b(tf.floorDiv), mod: b(tf.mod), pow: b(tf.pow),
  maximum: bare(b(tf.maximum)), minimum: bare(b(tf.minimum)), squared_difference: bare(b(tf.squaredDifference)),
  atan2: b(tf.atan2),
  prelu: ([x, al], _a, ctx) => prelu(x!, al!, ctx),
  elu_grad: ([dy, y]) => runKernel('EluGrad', { dy: dy!, y: y! }),
  equal: b(tf.equal), not_equal: b(tf.notEqual), less: b(tf.less), less_equal: b(tf.lessEqual),
  greater: b(tf.greater), greater_equal: b(tf.greaterEqual),
  logical_and: b(tf.logicalAnd), logical_or: b(tf.logicalOr), logical_xor: b(tf.logicalXor),
  // Bool branches as logic: tfjs-wasm's Select copies 4 bytes per element, writing past a bool
  // result (heap corruption that breaks every later wasm op, eager tf.where on bools too).
  select: ([c, x, y]) => (x!.dtype === 'bool'
    ? tf.tidy(() => tf.logicalOr(tf.logicalAnd(c!, x!), tf.logicalAnd(tf.logicalNot(c!), y!)))
    : selectKernel(c!, x!, y!)),
  // One generated kernel per backend (runtime/fused/); the chain of the entries above where none is faster.
  fused_elementwise: fusedElementwiseKernel((op, ins, attrs) => {
    const r = (TABLE[op] as OpKernel)(ins, new AttrReader(op, attrs), CHAIN_CTX);
    return Array.isArray(r) ? r[0]! : r;
  }),
  // tf.addN needs equal shapes; the IR's add_n broadcasts.
  add_n: (ins) => {
    const shape = ins.reduce<number[]>((s, t) => tf.broadcast_util.assertAndGetBroadcastShape(s, t.shape), []);
    return tf.addN(ins.map((t) => (tf.util.arraysEqual(t.shape, shape) ? t : tf.broadcastTo(t, shape))));
  },

  // reductions
  reduce_sum: reduce(tf.sum, () => 0, asInt), reduce_mean: reduce(tf.mean, () => 0, () => 'float32'),
  reduce_max: reduce(tf.max, firstOfEmpty), reduce_min: reduce(tf.min, firstOfEmpty), reduce_prod: reduce(tf.prod, () => 1, asInt),
  reduce_all: reduce(tf.all, () => 1), reduce_any: reduce(tf.any, () => 0),
  argmax: argReduce(tf.argMax), argmin: argReduce(tf.argMin),
  // An empty tensor is its own cumulative sum (tfjs-wasm's Cumsum divides by the size).
  cumsum: ([x], a) => (x!.size === 0 ? tf.zeros(x!.shape, asInt(x!))
    : tf.cumsum(x!, a.int('axis'), a.bool('exclusive'), a.bool('reverse'))),
  softmax: ([x], a) => alongLastAxis(x!, a.int('axis'), (t) => tf.softmax(t)),
  log_softmax: ([x], a) => alongLastAxis(x!, a.int('axis'), (t) => tf.logSoftmax(t)),

  // linear algebra and nn
  matmul: bare(flatBatch((ins, a, ctx) => {
    const [x, w] = ins as [tf.Tensor, tf.Tensor];
    return emptyMatMul(x, w, a.bool('transpose_a'), a.bool('transpose_b')) ?? wasmMatMul(x, w, a.bool('transpose_a'), a.bool('transpose_b'), undefined, 'linear', undefined, ctx)
      ?? cpuMatMul([x, w], a, ctx, false) ?? tf.tidy(() => tf.matMul(x, w, a.bool('transpose_a'), a.bool('transpose_b')));
  })),
  fused_matmul: bare(flatBatch((ins, a, ctx) => {
    const e = emptyMatMul(ins[0]!, ins[1]!, a.bool('transpose_a'), a.bool('transpose_b'));
    if (e) {
      // An empty inner dim: zeros, then the bias and activation as the fused kernel adds them.
      const { bias, activation, leakyreluAlpha, preluActivationWeights } = fusedExtras(ins, a);
      if (e.size === 0) return e;
      return tf.tidy(() => { const y = bias ? tf.add(e, bias) : e; return activate(y, activation, leakyreluAlpha) ?? tf.prelu(y, preluActivationWeights!); });
    }
    const r = fusedMatMulFast(ins, a, ctx);
    return r ?? tf.tidy(() => fusedMatMulSlow(ins, a, ctx));
  })),
  // The kernels, not tf.conv2d / tf.depthwiseConv2d: those reject strides and dilations both > 1.
  conv2d: ([x, f], a, ctx) => emptyConv([x!, f!], a, false) ?? cpuConv([x!, f!], a, ctx, false)
    ?? wasmConvNaNs(runKernel('Conv2D', { x: x!, filter: f! }, { ...convAttrs(a), pad: convPad(x!, f!, a, false), dataFormat: 'NHWC' }), x!, f!, undefined, a, ctx, false),
  depthwise_conv2d: ([x, f], a, ctx) => emptyConv([x!, f!], a, false, true)
    ?? wasmConvNaNs(runKernel('DepthwiseConv2dNative', { x: x!, filter: f! }, { ...convAttrs(a), pad: convPad(x!, f!, a, true), dataFormat: 'NHWC' }), x!, f!, undefined, a, ctx, true),
  // The kernels, not tf.fused.conv2d / tf.fused.depthwiseConv2d: those reject strides and
  // dilations both > 1 (and the depthwise one explicit pads).
  fused_conv2d: (ins, a, ctx) => emptyConv(ins, a, true) ?? cpuConv(ins, a, ctx, true) ?? fusedConv('FusedConv2D', ins, a, ctx),
  fused_depthwise_conv2d: (ins, a, ctx) => emptyConv(ins, a, true, true) ?? fusedConv('FusedDepthwiseConv2D', ins, a, ctx),
  // tfjs's Conv2DBackprop* kernels ignore dilations (tfjs has no dilated conv gradient); a
  // dilated one runs the kernel on the filter with zeros inserted between its taps.
  conv2d_backprop_input: ([dy, f], a, ctx) => {
    const { strides, pad, dilations } = convAttrs(a);
    checkDilations('conv2d_backprop_input', dilations);
    return runKernel('Conv2DBackpropInput', { dy: dy!, filter: dilateFilter(f!, dilations) },
      { strides, pad, dataFormat: 'NHWC', inputShape: shapeOf(ctx, a.dims('input_shape')) });
  },
  conv2d_backprop_filter: ([x, dy], a) => {
    const { strides, pad, dilations } = convAttrs(a);
    checkDilations('conv2d_backprop_filter', dilations);
    const [kh, kw, ci, co] = a.ints('filter_shape') as [number, number, number, number];
    const [dh, dw] = dilations;
    const eff = [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co];
    const g = runKernel('Conv2DBackpropFilter', { x: x!, dy: dy! }, { strides, pad, dataFormat: 'NHWC', filterShape: eff });
    return dh === 1 && dw === 1 ? g : tf.stridedSlice(g, [0, 0, 0, 0], eff, [dh, dw, 1, 1]);
  },
  depthwise_conv2d_backprop_input: ([dy, f], a, ctx) => runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dy!, filter: f! },
    { ...convAttrs(a), inputShape: shapeOf(ctx, a.dims('input_shape')) }),
  depthwise_conv2d_backprop_filter: ([x, dy], a) => runKernel('DepthwiseConv2dNativeBackpropFilter', { x: x!, dy: dy! },
    { ...convAttrs(a), filterShape: [...a.ints('filter_shape')] }),
  max_pool: ([x], a, ctx) => pool2d(x!, a, ctx, true),
  avg_pool: ([x], a, ctx) => pool2d(x!, a, ctx, false),
  max_pool_grad: ([dy, x, y], a) => runKernel('MaxPoolGrad', { dy: dy!, input: x!, output: y! }, poolAttrs(a)),
  avg_pool_grad: ([dy, x], a) => runKernel('AvgPoolGrad', { dy: dy!, input: x! }, poolAttrs(a)),
  // tf.batchNorm (the FusedBatchNorm kernel) indexes its parameters modulo their size, which
  // is broadcasting only for per-channel (last-axis) parameters; others use elementwise ops.
  batch_norm: ([x, mean, variance, offset, scale], a) => {
    const eps = a.float('epsilon');
    const params = [mean!, variance!, offset!, scale!];
    if (params.every((p) => isPerChannel(p, x!))) {
      // tf.batchNorm wants its parameters of equal rank: a scalar (a default offset or scale) becomes [1].
      const [m, v, o, s] = params.map((p) => (p.rank === 1 ? p : tf.reshape(p, [p.size]))) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.batchNorm(x!, m, v, o, s, eps);
    }
    return tf.add(tf.mul(tf.sub(x!, mean!), tf.div(scale!, tf.sqrt(tf.add(variance!, eps)))), offset!);
  },

  // shape and data movement
  reshape: bare(([x], a, ctx) => tf.reshape(x!, reshapeTarget(x!, a.dims('shape'), ctx))),
  // An empty tensor transposes to an empty tensor: tfjs-wasm's Transpose divides by a zero dim.
  transpose: bare(([x], a) => (x!.size === 0
    ? tf.zeros([...a.ints('perm')].map((p) => x!.shape[p]!), x!.dtype)
    : tf.transpose(x!, [...a.ints('perm')]))),
  concat: (ins, a) => tf.concat(ins, a.int('axis')),
  pack: (ins, a) => tf.stack(ins, a.int('axis')),
  unpack: ([x], a) => tf.unstack(x!, a.int('axis')),
  split: ([x], a, ctx) => tf.split(x!, shapeOf(ctx, a.dims('sizes')), a.int('axis')),
  slice: ([x], a, ctx) => sliceRows(x!, shapeOf(ctx, a.dims('begin')), shapeOf(ctx, a.dims('size')), ctx.backend),
  strided_slice: ([x], a, ctx) => stridedSlice(x!, shapeOf(ctx, a.dims('begin')), shapeOf(ctx, a.dims('end')), a.ints('strides'), ctx.backend),
  // tfjs-wasm's GatherV2 hands back an empty x's gather with its flattened rank-4 shape.
  gather: ([x, idx], a) => {
    const r = tf.gather(x!, idx!, a.int('axis'), a.int('batch_dims'));
    if (x!.size !== 0) return r;
    const axis = tf.util.parseAxisParam(a.int('axis'), x!.shape)[0]!;
    const shape = tf.backend_util.segment_util.collectGatherOpShapeInfo(x! as tf.TensorInfo as never, idx! as never, axis, a.int('batch_dims')).outputShape;
    return tf.util.arraysEqual(r.shape, shape) ? r : tf.reshape(r, shape);
  },
  pad: ([x], a, ctx) => padSigned(x!, a.ints('paddings'), a.float('value'), ctx.backend),
  tile: ([x], a, ctx) => ((ctx.backend === 'cpu' || ctx.backend === 'wasm') ? tileJs(x!, a.ints('reps')) : undefined) ?? tf.tile(x!, [...a.ints('reps')]),
  // Bools as int32: tfjs-wasm's Reverse copies 4 bytes per element, past a bool result (heap corruption).
  reverse: ([x], a) => (x!.dtype === 'bool'
    ? tf.tidy(() => tf.notEqual(tf.reverse(tf.cast(x!, 'int32'), [...a.ints('axes')]), 0))
    : tf.reverse(x!, [...a.ints('axes')])),
  // tfjs broadcasts with its Tile kernel, element by element on cpu and wasm (fuzz seed 25 case
  // 8064: a [1] to [2,16777216,2] took 5.2 s on cpu and 8.4 s on wasm): tileJs's block copies.
  broadcast_to: ([x], a, ctx) => {
    const shape = shapeOf(ctx, a.dims('shape'));
    if ((ctx.backend === 'cpu' || ctx.backend === 'wasm') && shape.length >= x!.rank) {
      const lead = shape.length - x!.rank;
      const xs = [...new Array<number>(lead).fill(1), ...x!.shape];
      if (xs.every((d, i) => d === shape[i] || d === 1)) {
        const flat = lead > 0 ? tf.reshape(x!, xs) : x!;
        const r = tileJs(flat, xs.map((d, i) => (d === shape[i] ? 1 : shape[i]!)));
        if (flat !== x!) flat.dispose();
        if (r) return r;
      }
    }
    return tf.broadcastTo(x!, shape);
  },
  // The OneHot kernel: tf.oneHot rejects depth < 2.
  one_hot: ([i], a, ctx) => {
    const depth = a.int('depth'), on = a.float('on_value'), off = a.float('off_value'), dtype = tfDtype(a.dtype('dtype'));
    if (ctx.backend !== 'wasm') return runKernel('OneHot', { indices: i! }, { depth, onValue: on, offValue: off, dtype });
    // tfjs-backend-wasm 4.22's OneHot writes int32 values into a float32 or bool result
    // (tf.oneHot([0], 2, 1, 0, 'float32') reads back [1.4e-45, 0]) and writes outside the
    // result for an index ≥ depth. The result is written here from the (small) indices: an
    // index out of range gives all off values, as tfjs-cpu and TensorFlow do. (Built from
    // tfjs-wasm's broadcast equal and where instead, a [3, 2^24] one-hot took 19 s.)
    const idx = i!.dataSync(), n = idx.length;
    const out = dtype === 'float32' ? new Float32Array(n * depth) : dtype === 'int32' ? new Int32Array(n * depth) : new Uint8Array(n * depth);
    const onV = dtype === 'bool' ? (on ? 1 : 0) : dtype === 'int32' ? Math.trunc(on) : on;
    const offV = dtype === 'bool' ? (off ? 1 : 0) : dtype === 'int32' ? Math.trunc(off) : off;
    if (offV !== 0) out.fill(offV);
    for (let k = 0; k < n; k++) {
      const j = idx[k]!;
      if (j >= 0 && j < depth) out[k * depth + j] = onV;
    }
    return tf.tensor(out, [...i!.shape, depth], dtype);
  },
  // tfjs's kernel segments along axis 0 only; ids of rank r segment the first r axes of x.
  unsorted_segment_sum: ([x, ids], a) => {
    const r = ids!.rank, n = a.int('num_segments');
    const flatX = r === 1 ? x! : tf.reshape(x!, [ids!.size, ...x!.shape.slice(r)]);
    const flatIds = tf.reshape(ids!, [ids!.size]) as tf.Tensor1D;
    if (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined) return tf.unsortedSegmentSum(flatX, flatIds, n);
    // tfjs-backend-wasm has no UnsortedSegmentSum (the tracer lowers ScatterNd and gather's
    // gradient to it): ScatterNd adds duplicate indices; out-of-range ids are dropped, as there.
    const valid = tf.logicalAnd(tf.greaterEqual(flatIds, 0), tf.less(flatIds, n));
    const idx = tf.reshape(tf.where(valid, flatIds, tf.zerosLike(flatIds)), [ids!.size, 1]);
    const upd = tf.where(tf.reshape(valid, [ids!.size, ...flatX.shape.slice(1).map(() => 1)]), flatX, tf.zerosLike(flatX));
    return tf.scatterND(idx, upd, [n, ...flatX.shape.slice(1)]);
  },
};

/**
 * A product with an empty inner dim is zeros (tfjs-wasm's XNNPACK refuses such an operator and
 * leaves the result uninitialised), an empty product is empty; undefined otherwise.
 */
function emptyMatMul(x: tf.Tensor, w: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor | undefined {
  const r = x.rank;
  if (r < 2 || w.rank < 2) return undefined;
  const k = ta ? x.shape[r - 2]! : x.shape[r - 1]!;
  const m = ta ? x.shape[r - 1]! : x.shape[r - 2]!;
  const n = tb ? w.shape[w.rank - 2]! : w.shape[w.rank - 1]!;
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(x.shape.slice(0, -2), w.shape.slice(0, -2));
  // An empty result is empty as well (tfjs-wasm's BatchMatMul takes a remainder by the batch size).
  if (k !== 0 && m * n * batch.reduce((p, q) => p * q, 1) !== 0) return undefined;
  return tf.zeros([...batch, m, n], x.dtype);
}

/**
 * Every kernel returns tensors distinct from its inputs (a few tfjs ops hand back their
 * input unchanged), so the Session may free an input after its last use without freeing
 * an output with it.
 */
function freshOutputs(table: Record<OpName, OpKernel | Unsupported>): Record<OpName, OpKernel | Unsupported> {
  const out = {} as Record<OpName, OpKernel | Unsupported>;
  for (const [op, k] of Object.entries(table) as [OpName, OpKernel | Unsupported][]) {
    out[op] = typeof k !== 'function' ? k : (ins, a, ctx) => {
      const r = k(ins, a, ctx);
      if (Array.isArray(r)) return r.map((t) => (ins.includes(t) ? tf.clone(t) : t));
      return ins.includes(r) ? tf.clone(r) : r;
    };
  }
  return out;
}

export const OP_KERNELS: Record<OpName, OpKernel | Unsupported> = freshOutputs(TABLE);

export function isUnsupported(k: OpKernel | Unsupported): k is Unsupported {
  return typeof k !== 'function';
}

/** The ops whose kernel is marked bare() in the table above: they make no temporaries. */
export const NO_TEMPORARIES: ReadonlySet<OpName> = new Set(OP_NAMES.filter((op) => BARE.has(TABLE[op] as OpKernel)));
