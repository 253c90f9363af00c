/**
 * Loop rolling: a loop that JavaScript ran over the slices of a tensor (tfjs-layers' RNNs:
 * `tf.unstack` along time, then one cell step per slice) is traced as a chain of identical steps.
 * This finds such a chain in a trace and rolls it into one `scan` node (ir/regions.ts), so that
 * the graph is the same for every length: the traces of a symbolic time dim then unify
 * (unify.ts), and a fixed length keeps one loop instead of a copy of the step per time step.
 *
 * What a rollable trace looks like (T = the number of slices):
 *
 *   prefix    nodes before the loop; among them an `unpack` into T slices x_0 … x_{T-1} (or,
 *             instead, each block starts from a tf.slice one step wide of one tensor, at step t)
 *   block t   S nodes for step t, t = 0 … T-1, one after the other; block t reads x_t, values of
 *             its own block, values of block t-1 (the carries: h, c) and values from before the
 *             loop (weights: the scan's captures). Block 0 reads, where the others read a carry,
 *             its initial value. Every block has the same ops, attrs and types in the same order;
 *             the last block may lack nodes that only a next step would read (the tracer drops
 *             them). Constants (nodes without operands) stand apart and compare by value: the
 *             tracer makes an outer tensor's constant where step 0 first reads it.
 *   per step  optionally, after the loop, a run of T groups of nodes, group t reading block t
 *             (a map over the steps' results written after the loop): appended to the step.
 *   joiners   a `pack` / `concat` / `add_n` of one value of every step, in step order (tf.stack of
 *             the per-step outputs, return_sequences): the scan's ys, stacked, then moved into place.
 *   suffix    the rest reads the last step's values: a carry (the scan's final carry), or another
 *             value of the last step (its y at index T-1).
 *
 * Every node of the trace is accounted for by one of these roles and every operand of a step is
 * checked against the template step (block 1), so the rolled graph computes what the trace did,
 * step by step; anything else is a failure with a reason, and the trace is left as it was.
 */
import { Codes, GcError } from '../../ir/errors.js';
import { Graph, Node, typeToString } from '../../ir/graph.js';
import type { Value } from '../../ir/graph.js';
import type { AttrValue, Attrs } from '../../ir/ops.js';
import { addScan, nodeEffect } from '../../ir/regions.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { tensorDataEq } from '../../ir/tensor_data.js';

/**
 * What tracing does with a JavaScript loop over tf.unstack slices (gc.compile's `loops`):
 * 'auto' (default) and 'roll' roll a loop into a scan, over a symbolic dim (the only way such a
 * function has one graph) and of a fixed length (a graph and an ONNX file whose size does not
 * grow with the length: an LSTM of 64 steps is 31 nodes, not 1543). Unrolling did not measure
 * faster overall (rolled/unrolled 0.26–1.9 on cpu and wasm, 0.7–1.3 in ONNX Runtime, by cell,
 * batch and length, bench/rnn_roll.ts), so a loop is kept; 'unroll' rolls nothing (the chain
 * as traced; a loop over a symbolic dim is then an error). A loop that cannot be rolled stays
 * as traced at a fixed length.
 */
export type LoopMode = 'auto' | 'roll' | 'unroll';

export interface RollOptions {
  /** Roll only unpacks into exactly this many slices (the traced size of a symbolic dim). */
  steps?: number;
  /** Without `steps`: roll unpacks into at least this many slices (default 2). */
  minSteps?: number;
}

/** Why a loop was not rolled. */
export interface RollFailure {
  reason: string;
  node?: Node;
}

export interface RollReport {
  graph: Graph;
  /**
   * Where node i of the graph given is in `graph` (the nodes before and after a loop are copied
   * one for one); undefined for a node that became part of a scan.
   */
  nodeIndex: (i: number) => number | undefined;
  /** Loops rolled into scans. */
  rolled: number;
  /** The candidate loops (unpacks into T slices) that stayed unrolled, and why. */
  failures: RollFailure[];
}

