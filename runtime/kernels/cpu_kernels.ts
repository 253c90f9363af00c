/**
 * Matmul and conv2d for the cpu backend, chosen by measurement. tfjs-backend-cpu's
 * batchMatMul reads the right operand down its columns and its conv2d loops over every tap of
 * every output. `npx tsx bench/lowering_cliffs.ts cpu` (Node 20, 2 cores, medians):
 *
 *   matmul [64,784]·[784,300]          tfjs-cpu 27.3 ms   here 11.3 ms
 *   matmul [1024,784]·[784,300]        tfjs-cpu  446 ms   here  180 ms
 *   matmul [1,784]·[784,300]           tfjs-cpu 0.46 ms   here 0.45 ms  (m < 4 stays on tfjs)
 *   conv2d [32,13,13,8] * [3,3,8,16]   tfjs-cpu 10.0 ms   here  6.0 ms
 *   conv2d [32,28,28,1] * [3,3,1,8]    tfjs-cpu  3.9 ms   here  3.6 ms
 *
 * The results are bit-identical to tfjs-cpu's: the same sums in the same order with the same
 * roundings, only the loops are arranged so the right operand is read along rows, four rows
 * of the left operand at a time. tfjs's matmul sums each block of `blockSize` (48) products in
 * float64 and adds the block to the float32 result; its conv adds each tap's product to the
 * float32 result in (row, column, channel) order, skipping padding, which is an im2col row
 * times the filter with float32 accumulation (padding taps are zeros: adding 0·w changes
 * nothing for a finite filter, and a non-finite one runs on tfjs). The bias is a float32 add
 * after the product, as in tfjs's fused kernels.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Left-operand rows below this run on tfjs's kernel (a vector-matrix product is no faster here). */
export const MIN_ROWS = 4;

let scratch64 = new Float64Array(1024);
function acc64(n: number): Float64Array {
  if (scratch64.length < n) scratch64 = new Float64Array(Math.max(n, scratch64.length * 2));
  return scratch64;
}

/** tfjs-cpu's k-block (MathBackendCPU.blockSize). */
function blockSize(): number {
  const b = (tf.engine().findBackend('cpu') as unknown as { blockSize?: number } | null)?.blockSize;
  return typeof b === 'number' && b > 0 ? b : 48;
}

/**
 * out[m,n] += op(a)·b, with op(a) = a [m,k] or aᵀ of a [k,m]; b is [k,n] row-major; offsets
 * select one matrix of a batch. `block` > 0: products summed in float64 per block of `block`
 * k's, each block added to out (tfjs's matmul); `block` = 0: each product added to the float32
 * out (tfjs's conv).
 */
export function gemm(a: Float32Array, aOff: number, ta: boolean, b: Float32Array, bOff: number,
  m: number, k: number, n: number, out: Float32Array, outOff: number, block: number): void {
  const rowStride = ta ? 1 : k, colStride = ta ? m : 1;
  const kb = block > 0 ? block : k;
  const acc = block > 0 ? acc64(4 * n) : undefined;
  for (let i = 0; i < m; i += 4) {
    const rows = Math.min(4, m - i);
    // Accumulate into float64 scratch (rows × n) or straight into out's float32 rows.
    const t: Float64Array | Float32Array = acc ?? out;
    const t0 = acc ? 0 : outOff + i * n;
    for (let k0 = 0; k0 < k; k0 += kb) {
      const k1 = Math.min(k0 + kb, k);
      if (acc) acc.fill(0, 0, rows * n);
      if (rows === 4) {
        const r1 = t0 + n, r2 = t0 + 2 * n, r3 = t0 + 3 * n;
        for (let p = k0; p < k1; p++) {
          const base = aOff + i * rowStride + p * colStride;
          const a0 = a[base]!, a1 = a[base + rowStride]!, a2 = a[base + 2 * rowStride]!, a3 = a[base + 3 * rowStride]!;
          const bo = bOff + p * n;
          for (let j = 0; j < n; j++) {
            const bv = b[bo + j]!;
            t[t0 + j] = t[t0 + j]! + a0 * bv;
            t[r1 + j] = t[r1 + j]! + a1 * bv;
            t[r2 + j] = t[r2 + j]! + a2 * bv;
            t[r3 + j] = t[r3 + j]! + a3 * bv;
          }
        }
      } else {
        for (let r = 0; r < rows; r++) {
          const ao = aOff + (i + r) * rowStride, ro = t0 + r * n;
          for (let p = k0; p < k1; p++) {
            const av = a[ao + p * colStride]!;
            const bo = bOff + p * n;
            for (let j = 0; j < n; j++) t[ro + j] = t[ro + j]! + av * b[bo + j]!;
          }
        }
      }
      if (acc) {
        const o = outOff + i * n;
        for (let q = 0; q < rows * n; q++) out[o + q] = out[o + q]! + acc[q]!;
      }
    }
  }
}

