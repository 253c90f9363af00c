/** Builds small ONNX models with onnx-proto for importer tests. */
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { onnx } from '../../../exporters/onnx/proto.js';

const A = onnx.AttributeProto.AttributeType;
export const T = onnx.TensorProto.DataType;

export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: A.INT, i }),
  ints: (name: string, ints: number[]): onnx.IAttributeProto => ({ name, type: A.INTS, ints }),
  float: (name: string, f: number): onnx.IAttributeProto => ({ name, type: A.FLOAT, f }),
  floats: (name: string, floats: number[]): onnx.IAttributeProto => ({ name, type: A.FLOATS, floats }),
  str: (name: string, s: string): onnx.IAttributeProto => ({ name, type: A.STRING, s: new TextEncoder().encode(s) }),
  tensor: (name: string, t: onnx.ITensorProto): onnx.IAttributeProto => ({ name, type: A.TENSOR, t }),
};

export function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = [], name = ''): onnx.INodeProto {
  return { opType, input, output, attribute, name };
}

export function tensor(name: string, dataType: number, dims: number[], values: number[]): onnx.ITensorProto {
  const t: onnx.ITensorProto = { name, dataType, dims };
  if (dataType === T.FLOAT) t.floatData = values;
  else if (dataType === T.INT64) t.int64Data = values;
  else if (dataType === T.DOUBLE) t.doubleData = values;
  else t.int32Data = values;
  return t;
}

export function valueInfo(name: string, elemType: number, dims: (number | string | null)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) } } },
  };
}

export interface ModelSpec {
  opset: number;
  nodes: onnx.INodeProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers?: onnx.ITensorProto[];
}

export function model(m: ModelSpec): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: m.opset }],
    graph: { name: 'test', node: m.nodes, input: m.inputs, output: m.outputs, initializer: m.initializers ?? [] },
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Imports and runs a model; returns each output's shape and values. */
export async function runModel(bytes: Uint8Array, feeds: Record<string, tf.Tensor>, fetches?: string[]): Promise<Array<{ shape: number[]; values: number[] }>> {
  const g = gc.fromOnnx(bytes);
  const s = await gc.Session.create(g, { backend: 'cpu' });
  try {
    const names = fetches ?? g.outputs.map((o) => o.name);
    const outs = (await s.run(names, feeds)) as tf.Tensor[];
    const r = outs.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    tf.dispose(outs);
    return r;
  } finally {
    s.dispose();
  }
}

export function iota(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => i), shape);
}
