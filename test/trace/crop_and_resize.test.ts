/**
 * tf.image.cropAndResize traced: generated images, boxes (inside, across and outside the image,
 * flipped), box indices (inside and outside the batch), crop sizes, both methods and
 * extrapolation values, with the boxes fed and with the boxes constant, compiled on cpu, wasm,
 * onnxruntime and auto. The reference: eager tfjs-wasm exactly (float32 positions, as TensorFlow's
 * kernel), and eager tfjs-cpu (float64 positions) within float32 rounding; tfjs-wasm is no
 * reference where a box index is outside the batch (it leaves that box and the ones after it
 * unwritten). The image's edge, where the two positions differ; NaN boxes; tfjs-layers CenterCrop
 * with a symbolic batch; the export in ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { eagerOnCpuWithWasm, lcg } from './support.js';

eagerOnCpuWithWasm();


type Method = 'bilinear' | 'nearest';

interface Case { b: number; h: number; w: number; c: number; n: number; crop: [number, number]; method: Method; ext: number; img: number[]; boxes: number[]; ind: number[] }

/** Eager tf.image.cropAndResize on a tfjs backend. */
async function eager(k: Case, backend: 'cpu' | 'wasm'): Promise<number[]> {
  await tf.setBackend(backend);
  try {
    return tf.tidy(() => Array.from(tf.image.cropAndResize(tf.tensor4d(k.img, [k.b, k.h, k.w, k.c]), tf.tensor2d(k.boxes, [k.n, 4]),
      tf.tensor1d(k.ind, 'int32'), k.crop, k.method, k.ext).dataSync()));
  } finally {
    await tf.setBackend('cpu');
  }
}

