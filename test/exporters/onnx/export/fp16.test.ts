/**
 * convertToFloat16 (exporters/onnx/export/fp16.ts): the rounding of float32 to binary16, and
 * the interop models (plus LayerNorm, control flow) converted: onnx.checker passes, the file is
 * about half, and ONNX Runtime gives the float32 model's numbers within float16's precision.
 *
 * Tolerance: binary16 keeps 11 significant bits, a relative rounding of u = 2⁻¹¹ ≈ 4.9e-4 per
 * weight and per op result. Through the few layers of these models the errors add to a few
 * u: |Δ| ≤ 5e-3·max(1, max|y|) per output (≈ 10 u; measured ≤ 1.3e-3, the RNN's 5 steps),
 * which a model computed in float16 meets and one with a wrong weight, op or cast does not
 * (those move outputs by O(0.1–1)).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { parseGraph } from '../../../../ir/parser.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { convertToFloat16, float16BitsToNumber, float32ToFloat16Bits } from '../../../../exporters/onnx/export/fp16.js';
import { checkModels, makeInputs, randomizeWeights } from '../harness.js';
import type { InputData } from '../harness.js';
import { interopModels } from '../interop_models.js';

await tf.setBackend('cpu');

const H = float32ToFloat16Bits;

describe('float32 → float16 rounding', () => {
  it('special values: signed zeros, max, overflow, ±Inf, NaN, smallest normal and subnormal', () => {
    expect(H(0)).toBe(0x0000);
    expect(H(-0)).toBe(0x8000);
    expect(H(1)).toBe(0x3c00);
    expect(H(-2)).toBe(0xc000);
    expect(H(65504)).toBe(0x7bff);
    expect(H(65519.99)).toBe(0x7bff);
    expect(H(65520)).toBe(0x7c00); // the midpoint to 2^16: ties to even is Inf
    expect(H(1e10)).toBe(0x7c00);
    expect(H(-1e10)).toBe(0xfc00);
    expect(H(Infinity)).toBe(0x7c00);
    expect(H(-Infinity)).toBe(0xfc00);
    const nan = H(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
    expect(H(2 ** -14)).toBe(0x0400);
    expect(H(2 ** -24)).toBe(0x0001);
    expect(H(2 ** -25)).toBe(0x0000); // a tie between 0 and the smallest subnormal: even is 0
    expect(H(-(2 ** -25) * 1.5)).toBe(0x8001);
    expect(H(3 * 2 ** -25)).toBe(0x0002); // 1.5 subnormal ulps: tie to even (2)
    expect(H(2 ** -26)).toBe(0x0000);
    expect(H(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up out of the subnormals
    expect(H(1 + 2 ** -11)).toBe(0x3c00); // tie, to even
    expect(H(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, to even (up)
    expect(H(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it('every binary16 value converts back to its own bits', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = float16BitsToNumber(h);
      if (Number.isNaN(v)) continue;
      expect(H(v)).toBe(h);
    }
  });

  it('random float32 values round to the nearest binary16, ties to even', () => {
    let s = 12345;
    const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < 200_000; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      u32[0] = (s & 0x8fffffff) | ((i % 40) << 24); // all signs, exponents from tiny to overflow
      const v = f32[0]!;
      if (!Number.isFinite(v)) continue;
      const h = H(v);
      const got = float16BitsToNumber(h);
      if (!Number.isFinite(got)) { expect(Math.abs(v)).toBeGreaterThanOrEqual(65520); continue; }
      // Neighbours of h (toward and away from zero) are no nearer; at a tie h is even.
      for (const n of [h - 1, h + 1]) {
        if ((n & 0x7fff) > 0x7bff || (n & 0x8000) !== (h & 0x8000) || n < 0) continue;
        const other = float16BitsToNumber(n);
        const dg = Math.abs(v - got), dn = Math.abs(v - other);
        expect(dg <= dn, `${v}: ${got} vs ${other}`).toBe(true);
        if (dg === dn) expect(h & 1).toBe(0);
      }
    }
  });
});

// ---- models -----------------------------------------------------------------------------------

function layerNormModel(): tfl.LayersModel {
  return randomizeWeights(tfl.sequential({ layers: [
    tfl.layers.embedding({ inputDim: 50, outputDim: 16, inputLength: 12 }),
    tfl.layers.layerNormalization({}),
    tfl.layers.conv1d({ filters: 8, kernelSize: 3, activation: 'relu' }),
    tfl.layers.globalAveragePooling1d({}),
    tfl.layers.dense({ units: 4, activation: 'softmax' }),
  ] }), 500);
}

interface Case { name: string; graph: gc.Graph; gens?: Parameters<typeof makeInputs>[3]; sizes: Record<string, number>[] }

const CONTROL_FLOW: Record<string, string> = {
  'If with a constant in a branch': `graph @branch(%p: f32[], %x: f32[batch,3], %w: f32[3]) {
  %0: f32[batch,3] = cond %p, %x, %w
    region then(%a: f32[batch,3], %b: f32[3]) {
      %0: f32[batch,3] = mul %a, %b
      %1: f32[] = const {value = dense<f32[]> [1.5]}
      %2: f32[batch,3] = add %0, %1
      return %2
    }
    region else(%a: f32[batch,3], %b: f32[3]) {
      return %a
    }
  return y = %0
}`,
  'Scan: an RNN step with captured weights': `graph @rnn(%xs: f32[time,batch,4], %h0: f32[batch,3], %w: f32[4,3], %u: f32[3,3]) {
  %0: f32[batch,3], %1: f32[time,batch,3] = scan %h0, %xs, %w, %u {num_carries = 1, num_xs = 1, reverse = false}
    region body(%h: f32[batch,3], %x: f32[batch,4], %a: f32[4,3], %b: f32[3,3]) {
      %0: f32[batch,3] = matmul %x, %a {transpose_a = false, transpose_b = false}
      %1: f32[batch,3] = matmul %h, %b {transpose_a = false, transpose_b = false}
      %2: f32[batch,3] = add %0, %1
      %3: f32[batch,3] = tanh %2
      return %3, %3
    }
  return h = %0, hs = %1
}`,
  'Loop: a while_loop of 3 steps with a float constant': `graph @capped(%x: f32[batch]) {
  %0: f32[batch] = while_loop %x {maximum_iterations = 3}
    region cond(%v: f32[batch]) {
      %0: bool[] = const {value = dense<bool[]> [true]}
      return %0
    }
    region body(%v: f32[batch]) {
      %0: f32[] = const {value = dense<f32[]> [0.75]}
      %1: f32[batch] = mul %v, %0
      %2: f32[batch] = add %1, %0
      return %2
    }
  return y = %0
}`,
};

function cases(): Case[] {
  const out: Case[] = interopModels().map((m) => ({
    name: m.name,
    graph: gc.trace(m.fn, m.shapes.map((s) => gc.spec(['batch', ...s]))),
    gens: Object.fromEntries(m.shapes.map((_, i) => [`x${i === 0 ? '' : i}`, { range: m.range ?? [-2, 2] }])),
    sizes: [{ batch: 1 }, { batch: 7 }],
  }));
  const ln = layerNormModel();
  out.push({ name: 'embedding + LayerNorm + conv1d', graph: gc.trace((ids: tf.Tensor) => ln.predict(ids) as tf.Tensor, [gc.spec(['batch', 12], 'int32', 'ids')]),
    gens: { ids: { range: [0, 50] } }, sizes: [{ batch: 1 }, { batch: 7 }] });
  // Ids past 2048 (float16's last exact integer): tfjs-layers casts them int → float → int.
  const emb = randomizeWeights(tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 5000, outputDim: 4, inputLength: 3 }), tfl.layers.flatten()] }), 900);
  out.push({ name: 'embedding of 5000 ids (the int → float → int cast stays exact)', graph: gc.trace((ids: tf.Tensor) => emb.predict(ids) as tf.Tensor, [gc.spec(['batch', 3], 'int32', 'ids')]),
    gens: { ids: { range: [2049, 5000] } }, sizes: [{ batch: 1 }, { batch: 7 }] });
  for (const [name, text] of Object.entries(CONTROL_FLOW)) {
    out.push({ name, graph: parseGraph(text), gens: { p: { range: [-1, 1] } }, sizes: [{ batch: 1, time: 1 }, { batch: 4, time: 5 }] });
  }
  return out;
}

const ortRun = async (bytes: Uint8Array, feeds: Record<string, ort.Tensor>) => {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  try { return await s.run(feeds); } finally { await s.release(); }
};
const feedsOf = (inputs: Record<string, InputData>) =>
  Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, new ort.Tensor(v.dtype, v.data, v.shape)]));

/** Float values of an ORT result (float16 decoded). */
function values(t: ort.Tensor): number[] {
  if (t.type === 'float16') return Array.from(t.data as Uint16Array, float16BitsToNumber);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

describe('convertToFloat16 on the interop models, LayerNorm and control flow', () => {
  const all = cases();
  const report: string[] = [];
  for (const c of all) {
    it(c.name, async () => {
      const bytes = gc.toOnnx(c.graph);
      const model = onnx.ModelProto.decode(bytes);
      const half = onnx.ModelProto.encode(convertToFloat16(model)).finish();
      const raw = onnx.ModelProto.encode(convertToFloat16(model, { keepIoTypes: false })).finish();
      // The input model is left as it was.
      expect(onnx.ModelProto.encode(model).finish()).toEqual(bytes);
      const checks = checkModels(new Map([['half', half], ['raw', raw]]));
      expect(checks.get('half'), 'checker (keepIoTypes)').toBeNull();
      expect(checks.get('raw'), 'checker (float16 io)').toBeNull();
      const m16 = onnx.ModelProto.decode(half);
      const floatInits = (m: onnx.IModelProto) => (m.graph!.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).length;
      expect(floatInits(m16), 'float32 initializers left').toBe(0);
      // Inputs and outputs keep their names and types.
      expect(m16.graph!.input!.map((v) => [v.name, v.type!.tensorType!.elemType])).toEqual(model.graph!.input!.map((v) => [v.name, v.type!.tensorType!.elemType]));
      expect(m16.graph!.output!.map((v) => [v.name, v.type!.tensorType!.elemType])).toEqual(model.graph!.output!.map((v) => [v.name, v.type!.tensorType!.elemType]));
      let worst = 0;
      for (const [k, size] of c.sizes.entries()) {
        const inputs = makeInputs(c.graph, size, 70 + k, c.gens ?? {});
        const want = await ortRun(bytes, feedsOf(inputs));
        const got = await ortRun(half, feedsOf(inputs));
        // float16 inputs: the float32 inputs rounded to float16.
        const rawFeeds = feedsOf(inputs);
        for (const [n, v] of Object.entries(inputs)) {
          if (v.dtype === 'float32') rawFeeds[n] = new ort.Tensor('float16', Uint16Array.from(v.data as Float32Array, H), v.shape);
        }
        const gotRaw = await ortRun(raw, rawFeeds);
        for (const [name, w] of Object.entries(want)) {
          expect(got[name]!.type).toBe(w.type);
          expect(got[name]!.dims).toEqual(w.dims);
          if (w.type !== 'float32') { expect(values(got[name]!)).toEqual(values(w)); continue; }
          expect(gotRaw[name]!.type).toBe('float16');
          const wv = values(w), scale = Math.max(1, ...wv.map(Math.abs));
          for (const gv of [values(got[name]!), values(gotRaw[name]!)]) {
            const d = Math.max(0, ...gv.map((x, i) => Math.abs(x - wv[i]!)));
            worst = Math.max(worst, d / scale);
            expect(d, `${name} at ${JSON.stringify(size)}: max |Δ| ${d} (scale ${scale})`).toBeLessThanOrEqual(5e-3 * scale);
          }
        }
      }
      const ratio = half.length / bytes.length;
      report.push(`fp16: ${c.name}: ${bytes.length} → ${half.length} bytes (${ratio.toFixed(3)}), max |Δ|/max(1,|y|) ${worst.toExponential(2)}`);
      // Weights dominate the larger models: about half the bytes.
      if (bytes.length > 20_000) expect(ratio).toBeLessThan(0.56);
    });
  }
  it('ops without float16 kernels compute in float32 between Casts; a weight only they read stays float32', async () => {
    const w = tf.variable(tf.randomNormal([6, 4, 3], 0, 0.5, 'float32', 5), true, 'fp32/w');
    const graph = gc.trace((x: tf.Tensor) => {
      const m = tf.cumsum(tf.maximum(x, w), 1);
      return tf.minimum(tf.mul(m, 2), 1.5);
    }, [gc.spec(['batch', 6, 4, 3], 'float32', 'x')]);
    const bytes = gc.toOnnx(graph);
    const m16 = convertToFloat16(onnx.ModelProto.decode(bytes));
    const half = onnx.ModelProto.encode(m16).finish();
    expect(checkModels(new Map([['m', half]])).get('m')).toBeNull();
    const nodes = m16.graph!.node!;
    const producer = (x: string) => nodes.find((n) => n.output!.includes(x));
    const toOf = (n: onnx.INodeProto | undefined) => Number(n?.attribute?.find((a) => a.name === 'to')?.i);
    for (const op of ['Max', 'CumSum', 'Min']) {
      const n = nodes.find((k) => k.opType === op);
      expect(n, op).toBeDefined();
      // Its float operand comes from a Cast to float32 (or is the float32 weight); its result is Cast back to float16.
      const x = n!.input![0]!;
      const init = m16.graph!.initializer!.find((t) => t.name === x);
      const input = m16.graph!.input!.find((v) => v.name === x);
      if (init) expect(init.dataType).toBe(onnx.TensorProto.DataType.FLOAT);
      else if (input) expect(input.type!.tensorType!.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
      else expect([producer(x)?.opType, toOf(producer(x))], op).toEqual(['Cast', onnx.TensorProto.DataType.FLOAT]);
      const reader = nodes.find((k) => k.input!.includes(n!.output![0]!));
      expect([reader?.opType, toOf(reader)], op).toEqual(['Cast', onnx.TensorProto.DataType.FLOAT16]);
    }
    const wInit = m16.graph!.initializer!.filter((t) => t.dims!.length === 3);
    expect(wInit.map((t) => t.dataType)).toEqual([onnx.TensorProto.DataType.FLOAT]);
    for (const [k, batch] of [1, 3].entries()) {
      const inputs = makeInputs(graph, { batch }, 90 + k);
      const want = values((await ortRun(bytes, feedsOf(inputs)))[graph.outputs[0]!.name]!);
      const got = values((await ortRun(half, feedsOf(inputs)))[graph.outputs[0]!.name]!);
      const scale = Math.max(1, ...want.map(Math.abs));
      expect(Math.max(...got.map((g, i) => Math.abs(g - want[i]!)))).toBeLessThanOrEqual(5e-3 * scale);
    }
  });

  it('report', () => { for (const r of report) console.log(r); expect(report.length).toBe(all.length); });
});
