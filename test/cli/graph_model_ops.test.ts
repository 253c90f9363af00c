// Ops that tensorflowjs_converter writes into GraphModels, one small model each (written by the
// test), exported by graphc and run in onnxruntime-node against tfjs-converter's own execute at
// batch 1 and 3 (1e-5). Ops tfjs-converter knows but graphc's tracer has no rule for are a
// GC0102 naming the tfjs kernel and the model.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/tfjs_setup.js';
import { GcError } from '../../ir/errors.js';
import { exportOnnx } from '../../exporters/onnx/export/export.js';
import { loadGraphModelTarget } from '../../src/cli/graph_model.js';
import { materializeCreated } from '../../src/compile.js';
import { optimizeInPlace } from '../../src/optimize.js';
import { traceFunction } from '../../src/trace/trace_function.js';
import { A, GraphModelBuilder, seeded } from './graph_model_fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'graphc-graph-model-ops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Case = [string, number[], (g: GraphModelBuilder, x: string) => string];
const I32 = (g: GraphModelBuilder, n: string, v: number[], shape = [v.length]) => g.const(n, shape, v, 'DT_INT32');
const NHWC = { data_format: A.s('NHWC') };
const cases: Case[] = [
  ['DepthwiseConv2dNative', [-1, 6, 6, 4], (g, x) => g.op('y', 'DepthwiseConv2dNative', [x, g.const('k', [3, 3, 4, 2])], { strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), dilations: A.ints([1, 1, 1, 1]), ...NHWC })],
  ['_FusedDepthwiseConv2dNative', [-1, 6, 6, 4], (g, x) => g.op('y', 'FusedDepthwiseConv2dNative', [x, g.const('k', [3, 3, 4, 1]), g.const('b', [4])], { strides: A.ints([1, 2, 2, 1]), padding: A.s('VALID'), dilations: A.ints([1, 1, 1, 1]), ...NHWC, fused_ops: A.strs(['BiasAdd', 'Relu6']), num_args: A.i(1) })],
  ['AvgPool', [-1, 6, 6, 4], (g, x) => g.op('y', 'AvgPool', [x], { ksize: A.ints([1, 2, 2, 1]), strides: A.ints([1, 2, 2, 1]), padding: A.s('VALID'), ...NHWC })],
  ['Pad', [-1, 6, 6, 4], (g, x) => g.op('y', 'Pad', [x, I32(g, 'p', [0, 0, 1, 1, 2, 0, 0, 0], [4, 2])], { Tpaddings: A.type('DT_INT32') })],
  ['Mean(HW)', [-1, 6, 6, 4], (g, x) => g.op('y', 'Mean', [x, I32(g, 'ax', [1, 2])], { keep_dims: A.b(false), Tidx: A.type('DT_INT32') })],
  ['Squeeze+ExpandDims', [-1, 1, 8], (g, x) => g.op('y', 'ExpandDims', [g.op('s', 'Squeeze', [x], { squeeze_dims: A.ints([1]) }), I32(g, 'd', [0], [])], { Tdim: A.type('DT_INT32') })],
  ['Slice', [-1, 8], (g, x) => g.op('y', 'Slice', [x, I32(g, 'b', [0, 2]), I32(g, 's', [-1, 4])], { Index: A.type('DT_INT32') })],
  ['StridedSlice', [-1, 8], (g, x) => g.op('y', 'StridedSlice', [x, I32(g, 'b', [0, 1]), I32(g, 'e', [0, 7]), I32(g, 's', [1, 2])], { Index: A.type('DT_INT32'), begin_mask: A.i(1), end_mask: A.i(1), ellipsis_mask: A.i(0), new_axis_mask: A.i(0), shrink_axis_mask: A.i(0) })],
  ['Split', [-1, 8], (g, x) => g.op('y', 'AddV2', [g.op('sp', 'Split', [I32(g, 'ax', [1], []), x], { num_split: A.i(2) }), 'sp:1'])],
  ['ConcatV2+Tile', [-1, 4], (g, x) => g.op('y', 'Tile', [g.op('c', 'ConcatV2', [x, x, I32(g, 'ax', [1], [])], { N: A.i(2) }), I32(g, 'm', [1, 2])], { Tmultiples: A.type('DT_INT32') })],
  ['Sqrt/Rsqrt/Exp/Log/Pow', [-1, 8], (g, x) => { const a = g.op('a', 'Abs', [x]); const e = g.op('e', 'AddV2', [a, g.const('one', [], [1])]); return g.op('y', 'Pow', [g.op('l', 'Log', [g.op('ex', 'Exp', [g.op('r', 'Rsqrt', [g.op('s', 'Sqrt', [e])])])]), g.const('two', [], [2])]); }],
  ['LeakyRelu/Elu/Selu', [-1, 8], (g, x) => g.op('y', 'Selu', [g.op('e', 'Elu', [g.op('l', 'LeakyRelu', [x], { alpha: A.f(0.1) })])])],
  ['Prelu', [-1, 8], (g, x) => g.op('y', 'Prelu', [x, g.const('al', [8])])],
  ['Max/Min/Prod', [-1, 8], (g, x) => g.op('y', 'AddV2', [g.op('mx', 'Max', [x, I32(g, 'a1', [1])], { keep_dims: A.b(true) }), g.op('mn', 'Min', [x, I32(g, 'a2', [1])], { keep_dims: A.b(true) })])],
  ['ArgMax (int out)', [-1, 8], (g, x) => g.op('y', 'Cast', [g.op('am', 'ArgMax', [x, I32(g, 'ax', [1], [])], { output_type: A.type('DT_INT32') })], { SrcT: A.type('DT_INT32'), DstT: A.type('DT_FLOAT') })],
  ['Square/SquaredDifference/RealDiv', [-1, 8], (g, x) => g.op('y', 'RealDiv', [g.op('sd', 'SquaredDifference', [x, g.const('c', [8])]), g.op('sq', 'AddV2', [g.op('q', 'Square', [x]), g.const('one', [], [1])])])],
  ['Maximum/Minimum/Relu6/Sigmoid', [-1, 8], (g, x) => g.op('y', 'Sigmoid', [g.op('r6', 'Relu6', [g.op('mx', 'Maximum', [g.op('mn', 'Minimum', [x, g.const('hi', [], [0.5])]), g.const('lo', [], [-0.5])])])])],
  ['BatchMatMulV2', [-1, 3, 4], (g, x) => g.op('y', 'BatchMatMulV2', [x, g.const('w', [4, 5])], { adj_x: A.b(false), adj_y: A.b(false) })],
  ['Softplus', [-1, 8], (g, x) => g.op('y', 'Softplus', [x])],
  ['LogSoftmax', [-1, 8], (g, x) => g.op('y', 'LogSoftmax', [x])],
  // Keras's Conv2DTranspose: the output shape [Shape(x)[0], 6, 6, 2] is computed on the host.
  ['Conv2DBackpropInput', [-1, 3, 3, 4], (g, x) => g.op('y', 'Conv2DBackpropInput', [g.op('os', 'Pack', [g.op('b', 'StridedSlice', [g.op('sh', 'Shape', [x]), I32(g, 'b0', [0]), I32(g, 'b1', [1]), I32(g, 'b2', [1])], { shrink_axis_mask: A.i(1), begin_mask: A.i(0), end_mask: A.i(0), ellipsis_mask: A.i(0), new_axis_mask: A.i(0) }), I32(g, 'h', [6], []), I32(g, 'w', [6], []), I32(g, 'c', [2], [])], { N: A.i(4), axis: A.i(0) }), g.const('k', [2, 2, 2, 4]), x], { strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), dilations: A.ints([1, 1, 1, 1]), ...NHWC })],
  ['OneHot', [-1, 8], (g, x) => g.op('y', 'OneHot', [g.op('am', 'ArgMax', [x, I32(g, 'ax', [1], [])], { output_type: A.type('DT_INT32') }), I32(g, 'd', [5], []), g.const('on', [], [1]), g.const('off', [], [0])], { axis: A.i(-1), TI: A.type('DT_INT32') })],
  ['Cumsum', [-1, 8], (g, x) => g.op('y', 'Cumsum', [x, I32(g, 'ax', [1], [])], { exclusive: A.b(false), reverse: A.b(false) })],
  ['Erf (Gelu)', [-1, 8], (g, x) => g.op('y', 'Erf', [x])],
  ['AddN', [-1, 8], (g, x) => g.op('y', 'AddN', [x, x, x], { N: A.i(3) })],
  ['TopKV2', [-1, 8], (g, x) => g.op('y', 'TopKV2', [x, I32(g, 'k', [3], [])], { sorted: A.b(true) })],
  ['Einsum', [-1, 3, 4], (g, x) => g.op('y', 'Einsum', [x, g.const('w', [4, 5])], { equation: A.s('bij,jk->bik'), N: A.i(2) })],
  ['FusedBatchNorm (v1)', [-1, 4, 4, 3], (g, x) => g.op('y', 'FusedBatchNorm', [x, g.const('s', [3], [1, 2, 0.5]), g.const('o', [3]), g.const('m', [3]), g.const('v', [3], [1, 0.5, 2])], { epsilon: A.f(0.001), is_training: A.b(false), ...NHWC })],
];

