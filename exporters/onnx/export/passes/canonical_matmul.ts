/**
 * The canonical form of dense layers, as a model built by hand writes them: 2-D weights, Gemm
 * (with its bias and transA) where it fits, no reshapes that change nothing. tfjs's matMul and
 * fused matMul kernels are batched 3-D, so a traced Dense layer is Reshape(x, [1, B, K]) →
 * MatMul against [1, K, N] weights → Reshape back; ONNX Runtime runs that 1.2–1.4× slower than
 * the Gemm of a hand-built model (bench/ort_export.ts).
 *
 *   squeezeUnitBatch   Reshape(x, [1, …]) and what follows it elementwise or by MatMul computed
 *                      without the leading 1: U(f(v)) = f(U(v)) for U = unsqueeze at axis 0 when f
 *                      is unary, broadcasting against lower-rank operands, a MatMul, a Softmax or
 *                      a Transpose that keeps axis 0 where it is; [1, …] initializers lose their 1.
 *                      A Reshape reading the region reads the squeezed value (same elements, same
 *                      order); any other reader, or a graph output, gets an Unsqueeze.
 *   dropNoopReshapes   Reshape(x, s) whose result has x's shape → Identity (removed by the clean-up).
 *   matmulToGemm       MatMul(a, w) of 2-D float operands → Gemm; a Transpose of a or w (of a MatMul
 *                      or a Gemm) as transA / transB; an Add of a bias that broadcasts to the
 *                      result, its only reader, as C.
 *   globalPools        ReduceMean / ReduceMax over H and W of a 4-D value → GlobalAveragePool / GlobalMaxPool.
 */
import type { TensorData } from '../../../../ir/tensor_data.js';
import type { OnnxAttrs, OnnxGraph, OnnxNode } from '../onnx_graph.js';
import { attr, isGraphOutput, producers, removeDead } from '../onnx_graph.js';
import { readersOf } from './cleanup.js';
import type { OnnxPass, PassCtx } from './pass.js';
import type { PShape } from './shapes.js';
import { constInts, inferDTypes, inferShapes, pdimEq } from './shapes.js';
import { LAYOUT_CLASS } from './transpose_sinking.js';

const intAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = n.attrs[name];
  return a?.kind === 'int' ? a.value : dflt;
};
const allowsZero = (n: OnnxNode) => intAttr(n, 'allowzero', 0) === 1;

function i64Const(g: OnnxGraph, ctx: PassCtx, values: readonly number[]): string {
  const name = ctx.freshValue(`const_i64_${values.length}`);
  g.initializers.set(name, { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) });
  return name;
}

// ---- squeeze-unit-batch ----------------------------------------------------------------------

type Plan =
  | { kind: 'seed'; node: OnnxNode; spec: readonly number[] }
  | { kind: 'map'; node: OnnxNode; attrs: OnnxAttrs }
  | { kind: 'sink'; node: OnnxNode };

interface Region {
  /** Region value → the name of its squeezed form (given when the region is applied). */
  squeezed: Map<string, string>;
  plans: Map<OnnxNode, Plan>;
  /** Initializers [1, …] read alongside region values, squeezed too. */
  inits: Set<string>;
}

/**
 * How node `n`, reading region value(s), maps onto the squeezed values: its new attrs, or
 * undefined when it does not commute with the unsqueeze (then the region value escapes to it).
 */
