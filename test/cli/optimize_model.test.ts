/**
 * `graphc optimize` writes the model it was given, optimized: its opset (unless asked), metadata,
 * doc strings, producer (graphc appended) and the names of what survives — and onnxruntime
 * computes the same numbers from it (src/cli/optimize_model.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { optimizeOnnxModel } from '../../src/cli/optimize_model.js';
import { GRAPHC_VERSION } from '../../exporters/onnx/export/export.js';
import { onnx } from '../../exporters/onnx/proto.js';
import { checkModels, runOrt } from '../exporters/onnx/harness.js';
import { attr, node, T, tensor, valueInfo } from '../exporters/onnx/test_util.js';

const W = Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
const B = [0.5, -0.25, 1];

/**
 * x[batch,4] → MatMul W[4,3] → Add b → Mul 1 (a no-op the passes drop) → Relu → Identity → y,
 * and a second output z = Sigmoid(hidden); named nodes, metadata, doc strings, pytorch's producer.
 */
function sample(opset: number, extra: Partial<onnx.IModelProto> = {}): onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: opset >= 13 ? 7 : 6,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'pytorch',
    producerVersion: '2.1.0',
    docString: 'a two-layer toy',
    modelVersion: 3,
    metadataProps: [{ key: 'author', value: 'course' }, { key: 'license', value: 'MIT' }],
    graph: {
      name: 'toy',
      docString: 'the graph of the toy',
      input: [valueInfo('x', T.FLOAT, ['batch', 4])],
      output: [valueInfo('y', T.FLOAT, ['batch', 3]), valueInfo('z', T.FLOAT, ['batch', 3])],
      initializer: [tensor('fc1.weight', T.FLOAT, [4, 3], W), tensor('fc1.bias', T.FLOAT, [3], B), tensor('one', T.FLOAT, [], [1])],
      node: [
        { ...node('MatMul', ['x', 'fc1.weight'], ['mm'], [], '/fc1/MatMul'), docString: 'model.py:12:5' },
        node('Add', ['mm', 'fc1.bias'], ['pre'], [], '/fc1/Add'),
        node('Mul', ['pre', 'one'], ['scaled'], [], '/scale/Mul'),
        node('Relu', ['scaled'], ['hidden'], [], '/act/Relu'),
        node('Identity', ['hidden'], ['y'], [], '/out/Identity'),
        node('Sigmoid', ['hidden'], ['z'], [], '/gate/Sigmoid'),
      ],
    },
    ...extra,
  });
}

async function outputs(bytes: Uint8Array): Promise<number[][]> {
  const data = Float32Array.from({ length: 5 * 4 }, (_, i) => Math.cos(i) * 2);
  const r = await runOrt(bytes, { x: { dtype: 'float32', shape: [5, 4], data } }, ['y', 'z']);
  return [Array.from(r.y!.data as Float32Array), Array.from(r.z!.data as Float32Array)];
}

function expectClose(a: number[][], b: number[][]): void {
  expect(a.map((x) => x.length)).toEqual(b.map((x) => x.length));
  a.forEach((x, i) => x.forEach((v, k) => expect(Math.abs(v - b[i]![k]!)).toBeLessThanOrEqual(1e-6)));
}

const enc = (m: onnx.IModelProto) => onnx.ModelProto.encode(m).finish();

