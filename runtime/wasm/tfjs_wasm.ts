/**
 * tfjs-backend-wasm's internals that the direct executor calls: the backend instance, its
 * emscripten module (heap, malloc, the compiled C kernels in `asm`) and the enums its kernels
 * take. tfjs-backend-wasm is pinned (4.22.0); wasmBackend() checks that what is used here exists,
 * and the Session falls back to the tensor executor where it does not.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { FusedActivation } from '../../ir/ops.js';
import { isFusedActivation } from '../../ir/ops.js';
import { engineInternals } from '../backends/tfjs_engine.js';
import type { TfDtype } from '../tensor_data.js';

export type Dt = TfDtype;
/** CppDType of tfjs-backend-wasm (kernels/types.ts). */
export const CPP: Record<Dt, number> = { float32: 0, int32: 1, bool: 2 };
export const BYTES: Record<Dt, number> = { float32: 4, int32: 4, bool: 1 };
/**
 * FusableActivation of tfjs-backend-wasm (kernels/types.ts) for each fused activation the direct
 * calls and the fast path pass to _FusedMatMul / FusedConv2D; prelu (3) is left to the tfjs
 * kernel: its weights are an operand these calls do not hand over.
 */
export const ACTIVATION: Readonly<Record<FusedActivation, number | undefined>> = { linear: 0, relu: 1, relu6: 2, prelu: undefined, leakyrelu: 4, sigmoid: 5, elu: 6 };

/** tfjs-backend-wasm's FusableActivation of a fused op's `activation` attr, or undefined where no direct call takes it. */
export function wasmActivation(activation: string): number | undefined {
  return isFusedActivation(activation) ? ACTIVATION[activation] : undefined;
}

interface TensorRecord { id: number; memoryOffset: number }
export type CFunc = (...args: number[]) => void;
interface WasmModule {
  tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, offset: number): void };
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  asm: Record<string, CFunc | undefined>;
}
export interface WasmBackendLike {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): TensorRecord | undefined };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

const REQUIRED = ['Add', '_FusedMatMul', 'Sigmoid', 'Softmax', 'Sum', 'Transpose', 'malloc', 'free'];

/** tfjs's wasm backend instance when it is initialised and has the internals the direct executor calls. */
export function wasmBackend(): WasmBackendLike | undefined {
  const be = engineInternals().registry['wasm'] as unknown as Partial<WasmBackendLike> | undefined;
  const asm = be?.wasm?.asm;
  if (!be || !asm || typeof be.wasm?.tfjs?.disposeData !== 'function' || typeof be.wasm.tfjs.registerTensor !== 'function' || typeof be.makeOutput !== 'function' || typeof be.incRef !== 'function' || !be.dataIdMap) return undefined;
  return REQUIRED.every((k) => typeof asm[k] === 'function') ? be as WasmBackendLike : undefined;
}