function mapNode(g: OnnxGraph, n: OnnxNode, inRegion: (name: string) => boolean, shapes: Map<string, PShape>, inits: Set<string>,
  seeds: Map<string, OnnxNode>, joined: Set<string>): OnnxAttrs | undefined {
  const rank = (name: string) => shapes.get(name)?.length;
  const unitInit = (name: string, r: number) => {
    const t = g.initializers.get(name);
    return t !== undefined && t.shape.length === r && t.shape[0] === 1;
  };
  const out = n.outputs[0];
  if (n.outputs.length !== 1 || out === undefined) return undefined;
  const cls = LAYOUT_CLASS[n.opType];
  if (cls === 'unary' || n.opType === 'Identity') {
    return inRegion(n.inputs[0]!) && n.inputs.slice(1).every((i) => !inRegion(i)) ? n.attrs : undefined;
  }
  if (n.opType === 'Softmax' || n.opType === 'LogSoftmax') {
    const r = rank(n.inputs[0]!);
    if (r === undefined) return undefined;
    const a = intAttr(n, 'axis', -1), ax = a < 0 ? a + r : a;
    return ax >= 1 ? { ...n.attrs, axis: attr.int(ax - 1) } : undefined;
  }
  if (n.opType === 'Transpose') {
    const perm = n.attrs.perm?.kind === 'ints' ? n.attrs.perm.value : undefined;
    if (!perm || perm[0] !== 0) return undefined;
    return { ...n.attrs, perm: attr.ints(perm.slice(1).map((p) => p - 1)) };
  }
  // Operands of the output's rank must be region values or [1, …] initializers; the others of lower rank.
  const operandsFit = (r: number, minOther: number): boolean => {
    const add: string[] = [], joins: string[] = [];
    for (const i of n.inputs) {
      const ri = rank(i);
      if (ri === undefined) return false;
      if (inRegion(i)) { if (ri !== r) return false; continue; }
      if (ri === r && unitInit(i, r)) { add.push(i); continue; }
      if (ri === r && seeds.has(i)) { joins.push(i); continue; }
      if (ri >= r || ri < minOther) return false;
    }
    for (const i of add) inits.add(i);
    for (const i of joins) joined.add(i);
    return true;
  };
  if (cls === 'broadcast' && n.opType !== 'Where') {
    const r = rank(out);
    return r !== undefined && r >= 2 && operandsFit(r, 0) ? n.attrs : undefined;
  }
  if (n.opType === 'MatMul') {
    const r = Math.max(rank(n.inputs[0]!) ?? 0, rank(n.inputs[1]!) ?? 0);
    return r >= 3 && operandsFit(r, 1) ? n.attrs : undefined;
  }
  return undefined;
}

/**
 * The spec of a seed Reshape(x, [1, …spec]) without its 1. A -1 whose dim is a symbolic dim that
 * x has at the same place is written 0 (copy it), as the exporter spells a reshape to symbolic
 * dims (sym_dims.ts), so that an exported model imported and exported again is the same.
 */
function squeezedSpec(x: PShape | undefined, out: PShape | undefined, spec: readonly number[], allowZero: boolean): number[] {
  const rest = spec.slice(1);
  const hole = rest.indexOf(-1);
  const d = out?.[hole + 1];
  if (allowZero || hole < 0 || !x || d === undefined || typeof d === 'number' || !pdimEq(d, x[hole])) return rest;
  return rest.map((v, i) => (i === hole ? 0 : v));
}

/** Reshape(x, [1, …]) nodes (no 0 entries unless allowzero) by their output: where a region starts. */
function seedReshapes(g: OnnxGraph): Map<string, OnnxNode> {
  const seeds = new Map<string, OnnxNode>();
  for (const n of g.nodes) {
    if (n.opType !== 'Reshape') continue;
    const spec = constInts(g, n.inputs[1]);
    if (spec && spec.length >= 3 && spec[0] === 1 && (allowsZero(n) || !spec.includes(0))) seeds.set(n.outputs[0]!, n);
  }
  return seeds;
}

/**
 * The region grown from one seed: the nodes that read its values and commute with the unsqueeze,
 * joined by further seeds they read (a MatMul of two reshaped operands).
 */
