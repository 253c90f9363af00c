/** Typed access to an ONNX node's attributes, with defaults; a wrong type is a RuleError. */
import type { TensorData } from '../../../ir/tensor_data.js';
import { int64ToBigInt, int64ToNumber, onnx } from '../proto.js';
import type { LongLike } from '../proto.js';
import { ruleFail } from './errors.js';
import { tensorFromProto } from './tensor.js';

const A = onnx.AttributeProto.AttributeType;

export type AttrType = 'int' | 'float' | 'string' | 'ints' | 'floats' | 'strings' | 'tensor' | 'graph';

function attrTypeName(t: number): string {
  const names: Record<number, string> = { [A.FLOAT]: 'float', [A.INT]: 'int', [A.STRING]: 'string', [A.TENSOR]: 'tensor',
    [A.GRAPH]: 'graph', [A.FLOATS]: 'floats', [A.INTS]: 'ints', [A.STRINGS]: 'strings', [A.TENSORS]: 'tensors', [A.GRAPHS]: 'graphs' };
  return names[t] ?? `type #${t}`;
}

/** Typed access to an ONNX node's attributes, with defaults. */
export class NodeAttrs {
  private readonly byName = new Map<string, onnx.IAttributeProto>();
  constructor(node: onnx.INodeProto) {
    for (const a of node.attribute ?? []) this.byName.set(a.name ?? '', a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  private get(name: string, type: number): onnx.IAttributeProto | undefined {
    const a = this.byName.get(name);
    if (a === undefined) return undefined;
    if (a.type !== undefined && a.type !== null && a.type !== A.UNDEFINED && a.type !== type) {
      ruleFail(`attribute '${name}' is ${attrTypeName(a.type)}, expected ${attrTypeName(type)}`);
    }
    return a;
  }

  int(name: string): number | undefined;
  int(name: string, dflt: number): number;
  int(name: string, dflt?: number): number | undefined {
    const a = this.get(name, A.INT);
    return a ? int64ToNumber(a.i as number | LongLike) : dflt;
  }

  /** An int attribute as a bigint (exact over the whole int64 range). */
  bigint(name: string): bigint | undefined {
    const a = this.get(name, A.INT);
    return a ? int64ToBigInt(a.i as number | LongLike) : undefined;
  }

  /** An ints attribute as bigints (exact over the whole int64 range). */
  bigints(name: string): bigint[] | undefined {
    const a = this.get(name, A.INTS);
    return a ? (a.ints ?? []).map((x) => int64ToBigInt(x as number | LongLike)) : undefined;
  }

  float(name: string): number | undefined;
  float(name: string, dflt: number): number;
  float(name: string, dflt?: number): number | undefined {
    const a = this.get(name, A.FLOAT);
    return a ? (a.f ?? 0) : dflt;
  }

  string(name: string): string | undefined;
  string(name: string, dflt: string): string;
  string(name: string, dflt?: string): string | undefined {
    const a = this.get(name, A.STRING);
    return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : dflt;
  }

  ints(name: string): number[] | undefined;
  ints(name: string, dflt: number[]): number[];
  ints(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, A.INTS);
    return a ? (a.ints ?? []).map((x) => int64ToNumber(x as number | LongLike)) : dflt;
  }

  floats(name: string): number[] | undefined;
  floats(name: string, dflt: number[]): number[];
  floats(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, A.FLOATS);
    return a ? [...(a.floats ?? [])] : dflt;
  }

  strings(name: string): string[] | undefined {
    const a = this.get(name, A.STRINGS);
    return a ? (a.strings ?? []).map((s) => new TextDecoder().decode(s)) : undefined;
  }

  graph(name: string): onnx.IGraphProto | undefined {
    const a = this.get(name, A.GRAPH);
    return a?.g ?? undefined;
  }

  tensor(name: string): TensorData | undefined {
    const a = this.get(name, A.TENSOR);
    if (!a) return undefined;
    try {
      return tensorFromProto(a.t ?? {});
    } catch (e) {
      return ruleFail(`attribute '${name}': ${(e as Error).message}`);
    }
  }
}