/** Rolls every loop over unpacked slices that it can into a `scan`; returns `g` itself when none. */
export function rollLoops(g: Graph, opts: RollOptions = {}): RollReport {
  const minSteps = opts.minSteps ?? 2;
  const fits = (T: number) => T >= 2 && (opts.steps !== undefined ? T === opts.steps : T >= minSteps);
  let cur = g, rolled = 0;
  const failures: RollFailure[] = [];
  /** Each node of `g` → the node it is now (absent: rolled into a scan). */
  const now = new Map<Node, Node>(g.nodes.map((n) => [n, n]));
  for (;;) {
    const candidates = sources(cur, fits);
    // Candidates that failed stay in front (a rolled loop is replaced by a scan, after them).
    const next = candidates[failures.length];
    if (next === undefined) break;
    const r = rollOne(cur, next);
    if (!('reason' in r)) {
      for (const [orig, n] of now) {
        const m = r.copied.get(n);
        if (m === undefined) now.delete(orig); else now.set(orig, m);
      }
      cur = r.graph;
      rolled++;
    } else failures.push(r);
  }
  const before = g.nodes;
  const at = new Map<Node, number>(cur.nodes.map((n, i) => [n, i]));
  const nodeIndex = (i: number) => {
    const n = before[i] === undefined ? undefined : now.get(before[i]!);
    return n === undefined ? undefined : at.get(n);
  };
  return { graph: cur, nodeIndex, rolled, failures };
}

/** A rolled graph and, for each node copied from the graph before, its copy. */
interface Rolled { graph: Graph; copied: Map<Node, Node> }

/**
 * Slices of one value along one axis, one per step, in step order: tf.slice(x, [0, t, 0],
 * [-1, 1, -1]) written in the loop. Each is a node of its step's block.
 */
interface SliceFamily { readonly nodes: readonly Node[]; readonly input: Value; readonly axis: number; readonly begin0: number }

/** What a loop's steps read one slice of each: an unpack into T values, or T slices. */
type Source = { readonly k: 'unpack'; readonly node: Node } | { readonly k: 'slices'; readonly fam: SliceFamily };

const sourceSteps = (s: Source) => (s.k === 'unpack' ? s.node.outputs.length : s.fam.nodes.length);
const sourceNode = (s: Source) => (s.k === 'unpack' ? s.node : s.fam.nodes[0]!);

/** The loop sources of `g` whose number of steps `fits`, by the position of their first node. */
function sources(g: Graph, fits: (T: number) => boolean): Source[] {
  const out: { at: number; s: Source }[] = [];
  const groups = new Map<string, { at: number; nodes: Node[] }>();
  g.nodes.forEach((n, i) => {
    if (n.op === 'unpack' && fits(n.outputs.length)) out.push({ at: i, s: { k: 'unpack', node: n } });
    if (n.op === 'slice') {
      const key = `${n.inputs[0]!.id}|${JSON.stringify(n.attrs['size'])}`;
      const grp = groups.get(key);
      if (grp === undefined) groups.set(key, { at: i, nodes: [n] }); else grp.nodes.push(n);
    }
  });
  for (const { at, nodes } of groups.values()) {
    if (!fits(nodes.length)) continue;
    const begins = nodes.map((n) => n.attrs['begin'] as readonly unknown[]);
    const size = nodes[0]!.attrs['size'] as readonly unknown[];
    const axes = begins[0]!.map((_, a) => a).filter((a) => begins.some((b) => b[a] !== begins[0]![a]));
    if (axes.length !== 1 || size[axes[0]!] !== 1) continue;
    const axis = axes[0]!;
    const b0 = begins[0]![axis];
    if (typeof b0 !== 'number' || !begins.every((b, t) => b[axis] === b0 + t)) continue;
    out.push({ at, s: { k: 'slices', fam: { nodes, input: nodes[0]!.inputs[0]!, axis, begin0: b0 } } });
  }
  return out.sort((a, b) => a.at - b.at).map((x) => x.s);
}

// ---- matching ---------------------------------------------------------------------------------

