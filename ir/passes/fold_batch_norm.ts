/**
 * fold-batch-norm: an inference batch norm right after a matmul or convolution becomes part of
 * that op's weights and bias.
 *
 *   y = batch_norm(op(x, W) [+ b], mean, variance, offset, scale)     (epsilon ε)
 *     = op(x, W·s) + (b − mean)·s + offset        with s = scale / sqrt(variance + ε)
 *
 * per output channel (the last axis). The result is the fused form of the op with a bias and
 * a linear activation: fused_matmul, fused_conv2d, fused_depthwise_conv2d; a later
 * fuse-matmul-bias-act can add the activation that follows.
 *
 * Conditions (each failure has a reason, see `explainFoldBatchNorm`):
 * - the batch norm's x is the result of matmul / conv2d / depthwise_conv2d or their fused
 *   forms with activation 'linear', possibly through reshapes that keep the last axis (tfjs's
 *   batchNorm works on 4-D, a layers Dense reshapes around its matmul), and nothing else uses
 *   those results (nor are they named or outputs: the unfolded value would still be needed);
 * - the weights (matmul: operand 1) and the bias, if any, are `const`s, float32;
 * - mean, variance, offset and scale are float32 constants that are per-channel: one value, or
 *   C values on the last axis with every other dim 1 (C = the op's static output channels).
 *
 * Graphs traced from tfjs-layers read weights and batch-norm statistics as variables (graph
 * state): run freeze-variables first where that is sound (see freeze_variables.ts).
 *
 * The new constants are computed here in double and rounded to float32 once.
 */
import { isStatic } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import type { Attrs, FusedOp } from '../ops.js';
import { fusedFormOf, opDef } from '../ops.js';
import type { TensorData } from '../tensor_data.js';
import type { Pass } from './pass.js';
import { constData, replaceBlocker, replaceValue } from './rewrite.js';

type Plan = { readonly op: Node; readonly fused: FusedOp; readonly weights: TensorData; readonly bias: Float64Array | undefined; readonly channels: number };
type Match = { readonly plan: Plan } | { readonly why: string };

/** A per-channel constant's C values (broadcast from one), or why it is not one. */
export function perChannel(v: Value, c: number, rank: number): Float64Array | string {
  const t = constData(v);
  if (t === undefined) return 'not a constant';
  if (t.dtype !== 'float32') return `${t.dtype}, not float32`;
  if (t.shape.length > rank) return `rank ${t.shape.length} > ${rank}`;
  const lead = t.shape.slice(0, -1);
  const last = t.shape[t.shape.length - 1] ?? 1;
  if (!lead.every((d) => d === 1) || (last !== 1 && last !== c)) return `shape [${t.shape.join(',')}] is not per-channel over ${c} channels`;
  const out = new Float64Array(c);
  for (let i = 0; i < c; i++) out[i] = t.data.length === 1 ? Number(t.data[0]!) : Number(t.data[i]!);
  return out;
}

/** A result that nothing but its one user reads. */
const singleUse = (g: Graph, v: Value): boolean => v.uses.length === 1 && !g.isOutput(v) && v.name === undefined;

function matchBatchNorm(g: Graph, bn: Node): Match {
  const x = bn.inputs[0]!;
  // Look through reshapes that keep the last axis (tfjs's batchNorm reshapes to 4-D, and a
  // layers Dense reshapes around its matmul): element i stays in channel i mod C.
  let y = x;
  while (y.producer?.op === 'reshape' && singleUse(g, y)) {
    const src = y.producer.inputs[0]!;
    const c0 = src.shape[src.shape.length - 1], c1 = y.shape[y.shape.length - 1];
    if (c0 === undefined || c1 === undefined || !isStatic(c0) || c0 !== c1) break;
    y = src;
  }
  const op = y.producer;
  if (!op) return { why: 'x is not computed by a node' };
  const fused = fusedFormOf(op.op);
  if (!fused) return { why: `x is computed by ${op.op}, not a matmul or convolution` };
  if (y.dtype !== 'float32') return { why: `x is ${y.dtype}` };
  if (!singleUse(g, y)) return { why: `the ${op.op} result has other uses (or is named or an output)` };
  const a = op.attrs;
  if (op.op === fused && a['activation'] !== 'linear') return { why: `the ${op.op} applies activation '${String(a['activation'])}' before the batch norm` };
  const cDim = y.shape[y.shape.length - 1]!;
  if (!isStatic(cDim)) return { why: 'the channel count is symbolic' };
  const weights = constData(op.inputs[1]!);
  if (!weights || weights.dtype !== 'float32') return { why: `the weights of ${op.op} are not a float32 constant` };
  let bias: Float64Array | undefined;
  if (op.op === fused && a['has_bias'] === true) {
    const b = perChannel(op.inputs[2]!, cDim, y.shape.length);
    if (typeof b === 'string') return { why: `bias: ${b}` };
    bias = b;
  }
  return { plan: { op, fused, weights, bias, channels: cDim } };
}