/** out[r, j] += bias[j] over m rows of n (a float32 add, as tfjs's fused kernels add the bias). */
function addBias(out: Float32Array, m: number, n: number, bias: Float32Array): void {
  for (let r = 0; r < m; r++) for (let j = 0, o = r * n; j < n; j++) out[o + j] = out[o + j]! + bias[j]!;
}

/** bᵀ of b [n,k] as [k,n] (the kernel reads the right operand along rows). */
function transposed(b: Float32Array, off: number, n: number, k: number): Float32Array {
  const t = new Float32Array(k * n);
  for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) t[p * n + j] = b[off + j * k + p]!;
  return t;
}

/**
 * matmul of rank-2 or rank-3 float32 tensors (batch dims equal, or one of them 1) with an
 * optional rank-1 bias of n; undefined where tfjs's kernel should run instead.
 */
export function matmulCpu(x: tf.Tensor, w: tf.Tensor, ta: boolean, tb: boolean, bias?: tf.Tensor): tf.Tensor | undefined {
  const r = x.rank;
  if ((r !== 2 && r !== 3) || w.rank !== r || x.dtype !== 'float32' || w.dtype !== 'float32') return undefined;
  const o = r - 2;
  const [m, k] = ta ? [x.shape[o + 1]!, x.shape[o]!] : [x.shape[o]!, x.shape[o + 1]!];
  const [k2, n] = tb ? [w.shape[o + 1]!, w.shape[o]!] : [w.shape[o]!, w.shape[o + 1]!];
  if (k !== k2 || m < MIN_ROWS) return undefined;
  const bx = r === 3 ? x.shape[0]! : 1, bw = r === 3 ? w.shape[0]! : 1;
  if (bx !== bw && bx !== 1 && bw !== 1) return undefined;
  if (bias !== undefined && (bias.rank !== 1 || bias.size !== n || bias.dtype !== 'float32')) return undefined;
  const batch = Math.max(bx, bw);
  const a = x.dataSync() as Float32Array, bData = w.dataSync() as Float32Array;
  const bv = bias?.dataSync() as Float32Array | undefined;
  const out = new Float32Array(batch * m * n);
  const bT = tb ? Array.from({ length: bw }, (_, q) => transposed(bData, q * n * k, n, k)) : undefined;
  const block = blockSize();
  for (let q = 0; q < batch; q++) {
    const qa = bx === 1 ? 0 : q, qb = bw === 1 ? 0 : q;
    if (bT) gemm(a, qa * m * k, ta, bT[qb]!, 0, m, k, n, out, q * m * n, block);
    else gemm(a, qa * m * k, ta, bData, qb * k * n, m, k, n, out, q * m * n, block);
  }
  if (bv) addBias(out, batch * m, n, bv);
  return tf.tensor(out, r === 3 ? [batch, m, n] : [m, n], 'float32');
}

/** Rows of the im2col matrix built at a time (bounds its memory: rows × kh·kw·c floats ≤ 4M). */
const IM2COL_ELEMENTS = 1 << 22;

/**
 * conv2d (NHWC, filter [kh,kw,c,o]) with an optional per-channel bias, as im2col × filter;
 * padding, strides and dilations as tfjs computes them (backend_util.computeConv2DInfo).
 */
export function conv2dCpu(x: tf.Tensor, f: tf.Tensor, strides: [number, number], pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]],
  dilations: [number, number], bias?: tf.Tensor): tf.Tensor | undefined {
  if (x.rank !== 4 || f.rank !== 4 || x.dtype !== 'float32' || f.dtype !== 'float32') return undefined;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], f.shape as [number, number, number, number],
    strides, dilations, pad as 'same', 'floor', false, 'channelsLast');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O,
    strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: KH, filterWidth: KW } = info;
  if (bias !== undefined && (bias.rank !== 1 || bias.size !== O || bias.dtype !== 'float32')) return undefined;
  const rows = B * OH * OW, K = KH * KW * C;
  if (rows < MIN_ROWS || rows * O === 0) return undefined;
  const xv = x.dataSync() as Float32Array, fv = f.dataSync() as Float32Array;
  // Padding taps are zeros here but skipped by tfjs: they differ only for a non-finite filter (0·∞).
  for (let i = 0; i < fv.length; i++) if (!Number.isFinite(fv[i]!)) return undefined;
  const bv = bias?.dataSync() as Float32Array | undefined;
  const out = new Float32Array(rows * O);
  const top = info.padInfo.top, left = info.padInfo.left;
  const chunk = Math.max(MIN_ROWS, Math.min(rows, Math.floor(IM2COL_ELEMENTS / K)));
  const cols = new Float32Array(chunk * K);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const nr = Math.min(chunk, rows - r0);
    cols.fill(0, 0, nr * K);
    for (let r = 0; r < nr; r++) {
      const row = r0 + r;
      const b = Math.floor(row / (OH * OW)), rem = row % (OH * OW);
      const oh = Math.floor(rem / OW), ow = rem % OW;
      const co = r * K;
      for (let i = 0; i < KH; i++) {
        const ih = oh * sh - top + i * dh;
        if (ih < 0 || ih >= H) continue;
        for (let j = 0; j < KW; j++) {
          const iw = ow * sw - left + j * dw;
          if (iw < 0 || iw >= W) continue;
          const src = ((b * H + ih) * W + iw) * C, dst = co + (i * KW + j) * C;
          for (let c = 0; c < C; c++) cols[dst + c] = xv[src + c]!;
        }
      }
    }
    gemm(cols, 0, false, fv, 0, nr, K, O, out, r0 * O, 0);
  }
  if (bv) addBias(out, rows, O, bv);
  return tf.tensor(out, [B, OH, OW, O], 'float32');
}

