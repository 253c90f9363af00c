import { describe, expect, it } from 'vitest';
import type { DType } from '../../ir/dtype.js';
import { tensorData, tensorDataEq } from '../../ir/tensor_data.js';

const arr = (data: ArrayLike<number> | ArrayLike<bigint>): (number | bigint)[] => Array.from(data as ArrayLike<number | bigint>);

/** What tensorData computed before typed arrays took the engine's copy: one JS call per element. */
function reference(dtype: DType, values: ArrayLike<number> | ArrayLike<bigint>): ArrayLike<number | bigint> {
  switch (dtype) {
    case 'float32': return Float32Array.from(values as ArrayLike<number>, Number);
    case 'int32': return Int32Array.from(values as ArrayLike<number>, Number);
    case 'bool': return Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
    case 'int64': return BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v));
  }
}

const awkward = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.7, 255, 256, 2 ** 31, -(2 ** 31) - 1, 2 ** 32 + 3, 1e40, -1e40, Infinity, -Infinity, NaN, 3.4028235677973366e38, 1e-46];

describe('tensorData', () => {
  const sources: [string, ArrayLike<number>][] = [
    ['number[]', awkward],
    ['Float64Array', Float64Array.from(awkward)],
    ['Float32Array', Float32Array.from(awkward)],
    ['Int32Array', Int32Array.from(awkward)],
    ['Uint8Array', Uint8Array.from(awkward)],
    ['Int16Array', Int16Array.from(awkward)],
    ['Uint32Array', Uint32Array.from(awkward)],
  ];
  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    for (const [kind, values] of sources) {
      it(`${dtype} from ${kind} holds what a per-element conversion gives`, () => {
        const t = tensorData(dtype, [values.length], values);
        const want = reference(dtype, values);
        expect(t.data.constructor).toBe(want.constructor);
        expect(arr(t.data)).toEqual(Array.from(want));
      });
    }
  }

  it('int64 from BigInt64Array, numbers and Int32Array', () => {
    const big = BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n)]);
    expect(arr(tensorData('int64', [4], big).data)).toEqual(Array.from(big));
    expect(arr(tensorData('int64', [3], [1, -2, 2 ** 40]).data)).toEqual([1n, -2n, 2n ** 40n]);
    expect(arr(tensorData('int64', [2], Int32Array.from([7, -7])).data)).toEqual([7n, -7n]);
  });

  it('copies: changing the caller\'s array (or a view on part of a buffer) later does not change the tensor', () => {
    const buf = new Float32Array([9, 1, 2, 3, 9]);
    const values = buf.subarray(1, 4);
    const t = tensorData('float32', [3], values);
    values[0] = 100;
    expect(arr(t.data)).toEqual([1, 2, 3]);
    expect(t.data.byteOffset).toBe(0);
    expect(t.data.length).toBe(3);
    const ints = new Int32Array([4, 5]);
    const u = tensorData('int32', [2], ints);
    ints[1] = 0;
    expect(arr(u.data)).toEqual([4, 5]);
  });

  it('refuses a count that does not match the shape', () => {
    expect(() => tensorData('float32', [2, 2], new Float32Array(3))).toThrow(/3 values for shape \[2,2\] \(needs 4\)/);
  });
});

describe('tensorDataEq', () => {
  const f = (xs: number[]) => tensorData('float32', [xs.length], xs);
  it('equal elements: NaN equals NaN (whatever its bits) and 0 equals −0', () => {
    const a = f([1, NaN, 0, 3]);
    const b = f([1, NaN, -0, 3]);
    new Uint32Array(b.data.buffer)[1] = 0x7fc00001; // another NaN
    expect(tensorDataEq(a, b)).toBe(true);
    expect(tensorDataEq(a, f([1, NaN, 0, 4]))).toBe(false);
  });
  it('compares every element of views at any alignment (a difference in the last bytes, after the words)', () => {
    for (const n of [1, 7, 8, 9, 64, 1001]) {
      for (const off of [0, 1, 2, 3]) {
        const x = new Float32Array(n + 4);
        for (let i = 0; i < x.length; i++) x[i] = i * 0.25;
        const y = new Float32Array(n + 5);
        y.set(x.subarray(off, off + n), 1);
        const a = { dtype: 'float32' as const, shape: [n], data: x.subarray(off, off + n) };
        const b = { dtype: 'float32' as const, shape: [n], data: y.subarray(1, 1 + n) };
        expect(tensorDataEq(a, b)).toBe(true);
        for (const at of [0, n - 1, Math.floor(n / 2)]) {
          const c = { ...b, data: b.data.slice() };
          c.data[at] = -1;
          expect(tensorDataEq(a, c)).toBe(false);
        }
      }
    }
  });
  it('bool and int64 and byte views at odd offsets', () => {
    const raw = new Uint8Array([2, 1, 0, 1, 1, 0, 1]);
    const a = { dtype: 'bool' as const, shape: [3], data: raw.subarray(1, 4) };
    const b = { dtype: 'bool' as const, shape: [3], data: raw.subarray(4, 7) };
    expect(tensorDataEq(a, b)).toBe(true);
    expect(tensorDataEq(a, { ...b, data: raw.subarray(3, 6) })).toBe(false);
    const i = tensorData('int64', [2], BigInt64Array.from([1n, 2n ** 60n]));
    expect(tensorDataEq(i, tensorData('int64', [2], BigInt64Array.from([1n, 2n ** 60n])))).toBe(true);
    expect(tensorDataEq(i, tensorData('int64', [2], BigInt64Array.from([1n, 2n ** 60n + 1n])))).toBe(false);
  });
  it('dtype and shape matter', () => {
    expect(tensorDataEq(f([1, 2]), tensorData('int32', [2], [1, 2]))).toBe(false);
    expect(tensorDataEq(tensorData('float32', [1, 2], [1, 2]), f([1, 2]))).toBe(false);
  });
});
