/**
 * The tfjs-layers layer being applied, for the nodes a trace records: tfjs-layers runs every
 * layer of a model through `Layer.apply` (predict, fit, a Functional model's call), so a
 * wrapper around it keeps a stack of layer names. A kernel recorded meanwhile gets the
 * innermost layer's name in its SourceLoc's `scope`, and the ONNX exporter names the node
 * after it (`max_pooling2d_MaxPooling2D1/MaxPool`), also for layers without weights, which
 * it cannot name from the variables they read.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SourceLoc } from '../../ir/errors.js';

const stack: string[] = [];

type Apply = (this: { name?: unknown }, ...args: unknown[]) => unknown;
const proto = (tfl.layers as unknown as { Layer?: { prototype: { apply: Apply } } }).Layer?.prototype;
const WRAPPED = Symbol.for('graphc.layerScope');
if (proto !== undefined && !(WRAPPED in proto.apply)) {
  const apply = proto.apply;
  const wrapped: Apply = function (this: { name?: unknown }, ...args: unknown[]) {
    stack.push(typeof this.name === 'string' ? this.name : '');
    try {
      return apply.apply(this, args);
    } finally {
      stack.pop();
    }
  };
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  proto.apply = wrapped;
}

/** `loc` with the innermost layer being applied as its scope (unchanged outside any layer). */
export function withLayerScope(loc: SourceLoc | undefined): SourceLoc | undefined {
  const scope = stack[stack.length - 1];
  if (scope === undefined || scope === '' || loc === undefined) return loc;
  return { ...loc, scope };
}
