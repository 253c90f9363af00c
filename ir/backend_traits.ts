/**
 * What a backend does well, as the passes need to know it: the one description of a backend
 * that backend-aware passes read (through PassContext.backend), instead of backend names.
 * The interface lives in ir/ (passes read it; ir/ imports no runtime); the values per backend
 * are owned by the runtime that measured them (runtime/backends/traits.ts), and the caller
 * (src/optimize.ts) hands them in. A backend the caller knows nothing about (ONNX export,
 * gc.optimize without a backend) has no traits: backend-aware passes then change nothing.
 */
import type { LoweringName } from './passes/lower_for_backend.js';

/**
 * How `fused_elementwise` runs: 'generated', one generated kernel that measured faster than
 * the op-by-op chain (so fuse-elementwise groups chains there); 'chain', the op-by-op kernels
 * (the pass leaves chains alone).
 */
export type FusedElementwiseImpl = 'generated' | 'chain';

export interface BackendTraits {
  /** The tfjs backend name ('cpu', 'wasm', …), for messages and reports only: decisions read the traits below. */
  readonly name: string;
  /** How fused_elementwise runs here (fuse-elementwise fuses only where it is 'generated'). */
  readonly fusedElementwise: FusedElementwiseImpl;
  /**
   * Whether the fused matmul/conv kernels' relu keeps NaN, as a separate relu does
   * (fuse-matmul-bias-act may then point relu's gradient steps at relu(y) so that relu fuses).
   */
  readonly fusedReluKeepsNaN: boolean;
  /** The lower-for-backend rules whose lowered form measured faster here. */
  readonly lowerings: readonly LoweringName[];
  /**
   * Whether computation on a scan's slices alone (an RNN's input projection) pays as one op over
   * every step before the loop (the control-flow pass then hoists it), rather than per step.
   */
  readonly batchScanInputs: boolean;
}
