/**
 * Readable names on the path `graphc export` takes: the variables are frozen into constants
 * (freeze-variables) and folded (a Dense kernel's reshape to [1, K, N]), and the initializers
 * are still named after the user's variables, the nodes after their layers (they were
 * `const_52_2d` and `Gemm_1`: the names followed only variables left as state).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import * as gc from 'graphc';
import { onnx } from '../../../../exporters/onnx/proto.js';

await tf.setBackend('cpu');

describe('names after freeze-variables and folding', () => {
  it('an MLP and a CNN exported with frozen weights name their initializers after the variables and their nodes after the layers', async () => {
    const mlp = tfl.sequential({ layers: [
      tfl.layers.flatten({ inputShape: [6, 6, 1] }),
      tfl.layers.dense({ units: 5, activation: 'relu', biasInitializer: 'glorotUniform', name: 'hidden' }),
      tfl.layers.dense({ units: 3, activation: 'softmax', biasInitializer: 'glorotUniform', name: 'probs' }),
    ] });
    const cnn = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'relu', biasInitializer: 'glorotUniform', name: 'conv' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, biasInitializer: 'glorotUniform', name: 'head' }),
    ] });
    for (const model of [mlp, cnn]) {
      const g = gc.trace((x) => model.predict(x) as tf.Tensor, [gc.spec(['batch', 6, 6, 1], 'float32', 'x')]);
      const { graph } = gc.optimize(g, { freeze: true });
      expect(graph.states).toHaveLength(0);
      const bytes = gc.toOnnx(graph);
      const m = onnx.ModelProto.decode(bytes);
      const floatInits = m.graph!.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).map((t) => t.name);
      // Every weight is an initializer named after its variable, or a copy derived from it (a conv kernel in OIHW).
      for (const w of model.weights) expect(floatInits.some((n) => n === w.name || n!.startsWith(`${w.name}_`))).toBe(true);
      expect(floatInits.filter((n) => !model.weights.some((w) => n === w.name || n!.startsWith(`${w.name}_`)))).toEqual([]);
      // Nodes that read a layer's weights carry its name.
      const layerOps = m.graph!.node!.filter((n) => ['Gemm', 'MatMul', 'Conv'].includes(n.opType!));
      expect(layerOps.length).toBeGreaterThan(0);
      for (const n of layerOps) expect(model.layers.some((l) => n.name!.startsWith(`${l.name}/`))).toBe(true);
      // Same numbers in ONNX Runtime as tfjs.
      const x = tf.randomUniform([2, 6, 6, 1], 0, 1, 'float32', 3);
      const s = await ort.InferenceSession.create(bytes);
      const out = (await s.run({ x: new ort.Tensor('float32', x.dataSync() as Float32Array, [2, 6, 6, 1]) }))[s.outputNames[0]!]!;
      const e = (model.predict(x) as tf.Tensor).dataSync();
      const y = out.data as Float32Array;
      for (let i = 0; i < e.length; i++) expect(Math.abs(y[i]! - e[i]!)).toBeLessThan(1e-5);
    }
  });
});
