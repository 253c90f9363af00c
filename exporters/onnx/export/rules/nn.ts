/**
 * Export rules for matmuls, convolutions, pooling and batch norm. graphc's conv / pool ops
 * are NHWC with HWIO filters (as tfjs); ONNX's are NCHW with OIHW weights. Each op is
 * exported as Transpose(NHWC→NCHW) → op → Transpose(NCHW→NHWC), filters transposed (an
 * initializer once the transpose of a constant is folded); the transpose-sinking pass
 * then cancels the pairs between consecutive layers.
 */
import type { Dim } from '../../../../ir/dim.js';
import { dimEq, isStatic } from '../../../../ir/dim.js';
import type { OpName } from '../../../../ir/ops.js';
import { sizeOf, tensorData } from '../../../../ir/tensor_data.js';
import type { OnnxAttrs } from '../onnx_graph.js';
import { attr } from '../onnx_graph.js';
import type { ExportRule, RuleCtx, Unsupported } from '../rule_types.js';
import { EXPORT_GRAD_RULES as GRAD } from './grad.js';
import { activation, broadcastsTo, swapLast, valueAttr } from './helpers.js';

export const NHWC_TO_NCHW = [0, 3, 1, 2] as const;
export const NCHW_TO_NHWC = [0, 2, 3, 1] as const;
export const HWIO_TO_OIHW = [3, 2, 0, 1] as const;

// ---- matmul ------------------------------------------------------------------------------------

/** x·w (transposed as asked): Gemm for float rank-2 operands (taking a bias that broadcasts), else MatMul. */
function matmul(cx: RuleCtx, bias: number | undefined, out: string): { y: string; biasDone: boolean } {
  const e = cx.e;
  const ta = cx.a.bool('transpose_a'), tb = cx.a.bool('transpose_b');
  const xT = cx.inType(0), wT = cx.inType(1), yT = cx.outType();
  // An inner dim that is 0 only at run time: ONNX Runtime fuses a Transpose into a batched MatMul
  // (FusedMatMul), which leaves the result uninitialised there (fuzz seed 200167: 1955.99 where
  // the sum of nothing is 0), so a MatMul's product is Where(K = 0, 0, product). Its Gemm, plain
  // MatMul and 2-D transposed MatMul give zeros (20 runs each on a dirty arena, 256×256 results),
  // so the Gemm form takes no guard: the guard's Where over the result cost 266 µs of an MLP Adam
  // step's 4.3 ms, whose weight gradients have the batch as K. A static K = 0 is the zeros it
  // sums to (fuzz seed 601698: x·xᵀ of [2, 2, 0] gave 0.2469 and 3.8e-22 there); a static K > 0
  // needs nothing. A result with a static 0 dim is empty, and is written so: ONNX Runtime's
  // FusedMatMul (a Transpose fused in, graph optimization 'extended') of a [0, batch, 3]
  // operand killed the process with SIGFPE at batch 0 (fuzz seed 1003642).
  const k = xT.shape[ta ? xT.shape.length - 2 : xT.shape.length - 1]!;
  if (k === 0 || yT.shape.includes(0)) return { y: e.op('Expand', [e.scalar(0, yT.dtype), cx.dims.shape(yT.shape)], {}, out), biasDone: false };
  const gemm = xT.shape.length === 2 && wT.shape.length === 2 && xT.dtype === 'float32';
  if (!isStatic(k) && !gemm) {
    const product = matmulProduct(cx, undefined, e.fresh('matmul'));
    const empty = e.op('Equal', [cx.dims.dim1(k), e.i64([0])]);
    return { y: e.op('Where', [empty, e.scalar(0, yT.dtype), product.y], {}, out), biasDone: false };
  }
  return matmulProduct(cx, bias, out);
}

