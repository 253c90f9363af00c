/**
 * OnnxGraph → ModelProto bytes. Deterministic: fields in schema order, nodes, initializers,
 * inputs and outputs in the graph's order, no timestamps; the same graph gives the same bytes.
 *
 * A tensor's raw_data is a view on its TensorData (on a little-endian machine): the weights are
 * copied once, by the encoder into the model's bytes, or not at all when writeOnnxModel
 * (external_data.ts) writes them to a data file.
 */
import type { Dim } from '../../../ir/dim.js';
import { dimToString, isStatic } from '../../../ir/dim.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { tensorBytes } from '../../../ir/tensor_bytes.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
import { onnxDType } from '../dtypes.js';
import type { OnnxAttr, OnnxGraph, OnnxValueInfo, OnnxValueType } from './onnx_graph.js';
import { onnx } from '../proto.js';

const AttrType = onnx.AttributeProto.AttributeType;

/** The elements as little-endian bytes: a view on the data where the machine is little-endian (the proto must not outlive changes to it). */
function rawBytes(t: TensorData): Uint8Array {
  return LITTLE_ENDIAN ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : tensorBytes(t);
}

export function tensorProto(t: TensorData, name?: string): onnx.ITensorProto {
  return { dims: [...t.shape], dataType: onnxDType(t.dtype), ...(name !== undefined ? { name } : {}), rawData: rawBytes(t) };
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

/** value_info: an unknown dim is a Dimension with neither field, an unknown shape no shape. */
function valueTypeInfo(v: OnnxValueType): onnx.IValueInfoProto {
  const shape = v.shape === undefined ? {} : { shape: { dim: v.shape.map((d) => (d === undefined ? {} : dimProto(d))) } };
  return { name: v.name, type: { tensorType: { elemType: onnxDType(v.dtype), ...shape } } };
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
    ...(g.valueInfo !== undefined && g.valueInfo.length > 0 ? { valueInfo: g.valueInfo.map(valueTypeInfo) } : {}),
    ...(g.doc !== undefined ? { docString: g.doc } : {}),
  };
}

/** The ModelProto of an OnnxGraph, not yet encoded (its raw_data are views on the graph's tensors). */
export function modelProto(g: OnnxGraph, meta: ModelMeta): onnx.IModelProto {
  const graph = graphProto(g);
  return {
    irVersion: meta.irVersion,
    opsetImport: [{ domain: '', version: meta.opset }],
    producerName: 'graphc',
    producerVersion: meta.producerVersion,
    graph,
    ...(g.metadata !== undefined ? { metadataProps: Object.keys(g.metadata).sort().map((key) => ({ key, value: g.metadata![key]! })) } : {}),
  };
}

export function serializeModel(g: OnnxGraph, meta: ModelMeta): Uint8Array {
  return onnx.ModelProto.encode(modelProto(g, meta)).finish();
}
