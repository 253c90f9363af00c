/**
 * Symbolic dims by unification: the function is traced at several concrete sizes of each
 * symbolic dim; the traces must have the same structure, and every number that differs
 * between them (types, attrs, scalar constants) must be an affine function k·sym + c of
 * exactly one symbol. Anything else is "not polymorphic" and an error that names the op
 * and the user's line — never a silently baked-in size.
 */
import type { Dim } from '../../ir/dim.js';
import { dimEq, sym } from '../../ir/dim.js';
import { Codes, GcError } from '../../ir/errors.js';
import { Graph, regionType, typeToString } from '../../ir/graph.js';
import type { Node, TensorType, Value } from '../../ir/graph.js';
import type { AttrKind, Attrs, AttrValue } from '../../ir/ops.js';
import { inferTypes, OPS } from '../../ir/ops.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { tensorDataEq } from '../../ir/tensor_data.js';
import { seededDraws } from './random.js';

/** Which sizes each trace used: trace 0 is the base; traces 2j+1, 2j+2 vary symbol j. */
export interface TracePlan {
  symbols: string[];
  sizes: number[][]; // sizes[trace][symbol]
  /** How each symbol is written in messages (as in the user's specs: 'batch', '?' for null). */
  display: string[];
}

function isPrime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

/**
 * The sizes to trace at: primes from 7 up, all different, none in `avoid` (the static dims of
 * the specs and of the variables), so that a size in an error message names one symbol and
 * the traces cannot pass by a coincidence of sizes.
 */
export function makePlan(symbols: string[], avoid: ReadonlySet<number> = new Set(), display: string[] = symbols): TracePlan {
  const pool: number[] = [];
  for (let n = 7; pool.length < 3 * symbols.length; n++) if (isPrime(n) && !avoid.has(n)) pool.push(n);
  const base = symbols.map((_, j) => pool[3 * j]!);
  const sizes = [base];
  symbols.forEach((_, j) => {
    for (const k of [1, 2]) {
      const s = [...base];
      s[j] = pool[3 * j + k]!;
      sizes.push(s);
    }
  });
  return { symbols, sizes, display };
}

class Unifier {
  constructor(readonly plan: TracePlan) {}

  /** Fits one number observed in every trace; undefined = not affine in one symbol. */
  fit(xs: number[]): Dim | undefined {
    const x0 = xs[0]!;
    if (xs.every((x) => x === x0)) return x0;
    let found: Dim | undefined;
    for (let j = 0; j < this.plan.symbols.length; j++) {
      const a = xs[2 * j + 1]!, b = xs[2 * j + 2]!;
      if (a === x0 && b === x0) continue;
      if (found !== undefined) return undefined; // depends on two symbols
      const s0 = this.plan.sizes[0]![j]!, s1 = this.plan.sizes[2 * j + 1]![j]!, s2 = this.plan.sizes[2 * j + 2]![j]!;
      const k = (a - x0) / (s1 - s0);
      if (!Number.isInteger(k)) return undefined;
      const c = x0 - k * s0;
      if (x0 + k * (s2 - s0) !== b) return undefined;
      found = sym(this.plan.symbols[j]!, k, c);
    }
    return found;
  }
}

function notPolymorphic(what: string, node: Node | undefined, observed: string, plan: TracePlan,
  help = 'declare this dim with a fixed size in gc.spec, or avoid computing with the size in JavaScript (e.g. x.shape[0])'): GcError {
  const sizes = plan.sizes.map((s) => plan.display.map((n, j) => `${n}=${s[j]}`).join(',')).join('; ');
  return new GcError({
    code: Codes.tracePolymorphic,
    message: `the function is not polymorphic in ${plan.display.map((s) => `'${s}'`).join(', ')}: ${what}`,
    loc: node?.loc,
    node: node ? `${node.op}` : undefined,
    notes: [`observed ${observed}`, `traced with ${sizes}`],
    help,
  });
}

function attrNumbers(v: AttrValue): number[] | undefined {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return undefined;
}