function matmulProduct(cx: RuleCtx, bias: number | undefined, out: string): { y: string; biasDone: boolean } {
  const e = cx.e;
  const ta = cx.a.bool('transpose_a'), tb = cx.a.bool('transpose_b');
  const xT = cx.inType(0), wT = cx.inType(1), yT = cx.outType();
  if (xT.shape.length === 2 && wT.shape.length === 2 && xT.dtype === 'float32') {
    const useBias = bias !== undefined && broadcastsTo(cx.inType(bias).shape, yT.shape);
    const ins = [cx.ins[0]!, cx.ins[1]!, ...(useBias ? [cx.ins[bias]!] : [])];
    return { y: e.op('Gemm', ins, { transA: attr.int(ta), transB: attr.int(tb) }, out), biasDone: useBias };
  }
  // ONNX Runtime's matmul broadcasts batch dims as max(a, b): a batch dim of 0 against 1 is
  // refused ("left operand cannot broadcast on dim 0", seed 12091), except where it flattens a
  // batched x against a rank-2 w (x not transposed). Where a broadcast batch dim may be 0, the
  // operand that broadcasts is expanded to the result's batch dims first.
  const batch = yT.shape.slice(0, -2);
  const mayBeEmpty = batch.some((d) => !isStatic(d) || d === 0);
  const fit = (v: string, shape: readonly Dim[]) => {
    const own = shape.slice(0, -2);
    const padded = [...Array<Dim>(batch.length - own.length).fill(1), ...own];
    return padded.every((d, i) => dimEq(d, batch[i]!)) ? v : e.op('Expand', [v, cx.dims.shape([...batch, 1, 1])]);
  };
  const x0 = mayBeEmpty ? fit(cx.ins[0]!, xT.shape) : cx.ins[0]!;
  const w0 = mayBeEmpty && (ta || wT.shape.length > 2) ? fit(cx.ins[1]!, wT.shape) : cx.ins[1]!;
  const x = ta ? swapLast(e, x0, x0 !== cx.ins[0] ? yT.shape.length : xT.shape.length) : x0;
  const w = tb ? swapLast(e, w0, w0 !== cx.ins[1] ? yT.shape.length : wT.shape.length) : w0;
  return { y: e.op('MatMul', [x, w], {}, out), biasDone: false };
}

const matmulRule: ExportRule = (cx) => { matmul(cx, undefined, cx.outs[0]!); };

/** fused_matmul: (x, w, [bias], [prelu weights]) → matmul, + bias, activation. */
const fusedMatmul: ExportRule = (cx) => {
  const e = cx.e;
  const hasBias = cx.a.bool('has_bias');
  const act = cx.a.str('activation');
  const last = !hasBias && act === 'linear';
  const { y, biasDone } = matmul(cx, hasBias ? 2 : undefined, last ? cx.outs[0]! : e.fresh('matmul'));
  let z = y;
  if (hasBias && !biasDone) z = e.op('Add', [y, cx.ins[2]!], {}, act === 'linear' ? cx.outs[0] : undefined);
  else if (hasBias && act === 'linear') z = e.op('Identity', [y], {}, cx.outs[0]);
  if (act !== 'linear') activation(cx, act, z, cx.outType().shape, cx.outs[0]!, hasBias ? 3 : 2);
};

// ---- windows (conv, pool) -------------------------------------------------------------------------

