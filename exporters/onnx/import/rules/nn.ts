/**
 * Import rules: matrix products, convolutions, pools and normalizations.
 *
 * Layout: ONNX convolutions and pools are NCHW with OIHW filters; the IR's are NHWC with
 * HWIO filters (as tfjs). A 2-D Conv becomes transpose(x, NCHW→NHWC), conv2d with the
 * filter transposed to HWIO (folded when the filter is a constant), transpose back. 1-D
 * convolutions and pools run as 2-D ones with a unit height. Adjacent inverse transposes
 * cancel as they are built, so chains of convolutions stay NHWC.
 */
import type { Dim } from '../../../../ir/dim.js';
import { dimToString, isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import type { OpName } from '../../../../ir/ops.js';
import { tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];

// ---- matrix products ----------------------------------------------------------------

/** tfjs multiplies float32 matrices; integer products run in float32 and are cast back. */
function matmul(c: NodeCtx, a: Value, b: Value, ta: boolean, tb: boolean): Value {
  const dtype = a.dtype;
  const y = c.b.op('matmul', [c.b.cast(a, 'float32'), c.b.cast(b, 'float32')], { transpose_a: ta, transpose_b: tb });
  return c.b.cast(y, dtype);
}

const matMul: ImportRule = (c) => matmulNumpy(c, c.input(0), c.input(1));

/** numpy.matmul: 1-D operands get a unit dim for the product, dropped from the result. */
export function matmulNumpy(c: NodeCtx, a: Value, b: Value): Value {
  const a1 = a.shape.length === 1, b1 = b.shape.length === 1;
  if (a1) a = c.b.unsqueeze(a, [0]);
  if (b1) b = c.b.unsqueeze(b, [1]);
  let y = matmul(c, a, b, false, false);
  const r = y.shape.length;
  if (a1 && b1) y = c.b.squeeze(y, [r - 2, r - 1]);
  else if (a1) y = c.b.squeeze(y, [r - 2]);
  else if (b1) y = c.b.squeeze(y, [r - 1]);
  return y;
}

const gemm: ImportRule = (c) => {
  const a = c.input(0), b = c.input(1);
  const alpha = c.attr.float('alpha', 1), beta = c.attr.float('beta', 1);
  let y = matmul(c, a, b, c.attr.int('transA', 0) !== 0, c.attr.int('transB', 0) !== 0);
  if (alpha !== 1) y = c.b.op('mul', [y, c.b.scalar(alpha, y.dtype)]);
  const bias = c.optInput(2);
  if (bias && beta !== 0) y = c.b.op('add', [y, beta === 1 ? bias : c.b.op('mul', [bias, c.b.scalar(beta, bias.dtype)])]);
  return y;
};

// ---- window geometry ----------------------------------------------------------------

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** ONNX order: [begin_0, begin_1, …, end_0, end_1, …]. */
  pads: number[];
  autoPad: string;
}

function windowOf(c: NodeCtx, kernel: number[]): Window {
  const ones = kernel.map(() => 1);
  return {
    kernel,
    strides: c.attr.ints('strides', ones),
    dilations: c.attr.ints('dilations', ones),
    pads: c.attr.ints('pads', [...ones, ...ones].map(() => 0)),
    autoPad: c.attr.string('auto_pad', 'NOTSET'),
  };
}

/** Explicit ONNX pads for SAME_UPPER / SAME_LOWER (static spatial sizes). */
function samePads(c: NodeCtx, spatial: readonly Dim[], w: Window, lower: boolean): number[] {
  const n = spatial.length;
  const pads = new Array<number>(2 * n).fill(0);
  spatial.forEach((d, i) => {
    if (!isStatic(d)) fail(`auto_pad ${w.autoPad} along the symbolic dim ${dimToString(d)}`);
    const ek = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    const total = Math.max((Math.ceil(d / w.strides[i]!) - 1) * w.strides[i]! + ek - d, 0);
    const small = Math.floor(total / 2);
    pads[i] = lower ? total - small : small;
    pads[i + n] = lower ? small : total - small;
  });
  return pads;
}

