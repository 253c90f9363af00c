/**
 * ONNX round trip through the public functions: for each traced graph g,
 *   b1 = toOnnx(g), g1 = fromOnnx(b1), b2 = toOnnx(g1)
 * b1 and b2 are the same model text (value names aside), g1 is a fixed point of the trip
 * (fromOnnx(b2) prints as g1), and g1 computes what g computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import { beforeAll, describe, expect, it } from 'vitest';
import { toOnnx } from '../../../exporters/onnx/export/export.js';
import { onnx } from '../../../exporters/onnx/proto.js';

beforeAll(async () => { await tf.setBackend('cpu'); });

type Fn = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
const B = (...dims: (number | string)[]) => gc.spec(['batch', ...dims]);
const consts = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

const CASES: Array<{ name: string; fn: Fn; specs: gc.TensorSpec[]; range?: [number, number] }> = [
  { name: 'mlp', fn: (x) => tf.softmax(tf.add(tf.matMul(tf.relu(tf.matMul(x, consts([4, 8], 1))), consts([8, 3], 2)), consts([3], 3))), specs: [B(4)] },
  { name: 'elementwise', fn: (x, y) => [tf.tanh(tf.add(x, y)), tf.sigmoid(tf.mul(x, 2)), tf.abs(tf.sub(x, y)), tf.exp(tf.neg(x)), tf.maximum(x, y),
    tf.where(tf.greater(x, y), x, y), tf.sqrt(tf.abs(x)), tf.pow(tf.abs(x), y), tf.clipByValue(x, -0.5, 0.5), tf.leakyRelu(x, 0.2)], specs: [B(5), B(5)] },
  { name: 'reductions', fn: (x) => [tf.sum(x, 1), tf.mean(x, [1, 2], true), tf.max(x, -1), tf.min(x, 0), tf.argMax(x, 2), tf.logSoftmax(x)], specs: [B(3, 4)] },
  { name: 'shapes', fn: (x) => [tf.reshape(x, [-1, 12]), tf.transpose(x, [0, 2, 1]), tf.slice(x, [0, 1, 0], [-1, 2, 4]), tf.concat([x, tf.neg(x)], 1),
    tf.pad(x, [[0, 0], [1, 0], [0, 2]]), tf.tile(x, [1, 1, 2]), tf.expandDims(x, 1), ...tf.split(x, [1, 3], 2),
    tf.gather(x, tf.tensor1d([2, 0], 'int32'), 2)], specs: [B(3, 4)] },
  { name: 'cnn', fn: (x) => {
    const c1 = tf.relu(tf.conv2d(x as tf.Tensor4D, consts([3, 3, 2, 4], 4) as tf.Tensor4D, 1, 'same'));
    const p = tf.maxPool(c1, 2, 2, 'valid');
    const c2 = tf.conv2d(p, consts([3, 3, 4, 6], 5) as tf.Tensor4D, 2, 'valid');
    const d = tf.depthwiseConv2d(c2, consts([3, 3, 6, 1], 6) as tf.Tensor4D, 1, 'same');
    return tf.mean(tf.avgPool(tf.sigmoid(d), 1, 1, 'valid'), [1, 2]);
  }, specs: [B(12, 12, 2)] },
  // Reshape targets with symbolic dims that may be 0: computed from Shape ops, read with allowzero.
  { name: 'reshape to symbolic dims', fn: (x) => [tf.expandDims(x, 1), tf.expandDims(x, 0), tf.reshape(x, [-1, 2, 2, x.shape[2]!])], specs: [gc.spec(['batch', 4, 'n'])] },
  { name: 'int32 arithmetic', fn: (a, b) => [tf.add(a, b), tf.mul(a, b), tf.floorDiv(a, b), tf.cast(tf.greater(a, b), 'int32'), tf.sum(a, 1)],
    specs: [gc.spec(['batch', 4], 'int32'), gc.spec([4], 'int32')], range: [1, 9] },
];

function layersModel(): gc.Graph {
  const m = tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: 'glorotUniform' }),
    tfl.layers.batchNormalization(),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 4, activation: 'softmax' }),
  ] });
  return gc.trace((x) => m.predict(x) as tf.Tensor, [B(8, 8, 1)]);
}

/** The model's text with values renamed in order of appearance (inputs and outputs keep their names). */
function modelText(bytes: Uint8Array): string {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const keep = new Set([...(g.input ?? []), ...(g.output ?? [])].map((v) => v.name ?? ''));
  const names = new Map<string, string>();
  const rename = (n: string) => {
    if (n === '' || keep.has(n)) return n;
    if (!names.has(n)) names.set(n, `t${names.size}`);
    return names.get(n)!;
  };
  const attr = (a: onnx.IAttributeProto) => {
    const v = onnx.AttributeProto.toObject(a as onnx.AttributeProto, { longs: String, bytes: String });
    delete v.name;
    return `${a.name}=${JSON.stringify(v)}`;
  };
  const lines = (g.node ?? []).map((n) => `${(n.output ?? []).map(rename).join(',')} = ${n.opType}(${(n.input ?? []).map(rename).join(',')}) {${(n.attribute ?? []).map(attr).join(', ')}} ${n.docString ?? ''}`);
  const inits = (g.initializer ?? []).map((t) => `${rename(t.name ?? '')}: ${JSON.stringify(onnx.TensorProto.toObject(t as onnx.TensorProto, { longs: String, bytes: String }).rawData)} ${t.dims?.join(',')}`).sort();
  const io = [...(g.input ?? []), ...(g.output ?? [])].map((v) => JSON.stringify(onnx.ValueInfoProto.toObject(v as onnx.ValueInfoProto, { longs: String })));
  return [...io, ...lines, ...inits, `opset ${m.opsetImport?.map((o) => o.version).join(',')}`].join('\n');
}