describe('GraphModel ops export and run in ORT as tfjs-converter runs them', () => {
  it.each(cases)('%s', async (nm, shape, build) => {
    const g = new GraphModelBuilder(3);
    build(g, g.placeholder('x', shape));
    const file = g.write(path.join(dir, nm.replace(/[^A-Za-z0-9]/g, '_')));
    const { json, files } = g.artifacts();
    const ref = await tfconv.loadGraphModel(tf.io.fromMemory({
      modelTopology: json.modelTopology as object, weightSpecs: (json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[])[0]!.weights,
      weightData: new Uint8Array(Buffer.concat(Object.values(files))).buffer, format: 'graph-model',
    } as tf.io.ModelArtifacts));
    const t = await loadGraphModelTarget(file);
    const traced = traceFunction(t.fn, t.specs, materializeCreated, t.name);
    optimizeInPlace(traced.graph, { freeze: true });
    const session = await ort.InferenceSession.create(exportOnnx(traced.graph, {}).bytes);
    for (const n of [1, 3]) {
      const sh = shape.map((d) => (d === -1 ? n : d));
      const r = seeded(n);
      const xv = Float32Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => r(2));
      const want = ref.execute(tf.tensor(xv, sh)) as tf.Tensor;
      const got = (await session.run({ x: new ort.Tensor('float32', xv, sh) }))[session.outputNames[0]!]!;
      expect(got.dims).toEqual(want.shape);
      const w = want.dataSync();
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i]! - Number((got.data as Float32Array)[i])));
      expect(worst).toBeLessThan(1e-5);
      want.dispose();
    }
  });

  it('an op graphc\'s tracer has no rule for (Unique) is GC0102 naming the kernel and the model', async () => {
    const g = new GraphModelBuilder(3);
    g.op('y', 'Unique', [g.placeholder('x', [8])], { out_idx: A.type('DT_INT32') });
    const file = g.write(path.join(dir, 'unique'));
    const t = await loadGraphModelTarget(file);
    let err: unknown;
    try {
      traceFunction(t.fn, t.specs, materializeCreated, t.name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GcError);
    expect((err as GcError).code).toBe('GC0102');
    expect((err as GcError).message).toContain(`${file}: tfjs kernel 'Unique' is not supported by graphc's tracer`);
  });
});
