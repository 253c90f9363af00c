/**
 * Control-flow simplification (ir/control_flow.ts has the ops). Rules, each on one node of the
 * graph it runs on (the manager runs the pass in every region too, innermost first):
 *
 * - a `cond` whose predicate is a constant is replaced by the region it takes, inlined;
 * - a capture no region reads is dropped (operand and block arguments), a value captured
 *   twice is captured once, and a captured constant becomes a constant of the regions (so a
 *   cond inside a loop on a constant outside folds too);
 * - a `cond` result, or a `scan` y, that nobody uses is no longer yielded;
 * - a loop value or scan carry that the body yields unchanged becomes a capture (its result is
 *   its initial value); one that nothing outside reads and that feeds only its own next value is
 *   dropped;
 * - loop-invariant code motion: a node of a while_loop's or scan's region whose operands are all
 *   captures or constants moves out in front of the loop, and its results become captures;
 * - computation on a scan's slices alone (an RNN's input projection) moves out as one op over
 *   every step, scanned as one more x, on backends where that measured faster
 *   (BackendTraits.batchScanInputs: cpu).
 *
 * Never moved or folded: random and io nodes (nodeEffect), so a draw inside a loop stays one
 * draw per iteration. A node is hoisted even if the loop might run zero times: it is pure, so
 * that costs time, never a different result.
 */
import type { Graph, Node, TensorType, Value } from '../graph.js';
import { OPS } from '../ops.js';
import { nodeEffect, regionResults, setRegionOutputs } from '../regions.js';
import type { Pass } from './pass.js';
import { constData, insertBefore, replaceBlocker, replaceValue, splatValue, typeEq } from './rewrite.js';

/** Where the captures start among a control-flow node's operands (and its regions' block arguments, offset by `argShift`). */
function captureStart(n: Node): { operand: number; argShift: number } {
  switch (n.op) {
    case 'cond': return { operand: 1, argShift: -1 };
    case 'while_loop': return { operand: n.regions[1]!.outputs.length, argShift: 0 };
    case 'scan': return { operand: (n.attrs.num_carries as number) + (n.attrs.num_xs as number), argShift: 0 };
    default: return { operand: n.inputs.length, argShift: 0 };
  }
}

/**
 * Replaces `n` by a node of the same op on `inputs` with its (edited) `regions`, whose result i
 * stands for `n`'s result keep[i]; every other result of `n` must be unused.
 */
function rebuild(g: Graph, n: Node, inputs: Value[], keep: readonly number[]): Node {
  const m = insertBefore(g, n, () => g.addNode(n.op, inputs, n.attrs, n.loc, undefined, n.regions));
  keep.forEach((k, i) => replaceValue(g, n.outputs[k]!, m.outputs[i]!));
  g.removeNode(n);
  return m;
}

function allOutputs(n: Node): number[] {
  return n.outputs.map((_, i) => i);
}

/** A value nobody reads, fetches or returns. */
function unused(g: Graph, v: Value): boolean {
  return v.uses.length === 0 && v.name === undefined && !g.isOutput(v);
}

/** Copies region `r`'s nodes in front of `before` in `g` with its block arguments bound to `args`; returns what it yields. */
export function inlineRegion(g: Graph, before: Node, r: Graph, args: readonly Value[]): Value[] {
  const map = new Map<Value, Value>();
  r.inputs.forEach((v, i) => map.set(v, args[i]!));
  for (const m of r.nodes) {
    const copy = insertBefore(g, before, () => g.addNode(m.op, m.inputs.map((v) => map.get(v)!), m.attrs, m.loc,
      m.outputs.map((o) => o.type), m.regions.map((x) => x.clone())));
    m.outputs.forEach((o, i) => map.set(o, copy.outputs[i]!));
  }
  return regionResults(r).map((v) => map.get(v)!);
}

