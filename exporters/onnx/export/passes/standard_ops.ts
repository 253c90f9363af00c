/**
 * Standard ONNX ops for what tfjs computes in pieces: the exporter's rules write each IR op
 * by itself, and these passes recognise the exact patterns that one ONNX op of the model's
 * opset computes (ctx.opset; none without it).
 */
import { fuseActivations } from './activations.js';
import { fuseLayerNorm } from './layer_norm.js';
import { dropRedundantExpands } from './shape_chains.js';
import type { OnnxPass } from './pass.js';

/** The standard-op passes, in order (run among the exporter's passes). */
export const STANDARD_OP_PASSES: readonly OnnxPass[] = [fuseLayerNorm, fuseActivations, dropRedundantExpands];
