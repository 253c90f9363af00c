/**
 * gc.item(t): the one value of a one-element tensor as a JavaScript number (PyTorch's
 * `t.item()`). Eagerly it reads the tensor; inside a compiled function, code run through
 * AutoGraph (`graphc export`, `node --import graphc/autograph`) turns `if`/`while` conditions on
 * it into gc.cond / gc.whileLoop; called on a traced tensor without AutoGraph it is a trace error.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import { isTraceTensor } from '../trace/backend.js';
import { isTracing } from '../trace/tracer.js';
import { userLocation } from '../trace/source_loc.js';

export function item(t: tf.Tensor): number {
  if (t.size !== 1) {
    throw new GcError({ code: Codes.inputMismatch, message: `gc.item: the tensor has ${t.size} elements (shape [${t.shape.join(',')}]), not one`, loc: userLocation(), help: 'reduce it first (tf.sum, tf.max) or index it' });
  }
  if (isTracing() && isTraceTensor(t)) {
    throw new GcError({
      code: Codes.traceRead,
      message: 'gc.item read a traced value: inside a compiled function a tensor stands for a value of the graph and has no data yet',
      loc: userLocation(),
      help: 'to branch or loop on it, run the module through AutoGraph (graphc export module.ts, or node --import graphc/autograph app.js), which turns if/while on gc.item(t) into gc.cond/gc.whileLoop; or call gc.cond/gc.whileLoop yourself',
    });
  }
  return t.dataSync()[0]!;
}