/** A cond whose predicate is a constant: the region it takes, inlined. */
function foldCond(g: Graph, n: Node): boolean {
  const pred = n.inputs[0]!;
  const c = constData(pred);
  const x = c !== undefined && c.data.length === 1 ? Number(c.data[0]!) : splatValue(pred);
  if (x === undefined) return false;
  const taken = n.regions[x !== 0 && !Number.isNaN(x) ? 0 : 1]!;
  // A result the branches disagree on has a data-dependent dim: the taken branch's exact type would change its users' types.
  if (!n.outputs.every((o, i) => typeEq(o.type, taken.outputs[i]!.value.type))) return false;
  const results = inlineRegion(g, n, taken, n.inputs.slice(1));
  n.outputs.forEach((o, i) => {
    let to = results[i]!;
    // A named result whose replacement is named too, or is an input: through an identity.
    if (replaceBlocker(o, to) !== undefined) to = insertBefore(g, n, () => g.addNode('identity', [to], {}, n.loc)).outputs[0]!;
    replaceValue(g, o, to);
  });
  g.removeNode(n);
  return true;
}

/** Drops captures no region reads and captures of a value already captured; the rebuilt node, or undefined. */
function pruneCaptures(g: Graph, n: Node): Node | undefined {
  const { operand, argShift } = captureStart(n);
  const drop: number[] = [];
  for (let j = operand; j < n.inputs.length; j++) {
    const first = n.inputs.indexOf(n.inputs[j]!, operand);
    const arg = (r: Graph) => r.inputs[j + argShift]!;
    const p = n.inputs[j]!.producer;
    if (first < j) {
      // Captured twice: read the first block argument instead.
      for (const r of n.regions) {
        const a = arg(r), b = r.inputs[first + argShift]!;
        if (a.uses.length > 0 || r.isOutput(a)) r.replaceAllUsesWith(a, b, { outputs: true });
      }
    } else if (p?.op === 'const') {
      // A captured constant becomes a constant of each region that reads it (the tensor is shared).
      for (const r of n.regions) {
        const a = arg(r);
        if (a.uses.length === 0 && !r.isOutput(a)) continue;
        const c = r.addNode('const', [], p.attrs, p.loc, [a.type]);
        const head = r.nodes[0]!;
        if (head !== c) r.moveBefore(c, head);
        r.replaceAllUsesWith(a, c.outputs[0]!, { outputs: true });
      }
    }
  }
  // Then what no region reads (after the merges: a first capture may be read only through a duplicate).
  for (let j = operand; j < n.inputs.length; j++) {
    const arg = (r: Graph) => r.inputs[j + argShift]!;
    if (n.regions.every((r) => arg(r).uses.length === 0 && !r.isOutput(arg(r)))) drop.push(j);
  }
  if (drop.length === 0) return undefined;
  for (const r of n.regions) {
    const args = drop.map((j) => r.inputs[j + argShift]!);
    for (const a of args) r.removeInput(a);
  }
  return rebuild(g, n, n.inputs.filter((_, j) => !drop.includes(j)), allOutputs(n));
}

/** Stops yielding cond results and scan ys that nobody uses; the rebuilt node, or undefined. */
function pruneResults(g: Graph, n: Node): Node | undefined {
  if (n.op !== 'cond' && n.op !== 'scan') return undefined;
  const first = n.op === 'cond' ? 0 : (n.attrs.num_carries as number);
  const keep = allOutputs(n).filter((i) => i < first || !unused(g, n.outputs[i]!));
  if (keep.length === n.outputs.length) return undefined;
  for (const r of n.regions) setRegionOutputs(r, keep.map((i) => regionResults(r)[i]!));
  return rebuild(g, n, [...n.inputs], keep);
}

/**
 * A loop value (while_loop) or carry (scan) that the body yields unchanged is a capture: the
 * result is its initial value. Moves it to the captures; the rebuilt node, or undefined.
 */
