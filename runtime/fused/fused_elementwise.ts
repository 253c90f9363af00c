/**
 * The runtime of `fused_elementwise`: one kernel per backend, chosen by measurement
 * (`npx tsx bench/lowering_cliffs.ts wasm cpu`, 2 cores; ms, median of 9):
 *
 *   program                                  cpu chain → generated JS    wasm chain vs generated JS
 *   gelu, tanh form (11 ops), 4M elements    515 → 126 (4.1×)            82 vs 130
 *   swish x·sigmoid(x), 4M                   128 → 51 (2.5×)             7.7 vs 56
 *   relu(x·s + b), s and b per channel, 4M   146 → 36 (4.0×)             5.2 vs 42
 *   (x − m)·r + b, per channel, 4M           140 → 17 (8.1×)             5.4 vs 23
 *
 *   cpu     generated JavaScript over the cpu backend's Float32Arrays (js_kernel.ts): bit-exact
 *           with the op-by-op chain, one pass over memory instead of one per op.
 *   webgpu  one generated WGSL shader (wgsl_program.ts) through the backend's runWebGPUProgram
 *           (checked on SwiftShader; not timed, no hardware adapter here).
 *   wasm    the op-by-op chain of wasm kernels: they are SIMD (XNNPACK), the generated loop is
 *           scalar JavaScript over the heap and measured 1.6–8× slower (table above).
 *   other   (tfjs-node) the op-by-op chain.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Expr, ExprOp, ExprProgram } from '../../ir/fused_expr.js';
import { parseExpr } from '../../ir/fused_expr.js';
import type { FusedElementwiseImpl } from '../../ir/backend_traits.js';
import { BACKEND_TRAITS } from '../backends/traits.js';
import type { Attrs } from '../../ir/ops.js';
import type { ExecCtx, OpKernel } from '../kernels/kernel_types.js';
import type { Access } from './js_kernel.js';
import { accessFor, jsKernel } from './js_kernel.js';
import { fusedWebGPUProgram } from './wgsl_program.js';

/** Computes one op of the program with the runtime's own kernel for it (the op-by-op chain). */
export type ChainOp = (op: ExprOp, ins: tf.Tensor[], attrs: Attrs) => tf.Tensor;

/** Which implementation runs a program on a backend (BackendTraits.fusedElementwise). */
export type FusedImpl = FusedElementwiseImpl;

/**
 * The choice per tfjs backend, read from the backends' traits (runtime/backends/traits.ts), which
 * also tell fuse-elementwise where to fuse; a backend not listed runs the chain.
 */
export const DEFAULT_FUSED_IMPL: Readonly<Record<string, FusedImpl>> =
  Object.fromEntries(Object.values(BACKEND_TRAITS).map((t) => [t.name, t.fusedElementwise]));

/** The output shape: the program's broadcast, like the op's shape inference. */
export function programShape(p: ExprProgram, shapes: readonly number[][]): number[] {
  const temps: number[][] = [];
  const shapeOf = (e: Expr): number[] => {
    switch (e.kind) {
      case 'in': return shapes[e.index]!;
      case 'tmp': return temps[e.index]!;
      case 'lit': return [];
      case 'op': return e.args.map(shapeOf).reduce((a, b) => tf.backend_util.assertAndGetBroadcastShape(a, b));
    }
  };
  for (const t of p.temps) temps.push(shapeOf(t));
  return shapeOf(p.result);
}

/** The program evaluated op by op with `chainOp` (inside the caller's tf.tidy). */
export function runChain(p: ExprProgram, ins: readonly tf.Tensor[], chainOp: ChainOp, outShape: number[]): tf.Tensor {
  const temps: tf.Tensor[] = [];
  const ev = (e: Expr): tf.Tensor => {
    switch (e.kind) {
      case 'in': return ins[e.index]!;
      case 'tmp': return temps[e.index]!;
      case 'lit': return tf.scalar(e.value, 'float32');
      case 'op': return chainOp(e.op, e.args.map(ev), e.attrs);
    }
  };
  for (const t of p.temps) temps.push(ev(t));
  const r = ev(p.result);
  return tf.util.arraysEqual(r.shape, outShape) ? r : tf.broadcastTo(r, outShape);
}

