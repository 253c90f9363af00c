/**
 * Algebraic simplification: small rewrite rules, each matching one node by its op's traits
 * (neutral / absorbing element, involution) or, for the shape ops, by its attrs. A rule
 * answers either a rewrite (the value that replaces the node's result) or why it does not
 * fire; `explainSimplify(g, node)` lists those reasons for debugging.
 *
 * Every rewrite keeps the result's type: `x + zeros` where the zeros are larger than x
 * broadcasts, changes the shape, and is left alone.
 *
 * Choices:
 * - `x + 0 → x` also for floats, as XLA and Grappler do: the results differ only for
 *   x = −0 (−0 + 0 = +0). `x − 0`, `x · 1`, `x / 1` are exact.
 * - `x · 0 → 0` only for int32 / int64 / bool: for floats, NaN·0 and ±Inf·0 are NaN and
 *   (−1)·0 is −0, so the product is not the constant 0.
 * - No op reads a tensor's shape at run time in this IR (dims live in attrs), so the
 *   "static shape → constant" rule is `sym_const` whose dim is a plain number → `const`.
 */
import { isStatic, isStaticShape, shapeToString } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import { typeToString } from '../graph.js';
import type { Attrs, OpDef, OpName } from '../ops.js';
import { OPS } from '../ops.js';
import { sizeOf, tensorData } from '../tensor_data.js';
import type { Pass, PassContext } from './pass.js';
import { replaceBlocker, replaceNode, splatValue, typeEq } from './rewrite.js';
import type { Reason } from './rewrite.js';

/**
 * A rule's answer: the replacement (built on demand), or why it does not fire: a fixed text or
 * one worded from the node on demand (explainSimplify). The pass asks every rule that looks at
 * a node and reads no reason: a miss allocates nothing.
 */
export type Match = { readonly rewrite: (g: Graph) => Value } | Reason;

export interface Rule {
  readonly name: string;
  /** Which ops the rule looks at (by trait or name; asked once per op); explain lists only these. */
  readonly on: (d: OpDef, op: OpName) => boolean;
  readonly match: (n: Node, ctx: PassContext) => Match;
}

const wording = (n: Node, r: Reason): string => (typeof r === 'string' ? r : r(n));
const fires = (m: Match): m is { readonly rewrite: (g: Graph) => Value } => typeof m === 'object';
const use = (v: Value): Match => ({ rewrite: () => v });
const out = (n: Node): Value => n.outputs[0]!;
const ints = (n: Node, k: string): readonly number[] => n.attrs[k] as readonly number[];
const isInteger = (v: Value): boolean => v.dtype !== 'float32';

/** `x` itself may replace the node's result: same type (`what` says why it would). */
function keep(n: Node, x: Value, what: Reason): Match {
  return typeEq(out(n).type, x.type) ? use(x) : (n: Node) => `${wording(n, what)}, but the result ${typeToString(out(n).type)} is not ${typeToString(x.type)} (a broadcast)`;
}

const isANoop = (n: Node): string => `${n.op} is a no-op`;

/** A rule for shape ops whose attrs can make them a no-op (`test`: why not, or undefined). */
function noop(name: string, ops: readonly string[], test: (n: Node) => Reason | undefined): Rule {
  return {
    name,
    on: (_, op) => ops.includes(op),
    match: (n) => {
      const why = test(n);
      return why ?? keep(n, n.inputs[0]!, isANoop);
    },
  };
}

const SIDES_BOTH: readonly number[] = [1, 0];
const SIDES_RIGHT: readonly number[] = [1];
const neutralSides = (n: Node): readonly number[] => (OPS[n.op].neutral!.side === 'both' ? SIDES_BOTH : SIDES_RIGHT);

/** Why operand `k` of `n` being the neutral `value` does not simplify `n`. */
function neutralWhy(n: Node, k: number, value: number): string {
  if (splatValue(n.inputs[k]!) !== value) return `operand ${k} is not a constant ${value}`;
  const m = keep(n, n.inputs[1 - k]!, NEUTRAL_OPERAND[k]!);
  return fires(m) ? '' : wording(n, m);
}

/*
 * Reasons and rewrites are module-level functions or built by helpers: a closure inside a
 * rule's match that captures the node makes V8 allocate a context on every call, fired or not.
 */