function invariantCarries(g: Graph, n: Node): Node | undefined {
  if (n.op !== 'while_loop' && n.op !== 'scan') return undefined;
  const body = n.regions[n.regions.length - 1]!;
  const count = n.op === 'scan' ? (n.attrs.num_carries as number) : body.outputs.length;
  const fixed: number[] = [];
  for (let i = 0; i < count; i++) {
    const arg = body.inputs[i]!;
    if (body.outputs[i]!.value === arg && typeEq(n.inputs[i]!.type, arg.type) && replaceBlocker(n.outputs[i]!, n.inputs[i]!) === undefined) fixed.push(i);
  }
  // A while_loop keeps one loop value (its body yields at least one).
  if (n.op === 'while_loop' && fixed.length === count) fixed.pop();
  if (fixed.length === 0) return undefined;
  for (const i of fixed) replaceValue(g, n.outputs[i]!, n.inputs[i]!);
  for (const r of n.regions) {
    const moved = fixed.map((i) => r.inputs[i]!);
    const rest = r.inputs.filter((v) => !moved.includes(v));
    r.inputs.splice(0, r.inputs.length, ...rest, ...moved);
    r.inputs.forEach((v, k) => { v.index = k; });
  }
  setRegionOutputs(body, regionResults(body).filter((_, i) => !fixed.includes(i)));
  const inputs = [...n.inputs.filter((_, i) => !fixed.includes(i)), ...fixed.map((i) => n.inputs[i]!)];
  const keep = allOutputs(n).filter((i) => !fixed.includes(i));
  if (n.op === 'scan') {
    const attrs = { ...n.attrs, num_carries: count - fixed.length };
    const m = insertBefore(g, n, () => g.addNode(n.op, inputs, attrs, n.loc, undefined, n.regions));
    keep.forEach((k, i) => replaceValue(g, n.outputs[k]!, m.outputs[i]!));
    g.removeNode(n);
    return m;
  }
  return rebuild(g, n, inputs, keep);
}

/** The values of region `r` that its outputs other than `skip`, and its random and io nodes, read (transitively). */
function liveWithout(r: Graph, skip: number): Set<Value> {
  const live = new Set<Value>();
  const stack: Value[] = r.outputs.filter((_, i) => i !== skip).map((o) => o.value);
  for (const m of r.nodes) if (nodeEffect(m) !== 'pure') stack.push(...m.inputs);
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (live.has(v)) continue;
    live.add(v);
    if (v.producer) stack.push(...v.producer.inputs);
  }
  return live;
}

/**
 * A loop value (while_loop) or carry (scan) that nothing outside reads and that feeds only its
 * own next value (not the loop condition, another loop value, a y, nor a random or io node):
 * dropped. The rebuilt node, or undefined.
 */
function deadCarries(g: Graph, n: Node): Node | undefined {
  if (n.op !== 'while_loop' && n.op !== 'scan') return undefined;
  const body = n.regions[n.regions.length - 1]!;
  const count = n.op === 'scan' ? (n.attrs.num_carries as number) : body.outputs.length;
  for (let i = 0; i < count; i++) {
    if (!unused(g, n.outputs[i]!)) continue;
    if (n.op === 'while_loop' && count === 1) break;
    const inCond = n.op === 'while_loop' && liveWithout(n.regions[0]!, -1).has(n.regions[0]!.inputs[i]!);
    if (inCond || liveWithout(body, i).has(body.inputs[i]!)) continue;
    setRegionOutputs(body, regionResults(body).filter((_, k) => k !== i));
    for (const r of n.regions) {
      const arg = r.inputs[i]!;
      // What read it in the body fed only the dropped output: gone with it.
      for (const m of [...r.nodes].reverse()) {
        if (nodeEffect(m) === 'pure' && m.outputs.every((o) => o.uses.length === 0 && !r.isOutput(o))) r.removeNode(m);
      }
      if (arg.uses.length === 0 && !r.isOutput(arg)) r.removeInput(arg);
      else throw new Error(`deadCarries: block argument ${i} of ${n.op} is still read`);
    }
    const inputs = n.inputs.filter((_, k) => k !== i);
    const keep = allOutputs(n).filter((k) => k !== i);
    const attrs = n.op === 'scan' ? { ...n.attrs, num_carries: count - 1 } : n.attrs;
    const m = insertBefore(g, n, () => g.addNode(n.op, inputs, attrs, n.loc, undefined, n.regions));
    keep.forEach((k, j) => replaceValue(g, n.outputs[k]!, m.outputs[j]!));
    g.removeNode(n);
    return m;
  }
  return undefined;
}