function growRegion(g: OnnxGraph, seed: OnnxNode, seeds: Map<string, OnnxNode>, shapes: Map<string, PShape>): Region | undefined {
  const region: Region = { squeezed: new Map(), plans: new Map(), inits: new Set() };
  const work: string[] = [];
  const addSeed = (n: OnnxNode) => {
    if (region.plans.get(n)?.kind === 'seed') return;
    const v = n.outputs[0]!;
    region.plans.set(n, { kind: 'seed', node: n, spec: constInts(g, n.inputs[1])! });
    region.squeezed.set(v, '');
    work.push(v);
  };
  addSeed(seed);
  while (work.length) {
    const v = work.pop()!;
    for (const n of readersOf(g, v)) {
      if (region.plans.has(n)) continue;
      if (n.opType === 'Reshape' && n.inputs[1] !== v) {
        const s = constInts(g, n.inputs[1]);
        // A Reshape to [1, …] of a region value continues the region: Reshape(U(v), [1, …s]) = U(Reshape(v, s)).
        if (seeds.get(n.outputs[0]!) === n) addSeed(n);
        else if (s && (allowsZero(n) || !s.includes(0))) region.plans.set(n, { kind: 'sink', node: n });
        continue;
      }
      const inits = new Set<string>(), joined = new Set<string>();
      const attrs = mapNode(g, n, (x) => region.squeezed.has(x), shapes, inits, seeds, joined);
      if (!attrs) continue;
      for (const i of inits) region.inits.add(i);
      for (const j of joined) addSeed(seeds.get(j)!);
      region.plans.set(n, { kind: 'map', node: n, attrs });
      const o = n.outputs[0]!;
      region.squeezed.set(o, '');
      work.push(o);
    }
  }
  // Worth it when a matmul or a reshape out of the region is rewritten.
  const pays = [...region.plans.values()].some((p) => p.kind === 'sink' || p.node.opType === 'MatMul');
  return pays ? region : undefined;
}

function applyRegion(g: OnnxGraph, region: Region, shapes: Map<string, PShape>, ctx: PassCtx): void {
  const sq = region.squeezed;
  for (const v of sq.keys()) sq.set(v, ctx.freshValue(`${v}_2d`));
  const initSq = new Map<string, string>();
  for (const name of region.inits) {
    const t = g.initializers.get(name)!;
    const s = ctx.freshValue(`${name}_2d`);
    g.initializers.set(s, { ...t, shape: t.shape.slice(1) } as TensorData);
    initSq.set(name, s);
  }
  // A region value read outside the region (or a graph output) is the unsqueeze of its squeezed form.
  const escapes = new Set<string>();
  for (const v of sq.keys()) {
    if (isGraphOutput(g, v) || readersOf(g, v).some((n) => !region.plans.has(n))) escapes.add(v);
  }
  const axes0 = escapes.size ? i64Const(g, ctx, [0]) : '';
  const nodes: OnnxNode[] = [];
  for (const n of g.nodes) {
    const p = region.plans.get(n);
    nodes.push(n);
    if (!p) continue;
    if (p.kind === 'sink') {
      n.inputs[0] = sq.get(n.inputs[0]!)!;
      continue;
    }
    const out = n.outputs[0]!;
    if (p.kind === 'seed') {
      // Reading a region value, the seed reshapes its squeezed form (whose dims are the original's after the 1).
      const x = n.inputs[0]!, xs = sq.get(x);
      n.inputs[1] = i64Const(g, ctx, squeezedSpec(xs === undefined ? shapes.get(x) : shapes.get(x)?.slice(1), shapes.get(out), p.spec, allowsZero(n)));
      if (xs !== undefined) n.inputs[0] = xs;
    } else {
      n.inputs = n.inputs.map((i) => sq.get(i) ?? initSq.get(i) ?? i);
      n.attrs = p.attrs;
    }
    n.outputs[0] = sq.get(out)!;
    if (escapes.has(out)) nodes.push({ opType: 'Unsqueeze', inputs: [sq.get(out)!, axes0], outputs: [out], attrs: {}, name: ctx.freshNode('unsqueeze'), doc: n.doc });
  }
  g.nodes = nodes;
}

export const squeezeUnitBatch: OnnxPass = {
  name: 'squeeze-unit-batch',
  run(g, ctx) {
    // Every region in one run (they are disjoint: a region takes in every seed it touches), so
    // that a deep MLP does not need a round of the pass driver per layer.
    const shapes = inferShapes(g);
    const seeds = seedReshapes(g);
    const done = new Set<OnnxNode>();
    for (const seed of seeds.values()) {
      if (done.has(seed)) continue;
      const region = growRegion(g, seed, seeds, shapes);
      if (!region) continue;
      for (const n of region.plans.keys()) done.add(n);
      applyRegion(g, region, shapes, ctx);
    }
    if (done.size) removeDead(g);
    return done.size > 0;
  },
};

// ---- no-op reshapes ----------------------------------------------------------------------------