interface HeapBackend {
  readSync(dataId: object): unknown;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** Operands as the generated loop reads them (broadcasts other than scalar / suffix materialised). */
function prepare(ins: readonly tf.Tensor[], outShape: number[]): { tensors: tf.Tensor[]; access: Access[]; mods: number[] } {
  const tensors: tf.Tensor[] = [], access: Access[] = [], mods: number[] = [];
  for (const t of ins) {
    const a = accessFor(t.shape, outShape);
    tensors.push(a === undefined ? tf.broadcastTo(t, outShape) : t);
    access.push(a ?? 'full');
    mods.push(t.size);
  }
  return { tensors, access, mods };
}

/** The generated JavaScript loop over the cpu backend's arrays. */
export function runJsCpu(expr: string, ins: readonly tf.Tensor[], outShape: number[]): tf.Tensor {
  const { tensors, access, mods } = prepare(ins, outShape);
  const backend = tf.backend() as unknown as HeapBackend;
  const data = tensors.map((t) => backend.readSync(t.dataId) as Float32Array);
  const n = tf.util.sizeFromShape(outShape);
  const out = new Float32Array(n);
  jsKernel(expr, access)(n, out, data, mods);
  return tf.tensor(out, outShape, 'float32');
}

/** The generated JavaScript loop over the wasm heap (no copies in or out). */
export function runJsWasm(expr: string, ins: readonly tf.Tensor[], outShape: number[]): tf.Tensor {
  const { tensors, access, mods } = prepare(ins, outShape);
  const backend = tf.backend() as unknown as HeapBackend;
  // Allocate first: a malloc may grow the heap, which detaches earlier views.
  const info = backend.makeOutput(outShape, 'float32');
  const out = backend.typedArrayFromHeap(info);
  const data = tensors.map((t) => backend.typedArrayFromHeap(t));
  jsKernel(expr, access)(out.length, out, data, mods);
  return tf.engine().makeTensorFromTensorInfo(info);
}

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: 'float32'): tf.TensorInfo;
}

/** Operand ranks the WebGPU program helpers support (tfjs-backend-webgpu handles up to 6). */
const WEBGPU_MAX_RANK = 6;

export function runWebGPU(expr: string, inputs: number, ins: readonly tf.Tensor[], outShape: number[]): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  const program = fusedWebGPUProgram(expr, inputs, outShape);
  const info = backend.runWebGPUProgram(program, [...ins], 'float32');
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * The OpKernel of fused_elementwise; `chainOp` runs one op of the program unfused. `impl`
 * picks the implementation per backend (benchmarks pass their own to compare).
 */
export function fusedElementwiseKernel(chainOp: ChainOp, impl: Readonly<Record<string, FusedImpl>> = DEFAULT_FUSED_IMPL): OpKernel {
  return (ins: tf.Tensor[], a, ctx: ExecCtx) => {
    const expr = a.str('expr');
    const { program } = parseExpr(expr);
    const outShape = programShape(program, ins.map((t) => t.shape));
    if ((impl[ctx.backend] ?? 'chain') === 'chain' || ins.some((t) => t.dtype !== 'float32')) return runChain(program, ins, chainOp, outShape);
    switch (ctx.backend) {
      case 'cpu': return runJsCpu(expr, ins, outShape);
      case 'wasm': return runJsWasm(expr, ins, outShape);
      case 'webgpu':
        if (outShape.length <= WEBGPU_MAX_RANK) return runWebGPU(expr, ins.length, ins, outShape);
        return runChain(program, ins, chainOp, outShape);
      default: return runChain(program, ins, chainOp, outShape);
    }
  };
}