/** The IR padding attrs (NHWC order [top, bottom, left, right]) of a 2-D window. */
function irPadding(c: NodeCtx, spatial: readonly Dim[], w: Window): { padding: string; pads: number[] } {
  const zero = [0, 0, 0, 0];
  switch (w.autoPad) {
    case 'VALID': return { padding: 'valid', pads: zero };
    case 'SAME_UPPER':
      if (spatial.every(isStatic)) break;
      return { padding: 'same', pads: zero };
    case 'SAME_LOWER': break;
    case 'NOTSET': case '': {
      const p = w.pads;
      if (p.every((x) => x === 0)) return { padding: 'valid', pads: zero };
      return { padding: 'explicit', pads: [p[0]!, p[2]!, p[1]!, p[3]!] };
    }
    default: fail(`unknown auto_pad '${w.autoPad}'`);
  }
  const p = samePads(c, spatial, w, w.autoPad === 'SAME_LOWER');
  if (p.every((x) => x === 0)) return { padding: 'valid', pads: zero };
  return { padding: 'explicit', pads: [p[0]!, p[2]!, p[1]!, p[3]!] };
}

/** A 1-D window as a 2-D one of unit height. */
function window2d(w: Window): Window {
  if (w.kernel.length === 2) return w;
  return { kernel: [1, w.kernel[0]!], strides: [1, w.strides[0]!], dilations: [1, w.dilations[0]!],
    pads: [0, w.pads[0]!, 0, w.pads[1]!], autoPad: w.autoPad };
}

/** NC[H]W → NHWC (1-D operands get a unit height); `back` restores NCHW (and the rank). */
function toNhwc(c: NodeCtx, x: Value): { x: Value; back: (y: Value) => Value } {
  const r = x.shape.length;
  if (r === 4) return { x: c.b.transpose(x, TO_NHWC), back: (y) => c.b.transpose(y, TO_NCHW) };
  if (r === 3) {
    const x4 = c.b.unsqueeze(x, [2]);
    return { x: c.b.transpose(x4, TO_NHWC), back: (y) => c.b.squeeze(c.b.transpose(y, TO_NCHW), [2]) };
  }
  return fail(`${r - 2}-D windows are not supported (graphc has 1-D and 2-D convolutions and pools), operand ${shapeToString(x.shape)}`);
}
/**
 * Refuses window attributes that do not fit an operand of rank sd + 2: one kernel, stride and
 * dilation per spatial axis, a begin and an end pad per spatial axis (before any rule indexes them).
 */
function checkWindow(x: Value, win: Window): void {
  const sd = x.shape.length - 2;
  if (sd < 1) fail(`needs an operand of rank ≥ 3 (N, C, spatial…), got ${x.dtype}${shapeToString(x.shape)}`);
  const per: [string, number[], number][] = [['kernel_shape', win.kernel, sd], ['strides', win.strides, sd],
    ['dilations', win.dilations, sd], ['pads', win.pads, 2 * sd]];
  for (const [name, v, want] of per) {
    if (v.length !== want) fail(`${name} [${v.join(', ')}] has ${v.length} values; operand ${x.dtype}${shapeToString(x.shape)} has ${sd} spatial axes (${want} expected)`);
  }
}

/** A convolution filter must have the operand's rank ([C_out, C_in/group, k…]) and the kernel_shape it states. */
function checkFilter(c: NodeCtx, x: Value, w: Value): void {
  if (w.shape.length !== x.shape.length) {
    fail(`the filter ${w.dtype}${shapeToString(w.shape)} has rank ${w.shape.length}; for operand ${x.dtype}${shapeToString(x.shape)} it needs rank ${x.shape.length} (C_out, C_in/group, kernel…)`);
  }
  const k = c.attr.ints('kernel_shape');
  const spatial = w.shape.slice(2);
  if (k !== undefined && (k.length !== spatial.length || spatial.some((d, i) => isStatic(d) && d !== k[i]))) {
    fail(`kernel_shape [${k.join(', ')}] differs from the filter's spatial dims ${shapeToString(spatial)} (filter ${w.dtype}${shapeToString(w.shape)})`);
  }
}

// ---- convolution ---------------------------------------------------------------------

const conv: ImportRule = (c) => convolve(c, c.input(0), c.input(1), c.optInput(2));

