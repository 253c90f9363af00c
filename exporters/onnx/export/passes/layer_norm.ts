/**
 * LayerNormalization (opset 17) for the layer norm that tfjs computes in pieces: tfjs-layers'
 * layerNormalization (moments, then batchNorm with every operand broadcast to x's shape, as
 * about 20 ONNX nodes with Expands and reshapes) and the same written with tfjs ops
 * (`tf.moments` or mean/variance over the last axes, sub, rsqrt or div by sqrt, scale, offset).
 *
 *   m = ReduceMean(X, last k axes, keepdims)     v = ReduceMean((X − m)², same axes, keepdims)
 *   Y = (X − m) · (v + ε)^−½ · γ + β             (products and quotients in any order)
 *   → Y = LayerNormalization(X, γ, β, axis = rank − k, epsilon = ε)
 *
 * Sound by construction, not by op names alone:
 * - every X in the pattern is the same tensor (the same source through reshapes and casts to
 *   its own dtype, with the same shape up to leading 1s); the statistics are m and v themselves
 *   (through Expand, Identity and reshapes that only add or drop leading 1s);
 * - the axes are the last k axes of X, k ≥ 1, of static size; ε is a one-element float constant;
 * - γ and β (any value, computed or constant, through the same broadcasts) broadcast into the
 *   normalized dims: after their leading 1s, each dim is 1 or the normalized dim it lines up
 *   with. A constant γ or β is written out at the normalized shape (ONNX Runtime wants that);
 *   another is reshaped and expanded to it;
 * - Y's shape is X's up to leading 1s (put back by Unsqueeze, or taken away by Squeeze).
 * Only float32. Below opset 17 (ctx.opset) nothing changes.
 *
 * Numerics: onnxruntime-node 1.30's LayerNormalization gives tfjs's numbers within 4.8e-7 on
 * rows of 64 with mean 0, 100 and 1000 (std 1), closer than the decomposition it replaces
 * (1.7e-5 and 8.1e-5 at means 100 and 1000).
 */
import type { DType } from '../../../../ir/dtype.js';
import { isStatic } from '../../../../ir/dim.js';
import type { TensorData } from '../../../../ir/tensor_data.js';
import type { OnnxGraph, OnnxNode } from '../onnx_graph.js';
import { attr, producers, removeDead } from '../onnx_graph.js';
import type { OnnxPass, PassCtx } from './pass.js';
import type { PShape } from './shapes.js';
import { constInts, inferDTypes, inferShapes, pdimEq } from './shapes.js';

/** Everything a match needs to know of the graph (recomputed after each rewrite). */
interface Facts {
  g: OnnxGraph;
  shapes: Map<string, PShape>;
  dtypes: Map<string, DType>;
  prod: Map<string, OnnxNode>;
}

function facts(g: OnnxGraph): Facts {
  return { g, shapes: inferShapes(g), dtypes: inferDTypes(g), prod: producers(g) };
}

const intAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = n.attrs[name];
  return a?.kind === 'int' ? a.value : dflt;
};

/** A shape without its leading 1s. */
function stripOnes(s: PShape): PShape {
  let i = 0;
  while (i < s.length && s[i] === 1) i++;
  return s.slice(i);
}

/** Same dims up to leading 1s (every dim known). */
function eqUpToOnes(a: PShape | undefined, b: PShape | undefined): boolean {
  if (!a || !b) return false;
  const x = stripOnes(a), y = stripOnes(b);
  return x.length === y.length && x.every((d, i) => pdimEq(d, y[i]));
}

/** Follows ops that keep a tensor's elements and their order: Identity, Reshape, a Cast to the dtype it has. */
function dataSource(f: Facts, name: string): string {
  for (;;) {
    const n = f.prod.get(name);
    if (!n) return name;
    const src = n.inputs[0]!;
    const keepsType = n.opType === 'Cast' && f.dtypes.get(src) === 'float32' && intAttr(n, 'to', 0) === 1;
    if (n.opType !== 'Identity' && n.opType !== 'Reshape' && !keepsType) return name;
    name = src;
  }
}

/** Follows broadcasts that keep a value's right-aligned elements: Identity, Expand, reshapes and (un)squeezes that only change leading 1s. */
function broadcastSource(f: Facts, name: string): string {
  for (;;) {
    const n = f.prod.get(name);
    if (!n) return name;
    const src = n.inputs[0]!;
    const ok = n.opType === 'Identity' || n.opType === 'Expand'
      || ((n.opType === 'Reshape' || n.opType === 'Unsqueeze' || n.opType === 'Squeeze') && eqUpToOnes(f.shapes.get(src), f.shapes.get(name)));
    if (!ok) return name;
    name = src;
  }
}

