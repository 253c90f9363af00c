/**
 * One ONNX op for activations tfjs computes in pieces (passes/activations.ts): LogSoftmax,
 * HardSigmoid, Softsign, Mish (opset 18), Clip for a capped Relu, each only where the model's opset has it and the
 * pattern is its formula; look-alikes stay decomposed. Every model passes onnx.checker and
 * runs in onnxruntime-node with graphc's Session's numbers, NaN and ±Inf included.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { exportOnnx } from '../../../../exporters/onnx/export/export.js';
import type { OnnxGraph } from '../../../../exporters/onnx/export/onnx_graph.js';
import { checkModels, compareWithSession, makeInputs, randomizeWeights } from '../harness.js';

await tf.setBackend('cpu');

const ops = (g: OnnxGraph) => g.nodes.map((n) => n.opType);

/** Exports at `opset`, checks it, and compares ORT with the Session at batch 2 and 6 (some inputs NaN, ±Inf, ±40). */
async function exportAndRun(graph: gc.Graph, opset: number): Promise<OnnxGraph> {
  const ex = exportOnnx(graph, { opset });
  const checked = checkModels(new Map([['m', ex.bytes]])).get('m');
  if (opset <= 17 || !checked?.startsWith('skipped')) expect(checked, 'onnx.checker').toBeNull();
  for (const [k, batch] of [2, 6].entries()) {
    const inputs = makeInputs(graph, { batch }, 11 + k, { x: { range: [-6, 6] } });
    const x = inputs.x!.data as Float32Array;
    [NaN, Infinity, -Infinity, 40, -40].forEach((v, i) => { x[(7 * i + k) % x.length] = v; });
    expect(await compareWithSession(graph, ex.bytes, inputs), `batch ${batch}`).toEqual([]);
  }
  return ex.graph;
}

const layerWith = (activation: string) => {
  const m = randomizeWeights(tfl.sequential({ layers: [
    tfl.layers.dense({ units: 5, inputShape: [4] }),
    tfl.layers.activation({ activation: activation as never }),
  ] }), 40);
  return (x: tf.Tensor) => m.predict(x) as tf.Tensor;
};
const direct = (activation: string) => {
  const l = tfl.layers.activation({ activation: activation as never });
  return (x: tf.Tensor) => l.apply(x) as tf.Tensor;
};

describe('activations as one ONNX op', () => {
  const cases: Record<string, { fn: (x: tf.Tensor) => tf.Tensor; op: string; from: number }> = {
    "tf.logSoftmax": { fn: (x) => tf.logSoftmax(x), op: 'LogSoftmax', from: 13 },
    "tfjs-layers 'logSoftmax' after a dense": { fn: layerWith('logSoftmax'), op: 'LogSoftmax', from: 13 },
    "tfjs-layers 'hardSigmoid'": { fn: direct('hardSigmoid'), op: 'HardSigmoid', from: 13 },
    "tfjs-layers 'softsign'": { fn: direct('softsign'), op: 'Softsign', from: 13 },
    "tfjs-layers 'mish' (opset 18)": { fn: direct('mish'), op: 'Mish', from: 18 },
    "tfjs-layers 'relu6' (Relu, Min)": { fn: direct('relu6'), op: 'Clip', from: 13 },
    'tfjs-layers reLU({maxValue: 2.5}) (Relu, Clip)': { fn: (x) => tfl.layers.reLU({ maxValue: 2.5 }).apply(x) as tf.Tensor, op: 'Clip', from: 13 },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const graph = gc.trace(c.fn, [gc.spec(['batch', 4], 'float32', 'x')]);
      const g = await exportAndRun(graph, 18);
      expect(ops(g).filter((o) => o !== 'Gemm' && o !== 'MatMul'), ops(g).join(' ')).toEqual([c.op]);
      if (c.from > 13) expect(ops(await exportAndRun(graph, c.from - 1))).not.toContain(c.op);
      if (c.op === 'HardSigmoid') expect(g.nodes[g.nodes.length - 1]!.attrs).toEqual({ alpha: { kind: 'float', value: Math.fround(0.2) }, beta: { kind: 'float', value: 0.5 } });
    });
  }

  it('LogSoftmax over axis 1 of a rank-3 value (written out: tf.logSoftmax takes the last axis only)', async () => {
    const graph = gc.trace((x: tf.Tensor) => {
      const y = tf.reshape(x, [-1, 2, 2]);
      const d = tf.sub(y, tf.max(y, 1, true));
      return tf.sub(d, tf.log(tf.sum(tf.exp(d), 1, true)));
    }, [gc.spec(['batch', 4], 'float32', 'x')]);
    const g = await exportAndRun(graph, 17);
    const ls = g.nodes.find((n) => n.opType === 'LogSoftmax');
    expect(ls?.attrs.axis, ops(g).join(' ')).toEqual({ kind: 'int', value: 1 });
  });

  const negatives: Record<string, (x: tf.Tensor) => tf.Tensor> = {
    'x − log(sum(exp(x))) without the max shift': (x) => tf.sub(x, tf.log(tf.sum(tf.exp(x), -1, true))),
    'the max and the sum over different axes': (x) => {
      const y = tf.reshape(x, [-1, 2, 2]);
      const d = tf.sub(y, tf.max(y, 1, true));
      return tf.sub(d, tf.log(tf.sum(tf.exp(d), 2, true)));
    },
    'a clip to [0, 2], not [0, 1]': (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 2),
    'x / (|x| + 2)': (x) => tf.div(x, tf.add(tf.abs(x), 2)),
    'x / (|y| + 1) of another y': (x) => tf.div(x, tf.add(tf.abs(tf.mul(x, 3)), 1)),
    'x · tanh(softplus(2x))': (x) => tf.mul(x, tf.tanh(tf.softplus(tf.mul(x, 2)))),
    'HardSigmoid\'s formula with an α of shape [1, 1, 1] (the result has one more axis)': (x) =>
      tf.clipByValue(tf.add(tf.mul(x, tf.fill([1, 1, 1], 0.2)), 0.5), 0, 1),
    'min(relu(x), −1): a negative cap': (x) => tf.minimum(tf.relu(x), -1),
    'Softsign\'s formula with a 1 of shape [1, 1, 1]': (x) => tf.div(x, tf.add(tf.abs(x), tf.ones([1, 1, 1]))),
  };
  for (const [name, fn] of Object.entries(negatives)) {
    it(`not one op: ${name}`, async () => {
      const graph = gc.trace(fn, [gc.spec(['batch', 4], 'float32', 'x')]);
      const g = await exportAndRun(graph, 18);
      for (const op of ['LogSoftmax', 'HardSigmoid', 'Softsign', 'Mish']) expect(ops(g), ops(g).join(' ')).not.toContain(op);
      if (name.startsWith('min(relu')) expect(ops(g)).toEqual(['Relu', 'Min']);
    });
  }
});
