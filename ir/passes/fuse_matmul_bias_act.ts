/**
 * fuse-matmul-bias-act: a matmul or convolution followed by a bias add and an activation
 * becomes one fused op, which tfjs runs as one kernel (_FusedMatMul, FusedConv2D,
 * FusedDepthwiseConv2D):
 *
 *   add(matmul(x, w), b)            → fused_matmul(x, w, b)        {has_bias, activation linear}
 *   relu(fused_matmul(x, w, b))     → fused_matmul(x, w, b)        {activation relu}
 *   prelu(conv2d(x, f), α)          → fused_conv2d(x, f, α)        {activation prelu}
 *
 * Activations: relu, relu6, elu, sigmoid, leaky_relu (its alpha), prelu (its weights).
 *
 * Conditions: float32; the matmul/conv result has no other use (nor is named or an output);
 * a bias is added to it (either operand order), has shape [C] with C the static channel
 * count (the last axis; tfjs-backend-wasm's fused kernels take a rank-1 bias of exactly C),
 * and the op has no bias yet and a linear activation; an activation is applied to an op with a
 * linear activation; prelu weights are [C] too. One step per rewrite; the pass repeats until
 * nothing matches, so bias then activation both fuse.
 */
import { isStatic } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import { typeToString } from '../graph.js';
import type { Attrs, OpName } from '../ops.js';
import type { Pass } from './pass.js';
import { insertBefore, replaceNode } from './rewrite.js';

/** The unfused op → its fused form (a fused op is its own). */
const FUSED_FORM: Partial<Record<OpName, OpName>> = {
  matmul: 'fused_matmul', conv2d: 'fused_conv2d', depthwise_conv2d: 'fused_depthwise_conv2d',
  fused_matmul: 'fused_matmul', fused_conv2d: 'fused_conv2d', fused_depthwise_conv2d: 'fused_depthwise_conv2d',
};

/** IR activation op → the fused ops' activation attr. */
const ACTIVATIONS: Partial<Record<OpName, string>> = {
  relu: 'relu', relu6: 'relu6', elu: 'elu', sigmoid: 'sigmoid', leaky_relu: 'leakyrelu', prelu: 'prelu',
};

type Match = { readonly rewrite: (g: Graph) => Node } | { readonly why: string };

/** The fused attrs of `op` (defaults for an unfused one). */
function fusedAttrs(op: Node): Attrs {
  return FUSED_FORM[op.op] === op.op ? op.attrs : { ...op.attrs, has_bias: false, activation: 'linear', alpha: 0.2 };
}

/** Whether `v` is rank-1 of the static channel count `c`. */
const isChannelVector = (v: Value, c: number): boolean => v.dtype === 'float32' && v.shape.length === 1 && v.shape[0] === c;

/** What fusing the single user of `op`'s result would do, or why it does not. */
export function matchFusion(g: Graph, op: Node): Match {
  const fused = FUSED_FORM[op.op];
  if (!fused) return { why: `${op.op} has no fused form` };
  const y = op.outputs[0]!;
  if (y.dtype !== 'float32') return { why: `the result is ${y.dtype}` };
  if (y.uses.length !== 1 || g.isOutput(y) || y.name !== undefined) return { why: 'the result has other uses (or is named or an output)' };
  const c = y.shape[y.shape.length - 1]!;
  if (!isStatic(c)) return { why: 'the channel count is symbolic' };
  const user = y.uses[0]!.node;
  const a = fusedAttrs(op);
  if (a['activation'] !== 'linear') return { why: `${op.op} already applies ${String(a['activation'])}` };
  const base = op.inputs.slice(0, 2);

  if (user.op === 'add') {
    if (a['has_bias'] === true) return { why: `${op.op} already has a bias` };
    const bias = user.inputs[user.inputs[0] === y ? 1 : 0]!;
    if (bias === y) return { why: 'the add adds the result to itself' };
    if (!isChannelVector(bias, c)) return { why: `the bias ${typeToString(bias.type)} is not f32[${c}]` };
    return { rewrite: (gr) => gr.addNode(fused, [...base, bias], { ...a, has_bias: true }, op.loc) };
  }
  const act = ACTIVATIONS[user.op];
  if (act === undefined) return { why: `its user ${user.op} is neither an add nor a fusable activation` };
  if (user.inputs[0] !== y) return { why: `the result is not the activation's x` };
  const extra = op.inputs.slice(2);
  if (act === 'prelu') {
    const alpha = user.inputs[1]!;
    if (!isChannelVector(alpha, c)) return { why: `the prelu weights ${typeToString(alpha.type)} are not f32[${c}]` };
    extra.push(alpha);
  }
  const alpha = user.op === 'leaky_relu' ? (user.attrs['alpha'] as number) : (a['alpha'] as number);
  return { rewrite: (gr) => gr.addNode(fused, [...base, ...extra], { ...a, activation: act, alpha }, op.loc) };
}

function fuseAt(g: Graph, op: Node): boolean {
  const m = matchFusion(g, op);
  if ('why' in m) return false;
  const user = op.outputs[0]!.uses[0]!.node;
  // The fused node goes where the user was: every operand (bias, prelu weights) exists there.
  const nn = insertBefore(g, user, () => m.rewrite(g));
  if (!replaceNode(g, user, nn.outputs)) {
    g.removeNode(nn);
    return false;
  }
  g.removeNode(op);
  return true;
}

export function fuseMatmulBiasActIn(g: Graph): boolean {
  let changed = false;
  for (let again = true; again;) {
    again = false;
    for (const n of [...g.nodes]) {
      if (FUSED_FORM[n.op] && g.hasNode(n) && fuseAt(g, n)) again = changed = true;
    }
  }
  return changed;
}

export const fuseMatmulBiasAct: Pass = { name: 'fuse-matmul-bias-act', run: (g) => fuseMatmulBiasActIn(g) };
