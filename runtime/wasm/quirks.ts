/** Workarounds for tfjs-backend-wasm 4.22 kernels, shared by the op kernels and the direct executor. */
import type * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-wasm's AvgPool (XNNPACK) clamps its result to [-Infinity, Infinity] with a max that turns
 * NaN into -Infinity: a window holding a NaN, or both infinities, averages to -Infinity where
 * tfjs-cpu (and ONNX) give NaN (fuzz seed 9657). Given the NHWC input x and the pool's result y,
 * sets to NaN each -Infinity of y whose window (padding excluded) holds a NaN or +Infinity.
 * Returns whether y had any -Infinity (only then are windows read).
 */
export function avgPoolNaNs(x: ArrayLike<number>, xs: readonly number[], info: tf.backend_util.Conv2DInfo, y: Float32Array): boolean {
  if (!y.includes(-Infinity)) return false;
  const [, H, W, C] = xs as [number, number, number, number];
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  for (let k = 0; k < y.length; k++) {
    if (y[k] !== -Infinity) continue;
    const c = k % C, ow = Math.floor(k / C) % OW, oh = Math.floor(k / (C * OW)) % OH, b = Math.floor(k / (C * OW * OH));
    let nan = false;
    for (let i = 0; i < fh && !nan; i++) {
      const h = oh * sh - top + i;
      if (h < 0 || h >= H) continue;
      for (let j = 0; j < fw; j++) {
        const w = ow * sw - left + j;
        if (w < 0 || w >= W) continue;
        const v = x[((b * H + h) * W + w) * C + c]!;
        if (Number.isNaN(v) || v === Infinity) { nan = true; break; }
      }
    }
    if (nan) y[k] = NaN;
  }
  return true;
}

/**
 * tfjs-wasm's MaxPool (XNNPACK) gives -Infinity for a window holding a NaN, where tfjs-cpu takes
 * the largest of the other values (its running max skips NaN; ONNX Runtime's MaxPool agrees):
 * [NaN, 2, 3, 4] pools to 4, not -Infinity. Sets each -Infinity of y to its window's max as
 * tfjs-cpu computes it. Returns whether y had any -Infinity.
 */
export function maxPoolNaNs(x: ArrayLike<number>, xs: readonly number[], info: tf.backend_util.Conv2DInfo, y: Float32Array): boolean {
  if (!y.includes(-Infinity)) return false;
  const [, H, W, C] = xs as [number, number, number, number];
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  for (let k = 0; k < y.length; k++) {
    if (y[k] !== -Infinity) continue;
    const c = k % C, ow = Math.floor(k / C) % OW, oh = Math.floor(k / (C * OW)) % OH, b = Math.floor(k / (C * OW * OH));
    let m = -Infinity;
    for (let i = 0; i < fh; i++) {
      const h = oh * sh - top + i * dh;
      if (h < 0 || h >= H) continue;
      for (let j = 0; j < fw; j++) {
        const w = ow * sw - left + j * dw;
        if (w < 0 || w >= W) continue;
        const v = x[((b * H + h) * W + w) * C + c]!;
        if (v > m) m = v;
      }
    }
    y[k] = m;
  }
  return true;
}

/**
 * Whether tfjs-wasm runs a conv as XNNPACK's channelwise multiply-add: a 1×1 filter at stride 1
 * without padding, conv2d with one input and one output channel or depthwise with multiplier 1.
 * That kernel clamps its result with a max that turns NaN into -Infinity (fuzz seed 1201701: a
 * NaN pixel through a 1×1 conv gave -Infinity where tfjs-cpu and ONNX give NaN); see
 * channelwiseNaNs. Other convs keep NaN.
 */
export function isChannelwiseConv(info: tf.backend_util.Conv2DInfo, depthwise: boolean): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1
    && info.outHeight === info.inHeight && info.outWidth === info.inWidth
    && (depthwise ? info.outChannels === info.inChannels : info.inChannels === 1 && info.outChannels === 1);
}

/**
 * After a channelwise conv (isChannelwiseConv) without activation: sets to NaN each -Infinity of
 * y = x·k[c] (+ bias[c]) whose value is NaN (a NaN pixel, weight or bias; ∞·0). Returns whether y
 * had any -Infinity.
 */
export function channelwiseNaNs(x: ArrayLike<number>, k: ArrayLike<number>, bias: ArrayLike<number> | undefined, y: Float32Array): boolean {
  if (!y.includes(-Infinity)) return false;
  const C = k.length;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== -Infinity) continue;
    const c = i % C;
    if (Number.isNaN(Math.fround(x[i]! * k[c]!) + (bias === undefined ? 0 : bias[c]!))) y[i] = NaN;
  }
  return true;
}

/**
 * Whether a 'same' conv must be handed to tfjs-wasm's C kernels with explicit pads: XNNPACK
 * computes TF SAME padding as (out−1)·stride + filter − in unsigned, and where that is negative
 * (tfjs clamps it to 0) the result is left zeros (fuzz seed 15431).
 */
export function sameAsExplicit(info: tf.backend_util.Conv2DInfo): boolean {
  return info.padInfo.type === 'SAME' && ((info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight < info.inHeight
    || (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth < info.inWidth);
}

/** The most dims XNNPACK's binary operators take (XNN_MAX_TENSOR_DIMS). */
export const XNN_MAX_DIMS = 6;

/**
 * XNNPACK's binary operators take at most 6 dims: tfjs-wasm's Add, Sub, Multiply, RealDiv,
 * SquaredDifference and LogicalAnd of a broadcast of higher rank fail their setup ("XNN status
 * … not successful") and leave the result unwritten — heap garbage (fuzz seed 900202: a rank-7
 * add gave 3.6e-41 where tfjs-cpu gives 3). The same computation at a lower rank: size-1 result
 * axes dropped, and adjacent axes merged where each operand spans both or broadcasts both
 * (element order is kept, so the operands and the result are only reshaped). Null where the
 * result is empty or the shapes, so merged, still have more than `max` dims.
 */
export function coalesceBroadcast(a: readonly number[], b: readonly number[], max = XNN_MAX_DIMS): { a: number[]; b: number[]; out: number[] } | null {
  const r = Math.max(a.length, b.length);
  const pa = [...Array<number>(r - a.length).fill(1), ...a], pb = [...Array<number>(r - b.length).fill(1), ...b];
  const out = pa.map((d, i) => (d === 1 ? pb[i]! : d));
  if (out.includes(0)) return null;
  const ra: number[] = [], rb: number[] = [], ro: number[] = [];
  for (let i = 0; i < r; i++) {
    if (out[i] === 1) continue;
    const k = ro.length - 1;
    // Spans (the operand's dim is the result's) or broadcasts (1), the same as the axis before.
    const same = k >= 0 && (pa[i] === 1) === (ra[k] === 1) && (pb[i] === 1) === (rb[k] === 1);
    if (same) {
      ra[k] = ra[k]! * pa[i]!;
      rb[k] = rb[k]! * pb[i]!;
      ro[k] = ro[k]! * out[i]!;
    } else {
      ra.push(pa[i]!);
      rb.push(pb[i]!);
      ro.push(out[i]!);
    }
  }
  return ro.length > max ? null : { a: ra, b: rb, out: ro };
}
