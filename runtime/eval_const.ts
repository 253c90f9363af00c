/**
 * Evaluates one node on constant inputs, for constant folding (ir/ passes get this function
 * handed in; ir/ itself never imports tfjs). It runs the node's OP_KERNELS entry on the engine
 * that will run the graph, so a folded value is exactly what running the node computes there:
 * a program gives the same bits whether its inputs are fed or captured as constants (int32
 * division by zero, casts of NaN and of out-of-range floats, the order of a long sum differ
 * between tfjs-cpu and tfjs-wasm).
 *
 *   backend              evaluated on
 *   cpu, unknown         tfjs-cpu (ONNX export: ONNX leaves these cases undefined; cpu is the reference)
 *   wasm, tensorflow     that backend, which must be initialised (otherwise nothing is folded:
 *                        compile folds again once the session's backend is ready)
 *   webgpu               tfjs-cpu: webgpu reads are asynchronous and folding is not (see FOLD_ENGINE)
 *   onnxruntime          tfjs-cpu, as for an ONNX export
 *
 * Backend: the kernels are public tfjs ops, which run on tfjs's *global* backend, so the
 * evaluation switches the global backend and restores the previous one in a `finally`, all
 * synchronously (no other code runs in between). `tf.setBackend` is async in signature, but
 * its body is synchronous for a backend that needs no asynchronous initialisation (cpu) and
 * for one already initialised; tfjs's own engine relies on the same property. Both switches
 * are checked.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Dim } from '../ir/dim.js';
import { dimToString, isStatic } from '../ir/dim.js';
import type { DType, TypedArray } from '../ir/dtype.js';
import type { Attrs, OpName } from '../ir/ops.js';
import { AttrReader, inferTypes, opDef } from '../ir/ops.js';
import type { TensorData } from '../ir/tensor_data.js';
import type { ExecCtx } from './kernels/kernel_types.js';
import { isUnsupported, OP_KERNELS } from './kernels/op_kernels.js';
import { tensorFromData, tfDtype } from './tensor_data.js';

const staticDim = (op: OpName) => (d: Dim): number => {
  if (isStatic(d)) return d;
  throw new Error(`cannot fold ${op}: its attrs use the symbolic dim ${dimToString(d)}`);
};

/** The tfjs backend whose kernels fold constants for a graph that runs on `backend`. */
export const FOLD_ENGINE: Readonly<Record<string, string>> = { cpu: 'cpu', wasm: 'wasm', tensorflow: 'tensorflow', webgpu: 'cpu', onnxruntime: 'cpu' };

/** The engine that folds for `backend` (cpu when unknown). */
export function foldEngine(backend: string | undefined): string {
  return backend === undefined ? 'cpu' : FOLD_ENGINE[backend] ?? 'cpu';
}

/** Whether constants can be folded for `backend` now (its folding engine is initialised). */
export function canFoldFor(backend: string | undefined): boolean {
  const e = foldEngine(backend);
  return e === 'cpu' || tf.engine().registry[e] !== undefined;
}

/**
 * Computes `op` on constant inputs as the engine of `backend` does (see the table above);
 * throws for random and stateful ops, symbolic attrs, and an engine not initialised yet.
 */
export function evalNodeConst(op: OpName, inputs: TensorData[], attrs: Attrs, backend?: string): TensorData[] {
  const effect = opDef(op).effect;
  if (effect !== 'pure') throw new Error(`cannot fold ${op}: it is ${effect}, only pure ops can be evaluated at compile time`);
  const kernel = OP_KERNELS[op];
  if (isUnsupported(kernel)) throw new Error(`cannot fold ${op}: ${kernel.unsupported}`);
  const outTypes = inferTypes(op, inputs.map((x) => ({ dtype: x.dtype, shape: x.shape })), attrs);
  const dim = staticDim(op);
  const engineName = foldEngine(backend);
  const ctx: ExecCtx = {
    backend: engineName,
    dim,
    dims: (ds) => ds.map(dim),
    seedFor: () => { throw new Error(`cannot fold ${op}: it draws random numbers`); },
  };
  return onBackend(engineName, () => {
    const outs = tf.tidy(() => {
      const r = kernel(inputs.map((x) => tensorFromData(x)), new AttrReader(op, attrs), ctx);
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

/** Runs `f` with tfjs's global backend set to `name`, restoring the previous backend after. */
function onBackend<T>(name: string, f: () => T): T {
  const engine = tf.engine();
  const prev: string | undefined | null = engine.backendName;
  if (prev === name) return f();
  if (name !== 'cpu' && engine.registry[name] === undefined) {
    throw new Error(`cannot fold for ${name}: the backend is not initialised yet (await tf.setBackend('${name}') first)`);
  }
  if (prev && engine.registry[prev] === undefined) {
    throw new Error(`cannot evaluate on ${name} while tfjs backend '${prev}' is still initialising: await tf.ready() first`);
  }
  void tf.setBackend(name);
  if (engine.backendName !== name) throw new Error(`could not switch tfjs to the ${name} backend`);
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