/** Whether Reshape(x, spec) gives x's own shape. */
export function isNoopReshape(x: PShape | undefined, spec: readonly number[], allowZero: boolean): boolean {
  if (!x || x.length !== spec.length) return false;
  const holes = spec.filter((d) => d === -1).length;
  if (holes > 1) return false;
  return spec.every((d, i) => {
    const xd = x[i];
    if (d === -1) return true;
    // Beside a -1 (inferred from the element count), every other dim must be a known non-zero.
    if (holes && !(typeof xd === 'number' && xd > 0)) return false;
    if (d === 0 && !allowZero) return true;
    return pdimEq(xd, d);
  });
}

export const dropNoopReshapes: OnnxPass = {
  name: 'drop-noop-reshapes',
  run(g) {
    const shapes = inferShapes(g);
    let changed = false;
    for (const n of g.nodes) {
      if (n.opType !== 'Reshape') continue;
      const spec = constInts(g, n.inputs[1]);
      if (!spec || !isNoopReshape(shapes.get(n.inputs[0]!), spec, allowsZero(n))) continue;
      n.opType = 'Identity';
      n.inputs = [n.inputs[0]!];
      n.attrs = {};
      changed = true;
    }
    return changed;
  },
};

// ---- matmul → Gemm ------------------------------------------------------------------------------

/** Gemm(a, b) without C and alpha/beta as default: an Add of it can be its C. */
const bareGemm = (n: OnnxNode) => n.opType === 'Gemm' && n.inputs.length === 2 && n.attrs.alpha === undefined;

export const matmulToGemm: OnnxPass = {
  name: 'matmul-to-gemm',
  run(g) {
    const shapes = inferShapes(g);
    const dtypes = inferDTypes(g);
    const prod = producers(g);
    /** v's source when v is a 2-D Transpose that only this Gemm reads. */
    const untransposed = (v: string): string | undefined => {
      const t = prod.get(v);
      const perm = t?.opType === 'Transpose' && t.attrs.perm?.kind === 'ints' ? t.attrs.perm.value : undefined;
      return t && perm?.length === 2 && perm[0] === 1 && !isGraphOutput(g, v) && readersOf(g, v).length === 1 ? t.inputs[0] : undefined;
    };
    let changed = false;
    for (const n of [...g.nodes]) {
      // A Gemm reading a 2-D Transpose that nothing else reads takes it as transA / transB
      // (a graph lowered for tfjs-wasm transposes matmul operands explicitly).
      if (n.opType === 'Gemm') {
        const xs = untransposed(n.inputs[0]!), bs = untransposed(n.inputs[1]!);
        if (xs !== undefined || bs !== undefined) {
          const flipped: OnnxAttrs = { ...n.attrs };
          if (xs !== undefined) { n.inputs[0] = xs; flipped.transA = attr.int(1 - intAttr(n, 'transA', 0)); }
          if (bs !== undefined) { n.inputs[1] = bs; flipped.transB = attr.int(1 - intAttr(n, 'transB', 0)); }
          n.attrs = flipped;
          changed = true;
        }
      }
      if (n.opType !== 'MatMul' && !bareGemm(n)) continue;
      let [x, b] = n.inputs as [string, string];
      const y = n.outputs[0]!;
      let transA = 0, transB = 0;
      if (n.opType === 'MatMul') {
        // Gemm is float-only in ONNX Runtime; B float makes A float too.
        if (shapes.get(x)?.length !== 2 || shapes.get(b)?.length !== 2 || dtypes.get(b) !== 'float32') continue;
        const xs = untransposed(x), bs = untransposed(b);
        if (xs !== undefined) { x = xs; transA = 1; }
        if (bs !== undefined) { b = bs; transB = 1; }
      } else {
        transA = intAttr(n, 'transA', 0);
        transB = intAttr(n, 'transB', 0);
      }
      const A = shapes.get(x), W = shapes.get(b);
      const attrs: OnnxAttrs = { transA: attr.int(transA), transB: attr.int(transB) };
      // The bias: an Add that is y's only reader, of an operand that broadcasts to [M, N].
      const rs = readersOf(g, y);
      const add = rs.length === 1 && rs[0]!.opType === 'Add' && !isGraphOutput(g, y) ? rs[0]! : undefined;
      const c = add && add.inputs.filter((i) => i === y).length === 1 ? add.inputs.find((i) => i !== y)! : undefined;
      const C = c === undefined ? undefined : shapes.get(c);
      const m = A?.[transA ? 1 : 0], nn = W?.[transB ? 0 : 1];
      const fits = C !== undefined && C.length <= 2 && C.length >= 1 &&
        (C[C.length - 1] === 1 || pdimEq(C[C.length - 1], nn)) && (C.length === 1 || C[0] === 1 || pdimEq(C[0], m));
      if (add && c !== undefined && fits) {
        // Gemm where the Add was (its bias may be computed after the MatMul).
        add.opType = 'Gemm';
        add.inputs = [x, b, c];
        add.attrs = { ...(n.opType === 'Gemm' ? n.attrs : {}), ...attrs };
        g.nodes.splice(g.nodes.indexOf(n), 1);
      } else if (n.opType === 'MatMul') {
        n.opType = 'Gemm';
        n.inputs = [x, b];
        n.attrs = attrs;
      } else {
        continue;
      }
      changed = true;
    }
    if (changed) removeDead(g);
    return changed;
  },
};