/** An ONNX Conv (NCHW, OIHW filter, the node's window attributes) on float operands. */
export function convolve(c: NodeCtx, x: Value, w: Value, bias: Value | undefined): Value {
  if (x.dtype !== 'float32') fail(`needs float operands, got ${x.dtype}`);
  const sd = x.shape.length - 2;
  checkFilter(c, x, w);
  const kernel = w.shape.slice(2);
  if (!kernel.every(isStatic)) fail(`needs a static kernel, got ${shapeToString(w.shape)}`);
  const win0 = windowOf(c, c.attr.ints('kernel_shape', kernel as number[]));
  checkWindow(x, win0);
  const win = window2d(win0);
  const { x: xh, back } = toNhwc(c, x);
  const w4 = sd === 1 ? c.b.unsqueeze(w, [2]) : w;
  const pad = irPadding(c, xh.shape.slice(1, 3), win);
  const attrs = { strides: win.strides, dilations: win.dilations, ...pad };
  const group = c.attr.int('group', 1);
  const cin = x.shape[1]!, cout = w.shape[0]!;
  if (!isStatic(cin) || !isStatic(cout)) fail('needs static channel counts');
  if (cin % group !== 0 || cout % group !== 0) fail(`group ${group} does not divide the channels (${cin} in, ${cout} out)`);
  const hwio = c.b.transpose(w4, [2, 3, 1, 0]);                           // [kh, kw, cin/g, cout]
  // A per-channel bias fuses into the convolution (tfjs's FusedConv2D).
  const fused = bias !== undefined && bias.shape.length === 1;
  const fusedAttrs = { ...attrs, has_bias: true, activation: 'linear', alpha: 0.2 };
  let y: Value;
  if (group === 1) {
    if (fused) return back(c.b.op('fused_conv2d', [xh, hwio, bias], fusedAttrs));
    y = c.b.op('conv2d', [xh, hwio], attrs);
  } else if (group === cin && sd <= 2) {
    const f = c.b.reshape(hwio, [win.kernel[0]!, win.kernel[1]!, cin, cout / cin]);
    if (fused) return back(c.b.op('fused_depthwise_conv2d', [xh, f, bias], fusedAttrs));
    y = c.b.op('depthwise_conv2d', [xh, f], attrs);
  } else {
    const gi = cin / group, go = cout / group;
    const xs = c.b.ops('split', [xh], { sizes: new Array<number>(group).fill(gi), axis: 3 });
    const fs = c.b.ops('split', [hwio], { sizes: new Array<number>(group).fill(go), axis: 3 });
    y = c.b.op('concat', xs.map((xi, i) => c.b.op('conv2d', [xi, fs[i]!], attrs)), { axis: 3 });
  }
  if (bias) y = c.b.op('add', [y, bias]);
  return back(y);
}

/**
 * ConvTranspose as the gradient of a convolution (conv2d_backprop_input) on the full
 * output, (in-1)·s + (k-1)·d + 1 + output_padding, cropped by the pads.
 */
const convTranspose: ImportRule = (c) => {
  const x = c.input(0), w = c.input(1);
  if (x.dtype !== 'float32') fail(`needs float operands, got ${x.dtype}`);
  const sd = x.shape.length - 2;
  checkFilter(c, x, w);
  const kernel = w.shape.slice(2);
  if (!kernel.every(isStatic)) fail(`needs a static kernel, got ${shapeToString(w.shape)}`);
  if (c.attr.int('group', 1) !== 1) fail('grouped transposed convolutions are not supported');
  const win0 = windowOf(c, c.attr.ints('kernel_shape', kernel as number[]));
  checkWindow(x, win0);
  const spatial = x.shape.slice(2);
  if (!spatial.every(isStatic)) fail(`needs static spatial dims, got ${shapeToString(x.shape)}`);
  const outPad = c.attr.ints('output_padding', spatial.map(() => 0));
  const ek = win0.kernel.map((k, i) => (k - 1) * win0.dilations[i]! + 1);
  const full = spatial.map((d, i) => ((d as number) - 1) * win0.strides[i]! + ek[i]! + outPad[i]!);
  let pads = win0.pads;
  const outShape = c.attr.ints('output_shape');
  if (outShape || win0.autoPad === 'SAME_UPPER' || win0.autoPad === 'SAME_LOWER') {
    const target = outShape ? outShape.slice(-sd) : spatial.map((d, i) => (d as number) * win0.strides[i]!);
    pads = new Array<number>(2 * sd).fill(0);
    target.forEach((t, i) => {
      const total = full[i]! - t;
      if (total < 0) { full[i] = t; return; }                               // extra output padding at the end
      const half = Math.floor(total / 2);
      const lower = win0.autoPad === 'SAME_LOWER';
      pads[i] = lower ? total - half : half;
      pads[i + sd] = lower ? half : total - half;
    });
  } else if (win0.autoPad === 'VALID') {
    pads = new Array<number>(2 * sd).fill(0);
  }
  const { x: xh, back } = toNhwc(c, x);
  const w4 = sd === 1 ? c.b.unsqueeze(w, [2]) : w;
  const win = window2d(win0);
  const full2 = sd === 1 ? [1, full[0]!] : full;
  const cout = w.shape[1]!;
  const filter = c.b.transpose(w4, [2, 3, 1, 0]);                        // [kh, kw, cout, cin]
  let y = c.b.op('conv2d_backprop_input', [xh, filter], {
    strides: win.strides, dilations: win.dilations, padding: 'valid', pads: [0, 0, 0, 0],
    input_shape: [xh.shape[0]!, full2[0]!, full2[1]!, cout],
  });
  const p2 = sd === 1 ? [0, pads[0]!, 0, pads[1]!] : pads;
  if (p2.some((p) => p !== 0)) {
    const size = [y.shape[0]!, full2[0]! - p2[0]! - p2[2]!, full2[1]! - p2[1]! - p2[3]!, cout];
    y = c.b.op('slice', [y], { begin: [0, p2[0]!, p2[1]!, 0], size });
  }
  const bias = c.optInput(2);
  if (bias) y = c.b.op('add', [y, bias]);
  return back(y);
};