/** The one value of a one-element float32 initializer (through broadcasts), else undefined. */
function scalarConst(f: Facts, name: string): number | undefined {
  const t = f.g.initializers.get(broadcastSource(f, name));
  return t && t.dtype === 'float32' && t.data.length === 1 ? Number(t.data[0]) : undefined;
}

/** The statistics of a candidate: X, its shape, the normalized rank k, the mean and the variance. */
interface Stats { x: string; xShape: PShape; k: number; mean: string; variance: string }

/** The axes of a Reduce node (attribute or constant input), normalized against rank r. */
function reduceAxes(f: Facts, n: OnnxNode, r: number): number[] | undefined {
  const a = n.inputs.length > 1 ? constInts(f.g, n.inputs[1]) : (n.attrs.axes?.kind === 'ints' ? [...n.attrs.axes.value] : undefined);
  return a?.map((v) => (v < 0 ? v + r : v));
}

/** k when `axes` are exactly the last k axes of rank r (k ≥ 1, each of static size in `shape`). */
function trailingAxes(axes: readonly number[] | undefined, shape: PShape): number | undefined {
  if (!axes || axes.length === 0) return undefined;
  const r = shape.length, k = axes.length;
  const sorted = [...axes].sort((a, b) => a - b);
  if (sorted.some((a, i) => a !== r - k + i)) return undefined;
  if (sorted.some((a) => { const d = shape[a]; return d === undefined || !isStatic(d); })) return undefined;
  return k;
}

/** ReduceMean(X, last k axes, keepdims) with X float32 of known shape: its statistics' first half. */
function meanOf(f: Facts, n: OnnxNode): { x: string; xShape: PShape; k: number } | undefined {
  if (n.opType !== 'ReduceMean' || intAttr(n, 'keepdims', 1) !== 1) return undefined;
  const x = n.inputs[0]!;
  const xShape = f.shapes.get(x);
  if (!xShape || f.dtypes.get(x) !== 'float32') return undefined;
  const k = trailingAxes(reduceAxes(f, n, xShape.length), xShape);
  return k === undefined ? undefined : { x, xShape, k };
}

/** Whether `name` is the tensor X of the statistics (the same data, the same shape up to leading 1s). */
function isX(f: Facts, s: { x: string; xShape: PShape }, name: string): boolean {
  return eqUpToOnes(f.shapes.get(name), s.xShape) && dataSource(f, name) === dataSource(f, s.x);
}

/** Sub(X, mean) of these statistics. */
function isDiff(f: Facts, s: { x: string; xShape: PShape; mean: string }, name: string): boolean {
  const n = f.prod.get(name);
  return n?.opType === 'Sub' && isX(f, s, n.inputs[0]!) && broadcastSource(f, n.inputs[1]!) === s.mean;
}

/** Whether ReduceMean node `n` is the variance of these statistics: mean((X − m)²) over the same trailing axes. */
function isVarianceOf(f: Facts, s: { x: string; xShape: PShape; k: number; mean: string }, n: OnnxNode): boolean {
  if (n.opType !== 'ReduceMean' || intAttr(n, 'keepdims', 1) !== 1) return false;
  const sq = f.prod.get(n.inputs[0]!);
  const sqShape = f.shapes.get(n.inputs[0]!);
  if (!sq || !sqShape || trailingAxes(reduceAxes(f, n, sqShape.length), sqShape) !== s.k) return false;
  let d: string | undefined;
  if (sq.opType === 'Mul' && sq.inputs[0] === sq.inputs[1]) d = sq.inputs[0];
  else if (sq.opType === 'Pow' && scalarConst(f, sq.inputs[1]!) === 2) d = sq.inputs[0];
  return d !== undefined && isDiff(f, s, d);
}

/** A factor of a product: a value and its power (+1 or −1). */
interface Factor { name: string; power: 1 | -1 }

/** The factors of a product of Mul, Div and Reciprocal nodes (at most 8: a layer norm has 3). */
function factorsOf(f: Facts, name: string, power: 1 | -1, out: Factor[]): void {
  const n = out.length < 8 ? f.prod.get(name) : undefined;
  const neg = (power === 1 ? -1 : 1);
  if (n?.opType === 'Mul') { factorsOf(f, n.inputs[0]!, power, out); factorsOf(f, n.inputs[1]!, power, out); return; }
  if (n?.opType === 'Div') { factorsOf(f, n.inputs[0]!, power, out); factorsOf(f, n.inputs[1]!, neg, out); return; }
  if (n?.opType === 'Reciprocal') { factorsOf(f, n.inputs[0]!, neg, out); return; }
  out.push({ name, power });
}

