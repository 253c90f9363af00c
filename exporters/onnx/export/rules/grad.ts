/**
 * Export rules for the gradient kernels of convolution and pooling (what a traced training
 * step holds), each matching the tfjs kernel that graphc's runtime runs for the op:
 *
 * - conv2d_backprop_input, depthwise_conv2d_backprop_input: ConvTranspose (the adjoint of
 *   Conv with the same OIHW weights; group = channels for depthwise), with pads and
 *   output_padding chosen so that the result is exactly `input_shape` (a stride > 1 leaves
 *   the last rows that no window reached, which get 0).
 * - conv2d_backprop_filter, depthwise_conv2d_backprop_filter: a Conv that correlates x with
 *   dy over the batch: x as [C, N, H, W] (batch C, channels N), dy as the weights
 *   [O, N, oh, ow], strides = the conv's dilations and dilations = its strides (tf2onnx's
 *   form); depthwise as one image of C·N channels with group C. The result is cropped to
 *   the filter's size.
 * - max_pool_grad: dy goes to the first maximum of its window in row-major order (tfjs's
 *   maxPoolPositions); a window without a maximum above -Infinity (NaN is never one) gets none.
 *   Overlapping windows (opset 16 on): MaxPool's indices output and ScatterElements(reduction
 *   'add') of dy into zeros, where ONNX Runtime's index is not the window's for a window without
 *   a maximum; pads not smaller than the window (refused by ONNX Runtime's MaxPool) a Pad of
 *   -Infinity. Windows that do not overlap (the usual 2×2 by 2), and opsets 13–15: by taps
 *   (maxPoolGradTaps), with no MaxPool indices (ORT's WebGPU provider has none) and no scatter.
 * - avg_pool_grad: ConvTranspose of dy with a constant 1/(kh·kw) depthwise kernel. tfjs's
 *   AvgPoolGrad divides by the full window size also where 'same' padding cuts a window
 *   (its avgPool forward divides by the valid count); the export does as the kernel does.
 */
import type { Dim } from '../../../../ir/dim.js';
import { dimEq, dimToString, isStatic } from '../../../../ir/dim.js';
import type { OpName } from '../../../../ir/ops.js';
import { tensorData } from '../../../../ir/tensor_data.js';
import { attr } from '../onnx_graph.js';
import type { ExportRule, RuleCtx } from '../rule_types.js';
import { INT64_MAX, valueAttr } from './helpers.js';

// As in nn.ts (which imports this file's rules).
const NHWC_TO_NCHW = [0, 3, 1, 2] as const;
const NCHW_TO_NHWC = [0, 2, 3, 1] as const;
const HWIO_TO_OIHW = [3, 2, 0, 1] as const;

/**
 * A window along one spatial axis: input size, kernel, stride, dilation, tfjs's pads, the
 * number of windows. Input and window counts are undefined where symbolic (stride 1 only: the
 * IR has no symbolic window count for other strides), where the pads do not depend on them.
 */
interface Axis { n: number | undefined; k: number; s: number; d: number; before: number; after: number; out: number | undefined }

function staticDim(cx: RuleCtx, d: Dim | undefined, what: string): number {
  if (d === undefined || !isStatic(d)) return cx.fail(`${what} must be static for ONNX export, got ${d === undefined ? 'none' : 'a symbolic dim'}`,
    'trace with static spatial dims and channels');
  return d;
}

/**
 * tfjs's window on the two spatial axes of an NHWC input `x` (computeConv2DInfo /
 * computePool2DInfo): 'same' pads (ceil(n/s)−1)·s + ek − n in all (ek − 1 at stride 1), the odd
 * one after; 'valid' none; 'explicit' the IR's [top, bottom, left, right]. `dy`: the gradient's
 * NHWC shape.
 */
