/**
 * fuse-matmul-bias-act: a matmul or convolution followed by a bias add and an activation
 * becomes one fused op, which tfjs runs as one kernel (_FusedMatMul, FusedConv2D,
 * FusedDepthwiseConv2D):
 *
 *   add(matmul(x, w), b)                  → fused_matmul(x, w, b)            {has_bias, activation linear}
 *   relu(fused_matmul(x, w, b))           → fused_matmul(x, w, b)            {activation relu}
 *   prelu(conv2d(x, f), α)                → fused_conv2d(x, f, α)            {activation prelu}
 *   add(reshape(fused_matmul(x, w)), b)   → reshape(fused_matmul(x, w, b))   (a reshape that keeps the last axis)
 *   relu(reshape(fused_matmul(…)))        → reshape(fused_matmul(…))         {activation relu}
 *
 * Which ops: those with a fused form (OpDef.fusedForm in ir/ops.ts). Activations: the ops with a
 * fusedActivation (relu, relu6, elu, sigmoid, leaky_relu with its alpha, prelu with its weights).
 *
 * Conditions: float32; the matmul/conv result has no other use (nor is named or an output);
 * a bias is added to it (either operand order), has shape [C] with C the static channel
 * count (the last axis; tfjs-backend-wasm's fused kernels take a rank-1 bias of exactly C and
 * check the rank its data was created with, so a [1,C] bias reshaped to [C] would be refused
 * there: a [1,…,1,C] bias is not fused), and the op has no bias yet and a linear activation;
 * an activation is applied to an op with a linear activation; prelu weights are [C] too. One
 * step per rewrite; the pass repeats until nothing matches, so bias then activation both fuse.
 * Transposed operands fuse too (the runtime works around tfjs-backend-wasm adding the bias
 * at the wrong elements when an operand is transposed).
 *
 * Through a reshape (tfjs-layers' Dense reshapes a batched matmul back to 2-D before adding the
 * bias): the reshape's result must keep the last axis C (so element i still lies in channel
 * i mod C: the bias and any elementwise activation commute with it) and have no other use.
 * The fused op takes the matmul's source location, the new reshape the old reshape's.
 *
 * Relu's gradient: tfjs differentiates relu(y) as dy · step(y) (alpha 0), so y has two readers
 * and relu could not fuse. As step(y; 0) = step(relu(y)) elementwise (relu keeps NaN, step
 * maps it to NaN, and relu(y) > 0 exactly when y > 0), the steps are pointed at the existing
 * relu(y) when y's only readers are that relu and such steps; then relu fuses. This is done only
 * for backends whose *fused* relu keeps NaN as a separate relu does (their traits say
 * fusedReluKeepsNaN, runtime/backends/traits.ts): measured on tfjs 4.22,
 * cpu and webgpu keep it, while tfjs-backend-wasm's fused relu (XNNPACK's clamp) turns NaN
 * into 0, which would turn the NaN mask into 0 (and the forward relu is not fused in training
 * graphs until this rewrite). An unknown backend (ONNX export, or compile without a backend,
 * which may pick wasm) keeps the graph as it is.
 */
import { dimEq, isStatic } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import { typeToString } from '../graph.js';
import type { Attrs, AttrValue, FusedActivation, FusedOp } from '../ops.js';
import { fusedActivationOf, fusedFormOf } from '../ops.js';
import type { Pass, PassContext } from './pass.js';
import { Miss, replaceNode } from './rewrite.js';

/**
 * A fusion: `user`'s result is replaced by what `rewrite` builds (placed before `user`), then
 * `dead` (the reshape, if any, then the op) is removed.
 */
export type Match = { readonly user: Node; readonly dead: readonly Node[]; readonly rewrite: (g: Graph) => Value } | { readonly why: string };

const out = (n: Node): Value => n.outputs[0]!;

/** An attr of `op`'s fused form (the defaults for an unfused op). */
function fusedAttr(op: Node, key: 'has_bias' | 'activation' | 'alpha'): AttrValue | undefined {
  if (fusedFormOf(op.op) === op.op) return op.attrs[key];
  return UNFUSED_DEFAULTS[key];
}

const UNFUSED_DEFAULTS = { has_bias: false, activation: 'linear', alpha: 0.2 } as const;

/**
 * `{ ...attrs, ...over }`, spelled with Object.assign: V8 (Node 20) takes a slow path for a
 * spread followed by more properties, about 20× slower (1 µs a node on the traced 100k graph).
 */
