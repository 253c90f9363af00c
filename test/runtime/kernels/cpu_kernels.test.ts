/**
 * runtime/kernels/cpu_kernels.ts promises tfjs-cpu's exact results (same sums, same order, same
 * roundings): every case compares bit for bit with tfjs-cpu's own kernels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { conv2dCpu, matmulCpu, MIN_ROWS, sliceCpu, tileJs } from '../../../runtime/kernels/cpu_kernels.js';

function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
}

const rand = (shape: number[], seed: number, scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);

describe('cpu kernels ≡ tfjs-cpu, bit for bit', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  const MATMULS: [number[], number[], boolean, boolean][] = [
    [[64, 784], [784, 300], false, false],   // k spans 17 blocks of 48, the last partial
    [[7, 50], [50, 9], false, false],        // m not a multiple of 4
    [[5, 3], [3, 11], false, false],         // k below one block
    [[96, 33], [96, 20], true, false],       // aᵀ
    [[10, 129], [17, 129], false, true],     // bᵀ
    [[130, 6], [40, 130], true, true],
    [[3, 6, 70], [3, 70, 5], false, false],  // batch
    [[1, 9, 12], [4, 12, 6], false, false],  // batch broadcast (left 1)
    [[4, 12, 9], [1, 6, 12], true, true],    // batch broadcast (right 1), both transposed
  ];
  MATMULS.forEach(([sa, sb, ta, tb], i) => {
    it(`matmul ${sa.join('x')}${ta ? 'ᵀ' : ''} · ${sb.join('x')}${tb ? 'ᵀ' : ''}, with and without bias`, () => {
      tf.tidy(() => {
        const a = rand(sa, 10 + i, 3), b = rand(sb, 20 + i, 0.5);
        const n = tb ? sb.at(-2)! : sb.at(-1)!;
        const bias = rand([n], 30 + i, 2);
        const got = matmulCpu(a, b, ta, tb)!;
        expect(got).toBeDefined();
        expect(got.shape).toEqual(tf.matMul(a, b, ta, tb).shape);
        expect(bits(got)).toEqual(bits(tf.matMul(a, b, ta, tb)));
        const fused = matmulCpu(a, b, ta, tb, bias)!;
        expect(bits(fused)).toEqual(bits(tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias })));
      });
    });
  });

  it('leaves small left operands, prelu-like biases and non-float data to tfjs', () => {
    tf.tidy(() => {
      expect(matmulCpu(rand([MIN_ROWS - 1, 8], 1), rand([8, 3], 2), false, false)).toBeUndefined();
      expect(matmulCpu(rand([8, 8], 1), rand([8, 3], 2), false, false, rand([1, 3], 3))).toBeUndefined();
      expect(matmulCpu(tf.ones([8, 8], 'int32'), tf.ones([8, 3], 'int32'), false, false)).toBeUndefined();
    });
  });

  it('keeps NaN and ±Inf where tfjs does (no skipped products)', () => {
    tf.tidy(() => {
      const a = tf.tensor2d([[1, 0, 2], [0, 0, 0], [Infinity, 1, 0], [NaN, 1, 1], [0, 0, 1]]);
      const b = tf.tensor2d([[1, Infinity], [0, 1], [NaN, 2]]);
      expect(bits(matmulCpu(a, b, false, false)!)).toEqual(bits(tf.matMul(a, b)));
    });
  });

  type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  const CONVS: { x: number[]; f: number[]; s: [number, number]; d: [number, number]; pad: Pad }[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 8], s: [1, 1], d: [1, 1], pad: 'same' },
    { x: [3, 10, 7, 2], f: [3, 2, 2, 5], s: [2, 1], d: [1, 1], pad: 'valid' },
    { x: [1, 12, 12, 4], f: [3, 3, 4, 6], s: [1, 1], d: [2, 2], pad: 'same' },
    { x: [2, 8, 8, 1], f: [2, 3, 1, 4], s: [2, 2], d: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
    { x: [32, 28, 28, 1], f: [3, 3, 1, 8], s: [1, 1], d: [1, 1], pad: 'valid' },
  ];
  CONVS.forEach((c, i) => {
    it(`conv2d ${c.x.join('x')} * ${c.f.join('x')} strides ${c.s} dilations ${c.d} pad ${JSON.stringify(c.pad)}, with and without bias`, () => {
      tf.tidy(() => {
        const x = rand(c.x, 40 + i), f = rand(c.f, 50 + i, 0.3), bias = rand([c.f[3]!], 60 + i);
        const want = tf.engine().runKernel('Conv2D', { x, filter: f }, { strides: c.s, pad: c.pad, dilations: c.d, dataFormat: 'NHWC' } as never) as tf.Tensor;
        const got = conv2dCpu(x, f, c.s, c.pad, c.d)!;
        expect(got.shape).toEqual(want.shape);
        expect(bits(got)).toEqual(bits(want));
        const wantB = tf.engine().runKernel('FusedConv2D', { x, filter: f, bias },
          { strides: c.s, pad: c.pad, dilations: c.d, dataFormat: 'NHWC', activation: 'linear' } as never) as tf.Tensor;
        expect(bits(conv2dCpu(x, f, c.s, c.pad, c.d, bias)!)).toEqual(bits(wantB));
      });
    });
  });

  it('a non-finite filter runs on tfjs (padding taps would read 0·∞)', () => {
    tf.tidy(() => {
      const f = tf.tensor4d([Infinity, 1, 1, 1], [2, 2, 1, 1]);
      expect(conv2dCpu(tf.ones([1, 4, 4, 1]), f, [1, 1], 'same', [1, 1])).toBeUndefined();
    });
  });
});

describe('sliceCpu ≡ tf.slice on tfjs-cpu (fuzz seed 12 case 3427: tfjs-cpu spent 29 s in an element-by-element slice)', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  const sliceCase = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }).chain((shape) => fc.tuple(
    fc.constant(shape),
    fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b }))))),
    fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>,
  ));

  it('gives tfjs\'s values and shape for every begin and size, in every dtype', () => {
    fc.assert(fc.property(sliceCase, ([shape, bs, dtype]) => {
      const n = shape.reduce((p, d) => p * d, 1);
      const data = Array.from({ length: n }, (_, k) => dtype === 'bool' ? k % 3 === 0 ? 1 : 0 : (k * 7919) % 1000 - 500 + (dtype === 'float32' ? 0.25 : 0));
      const x = tf.tensor(data, shape, dtype);
      const begin = bs.map(([b]) => b), size = bs.map(([, s]) => s);
      const got = sliceCpu(x, begin, size)!;
      const want = tf.slice(x, begin, size);
      expect(got.shape).toEqual(want.shape);
      expect(got.dtype).toBe(dtype);
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([x, got, want]);
    }), { numRuns: 400, seed: 3427 });
  });

  it('leaves strings and empty slices to tfjs', () => {
    expect(sliceCpu(tf.tensor(['a', 'b']), [0], [1])).toBeUndefined();
    expect(sliceCpu(tf.ones([2, 3]), [0, 0], [0, 3])).toBeUndefined();
  });
});

describe('tileJs ≡ tiling by index (fuzz seed 22 case 7595: tfjs-cpu and tfjs-wasm took 4.7 s and 8.1 s for a [33554432,2] tile)', () => {
  const tileCase = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) => fc.tuple(
    fc.constant(shape),
    fc.tuple(...shape.map(() => fc.integer({ min: 1, max: 5 }))),
    fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>,
  ));

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`gives every element from x at its index mod x's shape, for every shape, reps and dtype, on ${backend}`, async () => {
      if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      await tf.setBackend(backend);
      fc.assert(fc.property(tileCase, ([shape, reps, dtype]) => {
        const n = shape.reduce((p, d) => p * d, 1);
        const data = Array.from({ length: n }, (_, k) => dtype === 'bool' ? k % 3 === 0 ? 1 : 0 : (k * 7919) % 1000 - 500 + (dtype === 'float32' ? 0.25 : 0));
        const x = tf.tensor(data, shape, dtype);
        const got = tileJs(x, reps);
        if (reps.every((r) => r === 1)) { expect(got).toBeUndefined(); tf.dispose(x); return; }
        const wantShape = shape.map((d, i) => d * reps[i]!);
        const want: number[] = [];
        const total = wantShape.reduce((p, d) => p * d, 1);
        for (let flat = 0; flat < total; flat++) {
          let rest = flat, src = 0, stride = 1;
          const idx = new Array<number>(wantShape.length).fill(0);
          for (let k = wantShape.length - 1; k >= 0; k--) { idx[k] = rest % wantShape[k]!; rest = Math.floor(rest / wantShape[k]!); }
          for (let k = shape.length - 1; k >= 0; k--) { src += (idx[k]! % shape[k]!) * stride; stride *= shape[k]!; }
          want.push(data[src]!);
        }
        expect(got!.shape).toEqual(wantShape);
        expect(got!.dtype).toBe(dtype);
        expect(Array.from(got!.dataSync())).toEqual(want);
        const ref = tf.tile(x, reps);
        expect(Array.from(got!.dataSync())).toEqual(Array.from(ref.dataSync()));
        tf.dispose([x, got!, ref]);
      }), { numRuns: 300, seed: 7595 });
    });
  }
});
