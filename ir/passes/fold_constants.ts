/**
 * Constant folding: a pure node whose operands are all constants is evaluated with the
 * evaluator the caller hands in (`ctx.evaluate`; ir/ never computes tensors itself) and
 * replaced by `const` nodes.
 *
 * Never folded: random and stateful ops (by their effect trait), `sym_const` and anything
 * reading one (its value depends on a symbol bound at run time), results with a symbolic
 * shape or more than `ctx.maxFoldElements` elements, and everything when no evaluator is
 * given. Source ops without operands (`fill`, `range`) are not folded on their own (a
 * `fill` is smaller than the tensor it makes) but count as constants for their users.
 */
import { isStaticShape } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import { OPS } from '../ops.js';
import type { TensorData } from '../tensor_data.js';
import { sizeOf } from '../tensor_data.js';
import type { Pass, PassContext } from './pass.js';
import { constData, insertBefore, replaceBlocker, replaceNode, typeEq } from './rewrite.js';

/** The constant value of `v`, evaluating a small operand-less source op if need be. */
function constantOf(v: Value, ctx: PassContext, cache: Map<Value, TensorData | null>): TensorData | undefined {
  const direct = constData(v);
  if (direct) return direct;
  const p = v.producer;
  if (!p || p.inputs.length > 0 || whyNotFold(p, ctx) !== undefined) return undefined;
  let c = cache.get(v);
  if (c === undefined) {
    try { c = ctx.evaluate!(p.op, [], p.attrs)[v.index] ?? null; } catch { c = null; }
    cache.set(v, c);
  }
  return c ?? undefined;
}

/**
 * Why node `n` is not folded, judging the node alone (its operands are checked by the
 * pass); undefined when it may be.
 */
export function whyNotFold(n: Node, ctx: PassContext): string | undefined {
  if (!ctx.evaluate) return 'no constant evaluator was handed in';
  if (n.op === 'const') return 'already a constant';
  if (n.op === 'sym_const') return 'sym_const depends on a symbol bound at run time';
  if (n.regions.length > 0) return `${n.op} is control flow (a cond with a constant predicate is inlined by simplify)`;
  const effect = OPS[n.op].effect;
  if (effect !== 'pure') return `${n.op} is ${effect}`;
  for (const o of n.outputs) {
    if (!isStaticShape(o.shape)) return `the result ${o.dtype}[${o.shape.length}-d] has a symbolic shape`;
    const size = sizeOf(o.shape as number[]);
    if (size > ctx.maxFoldElements) return `the result has ${size} elements, over the limit of ${ctx.maxFoldElements}`;
  }
  return undefined;
}

function foldNode(g: Graph, n: Node, ctx: PassContext, cache: Map<Value, TensorData | null>): boolean {
  if (n.inputs.length === 0) return false;
  // Most nodes read a computed value: that settles it before whyNotFold looks at the result
  // types (constantOf below would refuse such an operand anyway).
  for (const v of n.inputs) {
    const p = v.producer;
    if (!p || (p.op !== 'const' && p.inputs.length > 0)) return false;
  }
  if (whyNotFold(n, ctx) !== undefined) return false;
  const ins: TensorData[] = [];
  for (const v of n.inputs) {
    const c = constantOf(v, ctx, cache);
    if (!c) return false;
    ins.push(c);
  }
  let outs: TensorData[];
  const shape = n.outputs[0]!.type.shape;
  try {
    // A reshape keeps the data array (tensor data is immutable): no copy, and the exporter still
    // sees a frozen variable's weights in it (freeze_variables.ts, frozenVariableNames).
    outs = n.op === 'reshape' && shape.every((d) => typeof d === 'number')
      ? [{ dtype: ins[0]!.dtype, shape: shape as number[], data: ins[0]!.data } as TensorData]
      : ctx.evaluate!(n.op, ins, n.attrs);
  } catch {
    return false; // the evaluator cannot do it (unsupported kernel, symbolic attrs): leave the node
  }
  if (outs.length !== n.outputs.length) return false;
  return replaceByConstants(g, n, outs);
}

/**
 * Puts `const` nodes of `outs` in place of `n`'s results (false, undone, when blocked). Apart
 * from foldNode: its closures would make every foldNode call allocate their context.
 */
function replaceByConstants(g: Graph, n: Node, outs: readonly TensorData[]): boolean {
  const consts: Value[] = [];
  outs.forEach((t, i) => {
    if (!typeEq({ dtype: t.dtype, shape: t.shape }, n.outputs[i]!.type)) return;
    consts.push(insertBefore(g, n, () => g.addNode('const', [], { value: t }, n.loc)).outputs[0]!);
  });
  const ok = consts.length === n.outputs.length && n.outputs.every((o, i) => replaceBlocker(o, consts[i]!) === undefined) && replaceNode(g, n, consts);
  if (!ok) for (const c of consts) g.removeNode(c.producer!);
  return ok;
}

export const foldConstants: Pass = {
  name: 'fold-constants',
  run(g, ctx) {
    if (!ctx.evaluate) return false;
    const cache = new Map<Value, TensorData | null>();
    let changed = false;
    const nodes = [...g.nodes];
    for (let i = 0; i < nodes.length; i++) if (foldNode(g, nodes[i]!, ctx, cache)) changed = true;
    return changed;
  },
};