/** What an operand of a step node is. */
type Ref =
  | { readonly k: 'local'; readonly pos: number; readonly out: number } // a value of the same step
  | { readonly k: 'carry'; readonly pos: number; readonly out: number } // the previous step's value
  | { readonly k: 'x'; readonly src: Node | SliceFamily }              // this step's slice (of an unpack, or its tf.slice)
  | { readonly k: 'outer'; readonly v: Value }                          // a value from before the loop
  | { readonly k: 'const'; readonly node: Node; readonly out: number };  // a constant (compared by value)

/**
 * A node without operands that computes the same thing wherever it is (const, fill): the tracer
 * makes one where a step first uses an outer tensor, or anew in every step (tf.scalar(0.5)).
 * Such nodes are not part of the step sequence; steps compare them by value.
 */
function floating(n: Node): boolean {
  return n.inputs.length === 0 && n.regions.length === 0 && nodeEffect(n) === 'pure';
}

function refEq(a: Ref, b: Ref): boolean {
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'local': case 'carry': return a.pos === (b as typeof a).pos && a.out === (b as typeof a).out;
    case 'x': return a.src === (b as typeof a).src;
    case 'outer': return a.v === (b as typeof a).v;
    case 'const': {
      const c = b as typeof a;
      return a.out === c.out && a.node.op === c.node.op && attrsEq(a.node.attrs, c.node.attrs)
        && typeToString(a.node.outputs[a.out]!.type) === typeToString(c.node.outputs[c.out]!.type);
    }
  }
}

function refText(r: Ref): string {
  switch (r.k) {
    case 'local': return `the step's node #${r.pos}`;
    case 'carry': return `the previous step's node #${r.pos}`;
    case 'x': return 'the step\'s slice';
    case 'outer': return `%${r.v.name ?? r.v.id} from before the loop`;
    case 'const': return `a ${r.node.op}`;
  }
}

function isTensorData(v: AttrValue): v is TensorData {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'data' in v;
}

function attrEq(a: AttrValue | undefined, b: AttrValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (isTensorData(a) || isTensorData(b)) return isTensorData(a) && isTensorData(b) && tensorDataEq(a, b);
  return JSON.stringify(a) === JSON.stringify(b);
}

function attrsEq(a: Attrs, b: Attrs): boolean {
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => attrEq(a[k], b[k]));
}

/** A node's op, attrs and result types: what must agree between steps (operands aside; attrs unless `slices`, each step's own). */
function sameNode(a: Node, b: Node, slices = false): string | undefined {
  if (a.op !== b.op) return `${a.op} vs ${b.op}`;
  if (a.inputs.length !== b.inputs.length) return `${a.op} with ${a.inputs.length} vs ${b.inputs.length} operands`;
  if (a.outputs.length !== b.outputs.length) return `${a.op} with ${a.outputs.length} vs ${b.outputs.length} results`;
  if (!slices && !attrsEq(a.attrs, b.attrs)) return `${a.op} with other attrs`;
  for (let i = 0; i < a.outputs.length; i++) {
    const ta = typeToString(a.outputs[i]!.type), tb = typeToString(b.outputs[i]!.type);
    if (ta !== tb) return `${a.op} of type ${ta} vs ${tb}`;
  }
  return undefined;
}

const sigOf = (n: Node) => `${n.op}|${n.outputs.length}|${n.outputs.map((v) => typeToString(v.type)).join(',')}`;

/** A joiner of the steps' values: pack / concat / add_n of one value of every step, in order. */
const JOINERS = new Set(['pack', 'concat', 'add_n']);

interface Layout {
  T: number;
  /** Per step: its nodes (block, then its group of the per-step run after the loop), by position. */
  steps: Node[][];
  /** Node → [step, position]. */
  where: Map<Node, readonly [number, number]>;
  /** Index of the first node after the last block. */
  end: number;
  /** Nodes of the per-step run after the loop (moved into the step). */
  run: Set<Node>;
}

function fail(reason: string, node?: Node): RollFailure {
  return node === undefined ? { reason } : { reason, node };
}

