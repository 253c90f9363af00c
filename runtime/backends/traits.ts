/**
 * Each backend's traits (ir/backend_traits.ts): the one place that says what a tfjs backend
 * fuses, how its fused relu treats NaN and which lowerings pay on it. The passes read these
 * through the pass context (src/optimize.ts hands them in); the runtime reads the same values
 * (fused_elementwise's implementation per backend), so the optimizer and the kernels cannot
 * disagree. A new backend is a compile error here until its traits are written.
 *
 * Measured on tfjs 4.22, Node 20, 2 cores:
 * - fusedElementwise: `npx tsx bench/lowering_cliffs.ts wasm cpu` (see runtime/fused/fused_elementwise.ts):
 *   the generated JavaScript loop is 2.5–8× faster than the op chain on cpu, 1.6–8× slower than
 *   wasm's SIMD kernels; webgpu runs one generated WGSL shader (checked on SwiftShader, not timed);
 *   tensorflow (tfjs-node) runs the chain.
 * - fusedReluKeepsNaN: cpu and webgpu's fused relu keeps NaN; tfjs-backend-wasm's (XNNPACK's
 *   clamp) turns it into 0 (test/ir/passes/fuse_matmul_bias_act.test.ts checks that it still does).
 * - lowerings: the table in ir/passes/lower_for_backend.ts; webgpu and tensorflow were not measured.
 * - batchScanInputs: a rolled tfjs-layers LSTM (units 32, 16 inputs, T=64, batch 32), best of 55
 *   runs, the input projection per step against one matmul before the scan (scratch/cfir_ab.ts):
 *   cpu 285 → 216 ms, wasm 6.6 → 9.0 ms (XNNPACK's small matmuls are cheap; the big one and its
 *   slices cost more); webgpu and tensorflow were not measured.
 */
import type { BackendTraits } from '../../ir/backend_traits.js';
import type { ConcreteBackendName } from './names.js';

export const BACKEND_TRAITS: Readonly<Record<ConcreteBackendName, BackendTraits>> = {
  cpu: { name: 'cpu', fusedElementwise: 'generated', fusedReluKeepsNaN: true, lowerings: ['maximum-zero-relu', 'pow-two-square'], batchScanInputs: true },
  webgpu: { name: 'webgpu', fusedElementwise: 'generated', fusedReluKeepsNaN: true, lowerings: [], batchScanInputs: false },
  wasm: { name: 'wasm', fusedElementwise: 'chain', fusedReluKeepsNaN: false, lowerings: ['matmul-transposed', 'maximum-zero-relu', 'pow-two-square'], batchScanInputs: false },
  tensorflow: { name: 'tensorflow', fusedElementwise: 'chain', fusedReluKeepsNaN: false, lowerings: [], batchScanInputs: false },
  // ONNX Runtime fuses on its own: graphs reach it as ONNX op chains (Gemm + Relu, not graphc's
  // fused programs); its Relu keeps NaN (Max(x, 0) with NaN propagation).
  onnxruntime: { name: 'onnxruntime', fusedElementwise: 'chain', fusedReluKeepsNaN: true, lowerings: [], batchScanInputs: false },
};

/** The traits of a tfjs backend by name; undefined for a name graphc does not know ('auto' included). */
export function backendTraits(name: string | undefined): BackendTraits | undefined {
  return name !== undefined && Object.prototype.hasOwnProperty.call(BACKEND_TRAITS, name) ? BACKEND_TRAITS[name as ConcreteBackendName] : undefined;
}
