/**
 * fuse-elementwise: a connected group of float32 elementwise ops becomes one
 * `fused_elementwise` node whose `expr` attr is the group as a program (ir/fused_expr.ts):
 *
 *   %1 = mul %x, %half            %3 = fused_elementwise %x, %b
 *   %2 = add %1, %b          →        {expr = "tanh(add(mul($0, 0.5), $1))"}
 *   %3 = tanh %2
 *
 * Grouping, from each root (a fusable node not yet in a group, visited last-to-first): a
 * producer of a group operand joins the group when it is fusable, every use of its result is
 * inside the group (so the group's only live-out is the root's result), its result is not
 * named or a graph output, and it has the root's shape (operands of other shapes, such as a
 * per-channel bias, stay operands: the kernel reads them broadcast instead of recomputing them
 * per element). One-element float32 constants become literals. A result used twice in the
 * group becomes a temp (`t0 = …;`). Groups of one op are left alone, except that a
 * fused_elementwise absorbs its neighbours (its program is inlined).
 *
 * Fusable: an op in EXPR_OPS or fused_elementwise, with float32 operands and result.
 *
 * Backend: only where the backend's traits say fused_elementwise runs as a generated kernel
 * that measured faster than the op-by-op chain (ctx.backend.fusedElementwise === 'generated':
 * cpu, webgpu; see runtime/backends/traits.ts and runtime/fused/fused_elementwise.ts). On wasm
 * the chain of wasm kernels is faster, and an unknown backend (ONNX export, gc.optimize without
 * a backend) keeps the graph in standard ops: there the pass changes nothing.
 */
import { shapeEq } from '../dim.js';
import type { Expr, ExprProgram } from '../fused_expr.js';
import { isExprOp, parseExpr, printExpr } from '../fused_expr.js';
import type { Graph, Node, Value } from '../graph.js';
import { elementAt } from '../tensor_data.js';
import type { Pass, PassContext } from './pass.js';
import { constData, insertBefore, replaceNode } from './rewrite.js';

const isF32 = (v: Value): boolean => v.dtype === 'float32';

export function isFusable(n: Node): boolean {
  return (isExprOp(n.op) || n.op === 'fused_elementwise') && n.outputs.length === 1 && n.inputs.every(isF32) && isF32(n.outputs[0]!);
}

/** A one-element float32 constant that may be written as a literal where `user` reads it. */
function literalOf(v: Value, user: Node): number | undefined {
  const t = constData(v);
  if (!t || t.dtype !== 'float32' || t.data.length !== 1) return undefined;
  // A literal is a scalar: a [1,1] constant would raise the rank of a lower-rank result.
  if (t.shape.length > user.outputs[0]!.shape.length) return undefined;
  return elementAt(t, 0);
}

interface Group {
  root: Node;
  members: Set<Node>;
}

function growGroup(g: Graph, root: Node, taken: ReadonlySet<Node>): Group {
  const members = new Set<Node>([root]);
  const shape = root.outputs[0]!.shape;
  for (let grew = true; grew;) {
    grew = false;
    for (const m of [...members]) {
      for (const v of m.inputs) {
        const p = v.producer;
        if (!p || members.has(p) || taken.has(p) || !isFusable(p)) continue;
        if (v.name !== undefined || g.isOutput(v) || !shapeEq(v.shape, shape)) continue;
        if (!v.uses.every((u) => members.has(u.node))) continue;
        members.add(p);
        grew = true;
      }
    }
  }
  return { root, members };
}

