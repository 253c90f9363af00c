/**
 * fromOnnx: attributes that became operands between opsets (Reshape, Squeeze/Unsqueeze,
 * Clip, Slice, Reduce*, Split, Pad, Dropout), constants, symbolic dims, layouts, errors.
 * Each model is built with onnx-proto, imported, and run by a Session on cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { attr, iota, model, node, runModel, T, tensor, valueInfo } from '../test_util.js';

beforeAll(async () => { await tf.setBackend('cpu'); });

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const x234 = () => iota([2, 3, 4]);
const f = (name: string, dims: (number | string | null)[]) => valueInfo(name, T.FLOAT, dims);
const i64 = (name: string, xs: number[], dims = [xs.length]) => tensor(name, T.INT64, dims, xs);

describe('Reshape', () => {
  for (const opset of [7, 13]) {
    it(`opset ${opset}: shape operand with 0 (copy) and -1 (inferred)`, async () => {
      const bytes = model({ opset, nodes: [node('Reshape', ['x', 'shape'], ['y'])], inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 12])],
        initializers: [i64('shape', [0, -1])] });
      const [y] = await runModel(bytes, { x: x234() });
      expect(y!.shape).toEqual([2, 12]);
      expect(y!.values).toEqual(values(x234()));
    });
  }

  it('a shape computed at run time fails naming the input; options.constants specializes on it', async () => {
    const bytes = model({ opset: 13, nodes: [node('Reshape', ['x', 'shape'], ['y'], [], 'r')],
      inputs: [f('x', [2, 3, 4]), valueInfo('shape', T.INT64, [2])], outputs: [f('y', [null, null])] });
    let err: unknown;
    try { gc.fromOnnx(bytes); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(gc.OnnxImportError);
    expect((err as gc.OnnxImportError).message).toMatch(/onnx node 'r' \(Reshape\): shape \(operand 1, 'shape'\) is computed at run time/);
    expect((err as gc.OnnxImportError).needsInputs).toEqual(['shape']);
    const g = gc.fromOnnx(bytes, { constants: { shape: { dtype: 'int64', shape: [2], data: new BigInt64Array([4n, 6n]) } } });
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect(g.outputs[0]!.value.shape).toEqual([4, 6]);
  });
});

describe('Squeeze / Unsqueeze: axes attribute before 13, operand since', () => {
  it('opset 11 attributes', async () => {
    const bytes = model({ opset: 11, nodes: [node('Squeeze', ['x'], ['s'], [attr.ints('axes', [1])]), node('Unsqueeze', ['s'], ['u'], [attr.ints('axes', [0, 3])])],
      inputs: [f('x', [2, 1, 3])], outputs: [f('s', [2, 3]), f('u', [1, 2, 3, 1])] });
    const [s, u] = await runModel(bytes, { x: iota([2, 1, 3]) });
    expect(s!.shape).toEqual([2, 3]);
    expect(u!.shape).toEqual([1, 2, 3, 1]);
    expect(u!.values).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('opset 13 operands (negative axes), and Squeeze without axes', async () => {
    const bytes = model({ opset: 13,
      nodes: [node('Squeeze', ['x', 'sa'], ['s']), node('Unsqueeze', ['s', 'ua'], ['u']), node('Squeeze', ['u'], ['all'])],
      inputs: [f('x', [2, 1, 3])], outputs: [f('s', [2, 3]), f('u', [2, 3, 1]), f('all', [2, 3])],
      initializers: [i64('sa', [-2]), i64('ua', [-1])] });
    const [s, u, all] = await runModel(bytes, { x: iota([2, 1, 3]) });
    expect(s!.shape).toEqual([2, 3]);
    expect(u!.shape).toEqual([2, 3, 1]);
    expect(all!.shape).toEqual([2, 3]);
  });
});

describe('Clip: min/max attributes before 11, optional operands since', () => {
  const x = () => tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7]);
  it('opset 7 attributes', async () => {
    const bytes = model({ opset: 7, nodes: [node('Clip', ['x'], ['y'], [attr.float('min', 2), attr.float('max', 5)])], inputs: [f('x', [8])], outputs: [f('y', [8])] });
    expect((await runModel(bytes, { x: x() }))[0]!.values).toEqual([2, 2, 2, 3, 4, 5, 5, 5]);
  });
  it('opset 11 operands', async () => {
    const bytes = model({ opset: 11, nodes: [node('Clip', ['x', 'lo', 'hi'], ['y'])], inputs: [f('x', [8])], outputs: [f('y', [8])],
      initializers: [tensor('lo', T.FLOAT, [], [2]), tensor('hi', T.FLOAT, [], [5])] });
    expect((await runModel(bytes, { x: x() }))[0]!.values).toEqual([2, 2, 2, 3, 4, 5, 5, 5]);
  });
  it('opset 13: min omitted, max only', async () => {
    const bytes = model({ opset: 13, nodes: [node('Clip', ['x', '', 'hi'], ['y'])], inputs: [f('x', [8])], outputs: [f('y', [8])],
      initializers: [tensor('hi', T.FLOAT, [], [3])] });
    expect((await runModel(bytes, { x: x() }))[0]!.values).toEqual([0, 1, 2, 3, 3, 3, 3, 3]);
  });
  it('opset 13: bounds computed at run time', async () => {
    const bytes = model({ opset: 13, nodes: [node('Clip', ['x', 'lo', 'hi'], ['y'])], inputs: [f('x', [8]), f('lo', []), f('hi', [])], outputs: [f('y', [8])] });
    expect((await runModel(bytes, { x: x(), lo: tf.scalar(1), hi: tf.scalar(6) }))[0]!.values).toEqual([1, 1, 2, 3, 4, 5, 6, 6]);
  });
});

describe('Slice: attributes before 10, operands (with steps) since', () => {
  it('opset 7 attributes', async () => {
    const bytes = model({ opset: 7, nodes: [node('Slice', ['x'], ['y'], [attr.ints('starts', [1]), attr.ints('ends', [3]), attr.ints('axes', [2])])],
      inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 3, 2])] });
    const [y] = await runModel(bytes, { x: x234() });
    expect(y!.shape).toEqual([2, 3, 2]);
    expect(y!.values).toEqual(values(tf.slice(x234(), [0, 0, 1], [2, 3, 2])));
  });
  it('opset 10 operands with a step of 2', async () => {
    const bytes = model({ opset: 10, nodes: [node('Slice', ['x', 's', 'e', 'a', 'st'], ['y'])], inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 3, 2])],
      initializers: [i64('s', [0]), i64('e', [4]), i64('a', [2]), i64('st', [2])] });
    const [y] = await runModel(bytes, { x: x234() });
    expect(y!.values).toEqual(values(tf.stridedSlice(x234(), [0, 0, 0], [2, 3, 4], [1, 1, 2])));
  });
  it('opset 13 negative step reverses, out-of-range bounds clamp', async () => {
    const bytes = model({ opset: 13, nodes: [node('Slice', ['x', 's', 'e', 'a', 'st'], ['y'])], inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 3, 4])],
      initializers: [i64('s', [-1]), i64('e', [-1000]), i64('a', [1]), i64('st', [-1])] });
    const [y] = await runModel(bytes, { x: x234() });
    expect(y!.values).toEqual(values(tf.reverse(x234(), 1)));
  });
});

describe('Reduce*: axes attribute before 13 (ReduceSum) / 18 (others), operand since', () => {
  const sum1 = () => values(tf.sum(x234(), 1));
  it('ReduceSum opset 11 attribute', async () => {
    const bytes = model({ opset: 11, nodes: [node('ReduceSum', ['x'], ['y'], [attr.ints('axes', [1]), attr.int('keepdims', 0)])], inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 4])] });
    expect((await runModel(bytes, { x: x234() }))[0]!.values).toEqual(sum1());
  });
  it('ReduceSum opset 13 operand; no axes reduces all; noop_with_empty_axes keeps the input', async () => {
    const bytes = model({ opset: 13,
      nodes: [node('ReduceSum', ['x', 'axes'], ['y'], [attr.int('keepdims', 0)]), node('ReduceSum', ['x'], ['all']),
        node('ReduceSum', ['x'], ['noop'], [attr.int('noop_with_empty_axes', 1)])],
      inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 4]), f('all', [1, 1, 1]), f('noop', [2, 3, 4])], initializers: [i64('axes', [-2])] });
    const [y, all, noop] = await runModel(bytes, { x: x234() });
    expect(y!.values).toEqual(sum1());
    expect(all!.shape).toEqual([1, 1, 1]);
    expect(all!.values).toEqual([276]);
    expect(noop!.values).toEqual(values(x234()));
  });
  it('ReduceMean opset 13 attribute and opset 18 operand', async () => {
    const want = values(tf.mean(x234(), 2, true));
    const a = model({ opset: 13, nodes: [node('ReduceMean', ['x'], ['y'], [attr.ints('axes', [2])])], inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 3, 1])] });
    const b = model({ opset: 18, nodes: [node('ReduceMean', ['x', 'axes'], ['y'])], inputs: [f('x', [2, 3, 4])], outputs: [f('y', [2, 3, 1])], initializers: [i64('axes', [2])] });
    expect((await runModel(a, { x: x234() }))[0]!.values).toEqual(want);
    expect((await runModel(b, { x: x234() }))[0]!.values).toEqual(want);
  });
});

describe('Split: attribute before 13, operand since, num_outputs at 18', () => {
  const check = async (bytes: Uint8Array) => {
    const [a, b] = await runModel(bytes, { x: x234() });
    expect(a!.shape).toEqual([2, 1, 4]);
    expect(b!.shape).toEqual([2, 2, 4]);
    expect(b!.values).toEqual(values(tf.slice(x234(), [0, 1, 0], [2, 2, 4])));
  };
  const outs = [f('a', [2, 1, 4]), f('b', [2, 2, 4])];
  it('opset 11 attribute', async () => {
    await check(model({ opset: 11, nodes: [node('Split', ['x'], ['a', 'b'], [attr.int('axis', 1), attr.ints('split', [1, 2])])], inputs: [f('x', [2, 3, 4])], outputs: outs }));
  });
  it('opset 13 operand', async () => {
    await check(model({ opset: 13, nodes: [node('Split', ['x', 's'], ['a', 'b'], [attr.int('axis', 1)])], inputs: [f('x', [2, 3, 4])], outputs: outs, initializers: [i64('s', [1, 2])] }));
  });
  it('opset 18 num_outputs: the last part is smaller', async () => {
    const bytes = model({ opset: 18, nodes: [node('Split', ['x'], ['a', 'b'], [attr.int('num_outputs', 2)])], inputs: [f('x', [5])], outputs: [f('a', [3]), f('b', [2])] });
    const [a, b] = await runModel(bytes, { x: iota([5]) });
    expect(a!.values).toEqual([0, 1, 2]);
    expect(b!.values).toEqual([3, 4]);
  });
});

describe('Pad: attributes before 11, operands since, axes at 18', () => {
  const x = () => tf.tensor2d([[1, 2], [3, 4]]);
  const want = [9, 1, 2, 9, 9, 9, 3, 4, 9, 9];
  it('opset 7 attributes', async () => {
    const bytes = model({ opset: 7, nodes: [node('Pad', ['x'], ['y'], [attr.ints('pads', [0, 1, 0, 2]), attr.float('value', 9)])], inputs: [f('x', [2, 2])], outputs: [f('y', [2, 5])] });
    expect((await runModel(bytes, { x: x() }))[0]!.values).toEqual(want);
  });
  it('opset 11 operands', async () => {
    const bytes = model({ opset: 11, nodes: [node('Pad', ['x', 'p', 'v'], ['y'])], inputs: [f('x', [2, 2])], outputs: [f('y', [2, 5])],
      initializers: [i64('p', [0, 1, 0, 2]), tensor('v', T.FLOAT, [], [9])] });
    expect((await runModel(bytes, { x: x() }))[0]!.values).toEqual(want);
  });
  it('opset 18 axes operand', async () => {
    const bytes = model({ opset: 18, nodes: [node('Pad', ['x', 'p', 'v', 'a'], ['y'])], inputs: [f('x', [2, 2])], outputs: [f('y', [2, 5])],
      initializers: [i64('p', [1, 2]), tensor('v', T.FLOAT, [], [9]), i64('a', [-1])] });
    expect((await runModel(bytes, { x: x() }))[0]!.values).toEqual(want);
  });
  it('reflect and edge modes', async () => {
    const mk = (mode: string) => model({ opset: 11, nodes: [node('Pad', ['x', 'p'], ['y'], [attr.str('mode', mode)])], inputs: [f('x', [1, 3])], outputs: [f('y', [1, 6])],
      initializers: [i64('p', [0, 1, 0, 2])] });
    const x3 = () => tf.tensor2d([[1, 2, 3]]);
    expect((await runModel(mk('reflect'), { x: x3() }))[0]!.values).toEqual([2, 1, 2, 3, 2, 1]);
    expect((await runModel(mk('edge'), { x: x3() }))[0]!.values).toEqual([1, 1, 2, 3, 3, 3]);
  });
});

describe('Dropout: ratio attribute before 12, operand since; inference is the identity', () => {
  for (const opset of [7, 12]) {
    it(`opset ${opset}`, async () => {
      const bytes = model({ opset, nodes: [node('Dropout', opset < 12 ? ['x'] : ['x', 'r'], ['y', 'mask'], opset < 12 ? [attr.float('ratio', 0.3)] : [])],
        inputs: [f('x', [4])], outputs: [f('y', [4]), valueInfo('mask', T.BOOL, [4])], initializers: opset < 12 ? [] : [tensor('r', T.FLOAT, [], [0.3])] });
      const [y, mask] = await runModel(bytes, { x: tf.tensor1d([1, 2, 3, 4]) });
      expect(y!.values).toEqual([1, 2, 3, 4]);
      expect(mask!.values).toEqual([1, 1, 1, 1]);
    });
  }
});

describe('graphs', () => {
  it('dim_params become symbolic dims; one graph runs at two batch sizes', async () => {
    const bytes = model({ opset: 13,
      nodes: [node('Shape', ['x'], ['s']), node('Gather', ['s', 'zero'], ['n']), node('Unsqueeze', ['n', 'axes'], ['n1']),
        node('Concat', ['n1', 'minus1'], ['target'], [attr.int('axis', 0)]), node('Reshape', ['x', 'target'], ['y'])],
      inputs: [f('x', ['batch', 3, 4])], outputs: [f('y', ['batch', 12])],
      initializers: [tensor('zero', T.INT64, [], [0]), i64('axes', [0]), i64('minus1', [-1])] });
    const g = gc.fromOnnx(bytes);
    expect(gc.printGraph(g)).toMatch(/graph @test\(%x: f32\[batch,3,4\]\)/);
    expect(g.outputs[0]!.value.shape).toEqual([{ sym: 'batch', k: 1, c: 0 }, 12]);
    for (const b of [2, 5]) {
      const [y] = await runModel(bytes, { x: iota([b, 3, 4]) });
      expect(y!.shape).toEqual([b, 12]);
    }
  });

  it('an input that is also an initializer is a constant; Constant nodes of every form', async () => {
    const bytes = model({ opset: 13,
      nodes: [node('Constant', [], ['c1'], [attr.float('value_float', 2)]), node('Constant', [], ['c2'], [attr.floats('value_floats', [1, 2, 3])]),
        node('Mul', ['x', 'c1'], ['m']), node('Add', ['m', 'c2'], ['a']), node('Add', ['a', 'w'], ['y'])],
      inputs: [f('x', [3]), f('w', [3])], outputs: [f('y', [3])], initializers: [tensor('w', T.FLOAT, [3], [10, 20, 30])] });
    const g = gc.fromOnnx(bytes);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    const [y] = await runModel(bytes, { x: tf.tensor1d([1, 1, 1]) });
    expect(y!.values).toEqual([13, 24, 35]);
  });

  it('int64 values are int64 in the IR; double is read as float32', async () => {
    const bytes = model({ opset: 13, nodes: [node('Cast', ['x'], ['y'], [attr.int('to', T.DOUBLE)]), node('Shape', ['x'], ['s'])],
      inputs: [valueInfo('x', T.INT64, [2])], outputs: [valueInfo('y', T.DOUBLE, [2]), valueInfo('s', T.INT64, [1])] });
    const g = gc.fromOnnx(bytes);
    expect(gc.printGraph(g)).toMatch(/%x: i64\[2\]/);
    const [y, s] = await runModel(bytes, { x: tf.tensor1d([3, -4], 'int32') });
    expect(y!.values).toEqual([3, -4]);
    expect(s!.values).toEqual([2]);
  });

  it('NCHW Conv becomes an NHWC conv2d with its OIHW filter folded to HWIO', async () => {
    const w = Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => (i % 7) - 3);
    const bytes = model({ opset: 13, nodes: [node('Conv', ['x', 'w', 'b'], ['y'], [attr.ints('pads', [1, 1, 1, 1])])],
      inputs: [f('x', [1, 3, 5, 5])], outputs: [f('y', [1, 2, 5, 5])],
      initializers: [tensor('w', T.FLOAT, [2, 3, 3, 3], w), tensor('b', T.FLOAT, [2], [0.5, -1])] });
    const g = gc.fromOnnx(bytes);
    const text = gc.printGraph(g);
    expect(text).toMatch(/const \{value = dense<f32\[3,3,3,2\]>/);
    expect(g.nodes.filter((n) => n.op === 'transpose').length).toBe(2);
    const x = iota([1, 3, 5, 5]);
    const ref = tf.transpose(tf.add(tf.conv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D,
      tf.transpose(tf.tensor(w, [2, 3, 3, 3]), [2, 3, 1, 0]) as tf.Tensor4D, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]), tf.tensor1d([0.5, -1])), [0, 3, 1, 2]);
    const [y] = await runModel(bytes, { x });
    expect(y!.shape).toEqual([1, 2, 5, 5]);
    y!.values.forEach((v, i) => expect(v).toBeCloseTo(values(ref)[i]!, 3));
  });
});

describe('errors name the node and say why', () => {
  it('an op whose output shape depends on the data', () => {
    const bytes = model({ opset: 13, nodes: [node('NonZero', ['x'], ['y'], [], 'nz')], inputs: [f('x', [3])], outputs: [valueInfo('y', T.INT64, [1, null])] });
    expect(() => gc.fromOnnx(bytes)).toThrow(/error\[GC0501\]: onnx node 'nz' \(NonZero\): the shape of NonZero's result depends on the data/);
  });
  it('an op without a rule', () => {
    const bytes = model({ opset: 13, nodes: [node('Frobnicate', ['x'], ['y'], [], 'fz')], inputs: [f('x', [3])], outputs: [f('y', [3])] });
    expect(() => gc.fromOnnx(bytes)).toThrow(/onnx node 'fz' \(Frobnicate\): no import rule for ONNX op 'Frobnicate'/);
  });
  it('a type error inside a rule carries the operands', () => {
    const bytes = model({ opset: 13, nodes: [node('MatMul', ['a', 'b'], ['y'], [], 'mm')], inputs: [f('a', [2, 3]), f('b', [4, 5])], outputs: [f('y', [2, 5])] });
    expect(() => gc.fromOnnx(bytes)).toThrow(/onnx node 'mm' \(MatMul\): matmul: inner dimensions differ[\s\S]*operand 'a': float32\[2,3\]/);
  });
  it('an unsupported opset and bytes that are no model', () => {
    const bytes = model({ opset: 19, nodes: [node('Abs', ['x'], ['y'])], inputs: [f('x', [3])], outputs: [f('y', [3])] });
    expect(() => gc.fromOnnx(bytes)).toThrow(/uses opset 19/);
    expect(() => gc.fromOnnx(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/not an ONNX ModelProto/);
  });
});

describe('more version changes and composed ops', () => {
  it('TopK: k attribute before 10, operand since; largest and smallest', async () => {
    const x = () => tf.tensor2d([[3, 1, 4, 1], [5, 9, 2, 6]]);
    const outs = [f('v', [2, 2]), valueInfo('i', T.INT64, [2, 2])];
    const a = model({ opset: 9, nodes: [node('TopK', ['x'], ['v', 'i'], [attr.int('k', 2)])], inputs: [f('x', [2, 4])], outputs: outs });
    const b = model({ opset: 11, nodes: [node('TopK', ['x', 'k'], ['v', 'i'], [attr.int('largest', 0)])], inputs: [f('x', [2, 4])], outputs: outs, initializers: [i64('k', [2])] });
    const [av, ai] = await runModel(a, { x: x() });
    expect(av!.values).toEqual([4, 3, 9, 6]);
    expect(ai!.values).toEqual([2, 0, 1, 3]);
    const [bv, bi] = await runModel(b, { x: x() });
    expect(bv!.values).toEqual([1, 1, 2, 5]);
    expect(bi!.values).toEqual([1, 3, 2, 0]);
  });

  it('Upsample: scales attribute at 7, operand at 9 (nearest, asymmetric, floor)', async () => {
    const a = model({ opset: 7, nodes: [node('Upsample', ['x'], ['y'], [attr.floats('scales', [1, 1, 2, 3])])], inputs: [f('x', [1, 1, 2, 2])], outputs: [f('y', [1, 1, 4, 6])] });
    const b = model({ opset: 9, nodes: [node('Upsample', ['x', 's'], ['y'])], inputs: [f('x', [1, 1, 2, 2])], outputs: [f('y', [1, 1, 4, 6])],
      initializers: [tensor('s', T.FLOAT, [4], [1, 1, 2, 3])] });
    const want = [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4];
    for (const bytes of [a, b]) expect((await runModel(bytes, { x: tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]) }))[0]!.values).toEqual(want);
  });

  it('If with a constant condition is its branch, inline', async () => {
    const branch = (v: number) => ({ name: 'b', node: [node('Add', ['x', `c${v}`], [`o${v}`])], input: [], output: [f(`o${v}`, [2])],
      initializer: [tensor(`c${v}`, T.FLOAT, [], [v])] });
    const bytes = model({ opset: 13,
      nodes: [node('If', ['cond'], ['y'], [{ name: 'then_branch', type: 5, g: branch(10) }, { name: 'else_branch', type: 5, g: branch(20) }])],
      inputs: [f('x', [2])], outputs: [f('y', [2])], initializers: [tensor('cond', T.BOOL, [], [0])] });
    expect((await runModel(bytes, { x: tf.tensor1d([1, 2]) }))[0]!.values).toEqual([21, 22]);
  });

  it('Mish and LpNormalization', async () => {
    const bytes = model({ opset: 18, nodes: [node('Mish', ['x'], ['m']), node('LpNormalization', ['x'], ['n'], [attr.int('p', 1)])],
      inputs: [f('x', [2, 2])], outputs: [f('m', [2, 2]), f('n', [2, 2])] });
    const [m, n] = await runModel(bytes, { x: tf.tensor2d([[1, -1], [3, 1]]) });
    expect(m!.values[0]).toBeCloseTo(Math.tanh(Math.log1p(Math.E)), 5);
    expect(n!.values).toEqual([0.5, -0.5, 0.75, 0.25]);
  });
});

describe('random ops stay random', () => {
  it('RandomUniform / RandomNormalLike become IR random ops with the seed; draws stay in range', async () => {
    const bytes = model({ opset: 13,
      nodes: [node('RandomUniform', [], ['u'], [attr.ints('shape', [1000]), attr.float('low', 2), attr.float('high', 3), attr.float('seed', 7)]),
        node('RandomNormalLike', ['x'], ['n'], [attr.float('mean', 5)])],
      inputs: [f('x', ['batch', 4])], outputs: [f('u', [1000]), f('n', ['batch', 4])] });
    const g = gc.fromOnnx(bytes);
    const text = gc.printGraph(g);
    expect(text).toMatch(/random_uniform \{dtype = f32, max = 3, min = 2, seed = 7, shape = \[1000\]\}/);
    expect(text).toMatch(/random_normal \{dtype = f32, mean = 5, seed = -1, shape = \[batch, 4\], std = 1, truncated = false\}/);
    const [u, n] = await runModel(bytes, { x: tf.zeros([3, 4]) });
    expect(u!.values.every((v) => v >= 2 && v < 3)).toBe(true);
    expect(n!.shape).toEqual([3, 4]);
  });

  it('Multinomial samples each row on its own with the softmax\'s frequencies, int32 or int64, on every engine; ORT agrees in distribution', async () => {
    const logits = [[0, 1, 2, -1], [3, 0, 0, 0]];
    const p = tf.softmax(tf.tensor2d(logits)).arraySync() as number[][];
    const n = 4000;
    for (const dtype of [T.INT32, T.INT64]) {
      const bytes = model({ opset: 13,
        nodes: [node('Multinomial', ['x'], ['s'], [attr.int('sample_size', n), attr.int('dtype', dtype)])],
        inputs: [f('x', ['batch', 4])], outputs: [valueInfo('s', dtype, ['batch', n])] });
      const g = gc.fromOnnx(bytes);
      for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
        const sess = await gc.Session.create(g, { backend });
        const [a, b] = [0, 1].map(() => (sess.run(['s'], { x: tf.tensor2d(logits) }) as Promise<tf.Tensor[]>));
        const [ta] = await a!, [tb] = await b!;
        expect(ta!.shape, backend).toEqual([2, n]);
        const rows = ta!.arraySync() as number[][];
        expect(rows, backend).not.toEqual(tb!.arraySync());
        // Each row its own draws (ONNX's semantics; tfjs's kernel gives every row the same).
        expect(rows[0]!.filter((v, i) => v === rows[1]![i]).length, backend).toBeLessThan(n * 0.9);
        rows.forEach((row, r) => {
          const freq = [0, 0, 0, 0];
          for (const v of row) freq[v]!++;
          freq.forEach((c, j) => expect(Math.abs(c / n - p[r]![j]!), `${backend} row ${r} class ${j}`).toBeLessThan(0.04));
        });
        sess.dispose();
      }
      // ONNX Runtime's own Multinomial on the same model: the same frequencies.
      const ortSess = await ort.InferenceSession.create(bytes);
      const o = await ortSess.run({ x: new ort.Tensor('float32', Float32Array.from(logits.flat()), [2, 4]) });
      const flat = Array.from(o['s']!.data as ArrayLike<number | bigint>, Number);
      [0, 1].forEach((r) => {
        const freq = [0, 0, 0, 0];
        for (const v of flat.slice(r * n, (r + 1) * n)) freq[v]!++;
        freq.forEach((c, j) => expect(Math.abs(c / n - p[r]![j]!), `ORT row ${r} class ${j}`).toBeLessThan(0.04));
      });
    }
  });
});