describe('graphc optimize: the model it was, optimized', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it("an opset-13 model stays opset 13 with its metadata, doc strings, producer (graphc appended), input and output names and the names of the nodes and values that survive; onnxruntime's numbers unchanged", async () => {
    const src = sample(13);
    const { model, report } = optimizeOnnxModel(src, {});
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
    expect(Number(model.irVersion)).toBe(7);
    expect(model.metadataProps.map((p) => [p.key, p.value])).toEqual([['author', 'course'], ['license', 'MIT']]);
    expect(model.docString).toBe('a two-layer toy');
    expect(Number(model.modelVersion)).toBe(3);
    expect(model.producerName).toBe('pytorch + graphc');
    expect(model.producerVersion).toBe(`2.1.0 + graphc ${GRAPHC_VERSION}`);
    const g = model.graph!;
    expect(g.name).toBe('toy');
    expect(g.docString).toBe('the graph of the toy');
    expect(g.input!.map((i) => i.name)).toEqual(['x']);
    expect(g.output!.map((o) => o.name)).toEqual(['y', 'z']);
    // The passes dropped the Mul by 1 (and the Identity): fewer nodes.
    expect(g.node!.length).toBeLessThan(src.graph!.node!.length);
    expect(g.node!.some((n) => n.opType === 'Mul' || n.opType === 'Identity')).toBe(false);
    // MatMul, Add and Relu became one fused node (a Gemm and a Relu: new names); the Sigmoid
    // survives with its name, and the weights keep theirs.
    expect(g.node!.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Sigmoid']);
    expect(g.node!.map((n) => n.name)).toEqual(['Gemm', 'Relu', '/gate/Sigmoid']);
    expect(g.initializer!.map((t) => t.name).sort()).toEqual(['fc1.bias', 'fc1.weight']);
    // The user's source line of the first node survives in its doc_string.
    expect(g.node!.some((n) => n.docString === 'model.py:12:5')).toBe(true);
    expect(report[0]).toBe("opset 13 (the model's)");
    expect(report.join('\n')).toMatch(/passes: /);
    const bytes = enc(model);
    expectClose(await outputs(bytes), await outputs(enc(src)));
    expect(checkModels(new Map([['m', bytes]])).get('m')).toBeNull();
  });

  it('opset 16 stays 16, and --opset writes the asked opset', async () => {
    const a = optimizeOnnxModel(sample(16), {});
    expect(a.model.opsetImport.map((o) => Number(o.version))).toEqual([16]);
    const b = optimizeOnnxModel(sample(16), { opset: 18 });
    expect(b.model.opsetImport.map((o) => Number(o.version))).toEqual([18]);
    expect(b.report[0]).toBe("opset 18 (the model's was 16)");
    expectClose(await outputs(enc(a.model)), await outputs(enc(sample(16))));
    expectClose(await outputs(enc(b.model)), await outputs(enc(sample(16))));
    expect(() => optimizeOnnxModel(sample(16), { opset: 19 })).toThrow(/opset 19 is not supported/);
  });

  it('an opset-11 model whose ops read the same at 13 stays opset 11 (IR 6) and runs in onnxruntime', async () => {
    const { model } = optimizeOnnxModel(sample(11), {});
    expect(model.opsetImport.map((o) => Number(o.version))).toEqual([11]);
    expect(Number(model.irVersion)).toBe(6);
    const bytes = enc(model);
    expectClose(await outputs(bytes), await outputs(enc(sample(11))));
    expect(checkModels(new Map([['m', bytes]])).get('m')).toBeNull();
  });

  it('an opset-6 model: the error names the op and the opset and points at --opset; with --opset 13 it is written at 13', async () => {
    expect(() => optimizeOnnxModel(sample(6), {})).toThrow(gc.GcError);
    try {
      optimizeOnnxModel(sample(6), {});
    } catch (e) {
      const msg = String(e);
      // MatMul + Add are written as one Gemm, whose opset-6 form differs.
      expect(msg).toMatch(/Gemm cannot be written at opset 6 \(the model's\): graphc writes Gemm-13, and opset 6's Gemm-6 differs from it \(Gemm changed at opset 7, 9, 11\)/);
      expect(msg).toMatch(/--opset 13/);
    }
    const { model } = optimizeOnnxModel(sample(6), { opset: 13 });
    expect(model.opsetImport.map((o) => Number(o.version))).toEqual([13]);
    expectClose(await outputs(enc(model)), await outputs(enc(sample(13))));
  });

  it("a Softmax at opset 11 (whose meaning changed at 13) is refused by name; a Squeeze there is fine (graphc writes it as a Reshape)", async () => {
    const m = (op: string, attrs: onnx.IAttributeProto[], inShape: (string | number)[]) => onnx.ModelProto.create({
      irVersion: 6, opsetImport: [{ domain: '', version: 11 }],
      graph: {
        name: 'm', input: [valueInfo('x', T.FLOAT, inShape)], output: [valueInfo('y', T.FLOAT, ['n', 3])],
        node: [node(op, ['x'], ['s'], attrs), node('Relu', ['s'], ['y'])],
      },
    });
    expect(() => optimizeOnnxModel(m('Softmax', [attr.int('axis', 1)], ['n', 3]), {})).toThrow(/Softmax cannot be written at opset 11 .*Softmax-13.*Softmax-11.*changed at opset 13/);
    const sq = optimizeOnnxModel(m('Squeeze', [attr.ints('axes', [1])], ['n', 1, 3]), {}).model;
    expect(sq.opsetImport.map((o) => Number(o.version))).toEqual([11]);
    expect(sq.graph!.node!.map((n) => n.opType)).toEqual(['Reshape', 'Relu']);
    const data = Float32Array.from([1, -2, 3, -4, 5, -6]);
    const r = await runOrt(enc(sq), { x: { dtype: 'float32', shape: [2, 1, 3], data } }, ['y']);
    expect(Array.from(r.y!.data as Float32Array)).toEqual([1, 0, 3, 0, 5, 0]);
  });

  it('a model graphc exported itself keeps its node and value names through optimize', () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, 'dense/kernel');
    const g = gc.trace((x: tf.Tensor) => tf.tanh(tf.matMul(x as tf.Tensor2D, w)), [gc.spec(['b', 2], 'float32', 'x')]);
    const first = onnx.ModelProto.decode(gc.toOnnx(g));
    const again = optimizeOnnxModel(first, {}).model;
    expect(again.graph!.node!.map((n) => n.name)).toEqual(first.graph!.node!.map((n) => n.name));
    expect(again.graph!.initializer!.map((t) => t.name)).toEqual(['dense/kernel']);
    expect(again.producerName).toBe('graphc');
    w.dispose();
  });
});
