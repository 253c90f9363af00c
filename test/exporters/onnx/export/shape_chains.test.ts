/**
 * Fewer Shape → Gather → Concat chains (passes/shape_chains.ts): an Expand whose readers all
 * broadcast to the same shape without it is dropped with the chain that built its target; an
 * Expand that sets a reader's shape stays. ONNX Runtime gives graphc's Session's numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { exportOnnx } from '../../../../exporters/onnx/export/export.js';
import type { OnnxGraph } from '../../../../exporters/onnx/export/onnx_graph.js';
import { checkModels, compareWithSession, makeInputs, randomizeWeights } from '../harness.js';

await tf.setBackend('cpu');

const count = (g: OnnxGraph, ...opTypes: string[]) => g.nodes.filter((n) => opTypes.includes(n.opType)).length;

async function exportAndRun(graph: gc.Graph, opset = 17): Promise<OnnxGraph> {
  const ex = exportOnnx(graph, { opset });
  expect(checkModels(new Map([['m', ex.bytes]])).get('m'), 'onnx.checker').toBeNull();
  for (const [k, batch] of [1, 4].entries()) {
    const inputs = makeInputs(graph, { batch }, 5 + k, { ids: { range: [0, 50] } });
    expect(await compareWithSession(graph, ex.bytes, inputs), `batch ${batch}`).toEqual([]);
  }
  return ex.graph;
}

const b = tf.variable(tf.randomNormal([4], 0, 1, 'float32', 3), true, 'chains/b');
const spec = [gc.spec(['batch', 4], 'float32', 'x')];

describe('Shape → Gather → Concat chains', () => {
  it('an Expand to the batch that an Add broadcasts anyway goes, with its Shape, Gather and Concat', async () => {
    const graph = gc.trace((x: tf.Tensor) => tf.add(x, tf.broadcastTo(b, [x.shape[0]!, 4])), spec);
    const before = exportOnnx(graph, { optimize: false }).graph;
    expect(count(before, 'Expand')).toBe(1);
    expect(count(before, 'Shape', 'Concat')).toBeGreaterThan(0);
    const g = await exportAndRun(graph);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Add']);
  });

  it('an Expand that gives a reader its shape stays (b expanded to the batch, times a scalar)', async () => {
    const graph = gc.trace((x: tf.Tensor) => tf.add(tf.mul(tf.broadcastTo(b, [x.shape[0]!, 4]), 2), tf.mul(x, 0)), spec);
    const g = await exportAndRun(graph);
    expect(count(g, 'Expand'), g.nodes.map((n) => n.opType).join(' ')).toBe(1);
  });

  it('an Expand that is a graph output stays', async () => {
    const graph = gc.trace((x: tf.Tensor) => [tf.broadcastTo(b, [x.shape[0]!, 4]), tf.add(x, 1)], spec);
    const g = await exportAndRun(graph);
    expect(count(g, 'Expand')).toBe(1);
  });

  it('tfjs-layers LayerNorm at opset 16 (decomposed): no Shape, Gather or Concat left, 26 nodes where there were 35', async () => {
    const m = randomizeWeights(tfl.sequential({ layers: [
      tfl.layers.embedding({ inputDim: 50, outputDim: 16, inputLength: 12 }),
      tfl.layers.layerNormalization({}),
      tfl.layers.conv1d({ filters: 8, kernelSize: 3, activation: 'relu' }),
      tfl.layers.globalAveragePooling1d({}),
      tfl.layers.dense({ units: 4, activation: 'softmax' }),
    ] }), 500);
    const graph = gc.trace((ids: tf.Tensor) => m.predict(ids) as tf.Tensor, [gc.spec(['batch', 12], 'int32', 'ids')]);
    const g = await exportAndRun(graph, 16);
    expect(count(g, 'Shape', 'Concat'), g.nodes.map((n) => n.opType).join(' ')).toBe(0);
    expect(g.nodes.length).toBeLessThanOrEqual(26);
  });
});