/** Rolls the loop over the slices of `source`, or says why not. */
function rollOne(g: Graph, source: Source): Rolled | RollFailure {
  const nodes = g.nodes.filter((n) => !floating(n));
  const index = new Map<Node, number>();
  nodes.forEach((n, i) => index.set(n, i));
  const src = sourceNode(source);
  const T = sourceSteps(source);
  const first: number[] = [];
  for (let t = 0; t < T; t++) {
    if (source.k === 'slices') { first.push(index.get(source.fam.nodes[t]!)!); continue; }
    const uses = source.node.outputs[t]!.uses;
    if (uses.length === 0) return fail(`slice ${t} of the unpack is never read`, src);
    first.push(Math.min(...uses.map((u) => index.get(u.node)!)));
  }
  const S = first[1]! - first[0]!;
  if (S <= 0) return fail('the steps do not read their slices in order', src);
  for (let t = 1; t < T; t++) {
    if (first[t]! - first[t - 1]! !== S) return fail(`the steps differ in length (step ${t - 1}: ${first[t]! - first[t - 1]!} ops, step 0: ${S})`, nodes[first[t - 1]!]);
  }
  // The phase: a step may start before the node that reads its slice (h·U before x·W); the
  // block starts as far back as the nodes before step 0 and step 1 agree.
  let phase = 0;
  const floor = source.k === 'unpack' ? index.get(src)! : -1;
  while (phase + 1 < S && first[0]! - phase - 1 > floor
    && sigOf(nodes[first[0]! - phase - 1]!) === sigOf(nodes[first[1]! - phase - 1]!)) phase++;
  let firstFailure: RollFailure | undefined;
  for (let p = phase; p >= 0; p--) {
    const r = rollAt(g, nodes, index, source, first.map((c) => c - p), S);
    if (!('reason' in r)) return r;
    firstFailure ??= r;
  }
  return firstFailure!;
}

function rollAt(g: Graph, nodes: readonly Node[], index: Map<Node, number>, source: Source, starts: number[], S: number): Rolled | RollFailure {
  const src = sourceNode(source);
  const T = starts.length;
  const where = new Map<Node, readonly [number, number]>();
  const steps: Node[][] = [];
  for (let t = 0; t < T - 1; t++) {
    steps.push(nodes.slice(starts[t]!, starts[t]! + S));
    if (steps[t]!.length < S) return fail('the last step is cut short', src);
    steps[t]!.forEach((n, k) => where.set(n, [t, k]));
  }
  // The last step may lack what only the next step would have read (the tracer keeps only what
  // reaches a result: a masked RNN's last carried state): its nodes are matched to the template's
  // positions in order, skipping such positions (the rolled body computes them; they are unused).
  const carriedOnly = T >= 3 ? nextStepOnly(steps[1]!, new Set(steps[2] ?? [])) : new Set<number>();
  const lastStep: Node[] = new Array<Node>(S);
  // The last step's template: step 1 (step 0 may read initial values), or step 0 for two steps.
  const template = steps[Math.min(1, steps.length - 1)]!;
  let end = starts[T - 1]!;
  for (let k = 0; k < S; k++) {
    const n = nodes[end];
    if (n !== undefined && sameNode(n, template[k]!, true) === undefined) { lastStep[k] = n; where.set(n, [T - 1, k]); end++; continue; }
    if (!carriedOnly.has(k)) return fail(`the last step is cut short (it has no op #${k}, ${template[k]!.op}, which step ${Math.min(1, steps.length - 1)} uses itself)`, n ?? src);
  }
  steps.push(lastStep);
  // A per-step run after the loop: group t reads block t (tf.stack's expandDims, a map over the results).
  const stepOfValue = (v: Value) => (v.producer === null ? undefined : where.get(v.producer)?.[0]);
  const readsStep = (i: number, t: number) => nodes[i]!.inputs.some((v) => stepOfValue(v) === t);
  let f = -1;
  for (let i = end; i < nodes.length && f < 0; i++) if (readsStep(i, 0) && !isJoiner(nodes[i]!, T, where)) f = i;
  const run = new Set<Node>();
  if (f >= 0) {
    let g1 = -1;
    for (let i = f + 1; i < nodes.length && g1 < 0; i++) if (readsStep(i, 1)) g1 = i;
    const m = g1 - f;
    if (g1 > f && f + T * m <= nodes.length) {
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < m; j++) {
          const n = nodes[f + t * m + j]!;
          where.set(n, [t, S + j]);
          steps[t]!.push(n);
          run.add(n);
        }
      }
    }
  }
  const layout: Layout = { T, steps, where, end, run };
  return build(g, nodes, index, source, starts[0]!, layout);
}