const extend = (attrs: Attrs, over: Attrs): Attrs => Object.assign({}, attrs, over);

/** The attrs of `op`'s fused form with a bias (the defaults for an unfused op first). */
function withBias(op: Node): Attrs {
  return extend(op.attrs, fusedFormOf(op.op) === op.op ? { has_bias: true } : { has_bias: true, activation: 'linear', alpha: 0.2 });
}

/** The attrs of `op`'s fused form with an activation (the defaults for an unfused op first). */
function withActivation(op: Node, activation: FusedActivation, alpha: number): Attrs {
  return extend(op.attrs, fusedFormOf(op.op) === op.op ? { activation, alpha } : { has_bias: false, activation, alpha });
}

/** Whether `v` is rank-1 of the static channel count `c`. */
const isChannelVector = (v: Value, c: number): boolean => v.dtype === 'float32' && v.shape.length === 1 && v.shape[0] === c;

/** The node that alone reads `v` (which is unnamed and no output), else why not. */
function soleUser(g: Graph, v: Value, what: 'the result' | 'the reshaped result'): Node | string {
  if (v.uses.length !== 1 || g.isOutput(v) || v.name !== undefined) return what === 'the result' ? OTHER_USES : RESHAPED_OTHER_USES;
  return v.uses[0]!.node;
}

const OTHER_USES = 'the result has other uses (or is named or an output)';
const RESHAPED_OTHER_USES = 'the reshaped result has other uses (or is named or an output)';
const alreadyApplies = (op: Node): string => `${op.op} already applies ${String(fusedAttr(op, 'activation'))}`;

interface Fusable { readonly fused: FusedOp; readonly c: number }

/** What `op` fuses into, or why its result cannot take a bias or an activation. */
function fusable(op: Node): Fusable | Miss {
  const fused = fusedFormOf(op.op);
  if (!fused) return new Miss(op, (op) => `${op.op} has no fused form`);
  const y = out(op);
  if (y.dtype !== 'float32') return new Miss(op, (op) => `the result is ${out(op).dtype}`);
  const c = y.shape[y.shape.length - 1]!;
  if (!isStatic(c)) return new Miss(op, 'the channel count is symbolic');
  if (fusedAttr(op, 'activation') !== 'linear') return new Miss(op, alreadyApplies);
  return { fused, c };
}

/** Why `reshape` (of a result with last axis `c`) does not keep the last axis, or undefined. */
function reshapeBlocker(reshape: Node, c: number): string | undefined {
  const s = out(reshape).shape;
  if (s.length === 0 || !dimEq(s[s.length - 1]!, c)) return `the reshape to ${typeToString(out(reshape).type)} changes the last axis ${c}`;
  return undefined;
}

/** What fusing the single user of `op`'s result (directly or through a reshape) would do, or why it does not. */
export function matchFusion(g: Graph, op: Node): Match {
  const f = fusable(op);
  if (f instanceof Miss) return f;
  const y = out(op);
  const first = soleUser(g, y, 'the result');
  if (typeof first === 'string') return { why: first };
  if (first.op !== 'reshape') return matchUser(op, f, undefined, first);
  const why = reshapeBlocker(first, f.c);
  if (why !== undefined) return { why };
  const user = soleUser(g, out(first), 'the reshaped result');
  if (typeof user === 'string') return { why: user };
  return matchUser(op, f, first, user);
}

/** Fusing `user`, which reads `op`'s result (through `reshape` when given). */
function matchUser(op: Node, f: Fusable, reshape: Node | undefined, user: Node): Match {
  const { fused, c } = f;
  const r = reshape ? out(reshape) : out(op);
  const dead = reshape ? [reshape, op] : [op];
  const base = op.inputs.slice(0, 2);
  /** The fused node, reshaped back where the reshape was. */
  const build = (g: Graph, inputs: Value[], attrs: Attrs): Value => {
    const v = g.add(fused, inputs, attrs, op.loc);
    return reshape ? g.add('reshape', [v], reshape.attrs, reshape.loc) : v;
  };

  if (user.op === 'add') {
    if (fusedAttr(op, 'has_bias') === true) return { why: `${op.op} already has a bias` };
    const bias = user.inputs[user.inputs[0] === r ? 1 : 0]!;
    if (bias === r) return { why: 'the add adds the result to itself' };
    if (!isChannelVector(bias, c)) return { why: `the bias ${typeToString(bias.type)} is not f32[${c}]` };
    return { user, dead, rewrite: (g) => build(g, [...base, bias], withBias(op)) };
  }
  const act = fusedActivationOf(user.op);
  if (act === undefined) return { why: `its user ${user.op} is neither an add nor a fusable activation` };
  if (user.inputs[0] !== r) return { why: `the result is not the activation's x` };
  const extra = op.inputs.slice(2);
  if (act === 'prelu') {
    const alpha = user.inputs[1]!;
    if (alpha === r) return { why: 'prelu weighs the result by itself' };
    if (!isChannelVector(alpha, c)) return { why: `the prelu weights ${typeToString(alpha.type)} are not f32[${c}]` };
    extra.push(alpha);
  }
  const alpha = user.op === 'leaky_relu' ? (user.attrs['alpha'] as number) : (fusedAttr(op, 'alpha') as number);
  return { user, dead, rewrite: (g) => build(g, [...base, ...extra], withActivation(op, act, alpha)) };
}

