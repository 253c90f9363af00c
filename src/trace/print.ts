/**
 * x.print() inside a compiled function: recorded as a `print` node that prints at run time (as
 * tf.print does in a TF graph), instead of reading data the trace does not have. tf.print(x)
 * reads the data through x.toString(), which cannot be told apart from other string uses: it
 * stays a trace error whose help points here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Value } from '../../ir/graph.js';
import { userLocation } from './source_loc.js';

interface PrintRecorder {
  readonly graph: Graph;
  valueOf(dataId: object, kernel: string): Value;
}

/** Patches Tensor.prototype.print for the duration of one trace; returns the restore function. */
export function installPrint(rec: PrintRecorder): () => void {
  const proto = tf.Tensor.prototype as { print(verbose?: boolean): void };
  const original = proto.print;
  proto.print = function (this: tf.Tensor, verbose = false): void {
    rec.graph.addNode('print', [rec.valueOf(this.dataId, 'print')], { verbose: Boolean(verbose) }, userLocation());
  };
  return () => { proto.print = original; };
}
