/**
 * The passes graphc knows, by name, and the default pipeline in order. A new pass is one
 * line in DEFAULT_PASSES (or in EXTRA_PASSES when it should run only when asked for).
 */
import { GcError, Codes } from '../errors.js';
import { controlFlow } from './control_flow.js';
import { cse } from './cse.js';
import { dcePass } from './dce.js';
import { foldBatchNorm } from './fold_batch_norm.js';
import { foldConstants } from './fold_constants.js';
import { forwardIdentity } from './forward_identity.js';
import { freezeVariables } from './freeze_variables.js';
import { fuseElementwise } from './fuse_elementwise.js';
import { fuseMatmulBiasAct } from './fuse_matmul_bias_act.js';
import { lowerForBackend } from './lower_for_backend.js';
import type { Pass } from './pass.js';
import { simplify } from './simplify.js';

/** The default pipeline, run in this order, repeated to a fixed point. */
export const DEFAULT_PASSES: Pass[] = [
  foldConstants,
  simplify,
  controlFlow,
  cse,
  dcePass,
  foldBatchNorm,
  lowerForBackend,
  fuseMatmulBiasAct,
  fuseElementwise,
];

/** Passes that exist but are not in the default pipeline. */
export const EXTRA_PASSES: Pass[] = [
  { name: 'forward-identity', run: (g) => forwardIdentity(g) },
  freezeVariables,
];

/** Every known pass by name. */
export function passByName(name: string): Pass {
  const p = [...DEFAULT_PASSES, ...EXTRA_PASSES].find((q) => q.name === name);
  if (!p) {
    throw new GcError({ code: Codes.pass, message: `unknown pass '${name}'`,
      notes: [`passes: ${[...DEFAULT_PASSES, ...EXTRA_PASSES].map((q) => q.name).join(', ')}`] });
  }
  return p;
}

/** The passes for a list of names (in the given order), or the default pipeline. */
export function resolvePasses(names?: readonly string[]): Pass[] {
  return names ? names.map(passByName) : [...DEFAULT_PASSES];
}
