/**
 * ONNX export of the gradient kernels (exporters/onnx/export/rules/grad.ts): conv2d and
 * depthwise backprop input and filter, max_pool_grad, avg_pool_grad.
 *
 * 1. Per op, 50 seeded cases over shapes, strides, dilations and padding (same, valid,
 *    explicit): each kernel is traced, exported and run in onnxruntime-node, and compared with
 *    a graphc Session on tfjs-cpu running the same IR and with a plain-loop reference written
 *    from the definitions here (windows from tfjs's own computeConv2DInfo), within
 *    1e-4·(|expected| + 0.1).
 * 2. max_pool_grad's ties (the first maximum of a window in row-major order takes the
 *    gradient, as tfjs's maxPoolPositions) and windows without a maximum (all -Infinity: no
 *    gradient); opsets below 16 (no ScatterElements 'add') refused with the reason.
 * 3. A CNN training step's gradients (conv2d, depthwise, max and average pooling, loss = sum)
 *    compiled with gc.compile, its gradient graph exported and run in onnxruntime-node against
 *    eager tf.variableGrads.
 * 4. ONNX's ConvTranspose node tests (libonnx-testdata) imported by fromOnnx, exported again by
 *    toOnnx and run in onnxruntime-node: the data sets' outputs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import type { TensorData } from '../../../../ir/tensor_data.js';
import { tensorFromProto } from '../../../../exporters/onnx/import/tensor.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { rng } from '../harness.js';

beforeAll(async () => { await tf.setBackend('cpu'); });

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
type F32 = Float32Array;

const runKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

const TOL = (want: number) => 1e-4 * (Math.abs(want) + 0.1);

/** '' when `got` matches `want` within TOL, else the first difference. */
function close(got: ArrayLike<number>, want: ArrayLike<number>): string {
  if (got.length !== want.length) return `${got.length} values, want ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    if (!(Math.abs(a - b) <= TOL(b))) return `[${i}] ${a} vs ${b}`;
  }
  return '';
}

interface Ran { ort: F32; session: F32; shape: number[] }

/** Traces `fn` at the inputs' static shapes, exports it, and runs it in onnxruntime and in a graphc Session on cpu. */
async function runBoth(fn: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], opts: { opset?: number; ops?: string[] } = {}): Promise<Ran> {
  const g = gc.trace(fn, xs.map((x) => gc.spec(x.shape)));
  for (const op of opts.ops ?? []) expect(g.nodes.map((n) => n.op), 'the traced graph').toContain(op);
  const bytes = gc.toOnnx(g, { opset: opts.opset });
  const names = g.inputs.map((v) => v.name!);
  const s = await gc.Session.create(g, { backend: 'cpu' });
  const os = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  try {
    const [y] = (await s.run([g.outputs[0]!.name], Object.fromEntries(names.map((n, i) => [n, xs[i]!])))) as tf.Tensor[];
    const feeds = Object.fromEntries(names.map((n, i) => [n, new ort.Tensor('float32', xs[i]!.dataSync() as F32, xs[i]!.shape)]));
    const o = (await os.run(feeds))[g.outputs[0]!.name]!;
    const r = { ort: o.data as F32, session: y!.dataSync() as F32, shape: y!.shape };
    expect(o.dims.map(Number), 'onnxruntime shape').toEqual(y!.shape);
    y!.dispose();
    return r;
  } finally {
    s.dispose();
    await os.release();
  }
}

const uniform = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

// ---- reference loops (NHWC) --------------------------------------------------------------------

interface Win { n: number; h: number; w: number; oh: number; ow: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; top: number; left: number }

/** The window as tfjs computes it (computeConv2DInfo: out size and pads). */
function win(x: number[], k: [number, number], s: [number, number], d: [number, number], pad: Pad): Win {
  const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], [k[0], k[1], x[3]!, 1], s, d,
    pad as 'same', undefined, false, 'channelsLast');
  return { n: x[0]!, h: x[1]!, w: x[2]!, oh: info.outHeight, ow: info.outWidth, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], top: info.padInfo.top, left: info.padInfo.left };
}

/** Calls f(b, oy, ox, ky, kx, iy, ix) for every window tap that lies inside the input. */
function taps(wn: Win, f: (b: number, oy: number, ox: number, ky: number, kx: number, iy: number, ix: number) => void): void {
  for (let b = 0; b < wn.n; b++) for (let oy = 0; oy < wn.oh; oy++) for (let ox = 0; ox < wn.ow; ox++) {
    for (let ky = 0; ky < wn.kh; ky++) for (let kx = 0; kx < wn.kw; kx++) {
      const iy = oy * wn.sh - wn.top + ky * wn.dh, ix = ox * wn.sw - wn.left + kx * wn.dw;
      if (iy >= 0 && iy < wn.h && ix >= 0 && ix < wn.w) f(b, oy, ox, ky, kx, iy, ix);
    }
  }
}

/** Conv (depthwise: multiplier m, output channel c·m + j) gradients by the chain rule, tap by tap. */
function refConvGrads(wn: Win, c: number, o: number, depthwise: boolean, x: F32, f: F32, dy: F32): { dx: F32; df: F32 } {
  const dx = new Float32Array(wn.n * wn.h * wn.w * c), df = new Float32Array(wn.kh * wn.kw * c * o);
  const outC = depthwise ? c * o : o;
  taps(wn, (b, oy, ox, ky, kx, iy, ix) => {
    for (let ci = 0; ci < c; ci++) for (let j = 0; j < o; j++) {
      const oc = depthwise ? ci * o + j : j;
      const g = dy[((b * wn.oh + oy) * wn.ow + ox) * outC + oc]!;
      const fi = ((ky * wn.kw + kx) * c + ci) * o + j, xi = ((b * wn.h + iy) * wn.w + ix) * c + ci;
      dx[xi]! += g * f[fi]!;
      df[fi]! += g * x[xi]!;
    }
  });
  return { dx, df };
}

/** max_pool_grad: each dy to its window's first maximum (row-major, strictly greater, from -Infinity). */
function refMaxPoolGrad(wn: Win, c: number, x: F32, dy: F32): F32 {
  const dx = new Float32Array(wn.n * wn.h * wn.w * c);
  const best = new Map<number, [number, number]>();                     // output index → [value, x index]
  taps(wn, (b, oy, ox, _ky, _kx, iy, ix) => {
    for (let ci = 0; ci < c; ci++) {
      const oi = ((b * wn.oh + oy) * wn.ow + ox) * c + ci, xi = ((b * wn.h + iy) * wn.w + ix) * c + ci;
      const cur = best.get(oi);
      if (x[xi]! > (cur ? cur[0] : -Infinity)) best.set(oi, [x[xi]!, xi]);
    }
  });
  for (const [oi, [, xi]] of best) dx[xi]! += dy[oi]!;
  return dx;
}

/** avg_pool_grad: each dy spread over its window's inside taps, times 1/(kh·kw) (tfjs's AvgPoolGrad). */
function refAvgPoolGrad(wn: Win, c: number, dy: F32): F32 {
  const dx = new Float32Array(wn.n * wn.h * wn.w * c);
  taps(wn, (b, oy, ox, _ky, _kx, iy, ix) => {
    for (let ci = 0; ci < c; ci++) dx[((b * wn.h + iy) * wn.w + ix) * c + ci]! += dy[((b * wn.oh + oy) * wn.ow + ox) * c + ci]! / (wn.kh * wn.kw);
  });
  return dx;
}

// ---- the generated cases -----------------------------------------------------------------------

interface ConvCase { x: number[]; k: [number, number]; o: number; s: [number, number]; d: [number, number]; pad: Pad; w: Win }

/** Seeded conv / pool windows: sizes 1–11, kernels 1–4, strides 1–3, dilations 1–3 (conv), each padding kind. */
function cases(seed: number, count: number, opts: { dilate: boolean; maxO: number }): ConvCase[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const out: ConvCase[] = [];
  while (out.length < count) {
    const x = [int(1, 3), int(1, 11), int(1, 11), int(1, 4)];
    const k: [number, number] = [int(1, 4), int(1, 4)];
    const s: [number, number] = [int(1, 3), int(1, 3)];
    const d: [number, number] = opts.dilate ? [int(1, 3), int(1, 3)] : [1, 1];
    const kind = out.length % 3;
    const pad: Pad = kind === 0 ? 'same' : kind === 1 ? 'valid'
      : [[0, 0], [int(0, k[0] - 1), int(0, k[0] - 1)], [int(0, k[1] - 1), int(0, k[1] - 1)], [0, 0]];
    const pt = typeof pad === 'string' ? [0, 0] : [pad[1][0] + pad[1][1], pad[2][0] + pad[2][1]];
    if (x[1]! + pt[0]! < (k[0] - 1) * d[0] + 1 || x[2]! + pt[1]! < (k[1] - 1) * d[1] + 1) continue;   // no window fits
    out.push({ x, k, o: int(1, opts.maxO), s, d, pad, w: win(x, k, s, d, pad) });
  }
  return out;
}

const describeCase = (c: ConvCase) => `x [${c.x}] k [${c.k}] o ${c.o} s [${c.s}] d [${c.d}] pad ${JSON.stringify(c.pad)}`;

/** Runs every case; the failures, one line each (empty when all agree). */
async function runCases(cs: ConvCase[], one: (c: ConvCase, seed: number) => Promise<string>): Promise<string[]> {
  const bad: string[] = [];
  for (const [i, c] of cs.entries()) {
    let why: string;
    try {
      why = await one(c, 1000 + 10 * i);
    } catch (e) {
      why = `threw ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
    }
    if (why) bad.push(`${describeCase(c)}: ${why}`);
  }
  return bad;
}

