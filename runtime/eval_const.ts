/**
 * Evaluates one node on constant inputs, for constant folding (ir/ passes get this function
 * handed in; ir/ itself never imports tfjs). It runs the node's OP_KERNELS entry on tfjs's
 * cpu backend, so a folded value is exactly what the cpu runtime computes.
 *
 * Backend: the kernels are public tfjs ops, which run on tfjs's *global* backend, so the
 * evaluation switches the global backend to 'cpu' and restores the previous one in a
 * `finally`, all synchronously (no other code runs in between). `tf.setBackend` is async in
 * signature, but its body is synchronous for a backend that needs no asynchronous
 * initialisation (cpu) and for one already initialised (the one being restored); tfjs's own
 * engine relies on the same property. Both switches are checked.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Dim } from '../ir/dim.js';
import { dimToString, isStatic } from '../ir/dim.js';
import type { DType, TypedArray } from '../ir/dtype.js';
import type { Attrs, OpName } from '../ir/ops.js';
import { AttrReader, inferTypes, opDef } from '../ir/ops.js';
import type { TensorData } from '../ir/tensor_data.js';
import type { ExecCtx } from './kernel_types.js';
import { isUnsupported, OP_KERNELS, tensorFromData, tfDtype } from './op_kernels.js';

const staticDim = (op: OpName) => (d: Dim): number => {
  if (isStatic(d)) return d;
  throw new Error(`cannot fold ${op}: its attrs use the symbolic dim ${dimToString(d)}`);
};

/** Computes `op` on constant inputs; throws for random and stateful ops and symbolic attrs. */
export function evalNodeConst(op: OpName, inputs: TensorData[], attrs: Attrs): TensorData[] {
  const effect = opDef(op).effect;
  if (effect !== 'pure') throw new Error(`cannot fold ${op}: it is ${effect}, only pure ops can be evaluated at compile time`);
  const kernel = OP_KERNELS[op];
  if (isUnsupported(kernel)) throw new Error(`cannot fold ${op}: ${kernel.unsupported}`);
  const outTypes = inferTypes(op, inputs.map((x) => ({ dtype: x.dtype, shape: x.shape })), attrs);
  const dim = staticDim(op);
  const ctx: ExecCtx = {
    backend: 'cpu',
    dim,
    dims: (ds) => ds.map(dim),
    seedFor: () => { throw new Error(`cannot fold ${op}: it draws random numbers`); },
  };
  return onCpuBackend(() => {
    const outs = tf.tidy(() => {
      const r = kernel(inputs.map(tensorFromData), new AttrReader(op, attrs), ctx);
      return Array.isArray(r) ? r : [r];
    });
    try {
      if (outs.length !== outTypes.length) throw new Error(`${op}: kernel gave ${outs.length} outputs, the op has ${outTypes.length}`);
      return outs.map((t, i) => {
        const want = outTypes[i]!.dtype;
        if (t.dtype !== tfDtype(want)) {
          throw new Error(`cannot fold ${op}: tfjs computes ${t.dtype} where the IR types the result ${want}`);
        }
        return { dtype: want, shape: [...t.shape], data: convert(t.dataSync() as ArrayLike<number>, want) };
      });
    } finally {
      tf.dispose(outs);
    }
  });
}

/** A fresh typed array of the IR dtype (tfjs may hand back its own buffer, or a Float32Array for int32). */
function convert(values: ArrayLike<number>, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'bool': return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
  }
}

/** Runs `f` with tfjs's global backend set to 'cpu', restoring the previous backend after. */
function onCpuBackend<T>(f: () => T): T {
  const engine = tf.engine();
  const prev: string | undefined | null = engine.backendName;
  if (prev === 'cpu') return f();
  if (prev && engine.registry[prev] === undefined) {
    throw new Error(`cannot evaluate on cpu while tfjs backend '${prev}' is still initialising: await tf.ready() first`);
  }
  void tf.setBackend('cpu');
  if (engine.backendName !== 'cpu') throw new Error('could not switch tfjs to the cpu backend');
  try {
    return f();
  } finally {
    if (prev) {
      void tf.setBackend(prev);
    } else {
      // No backend had been chosen yet: put the engine back in that state, so tfjs still
      // picks its default lazily (backendInstance is private in the typings).
      Object.assign(engine, { backendName: prev, backendInstance: null });
    }
  }
}