/**
 * Positions of a step (its nodes `step`) whose values only the next step reads (`next`), directly
 * or through other such positions.
 */
function nextStepOnly(step: readonly Node[], next: ReadonlySet<Node>): Set<number> {
  const pos = new Map<Node, number>(step.map((n, k) => [n, k]));
  const out = new Set<number>(step.map((_, k) => k));
  for (let changed = true; changed;) {
    changed = false;
    for (const [n, k] of pos) {
      if (!out.has(k)) continue;
      const ok = n.outputs.every((v) => v.uses.length > 0 && v.uses.every((u) => next.has(u.node) || (pos.has(u.node) && out.has(pos.get(u.node)!))));
      if (!ok) { out.delete(k); changed = true; }
    }
  }
  return out;
}

function isJoiner(n: Node, T: number, where: Map<Node, readonly [number, number]>): boolean {
  if (!JOINERS.has(n.op) || n.inputs.length !== T) return false;
  const at = (v: Value) => (v.producer === null ? undefined : where.get(v.producer));
  const w0 = at(n.inputs[0]!);
  if (w0 === undefined) return false;
  return n.inputs.every((v, t) => {
    const w = at(v);
    return w !== undefined && w[0] === t && w[1] === w0[1] && v.index === n.inputs[0]!.index;
  });
}