function windows(cx: RuleCtx, x: readonly Dim[], k: readonly number[], s: readonly number[], d: readonly number[], dy: readonly Dim[]): [Axis, Axis] {
  const padding = cx.a.str('padding');
  const pads = cx.a.has('pads') ? cx.a.ints('pads') : [0, 0, 0, 0];
  return [0, 1].map((i) => {
    const xd = x[1 + i], ki = k[i]!, si = s[i]!, di = d[i]!;
    if (!(si >= 1) || !(di >= 1)) cx.fail(`strides [${s.join(',')}] and dilations [${d.join(',')}] must be ≥ 1`);
    const n = xd !== undefined && isStatic(xd) ? xd : undefined;
    if (n === undefined && si !== 1) cx.fail(`a symbolic spatial dim needs stride 1, got strides [${s.join(',')}]`, 'trace with static spatial dims');
    const ek = (ki - 1) * di + 1;
    let before = 0, after = 0;
    if (padding === 'same') {
      const total = n === undefined ? ek - 1 : Math.max(0, (Math.ceil(n / si) - 1) * si + ek - n);
      before = Math.floor(total / 2);
      after = total - before;
    } else if (padding === 'explicit') {
      before = pads[2 * i]!;
      after = pads[2 * i + 1]!;
    } else if (padding !== 'valid') {
      cx.fail(`unknown padding '${padding}'`);
    }
    // dy's own size where static (they agree in a traced graph), else the window's count.
    const o = dy[1 + i];
    const out = o !== undefined && isStatic(o) ? o : n === undefined ? undefined : Math.floor((n + before + after - ek) / si) + 1;
    return { n, k: ki, s: si, d: di, before, after, out };
  }) as [Axis, Axis];
}

/** Zeros of the output's shape (an empty operand: ONNX Runtime's convs and pools refuse 0 channels). */
function zeros(cx: RuleCtx): void {
  const yT = cx.outType();
  cx.e.op('ConstantOfShape', [cx.dims.shape(yT.shape)], { value: attr.tensor(valueAttr(0, yT.dtype)) }, cx.outs[0]);
}

const hasZero = (...shapes: (readonly Dim[])[]) => shapes.some((s) => s.some((d) => d === 0));

/**
 * ConvTranspose of `dyN` (NCHW, spatial size `ax[i].out`) whose result spans exactly the
 * input's rows [0, n): ConvTranspose's full result has (out−1)·s + ek rows, of which input row r
 * is row r + before; the crop after is what lies beyond the input, output_padding (or a Pad,
 * where it would reach the stride) the rows past the full result that no window reached.
 */
function convTranspose(cx: RuleCtx, dyN: string, w: string, ax: [Axis, Axis], group: number, out?: string): string {
  const e = cx.e;
  const padEnd: number[] = [], outPad: number[] = [], extra: number[] = [];
  for (const a of ax) {
    // Rows past the full result; at stride 1, out = n + before + after − ek + 1 gives −after.
    const past = a.n === undefined || a.out === undefined ? -a.after : a.before + a.n - ((a.out - 1) * a.s + (a.k - 1) * a.d + 1);
    padEnd.push(Math.max(0, -past));
    const p = Math.max(0, past);
    outPad.push(p < a.s ? p : 0);
    extra.push(p < a.s ? 0 : p);
  }
  const needPad = extra.some((x) => x > 0);
  const y = e.op('ConvTranspose', [dyN, w], {
    kernel_shape: attr.ints([ax[0].k, ax[1].k]), strides: attr.ints([ax[0].s, ax[1].s]), dilations: attr.ints([ax[0].d, ax[1].d]),
    group: attr.int(group), pads: attr.ints([ax[0].before, ax[1].before, ...padEnd]), output_padding: attr.ints(outPad),
  }, needPad ? undefined : out);
  if (!needPad) return y;
  return e.op('Pad', [y, e.i64([0, 0, 0, 0, 0, 0, ...extra])], {}, out);
}

const toNchw = (cx: RuleCtx, x: string) => cx.e.op('Transpose', [x], { perm: attr.ints(NHWC_TO_NCHW) }, cx.e.fresh('nchw'));
const toNhwc = (cx: RuleCtx, x: string, out?: string) => cx.e.op('Transpose', [x], { perm: attr.ints(NCHW_TO_NHWC) }, out);