const NEUTRAL_OPERAND: ReadonlyArray<(n: Node) => string> = [0, 1].map((k) => (n: Node) => `operand ${k} is the neutral ${OPS[n.op].neutral!.value}`);
const noNeutral = (n: Node): string => neutralSides(n).map((k) => neutralWhy(n, k, OPS[n.op].neutral!.value)).join('; ');
const absorbingOf = (n: Node): number => OPS[n.op].absorbing!;
const floatProduct = (n: Node): string => `${out(n).dtype}: x·${absorbingOf(n)} is not ${absorbingOf(n)} for x = NaN or ±Inf, so float products are kept`;
const noAbsorbing = (n: Node): string => `no operand is a constant ${absorbingOf(n)}`;
const symbolicResult = (n: Node): string => `the result ${typeToString(out(n).type)} has a symbolic shape, so a broadcast ${absorbingOf(n)} cannot be a constant`;
const overLimit = (n: Node): string => `the result has ${sizeOf(out(n).shape as readonly number[])} elements, over the folding limit`;
const notAnother = (n: Node): string => `the operand is not another ${n.op}`;
const twice = (n: Node): string => `${n.op}(${n.op}(x))`;
const notIdentityPerm = (n: Node): string => `perm [${ints(n, 'perm').join(',')}] is not the identity`;
const changesShape = (n: Node): string => `it changes the shape ${shapeToString(n.inputs[0]!.shape)} → ${shapeToString(out(n).shape)}`;
const casts = (n: Node): string => `it casts ${n.inputs[0]!.dtype} to ${String(n.attrs.dtype)}`;
const oneOperand = (n: Node): string => `${n.op} of one operand`;
const operandCount = (n: Node): string => `${n.inputs.length} operands`;

/** The rewrite to `op(x) {attrs}` at `n`'s location. */
function rebuild(n: Node, op: OpName, x: Value, attrs: Attrs): Match {
  return { rewrite: (g) => g.add(op, [x], attrs, n.loc) };
}

/** The rewrite to a constant of `n`'s dtype and `shape` (`size` elements), all `value`. */
function splat(n: Node, shape: readonly number[], size: number, value: number): Match {
  return { rewrite: (g) => g.add('const', [], { value: tensorData(out(n).dtype, shape, new Array<number>(size).fill(value)) }, n.loc) };
}

/** outer ∘ inner as perms: entry i is inner[outer[i]]. */
function compose(outer: readonly number[], inner: readonly number[]): number[] {
  const perm: number[] = [];
  for (const i of outer) perm.push(inner[i]!);
  return perm;
}

function isIdentityPerm(p: readonly number[]): boolean {
  return p.every((x, i) => x === i);
}

export const SIMPLIFY_RULES: readonly Rule[] = [
  {
    name: 'neutral-element',
    on: (d) => d.neutral !== undefined,
    match: (n) => {
      const { value } = OPS[n.op].neutral!;
      const sides = neutralSides(n);
      for (let i = 0; i < sides.length; i++) {
        const k = sides[i]!;
        if (splatValue(n.inputs[k]!) !== value) continue;
        const m = keep(n, n.inputs[1 - k]!, NEUTRAL_OPERAND[k]!);
        if (fires(m)) return m;
      }
      return noNeutral;
    },
  },
  {
    name: 'absorbing-element',
    on: (d) => d.absorbing !== undefined,
    match: (n, ctx) => {
      const z = OPS[n.op].absorbing!;
      const r = out(n);
      if (!isInteger(r)) return floatProduct;
      const k = splatValue(n.inputs[0]!) === z ? 0 : splatValue(n.inputs[1]!) === z ? 1 : undefined;
      if (k === undefined) return noAbsorbing;
      const c = n.inputs[k]!;
      if (typeEq(c.type, r.type)) return use(c);
      const shape = r.shape;
      if (!isStaticShape(shape)) return symbolicResult;
      const size = sizeOf(shape);
      if (size > ctx.maxFoldElements) return overLimit;
      return splat(n, shape, size, z);
    },
  },
  {
    name: 'involution',
    on: (d) => d.involution === true,
    match: (n) => {
      const p = n.inputs[0]!.producer;
      if (p?.op !== n.op) return notAnother;
      return keep(n, p.inputs[0]!, twice);
    },
  },
  {
    name: 'transpose-transpose',
    on: (_, op) => op === 'transpose',
    match: (n) => {
      const p = n.inputs[0]!.producer;
      if (p?.op !== 'transpose') return 'the operand is not a transpose';
      const inner = ints(p, 'perm'), outer = ints(n, 'perm');
      if (inner.some((x) => x < 0) || outer.some((x) => x < 0)) return 'negative perm entries';
      const perm = compose(outer, inner);
      const x = p.inputs[0]!;
      if (isIdentityPerm(perm)) return keep(n, x, 'the perms compose to the identity');
      return rebuild(n, 'transpose', x, { perm });
    },
  },
  noop('identity-transpose', ['transpose'], (n) => (isIdentityPerm(ints(n, 'perm')) ? undefined : notIdentityPerm)),
  {
    name: 'reshape-reshape',
    on: (_, op) => op === 'reshape',
    match: (n) => {
      const p = n.inputs[0]!.producer;
      if (p?.op !== 'reshape') return 'the operand is not a reshape';
      return rebuild(n, 'reshape', p.inputs[0]!, n.attrs);
    },
  },
  noop('reshape-same-shape', ['reshape', 'broadcast_to'], (n) => (typeEq(out(n).type, n.inputs[0]!.type) ? undefined : changesShape)),
  noop('cast-same-dtype', ['cast'], (n) => (n.attrs.dtype === n.inputs[0]!.dtype ? undefined : casts)),
  noop('identity', ['identity'], () => undefined),
  noop('slice-whole', ['slice', 'strided_slice'], (n) => {
    const begin = n.attrs.begin as readonly unknown[];
    if (!begin.every((b) => b === 0)) return 'it does not start at 0';
    if (n.op === 'strided_slice' && !ints(n, 'strides').every((s) => s === 1)) return 'a stride is not 1';
    return typeEq(out(n).type, n.inputs[0]!.type) ? undefined : 'it does not cover the whole tensor';
  }),
  noop('pad-zero', ['pad'], (n) => (ints(n, 'paddings').every((p) => p === 0) ? undefined : 'it pads')),
  noop('tile-ones', ['tile'], (n) => (ints(n, 'reps').every((r) => r === 1) ? undefined : 'a rep is not 1')),
  noop('reverse-nothing', ['reverse'], (n) => {
    const x = n.inputs[0]!;
    const axes = ints(n, 'axes').map((a) => (a < 0 ? a + x.shape.length : a));
    return axes.every((a) => x.shape[a] === 1) ? undefined : 'it reverses an axis longer than 1';
  }),
  {
    name: 'single-operand',
    on: (_, op) => op === 'add_n' || op === 'concat',
    match: (n) => (n.inputs.length === 1 ? keep(n, n.inputs[0]!, oneOperand) : operandCount),
  },
  {
    name: 'static-sym-const',
    on: (_, op) => op === 'sym_const',
    match: (n) => {
      const d = n.attrs.value as Parameters<typeof isStatic>[0];
      if (!isStatic(d)) return 'its dim is symbolic';
      return splat(n, [], 1, d);
    },
  },
];