/**
 * Moves one loop-invariant node out of a while_loop / scan region: a pure node (a pure cond or loop too) whose
 * operands are all captured block arguments or constants. Its results become new captures.
 * The rebuilt node, or undefined.
 */
function hoistInvariant(g: Graph, n: Node): Node | undefined {
  if (n.op !== 'while_loop' && n.op !== 'scan') return undefined;
  const { operand } = captureStart(n);
  for (const r of n.regions) {
    const captured = new Set(r.inputs.slice(operand));
    const invariant = (v: Value) => captured.has(v) || v.producer?.op === 'const';
    const m = r.nodes.find((x) => x.op !== 'const' && x.inputs.length > 0 && nodeEffect(x) === 'pure' && x.inputs.every(invariant));
    if (m === undefined) continue;
    const outer = m.inputs.map((v) => {
      if (captured.has(v)) return n.inputs[v.index]!;
      const p = v.producer!;
      return insertBefore(g, n, () => g.addNode('const', [], p.attrs, p.loc, [v.type])).outputs[0]!;
    });
    // A pure control-flow node moves with its regions.
    const h = insertBefore(g, n, () => g.addNode(m.op, outer, m.attrs, m.loc, m.outputs.map((o) => o.type), m.regions));
    m.outputs.forEach((o) => {
      for (const q of n.regions) {
        const arg = q.addInput(q.freshName('inv'), o.type);
        if (q === r) r.replaceAllUsesWith(o, arg, { outputs: true });
      }
    });
    r.removeNode(m);
    return rebuild(g, n, [...n.inputs, ...h.outputs], allOutputs(n));
  }
  return undefined;
}

/** Moves block argument `arg` of region `r` to position `at` (the other arguments keep their order). */
function moveArg(r: Graph, arg: Value, at: number): void {
  const ins = r.inputs;
  ins.splice(ins.indexOf(arg), 1);
  ins.splice(at, 0, arg);
  ins.forEach((v, k) => { v.index = k; });
}

/**
 * Scan inputs the body no longer reads (a hoisted computation reads them outside): dropped,
 * keeping one. The rebuilt node, or undefined.
 */
function pruneXs(g: Graph, n: Node): Node | undefined {
  if (n.op !== 'scan') return undefined;
  const body = n.regions[0]!;
  const nc = n.attrs.num_carries as number, nx = n.attrs.num_xs as number;
  const drop: number[] = [];
  for (let j = nc; j < nc + nx && nx - drop.length > 1; j++) {
    const a = body.inputs[j]!;
    if (a.uses.length === 0 && !body.isOutput(a)) drop.push(j);
  }
  if (drop.length === 0) return undefined;
  for (const j of [...drop].reverse()) body.removeInput(body.inputs[j]!);
  const attrs = { ...n.attrs, num_xs: nx - drop.length };
  const m = insertBefore(g, n, () => g.addNode(n.op, n.inputs.filter((_, j) => !drop.includes(j)), attrs, n.loc, undefined, n.regions));
  n.outputs.forEach((o, i) => replaceValue(g, o, m.outputs[i]!));
  g.removeNode(n);
  return m;
}

/**
 * Computation on the scanned slices alone, hoisted out of a scan as one op over every step: a
 * pure node of the body whose operands are slices, captures or constants (a slice among them),
 * of a kind that maps over a leading axis (an elementwise op whose slice operands have the
 * result's rank and whose other operands no higher; a matmul on a slice by a capture; a reshape;
 * a transpose), computed on the stacked xs before the loop and scanned as one more x. The input
 * projection of an RNN (x·W for every step) becomes one matmul this way. The rebuilt node, or
 * undefined.
 */