async function run(g: gc.Graph, feeds: Record<string, tf.Tensor>): Promise<number[][]> {
  const s = await gc.Session.create(g, { backend: 'cpu' });
  const outs = (await s.run(g.outputs.map((o) => o.name), feeds)) as tf.Tensor[];
  const r = outs.map((t) => Array.from(t.dataSync()));
  tf.dispose(outs);
  s.dispose();
  return r;
}

function feedsFor(g: gc.Graph, batch: number, range: [number, number] = [-1, 1]): Record<string, tf.Tensor> {
  const feeds: Record<string, tf.Tensor> = {};
  g.inputs.forEach((v, i) => {
    const shape = v.shape.map((d) => (typeof d === 'number' ? d : batch));
    const t = tf.randomUniform(shape, range[0], range[1], 'float32', 100 + i);
    feeds[v.name!] = v.dtype === 'int32' ? tf.cast(tf.floor(t), 'int32') : t;
  });
  return feeds;
}

describe('ONNX round trip: export → import → export', () => {
  const all = [...CASES.map((c) => ({ name: c.name, make: () => gc.trace(c.fn, c.specs), range: c.range })), { name: 'tfjs-layers conv + batch norm + dense', make: layersModel, range: undefined }];
  for (const c of all) {
    it(c.name, async () => {
      const g = c.make();
      const b1 = toOnnx(g);
      const g1 = gc.fromOnnx(b1);
      const b2 = toOnnx(g1);
      expect(modelText(b2)).toBe(modelText(b1));
      expect(gc.printGraph(gc.fromOnnx(b2))).toBe(gc.printGraph(g1));
      for (const batch of [1, 3]) {
        const feeds = feedsFor(g, batch, c.range);
        const [want, got] = [await run(g, feeds), await run(g1, feeds)];
        tf.dispose(Object.values(feeds));
        expect(got.length).toBe(want.length);
        got.forEach((o, i) => o.forEach((v, k) => expect(v).toBeCloseTo(want[i]![k]!, 4)));
      }
    });
  }
});