/** ONNX pads [top, left, bottom, right] (or auto_pad) for tfjs's padding of a 2-D window. */
function windowPads(cx: RuleCtx, hw: readonly [Dim, Dim], k: readonly [number, number], s: readonly number[], d: readonly number[]): OnnxAttrs {
  const padding = cx.a.str('padding');
  if (padding === 'valid') return { pads: attr.ints([0, 0, 0, 0]) };
  if (padding === 'explicit') {
    const [t, b, l, r] = cx.a.ints('pads') as [number, number, number, number];
    return { pads: attr.ints([t, l, b, r]) };
  }
  if (padding !== 'same') cx.fail(`unknown padding '${padding}'`);
  if (!isStatic(hw[0]) || !isStatic(hw[1])) return { auto_pad: attr.str('SAME_UPPER') };
  // tfjs 'same': out = ceil(in / s); the odd pixel of padding goes after (ONNX SAME_UPPER).
  const before: number[] = [], after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const n = hw[i] as number;
    const total = Math.max(0, (Math.ceil(n / s[i]!) - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - n);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return { pads: attr.ints([...before, ...after]) };
}

function staticDims(cx: RuleCtx, ds: readonly Dim[], what: string): number[] {
  return ds.map((d) => (isStatic(d) ? d : cx.fail(`${what} must be static for ONNX export, got a symbolic dim`)));
}

/** conv2d / depthwise_conv2d and their fused forms: (x, filter, [bias], [prelu weights]). */
const conv = (depthwise: boolean, fused: boolean): ExportRule => (cx) => {
  const e = cx.e;
  const xT = cx.inType(0);
  const [kh, kw, ci, m] = staticDims(cx, cx.inType(1).shape, 'the filter shape') as [number, number, number, number];
  const outC = depthwise ? ci * m : m;
  if (ci === 0 || outC === 0) { emptyConv(cx, fused); return; }
  const xN = e.op('Transpose', [cx.ins[0]!], { perm: attr.ints(NHWC_TO_NCHW) }, e.fresh('nchw'));
  const filter = cx.ins[1]!;
  // Depthwise [kh, kw, C, M] → [kh, kw, 1, C·M] (output channel c·M + m, as tfjs), then OIHW with group = C.
  const hwio = depthwise ? e.op('Reshape', [filter, e.i64([kh, kw, 1, outC])], {}, e.values.fresh(`${filter}_dw`)) : filter;
  const w = e.op('Transpose', [hwio], { perm: attr.ints(HWIO_TO_OIHW) }, e.values.fresh(`${filter}_oihw`));
  const ins = [xN, w];
  const hasBias = fused && cx.a.bool('has_bias');
  let lateBias: string | undefined;
  if (hasBias) {
    const bT = cx.inType(2);
    const perChannel = bT.shape.length >= 1 && bT.shape.slice(0, -1).every((d) => d === 1) && bT.shape[bT.shape.length - 1] === outC;
    if (perChannel) ins.push(bT.shape.length === 1 ? cx.ins[2]! : e.op('Reshape', [cx.ins[2]!, e.i64([outC])]));
    else lateBias = cx.ins[2]!;
  }
  const strides = cx.a.ints('strides'), dilations = cx.a.ints('dilations');
  const yN = e.op('Conv', ins, {
    kernel_shape: attr.ints([kh, kw]), strides: attr.ints(strides), dilations: attr.ints(dilations),
    group: attr.int(depthwise ? ci : 1), ...windowPads(cx, [xT.shape[1]!, xT.shape[2]!], [kh, kw], strides, dilations),
  });
  const act = fused ? cx.a.str('activation') : 'linear';
  let y = e.op('Transpose', [yN], { perm: attr.ints(NCHW_TO_NHWC) }, lateBias === undefined && act === 'linear' ? cx.outs[0] : undefined);
  if (lateBias !== undefined) y = e.op('Add', [y, lateBias], {}, act === 'linear' ? cx.outs[0] : undefined);
  if (act !== 'linear') activation(cx, act, y, cx.outType().shape, cx.outs[0]!, hasBias ? 3 : 2);
};

/**
 * A conv without input or output channels: zeros of the result's shape, then the bias and the
 * activation. ONNX Runtime's NCHWc layout transform takes 0 channels for a multiple of its block
 * size and the model then fails to load ("ReorderOutput … invalid channel count"); its Conv with
 * 0 input channels leaves the result uninitialised.
 */
function emptyConv(cx: RuleCtx, fused: boolean): void {
  const e = cx.e;
  const yT = cx.outType();
  const hasBias = fused && cx.a.bool('has_bias');
  const act = fused ? cx.a.str('activation') : 'linear';
  let y = e.op('ConstantOfShape', [cx.dims.shape(yT.shape)], { value: attr.tensor(valueAttr(0, yT.dtype)) },
    !hasBias && act === 'linear' ? cx.outs[0] : undefined);
  if (hasBias) y = e.op('Add', [y, cx.ins[2]!], {}, act === 'linear' ? cx.outs[0] : undefined);
  if (act !== 'linear') activation(cx, act, y, yT.shape, cx.outs[0]!, hasBias ? 3 : 2);
}

const pool = (opType: 'MaxPool' | 'AveragePool'): ExportRule => (cx) => {
  const e = cx.e;
  const xT = cx.inType(0);
  // No channels: an empty result (ONNX Runtime's NCHWc transform fails on 0 channels, see emptyConv).
  if (xT.shape[3] === 0) {
    cx.e.op('ConstantOfShape', [cx.dims.shape(cx.outType().shape)], { value: attr.tensor(valueAttr(0, xT.dtype)) }, cx.outs[0]);
    return;
  }
  const k = cx.a.ints('filter_size') as [number, number];
  const strides = cx.a.ints('strides');
  const xN = e.op('Transpose', [cx.ins[0]!], { perm: attr.ints(NHWC_TO_NCHW) }, e.fresh('nchw'));
  const extra: OnnxAttrs = opType === 'AveragePool' ? { count_include_pad: attr.int(0) } : {};
  const yN = e.op(opType, [xN], {
    kernel_shape: attr.ints(k), strides: attr.ints(strides), ...extra,
    ...windowPads(cx, [xT.shape[1]!, xT.shape[2]!], k, strides, [1, 1]),
  });
  e.op('Transpose', [yN], { perm: attr.ints(NCHW_TO_NHWC) }, cx.outs[0]);
};

// ---- batch norm ------------------------------------------------------------------------------------

/**
 * batch_norm (x, mean, variance, offset, scale): BatchNormalization over the channel (last)
 * axis moved to axis 1 when every parameter is per-channel; otherwise the formula tfjs
 * uses for general broadcasting.
 */
const batchNorm: ExportRule = (cx) => {
  const e = cx.e;
  const xT = cx.inType(0);
  const r = xT.shape.length;
  const c = xT.shape[r - 1];
  const eps = cx.a.float('epsilon');
  const isPerChannel = (i: number) => {
    const s = cx.inType(i).shape;
    return s.slice(0, -1).every((d) => d === 1) && (s.length === 0 || s[s.length - 1] === 1 || s[s.length - 1] === c);
  };
  if (r >= 2 && c !== undefined && isStatic(c) && [1, 2, 3, 4].every(isPerChannel)) {
    const vec = (i: number): string => {
      const t = cx.inType(i);
      if (t.shape.length === 1 && t.shape[0] === c) return cx.ins[i]!;
      const data = cx.constOf(i);
      if (data) {
        const n = sizeOf(data.shape);
        return e.constant(tensorData('float32', [c], Array.from({ length: c }, (_, k) => Number(data.data[n === 1 ? 0 : k]!))), 'bn_param');
      }
      const flat = e.op('Reshape', [cx.ins[i]!, e.i64([-1])]);
      return sizeOf(staticDims(cx, t.shape, 'batch_norm parameter shapes')) === c ? flat : e.op('Expand', [flat, e.i64([c])]);
    };
    const [mean, variance, offset, scale] = [vec(1), vec(2), vec(3), vec(4)];
    const fwd = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
    const back = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
    const xN = r === 2 ? cx.ins[0]! : e.op('Transpose', [cx.ins[0]!], { perm: attr.ints(fwd) }, e.fresh('nchw'));
    const yN = e.op('BatchNormalization', [xN, scale, offset, mean, variance], { epsilon: attr.float(eps) }, r === 2 ? cx.outs[0] : undefined);
    if (r > 2) e.op('Transpose', [yN], { perm: attr.ints(back) }, cx.outs[0]);
    return;
  }
  const [x, mean, variance, offset, scale] = cx.ins as [string, string, string, string, string];
  const inv = e.op('Div', [scale, e.op('Sqrt', [e.op('Add', [variance, e.scalar(eps, 'float32')])])]);
  e.op('Add', [e.op('Mul', [e.op('Sub', [x, mean]), inv]), offset], {}, cx.outs[0]);
};

export const EXPORT_NN_RULES = {
  matmul: matmulRule,
  fused_matmul: fusedMatmul,
  conv2d: conv(false, false),
  depthwise_conv2d: conv(true, false),
  fused_conv2d: conv(false, true),
  fused_depthwise_conv2d: conv(true, true),
  conv2d_backprop_input: GRAD.conv2d_backprop_input,
  conv2d_backprop_filter: GRAD.conv2d_backprop_filter,
  depthwise_conv2d_backprop_input: GRAD.depthwise_conv2d_backprop_input,
  depthwise_conv2d_backprop_filter: GRAD.depthwise_conv2d_backprop_filter,
  max_pool: pool('MaxPool'),
  avg_pool: pool('AveragePool'),
  max_pool_grad: GRAD.max_pool_grad,
  avg_pool_grad: GRAD.avg_pool_grad,
  batch_norm: batchNorm,
} satisfies Partial<Record<OpName, ExportRule | Unsupported>>;
