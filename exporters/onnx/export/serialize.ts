/**
 * OnnxGraph → ModelProto bytes. Deterministic: fields in schema order, nodes, initializers,
 * inputs and outputs in the graph's order, no timestamps; the same graph gives the same bytes.
 */
import type { Dim } from '../../../ir/dim.js';
import { dimToString, isStatic } from '../../../ir/dim.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { tensorBytes } from '../../../ir/tensor_bytes.js';
import { onnxDType } from '../dtypes.js';
import type { OnnxAttr, OnnxGraph, OnnxValueInfo } from './onnx_graph.js';
import { onnx } from '../proto.js';

const AttrType = onnx.AttributeProto.AttributeType;

export function tensorProto(t: TensorData, name?: string): onnx.ITensorProto {
  return { dims: [...t.shape], dataType: onnxDType(t.dtype), ...(name !== undefined ? { name } : {}), rawData: tensorBytes(t) };
}

function attrProto(name: string, a: OnnxAttr): onnx.IAttributeProto {
  switch (a.kind) {
    case 'int': return { name, type: AttrType.INT, i: a.value };
    case 'ints': return { name, type: AttrType.INTS, ints: [...a.value] };
    case 'float': return { name, type: AttrType.FLOAT, f: a.value };
    case 'floats': return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case 'string': return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor': return { name, type: AttrType.TENSOR, t: tensorProto(a.value) };
    case 'graph': return { name, type: AttrType.GRAPH, g: graphProto(a) };
  }
}

/**
 * A dim as ONNX writes it: a number as dim_value, a symbol as dim_param with the symbol's
 * name (the same symbol gives the same name everywhere), an affine dim as dim_param with
 * its text (`2*batch`, `batch+1`).
 */
function dimProto(d: Dim): onnx.TensorShapeProto.IDimension {
  return isStatic(d) ? { dimValue: d } : { dimParam: dimToString(d) };
}

function valueInfo(v: OnnxValueInfo): onnx.IValueInfoProto {
  return { name: v.name, type: { tensorType: { elemType: onnxDType(v.dtype), shape: { dim: v.shape.map(dimProto) } } } };
}

export interface ModelMeta {
  opset: number;
  irVersion: number;
  producerVersion: string;
}

/** A graph (the model's, or a subgraph held by an attribute). */
function graphProto(g: OnnxGraph): onnx.IGraphProto {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      input: n.inputs,
      output: n.outputs,
      name: n.name,
      opType: n.opType,
      attribute: Object.keys(n.attrs).sort().map((k) => attrProto(k, n.attrs[k]!)),
      ...(n.doc !== '' ? { docString: n.doc } : {}),
      domain: '',
    })),
    initializer: [...g.initializers].map(([name, t]) => tensorProto(t, name)),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
  };
}

export function serializeModel(g: OnnxGraph, meta: ModelMeta): Uint8Array {
  const graph = graphProto(g);
  const model: onnx.IModelProto = {
    irVersion: meta.irVersion,
    opsetImport: [{ domain: '', version: meta.opset }],
    producerName: 'graphc',
    producerVersion: meta.producerVersion,
    graph,
    ...(g.metadata !== undefined ? { metadataProps: Object.keys(g.metadata).sort().map((key) => ({ key, value: g.metadata![key]! })) } : {}),
  };
  return onnx.ModelProto.encode(model).finish();
}