/** Unifies traces of the same function (graphs[0] is the base) into one symbolic graph. */
export function unify(graphs: Graph[], plan: TracePlan): Graph {
  const u = new Unifier(plan);
  const [g0] = graphs as [Graph, ...Graph[]];
  const out = new Graph(g0.name);
  const vmap = new Map<Value, Value>();
  const idx = (g: Graph) => {
    const m = new Map<Value, string>();
    g.inputs.forEach((v, i) => m.set(v, `in${i}`));
    g.states.forEach((s, i) => m.set(s.value, `st:${s.name}`));
    g.nodes.forEach((n, i) => n.outputs.forEach((v, k) => m.set(v, `n${i}.${k}`)));
    return m;
  };
  const ids = graphs.map(idx);

  const fitShape = (types: TensorType[], node: Node | undefined, what: string): TensorType => {
    const r = types[0]!.shape.length;
    if (types.some((t) => t.shape.length !== r || t.dtype !== types[0]!.dtype)) {
      throw notPolymorphic(`${what} changes rank or dtype`, node, types.map(typeToString).join(' / '), plan);
    }
    const shape = types[0]!.shape.map((_, i) => {
      const xs = types.map((t) => t.shape[i] as number);
      const d = u.fit(xs);
      if (d === undefined) throw notPolymorphic(`dim ${i} of ${what}`, node, xs.join(' / '), plan);
      return d;
    });
    return { dtype: types[0]!.dtype, shape };
  };

  g0.inputs.forEach((v, i) => {
    out.addInput(v.name!, fitShape(graphs.map((g) => g.inputs[i]!.type), undefined, `input '${v.name}'`));
    vmap.set(v, out.inputs[i]!);
  });
  g0.states.forEach((s, i) => {
    for (const g of graphs) {
      if (g.states[i]?.name !== s.name) throw notPolymorphic('the variables it reads differ between traces', undefined, g.states.map((x) => x.name).join(','), plan);
    }
    vmap.set(s.value, out.addState(s.name, s.value.type, s.initSource, s.trainable, s.value.name));
  });

  unifyBody(graphs, out, vmap, ids);
  for (const o of g0.outputs) out.setOutput(o.name, vmap.get(o.value)!);
  return out;

  /**
   * The nodes of `gs` (one graph per trace, inputs and states already mapped in `vm`) into `dst`;
   * a control-flow node's regions are unified the same way, block arguments fitted like inputs.
   */
  function unifyBody(gs: Graph[], dst: Graph, vm: Map<Value, Value>, gids: Map<Value, string>[]): void {
    const h0 = gs[0]!;
    for (const g of gs) {
      if (g.nodes.length !== h0.nodes.length) {
        const at = h0.nodes.find((n, i) => g.nodes[i]?.op !== n.op);
        throw notPolymorphic(`traces have different numbers of ops (${h0.nodes.length} vs ${g.nodes.length})`, at, 'a Python-style branch or loop on a size', plan);
      }
    }

    h0.nodes.forEach((n0, i) => {
      const nodes = gs.map((g) => g.nodes[i]!);
      for (const [t, n] of nodes.entries()) {
        const same = n.op === n0.op && n.inputs.length === n0.inputs.length && n.outputs.length === n0.outputs.length && n.inputs.every((v, k) => gids[t]!.get(v) === gids[0]!.get(n0.inputs[k]!));
        if (!same) throw notPolymorphic(`the traces differ at op #${i} (${n0.op} vs ${n.op})`, n0, 'different graph structure', plan);
      }
      let op = n0.op;
      const schema = OPS[op].attrs as Record<string, AttrKind>;
      const attrs: Record<string, AttrValue> = {};
      for (const [key, kind] of Object.entries(schema)) {
        const vals = nodes.map((n) => n.attrs[key]!);
        if (kind === 'tensor') {
          const ts = vals as TensorData[];
          if (ts.every((x) => tensorDataEq(x, ts[0]!))) { attrs[key] = ts[0]!; continue; }
          // A scalar computed from a size in JavaScript (e.g. a mean's divisor): becomes sym_const.
          if (op === 'const' && ts.every((x) => x.shape.length === 0)) {
            const d = u.fit(ts.map((x) => Number(x.data[0]!)));
            if (d !== undefined) { op = 'sym_const'; attrs.value = d; attrs.dtype = ts[0]!.dtype; continue; }
          }
          // A splat (every element equal, e.g. a gradient seed of ones) whose shape follows the size: becomes fill.
          const splat = (x: TensorData) => x.data.length > 0 && Array.prototype.every.call(x.data, (e: number | bigint) => e === x.data[0]);
          if (op === 'const' && ts.every(splat) && ts.every((x) => x.data[0] === ts[0]!.data[0] && x.shape.length === ts[0]!.shape.length)) {
            const shape = ts[0]!.shape.map((_, k) => u.fit(ts.map((x) => x.shape[k]!)));
            if (shape.every((d) => d !== undefined)) {
              op = 'fill'; attrs.shape = shape as Dim[]; attrs.value = Number(ts[0]!.data[0]!); attrs.dtype = ts[0]!.dtype;
              continue;
            }
          }
          const observed = ts.map((x) => `${x.dtype}[${x.shape.join(',')}]`).join(' / ');
          if (op === 'const' && seededDraws.has(n0)) {
            throw notPolymorphic('a random draw with a seed (tf.randomUniform/randomNormal with a seed, or a dropout layer with `seed`) has the traced size in its shape: '
              + 'eager tfjs draws the same values for a given shape on every call, which a graph for every size cannot reproduce', n0, observed, plan,
              'give the dim a fixed size in gc.spec (the draw then stays a constant, as eagerly), or drop the seed (graphc then draws fresh values on every call, as unseeded tfjs does)');
          }
          throw notPolymorphic(`a constant depends on the traced size`, n0, observed, plan);
        }
        const nums = vals.map(attrNumbers);
        if (nums.every((x) => x !== undefined) && nums.some((x) => x!.join(',') !== nums[0]!.join(','))) {
          if (nums.some((x) => x!.length !== nums[0]!.length)) throw notPolymorphic(`attr '${key}' of ${op} changes length`, n0, nums.map((x) => `[${x}]`).join(' / '), plan);
          const fitted = nums[0]!.map((_, k) => u.fit(nums.map((x) => x![k]!)));
          if ((kind !== 'dims' && kind !== 'dim') || fitted.some((d) => d === undefined)) {
            throw notPolymorphic(`attr '${key}' of ${op} depends on the traced size`, n0, nums.map((x) => `[${x}]`).join(' / '), plan);
          }
          attrs[key] = kind === 'dim' ? fitted[0]! : (fitted as Dim[]);
          continue;
        }
        if (kind === 'dims' || kind === 'dim' || kind === 'int' || kind === 'ints' || kind === 'float') { attrs[key] = vals[0]!; continue; }
        if (vals.some((x) => JSON.stringify(x) !== JSON.stringify(vals[0]))) {
          throw notPolymorphic(`attr '${key}' of ${op} differs between traces`, n0, vals.map((x) => JSON.stringify(x)).join(' / '), plan);
        }
        attrs[key] = vals[0]!;
      }
      if (op === 'sym_const' || op === 'fill') {
        const keep = Object.keys(OPS[op].attrs);
        for (const k of Object.keys(attrs)) if (!keep.includes(k)) delete attrs[k];
      }
      const outTypes = n0.outputs.map((_, k) => fitShape(nodes.map((n) => n.outputs[k]!.type), n0, `the result of ${op}`));
      const inputs = n0.inputs.map((v) => vm.get(v)!);
      const regions = n0.regions.map((r0, ri) => unifyRegion(nodes.map((n) => n.regions[ri]!), n0, r0.name));
      checkInference(op, inputs, attrs, outTypes, n0, regions);
      const node = dst.addNode(op, inputs, attrs as Attrs, n0.loc, outTypes, regions.length === 0 ? undefined : regions);
      n0.outputs.forEach((v, k) => {
        vm.set(v, node.outputs[k]!);
        if (v.name !== undefined) dst.setName(node.outputs[k]!, v.name);
      });
    });
    for (const g of gs) {
      if (g.outputs.length !== h0.outputs.length || g.outputs.some((o, i) => o.name !== h0.outputs[i]!.name || gids[gs.indexOf(g)]!.get(o.value) !== gids[0]!.get(h0.outputs[i]!.value))) {
        throw notPolymorphic(`the function returns different outputs (${h0.outputs.length} vs ${g.outputs.length})`, undefined, 'a result list whose length follows the size', plan);
      }
    }
  }

  /** One region of a control-flow node, from its graph in every trace: block arguments fitted as inputs are. */
  function unifyRegion(rs: Graph[], owner: Node, role: string): Graph {
    const r0 = rs[0]!;
    for (const r of rs) {
      if (r.inputs.length !== r0.inputs.length || r.outputs.length !== r0.outputs.length) {
        throw notPolymorphic(`region '${role}' of ${owner.op} differs between traces (${r0.inputs.length} vs ${r.inputs.length} block arguments)`, owner, 'different region signatures', plan);
      }
    }
    const dst = new Graph(r0.name);
    const vm = new Map<Value, Value>();
    r0.inputs.forEach((v, i) => {
      vm.set(v, dst.addInput(v.name ?? `a${i}`, fitShape(rs.map((r) => r.inputs[i]!.type), owner, `block argument ${i} of region '${role}'`)));
    });
    unifyBody(rs, dst, vm, rs.map(idx));
    for (const o of r0.outputs) dst.setOutput(o.name, vm.get(o.value)!);
    return dst;
  }
}

function checkInference(op: Node['op'], inputs: Value[], attrs: Record<string, AttrValue>, fitted: TensorType[], n0: Node, regions: readonly Graph[] = []): void {
  let inferred: TensorType[];
  try {
    inferred = inferTypes(op, inputs.map((v) => v.type), attrs, n0.loc, regions.map(regionType));
  } catch {
    return; // inference cannot follow these symbolic dims; the fitted types stand
  }
  inferred.forEach((t, k) => {
    const f = fitted[k]!;
    if (t.dtype !== f.dtype || t.shape.length !== f.shape.length || !t.shape.every((d, i) => dimEq(d, f.shape[i]!))) {
      throw new GcError({ code: Codes.tracePolymorphic, message: `${op}: traced type ${typeToString(f)} differs from inferred ${typeToString(t)}`, loc: n0.loc,
        help: 'this is a graphc bug: please report it with the function' });
    }
  });
}