/** Compiled with the boxes and box indices fed, or as constants of the function. */
async function compiled(k: Case, backend: gc.BackendName, fed: boolean): Promise<tf.Tensor> {
  const image = tf.tensor4d(k.img, [k.b, k.h, k.w, k.c]);
  if (fed) {
    const f = gc.compile((x: tf.Tensor, bx: tf.Tensor, i: tf.Tensor) => tf.image.cropAndResize(x as tf.Tensor4D, bx as tf.Tensor2D, i as tf.Tensor1D, k.crop, k.method, k.ext), { backend });
    const out = (await f(image, tf.tensor2d(k.boxes, [k.n, 4]), tf.tensor1d(k.ind, 'int32'))) as tf.Tensor;
    f.dispose();
    return out;
  }
  const f = gc.compile((x: tf.Tensor) => tf.image.cropAndResize(x as tf.Tensor4D, tf.tensor2d(k.boxes, [k.n, 4]), tf.tensor1d(k.ind, 'int32'), k.crop, k.method, k.ext), { backend });
  const out = (await f(image)) as tf.Tensor;
  f.dispose();
  return out;
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe('cropAndResize traced', () => {
  it('property: equals eager tfjs-wasm exactly and tfjs-cpu within float32 rounding, boxes fed or constant, on cpu, wasm, onnxruntime and auto', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), async (seed) => {
      const r = lcg(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const b = int(1, 3), h = int(1, 6), w = int(1, 6), c = int(1, 3), n = int(0, 4);
      const k: Case = {
        b, h, w, c, n, crop: [int(1, 5), int(1, 5)], method: r() < 0.5 ? 'nearest' : 'bilinear', ext: r() < 0.5 ? 0 : int(-5, 5) / 2,
        img: Array.from({ length: b * h * w * c }, () => Math.round((r() * 20 - 10) * 16) / 16),
        // Boxes inside, across the edge and outside the image, some flipped.
        boxes: Array.from({ length: n * 4 }, () => r() * 1.6 - 0.3),
        ind: Array.from({ length: n }, () => (r() < 0.15 ? b : int(0, b - 1))),
      };
      const inBatch = k.ind.every((i) => i < b);
      const cpu = await eager(k, 'cpu');
      const wasm = inBatch ? await eager(k, 'wasm') : undefined;
      for (const fed of [true, false]) {
        for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
          const got = await compiled(k, backend, fed);
          const where = `${backend} ${fed ? 'fed' : 'constant'} boxes, seed ${seed}: ${JSON.stringify({ ...k, img: undefined })}`;
          expect(got.dtype, where).toBe('float32');
          expect(got.shape, where).toEqual([n, ...k.crop, c]);
          const g = Array.from(got.dataSync());
          got.dispose();
          if (wasm !== undefined) expect(g.every((v, i) => same(v, wasm[i]!)), `${where}: ${g} vs eager wasm ${wasm}`).toBe(true);
          // tfjs-cpu positions and lerps in float64: the same samples, values within float32 rounding.
          g.forEach((v, i) => expect(Math.abs(v - cpu[i]!), `${where} [${i}]: ${v} vs eager cpu ${cpu[i]}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(cpu[i]!))));
        }
      }
    }), { numRuns: 40, seed: 23 });
  });

  it('the image edge: a whole-image box samples in float32 as tfjs-wasm does (tfjs-cpu keeps the last row where float32 passes the edge)', async () => {
    // H = 4, cropHeight = 22: the last sample's position is 3 in float64, just above 3 in float32.
    const k: Case = { b: 1, h: 4, w: 1, c: 1, n: 1, crop: [22, 1], method: 'bilinear', ext: -1, img: [1, 2, 3, 4], boxes: [0, 0, 1, 1], ind: [0] };
    const cpu = await eager(k, 'cpu'), wasm = await eager(k, 'wasm');
    expect(cpu[21]).toBe(4);
    expect(wasm[21]).toBe(-1);
    for (const fed of [true, false]) {
      for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
        const got = Array.from((await compiled(k, backend, fed)).dataSync());
        expect(got, `${backend} ${fed ? 'fed' : 'constant'}`).toEqual(wasm);
      }
    }
  });

  it('NaN boxes give NaN inside the image and the extrapolation value outside it, as tfjs-cpu; a box outside the batch gives zeros', async () => {
    for (const method of ['bilinear', 'nearest'] as const) {
      const k: Case = {
        b: 2, h: 3, w: 3, c: 2, n: 4, crop: [2, 3], method, ext: 7, img: Array.from({ length: 36 }, (_, i) => i - 10),
        boxes: [NaN, 0, 1, 1, 0, NaN, 1, 0.5, -2, NaN, -1, NaN, 0, 0, 1, 1], ind: [0, 1, 1, 2],
      };
      const cpu = await eager(k, 'cpu');
      expect(cpu.slice(0, 12).every(Number.isNaN)).toBe(true);
      expect(cpu.slice(24, 36)).toEqual(new Array(12).fill(7));
      expect(cpu.slice(36)).toEqual(new Array(12).fill(0));
      for (const fed of [true, false]) {
        for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
          const got = Array.from((await compiled(k, backend, fed)).dataSync());
          expect(got.every((v, i) => same(v, cpu[i]!)), `${method} ${backend} ${fed ? 'fed' : 'constant'}: ${got} vs ${cpu}`).toBe(true);
        }
      }
    }
  });

  it('tfjs-layers CenterCrop compiles with a symbolic batch: equal to the eager layer at two batch sizes, traced once, on every engine', async () => {
    const crop = tfl.layers.centerCrop({ height: 5, width: 4 });
    const x = tf.tensor4d(Array.from({ length: 3 * 9 * 8 * 2 }, (_, i) => (i * 37) % 101), [3, 9, 8, 2]);
    const want = (crop.apply(x) as tf.Tensor);
    expect(want.shape).toEqual([3, 5, 4, 2]);
    for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
      const f = gc.compile((v: tf.Tensor) => crop.apply(v) as tf.Tensor, { inputs: [gc.spec(['batch', 9, 8, 2])], backend });
      expect(Array.from(((await f(x)) as tf.Tensor).dataSync()), backend).toEqual(Array.from(want.dataSync()));
      const one = tf.slice(x, [1], [1]);
      expect(Array.from(((await f(one)) as tf.Tensor).dataSync()), `${backend} b=1`).toEqual(Array.from((crop.apply(one) as tf.Tensor).dataSync()));
      expect(f.traceCount, backend).toBe(1);
      f.dispose();
    }
  });

  it('a symbolic batch: boxes constant or fed, box indices past the batch give zeros, an empty batch too (fuzz seed 1401361)', async () => {
    const boxes = [-0.125, 1.25, 1.25, 0.875, 0.25, 0, 1, 0.75, -0.25, 0, 0.875, -0.25];
    const ind = [0, 1, 2];
    const consts = gc.compile((x: tf.Tensor) => tf.image.cropAndResize(x as tf.Tensor4D, tf.tensor2d(boxes, [3, 4]), tf.tensor1d(ind, 'int32'), [2, 5], 'bilinear', 0.5),
      { inputs: [gc.spec([null, 2, 3, 1])], backend: 'cpu' });
    const fed = gc.compile((x: tf.Tensor, bx: tf.Tensor, i: tf.Tensor) => tf.image.cropAndResize(x as tf.Tensor4D, bx as tf.Tensor2D, i as tf.Tensor1D, [2, 5], 'bilinear', 0.5),
      { inputs: [gc.spec([null, 2, 3, 1]), gc.spec([3, 4]), gc.spec([3], 'int32')], backend: 'cpu' });
    for (const b of [0, 1, 2, 3]) {
      const img = Array.from({ length: b * 6 }, (_, i) => i * 0.25 - 1);
      const want = await eager({ b, h: 2, w: 3, c: 1, n: 3, crop: [2, 5], method: 'bilinear', ext: 0.5, img, boxes, ind }, 'cpu');
      const x = tf.tensor4d(img, [b, 2, 3, 1]);
      for (const [name, y] of [['constant', await consts(x)], ['fed', await fed(x, tf.tensor2d(boxes, [3, 4]), tf.tensor1d(ind, 'int32'))]] as const) {
        const got = Array.from((y as tf.Tensor).dataSync());
        expect(got.length, `${name} b=${b}`).toBe(30);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!), `${name} b=${b} [${i}]: ${v} vs ${want[i]}`).toBeLessThanOrEqual(1e-6));
        // Boxes on images b.. are zeros; box 0 reads the extrapolation value somewhere when it exists.
        for (let k = b; k < 3; k++) expect(got.slice(k * 10, k * 10 + 10), `${name} b=${b} box ${k}`).toEqual(new Array(10).fill(0));
      }
    }
    expect(consts.traceCount).toBe(1);
  });

  it('exports to ONNX: ONNX Runtime crops fed boxes as the compiled function does', async () => {
    const f = gc.compile((x: tf.Tensor, bx: tf.Tensor, i: tf.Tensor) => tf.image.cropAndResize(x as tf.Tensor4D, bx as tf.Tensor2D, i as tf.Tensor1D, [3, 2], 'bilinear', 0.5),
      { inputs: [gc.spec(['batch', 4, 5, 2], 'float32', 'image'), gc.spec(['boxes', 4], 'float32', 'boxes'), gc.spec(['boxes'], 'int32', 'ind')] });
    const img = Array.from({ length: 2 * 4 * 5 * 2 }, (_, i) => Math.sin(i));
    const boxes = [0.1, 0.2, 0.9, 0.7, -0.2, 0.5, 0.6, 1.3, 0.3, 0.3, 0.3, 0.3];
    const ind = [1, 0, 1];
    const want = Array.from(((await f(tf.tensor4d(img, [2, 4, 5, 2]), tf.tensor2d(boxes, [3, 4]), tf.tensor1d(ind, 'int32'))) as tf.Tensor).dataSync());
    const cpu = await eager({ b: 2, h: 4, w: 5, c: 2, n: 3, crop: [3, 2], method: 'bilinear', ext: 0.5, img, boxes, ind }, 'cpu');
    want.forEach((v, i) => expect(Math.abs(v - cpu[i]!)).toBeLessThanOrEqual(1e-6));
    const s = await ort.InferenceSession.create(f.toOnnx());
    const out = await s.run({
      image: new ort.Tensor('float32', Float32Array.from(img), [2, 4, 5, 2]),
      boxes: new ort.Tensor('float32', Float32Array.from(boxes), [3, 4]),
      ind: new ort.Tensor('int32', Int32Array.from(ind), [3]),
    });
    const got = out[s.outputNames[0]!]!;
    expect([...got.dims]).toEqual([3, 3, 2, 2]);
    expect(Array.from(got.data as Float32Array)).toEqual(want);
  });
});