/** The group as a program over its operands (values from outside the group). */
function toProgram(group: Group): { program: ExprProgram; operands: Value[]; ops: number } {
  const operands: Value[] = [];
  const operandIndex = new Map<Value, number>();
  const temps: Expr[] = [];
  const tempOf = new Map<Value, Expr>();
  // How often each member result is read inside the group: twice or more → a temp.
  const reads = new Map<Value, number>();
  for (const m of group.members) for (const v of m.inputs) if (v.producer && group.members.has(v.producer)) reads.set(v, (reads.get(v) ?? 0) + 1);
  let ops = 0;

  const operand = (v: Value): Expr => {
    let i = operandIndex.get(v);
    if (i === undefined) {
      i = operands.length;
      operands.push(v);
      operandIndex.set(v, i);
    }
    return { kind: 'in', index: i };
  };
  const value = (v: Value, user: Node): Expr => {
    const p = v.producer;
    if (!p || !group.members.has(p)) {
      const lit = literalOf(v, user);
      return lit !== undefined ? { kind: 'lit', value: lit } : operand(v);
    }
    const t = tempOf.get(v);
    if (t) return t;
    const e = nodeExpr(p);
    if ((reads.get(v) ?? 0) < 2) return e;
    const ref: Expr = { kind: 'tmp', index: temps.length };
    temps.push(e);
    tempOf.set(v, ref);
    return ref;
  };
  const nodeExpr = (n: Node): Expr => {
    const args = n.inputs.map((v) => value(v, n));
    if (n.op === 'fused_elementwise') return inline(parseExpr(n.attrs['expr'] as string).program, args);
    ops++;
    const attrs: Record<string, number> = {};
    for (const [k, x] of Object.entries(n.attrs)) if (typeof x === 'number') attrs[k] = x;
    return { kind: 'op', op: n.op as Extract<Expr, { kind: 'op' }>['op'], args, attrs };
  };
  /** A fused program's body with its `$i` replaced by `args[i]`; its temps become ours. */
  const inline = (p: ExprProgram, args: readonly Expr[]): Expr => {
    const mine: Expr[] = [];
    const sub = (e: Expr): Expr => {
      switch (e.kind) {
        case 'in': return args[e.index]!;
        case 'tmp': return mine[e.index]!;
        case 'lit': return e;
        case 'op': ops++; return { ...e, args: e.args.map(sub) };
      }
    };
    for (const t of p.temps) {
      const ref: Expr = { kind: 'tmp', index: temps.length };
      temps.push(sub(t));
      mine.push(ref);
    }
    return sub(p.result);
  };
  const result = nodeExpr(group.root);
  return { program: { temps, result }, operands, ops };
}

export function fuseElementwiseIn(g: Graph, ctx: Pick<PassContext, 'backend'>): boolean {
  if (ctx.backend?.fusedElementwise !== 'generated') return false;
  const taken = new Set<Node>();
  const groups: Group[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (taken.has(n) || !isFusable(n)) continue;
    const group = growGroup(g, n, taken);
    for (const m of group.members) taken.add(m);
    const fusedInside = [...group.members].some((m) => m.op === 'fused_elementwise');
    if (group.members.size > 1 || (fusedInside && hasLiteralOperand(n))) groups.push(group);
  }
  let changed = false;
  for (const group of groups) {
    const { program, operands } = toProgram(group);
    const root = group.root;
    const nn = insertBefore(g, root, () => g.addNode('fused_elementwise', operands, { expr: printExpr(program) }, root.loc));
    if (!replaceNode(g, root, nn.outputs)) {
      g.removeNode(nn);
      continue;
    }
    // The other members are now unused (their only uses were inside the group): remove
    // them in reverse order, users before producers.
    const rest = g.nodes.filter((n) => group.members.has(n));
    for (let i = rest.length - 1; i >= 0; i--) g.removeNode(rest[i]!);
    changed = true;
  }
  return changed;
}

/** A lone fused_elementwise that reads a one-element constant: inlining it as a literal is progress. */
function hasLiteralOperand(n: Node): boolean {
  return n.op === 'fused_elementwise' && n.inputs.some((v) => literalOf(v, n) !== undefined);
}

export const fuseElementwise: Pass = { name: 'fuse-elementwise', run: (g, ctx) => fuseElementwiseIn(g, ctx) };