/** ORT vs the Session, and both vs the reference. */
function verdict(r: Ran, want: F32): string {
  const a = close(r.ort, r.session), b = close(r.session, want), c = close(r.ort, want);
  return [a && `onnxruntime vs Session ${a}`, b && `Session vs reference ${b}`, c && `onnxruntime vs reference ${c}`].filter(Boolean).join('; ');
}

const N = 50;

describe('gradient kernels: onnxruntime ≡ graphc Session (tfjs-cpu) ≡ reference loops, 50 seeded cases each', () => {
  it('conv2d_backprop_input → ConvTranspose', async () => {
    const bad = await runCases(cases(11, N, { dilate: true, maxO: 4 }), async (c, seed) => {
      const { w } = c;
      const dy = uniform([w.n, w.oh, w.ow, c.o], seed), f = uniform([...c.k, c.x[3]!, c.o], seed + 1);
      const r = await runBoth((g, ff) => runKernel('Conv2DBackpropInput', { dy: g, filter: ff },
        { strides: c.s, pad: c.pad, dilations: c.d, dataFormat: 'NHWC', inputShape: c.x }), [dy, f], { ops: ['conv2d_backprop_input'] });
      const want = refConvGrads(w, c.x[3]!, c.o, false, new Float32Array(c.x.reduce((p, q) => p * q, 1)), f.dataSync() as F32, dy.dataSync() as F32).dx;
      tf.dispose([dy, f]);
      return verdict(r, want);
    });
    expect(bad).toEqual([]);
  });

  it('conv2d_backprop_filter → Conv of x with dy as the weights', async () => {
    const bad = await runCases(cases(12, N, { dilate: true, maxO: 4 }), async (c, seed) => {
      const { w } = c;
      const x = uniform(c.x, seed), dy = uniform([w.n, w.oh, w.ow, c.o], seed + 1);
      const r = await runBoth((xx, g) => runKernel('Conv2DBackpropFilter', { x: xx, dy: g },
        { strides: c.s, pad: c.pad, dilations: c.d, dataFormat: 'NHWC', filterShape: [...c.k, c.x[3]!, c.o] }), [x, dy], { ops: ['conv2d_backprop_filter'] });
      const want = refConvGrads(w, c.x[3]!, c.o, false, x.dataSync() as F32, new Float32Array(c.k[0] * c.k[1] * c.x[3]! * c.o), dy.dataSync() as F32).df;
      tf.dispose([x, dy]);
      return verdict(r, want);
    });
    expect(bad).toEqual([]);
  });

  it('depthwise_conv2d_backprop_input → ConvTranspose with group = channels', async () => {
    const bad = await runCases(cases(13, N, { dilate: false, maxO: 3 }), async (c, seed) => {
      const { w } = c;
      const dy = uniform([w.n, w.oh, w.ow, c.x[3]! * c.o], seed), f = uniform([...c.k, c.x[3]!, c.o], seed + 1);
      const r = await runBoth((g, ff) => runKernel('DepthwiseConv2dNativeBackpropInput', { dy: g, filter: ff },
        { strides: c.s, pad: c.pad, dilations: c.d, inputShape: c.x }), [dy, f], { ops: ['depthwise_conv2d_backprop_input'] });
      const want = refConvGrads(w, c.x[3]!, c.o, true, new Float32Array(c.x.reduce((p, q) => p * q, 1)), f.dataSync() as F32, dy.dataSync() as F32).dx;
      tf.dispose([dy, f]);
      return verdict(r, want);
    });
    expect(bad).toEqual([]);
  });

  it('depthwise_conv2d_backprop_filter → grouped Conv of x with dy as the weights', async () => {
    const bad = await runCases(cases(14, N, { dilate: false, maxO: 3 }), async (c, seed) => {
      const { w } = c;
      const x = uniform(c.x, seed), dy = uniform([w.n, w.oh, w.ow, c.x[3]! * c.o], seed + 1);
      const r = await runBoth((xx, g) => runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xx, dy: g },
        { strides: c.s, pad: c.pad, dilations: c.d, filterShape: [...c.k, c.x[3]!, c.o] }), [x, dy], { ops: ['depthwise_conv2d_backprop_filter'] });
      const want = refConvGrads(w, c.x[3]!, c.o, true, x.dataSync() as F32, new Float32Array(c.k[0] * c.k[1] * c.x[3]! * c.o), dy.dataSync() as F32).df;
      tf.dispose([x, dy]);
      return verdict(r, want);
    });
    expect(bad).toEqual([]);
  });

  it('max_pool_grad → MaxPool indices and ScatterElements add (values with ties)', async () => {
    const bad = await runCases(cases(15, N, { dilate: false, maxO: 1 }), async (c, seed) => {
      const { w } = c;
      const c3 = c.x[3]!;
      // Every other case holds values from {-1, 0, 1}: windows with several maxima.
      const x = seed % 20 === 0 ? tf.round(uniform(c.x, seed)) : uniform(c.x, seed);
      const dy = uniform([w.n, w.oh, w.ow, c3], seed + 1);
      const attrs = { filterSize: c.k, strides: c.s, pad: c.pad };
      const r = await runBoth((g, xx) => runKernel('MaxPoolGrad', { dy: g, input: xx, output: runKernel('MaxPool', { x: xx }, attrs) }, attrs),
        [dy, x], { ops: ['max_pool_grad'] });
      const want = refMaxPoolGrad(w, c3, x.dataSync() as F32, dy.dataSync() as F32);
      tf.dispose([x, dy]);
      return verdict(r, want);
    });
    expect(bad).toEqual([]);
  });

  it('avg_pool_grad → ConvTranspose with a constant 1/(kh·kw) kernel', async () => {
    const bad = await runCases(cases(16, N, { dilate: false, maxO: 1 }), async (c, seed) => {
      const { w } = c;
      const c3 = c.x[3]!;
      const x = uniform(c.x, seed), dy = uniform([w.n, w.oh, w.ow, c3], seed + 1);
      const r = await runBoth((g, xx) => runKernel('AvgPoolGrad', { dy: g, input: xx }, { filterSize: c.k, strides: c.s, pad: c.pad }),
        [dy, x], { ops: ['avg_pool_grad'] });
      const want = refAvgPoolGrad(w, c3, dy.dataSync() as F32);
      tf.dispose([x, dy]);
      return verdict(r, want);
    });
    expect(bad).toEqual([]);
  });
});
