/**
 * One ONNX op for activations that tfjs computes in pieces (tfjs-layers' activations and
 * tf.logSoftmax), where the model's opset has the op and the pattern is exactly its formula:
 *
 *   LogSoftmax (13)  d = x − ReduceMax(x, [a]); d − Log(ReduceSum(Exp(d), [a]))   tf.logSoftmax, 'logSoftmax'
 *   HardSigmoid (6)  Clip(x·α + β, 0, 1)                                           'hardSigmoid' (α 0.2, β 0.5)
 *   Softsign (1)     x / (|x| + 1)                                                 'softsign'
 *   Mish (18)        x · tanh(softplus(x))                                         'mish'
 *   Clip (11)        Min(Relu(x), c ≥ 0), Clip(Relu(x), ≤ 0, c)                    'relu6', reLU({maxValue})
 *
 * Not here, because ONNX ≤ 18 has no such op: Gelu (opset 20; tfjs-layers' 'gelu' via Erf and
 * 'gelu_new' via Tanh stay decomposed), Swish / SiLU (x·sigmoid(x): no ONNX op; HardSwish is
 * another function), ThresholdedRelu (tfjs-layers' x · (x > θ) is NaN at x = NaN or −Inf where
 * ThresholdedRelu gives 0). Already one op from their rules: Elu, Selu, LeakyRelu, PRelu,
 * Softplus, tf.relu6 (Clip), Softmax.
 */
import type { OnnxGraph, OnnxNode } from '../onnx_graph.js';
import { attr, producers } from '../onnx_graph.js';
import type { OnnxPass, PassCtx } from './pass.js';
import { constInts, inferDTypes, inferShapes } from './shapes.js';

const intAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = n.attrs[name];
  return a?.kind === 'int' ? a.value : dflt;
};

/** The value of a one-element float32 initializer, else undefined. */
function scalar(g: OnnxGraph, name: string | undefined): number | undefined {
  const t = name === undefined ? undefined : g.initializers.get(name);
  return t && t.dtype === 'float32' && t.data.length === 1 ? Number(t.data[0]) : undefined;
}

/** The single reduced axis (normalized to rank r) of a keepdims Reduce node, else undefined. */
function oneAxis(g: OnnxGraph, n: OnnxNode, r: number | undefined): number | undefined {
  if (r === undefined || intAttr(n, 'keepdims', 1) !== 1) return undefined;
  const axes = n.inputs.length > 1 ? constInts(g, n.inputs[1]) : (n.attrs.axes?.kind === 'ints' ? n.attrs.axes.value : undefined);
  if (!axes || axes.length !== 1) return undefined;
  const a = axes[0]!;
  return a < 0 ? a + r : a;
}

/** Stands for a float32 0 scalar that the pass adds. */
const ZERO = '\u0000zero';

interface Rewrite { opType: string; input: string; attrs: OnnxNode['attrs']; extra?: string[] }

type Matcher = (g: OnnxGraph, y: OnnxNode, prod: Map<string, OnnxNode>, rank: (v: string) => number | undefined) => Rewrite | undefined;

const logSoftmax: Matcher = (g, y, prod, rank) => {
  if (y.opType !== 'Sub') return undefined;
  const [d, l] = y.inputs as [string, string];
  const log = prod.get(l), sum = log?.opType === 'Log' ? prod.get(log.inputs[0]!) : undefined;
  const exp = sum?.opType === 'ReduceSum' ? prod.get(sum.inputs[0]!) : undefined;
  const sub = prod.get(d);
  if (exp?.opType !== 'Exp' || exp.inputs[0] !== d || sub?.opType !== 'Sub') return undefined;
  const x = sub.inputs[0]!, max = prod.get(sub.inputs[1]!);
  if (max?.opType !== 'ReduceMax' || max.inputs[0] !== x) return undefined;
  const r = rank(x), a = oneAxis(g, max, r);
  if (a === undefined || oneAxis(g, sum!, rank(d)) !== a || rank(d) !== r) return undefined;
  return { opType: 'LogSoftmax', input: x, attrs: { axis: attr.int(a) } };
};

const hardSigmoid: Matcher = (g, y, prod) => {
  if (y.opType !== 'Clip' || scalar(g, y.inputs[1]) !== 0 || scalar(g, y.inputs[2]) !== 1) return undefined;
  const add = prod.get(y.inputs[0]!);
  if (add?.opType !== 'Add') return undefined;
  for (const [m, b] of [[add.inputs[0]!, add.inputs[1]!], [add.inputs[1]!, add.inputs[0]!]] as const) {
    const beta = scalar(g, b), mul = prod.get(m);
    if (beta === undefined || mul?.opType !== 'Mul') continue;
    for (const [x, a] of [[mul.inputs[0]!, mul.inputs[1]!], [mul.inputs[1]!, mul.inputs[0]!]] as const) {
      const alpha = scalar(g, a);
      if (alpha !== undefined && scalar(g, x) === undefined) return { opType: 'HardSigmoid', input: x, attrs: { alpha: attr.float(alpha), beta: attr.float(beta) } };
    }
  }
  return undefined;
};