/** The rules that look at each op, in SIMPLIFY_RULES order (most ops have none). */
const RULES_BY_OP = new Map<OpName, readonly Rule[]>();

function rulesFor(op: OpName): readonly Rule[] {
  let rules = RULES_BY_OP.get(op);
  if (rules === undefined) {
    rules = SIMPLIFY_RULES.filter((r) => r.on(OPS[op], op));
    RULES_BY_OP.set(op, rules);
  }
  return rules;
}

/** Applies the first rule that fires at `n`; true when the graph changed. */
function simplifyNode(g: Graph, n: Node, ctx: PassContext): boolean {
  // Most ops have no rule: asked first, that spares reading their outputs.
  const rules = rulesFor(n.op);
  if (rules.length === 0 || n.outputs.length !== 1) return false;
  for (let i = 0; i < rules.length; i++) {
    const m = rules[i]!.match(n, ctx);
    if (fires(m) && apply(g, n, m.rewrite, ctx)) return true;
  }
  return false;
}

/** Builds a rule's replacement before `n` and puts it in `n`'s place (false, undone, when blocked). */
function apply(g: Graph, n: Node, rewrite: (g: Graph) => Value, ctx: PassContext): boolean {
  const { result: v, added } = g.track(() => rewrite(g));
  for (const a of added) g.moveBefore(a, n);
  if (replaceBlocker(out(n), v) === undefined && replaceNode(g, n, [v])) {
    // A node the rewrite built may simplify further (reshape∘reshape → a no-op reshape).
    if (v.producer && added.includes(v.producer)) simplifyNode(g, v.producer, ctx);
    return true;
  }
  for (const a of added.reverse()) g.removeNode(a);
  return false;
}

export const simplify: Pass = {
  name: 'simplify',
  run(g, ctx) {
    let changed = false;
    const nodes = g.nodes.slice();
    for (let i = 0; i < nodes.length; i++) if (simplifyNode(g, nodes[i]!, ctx)) changed = true;
    return changed;
  },
};

/** For debugging: each rule that looks at `n`, and whether it fires or why not. */
export function explainSimplify(n: Node, ctx: PassContext): Array<{ rule: string; why: string | undefined }> {
  return rulesFor(n.op).map((r) => {
    const m = r.match(n, ctx);
    return { rule: r.name, why: fires(m) ? undefined : wording(n, m) };
  });
}