// ---- pools -----------------------------------------------------------------------------

/** Extra end padding that makes a floor-mode window count equal ONNX's ceil_mode count. */
function ceilExtra(inp: number, k: number, s: number, pb: number, pe: number): number {
  let out = Math.ceil((inp + pb + pe - k) / s) + 1;
  if ((out - 1) * s >= inp + pb) out--;                                     // the last window must start inside
  return Math.max(0, (out - 1) * s + k - (inp + pb + pe));
}

function pool(kind: 'max' | 'avg'): ImportRule {
  return (c) => {
    const x0 = c.input(0);
    const kernel = c.attr.ints('kernel_shape') ?? fail('kernel_shape is missing');
    let win = windowOf(c, kernel);
    const sd = kernel.length;
    if (x0.shape.length !== sd + 2) fail(`kernel_shape has ${sd} dims for operand ${shapeToString(x0.shape)}`);
    checkWindow(x0, win);
    const spatial = x0.shape.slice(2);
    if ((win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') && spatial.every(isStatic)) {
      win = { ...win, pads: samePads(c, spatial, win, win.autoPad === 'SAME_LOWER'), autoPad: 'NOTSET' };
    }
    // Integers pool in float32 (exact below 2^24).
    const x = c.b.cast(x0, 'float32');
    const ceil = c.attr.int('ceil_mode', 0) !== 0;
    const countPad = c.attr.int('count_include_pad', 0) !== 0;
    if ((sd !== 1 && sd !== 2) || win.dilations.some((d) => d !== 1) || (kind === 'max' && c.wants(1))) {
      if (win.autoPad !== 'NOTSET' && win.autoPad !== '' && win.autoPad !== 'VALID') fail(`auto_pad ${win.autoPad} needs static spatial dims`);
      if (win.autoPad === 'VALID') win = { ...win, pads: win.pads.map(() => 0) };
      const [y, idx] = poolTaps(c, x, kind, win, ceil, countPad, kind === 'max' && c.wants(1), c.attr.int('storage_order', 0));
      return [c.b.cast(y!, x0.dtype), idx];
    }
    let { x: xh, back } = toNhwc(c, x);
    win = window2d(win);
    if (kind === 'avg' && countPad && win.autoPad === 'NOTSET' && win.pads.some((p) => p !== 0)) {
      // Padding that counts: zeros added before the pool.
      const [t, l, b, r] = win.pads as [number, number, number, number];
      xh = c.b.op('pad', [xh], { paddings: [0, 0, t, b, l, r, 0, 0], value: 0 });
      win = { ...win, pads: [0, 0, 0, 0] };
    }
    if (ceil) {
      if (win.autoPad !== 'NOTSET' && win.autoPad !== '') fail('ceil_mode with auto_pad is not supported');
      const cur = xh.shape.slice(1, 3);
      if (!cur.every(isStatic)) fail('ceil_mode needs static spatial dims');
      const pads = [...win.pads];
      for (let i = 0; i < 2; i++) pads[i + 2] = pads[i + 2]! + ceilExtra(cur[i] as number, win.kernel[i]!, win.strides[i]!, pads[i]!, pads[i + 2]!);
      win = { ...win, pads };
    }
    const pad = irPadding(c, xh.shape.slice(1, 3), win);
    const y = c.b.op(kind === 'max' ? 'max_pool' : 'avg_pool', [xh], { filter_size: win.kernel, strides: win.strides, ...pad });
    return c.b.cast(back(y), x0.dtype);
  };
}

/** Pools with more taps than this are not unrolled. */
const TAP_LIMIT = 512;

/**
 * A pool of any dimensionality, dilation, and (max) with the Indices output, as one strided
 * slice per kernel tap of the padded NC… operand, combined by maximum / sum. Static spatial dims.
 */
/** Elements of the constant tables a pool over taps builds at import time (indices, divisors). */
const POOL_TABLE_LIMIT = 1 << 20;

function poolTaps(c: NodeCtx, x: Value, kind: 'max' | 'avg', win: Window, ceil: boolean, countPad: boolean, wantIndices: boolean, storageOrder: number): [Value, Value | undefined] {
  const sd = win.kernel.length;
  const spatial = x.shape.slice(2);
  if (!spatial.every(isStatic)) fail(`needs static spatial dims, got ${shapeToString(x.shape)}`);
  const S = spatial as number[];
  const taps = win.kernel.reduce((a, b) => a * b, 1);
  if (taps > TAP_LIMIT) fail(`a ${win.kernel.join('×')} pool has more than ${TAP_LIMIT} taps`);
  const ek = win.kernel.map((k, i) => (k - 1) * win.dilations[i]! + 1);
  const pb = win.pads.slice(0, sd), pe = [...win.pads.slice(sd)];
  const out = S.map((n, i) => {
    if (!ceil) return Math.floor((n + pb[i]! + pe[i]! - ek[i]!) / win.strides[i]!) + 1;
    const extra = ceilExtra(n, ek[i]!, win.strides[i]!, pb[i]!, pe[i]!);
    return Math.floor((n + pb[i]! + pe[i]! + extra - ek[i]!) / win.strides[i]!) + 1;
  });
  // Pad enough for every tap of every output window.
  const peFull = S.map((n, i) => Math.max(0, (out[i]! - 1) * win.strides[i]! + ek[i]! - n - pb[i]!));
  const padList = (lead: number[]): number[] => [...lead, ...S.flatMap((_, i) => [pb[i]!, peFull[i]!])];
  const xp = c.b.op('pad', [x], { paddings: padList([0, 0, 0, 0]), value: kind === 'max' ? -Infinity : 0 });
  let index: Value | undefined;
  if (wantIndices) {
    const n = S.reduce((a, b) => a * b, 1);
    if (n > POOL_TABLE_LIMIT) fail(`the Indices result of a pool over ${S.join('×')} positions needs a table of ${n} indices (graphc builds at most ${POOL_TABLE_LIMIT})`);
    const flat = Array.from({ length: n }, (_, q) => {
      if (storageOrder === 0) return q;
      // Column-major over the spatial dims.
      let rest = q, idx = 0, mul = 1;
      const coords = new Array<number>(sd);
      for (let i = sd - 1; i >= 0; i--) { coords[i] = rest % S[i]!; rest = Math.floor(rest / S[i]!); }
      for (let i = 0; i < sd; i++) { idx += coords[i]! * mul; mul *= S[i]!; }
      return idx;
    });
    index = c.b.op('pad', [c.b.constant(tensorData('int32', [1, 1, ...S], flat))], { paddings: padList([0, 0, 0, 0]), value: -1 });
  }
  const tapSlice = (v: Value, tap: number[]): Value => {
    const begin: Dim[] = [0, 0, ...tap.map((t, i) => t * win.dilations[i]!)];
    const end: Dim[] = [v.shape[0]!, v.shape[1]!, ...tap.map((t, i) => t * win.dilations[i]! + (out[i]! - 1) * win.strides[i]! + 1)];
    return c.b.op('strided_slice', [v], { begin, end, strides: [1, 1, ...win.strides] });
  };
  let best: Value | undefined, bestIdx: Value | undefined;
  for (let q = 0; q < taps; q++) {
    const tap: number[] = [];
    let rest = q;
    for (let i = sd - 1; i >= 0; i--) { tap[i] = rest % win.kernel[i]!; rest = Math.floor(rest / win.kernel[i]!); }
    const v = tapSlice(xp, tap);
    if (best === undefined) { best = v; bestIdx = index && tapSlice(index, tap); continue; }
    if (kind === 'avg') { best = c.b.op('add', [best, v]); continue; }
    const take = c.b.op('greater', [v, best]);
    best = c.b.op('select', [take, v, best]);
    if (index) bestIdx = c.b.op('select', [take, tapSlice(index, tap), bestIdx!]);
  }
  if (kind === 'avg') {
    // Divisor per output position: the taps inside the input (or inside the explicit pads).
    const total = out.reduce((a, b) => a * b, 1);
    if (total > POOL_TABLE_LIMIT) fail(`an average pool to ${out.join('×')} positions needs a table of ${total} divisors (graphc builds at most ${POOL_TABLE_LIMIT})`);
    const counts = Array.from({ length: total }, (_, q) => {
      const o: number[] = [];
      let rest = q;
      for (let i = sd - 1; i >= 0; i--) { o[i] = rest % out[i]!; rest = Math.floor(rest / out[i]!); }
      let count = 1;
      for (let i = 0; i < sd; i++) {
        let k = 0;
        for (let t = 0; t < win.kernel[i]!; t++) {
          const pos = o[i]! * win.strides[i]! - pb[i]! + t * win.dilations[i]!;
          if (countPad ? pos >= -pb[i]! && pos < S[i]! + pe[i]! : pos >= 0 && pos < S[i]!) k++;
        }
        count *= k;
      }
      return count;
    });
    best = c.b.op('div', [best!, c.b.constant(tensorData('float32', [1, 1, ...out], counts))]);
  }
  let indices: Value | undefined;
  if (index) {
    const [n, ch] = x.shape as [Dim, Dim];
    if (!isStatic(n) || !isStatic(ch)) fail('the Indices output needs static batch and channel dims');
    const plane = S.reduce((a, b) => a * b, 1);
    if (n * ch * plane > 2 ** 31 - 1) fail(`Indices into ${x.dtype}${shapeToString(x.shape)} (${n * ch * plane} elements) pass int32, which graphc computes them in`);
    const offsets = c.b.constant(tensorData('int32', [n, ch, ...S.map(() => 1)], Array.from({ length: n * ch }, (_, i) => i * plane)));
    indices = c.b.cast(c.b.op('add', [bestIdx!, offsets]), 'int64');
  }
  return [best!, indices];
}

function globalPool(op: OpName): ImportRule {
  return (c) => {
    const x = c.input(0);
    const axes = x.shape.map((_, i) => i).slice(2);
    return axes.length === 0 ? x : c.b.op(op, [x], { axes, keep_dims: true });
  };
}

// ---- normalizations ----------------------------------------------------------------------

/** Moves the channel axis (1) last: [0, 2, …, r-1, 1]. */
function channelsLast(r: number): number[] {
  return [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
}
function channelsFirst(r: number): number[] {
  return [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
}

/** [C] → [C, 1, …, 1] to broadcast against an NC… operand of rank r. */
function perChannel(c: NodeCtx, p: Value, r: number): Value {
  return c.b.reshape(p, [p.shape[0] ?? 1, ...new Array<number>(Math.max(r - 2, 0)).fill(1)]);
}

const batchNorm: ImportRule = (c) => {
  const x = c.input(0), scale = c.input(1), bias = c.input(2), mean = c.input(3), variance = c.input(4);
  const eps = c.attr.float('epsilon', 1e-5);
  const r = x.shape.length;
  if (c.opset < 9 && c.attr.int('spatial', 1) === 0) fail('spatial = 0 (per-activation statistics) is not supported');
  const training = c.opset >= 14 ? c.attr.int('training_mode', 0) !== 0 : false;
  if (!training) {
    if (r === 2) return c.b.op('batch_norm', [x, mean, variance, bias, scale], { epsilon: eps });
    const xh = c.b.transpose(x, channelsLast(r));
    return c.b.transpose(c.b.op('batch_norm', [xh, mean, variance, bias, scale], { epsilon: eps }), channelsFirst(r));
  }
  // Training: normalize by the batch statistics; outputs 1 and 2 are the updated running ones.
  const m = c.attr.float('momentum', 0.9);
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bm = c.b.op('reduce_mean', [x], { axes, keep_dims: false });
  const bv = c.b.op('reduce_mean', [c.b.op('square', [c.b.op('sub', [x, perChannel(c, bm, r)])])], { axes, keep_dims: false });
  const xh = r === 2 ? x : c.b.transpose(x, channelsLast(r));
  let y = c.b.op('batch_norm', [xh, bm, bv, bias, scale], { epsilon: eps });
  if (r > 2) y = c.b.transpose(y, channelsFirst(r));
  const mix = (run: Value, cur: Value) => c.b.op('add', [c.b.op('mul', [run, c.b.scalar(m, run.dtype)]), c.b.op('mul', [cur, c.b.scalar(1 - m, cur.dtype)])]);
  return [y, mix(mean, bm), mix(variance, bv)];
};

const instanceNorm: ImportRule = (c) => {
  const x = c.input(0), scale = c.input(1), bias = c.input(2);
  const eps = c.attr.float('epsilon', 1e-5);
  const r = x.shape.length;
  const axes = x.shape.map((_, i) => i).slice(2);
  const mean = c.b.op('reduce_mean', [x], { axes, keep_dims: true });
  const d = c.b.op('sub', [x, mean]);
  const v = c.b.op('reduce_mean', [c.b.op('square', [d])], { axes, keep_dims: true });
  const inv = c.b.op('rsqrt', [c.b.op('add', [v, c.b.scalar(eps, x.dtype)])]);
  return c.b.op('add', [c.b.op('mul', [c.b.op('mul', [d, inv]), perChannel(c, scale, r)]), perChannel(c, bias, r)]);
};

const layerNorm: ImportRule = (c) => {
  const x = c.input(0), scale = c.input(1), bias = c.optInput(2);
  const r = x.shape.length;
  const axis = c.axis(c.attr.int('axis', -1), r);
  const eps = c.attr.float('epsilon', 1e-5);
  const axes = Array.from({ length: r - axis }, (_, i) => axis + i);
  const mean = c.b.op('reduce_mean', [x], { axes, keep_dims: true });
  const d = c.b.op('sub', [x, mean]);
  const v = c.b.op('reduce_mean', [c.b.op('square', [d])], { axes, keep_dims: true });
  const inv = c.b.op('rsqrt', [c.b.op('add', [v, c.b.scalar(eps, x.dtype)])]);
  let y = c.b.op('mul', [c.b.op('mul', [d, inv]), scale]);
  if (bias) y = c.b.op('add', [y, bias]);
  return [y, mean, inv];
};

/** LRN: x / (bias + alpha/size · Σ_window x²)^beta, the channel window summed by an average pool. */
const lrn: ImportRule = (c) => {
  const x = c.input(0);
  const size = c.attr.int('size') ?? fail('size is missing');
  const alpha = c.attr.float('alpha', 1e-4), beta = c.attr.float('beta', 0.75), bias = c.attr.float('bias', 1);
  const [n, ch, ...rest] = x.shape;
  if (!isStatic(ch!)) fail('needs a static channel count');
  let s: Dim = 1;
  for (const d of rest) { if (!isStatic(d)) fail('needs static spatial dims'); s *= d; }
  const sq = c.b.reshape(c.b.op('square', [x]), [n!, ch, s, 1]);             // NHWC with H = channels
  const before = Math.floor((size - 1) / 2), after = Math.ceil((size - 1) / 2);
  const padded = c.b.op('pad', [sq], { paddings: [0, 0, before, after, 0, 0, 0, 0], value: 0 });
  const avg = c.b.op('avg_pool', [padded], { filter_size: [size, 1], strides: [1, 1], padding: 'valid', pads: [0, 0, 0, 0] });
  const den = c.b.op('add', [c.b.op('mul', [c.b.reshape(avg, x.shape), c.b.scalar(alpha, x.dtype)]), c.b.scalar(bias, x.dtype)]);
  return c.b.op('div', [x, c.b.op('pow', [den, c.b.scalar(beta, x.dtype)])]);
};

const meanVarianceNorm: ImportRule = (c) => {
  const x = c.input(0);
  const axes = c.attr.ints('axes', [0, 2, 3]).map((a) => c.axis(a, x.shape.length));
  const mean = c.b.op('reduce_mean', [x], { axes, keep_dims: true });
  const meanSq = c.b.op('reduce_mean', [c.b.op('square', [x])], { axes, keep_dims: true });
  const std = c.b.op('sqrt', [c.b.op('sub', [meanSq, c.b.op('square', [mean])])]);
  return c.b.op('div', [c.b.op('sub', [x, mean]), c.b.op('add', [std, c.b.scalar(1e-9, x.dtype)])]);
};

/** x / ‖x‖_p along an axis (p = 1 or 2). */
const lpNorm: ImportRule = (c) => {
  const x = c.input(0);
  const axis = c.axis(c.attr.int('axis', -1), x.shape.length);
  const p = c.attr.int('p', 2);
  if (p !== 1 && p !== 2) fail(`p must be 1 or 2, got ${p}`);
  const norm = p === 1
    ? c.b.op('reduce_sum', [c.b.op('abs', [x])], { axes: [axis], keep_dims: true })
    : c.b.op('sqrt', [c.b.op('reduce_sum', [c.b.op('square', [x])], { axes: [axis], keep_dims: true })]);
  return c.b.op('div', [x, norm]);
};

/** GroupNormalization (opset 18): statistics over each group of channels and the spatial dims. */
const groupNorm: ImportRule = (c) => {
  const x = c.input(0), scale = c.input(1), bias = c.input(2);
  const groups = c.attr.int('num_groups') ?? fail('num_groups is missing');
  const eps = c.attr.float('epsilon', 1e-5);
  const [n, ch, ...rest] = x.shape;
  if (!isStatic(ch!) || ch % groups !== 0) fail(`channels ${shapeToString([ch!])} are not a multiple of num_groups ${groups}`);
  const g = c.b.reshape(x, [n!, groups, -1]);
  const mean = c.b.op('reduce_mean', [g], { axes: [2], keep_dims: true });
  const d = c.b.op('sub', [g, mean]);
  const v = c.b.op('reduce_mean', [c.b.op('square', [d])], { axes: [2], keep_dims: true });
  const normed = c.b.reshape(c.b.op('mul', [d, c.b.op('rsqrt', [c.b.op('add', [v, c.b.scalar(eps, x.dtype)])])]), x.shape);
  // scale and bias are per group (opset 18) when they have num_groups entries, else per channel.
  const perCh = (p: Value) => (p.shape[0] === groups && groups !== ch
    ? c.b.reshape(c.b.op('tile', [c.b.reshape(p, [groups, 1])], { reps: [1, ch / groups] }), [ch, ...rest.map(() => 1)])
    : perChannel(c, p, x.shape.length));
  return c.b.op('add', [c.b.op('mul', [normed, perCh(scale)]), perCh(bias)]);
};

export const IMPORT_NN_RULES = {
  LpNormalization: lpNorm,
  GroupNormalization: groupNorm,
  MatMul: matMul,
  Gemm: gemm,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('reduce_mean'),
  GlobalMaxPool: globalPool('reduce_max'),
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  LRN: lrn,
  MeanVarianceNormalization: meanVarianceNorm,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_NN_MAKES = {
  abs: ['LpNormalization'],
  rsqrt: ['GroupNormalization', 'InstanceNormalization', 'LayerNormalization'],
  sqrt: ['LpNormalization', 'MeanVarianceNormalization'],
  square: ['BatchNormalization', 'GroupNormalization', 'InstanceNormalization', 'LRN', 'LayerNormalization',
    'LpNormalization', 'MeanVarianceNormalization'],
  pow: ['LRN'],
  reduce_sum: ['LpNormalization'],
  reduce_mean: ['BatchNormalization', 'GlobalAveragePool', 'GroupNormalization', 'InstanceNormalization',
    'LayerNormalization', 'MeanVarianceNormalization'],
  reduce_max: ['GlobalMaxPool'],
  matmul: ['Gemm', 'MatMul'],
  conv2d: ['Conv'],
  depthwise_conv2d: ['Conv'],
  fused_conv2d: ['Conv'],
  fused_depthwise_conv2d: ['Conv'],
  conv2d_backprop_input: ['ConvTranspose'],
  max_pool: ['AveragePool', 'MaxPool'],
  avg_pool: ['AveragePool', 'LRN', 'MaxPool'],
  batch_norm: ['BatchNormalization'],
  concat: ['Conv'],
  split: ['Conv'],
  strided_slice: ['AveragePool', 'MaxPool'],
  pad: ['AveragePool', 'LRN', 'MaxPool'],
  tile: ['GroupNormalization'],
} satisfies MadeBy<typeof IMPORT_NN_RULES>;