/** ε when `name` is sqrt(v + ε) (or (v + ε)^½) of this variance, with the power it has (−½ gives −1). */
function stdOf(f: Facts, variance: string, name: string, power: 1 | -1): { eps: number; power: 1 | -1 } | undefined {
  const n = f.prod.get(name);
  let sum: string | undefined, p = power;
  if (n?.opType === 'Sqrt') sum = n.inputs[0];
  else if (n?.opType === 'Pow') {
    const e = scalarConst(f, n.inputs[1]!);
    if (e === 0.5 || e === -0.5) { sum = n.inputs[0]; if (e < 0) p = (power === 1 ? -1 : 1); }
  }
  const a = sum === undefined ? undefined : f.prod.get(sum);
  if (a?.opType !== 'Add') return undefined;
  for (const [v, e] of [[a.inputs[0]!, a.inputs[1]!], [a.inputs[1]!, a.inputs[0]!]] as const) {
    const eps = scalarConst(f, e);
    if (eps !== undefined && eps >= 0 && broadcastSource(f, v) === variance) return { eps, power: p };
  }
  return undefined;
}

/** `name` (through broadcasts) when it is float32 and broadcasts into the normalized dims: a γ or β. */
function paramOf(f: Facts, s: Stats, name: string): string | undefined {
  const p = broadcastSource(f, name);
  const shape = f.shapes.get(p);
  if (!shape || f.dtypes.get(p) !== 'float32') return undefined;
  const norm = s.xShape.slice(s.xShape.length - s.k);
  const own = stripOnes(shape);
  if (own.length > s.k) return undefined;
  const ok = own.every((d, i) => d === 1 || pdimEq(d, norm[s.k - own.length + i]));
  return ok ? p : undefined;
}

interface Match { stats: Stats; eps: number; scale?: string; bias?: string }

/** The layer norm that node `y` computes, if it is one: (X − m)·(v + ε)^−½ [· γ] [+ β]. */
function matchAt(f: Facts, y: OnnxNode, statsOf: (mean: string) => Stats | undefined): Match | undefined {
  const out = y.outputs[0]!;
  const tryProduct = (name: string, bias?: string): Match | undefined => {
    const fs: Factor[] = [];
    factorsOf(f, name, 1, fs);
    // The diff names the statistics.
    const diffs = fs.filter((x) => x.power === 1 && f.prod.get(x.name)?.opType === 'Sub');
    for (const d of diffs) {
      const sub = f.prod.get(d.name)!;
      const stats = statsOf(broadcastSource(f, sub.inputs[1]!));
      if (!stats || !isDiff(f, stats, d.name)) continue;
      const rest = fs.filter((x) => x !== d);
      let eps: number | undefined, scale: string | undefined, ok = true;
      for (const r of rest) {
        const sd = stdOf(f, stats.variance, r.name, r.power);
        if (sd !== undefined && sd.power === -1 && eps === undefined) { eps = sd.eps; continue; }
        const p = r.power === 1 && scale === undefined ? paramOf(f, stats, r.name) : undefined;
        if (p !== undefined) { scale = p; continue; }
        ok = false;
        break;
      }
      if (!ok || eps === undefined || !eqUpToOnes(f.shapes.get(out), stats.xShape)) continue;
      if (bias !== undefined && paramOf(f, stats, bias) === undefined) continue;
      return { stats, eps, scale, bias: bias === undefined ? undefined : paramOf(f, stats, bias) };
    }
    return undefined;
  };
  if (y.opType === 'Add') return tryProduct(y.inputs[0]!, y.inputs[1]!) ?? tryProduct(y.inputs[1]!, y.inputs[0]!);
  if (y.opType === 'Mul' || y.opType === 'Div') return tryProduct(out);
  return undefined;
}

/** The statistics whose mean is `mean`, by the ReduceMean nodes of the graph. */
function statsFinder(f: Facts): (mean: string) => Stats | undefined {
  const cache = new Map<string, Stats | undefined>();
  const variances = f.g.nodes.filter((n) => n.opType === 'ReduceMean');
  return (mean) => {
    if (cache.has(mean)) return cache.get(mean);
    let found: Stats | undefined;
    const mn = f.prod.get(mean);
    const m = mn ? meanOf(f, mn) : undefined;
    if (m) {
      const s = { ...m, mean };
      const v = variances.find((n) => n !== mn && isVarianceOf(f, s, n));
      if (v) found = { ...s, variance: v.outputs[0]! };
    }
    cache.set(mean, found);
    return found;
  };
}

