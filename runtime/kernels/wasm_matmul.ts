/** matmul / fused_matmul on tfjs-backend-wasm past tfjs's op layer (the tensor executor's fast path). */
import * as tf from '@tensorflow/tfjs-core';
import { directCallsAllowed, engineInternals } from '../backends/tfjs_engine.js';
import { wasmActivation } from '../wasm/tfjs_wasm.js';
import type { ExecCtx } from './kernel_types.js';

let wasmFusedMatMul: tf.KernelConfig | undefined | null = null;

/**
 * matmul / fused_matmul on wasm straight through the _FusedMatMul kernel function: the
 * operands are handed over as rank-3 views ({dataId, shape}, no tensors made), the result is
 * registered with its final shape. tf.fused.matMul would wrap it in a custom gradient,
 * convert and reshape every operand (a third of an MLP predict at batch 1). Returns undefined
 * where the fast path does not apply (gradients recorded, profiling, other ranks or dtypes).
 */
export function wasmMatMul(x: tf.Tensor, w: tf.Tensor, ta: boolean, tb: boolean, bias: tf.Tensor | undefined,
  activation: string, alpha: number | undefined, ctx: ExecCtx): tf.Tensor | undefined {
  if (ctx.backend !== 'wasm') return undefined;
  const r = x.rank;
  if ((r !== 2 && r !== 3) || w.rank !== r || x.dtype !== 'float32' || w.dtype !== 'float32') return undefined;
  if (r === 3 && x.shape[0] !== w.shape[0]) return undefined;
  if (bias !== undefined && (bias.rank !== 1 || bias.dtype !== 'float32' || ta || tb)) return undefined;
  if (wasmActivation(activation) === undefined) return undefined;
  if (!directCallsAllowed()) return undefined;
  const engine = engineInternals();
  if (wasmFusedMatMul === null) wasmFusedMatMul = tf.getKernel('_FusedMatMul', 'wasm');
  if (wasmFusedMatMul === undefined) return undefined;
  const o = r - 2;
  const [m, k] = ta ? [x.shape[o + 1]!, x.shape[o]!] : [x.shape[o]!, x.shape[o + 1]!];
  const [k2, n] = tb ? [w.shape[o + 1]!, w.shape[o]!] : [w.shape[o]!, w.shape[o + 1]!];
  if (k !== k2) return undefined;
  if (bias !== undefined && bias.size !== n) return undefined;
  const view = (t: tf.Tensor): tf.TensorInfo => (r === 3 ? t : { dataId: t.dataId, shape: [1, t.shape[0]!, t.shape[1]!], dtype: 'float32' });
  const inputs: Record<string, tf.TensorInfo> = { a: view(x), b: view(w) };
  if (bias !== undefined) inputs['bias'] = bias;
  const out = wasmFusedMatMul.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: engine.backend as never,
    attrs: { transposeA: ta, transposeB: tb, activation, leakyreluAlpha: alpha ?? 0 } }) as tf.TensorInfo;
  if (r === 3) return engine.makeTensorFromTensorInfo(out, engine.backend);
  return engine.makeTensorFromTensorInfo({ dataId: out.dataId, shape: [m, n], dtype: 'float32' }, engine.backend);
}