/**
 * A slice on the cpu backend as row copies. tfjs-backend-cpu copies a slice that is not one
 * contiguous run element by element through TensorBuffer.get/set (about 1 µs per element:
 * fuzz seed 12 case 3427, a ConvTranspose's [1,9,2097155,2] → [1,7,2097151,2] crop, took
 * 29 s of a 30 s run); here each run of the innermost sliced axes is one typed-array copy.
 * Strings stay on tfjs.
 */
export function sliceCpu(x: tf.Tensor, begin: readonly number[], size: readonly number[]): tf.Tensor | undefined {
  if (x.dtype === 'string') return undefined;
  const r = x.rank;
  const shape = x.shape;
  const outSize = size.reduce((p, s) => p * s, 1);
  if (outSize === 0 || r === 0) return undefined;
  // Merge trailing axes taken whole into one run: [.., b, 0.., 0] of [.., s, d.., d].
  let inner = r - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === shape[inner]) inner--;
  let run = size[inner]!;
  for (let k = inner + 1; k < r; k++) run *= size[k]!;
  const strides = new Array<number>(r).fill(1);
  for (let k = r - 2; k >= 0; k--) strides[k] = strides[k + 1]! * shape[k + 1]!;
  const src = x.dataSync() as Float32Array | Int32Array | Uint8Array;
  const out = new (src.constructor as Float32ArrayConstructor)(outSize) as unknown as typeof src;
  const idx = new Array<number>(inner).fill(0);                  // the position over the outer axes 0..inner-1
  let base = begin[inner]! * strides[inner]!;
  for (let k = 0; k < inner; k++) base += begin[k]! * strides[k]!;
  for (let o = 0; o < outSize; o += run) {
    let off = base;
    for (let k = 0; k < inner; k++) off += idx[k]! * strides[k]!;
    if (run < 16) for (let j = 0; j < run; j++) out[o + j] = src[off + j]!;
    else out.set(src.subarray(off, off + run), o);
    for (let k = inner - 1; k >= 0; k--) {
      if (++idx[k]! < size[k]!) break;
      idx[k] = 0;
    }
  }
  return tf.tensor(out, [...size], x.dtype);
}

/**
 * Tile as block copies, for the cpu and wasm engines: axis by axis from the last, each block
 * is copied once and then doubled with copyWithin. tfjs-cpu and tfjs-wasm compute every output
 * element's source index (fuzz seed 22 case 7595: a [2,2] tiled to [33554432,2] took 4.7 s on
 * cpu and 8.1 s on wasm). Strings stay on tfjs.
 */
export function tileJs(x: tf.Tensor, reps: readonly number[]): tf.Tensor | undefined {
  if (x.dtype === 'string' || reps.length !== x.rank || reps.some((r) => !Number.isSafeInteger(r) || r < 0)) return undefined;
  const shape = [...x.shape];
  const outShape = shape.map((d, i) => d * reps[i]!);
  if (outShape.some((d) => d === 0) || x.rank === 0 || reps.every((r) => r === 1)) return undefined;
  let cur = x.dataSync() as Float32Array | Int32Array | Uint8Array;
  const curShape = [...shape];
  for (let d = x.rank - 1; d >= 0; d--) {
    const r = reps[d]!;
    if (r === 1) continue;
    let outer = 1;
    for (let k = 0; k < d; k++) outer *= curShape[k]!;
    const block = cur.length / outer;                           // one slab of axes d.. of cur
    const seg = block * r;
    const next = new (cur.constructor as Float32ArrayConstructor)(outer * seg) as unknown as typeof cur;
    for (let o = 0; o < outer; o++) {
      const at = o * seg;
      next.set(cur.subarray(o * block, (o + 1) * block), at);
      for (let filled = block; filled < seg; filled *= 2) next.copyWithin(at + filled, at, at + Math.min(filled, seg - filled));
    }
    cur = next;
    curShape[d] = curShape[d]! * r;
  }
  return tf.tensor(cur, outShape, x.dtype);        // a new array: some rep is not 1
}
