/** Host-side layout changes of constant tensors (initializers): transpose and broadcast rank. */
import type { TensorData } from '../../../ir/tensor_data.js';

/** Permutes the dims of a static tensor: out.shape[i] = t.shape[perm[i]]. */
export function transposeData(t: TensorData, perm: readonly number[]): TensorData {
  const shape = perm.map((p) => t.shape[p]!);
  const n = t.data.length;
  const inStrides = stridesOf(t.shape);
  const outStrides = stridesOf(shape);
  const out = new (t.data.constructor as new (n: number) => TensorData['data'])(n);
  for (let o = 0; o < n; o++) {
    let rem = o, src = 0;
    for (let i = 0; i < shape.length; i++) {
      const idx = Math.floor(rem / outStrides[i]!);
      rem -= idx * outStrides[i]!;
      src += idx * inStrides[perm[i]!]!;
    }
    (out as unknown as number[])[o] = (t.data as unknown as number[])[src]!;
  }
  return { dtype: t.dtype, shape, data: out };
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** `t` with leading 1-dims prepended up to `rank` (same data). */
export function withRank(t: TensorData, rank: number): TensorData {
  if (t.shape.length >= rank) return t;
  return { ...t, shape: [...new Array<number>(rank - t.shape.length).fill(1), ...t.shape] };
}