const softsign: Matcher = (g, y, prod) => {
  if (y.opType !== 'Div') return undefined;
  const [x, den] = y.inputs as [string, string];
  const add = prod.get(den);
  if (add?.opType !== 'Add') return undefined;
  for (const [a, one] of [[add.inputs[0]!, add.inputs[1]!], [add.inputs[1]!, add.inputs[0]!]] as const) {
    const abs = prod.get(a);
    if (scalar(g, one) === 1 && abs?.opType === 'Abs' && abs.inputs[0] === x) return { opType: 'Softsign', input: x, attrs: {} };
  }
  return undefined;
};

const mish: Matcher = (_g, y, prod) => {
  if (y.opType !== 'Mul') return undefined;
  for (const [x, t] of [[y.inputs[0]!, y.inputs[1]!], [y.inputs[1]!, y.inputs[0]!]] as const) {
    const tanh = prod.get(t), sp = tanh?.opType === 'Tanh' ? prod.get(tanh.inputs[0]!) : undefined;
    if (sp?.opType === 'Softplus' && sp.inputs[0] === x) return { opType: 'Mish', input: x, attrs: {} };
  }
  return undefined;
};

/** Min(Relu(x), c) and Clip(Relu(x), lo ≤ 0, c) with c ≥ 0: Clip(x, 0, c) (tfjs-layers' 'relu6' and reLU({maxValue})). */
const reluCap: Matcher = (g, y, prod) => {
  let r: string | undefined, cap: string | undefined;
  if (y.opType === 'Min' && y.inputs.length === 2) {
    for (const [a, b] of [[y.inputs[0]!, y.inputs[1]!], [y.inputs[1]!, y.inputs[0]!]] as const) {
      if (prod.get(a)?.opType === 'Relu' && scalar(g, b) !== undefined) { r = a; cap = b; }
    }
  } else if (y.opType === 'Clip' && prod.get(y.inputs[0]!)?.opType === 'Relu') {
    const lo = y.inputs[1] ? scalar(g, y.inputs[1]) : -Infinity;
    if (lo !== undefined && lo <= 0 && y.inputs[2]) { r = y.inputs[0]; cap = y.inputs[2]; }
  }
  const c = scalar(g, cap);
  if (r === undefined || cap === undefined || c === undefined || !(c >= 0)) return undefined;
  return { opType: 'Clip', input: prod.get(r)!.inputs[0]!, attrs: {}, extra: [ZERO, cap] };
};

/** Each matcher with the first opset that has its op. */
const MATCHERS: readonly (readonly [Matcher, number])[] = [[logSoftmax, 13], [hardSigmoid, 6], [softsign, 1], [mish, 18], [reluCap, 11]];

export const fuseActivations: OnnxPass = {
  name: 'activations',
  run(g: OnnxGraph, ctx: PassCtx) {
    const opset = ctx.opset ?? 0;
    const matchers = MATCHERS.filter(([, v]) => opset >= v).map(([m]) => m);
    if (matchers.length === 0) return false;
    const dtypes = inferDTypes(g), shapes = inferShapes(g), prod = producers(g);
    const rank = (v: string) => shapes.get(v)?.length;
    let changed = false;
    let z: string | undefined;
    const zero = () => {
      if (z === undefined) {
        z = ctx.freshValue('const_f32_zero');
        g.initializers.set(z, { dtype: 'float32', shape: [], data: new Float32Array(1) });
      }
      return z;
    };
    for (const y of g.nodes) {
      if (y.outputs.length !== 1 || dtypes.get(y.outputs[0]!) !== 'float32') continue;
      for (const m of matchers) {
        const r = m(g, y, prod, rank);
        // A one-element constant of higher rank (1 as [1, 1, 1]) broadcasts y to more axes than x has.
        const yRank = rank(y.outputs[0]!);
        if (!r || dtypes.get(r.input) !== 'float32' || yRank === undefined || yRank !== rank(r.input)) continue;
        // The node becomes the op (its output keeps its name); what only it read is removed as dead.
        y.opType = r.opType;
        y.inputs = [r.input, ...(r.extra ?? []).map((x) => (x === ZERO ? zero() : x))];
        y.attrs = r.attrs;
        changed = true;
        break;
      }
    }
    return changed;
  },
};