function hoistMapped(g: Graph, n: Node): Node | undefined {
  if (n.op !== 'scan') return undefined;
  // Where it pays (BackendTraits.batchScanInputs; checked by the caller).
  const body = n.regions[0]!;
  const nc = n.attrs.num_carries as number, nx = n.attrs.num_xs as number;
  const slices = new Set(body.inputs.slice(nc, nc + nx));
  const captured = new Set(body.inputs.slice(nc + nx));
  const length = n.inputs[nc]!.shape[0]!;
  const outerOf = (v: Value): Value => {
    if (slices.has(v) || captured.has(v)) return n.inputs[v.index]!;
    const p = v.producer!;
    return insertBefore(g, n, () => g.addNode('const', [], p.attrs, p.loc, [v.type])).outputs[0]!;
  };
  for (const m of body.nodes) {
    if (m.outputs.length !== 1 || m.regions.length > 0 || nodeEffect(m) !== 'pure' || m.op === 'const') continue;
    if (!m.inputs.some((v) => slices.has(v))) continue;
    if (!m.inputs.every((v) => slices.has(v) || captured.has(v) || v.producer?.op === 'const')) continue;
    const out = m.outputs[0]!, rank = out.shape.length;
    let attrs = m.attrs;
    const d = OPS[m.op];
    if (d.fusion === 'elementwise') {
      if (!m.inputs.every((v) => (slices.has(v) ? v.shape.length === rank : v.shape.length <= rank))) continue;
    } else if (m.op === 'matmul' || m.op === 'fused_matmul') {
      if (!slices.has(m.inputs[0]!) || m.inputs[0]!.shape.length !== rank || m.inputs.slice(1).some((v) => slices.has(v) || v.shape.length > rank)) continue;
    } else if (m.op === 'reshape') {
      // The slice's result shape (a -1 resolved): the stacked element count may not be affine.
      attrs = { ...m.attrs, shape: [length, ...out.shape] };
    } else if (m.op === 'transpose') {
      attrs = { ...m.attrs, perm: [0, ...(m.attrs.perm as readonly number[]).map((p) => p + 1)] };
    } else continue;
    const want: TensorType = { dtype: out.dtype, shape: [length, ...out.shape] };
    let stacked: Node;
    const made = g.track(() => {
      try {
        stacked = insertBefore(g, n, () => g.addNode(m.op, m.inputs.map(outerOf), attrs, m.loc));
        return typeEq(stacked.outputs[0]!.type, want);
      } catch {
        return false;
      }
    });
    if (!made.result) {
      for (const x of [...made.added].reverse()) g.removeNode(x);
      continue;
    }
    const arg = body.addInput(body.freshName('xs'), out.type);
    moveArg(body, arg, nc + nx);
    body.replaceAllUsesWith(out, arg, { outputs: true });
    body.removeNode(m);
    const inputs = [...n.inputs.slice(0, nc + nx), stacked!.outputs[0]!, ...n.inputs.slice(nc + nx)];
    const m2 = insertBefore(g, n, () => g.addNode(n.op, inputs, { ...n.attrs, num_xs: nx + 1 }, n.loc, undefined, n.regions));
    n.outputs.forEach((o, i) => replaceValue(g, o, m2.outputs[i]!));
    g.removeNode(n);
    return m2;
  }
  return undefined;
}

export const controlFlow: Pass = {
  name: 'control-flow',
  run(g, ctx) {
    let changed = false;
    for (const n of [...g.nodes]) {
      if (n.regions.length === 0 || !g.hasNode(n)) continue;
      if (n.op === 'cond' && foldCond(g, n)) { changed = true; continue; }
      let node = n;
      const step = (f: (g: Graph, n: Node) => Node | undefined): boolean => {
        const m = f(g, node);
        if (m === undefined) return false;
        changed = true;
        node = m;
        return true;
      };
      step(pruneResults);
      step(invariantCarries);
      while (step(deadCarries));
      step(pruneCaptures);
      // Hoist to a fixed point on this loop (a chain of invariant nodes moves out one by one).
      for (let k = 0; k < 64 && step(hoistInvariant); k++);
      if (ctx.backend?.batchScanInputs === true) {
        for (let k = 0; k < 64 && step(hoistMapped); k++);
        step(pruneXs);
      }
    }
    return changed;
  },
};
