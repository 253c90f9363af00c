/**
 * RNNs over any sequence length, exported: a tfjs-layers LSTM / GRU compiled with a symbolic
 * 'time' dim writes one ONNX file whose graph holds a Scan (or Loop) instead of a chain of
 * steps, and onnxruntime-node runs that one file at time 3, 17 and 50 (batch 1 and 4) with
 * eager tfjs's numbers. Skipped, saying so, while the ONNX exporter has no rule for scan.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import * as gc from 'graphc';
import { onnx } from '../../exporters/onnx/proto.js';
import { EXPORT_RULES, isUnsupported } from '../../exporters/onnx/export/rules.js';

await tf.setBackend('cpu');

const scanRule = EXPORT_RULES.scan;
const noExport = isUnsupported(scanRule) ? scanRule.unsupported : undefined;
if (noExport !== undefined) console.log(`rnn_roll_onnx: skipped — ${noExport}`);

/** The op types of a graph and of the graphs in its nodes' attributes (Scan / Loop bodies), by depth. */
function opTypes(g: onnx.IGraphProto, depth = 0, out: { op: string; depth: number }[] = []) {
  for (const n of g.node ?? []) {
    out.push({ op: n.opType!, depth });
    for (const a of n.attribute ?? []) {
      if (a.g) opTypes(a.g, depth + 1, out);
      for (const sub of a.graphs ?? []) opTypes(sub, depth + 1, out);
    }
  }
  return out;
}

function randomize(m: tfl.LayersModel, seed: number): void {
  const ws = m.weights.map((w, i) => tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', seed + i));
  m.setWeights(ws);
  tf.dispose(ws);
}

const cases = [
  { label: 'LSTM', make: () => tfl.layers.lstm({ units: 5, inputShape: [null, 8] }) },
  { label: 'LSTM return_sequences', make: () => tfl.layers.lstm({ units: 5, returnSequences: true, inputShape: [null, 8] }) },
  { label: 'GRU', make: () => tfl.layers.gru({ units: 5, inputShape: [null, 8] }) },
  { label: 'GRU return_sequences goBackwards', make: () => tfl.layers.gru({ units: 5, returnSequences: true, goBackwards: true, inputShape: [null, 8] }) },
];

describe.skipIf(noExport !== undefined)('a tfjs-layers RNN over a symbolic time dim exports a Scan that ONNX Runtime runs at any length', () => {
  it.each(cases)('$label', async (c) => {
    const m = tfl.sequential({ layers: [c.make()] });
    randomize(m, 4242);
    const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
    const f = gc.compile(fn, { inputs: [gc.spec(['batch', 'time', 8])], backend: 'cpu' });
    const bytes = f.toOnnx();
    const model = onnx.ModelProto.decode(bytes);
    const ops = opTypes(model.graph!);
    // At the top, or in the If that gives a time of 0 its empty result (ORT's Scan fails on 0 steps).
    const loops = ops.filter((o) => o.depth <= 1 && (o.op === 'Scan' || o.op === 'Loop'));
    expect(loops.length).toBe(1);
    // Not a chain: one step's ops in the body, a handful around it (the input projection may be
    // hoisted out of the body as one MatMul over every step); one file serves every length below.
    expect(ops.filter((o) => o.depth === 0).length).toBeLessThan(30);
    expect(ops.filter((o) => o.op === 'MatMul' || o.op === 'Gemm').length).toBeLessThanOrEqual(3);
    // The time dim is a dim_param of the input, not a number.
    const dims = model.graph!.input![0]!.type!.tensorType!.shape!.dim!;
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 'time', 8]);

    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    for (const t of [3, 17, 50]) {
      for (const b of [1, 4]) {
        const x = tf.randomNormal([b, t, 8], 0, 1, 'float32', 7 * t + b);
        const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [b, t, 8]) });
        const y = r[s.outputNames[0]!]!;
        const e = fn(x);
        expect(y.dims.map(Number)).toEqual(e.shape);
        const want = e.dataSync(), got = y.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - 1e-5 * Math.abs(want[i]!));
        expect(worst, `time ${t}, batch ${b}`).toBeLessThanOrEqual(1e-5);
        tf.dispose([x, e]);
      }
    }
    await s.release();
  });
});