/** conv2d_backprop_input (dy, filter [kh, kw, C, O]) and the depthwise one (filter [kh, kw, C, M]). */
const backpropInput = (depthwise: boolean): ExportRule => (cx) => {
  const e = cx.e;
  const fT = cx.inType(1), yT = cx.outType();
  const [kh, kw, ci, m] = fT.shape.map((d, i) => staticDim(cx, d, `the filter dim ${i}`)) as [number, number, number, number];
  if (hasZero(cx.inType(0).shape, fT.shape, yT.shape)) { zeros(cx); return; }
  const ax = windows(cx, yT.shape, [kh, kw], cx.a.ints('strides'), cx.a.ints('dilations'), cx.inType(0).shape);
  const filter = cx.ins[1]!;
  // The conv's OIHW weights are ConvTranspose's [C_in, C_out / group, kh, kw] (its input is the conv's output).
  const hwio = depthwise ? e.op('Reshape', [filter, e.i64([kh, kw, 1, ci * m])], {}, e.values.fresh(`${filter}_dw`)) : filter;
  const w = e.op('Transpose', [hwio], { perm: attr.ints(HWIO_TO_OIHW) }, e.values.fresh(`${filter}_oihw`));
  // The result has input_shape's batch: tfjs's kernel reads that many images of dy (a fixed
  // conv2dTranspose outputShape traced with a symbolic batch).
  const n = yT.shape[0]!, nDy = cx.inType(0).shape[0]!;
  let dy = cx.ins[0]!;
  if (!dimEq(n, nDy)) {
    const first = isStatic(n) ? n : cx.fail(`input_shape's batch ${dimToString(n)} differs from dy's ${dimToString(nDy)}`);
    dy = e.op('Slice', [dy, e.i64([0]), e.i64([first]), e.i64([0])]);
  }
  toNhwc(cx, convTranspose(cx, toNchw(cx, dy), w, ax, depthwise ? ci : 1), cx.outs[0]);
};

/**
 * A Conv of `xs` (batch-as-channels, NCHW) with dy as the weights: output position k of an axis
 * sums input rows k·d − before + j·s over dy's rows j; the end pad makes the last tap reach, and
 * the result is cropped to the filter's size. (At stride 1 that pad is `after` and nothing is
 * cropped, whatever the sizes: so for symbolic ones, the kernel shape then read off dy.)
 */
function correlate(cx: RuleCtx, xs: string, dyW: string, ax: [Axis, Axis], group: number): string {
  const e = cx.e;
  const sizes = ax.every((a) => a.n !== undefined && a.out !== undefined) ? ax as { n: number; out: number; k: number; s: number; d: number; before: number }[] : undefined;
  const padEnd = sizes ? sizes.map((a) => Math.max(0, (a.k - 1) * a.d + (a.out - 1) * a.s + 1 - a.before - a.n)) : ax.map((a) => a.after);
  const y = e.op('Conv', [xs, dyW], {
    ...(sizes ? { kernel_shape: attr.ints([sizes[0]!.out, sizes[1]!.out]) } : {}),
    strides: attr.ints([ax[0].d, ax[1].d]), dilations: attr.ints([ax[0].s, ax[1].s]),
    group: attr.int(group), pads: attr.ints([ax[0].before, ax[1].before, ...padEnd]),
  });
  const got = sizes?.map((a, i) => Math.floor((a.n + a.before + padEnd[i]! - (a.out - 1) * a.s - 1) / a.d) + 1);
  if (!got || got.every((g, i) => g === ax[i]!.k)) return y;
  return e.op('Slice', [y, e.i64([0, 0]), e.i64([ax[0].k, ax[1].k]), e.i64([2, 3])]);
}

/** conv2d_backprop_filter (x, dy) → [kh, kw, C, O]; the depthwise one → [kh, kw, C, M]. */
const backpropFilter = (depthwise: boolean): ExportRule => (cx) => {
  const e = cx.e;
  const xT = cx.inType(0), dyT = cx.inType(1);
  const [kh, kw, ci, m] = cx.a.ints('filter_shape') as [number, number, number, number];
  if (hasZero(xT.shape, dyT.shape, [kh, kw, ci, m])) { zeros(cx); return; }
  const ax = windows(cx, xT.shape, [kh, kw], cx.a.ints('strides'), cx.a.ints('dilations'), dyT.shape);
  const xc = e.op('Transpose', [cx.ins[0]!], { perm: attr.ints([3, 0, 1, 2]) });          // [C, N, H, W]
  const dyW = e.op('Transpose', [cx.ins[1]!], { perm: attr.ints([3, 0, 1, 2]) });         // [O, N, oh, ow]
  if (!depthwise) {
    const g = correlate(cx, xc, dyW, ax, 1);                                               // [C, O, kh, kw]
    e.op('Transpose', [g], { perm: attr.ints([2, 3, 0, 1]) }, cx.outs[0]);
    return;
  }
  // One image of C·N channels (channel c·N + n), group c against dy's channels c·M .. c·M + M − 1.
  const xs = e.op('Reshape', [xc, cx.dims.shape([1, -1n, xT.shape[1]!, xT.shape[2]!])]);
  const g = correlate(cx, xs, dyW, ax, ci);                                                // [1, C·M, kh, kw]
  const g4 = e.op('Reshape', [g, e.i64([ci, m, kh, kw])]);
  e.op('Transpose', [g4], { perm: attr.ints([2, 3, 0, 1]) }, cx.outs[0]);
}

