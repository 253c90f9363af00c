/**
 * tf.image.resizeBilinear / resizeNearestNeighbor and their gradients, traced (as gathers and
 * lerps, and as matmuls with interpolation matrices) — generated shapes and modes:
 *   - forward: compiled on cpu and wasm equals eager on that backend, the batch symbolic;
 *   - gradients: compiled equals a reference loop written here and eager tfjs-wasm (tfjs-cpu's
 *     nearest-neighbour gradient is wrong for batch > 1 and its bilinear gradient has the wrong
 *     shape for non-square images, so it is not the reference);
 *   - exported to ONNX, ONNX Runtime gives the same values;
 *   - a tfjs-layers model with UpSampling2D trains compiled as it trains eagerly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { ensureBackend } from '../../runtime/backends/select.js';

interface Case { b: number; h: number; w: number; c: number; nh: number; nw: number; align: boolean; half: boolean; bilinear: boolean }

const caseArb: fc.Arbitrary<Case> = fc.record({
  b: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }), c: fc.integer({ min: 1, max: 3 }),
  nh: fc.integer({ min: 1, max: 9 }), nw: fc.integer({ min: 1, max: 9 }),
  align: fc.boolean(), half: fc.boolean(), bilinear: fc.boolean(),
}).filter((k) => !(k.align && k.half)); // tfjs refuses alignCorners with halfPixelCenters

const resize = (k: Case) => (x: tf.Tensor) => (k.bilinear
  ? tf.image.resizeBilinear(x as tf.Tensor4D, [k.nh, k.nw], k.align, k.half)
  : tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [k.nh, k.nw], k.align, k.half));
const gradOf = (k: Case) => (x: tf.Tensor, dy: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(resize(k)(z), dy)))(x);

/** The gradient by its definition, as tfjs computes the source positions for it (without half-pixel centers). */
function referenceGrad(k: Case, dy: Float32Array): Float32Array {
  const dx = new Float32Array(k.b * k.h * k.w * k.c);
  const axis = (inSize: number, outSize: number) => {
    const scale = (k.align && outSize > 1 ? inSize - 1 : inSize) / (k.align && outSize > 1 ? outSize - 1 : outSize);
    return Array.from({ length: outSize }, (_, r): [number, number][] => {
      const src = scale * r;
      if (!k.bilinear) return [[Math.min(inSize - 1, k.align ? Math.round(src) : Math.floor(src)), 1]];
      const lo = Math.floor(src), f = src - lo;
      return [[lo, 1 - f], [Math.min(Math.ceil(src), inSize - 1), f]];
    });
  };
  const rows = axis(k.h, k.nh), cols = axis(k.w, k.nw);
  for (let n = 0; n < k.b; n++) for (let r = 0; r < k.nh; r++) for (let s = 0; s < k.nw; s++) for (let ch = 0; ch < k.c; ch++) {
    const g = dy[((n * k.nh + r) * k.nw + s) * k.c + ch]!;
    for (const [i, wi] of rows[r]!) for (const [j, wj] of cols[s]!) { const at = ((n * k.h + i) * k.w + j) * k.c + ch; dx[at] = dx[at]! + g * wi * wj; }
  }
  return dx;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

function data(k: Case, seed: number): { x: Float32Array; dy: Float32Array } {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return { x: Float32Array.from({ length: k.b * k.h * k.w * k.c }, r), dy: Float32Array.from({ length: k.b * k.nh * k.nw * k.c }, r) };
}

beforeAll(async () => {
  await ensureBackend('wasm');
  await tf.setBackend('cpu');
});

describe('resize kernels traced', () => {
  it('property: forward on cpu and wasm (symbolic batch) equals eager; gradients equal the definition and eager wasm', async () => {
    let seed = 1;
    await fc.assert(fc.asyncProperty(caseArb, async (k) => {
      const { x: xv, dy: dyv } = data(k, seed++);
      const where = JSON.stringify(k);
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        const x = tf.tensor4d(xv, [k.b, k.h, k.w, k.c]);
        const f = gc.compile(resize(k), { inputs: [gc.spec(['batch', k.h, k.w, k.c])], backend });
        expect(maxDiff((await f(x) as tf.Tensor).dataSync(), resize(k)(x).dataSync()), `forward ${backend} ${where}`).toBeLessThan(1e-6);
        f.dispose();
        const dy = tf.tensor4d(dyv, [k.b, k.nh, k.nw, k.c]);
        const g = gc.compile(gradOf(k), { inputs: [gc.spec(['batch', k.h, k.w, k.c]), gc.spec(['batch', k.nh, k.nw, k.c])], backend });
        const got = (await g(x, dy) as tf.Tensor).dataSync();
        expect(maxDiff(got, referenceGrad(k, dyv)), `gradient ${backend} vs definition ${where}`).toBeLessThan(1e-5);
        // Not where an axis of one pixel is stretched with alignCorners: tfjs's kernels divide by its zero scale.
        const zeroScale = k.align && ((k.h === 1 && k.nh > 1) || (k.w === 1 && k.nw > 1));
        if (backend === 'wasm' && !zeroScale) expect(maxDiff(got, gradOf(k)(x, dy).dataSync()), `gradient vs eager wasm ${where}`).toBeLessThan(1e-5);
        g.dispose();
      }
      await tf.setBackend('cpu');
    }), { numRuns: 40, seed: 7 });
  });

  it('nearest keeps an int32 image int32; bilinear of int32 is float32, as tfjs', async () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1], 'int32');
    const n = gc.compile((x: tf.Tensor) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [4, 4]), { inputs: [gc.spec([1, 2, 2, 1], 'int32')], backend: 'cpu' });
    const rn = (await n(x)) as tf.Tensor;
    expect(rn.dtype).toBe('int32');
    expect(Array.from(rn.dataSync())).toEqual(Array.from(tf.image.resizeNearestNeighbor(x, [4, 4]).dataSync()));
    const bl = gc.compile((x: tf.Tensor) => tf.image.resizeBilinear(x as tf.Tensor4D, [3, 3]), { inputs: [gc.spec([1, 2, 2, 1], 'int32')], backend: 'cpu' });
    const rb = (await bl(x)) as tf.Tensor;
    expect(rb.dtype).toBe('float32');
    expect(maxDiff(rb.dataSync(), tf.image.resizeBilinear(x, [3, 3]).dataSync())).toBeLessThan(1e-6);
  });

  it('exported to ONNX, ONNX Runtime gives the same values (both kernels, half-pixel and align-corners)', async () => {
    for (const k of [
      { b: 2, h: 5, w: 3, c: 2, nh: 7, nw: 9, align: false, half: true, bilinear: true },
      { b: 2, h: 4, w: 6, c: 3, nh: 3, nw: 5, align: true, half: false, bilinear: true },
      { b: 1, h: 3, w: 3, c: 1, nh: 8, nw: 2, align: false, half: true, bilinear: false },
    ]) {
      const { x: xv } = data(k, 3);
      const x = tf.tensor4d(xv, [k.b, k.h, k.w, k.c]);
      const f = gc.compile(resize(k), { inputs: [gc.spec(['batch', k.h, k.w, k.c], 'float32', 'images')] });
      const s = await ort.InferenceSession.create(f.toOnnx());
      const out = await s.run({ images: new ort.Tensor('float32', xv, [k.b, k.h, k.w, k.c]) });
      expect(maxDiff(out[s.outputNames[0]!]!.data as Float32Array, resize(k)(x).dataSync()), JSON.stringify(k)).toBeLessThan(1e-6);
    }
  });

  it('a tfjs-layers model with UpSampling2D (nearest) trains compiled as eagerly on wasm', async () => {
    // Dense on the channel axis before the upsampling, so the weights' gradient runs through it
    // (tfjs-wasm has no Conv2DBackpropFilter; tfjs-cpu's upsampling gradient is wrong for batch > 1).
    await tf.setBackend('wasm');
    const build = () => {
      const m = tfl.sequential({ layers: [
        tfl.layers.dense({ inputShape: [4, 4, 2], units: 3, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
        tfl.layers.upSampling2d({ size: [2, 2] }),
        tfl.layers.flatten({}),
        tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
      ] });
      const opt = tf.train.adam(0.01);
      const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x) as tf.Tensor) as tf.Scalar, true)!;
      return { m, opt, step };
    };
    const { x: xv, dy: yv } = data({ b: 3, h: 4, w: 4, c: 2, nh: 1, nw: 2, align: false, half: false, bilinear: false }, 9);
    const x = tf.tensor4d(xv, [3, 4, 4, 2]);
    const y = tf.tensor2d(yv.slice(0, 6), [3, 2]);
    const eager = build(), compiled = build();
    const f = gc.compile(compiled.step, { inputs: [gc.spec(['batch', 4, 4, 2]), gc.spec(['batch', 2])], backend: 'wasm' });
    expect(f.graph.toString()).toMatch(/gather/);
    const le: number[] = [], lc: number[] = [];
    for (let i = 0; i < 8; i++) {
      le.push(eager.step(x, y).dataSync()[0]!);
      lc.push(((await f(x, y)) as tf.Tensor).dataSync()[0]!);
    }
    expect(le[7]!).toBeLessThan(le[0]!);
    expect(maxDiff(lc, le)).toBeLessThan(1e-5);
    const we = eager.m.getWeights().map((t) => t.dataSync()), wc = compiled.m.getWeights().map((t) => t.dataSync());
    we.forEach((w, i) => expect(maxDiff(wc[i]!, w)).toBeLessThan(1e-5));
    await tf.setBackend('cpu');
  });
});