function build(g: Graph, nodes: readonly Node[], index: Map<Node, number>, source: Source, start0: number, L: Layout): Rolled | RollFailure {
  const { T, steps, where } = L;
  const src = sourceNode(source);
  const fam = source.k === 'slices' ? source.fam : undefined;
  /** The step's own tf.slice nodes → their step. */
  const stepSlice = new Map<Node, number>(fam?.nodes.map((n, t) => [n, t]) ?? []);
  for (const [n, t] of stepSlice) if (where.get(n)?.[0] !== t) return fail(`the slice for step ${t} is not in step ${t}`, n);
  const xSources: (Node | SliceFamily)[] = fam === undefined ? [] : [fam];
  const classify = (v: Value, t: number, user: Node): Ref | RollFailure => {
    if (fam !== undefined && v === fam.input && stepSlice.get(user) === t) return { k: 'x', src: fam };
    const p = v.producer;
    if (p === null) return { k: 'outer', v };
    if (floating(p)) return { k: 'const', node: p, out: v.index };
    const w = where.get(p);
    if (w !== undefined) {
      if (w[0] === t) return { k: 'local', pos: w[1], out: v.index };
      if (w[0] === t - 1) return { k: 'carry', pos: w[1], out: v.index };
      return fail(`step ${t} reads a value of step ${w[0]} (only the previous step's values can be carried)`, user);
    }
    const i = index.get(p)!;
    if (p.op === 'unpack' && p.outputs.length === T && i < start0) {
      if (v.index !== t) return fail(`step ${t} reads slice ${v.index} of an unpack into ${T} (a step reads its own slice)`, user);
      if (!xSources.includes(p)) xSources.push(p);
      return { k: 'x', src: p };
    }
    if (i >= start0) return fail(`step ${t} reads %${v.name ?? v.id}, computed after the loop`, user);
    return { k: 'outer', v };
  };
  // Operands of every step, checked against the template (step 1; step 0 has initial values where it carries).
  const tmpl = steps[1]!;
  const refs: Ref[][] = [];
  for (const n of tmpl) {
    const rs: Ref[] = [];
    for (const v of n.inputs) {
      const r = classify(v, 1, n);
      if (!('k' in r)) return r;
      rs.push(r);
    }
    refs.push(rs);
  }
  const inits = new Map<string, Value>();
  // Steps 2… first, step 0 (which starts the carries) last: a failure names the general case.
  const order = [...Array.from({ length: T - 1 }, (_, i) => i + 1), 0];
  for (const t of order) {
    if (steps[t]!.length !== tmpl.length) return fail(`step ${t} has ${steps[t]!.length} ops, step 1 ${tmpl.length}`, steps[t]!.find((n) => n !== undefined));
    for (let k = 0; k < tmpl.length; k++) {
      const n = steps[t]![k], m = tmpl[k]!;
      if (n === undefined) continue; // a position the last step lacks (read by no one)
      const diff = sameNode(n, m, stepSlice.has(n) && stepSlice.has(m));
      if (diff !== undefined) return fail(`step ${t} differs from step 1 at its op #${k}: ${diff}`, n);
      if (n.regions.length > 0) return fail(`a step holds control flow (${n.op}): nested loops are not rolled`, n);
      const eff = nodeEffect(n);
      if (eff === 'random' || eff === 'stateful') return fail(`a step holds a ${eff} op (${n.op}), which the trace ran once per step`, n);
      if (t === 1) continue;
      for (let i = 0; i < n.inputs.length; i++) {
        const r = classify(n.inputs[i]!, t, n);
        if (!('k' in r)) return r;
        const want = refs[k]![i]!;
        if (t === 0 && want.k === 'carry') {
          if (r.k !== 'outer' && r.k !== 'const') return fail(`step 0 reads ${refText(r)} where the next steps read ${refText(want)}`, n);
          const v = n.inputs[i]!;
          const key = `${want.pos}:${want.out}`;
          const before = inits.get(key);
          if (before !== undefined && before !== v) return fail(`step 0 starts one carried value from two values (%${before.name ?? before.id}, %${v.name ?? v.id})`, n);
          inits.set(key, v);
          continue;
        }
        if (!refEq(r, want)) return fail(`step ${t} reads ${refText(r)} where step 1 reads ${refText(want)} (operand ${i} of its op #${k}, ${n.op})`, n);
      }
    }
  }
  // The carries: what a step reads of the previous one, by position.
  const carries: [number, number][] = [];
  const carryIndex = new Map<string, number>();
  for (const rs of refs) for (const r of rs) {
    if (r.k !== 'carry') continue;
    const key = `${r.pos}:${r.out}`;
    if (!carryIndex.has(key)) { carryIndex.set(key, carries.length); carries.push([r.pos, r.out]); }
  }
  for (const [pos, out] of carries) {
    const init = inits.get(`${pos}:${out}`)!;
    const carried = tmpl[pos]!.outputs[out]!.type;
    if (typeToString(init.type) !== typeToString(carried)) {
      return fail(`a carried value starts as ${typeToString(init.type)} and is carried as ${typeToString(carried)}`, tmpl[pos]);
    }
  }
  // The slices are read by their steps only.
  for (const x of xSources) {
    if (!(x instanceof Node)) continue; // a step's tf.slice is a node of its step
    for (const [t, v] of x.outputs.entries()) {
      for (const u of v.uses) if (where.get(u.node)?.[0] !== t) return fail(`slice ${t} is also read outside its step (by ${u.node.op})`, u.node);
    }
  }
  // After the loop: joiners, the last step's values, nothing of the other steps.
  type After = { k: 'final'; carry: number } | { k: 'last'; pos: number; out: number } | { k: 'value'; v: Value };
  const ys: [number, number][] = [];
  const yIndex = (pos: number, out: number) => {
    let i = ys.findIndex(([p, o]) => p === pos && o === out);
    if (i < 0) { i = ys.length; ys.push([pos, out]); }
    return i;
  };
  const after = (v: Value, user: Node | undefined): After | RollFailure => {
    const p = v.producer;
    if (p !== null) {
      const w = where.get(p);
      if (w !== undefined) {
        if (w[0] !== T - 1) return fail(`${user ? `${user.op} after the loop` : 'the function'} reads a value of step ${w[0]} of ${T} (only the last step's values, or all of them stacked, are a loop's results)`, user ?? p);
        const c = carryIndex.get(`${w[1]}:${v.index}`);
        if (c !== undefined) return { k: 'final', carry: c };
        return { k: 'last', pos: w[1], out: v.index };
      }
      if (xSources.includes(p) || stepSlice.has(p)) return fail('a slice is read after the loop', user);
    }
    return { k: 'value', v };
  };
  const suffix: { n: Node; joined?: number; ins: After[] }[] = [];
  for (let i = L.end; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (L.run.has(n)) continue;
    if (isJoiner(n, T, where)) {
      const w = where.get(n.inputs[0]!.producer!)!;
      suffix.push({ n, joined: yIndex(w[1], n.inputs[0]!.index), ins: [] });
      continue;
    }
    const ins: After[] = [];
    for (const v of n.inputs) {
      const a = after(v, n);
      if (!('k' in a)) return a;
      if (a.k === 'last') yIndex(a.pos, a.out);
      ins.push(a);
    }
    suffix.push({ n, ins });
  }
  const outs: After[] = [];
  for (const o of g.outputs) {
    const a = after(o.value, undefined);
    if (!('k' in a)) return a;
    if (a.k === 'last') yIndex(a.pos, a.out);
    outs.push(a);
  }

  // ---- the rolled graph ----
  const out = new Graph(g.name);
  const vmap = new Map<Value, Value>();
  const copied = new Map<Node, Node>();
  g.inputs.forEach((v) => vmap.set(v, out.addInput(v.name!, v.type)));
  g.states.forEach((s) => vmap.set(s.value, out.addState(s.name, s.value.type, s.initSource, s.trainable, s.value.name)));
  const copyNode = (n: Node, inputs: Value[]) => {
    const m = out.addNode(n.op, inputs, n.attrs, n.loc, n.outputs.map((v) => v.type), n.regions.map((r) => r.clone()));
    copied.set(n, m);
    n.outputs.forEach((v, k) => {
      vmap.set(v, m.outputs[k]!);
      if (v.name !== undefined) out.setName(m.outputs[k]!, v.name);
    });
    return m;
  };
  const mapped = (v: Value) => {
    const w = vmap.get(v);
    if (w === undefined) throw new Error(`rollLoops: %${v.name ?? v.id} has no value in the rolled graph`);
    return w;
  };
  // Constants read outside the steps (or starting a carry) come first; those only steps read are made in the body.
  const initSet = new Set(inits.values());
  for (const n of g.nodes) {
    if (!floating(n)) continue;
    if (n.outputs.some((v) => initSet.has(v) || g.isOutput(v) || v.uses.some((u) => !where.has(u.node)))) copyNode(n, []);
  }
  for (let i = 0; i < start0; i++) {
    const n = nodes[i]!;
    if ((xSources as object[]).includes(n)) continue;
    copyNode(n, n.inputs.map(mapped));
  }
  const xs = xSources.map((x) => {
    const [axis, loc] = x instanceof Node ? [x.attrs['axis'] as number, x.loc] : [x.axis, x.nodes[0]!.loc];
    let v = mapped(x instanceof Node ? x.inputs[0]! : x.input);
    if (!(x instanceof Node) && (x.begin0 !== 0 || v.shape[axis] !== T)) {
      // The steps read T slices from begin0 on: those, and no more.
      v = out.add('slice', [v], { begin: v.shape.map((_, i) => (i === axis ? x.begin0 : 0)), size: v.shape.map((d, i) => (i === axis ? T : d)) }, loc);
    }
    if (axis === 0) return v;
    const perm = [axis, ...v.shape.map((_, i) => i).filter((i) => i !== axis)];
    return out.add('transpose', [v], { perm }, loc);
  });
  const captures: Value[] = [];
  for (const rs of refs) for (const r of rs) if (r.k === 'outer' && !captures.includes(r.v)) captures.push(r.v);
  const initVals = carries.map(([pos, out2]) => mapped(inits.get(`${pos}:${out2}`)!));
  const nC = carries.length, nX = xs.length;
  const results = addScan(out, initVals, xs, captures.map(mapped), (r, args) => {
    const built: Node[] = [];
    const consts = new Map<Node, Node>();
    const constIn = (c: Node) => {
      let m = consts.get(c);
      if (m === undefined) { m = r.addNode(c.op, [], c.attrs, c.loc, c.outputs.map((v) => v.type)); consts.set(c, m); }
      return m;
    };
    tmpl.forEach((m, k) => {
      const ins = refs[k]!.map((ref) => {
        switch (ref.k) {
          case 'local': return built[ref.pos]!.outputs[ref.out]!;
          case 'carry': return args[carryIndex.get(`${ref.pos}:${ref.out}`)!]!;
          case 'x': return args[nC + xSources.indexOf(ref.src)]!;
          case 'outer': return args[nC + nX + captures.indexOf(ref.v)]!;
          case 'const': return constIn(ref.node).outputs[ref.out]!;
        }
      });
      // A step's own tf.slice: the scan's slice, given back its axis of size 1.
      if (stepSlice.has(m)) built.push(r.addNode('reshape', [ins[0]!], { shape: m.outputs[0]!.shape }, m.loc));
      else built.push(r.addNode(m.op, ins, m.attrs, m.loc, m.outputs.map((v) => v.type)));
    });
    return [...carries.map(([pos, o]) => built[pos]!.outputs[o]!), ...ys.map(([pos, o]) => built[pos]!.outputs[o]!)];
  }, { carriedTypes: carries.map(([pos, o]) => tmpl[pos]!.outputs[o]!.type) }, src.loc);
  const finals = results.slice(0, nC), stacked = results.slice(nC);
  const lastOf = new Map<number, Value>();
  const last = (y: number, loc: Node['loc']) => {
    let v = lastOf.get(y);
    if (v === undefined) {
      const ys1 = stacked[y]!;
      const rest = ys1.shape.slice(1);
      const one = out.add('slice', [ys1], { begin: [T - 1, ...rest.map(() => 0)], size: [1, ...rest] }, loc);
      v = out.add('reshape', [one], { shape: rest }, loc);
      lastOf.set(y, v);
    }
    return v;
  };
  const valueOf = (a: After, loc: Node['loc']): Value => {
    switch (a.k) {
      case 'final': return finals[a.carry]!;
      case 'last': return last(ys.findIndex(([p, o]) => p === a.pos && o === a.out), loc);
      case 'value': return mapped(a.v);
    }
  };
  for (const s of suffix) {
    if (s.joined !== undefined) {
      const v = joined(out, s.n, stacked[s.joined]!);
      vmap.set(s.n.outputs[0]!, v);
      if (s.n.outputs[0]!.name !== undefined) out.setName(v, s.n.outputs[0]!.name);
      continue;
    }
    copyNode(s.n, s.ins.map((a) => valueOf(a, s.n.loc)));
  }
  g.outputs.forEach((o, i) => out.setOutput(o.name, valueOf(outs[i]!, undefined)));
  return { graph: out, copied };
}

