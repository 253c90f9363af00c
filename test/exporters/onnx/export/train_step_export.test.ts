/**
 * An exported training step (state 'inputs', the default for a graph that assigns): plain
 * onnxruntime-node trains with it by feeding each step's new-state outputs back as the next
 * step's inputs, and gets the losses and weights of graphc's compiled steps.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import * as gc from 'graphc';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { rng } from '../harness.js';

const STEPS = 25;

function batches(seed: number, n: number, b: number, features: number, classes: number): { x: Float32Array; y: Float32Array }[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const x = Float32Array.from({ length: b * features }, () => r() * 2 - 1);
    const y = new Float32Array(b * classes);
    for (let i = 0; i < b; i++) y[i * classes + Math.floor(r() * classes)] = 1;
    return { x, y };
  });
}

describe('exported training step', () => {
  it('an MLP Adam step trains in onnxruntime-node for 25 steps with the losses of the compiled steps', async () => {
    await tf.setBackend('cpu');
    const [F, H, C, B] = [8, 16, 3, 4];
    const w1 = tf.variable(tf.randomNormal([F, H], 0, 0.4, 'float32', 1), true, 'tse_w1');
    const b1 = tf.variable(tf.zeros([H]), true, 'tse_b1');
    const w2 = tf.variable(tf.randomNormal([H, C], 0, 0.4, 'float32', 2), true, 'tse_w2');
    const opt = tf.train.adam(0.05);
    const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() =>
      tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2)) as tf.Scalar, true)!,
    { inputs: [gc.spec([B, F]), gc.spec([B, C])] });
    // Exported before any step ran: the state inputs default to the values the step was traced with.
    const ex = gc.exportOnnx(step.graph);
    const model = onnx.ModelProto.decode(ex.bytes);
    const meta = model.metadataProps?.find((p) => p.key === 'graphc.state');
    expect(JSON.parse(meta!.value!)).toEqual(ex.state);
    const byVar = new Map(ex.state.map((s) => [s.variable, s]));
    expect(byVar.get('tse_w1')).toEqual({ variable: 'tse_w1', input: 'tse_w1', output: 'tse_w1.new' });
    // Each new value is written under its `.new` name by the node that computes it, not copied by an Identity (ORT's copies).
    expect(model.graph!.node!.filter((n) => n.opType === 'Identity').map((n) => n.output![0])).toEqual([]);
    const produced = new Set(model.graph!.node!.flatMap((n) => n.output!));
    for (const s of ex.state) if (s.output !== undefined) expect(produced.has(s.output)).toBe(true);
    // The learning rate is read each step, not assigned: an input with a default and no output.
    expect([...byVar.values()].filter((s) => s.output === undefined).map((s) => s.variable)).toContain('hyper/Adam_0/learningRate');
    // Adam's variables, which tfjs names with bare numbers, take the names tfjs's getWeights() gives
    // its moments (`tse_w1/m`) or `Adam_<n>/<field>`: no input is a bare number.
    const inputs = ex.state.map((s) => s.input);
    expect(inputs.filter((n) => /^_?\d+$/.test(n))).toEqual([]);
    for (const w of ['tse_w1', 'tse_b1', 'tse_w2']) for (const k of ['m', 'v']) expect(ex.state.find((s) => s.input === `${w}_${k}`)?.output).toBe(`${w}_${k}.new`);
    expect(inputs).toEqual(expect.arrayContaining(['Adam_0_accBeta1', 'Adam_0_accBeta2']));
    // A hyper-parameter's affine form spells its arithmetic: the input for 1 − beta1.
    expect(ex.state.find((s) => s.variable === 'hyper/Adam_0/1-beta1')?.input).toBe('hyper_Adam_0_1_minus_beta1');

    const data = batches(7, STEPS, B, F, C);
    const compiled: number[] = [];
    for (const d of data) {
      const loss = await step(tf.tensor2d(d.x, [B, F]), tf.tensor2d(d.y, [B, C]));
      compiled.push((await (loss as tf.Tensor).data())[0]!);
    }

    const sess = await ort.InferenceSession.create(ex.bytes);
    const init = await ort.InferenceSession.create(gc.initialStateModel(step.graph, ex.state));
    const stateFeeds: Record<string, ort.Tensor> = { ...(await init.run({})) as Record<string, ort.Tensor> };
    expect(Object.keys(stateFeeds).sort()).toEqual(ex.state.map((s) => s.input).sort());
    const [xName, yName] = step.graph.inputs.map((v) => v.name!) as [string, string];
    const inOrt: number[] = [];
    for (const d of data) {
      const out = await sess.run({ [xName]: new ort.Tensor('float32', d.x, [B, F]), [yName]: new ort.Tensor('float32', d.y, [B, C]), ...stateFeeds });
      inOrt.push((out[step.graph.outputs[0]!.name]!.data as Float32Array)[0]!);
      for (const s of ex.state) if (s.output !== undefined) stateFeeds[s.input] = out[s.output]!;
    }
    // Training moved: the losses fall, so equal sequences are not equal by accident.
    expect(compiled[STEPS - 1]!).toBeLessThan(compiled[0]! * 0.8);
    inOrt.forEach((l, i) => expect(Math.abs(l - compiled[i]!)).toBeLessThan(1e-4));
    const w1Ort = stateFeeds['tse_w1']!.data as Float32Array;
    const w1Now = w1.dataSync();
    let worst = 0;
    for (let i = 0; i < w1Now.length; i++) worst = Math.max(worst, Math.abs(w1Ort[i]! - w1Now[i]!));
    expect(worst).toBeLessThan(1e-4);
    // The names say what the values are: second moments are squares (≥ 0), first moments take the gradient's sign; accBeta1 = 0.9^steps.
    expect(Array.from(stateFeeds['tse_w1_v']!.data as Float32Array).every((x) => x >= 0)).toBe(true);
    expect(Array.from(stateFeeds['tse_w1_m']!.data as Float32Array).some((x) => x < 0)).toBe(true);
    expect((stateFeeds['Adam_0_accBeta1']!.data as Float32Array)[0]).toBeCloseTo(0.9 ** (STEPS + 1), 5);
    step.dispose();
    for (const v of [w1, b1, w2]) v.dispose();
    opt.dispose();
  });

  it("every tf.train optimizer's variables are named as tfjs names them, none a bare number", async () => {
    await tf.setBackend('cpu');
    const make: Record<string, [() => tf.Optimizer, string[]]> = {
      momentum: [() => tf.train.momentum(0.1, 0.9), ['momentum']],
      rmsprop: [() => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-7, true), ['rms', 'mg', 'momentum']],
      adagrad: [() => tf.train.adagrad(0.1), ['accumulator']],
      adadelta: [() => tf.train.adadelta(1), ['accum_grad', 'accum_var']],
      adamax: [() => tf.train.adamax(0.01), ['m', 'v']],
      adam: [() => tf.train.adam(0.01), ['m', 'v']],
    };
    for (const [k, [makeOpt, slots]] of Object.entries(make)) {
      const w = tf.variable(tf.ones([2, 2]), true, `names_${k}`);
      const opt = makeOpt();
      const f = gc.compile((x: tf.Tensor) => opt.minimize(() => tf.sum(tf.square(tf.matMul(x, w))) as tf.Scalar, true)!, { inputs: [gc.spec([1, 2])] });
      await f(tf.ones([1, 2]));
      const inputs = gc.exportOnnx(f.graph).state.map((s) => s.input);
      expect(inputs.filter((n) => /^_?\d+$/.test(n)), k).toEqual([]);
      expect(inputs, k).toEqual(expect.arrayContaining(slots.map((s) => `names_${k}_${s}`)));
      f.dispose();
      w.dispose();
      opt.dispose();
    }
  });

  it('a value returned twice keeps one Identity (an output is never renamed); a gc.name\'d value stays fetchable by its name', async () => {
    await tf.setBackend('cpu');
    const f = gc.compile((x: tf.Tensor) => {
      const h = tf.relu(x);
      const e = tf.exp(x);
      const m = gc.name(tf.mul(h, e), 'hidden');
      return { a: tf.add(m, 1), h, h2: h, e };
    }, { inputs: [gc.spec([3])], outputs: ['a', 'h', 'h2', 'e'] });
    const ex = gc.exportOnnx(f.graph);
    const model = onnx.ModelProto.decode(ex.bytes);
    const ids = model.graph!.node!.filter((n) => n.opType === 'Identity');
    expect(ids.map((n) => [n.input![0], n.output![0]])).toEqual([['h', 'h2']]);
    const sess = await ort.InferenceSession.create(ex.bytes);
    const out = await sess.run({ [f.graph.inputs[0]!.name!]: new ort.Tensor('float32', Float32Array.of(-1, 0.5, 2), [3]) });
    const r4 = (k: string) => Array.from(out[k]!.data as Float32Array).map((v) => Number(v.toFixed(4)));
    expect(r4('h')).toEqual([0, 0.5, 2]);
    expect(r4('h2')).toEqual([0, 0.5, 2]);
    expect(r4('e')).toEqual([0.3679, 1.6487, 7.3891]);
    expect(r4('a')).toEqual([1, 1.8244, 15.7781]);
    expect(model.graph!.node!.flatMap((n) => n.output!)).toContain(ex.names.toOnnx.get('hidden'));
    f.dispose();
  });

  it('toOnnx writes the variables as they are now: a predict function traced before a compiled training step exports the trained weights; initialStateModel takes stateValues', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor2d([[1, 0], [0, 1], [1, 1]]), true, 'live_w');
    const predict = gc.compile((x: tf.Tensor) => tf.matMul(x, w), { inputs: [gc.spec(['b', 3])] });
    const opt = tf.train.sgd(0.1);
    const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar, true)!, { inputs: [gc.spec(['b', 3]), gc.spec(['b', 2])] });
    const x = tf.tensor2d([[1, 2, 3], [0.5, -1, 2]]), y = tf.tensor2d([[3, -1], [0, 2]]);
    const exportedBefore = predict.toOnnx();
    for (let i = 0; i < 3; i++) (await step(x, y) as tf.Tensor).dispose();
    const want = Array.from(await tf.matMul(x, w).data());
    const feed = { [predict.graph.inputs[0]!.name!]: new ort.Tensor('float32', Float32Array.from(x.dataSync()), [2, 3]) };
    const run = async (bytes: Uint8Array) => Array.from((await (await ort.InferenceSession.create(bytes)).run(feed))[predict.graph.outputs[0]!.name]!.data as Float32Array);
    const after = await run(predict.toOnnx());
    after.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    // The weights moved, so the file written before training differs: the test tells the two apart.
    const before = await run(exportedBefore);
    expect(Math.max(...before.map((v, i) => Math.abs(v - want[i]!)))).toBeGreaterThan(1e-2);
    // The training step's starting state, now: the live values, not the traced ones.
    const ex = gc.exportOnnx(step.graph, { stateValues: step.stateValues });
    const init = await ort.InferenceSession.create(gc.initialStateModel(step.graph, ex.state, { stateValues: step.stateValues }));
    const st = await init.run({});
    const wIn = ex.state.find((s) => s.variable === 'live_w')!.input;
    expect(Array.from(st[wIn]!.data as Float32Array)).toEqual(Array.from(w.dataSync()));
    predict.dispose(); step.dispose(); w.dispose(); opt.dispose();
  });
});