/** Why the batch norm `bn` is not folded, or undefined when it is foldable. */
export function explainFoldBatchNorm(g: Graph, bn: Node): string | undefined {
  const m = matchBatchNorm(g, bn);
  if ('why' in m) return m.why;
  const c = m.plan.channels, rank = bn.inputs[0]!.shape.length;
  for (const [k, name] of [[1, 'mean'], [2, 'variance'], [3, 'offset'], [4, 'scale']] as const) {
    const p = perChannel(bn.inputs[k]!, c, rank);
    if (typeof p === 'string') return `${name}: ${p}`;
  }
  return undefined;
}

function fold(g: Graph, bn: Node): boolean {
  if (explainFoldBatchNorm(g, bn) !== undefined) return false;
  if (replaceBlocker(bn.outputs[0]!, bn.inputs[0]!) !== undefined) return false;
  const { plan } = matchBatchNorm(g, bn) as { plan: Plan };
  const { op, fused, weights, channels: c } = plan;
  const rank = bn.inputs[0]!.shape.length;
  const [mean, variance, offset, scale] = [1, 2, 3, 4].map((k) => perChannel(bn.inputs[k]!, c, rank) as Float64Array) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const eps = bn.attrs['epsilon'] as number;
  const s = new Float64Array(c);
  for (let i = 0; i < c; i++) s[i] = scale[i]! / Math.sqrt(variance[i]! + eps);

  // Weights: the output channel of element i is i mod C, except for a matmul with
  // transpose_b, whose weights are [.., N, K]: channel ⌊i / K⌋ mod N.
  const w = weights.data as Float32Array;
  const nw = new Float32Array(w.length);
  const tb = opDef(op.op).fusion === 'matmul' && op.attrs['transpose_b'] === true;
  const k = tb ? weights.shape[weights.shape.length - 1]! : 1;
  for (let i = 0; i < w.length; i++) nw[i] = w[i]! * s[Math.floor(i / k) % c]!;
  const nb = new Float32Array(c);
  for (let i = 0; i < c; i++) nb[i] = ((plan.bias?.[i] ?? 0) - mean[i]!) * s[i]! + offset[i]!;

  const attrs: Attrs = op.op === fused
    ? { ...op.attrs, has_bias: true }
    : { ...op.attrs, has_bias: true, activation: 'linear', alpha: 0.2 };
  const y = op.outputs[0]!;
  const user = y.uses[0]!.node;                                   // the batch norm or a reshape
  const wc = g.add('const', [], { value: { dtype: 'float32', shape: weights.shape, data: nw } }, op.inputs[1]!.producer?.loc);
  const bc = g.add('const', [], { value: { dtype: 'float32', shape: [c], data: nb } }, bn.loc);
  const nn = g.addNode(fused, [op.inputs[0]!, wc, bc], attrs, op.loc);
  for (const n of [wc.producer!, bc.producer!, nn]) g.moveBefore(n, user);
  // The batch norm's input now carries the normalised values: the batch norm goes.
  g.replaceAllUsesWith(y, nn.outputs[0]!);
  g.removeNode(op);
  replaceValue(g, bn.outputs[0]!, bn.inputs[0]!);
  g.removeNode(bn);
  return true;
}

export function foldBatchNormIn(g: Graph): boolean {
  let changed = false;
  const nodes = [...g.nodes];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.op === 'batch_norm' && g.hasNode(n)) changed = fold(g, n) || changed;
  }
  return changed;
}

export const foldBatchNorm: Pass = { name: 'fold-batch-norm', run: (g) => foldBatchNormIn(g) };