/** The joiner `n` of every step's value, from those values stacked along a new axis 0 (`ys`). */
function joined(out: Graph, n: Node, ys: Value): Value {
  const r = ys.shape.length - 1; // rank of one step's value
  const moveTo = (a: number) => {
    if (a === 0) return ys;
    const perm: number[] = [];
    for (let i = 0; i <= r; i++) perm.push(i < a ? i + 1 : i === a ? 0 : i);
    return out.add('transpose', [ys], { perm }, n.loc);
  };
  const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);
  let v: Value;
  switch (n.op) {
    case 'pack': v = moveTo(norm(n.attrs['axis'] as number, r + 1)); break;
    case 'concat': v = out.add('reshape', [moveTo(norm(n.attrs['axis'] as number, r))], { shape: n.outputs[0]!.shape }, n.loc); break;
    case 'add_n': v = out.add('reduce_sum', [ys], { axes: [0], keep_dims: false }, n.loc); break;
    default: throw new Error(`rollLoops: ${n.op} is not a joiner`);
  }
  const want = typeToString(n.outputs[0]!.type), got = typeToString(v.type);
  if (want !== got) {
    throw new GcError({ code: Codes.tracePolymorphic, message: `rolling a loop: ${n.op} of the steps is ${want}, rebuilt as ${got}`, loc: n.loc,
      help: 'this is a graphc bug: please report it with the function' });
  }
  return v;
}