function fuseAt(g: Graph, op: Node): boolean {
  const m = matchFusion(g, op);
  return !('why' in m) && fuse(g, m);
}

/** Applies a fusion (false, undone, when the user's result cannot be replaced). */
function fuse(g: Graph, m: Exclude<Match, { readonly why: string }>): boolean {
  // The new nodes go where the user was: every operand (bias, prelu weights) exists there.
  const { result: v, added } = g.track(() => m.rewrite(g));
  for (const n of added) g.moveBefore(n, m.user);
  if (!replaceNode(g, m.user, [v])) {
    for (const n of added.reverse()) g.removeNode(n);
    return false;
  }
  for (const n of m.dead) g.removeNode(n);
  return true;
}

/**
 * Where `op`'s result y is read by one relu and by steps with alpha 0 only, that relu and those
 * steps, else why not (the backend is checked by the caller).
 */
export function matchStepOfRelu(g: Graph, op: Node): { readonly relu: Node; readonly steps: readonly Node[] } | { readonly why: string } {
  const f = fusable(op);
  if (f instanceof Miss) return f;
  const y = out(op);
  if (g.isOutput(y) || y.name !== undefined) return { why: 'the result is named or an output' };
  const relus: Node[] = [], steps: Node[] = [];
  for (const { node } of y.uses) {
    if (node.op === 'relu') relus.push(node);
    else if (node.op === 'step' && node.attrs['alpha'] === 0) steps.push(node);
    else return { why: `the result is read by ${node.op === 'step' ? `step with alpha ${String(node.attrs['alpha'])}` : node.op}, not only by relu and step(alpha 0)` };
  }
  if (relus.length !== 1) return { why: `the result is read by ${relus.length} relus, not one` };
  if (steps.length === 0) return { why: 'no step reads the result' };
  return { relu: relus[0]!, steps };
}

/** step(y; 0) → step(relu(y)) where that lets relu(y) fuse (see the header). One sweep. */
function stepsReadRelu(g: Graph): boolean {
  let changed = false;
  let pos: Map<Node, number> | undefined;
  for (const op of [...g.nodes]) {
    if (!fusedFormOf(op.op) || !g.hasNode(op)) continue;
    const m = matchStepOfRelu(g, op);
    if ('why' in m) continue;
    // Keep the order topological: the relu must come before the first step that will read it.
    // (Positions from the start of the sweep stay right for these: only relus move, each once.)
    pos ??= new Map(g.nodes.map((n, i) => [n, i]));
    const at = (n: Node) => pos!.get(n) ?? Infinity;
    const firstStep = m.steps.reduce((s, t) => (at(t) < at(s) ? t : s));
    if (at(firstStep) < at(m.relu)) g.moveBefore(m.relu, firstStep);
    for (const s of m.steps) g.setInput(s, 0, out(m.relu));
    changed = true;
  }
  return changed;
}

export function fuseMatmulBiasActIn(g: Graph, ctx: Pick<PassContext, 'backend'> = {}): boolean {
  const steps = ctx.backend?.fusedReluKeepsNaN === true;
  let changed = false;
  for (let again = true; again;) {
    // Before each sweep: a bias fused in the last one may have left y read by relu and steps.
    again = steps && stepsReadRelu(g);
    changed ||= again;
    const nodes = [...g.nodes];
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (fusedFormOf(n.op) && g.hasNode(n) && fuseAt(g, n)) again = changed = true;
    }
  }
  return changed;
}

export const fuseMatmulBiasAct: Pass = { name: 'fuse-matmul-bias-act', run: (g, ctx) => fuseMatmulBiasActIn(g, ctx) };
