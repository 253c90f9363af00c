/** The contract between the Session and the per-op bindings to tfjs. */
import type * as tf from '@tensorflow/tfjs-core';
import type { Dim } from '../../ir/dim.js';
import type { AttrReader } from '../../ir/ops.js';

export interface ExecCtx {
  /** The tfjs backend the kernels run on (`tf.getBackend()` while they run): kernels with per-backend code read it. */
  readonly backend: string;
  /** Concrete value of a (possibly symbolic) dim for this run. */
  dim(d: Dim): number;
  dims(ds: readonly Dim[]): number[];
  /**
   * Seed for a random op in this run: undefined means "fresh randomness" (tfjs draws its own),
   * a number makes the draw reproducible (session seeded or op seeded).
   */
  seedFor(opSeed: number): number | undefined;
}

/**
 * Computes one IR node with tfjs ops on the session's backend. Called inside tf.tidy:
 * intermediates are freed, returned tensors are kept. Multi-output ops return an array.
 */
export type OpKernel = (ins: tf.Tensor[], a: AttrReader, ctx: ExecCtx) => tf.Tensor | tf.Tensor[];

/** An op the runtime cannot execute, with the reason. */
export interface Unsupported {
  readonly unsupported: string;
}