/** `data` broadcast (right-aligned, leading 1s dropped) to the static shape `to`. */
function broadcastData(data: TensorData, to: readonly number[]): Float32Array {
  const from = stripOnes(data.shape) as readonly number[];
  const out = new Float32Array(to.reduce((p, d) => p * d, 1));
  const off = to.length - from.length;
  const strides = from.map((_, i) => from.slice(i + 1).reduce((p, d) => p * d, 1));
  const idx = new Array<number>(to.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let a = 0; a < from.length; a++) if (from[a] !== 1) src += idx[a + off]! * strides[a]!;
    out[i] = Number(data.data[src]);
    for (let a = to.length - 1; a >= 0; a--) { if (++idx[a]! < to[a]!) break; idx[a] = 0; }
  }
  return out;
}

/** Rewrites node y (at its place in the graph) as LayerNormalization. */
function rewrite(f: Facts, y: OnnxNode, m: Match, ctx: PassCtx): void {
  const g = f.g;
  const { x, xShape, k } = m.stats;
  const norm = xShape.slice(xShape.length - k) as number[];
  const before: OnnxNode[] = [];
  const node = (opType: string, inputs: string[], out: string): string => {
    before.push({ opType, inputs, outputs: [out], attrs: {}, name: ctx.freshNode(`${y.name}_${opType.toLowerCase()}`), doc: y.doc });
    return out;
  };
  const i64 = (vs: readonly number[]) => {
    const n = ctx.freshValue(`const_i64_${vs.length}`);
    g.initializers.set(n, { dtype: 'int64', shape: [vs.length], data: BigInt64Array.from(vs, (v) => BigInt(v)) });
    return n;
  };
  const param = (p: string | undefined, what: string, fill: number): string => {
    const t = p === undefined ? undefined : g.initializers.get(p);
    if (p === undefined || t) {
      const name = ctx.freshValue(`${y.outputs[0]!}_${what}`);
      const data = t ? broadcastData(t, norm) : new Float32Array(norm.reduce((q, d) => q * d, 1)).fill(fill);
      g.initializers.set(name, { dtype: 'float32', shape: [...norm], data });
      return name;
    }
    const own = stripOnes(f.shapes.get(p)!);
    const exact = own.length === k && own.every((d, i) => pdimEq(d, norm[i]));
    const padded = [...new Array<number>(k - own.length).fill(1), ...own.map((d) => d as number)];
    const r = f.shapes.get(p)!.length === k ? p : node('Reshape', [p, i64(padded)], ctx.freshValue(`${p}_${k}d`));
    return exact ? r : node('Expand', [r, i64(norm)], ctx.freshValue(`${p}_expanded`));
  };
  const scale = param(m.scale, 'scale', 1);
  const ins = [x, scale];
  if (m.bias !== undefined) ins.push(param(m.bias, 'bias', 0));
  const out = y.outputs[0]!;
  const yRank = f.shapes.get(out)!.length, xRank = xShape.length;
  const lnOut = yRank === xRank ? out : ctx.freshValue(`${out}_ln`);
  const ln: OnnxNode = { opType: 'LayerNormalization', inputs: ins, outputs: [lnOut],
    attrs: { axis: attr.int(xRank - k), epsilon: attr.float(m.eps) }, name: y.name, doc: y.doc };
  const after: OnnxNode[] = [];
  if (yRank !== xRank) {
    const lead = Array.from({ length: Math.abs(yRank - xRank) }, (_, i) => i);
    after.push({ opType: yRank > xRank ? 'Unsqueeze' : 'Squeeze', inputs: [lnOut, i64(lead)], outputs: [out], attrs: {},
      name: ctx.freshNode(`${y.name}_${yRank > xRank ? 'unsqueeze' : 'squeeze'}`), doc: y.doc });
  }
  g.nodes.splice(g.nodes.indexOf(y), 1, ...before, ln, ...after);
}

export const fuseLayerNorm: OnnxPass = {
  name: 'layer-norm',
  run(g, ctx) {
    if ((ctx.opset ?? 0) < 17 || !g.nodes.some((n) => n.opType === 'ReduceMean')) return false;
    let changed = false;
    let f = facts(g);
    let statsOf = statsFinder(f);
    // From the last node back, so that Y + β is taken before the Y it adds to.
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const y = g.nodes[i];
      if (y === undefined || y.outputs.length !== 1 || f.dtypes.get(y.outputs[0]!) !== 'float32') continue;
      const m = matchAt(f, y, statsOf);
      if (!m) continue;
      rewrite(f, y, m, ctx);
      removeDead(g);
      changed = true;
      f = facts(g);
      statsOf = statsFinder(f);
      i = g.nodes.length;
    }
    return changed;
  },
};