/** The pools' window: filter_size, strides, no dilation. */
function poolWindows(cx: RuleCtx): { ax: [Axis, Axis]; c: number } | undefined {
  const xT = cx.inType(1);
  if (hasZero(cx.inType(0).shape, xT.shape)) { zeros(cx); return undefined; }
  const c = staticDim(cx, xT.shape[3], 'the channel count');
  return { ax: windows(cx, xT.shape, cx.a.ints('filter_size'), cx.a.ints('strides'), [1, 1], cx.inType(0).shape), c };
}

/** max_pool_grad (dy, x, y): dy scattered (added) to the position of each window's first maximum. */
const maxPoolGrad: ExportRule = (cx) => {
  const e = cx.e;
  const win = poolWindows(cx);
  if (!win) return;
  const { ax } = win;
  // Windows that do not overlap, and opsets without ScatterElements' reduction (16), by taps.
  if (cx.opset < 16 || ax.every((a) => a.k <= a.s)) { maxPoolGradTaps(cx, win); return; }
  const xN = toNchw(cx, cx.ins[1]!);
  // ONNX Runtime's pools take pads smaller than the kernel only: larger ones are written as a Pad
  // of -Infinity (never a window's maximum, as tfjs skips the padding) and cropped after.
  const big = ax.some((a) => a.before >= a.k || a.after >= a.k);
  const pads = [ax[0].before, ax[1].before, ax[0].after, ax[1].after];
  const src = big ? e.op('Pad', [xN, e.i64([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!]), e.scalar(-Infinity, 'float32')]) : xN;
  const [pooled, idx] = e.opN('MaxPool', [src], {
    kernel_shape: attr.ints([ax[0].k, ax[1].k]), strides: attr.ints([ax[0].s, ax[1].s]), pads: attr.ints(big ? [0, 0, 0, 0] : pads),
  }, [e.fresh('maxpool'), e.fresh('argmax')]) as [string, string];
  // ONNX Runtime keeps a window's maximum only when above float's lowest; below it (all -Infinity
  // or NaN) the index is not the window's, and tfjs gives no gradient.
  const found = e.op('Greater', [pooled, e.scalar(-3.4028234663852886e38, 'float32')]);
  const dy = e.op('Where', [found, toNchw(cx, cx.ins[0]!), e.scalar(0, 'float32')]);
  const at = e.op('Where', [found, idx, e.scalar(0, 'int64')]);
  const flat = e.i64([-1]);
  const srcFlat = e.op('Reshape', [src, flat]);
  const zero = e.op('ConstantOfShape', [e.op('Shape', [srcFlat])], { value: attr.tensor(valueAttr(0, 'float32')) });
  const sum = e.op('ScatterElements', [zero, e.op('Reshape', [at, flat]), e.op('Reshape', [dy, flat])], { axis: attr.int(0), reduction: attr.str('add') });
  let dx = e.op('Reshape', [sum, e.op('Shape', [src])]);
  if (big) dx = e.op('Slice', [dx, e.i64([pads[0]!, pads[1]!]), e.i64([pads[2]! ? -pads[2]! : INT64_MAX, pads[3]! ? -pads[3]! : INT64_MAX]), e.i64([2, 3])]);
  toNhwc(cx, dx, cx.outs[0]);
};

/**
 * max_pool_grad by window taps (every opset; no MaxPool indices, no scatter): x and dy as
 * [N·C, 1, H, W] images, x's NaN as -Infinity (tfjs never takes a NaN) and padded with
 * -Infinity; tap (i, j) of every window is a strided Slice, y their Max; tap t takes dy where it
 * equals y, y > -Infinity and no earlier tap (row-major) took it; the taps' dy, stacked as
 * channels, go back to their positions by a ConvTranspose with a one-hot kernel per tap.
 * (A non-finite dy times the kernel's zeros gives NaN at the window's other positions, where
 * tfjs leaves 0: gradients of ±Infinity only.)
 */