// ---- global pools ---------------------------------------------------------------------------------

const GLOBAL_POOL: Readonly<Record<string, string>> = { ReduceMean: 'GlobalAveragePool', ReduceMax: 'GlobalMaxPool' };

/**
 * ReduceMean / ReduceMax over both spatial axes (2, 3) of a float NCHW value → GlobalAveragePool /
 * GlobalMaxPool (then a Reshape to [N, C] when the reduced axes are dropped): a global
 * pooling layer as ONNX spells it. ONNX Runtime runs the global pool in its blocked NCHWc
 * layout right after a Conv, where a ReduceMean first reorders the whole conv output back to
 * NCHW (cnn_predict/b=32 in bench/ort_export.ts).
 */
export const globalPools: OnnxPass = {
  name: 'global-pools',
  run(g, ctx) {
    const shapes = inferShapes(g);
    const dtypes = inferDTypes(g);
    let changed = false;
    const nodes: OnnxNode[] = [];
    for (const n of g.nodes) {
      nodes.push(n);
      const pool = GLOBAL_POOL[n.opType];
      const x = shapes.get(n.inputs[0] ?? '');
      if (!pool || !x || x.length !== 4 || dtypes.get(n.inputs[0]!) !== 'float32') continue;
      // No channels: ONNX Runtime's NCHWc layout refuses the model at load ("ReorderOutput …
      // invalid channel count", fuzz seed 601465: a mean over the last two axes of [1, 0, 1, 1]).
      if (x[1] === 0) continue;
      const axes = n.inputs.length > 1 ? constInts(g, n.inputs[1]) : (n.attrs.axes?.kind === 'ints' ? [...n.attrs.axes.value] : undefined);
      if (!axes) continue;
      const set = new Set(axes.map((a) => (a < 0 ? a + x.length : a)));
      if (set.size !== x.length - 2 || ![...set].every((a) => a >= 2 && a < x.length)) continue;
      const keep = intAttr(n, 'keepdims', 1) === 1;
      const out = n.outputs[0]!;
      n.opType = pool;
      n.inputs = [n.inputs[0]!];
      n.attrs = {};
      if (!keep) {
        const pooled = ctx.freshValue(`${out}_pool`);
        n.outputs = [pooled];
        // [N, C, 1, 1] → [N, C]: as the exporter writes a reshape (so that import and export again give the same model), or Flatten.
        const c = x[1];
        nodes.push(typeof c === 'number'
          ? { opType: 'Reshape', inputs: [pooled, i64Const(g, ctx, [0, c])], outputs: [out], attrs: {}, name: ctx.freshNode('reshape'), doc: n.doc }
          : { opType: 'Flatten', inputs: [pooled], outputs: [out], attrs: { axis: attr.int(1) }, name: ctx.freshNode('flatten'), doc: n.doc });
      }
      changed = true;
    }
    g.nodes = nodes;
    if (changed) removeDead(g);
    return changed;
  },
};