function maxPoolGradTaps(cx: RuleCtx, { ax, c }: { ax: [Axis, Axis]; c: number }): void {
  const e = cx.e;
  const xT = cx.inType(1);
  const [n, h, wd] = [xT.shape[0]!, xT.shape[1]!, xT.shape[2]!];
  const images = (v: string, hw: readonly Dim[]) => e.op('Reshape', [toNchw(cx, v), cx.dims.shape([-1n, 1, ...hw])]);   // [N·C, 1, H, W]
  const xi = images(cx.ins[1]!, [h, wd]);
  const ninf = e.scalar(-Infinity, 'float32');
  const clean = e.op('Where', [e.op('Equal', [xi, xi]), xi, ninf]);
  const pads = [0, 0, ax[0].before, ax[1].before, 0, 0, ax[0].after, ax[1].after];
  const xp = pads.some((p) => p > 0) ? e.op('Pad', [clean, e.i64(pads), ninf]) : clean;
  // The padded rows past the last window: known at stride 1 (k − 1 − i from the end of tap i), else from the sizes.
  const rem = ax.map((a) => (a.n === undefined || a.out === undefined ? 0 : a.n + a.before + a.after - (a.out - 1) * a.s - a.k));
  const taps: string[] = [];
  for (let i = 0; i < ax[0].k; i++) for (let j = 0; j < ax[1].k; j++) {
    const fromEnd = [rem[0]! + ax[0].k - 1 - i, rem[1]! + ax[1].k - 1 - j];
    taps.push(e.op('Slice', [xp, e.i64([i, j]), e.i64(fromEnd.map((f) => (f > 0 ? -f : INT64_MAX))), e.i64([2, 3]), e.i64([ax[0].s, ax[1].s])]));
  }
  const y = taps.length === 1 ? taps[0]! : e.op('Max', taps);
  const dyT = cx.inType(0);
  const dy = images(cx.ins[0]!, [dyT.shape[1]!, dyT.shape[2]!]);
  const zero = e.scalar(0, 'float32');
  let taken = e.op('Not', [e.op('Greater', [y, ninf])]);
  const parts = taps.map((t, k) => {
    const hit = e.op('Equal', [t, y]);
    const mine = e.op('And', [hit, e.op('Not', [taken])]);
    if (k < taps.length - 1) taken = e.op('Or', [taken, mine]);
    return e.op('Where', [mine, dy, zero]);
  });
  const stacked = parts.length === 1 ? parts[0]! : e.op('Concat', parts, { axis: attr.int(1) });   // [N·C, T, oh, ow]
  const t = ax[0].k * ax[1].k;
  const oneHot = new Array<number>(t * t).fill(0);
  for (let k = 0; k < t; k++) oneHot[k * t + k] = 1;
  const w = e.constant(tensorData('float32', [t, 1, ax[0].k, ax[1].k], oneHot), 'tap_kernel');
  const dx = convTranspose(cx, stacked, w, ax, 1);                                                  // [N·C, 1, H, W]
  const back = e.op('Reshape', [dx, cx.dims.shape([n, c, h, wd])]);
  toNhwc(cx, back, cx.outs[0]);
}

/** avg_pool_grad (dy, x): each dy spread over its window, times 1/(kh·kw) (tfjs's AvgPoolGrad). */
const avgPoolGrad: ExportRule = (cx) => {
  const e = cx.e;
  const win = poolWindows(cx);
  if (!win) return;
  const { ax, c } = win;
  const [kh, kw] = [ax[0].k, ax[1].k];
  const w = e.constant(tensorData('float32', [c, 1, kh, kw], new Array<number>(c * kh * kw).fill(1 / (kh * kw))), 'avg_kernel');
  toNhwc(cx, convTranspose(cx, toNchw(cx, cx.ins[0]!), w, ax, c), cx.outs[0]);
};

export const EXPORT_GRAD_RULES = {
  conv2d_backprop_input: backpropInput(false),
  conv2d_backprop_filter: backpropFilter(false),
  depthwise_conv2d_backprop_input: backpropInput(true),
  depthwise_conv2d_backprop_filter: backpropFilter(true),
  max_pool_grad: maxPoolGrad,
  avg_pool_grad: avgPoolGrad,
} satisfies Partial<Record<OpName, ExportRule>>;
