/**
 * The fuzzer's op table: for each tfjs op it generates, how to pick attributes for given
 * operands, the abstract result (abstract.ts: shape, interval, NaN/Inf, error bound) or why
 * the op does not apply, and the tfjs source of the call. A program is executed from that
 * source, so what is printed is exactly what ran.
 *
 * Exclusions (each is an op result that is undefined or implementation-defined, so that two
 * correct runtimes may disagree; the op is not generated on such operands):
 * - Integer division or modulo by zero, integer overflow (results kept within ±2^30), int pow
 *   with negative exponents.
 * - float→int casts of NaN, ±Inf, inexact or out-of-range values; float→bool casts of NaN or
 *   inexact values.
 * - NaN through maximum/minimum, reduce max/min, argmax/argmin, max pool, relu/relu6, clip,
 *   leaky relu, prelu, step, sign, softmax/log softmax (C's fmax, std::max, XNNPACK and
 *   ONNX Runtime each pick NaN or the other operand differently).
 * - max/min/mean/argmax/all over an axis that may be empty (a symbolic dim may be 0): tfjs,
 *   XNNPACK and ONNX Runtime give -Inf, 0, NaN, false/true or an error.
 * - Discontinuous ops (comparisons, floor/ceil/round/sign/step, float mod/floorDiv, argmax,
 *   float→int/bool casts) on inexact floats: a one-ulp rounding difference flips them.
 * - Library functions outside a domain where they are well-conditioned (log near 0, exp of
 *   large values, sin of large arguments, pow with bases near 0, atan2 near the origin):
 *   every result there is within the error bound, which would make the comparison vacuous.
 * - Gather / oneHot indices out of range (tfjs throws or drops, ONNX wraps negatives).
 * - tf.where with an operand that broadcasts a dim of 1 against a dim that may be 0 (tfjs's
 *   broadcastTo keeps the 1; ONNX Runtime and the IR give the empty broadcast shape).
 * - conv2d with 'same' padding and NaN/Inf in the filter: ONNX Runtime multiplies the zero
 *   padding by the filter (Inf·0 = NaN), tfjs skips padded taps.
 */
import type { Abs, Ctx, DT, Dim } from './abstract.js';
import { EPS, FLOAT_LIMIT, INT_LIMIT, broadcast, gridExact, isSym, mag, maxCount, mayBeZero, special, unifyDim } from './abstract.js';
import type { Rng } from './rng.js';

export type Attrs = Record<string, unknown>;

export interface OpDef {
  /** Number of tensor operands. */
  arity: number;
  /** Relative frequency in generated programs. */
  weight: number;
  /** Attributes for these operands, or null when the op does not apply to them. */
  gen(r: Rng, xs: Abs[], c: Ctx): Attrs | null;
  /** The abstract result, or why the op does not apply (unifies symbol classes in c.syms). */
  infer(xs: Abs[], at: Attrs, c: Ctx): Abs | string;
  /** tfjs source of the call, given the operands' names. */
  emit(xs: string[], at: Attrs): string;
  /** The type of a fresh operand i ≥ 1 (a new input or constant) to combine with xs[0], or null. */
  partner?(r: Rng, x: Abs, i: number, c: Ctx): { dtype: DT; shape: Dim[] } | null;
}

// ---- helpers ---------------------------------------------------------------------------------

const num = (at: Attrs, k: string) => at[k] as number;
const nums = (at: Attrs, k: string) => at[k] as number[];
const lit = (x: unknown) => JSON.stringify(x);

function out(dtype: DT, shape: Dim[], lo: number, hi: number, o: Partial<Abs> = {}): Abs {
  return { dtype, shape, lo, hi, nan: false, inf: false, err: 0, grid: dtype === 'float32' ? null : 0, ...o };
}
const boolOut = (shape: Dim[]): Abs => out('bool', shape, 0, 1);
const hull = (...xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
const anyNan = (xs: Abs[]) => xs.some((x) => x.nan);
const anyInf = (xs: Abs[]) => xs.some((x) => x.inf);
const specials = (xs: Abs[]) => ({ nan: xs.some(special), inf: anyInf(xs) });
const exact = (x: Abs) => x.err === 0;
const maxGrid = (xs: Abs[]): number | null => (xs.some((x) => x.grid === null) ? null : Math.max(...xs.map((x) => x.grid!)));

/** A float result of arithmetic on xs: exact when the operands are and the grid holds it (abstract.ts). */
function arith(shape: Dim[], lo: number, hi: number, xs: Abs[], err: number, grid: number | null, bound = Math.max(Math.abs(lo), Math.abs(hi))): Abs | string {
  if (!(bound <= FLOAT_LIMIT)) return `|result| may reach ${bound.toExponential(1)}`;
  const isExact = xs.every(exact) && gridExact(grid, bound);
  return out('float32', shape, lo, hi, { ...specials(xs), err: isExact ? 0 : err, grid: isExact ? grid : null });
}

/** An integer result: within ±2^30 or not generated (overflow is implementation-defined). */
function intOut(shape: Dim[], lo: number, hi: number): Abs | string {
  if (!(Math.max(Math.abs(lo), Math.abs(hi)) <= INT_LIMIT)) return 'int32 overflow possible';
  return out('int32', shape, lo, hi);
}

function mulIv(a: Abs, b: Abs): [number, number] {
  return hull(a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi);
}

/** Random axes of a rank-r tensor (at least one). */
function someAxes(r: Rng, rank: number): number[] {
  const axes = [...Array(rank).keys()].filter(() => r.chance(0.5));
  return axes.length ? axes : [r.int(0, rank - 1)];
}

function normAxis(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

// ---- unary ops -------------------------------------------------------------------------------

interface UnarySpec {
  /** tfjs function name (tf.NAME). */
  fn: string;
  /** The math in float64 (for ±Inf images). */
  f: (x: number) => number;
  /** Image of [lo, hi] (default: f monotonic increasing). */
  img?: (lo: number, hi: number) => [number, number];
  /** Where the op is generated (finite part of the operand). */
  domain?: (lo: number, hi: number, x: Abs) => boolean;
  /** Lipschitz constant of f on [lo, hi]. */
  lip: (lo: number, hi: number) => number;
  /** Ulps of a library implementation (scaled by max(|result|, 1)). */
  ulps?: number;
  /** NaN handling differs between runtimes: not generated on operands that may hold NaN. */
  nanUnsafe?: boolean;
  /** Also on int32 (result int32). */
  ints?: boolean;
  /** Result = operand values rearranged/negated/selected: exact iff the operand is. */
  exactPreserving?: boolean;
  weight?: number;
}

const inc = (f: (x: number) => number) => (lo: number, hi: number): [number, number] => [f(lo), f(hi)];
const even = (f: (x: number) => number) => (lo: number, hi: number): [number, number] =>
  (lo >= 0 ? [f(lo), f(hi)] : hi <= 0 ? [f(hi), f(lo)] : [f(0), Math.max(f(lo), f(hi))]);
const sigm = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
const SELU_A = 1.6732632423543772, SELU_S = 1.0507009873554805;
const elu = (x: number) => (x >= 0 ? x : Math.expm1(x));
const selu = (x: number) => SELU_S * (x >= 0 ? x : SELU_A * Math.expm1(x));
/** Abramowitz–Stegun erf, enough for interval images. */
const erf = (x: number) => {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? NaN : Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return Math.sign(x) * y;
};
const minAbs = (lo: number, hi: number) => (lo > 0 ? lo : hi < 0 ? -hi : 0);

const UNARY: Record<string, UnarySpec> = {
  abs: { fn: 'abs', f: Math.abs, img: even(Math.abs), lip: () => 1, ints: true, exactPreserving: true },
  neg: { fn: 'neg', f: (x) => -x, img: (lo, hi) => [-hi, -lo], lip: () => 1, ints: true, exactPreserving: true },
  relu: { fn: 'relu', f: (x) => Math.max(x, 0), lip: () => 1, ints: true, exactPreserving: true, nanUnsafe: true },
  relu6: { fn: 'relu6', f: (x) => Math.min(Math.max(x, 0), 6), lip: () => 1, exactPreserving: true, nanUnsafe: true },
  exp: { fn: 'exp', f: Math.exp, domain: (_, hi) => hi <= 12, lip: (_, hi) => Math.exp(hi), ulps: 4 },
  expm1: { fn: 'expm1', f: Math.expm1, domain: (_, hi) => hi <= 12, lip: (_, hi) => Math.exp(hi), ulps: 4 },
  log: { fn: 'log', f: Math.log, domain: (lo) => lo >= 0.25, lip: (lo) => 1 / lo, ulps: 4 },
  log1p: { fn: 'log1p', f: Math.log1p, domain: (lo) => lo >= -0.75, lip: (lo) => 1 / (1 + lo), ulps: 4 },
  sqrt: { fn: 'sqrt', f: Math.sqrt, domain: (lo, _, x) => lo >= 0.25 || (lo >= 0 && exact(x)), lip: (lo) => (lo > 0 ? 0.5 / Math.sqrt(lo) : 0), ulps: 1 },
  rsqrt: { fn: 'rsqrt', f: (x) => 1 / Math.sqrt(x), img: (lo, hi) => [1 / Math.sqrt(hi), 1 / Math.sqrt(lo)], domain: (lo) => lo >= 0.25, lip: (lo) => 0.5 * lo ** -1.5, ulps: 4 },
  reciprocal: { fn: 'reciprocal', f: (x) => 1 / x, img: (lo, hi) => [1 / hi, 1 / lo], domain: (lo, hi) => lo >= 0.25 || hi <= -0.25, lip: (lo, hi) => 1 / minAbs(lo, hi) ** 2, ulps: 2 },
  square: { fn: 'square', f: (x) => x * x, img: even((x) => x * x), lip: (lo, hi) => 2 * Math.max(Math.abs(lo), Math.abs(hi)), ints: true, ulps: 1 },
  tanh: { fn: 'tanh', f: Math.tanh, lip: () => 1, ulps: 4 },
  sigmoid: { fn: 'sigmoid', f: sigm, lip: () => 0.25, ulps: 4 },
  softplus: { fn: 'softplus', f: softplus, domain: (lo, hi) => Math.max(-lo, hi) <= 15, lip: () => 1, ulps: 4 },
  atan: { fn: 'atan', f: Math.atan, lip: () => 1, ulps: 4 },
  erf: { fn: 'erf', f: erf, lip: () => 1.13, ulps: 8 },
  sin: { fn: 'sin', f: Math.sin, img: () => [-1, 1], domain: (lo, hi) => Math.max(-lo, hi) <= 20, lip: () => 1, ulps: 4 },
  cos: { fn: 'cos', f: Math.cos, img: () => [-1, 1], domain: (lo, hi) => Math.max(-lo, hi) <= 20, lip: () => 1, ulps: 4 },
  tan: { fn: 'tan', f: Math.tan, domain: (lo, hi) => Math.max(-lo, hi) <= 1.2, lip: () => 1 / Math.cos(1.2) ** 2, ulps: 4, weight: 0.3 },
  asin: { fn: 'asin', f: Math.asin, domain: (lo, hi) => Math.max(-lo, hi) <= 0.9, lip: () => 2.3, ulps: 4, weight: 0.3 },
  acos: { fn: 'acos', f: Math.acos, img: (lo, hi) => [Math.acos(hi), Math.acos(lo)], domain: (lo, hi) => Math.max(-lo, hi) <= 0.9, lip: () => 2.3, ulps: 4, weight: 0.3 },
  atanh: { fn: 'atanh', f: Math.atanh, domain: (lo, hi) => Math.max(-lo, hi) <= 0.9, lip: () => 5.3, ulps: 4, weight: 0.3 },
  asinh: { fn: 'asinh', f: Math.asinh, lip: () => 1, ulps: 4, weight: 0.3 },
  acosh: { fn: 'acosh', f: Math.acosh, domain: (lo) => lo >= 1.25, lip: (lo) => 1 / Math.sqrt(lo * lo - 1), ulps: 4, weight: 0.3 },
  sinh: { fn: 'sinh', f: Math.sinh, domain: (lo, hi) => Math.max(-lo, hi) <= 10, lip: (lo, hi) => Math.cosh(Math.max(-lo, hi)), ulps: 4, weight: 0.3 },
  cosh: { fn: 'cosh', f: Math.cosh, img: even(Math.cosh), domain: (lo, hi) => Math.max(-lo, hi) <= 10, lip: (lo, hi) => Math.cosh(Math.max(-lo, hi)), ulps: 4, weight: 0.3 },
  elu: { fn: 'elu', f: elu, lip: () => 1, ulps: 4 },
  selu: { fn: 'selu', f: selu, lip: () => SELU_S * SELU_A, ulps: 4, weight: 0.5 },
};

function unaryOp(name: string, u: UnarySpec): OpDef {
  return {
    arity: 1,
    weight: u.weight ?? 1,
    gen: () => ({}),
    infer([x]) {
      if (x!.dtype === 'bool' || (x!.dtype === 'int32' && !u.ints)) return `${name} of ${x!.dtype}`;
      if (u.nanUnsafe && x!.nan) return `${name} of a value that may be NaN`;
      const { lo, hi } = x!;
      if (u.domain && !u.domain(lo, hi, x!)) return `${name} outside its domain: [${lo}, ${hi}]`;
      let [a, b] = (u.img ?? inc(u.f))(lo, hi);
      [a, b] = hull(a, b);
      let nan = x!.nan;
      let inf = false;
      if (x!.inf) {
        for (const v of [u.f(Infinity), u.f(-Infinity)]) {
          if (Number.isNaN(v)) nan = true;
          else if (!Number.isFinite(v)) inf = true;
          else [a, b] = hull(a, b, v);
        }
      }
      if (x!.dtype === 'int32') {
        const r = intOut(x!.shape, a, b);
        return r;
      }
      if (u.exactPreserving) return out('float32', x!.shape, a, b, { nan, inf, err: x!.err, grid: x!.grid });
      const m = Math.max(Math.abs(a), Math.abs(b));
      if (!(m <= FLOAT_LIMIT)) return `${name}: |result| may reach ${m}`;
      const err = u.lip(lo, hi) * x!.err + (u.ulps ?? 4) * EPS * Math.max(m, 1);
      // square of an exact grid value is exact when the grid holds it.
      const grid = name === 'square' && x!.grid !== null ? 2 * x!.grid : null;
      const isExact = name === 'square' ? exact(x!) && gridExact(grid, m) : false;
      return out('float32', x!.shape, a, b, { nan, inf, err: isExact ? 0 : err, grid: isExact ? grid : null });
    },
    emit: ([x]) => `tf.${u.fn}(${x})`,
  };
}

/** floor/ceil/round/sign: discontinuous, so only on exact operands; results are integers. */
function roundingOp(fn: string, f: (x: number) => number, nanUnsafe = false, ints = false): OpDef {
  return {
    arity: 1,
    weight: 0.6,
    gen: () => ({}),
    infer([x]) {
      if (x!.dtype === 'bool' || (x!.dtype === 'int32' && !ints)) return `${fn} of ${x!.dtype}`;
      if (!exact(x!)) return `${fn} of an inexact value`;
      if (nanUnsafe && x!.nan) return `${fn} of NaN`;
      const [a, b] = hull(f(x!.lo), f(x!.hi));
      if (x!.dtype === 'int32') return out('int32', x!.shape, a, b);
      return out('float32', x!.shape, a, b, { nan: x!.nan, inf: x!.inf, err: 0, grid: 0 });
    },
    emit: ([x]) => `tf.${fn}(${x})`,
  };
}

// ---- binary elementwise ----------------------------------------------------------------------

/** A shape broadcast-compatible with `shape`: some dims set to 1, maybe fewer leading dims. */
function broadcastPartner(r: Rng, shape: Dim[]): Dim[] {
  if (r.chance(0.3)) return [...shape];
  let s = shape.map((d) => (r.chance(0.35) ? 1 : d));
  if (s.length && r.chance(0.3)) s = s.slice(r.int(1, s.length));
  return s;
}

type BinMath = (a: Abs, b: Abs, shape: Dim[]) => Abs | string;

function binaryOp(fn: string, dtypes: DT[], math: BinMath, weight = 1, emit?: (a: string, b: string) => string): OpDef {
  return {
    arity: 2,
    weight,
    gen: () => ({}),
    infer([a, b], _at, c) {
      if (a!.dtype !== b!.dtype) return `${fn}: dtypes differ`;
      if (!dtypes.includes(a!.dtype)) return `${fn} of ${a!.dtype}`;
      const shape = broadcast(c, a!.shape, b!.shape);
      if (!shape) return `${fn}: shapes do not broadcast`;
      return math(a!, b!, shape);
    },
    emit: ([a, b]) => (emit ? emit(a!, b!) : `tf.${fn}(${a}, ${b})`),
    partner: (r, x) => ({ dtype: x.dtype, shape: broadcastPartner(r, x.shape) }),
  };
}

const addSub = (sign: 1 | -1): BinMath => (a, b, shape) => {
  const [lo, hi] = sign > 0 ? [a.lo + b.lo, a.hi + b.hi] : [a.lo - b.hi, a.hi - b.lo];
  if (a.dtype === 'int32') return intOut(shape, lo, hi);
  return arith(shape, lo, hi, [a, b], a.err + b.err + EPS * Math.max(Math.abs(lo), Math.abs(hi)), maxGrid([a, b]));
};

const mulMath: BinMath = (a, b, shape) => {
  const [lo, hi] = mulIv(a, b);
  if (a.dtype === 'int32') return intOut(shape, lo, hi);
  const g = a.grid !== null && b.grid !== null ? a.grid + b.grid : null;
  return arith(shape, lo, hi, [a, b], mag(a) * b.err + mag(b) * a.err + a.err * b.err + EPS * Math.max(Math.abs(lo), Math.abs(hi)), g);
};

const divMath: BinMath = (a, b, shape) => {
  const bm = minAbs(b.lo, b.hi);
  if (a.dtype === 'int32') {
    // tf.div of int32 is floor division.
    if (b.lo <= 0 && b.hi >= 0) return 'integer division by a value that may be 0';
    const q = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi];
    return intOut(shape, Math.floor(Math.min(...q)), Math.floor(Math.max(...q)));
  }
  if (bm < 0.25) return 'float division by values near 0';
  if (special(a) && special(b)) return 'division of specials by specials';
  let [lo, hi] = hull(a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi);
  if (b.inf) [lo, hi] = hull(lo, hi, 0);
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  return arith(shape, lo, hi, [a, b], a.err / bm + mag(a) * b.err / (bm * Math.max(bm - b.err, bm / 2)) + 2 * EPS * m, null);
};

const floorDivMath = (isMod: boolean): BinMath => (a, b, shape) => {
  if (b.lo <= 0 && b.hi >= 0) return 'division by a value that may be 0';
  if (a.dtype === 'float32') {
    if (!exact(a) || !exact(b)) return 'float floorDiv/mod of inexact values';
    if (special(a) || special(b)) return 'float floorDiv/mod of specials';
    if (minAbs(b.lo, b.hi) < 0.25) return 'divisor near 0';
  }
  const bmax = mag(b);
  let lo: number, hi: number;
  if (isMod) [lo, hi] = [b.lo < 0 ? -bmax : 0, b.hi > 0 ? bmax : 0];
  else {
    const q = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi];
    [lo, hi] = [Math.floor(Math.min(...q)), Math.floor(Math.max(...q))];
  }
  if (a.dtype === 'int32') return intOut(shape, lo, hi);
  const g = isMod ? maxGrid([a, b]) : 0;
  if (!gridExact(g, mag(a) + mag(b)) && isMod) return 'float mod off the grid';
  return out('float32', shape, lo, hi, { err: 0, grid: g });
};

const minMaxMath = (isMax: boolean): BinMath => (a, b, shape) => {
  if (a.nan || b.nan) return 'maximum/minimum of NaN';
  const [lo, hi] = isMax ? [Math.max(a.lo, b.lo), Math.max(a.hi, b.hi)] : [Math.min(a.lo, b.lo), Math.min(a.hi, b.hi)];
  if (a.dtype === 'int32') return out('int32', shape, lo, hi);
  return out('float32', shape, lo, hi, { inf: a.inf || b.inf, err: Math.max(a.err, b.err), grid: maxGrid([a, b]) });
};

const powMath: BinMath = (a, b, shape) => {
  if (special(a) || special(b)) return 'pow of specials';
  if (a.dtype === 'int32') {
    if (b.lo < 0 || b.hi > 3 || mag(a) > 6) return 'int pow outside [-6,6]^[0,3]';
    const vs = [0, 1, 2, 3].filter((e) => e >= b.lo && e <= b.hi).flatMap((e) => [a.lo ** e, a.hi ** e, e % 2 === 0 && a.lo < 0 && a.hi > 0 ? 0 : a.lo ** e]);
    return intOut(shape, Math.min(...vs), Math.max(...vs));
  }
  if (a.lo < 0.25 || a.hi > 8 || b.lo < -2 || b.hi > 3) return 'float pow outside [0.25,8]^[-2,3]';
  const [lo, hi] = hull(a.lo ** b.lo, a.lo ** b.hi, a.hi ** b.lo, a.hi ** b.hi);
  const lnMax = Math.max(Math.abs(Math.log(a.lo)), Math.abs(Math.log(a.hi)));
  const err = (mag(b) / a.lo) * hi * a.err + lnMax * hi * b.err + 8 * EPS * Math.max(hi, 1);
  return arith(shape, lo, hi, [a, b], err, null);
};

const sqDiffMath: BinMath = (a, b, shape) => {
  const dlo = a.lo - b.hi, dhi = a.hi - b.lo;
  const [lo, hi] = even((x) => x * x)(dlo, dhi);
  if (a.dtype === 'int32') return intOut(shape, lo, hi);
  const dm = Math.max(Math.abs(dlo), Math.abs(dhi));
  const ed = a.err + b.err + EPS * dm;
  const g = maxGrid([a, b]);
  return arith(shape, lo, hi, [a, b], 2 * dm * ed + ed * ed + EPS * hi, g === null ? null : 2 * g);
};

const atan2Math: BinMath = (a, b, shape) => {
  if (special(a) || special(b)) return 'atan2 of specials';
  const r = Math.hypot(minAbs(a.lo, a.hi), minAbs(b.lo, b.hi));
  if (r < 0.25) return 'atan2 near the origin';
  return arith(shape, -Math.PI, Math.PI, [a, b], (a.err + b.err) / r + 4 * EPS * Math.PI, null);
};

const preluMath: BinMath = (x, al, shape) => {
  if (x.nan || al.nan || al.inf) return 'prelu of NaN';
  const neg = x.lo < 0 ? mulIv({ ...x, hi: Math.min(x.hi, 0) }, al) : [0, 0];
  const [lo, hi] = hull(Math.max(x.lo, 0), Math.max(x.hi, 0), neg[0]!, neg[1]!);
  const g = x.grid !== null && al.grid !== null ? x.grid + al.grid : null;
  return arith(shape, lo, hi, [x, al], Math.max(1, mag(al)) * x.err + mag(x) * al.err + EPS * Math.max(Math.abs(lo), Math.abs(hi)), g);
};

function compareOp(fn: string): OpDef {
  return binaryOp(fn, ['float32', 'int32', 'bool'], (a, b, shape) => {
    if (!exact(a) || !exact(b)) return `${fn} of inexact values`;
    return boolOut(shape);
  }, 0.5);
}

const logicalMath: BinMath = (_a, _b, shape) => boolOut(shape);

// ---- table -----------------------------------------------------------------------------------

const FLOAT_INT: DT[] = ['float32', 'int32'];

export const OPS: Record<string, OpDef> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([k, u]) => [k, unaryOp(k, u)])),
  floor: roundingOp('floor', Math.floor),
  ceil: roundingOp('ceil', Math.ceil),
  // tf.round rounds half to even; the interval image does not depend on it.
  round: roundingOp('round', Math.round),
  sign: roundingOp('sign', Math.sign, true, true),
  step: {
    arity: 1, weight: 0.3, gen: () => ({}),
    infer([x]) {
      if (x!.dtype !== 'float32') return 'step of non-float';
      if (!exact(x!) || x!.nan) return 'step of inexact/NaN';
      return out('float32', x!.shape, 0, 1, { inf: false, grid: 0 });
    },
    emit: ([x]) => `tf.step(${x})`,
  },
  leakyRelu: {
    arity: 1, weight: 0.4, gen: (r) => ({ alpha: r.pick([0.2, 0.5, 0.01]) }),
    infer([x], at) {
      if (x!.dtype !== 'float32') return 'leakyRelu of non-float';
      if (x!.nan) return 'leakyRelu of NaN';
      const al = num(at, 'alpha');
      const [lo, hi] = hull(x!.lo < 0 ? al * x!.lo : x!.lo, x!.hi < 0 ? al * x!.hi : x!.hi);
      return out('float32', x!.shape, lo, hi, { inf: x!.inf, err: x!.err + EPS * Math.max(Math.abs(lo), Math.abs(hi)) });
    },
    emit: ([x], at) => `tf.leakyRelu(${x}, ${num(at, 'alpha')})`,
  },
  clipByValue: {
    arity: 1, weight: 0.5,
    gen: (r) => { const a = r.pick([-2, -1, -0.5, 0]); return { lo: a, hi: a + r.pick([0.5, 1, 2, 3]) }; },
    infer([x], at) {
      if (x!.dtype !== 'float32') return 'clip of non-float';
      if (x!.nan) return 'clip of NaN';
      const lo = Math.min(Math.max(x!.lo, num(at, 'lo')), num(at, 'hi')), hi = Math.max(Math.min(x!.hi, num(at, 'hi')), num(at, 'lo'));
      return out('float32', x!.shape, lo, hi, { err: x!.err, grid: x!.grid === null ? null : Math.max(x!.grid, 1) });
    },
    emit: ([x], at) => `tf.clipByValue(${x}, ${num(at, 'lo')}, ${num(at, 'hi')})`,
  },
  isNaN: { arity: 1, weight: 0.2, gen: () => ({}), infer: ([x]) => (x!.dtype === 'float32' ? boolOut(x!.shape) : 'isNaN of non-float'), emit: ([x]) => `tf.isNaN(${x})` },
  isInf: { arity: 1, weight: 0.2, gen: () => ({}), infer: ([x]) => (x!.dtype === 'float32' ? boolOut(x!.shape) : 'isInf of non-float'), emit: ([x]) => `tf.isInf(${x})` },
  isFinite: { arity: 1, weight: 0.2, gen: () => ({}), infer: ([x]) => (x!.dtype === 'float32' ? boolOut(x!.shape) : 'isFinite of non-float'), emit: ([x]) => `tf.isFinite(${x})` },
  logicalNot: { arity: 1, weight: 0.3, gen: () => ({}), infer: ([x]) => (x!.dtype === 'bool' ? boolOut(x!.shape) : 'logicalNot of non-bool'), emit: ([x]) => `tf.logicalNot(${x})` },
  zerosLike: { arity: 1, weight: 0.1, gen: () => ({}), infer: ([x]) => out(x!.dtype, x!.shape, 0, 0, { grid: 0 }), emit: ([x]) => `tf.zerosLike(${x})` },
  onesLike: { arity: 1, weight: 0.1, gen: () => ({}), infer: ([x]) => out(x!.dtype, x!.shape, 1, 1, { grid: 0 }), emit: ([x]) => `tf.onesLike(${x})` },
  cast: {
    arity: 1, weight: 1.2,
    gen: (r, [x]) => ({ dtype: r.pick((['float32', 'int32', 'bool'] as DT[]).filter((d) => d !== x!.dtype)) }),
    infer([x], at) {
      const to = at['dtype'] as DT;
      if (to === x!.dtype) return 'cast to the same dtype';
      if (x!.dtype === 'float32') {
        if (!exact(x!)) return `cast of an inexact float to ${to}`;
        if (x!.nan || (to === 'int32' && x!.inf)) return `cast of NaN/Inf to ${to}`;
        if (to === 'bool') return boolOut(x!.shape);
        return intOut(x!.shape, Math.trunc(x!.lo), Math.trunc(x!.hi));
      }
      if (to === 'float32') {
        if (mag(x!) >= 2 ** 24) return 'int→float cast that rounds';
        return out('float32', x!.shape, x!.lo, x!.hi, { grid: 0 });
      }
      if (to === 'bool') return boolOut(x!.shape);
      return out('int32', x!.shape, x!.lo, x!.hi);
    },
    emit: ([x], at) => `tf.cast(${x}, '${at['dtype'] as string}')`,
  },

  add: binaryOp('add', FLOAT_INT, addSub(1), 2),
  sub: binaryOp('sub', FLOAT_INT, addSub(-1), 1.5),
  mul: binaryOp('mul', FLOAT_INT, mulMath, 2),
  div: binaryOp('div', FLOAT_INT, divMath, 1),
  floorDiv: binaryOp('floorDiv', FLOAT_INT, floorDivMath(false), 0.5),
  mod: binaryOp('mod', FLOAT_INT, floorDivMath(true), 0.5),
  pow: binaryOp('pow', FLOAT_INT, powMath, 0.5),
  maximum: binaryOp('maximum', FLOAT_INT, minMaxMath(true), 0.7),
  minimum: binaryOp('minimum', FLOAT_INT, minMaxMath(false), 0.7),
  squaredDifference: binaryOp('squaredDifference', FLOAT_INT, sqDiffMath, 0.4),
  atan2: binaryOp('atan2', ['float32'], atan2Math, 0.3),
  prelu: binaryOp('prelu', ['float32'], preluMath, 0.3),
  equal: compareOp('equal'), notEqual: compareOp('notEqual'), less: compareOp('less'),
  lessEqual: compareOp('lessEqual'), greater: compareOp('greater'), greaterEqual: compareOp('greaterEqual'),
  logicalAnd: binaryOp('logicalAnd', ['bool'], logicalMath, 0.3),
  logicalOr: binaryOp('logicalOr', ['bool'], logicalMath, 0.3),
  logicalXor: binaryOp('logicalXor', ['bool'], logicalMath, 0.2),

  where: {
    arity: 3, weight: 1.2, gen: () => ({}),
    infer([cond, a, b], _at, c) {
      if (cond!.dtype !== 'bool') return 'where: condition is not bool';
      if (a!.dtype !== b!.dtype) return 'where: branch dtypes differ';
      const s1 = broadcast(c, cond!.shape, a!.shape);
      const shape = s1 && broadcast(c, s1, b!.shape);
      if (!shape) return 'where: shapes do not broadcast';
      // tfjs's broadcastTo keeps an operand's dim of 1 (its own or a leading one it lacks)
      // against an empty dim: the result keeps the 1 where the broadcast shape has 0, and a
      // reduction after it sees one element, not none (seeds 801504, 802466: prod 0 against 1,
      // sum NaN against 0). Not generated; where the shape itself shows it, the runner notes it.
      const ones = (x: Abs, i: number) => { const k = i - (shape.length - x.shape.length); return k < 0 || x.shape[k] === 1; };
      if (shape.some((d, i) => mayBeZero(d) && [cond!, a!, b!].some((x) => ones(x, i)))) return 'where: an operand broadcasts a 1 against a dim that may be empty (tfjs keeps the 1)';
      const [lo, hi] = hull(a!.lo, a!.hi, b!.lo, b!.hi);
      return out(a!.dtype, shape, lo, hi, { nan: a!.nan || b!.nan, inf: a!.inf || b!.inf, err: Math.max(a!.err, b!.err), grid: maxGrid([a!, b!]) });
    },
    emit: ([c, a, b]) => `tf.where(${c}, ${a}, ${b})`,
    partner: (r, x, i) => (i === 1 ? { dtype: r.pick(['float32', 'float32', 'int32'] as DT[]), shape: broadcastPartner(r, x.shape) } : null),
  },
};

// ---- reductions ------------------------------------------------------------------------------

interface ReduceSpec { fn: string; dtypes: DT[]; nonEmpty?: boolean; math: (x: Abs, n: number, shape: Dim[]) => Abs | string; weight?: number }

function reduceOp(s: ReduceSpec): OpDef {
  return {
    arity: 1, weight: s.weight ?? 1,
    gen: (r, [x]) => {
      const rank = x!.shape.length;
      const axes = rank === 0 || r.chance(0.2) ? null : someAxes(r, rank);
      return { axes, keepDims: r.chance(0.3) };
    },
    infer([x], at) {
      if (!s.dtypes.includes(x!.dtype)) return `${s.fn} of ${x!.dtype}`;
      const rank = x!.shape.length;
      const axes = (at['axes'] as number[] | null) ?? [...Array(rank).keys()];
      if (axes.some((a) => a >= rank || a < -rank)) return `${s.fn}: axis out of range`;
      const norm = new Set(axes.map((a) => normAxis(a, rank)));
      const reduced = x!.shape.filter((_, i) => norm.has(i));
      if (s.nonEmpty && reduced.some(mayBeZero)) return `${s.fn} over an axis that may be empty`;
      const shape = at['keepDims'] ? x!.shape.map((d, i) => (norm.has(i) ? 1 : d)) : x!.shape.filter((_, i) => !norm.has(i));
      return s.math(x!, maxCount(reduced), shape);
    },
    emit: ([x], at) => {
      const axes = at['axes'] as number[] | null;
      return at['keepDims'] ? `tf.${s.fn}(${x}, ${lit(axes)}, true)` : axes === null ? `tf.${s.fn}(${x})` : `tf.${s.fn}(${x}, ${lit(axes)})`;
    },
  };
}

const sumMath = (x: Abs, n: number, shape: Dim[]): Abs | string => {
  const [lo, hi] = hull(0, n * x.lo, n * x.hi);
  if (x.dtype !== 'float32') return intOut(shape, lo, hi);
  return arith(shape, lo, hi, [x], n * x.err + EPS * n * n * mag(x), x.grid, n * mag(x));
};

Object.assign(OPS, {
  sum: reduceOp({ fn: 'sum', dtypes: ['float32', 'int32', 'bool'], math: sumMath, weight: 1.5 }),
  mean: reduceOp({
    fn: 'mean', dtypes: ['float32', 'int32'], nonEmpty: true,
    math: (x, n, shape) => {
      if (x.dtype === 'int32' && mag(x) * n >= 2 ** 24) return 'int mean off the float grid';
      const sumExact = (x.err === 0 && gridExact(x.grid, n * mag(x)));
      const err = (sumExact ? 0 : x.err + EPS * n * mag(x)) + 2 * EPS * mag(x);
      return out('float32', shape, x.lo, x.hi, { ...specials([x]), err });
    },
  }),
  max: reduceOp({ fn: 'max', dtypes: FLOAT_INT, nonEmpty: true, math: (x, _n, shape) => (x.nan ? 'max of NaN' : { ...x, shape }) }),
  min: reduceOp({ fn: 'min', dtypes: FLOAT_INT, nonEmpty: true, math: (x, _n, shape) => (x.nan ? 'min of NaN' : { ...x, shape }) }),
  prod: reduceOp({
    fn: 'prod', dtypes: FLOAT_INT, weight: 0.4,
    math: (x, n, shape) => {
      const m = Math.max(mag(x), 1) ** n;
      if (n > 12) return 'prod over more than 12 elements';
      const [lo, hi] = x.lo >= 0 ? [Math.min(x.lo ** n, 1), Math.max(x.hi, 1) ** n] : [-m, m];
      if (x.dtype === 'int32') return intOut(shape, lo, hi);
      const g = x.grid === null ? null : x.grid * n;
      return arith(shape, lo, hi, [x], n * (m / Math.max(mag(x), 1)) * x.err + n * EPS * m, g, m);
    },
  }),
  // tfjs-cpu's all over an empty axis is false, ONNX's (and graphc's) true: excluded.
  all: reduceOp({ fn: 'all', dtypes: ['bool'], nonEmpty: true, math: (x, _n, shape) => boolOut(shape), weight: 0.3 }),
  any: reduceOp({ fn: 'any', dtypes: ['bool'], math: (x, _n, shape) => boolOut(shape), weight: 0.3 }),
});

function argOp(fn: string): OpDef {
  return {
    arity: 1, weight: 0.5,
    gen: (r, [x]) => (x!.shape.length === 0 ? null : { axis: r.int(-x!.shape.length, x!.shape.length - 1) }),
    infer([x], at) {
      if (!FLOAT_INT.includes(x!.dtype)) return `${fn} of ${x!.dtype}`;
      if (!exact(x!) || x!.nan) return `${fn} of inexact values or NaN (ties and NaN)`;
      const rank = x!.shape.length, ax = normAxis(num(at, 'axis'), rank);
      if (ax < 0 || ax >= rank) return `${fn}: axis out of range`;
      const d = x!.shape[ax]!;
      if (mayBeZero(d)) return `${fn} over an axis that may be empty`;
      return out('int32', x!.shape.filter((_, i) => i !== ax), 0, (isSym(d) ? 5 : d) - 1);
    },
    emit: ([x], at) => `tf.${fn}(${x}, ${num(at, 'axis')})`,
  };
}

Object.assign(OPS, {
  argMax: argOp('argMax'),
  argMin: argOp('argMin'),
  cumsum: {
    arity: 1, weight: 0.4,
    gen: (r, [x]) => (x!.shape.length === 0 ? null : { axis: r.int(0, x!.shape.length - 1), exclusive: r.chance(0.3), reverse: r.chance(0.3) }),
    infer([x], at) {
      if (!FLOAT_INT.includes(x!.dtype)) return `cumsum of ${x!.dtype}`;
      const ax = num(at, 'axis');
      if (ax >= x!.shape.length) return 'cumsum: axis out of range';
      const n = maxCount([x!.shape[ax]!]);
      const r = sumMath(x!, n, x!.shape);
      return r;
    },
    emit: ([x], at) => `tf.cumsum(${x}, ${num(at, 'axis')}, ${String(at['exclusive'])}, ${String(at['reverse'])})`,
  } satisfies OpDef,
  softmax: {
    arity: 1, weight: 0.5, gen: () => ({}),
    infer([x]) {
      if (x!.dtype !== 'float32' || x!.shape.length === 0) return 'softmax of a non-float or scalar';
      if (special(x!)) return 'softmax of NaN/Inf';
      const n = maxCount([x!.shape[x!.shape.length - 1]!]);
      return out('float32', x!.shape, 0, 1, { err: 2 * x!.err + EPS * (2 * n + 8) });
    },
    emit: ([x]) => `tf.softmax(${x})`,
  } satisfies OpDef,
  logSoftmax: {
    arity: 1, weight: 0.3, gen: () => ({}),
    infer([x]) {
      if (x!.dtype !== 'float32' || x!.shape.length === 0) return 'logSoftmax of a non-float or scalar';
      if (special(x!)) return 'logSoftmax of NaN/Inf';
      const n = maxCount([x!.shape[x!.shape.length - 1]!]);
      const lo = x!.lo - x!.hi - Math.log(Math.max(n, 1));
      return out('float32', x!.shape, lo, 0, { err: 2 * x!.err + EPS * (4 * mag(x!) + 2 * n + 8) });
    },
    emit: ([x]) => `tf.logSoftmax(${x})`,
  } satisfies OpDef,
});

// ---- matmul, conv, pool ----------------------------------------------------------------------

/** Error of a dot product of length k of values bounded by ma, mb with errors ea, eb. */
const dotErr = (k: number, ma: number, mb: number, ea: number, eb: number) => k * (ma * eb + mb * ea + ea * eb) + EPS * k * (k + 1) * ma * mb;

function productOut(shape: Dim[], k: number, a: Abs, b: Abs, addZero: boolean): Abs | string {
  const [plo, phi] = mulIv(a, b);
  const [lo, hi] = addZero ? hull(0, k * plo, k * phi) : [k * plo, k * phi];
  const g = a.grid !== null && b.grid !== null ? a.grid + b.grid : null;
  return arith(shape, lo, hi, [a, b], dotErr(k, mag(a), mag(b), a.err, b.err), g, k * mag(a) * mag(b));
}

Object.assign(OPS, {
  matMul: {
    arity: 2, weight: 2,
    gen: (r) => ({ ta: r.chance(0.25), tb: r.chance(0.25) }),
    infer([a, b], at, c) {
      if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return 'matMul of non-floats';
      const ra = a!.shape.length, rb = b!.shape.length;
      if (ra < 2 || rb < 2 || ra > 3 || rb > 3) return 'matMul of rank < 2 or > 3';
      const sa = [...a!.shape], sb = [...b!.shape];
      if (at['ta']) [sa[ra - 2], sa[ra - 1]] = [sa[ra - 1]!, sa[ra - 2]!];
      if (at['tb']) [sb[rb - 2], sb[rb - 1]] = [sb[rb - 1]!, sb[rb - 2]!];
      if (!unifyDim(c, sa[ra - 1]!, sb[rb - 2]!)) return 'matMul: inner dims differ';
      const batch = broadcast(c, sa.slice(0, ra - 2), sb.slice(0, rb - 2));
      if (!batch) return 'matMul: batch dims do not broadcast';
      return productOut([...batch, sa[ra - 2]!, sb[rb - 1]!], maxCount([sa[ra - 1]!]), a!, b!, true);
    },
    emit: ([a, b], at) => (at['ta'] || at['tb'] ? `tf.matMul(${a}, ${b}, ${String(at['ta'])}, ${String(at['tb'])})` : `tf.matMul(${a}, ${b})`),
    partner: (r, x) => {
      const rank = x.shape.length;
      if (rank < 2 || rank > 3) return null;
      const k = x.shape[rank - 1]!;
      return { dtype: 'float32', shape: [...x.shape.slice(0, rank - 2).map((d) => (r.chance(0.5) ? d : 1)).slice(r.int(0, 1) && rank === 3 ? 1 : 0), k, r.int(1, 4)] };
    },
  } satisfies OpDef,
  conv2d: {
    arity: 2, weight: 1.5,
    gen: (r) => {
      const dil = r.chance(0.2) ? 2 : 1;
      return { stride: dil > 1 ? 1 : r.pick([1, 1, 2]), pad: r.pick(['same', 'valid']), dil };
    },
    infer([x, w], at) {
      if (x!.dtype !== 'float32' || w!.dtype !== 'float32') return 'conv2d of non-floats';
      if (x!.shape.length !== 4 || w!.shape.length !== 4) return 'conv2d needs rank 4';
      const [n, h, wd, ci] = x!.shape;
      const [kh, kw, wc, co] = w!.shape;
      if ([h, wd, ci, kh, kw, wc, co].some((d) => isSym(d!) || d === 0)) return 'conv2d: symbolic or zero spatial/channel dims';
      if (wc !== ci) return 'conv2d: channels differ';
      // ONNX Runtime multiplies the zero padding by the filter (Inf·0 = NaN); tfjs skips it.
      if (at['pad'] === 'same' && special(w!)) return "conv2d 'same' with NaN/Inf in the filter";
      const s = num(at, 'stride'), dl = num(at, 'dil');
      const size = (inp: number, k: number) => (at['pad'] === 'same' ? Math.ceil(inp / s) : Math.ceil((inp - (k - 1) * dl) / s));
      const oh = size(h as number, kh as number), ow = size(wd as number, kw as number);
      if (oh < 1 || ow < 1) return 'conv2d: filter larger than the input';
      return productOut([n!, oh, ow, co!], (kh as number) * (kw as number) * (ci as number), x!, w!, true);
    },
    emit: ([x, w], at) => `tf.conv2d(${x}, ${w}, ${num(at, 'stride')}, '${at['pad'] as string}', 'NHWC', ${num(at, 'dil')})`,
    partner: (r, x) => (x.shape.length === 4 && !isSym(x.shape[3]!) ? { dtype: 'float32', shape: [r.int(1, 3), r.int(1, 3), x.shape[3]!, r.int(1, 3)] } : null),
  } satisfies OpDef,
});

function poolOp(fn: 'maxPool' | 'avgPool'): OpDef {
  return {
    arity: 1, weight: 0.8,
    gen: (r) => ({ fh: r.int(1, 3), fw: r.int(1, 3), stride: r.int(1, 2), pad: r.pick(['same', 'valid']) }),
    infer([x], at) {
      if (x!.dtype !== 'float32' || x!.shape.length !== 4) return `${fn} needs a rank-4 float`;
      const [n, h, w, ch] = x!.shape;
      if ([h, w].some((d) => isSym(d!) || d === 0)) return `${fn}: symbolic or zero spatial dims`;
      if (fn === 'maxPool' && x!.nan) return 'maxPool of NaN';
      const s = num(at, 'stride');
      const size = (inp: number, k: number) => (at['pad'] === 'same' ? Math.ceil(inp / s) : Math.ceil((inp - k + 1) / s));
      const oh = size(h as number, num(at, 'fh')), ow = size(w as number, num(at, 'fw'));
      if (oh < 1 || ow < 1) return `${fn}: window larger than the input`;
      const shape = [n!, oh, ow, ch!];
      if (fn === 'maxPool') return { ...x!, shape };
      const k = num(at, 'fh') * num(at, 'fw');
      return out('float32', shape, x!.lo, x!.hi, { ...specials([x!]), err: x!.err + EPS * (k + 2) * mag(x!) });
    },
    emit: ([x], at) => `tf.${fn}(${x}, [${num(at, 'fh')}, ${num(at, 'fw')}], ${num(at, 'stride')}, '${at['pad'] as string}')`,
  };
}
Object.assign(OPS, { maxPool: poolOp('maxPool'), avgPool: poolOp('avgPool') });

// ---- shape ops (values move, never change: exactness and intervals carry over) ----------------

const moved = (x: Abs, shape: Dim[]): Abs => ({ ...x, shape });

/** Prime factors of n (n ≥ 1). */
function factors(n: number): number[] {
  const fs: number[] = [];
  for (let p = 2; n > 1; p++) while (n % p === 0) { fs.push(p); n /= p; }
  return fs;
}

/** A shape term: a static size, or `s<k>` meaning the operand's dim k (`x.shape[k]`). */
type Term = number | string;
const termDim = (x: Abs, t: Term): Dim => (typeof t === 'number' ? t : x.shape[Number(t.slice(1))]!);
const emitTerms = (x: string, ts: Term[]) => `[${ts.map((t) => (typeof t === 'number' ? String(t) : `${x}.shape[${t.slice(1)}]`)).join(', ')}]`;

Object.assign(OPS, {
  reshape: {
    arity: 1, weight: 1,
    gen: (r, [x]) => {
      const syms = x!.shape.flatMap((d, i) => (isSym(d) ? [`s${i}`] : []));
      const stat = x!.shape.filter((d): d is number => !isSym(d));
      const p = stat.reduce((a, b) => a * b, 1);
      let parts: number[] = [];
      if (p === 0) parts = [0, ...Array(r.int(0, 1)).fill(1)];
      else {
        for (const f of factors(p)) {
          if (parts.length && r.chance(0.5)) parts[r.int(0, parts.length - 1)]! *= f;
          else parts.push(f);
        }
        if (r.chance(0.3)) parts.splice(r.int(0, parts.length), 0, 1);
      }
      const terms: Term[] = [...parts];
      for (const s of syms) terms.splice(r.int(0, terms.length), 0, s);
      // -1 only where no dim can be 0 (tfjs cannot infer -1 for an empty tensor).
      const statIdx = terms.flatMap((t, i) => (typeof t === 'number' && t > 0 ? [i] : []));
      if (syms.length === 0 && p > 0 && statIdx.length && r.chance(0.3)) terms[r.pick(statIdx)] = -1;
      return { shape: terms };
    },
    infer([x], at) {
      const ts = at['shape'] as Term[];
      const used = ts.filter((t): t is string => typeof t === 'string').map((t) => Number(t.slice(1)));
      const syms = x!.shape.flatMap((d, i) => (isSym(d) ? [i] : []));
      if (used.length !== syms.length || !syms.every((i) => used.includes(i))) return 'reshape: symbolic dims not kept';
      const p = x!.shape.filter((d): d is number => !isSym(d)).reduce((a, b) => a * b, 1);
      const known = ts.filter((t): t is number => typeof t === 'number' && t >= 0).reduce((a, b) => a * b, 1);
      const shape = ts.map((t) => (t === -1 ? (known === 0 ? -1 : p / known) : termDim(x!, t)));
      if (shape.some((d) => typeof d === 'number' && (d < 0 || !Number.isInteger(d)))) return 'reshape: sizes do not divide';
      if (!ts.includes(-1) && known !== p) return 'reshape: element counts differ';
      return moved(x!, shape);
    },
    emit: ([x], at) => `tf.reshape(${x}, ${emitTerms(x!, at['shape'] as Term[])})`,
  } satisfies OpDef,
  transpose: {
    arity: 1, weight: 0.8,
    gen: (r, [x]) => (x!.shape.length < 2 ? null : { perm: r.shuffle([...x!.shape.keys()]) }),
    infer: ([x], at) => {
      const perm = nums(at, 'perm');
      if (perm.length !== x!.shape.length) return 'transpose: perm rank differs';
      return moved(x!, perm.map((p) => x!.shape[p]!));
    },
    emit: ([x], at) => `tf.transpose(${x}, ${lit(nums(at, 'perm'))})`,
  } satisfies OpDef,
  slice: {
    arity: 1, weight: 0.8,
    gen: (r, [x]) => {
      const begin: number[] = [], size: number[] = [];
      for (const d of x!.shape) {
        if (isSym(d) || d === 0) { begin.push(0); size.push(-1); continue; }
        const b = r.int(0, d - 1);
        begin.push(b);
        size.push(r.chance(0.3) ? -1 : r.int(r.chance(0.1) ? 0 : 1, d - b));
      }
      return { begin, size };
    },
    infer([x], at) {
      const begin = nums(at, 'begin'), size = nums(at, 'size');
      if (begin.length !== x!.shape.length || begin.length === 0) return 'slice: rank differs or 0 (tfjs cannot slice a scalar)';
      const shape: Dim[] = [];
      for (let i = 0; i < begin.length; i++) {
        const d = x!.shape[i]!;
        if (isSym(d)) {
          if (begin[i] !== 0 || size[i] !== -1) return 'slice of part of a symbolic dim';
          shape.push(d);
        } else {
          if (begin[i]! > d || (begin[i] === d && d > 0) || (size[i] !== -1 && begin[i]! + size[i]! > d)) return 'slice out of range';
          shape.push(size[i] === -1 ? d - begin[i]! : size[i]!);
        }
      }
      return moved(x!, shape);
    },
    emit: ([x], at) => `tf.slice(${x}, ${lit(nums(at, 'begin'))}, ${lit(nums(at, 'size'))})`,
  } satisfies OpDef,
  concat: {
    arity: 2, weight: 0.7,
    gen: (r, [x]) => {
      const ax = x!.shape.flatMap((d, i) => (isSym(d) ? [] : [i]));
      return ax.length ? { axis: r.pick(ax) } : null;
    },
    infer([a, b], at, c) {
      if (a!.dtype !== b!.dtype) return 'concat: dtypes differ';
      if (a!.shape.length !== b!.shape.length || a!.shape.length === 0) return 'concat: ranks differ';
      const ax = num(at, 'axis');
      const da = a!.shape[ax]!, db = b!.shape[ax]!;
      if (isSym(da) || isSym(db)) return 'concat along a symbolic dim';
      for (let i = 0; i < a!.shape.length; i++) if (i !== ax && !unifyDim(c, a!.shape[i]!, b!.shape[i]!)) return 'concat: dims differ';
      const shape = a!.shape.map((d, i) => (i === ax ? da + db : d));
      const [lo, hi] = hull(a!.lo, a!.hi, b!.lo, b!.hi);
      return out(a!.dtype, shape, lo, hi, { nan: a!.nan || b!.nan, inf: a!.inf || b!.inf, err: Math.max(a!.err, b!.err), grid: maxGrid([a!, b!]) });
    },
    emit: ([a, b], at) => `tf.concat([${a}, ${b}], ${num(at, 'axis')})`,
    partner: (r, x) => ({ dtype: x.dtype, shape: x.shape.map((d) => (isSym(d) ? d : d)) }),
  } satisfies OpDef,
  stack: {
    arity: 2, weight: 0.3,
    gen: (r, [x]) => ({ axis: r.int(0, x!.shape.length) }),
    infer([a, b], at, c) {
      if (a!.dtype !== b!.dtype || a!.shape.length !== b!.shape.length) return 'stack: types differ';
      for (let i = 0; i < a!.shape.length; i++) if (!unifyDim(c, a!.shape[i]!, b!.shape[i]!)) return 'stack: dims differ';
      const shape = [...a!.shape];
      shape.splice(num(at, 'axis'), 0, 2);
      const [lo, hi] = hull(a!.lo, a!.hi, b!.lo, b!.hi);
      return out(a!.dtype, shape, lo, hi, { nan: a!.nan || b!.nan, inf: a!.inf || b!.inf, err: Math.max(a!.err, b!.err), grid: maxGrid([a!, b!]) });
    },
    emit: ([a, b], at) => `tf.stack([${a}, ${b}], ${num(at, 'axis')})`,
    partner: (_r, x) => ({ dtype: x.dtype, shape: [...x.shape] }),
  } satisfies OpDef,
  expandDims: {
    arity: 1, weight: 0.4,
    gen: (r, [x]) => ({ axis: r.int(0, x!.shape.length) }),
    infer: ([x], at) => { const s = [...x!.shape]; s.splice(num(at, 'axis'), 0, 1); return moved(x!, s); },
    emit: ([x], at) => `tf.expandDims(${x}, ${num(at, 'axis')})`,
  } satisfies OpDef,
  squeeze: {
    arity: 1, weight: 0.4,
    gen: (r, [x]) => {
      const ones = x!.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      if (!ones.length) return null;
      return { axes: ones.filter(() => r.chance(0.6)).concat(ones.length ? [] : []) };
    },
    infer([x], at) {
      const axes = nums(at, 'axes');
      if (!axes.length || axes.some((a) => x!.shape[a] !== 1)) return 'squeeze of a dim that is not 1';
      return moved(x!, x!.shape.filter((_, i) => !axes.includes(i)));
    },
    emit: ([x], at) => `tf.squeeze(${x}, ${lit(nums(at, 'axes'))})`,
  } satisfies OpDef,
  tile: {
    arity: 1, weight: 0.3,
    gen: (r, [x]) => (x!.shape.length === 0 ? null : { reps: x!.shape.map((d) => (isSym(d) ? 1 : r.pick([1, 1, 2, 3]))) }),
    infer([x], at) {
      const reps = nums(at, 'reps');
      if (reps.length !== x!.shape.length) return 'tile: rank differs';
      if (x!.shape.some((d, i) => isSym(d) && reps[i] !== 1)) return 'tile of a symbolic dim';
      return moved(x!, x!.shape.map((d, i) => (isSym(d) ? d : d * reps[i]!)));
    },
    emit: ([x], at) => `tf.tile(${x}, ${lit(nums(at, 'reps'))})`,
  } satisfies OpDef,
  pad: {
    arity: 1, weight: 0.4,
    gen: (r, [x]) => (x!.shape.length === 0 ? null : {
      pads: x!.shape.map((d) => (isSym(d) ? [0, 0] : [r.int(0, 2), r.int(0, 2)])), value: r.pick([0, 0, 1, -2.5]),
    }),
    infer([x], at) {
      const pads = at['pads'] as [number, number][];
      if (x!.dtype === 'bool') return 'pad of bool';
      if (pads.length !== x!.shape.length || x!.shape.some((d, i) => isSym(d) && (pads[i]![0] || pads[i]![1]))) return 'pad: bad paddings';
      const v = x!.dtype === 'int32' ? Math.trunc(num(at, 'value')) : num(at, 'value');
      const [lo, hi] = hull(x!.lo, x!.hi, v);
      return { ...x!, lo, hi, grid: x!.grid === null ? null : Math.max(x!.grid, 1), shape: x!.shape.map((d, i) => (isSym(d) ? d : d + pads[i]![0] + pads[i]![1])) };
    },
    emit: ([x], at) => `tf.pad(${x}, ${lit(at['pads'])}, ${num(at, 'value')})`,
  } satisfies OpDef,
  reverse: {
    arity: 1, weight: 0.3,
    gen: (r, [x]) => (x!.shape.length === 0 ? null : { axes: someAxes(r, x!.shape.length) }),
    infer: ([x], at) => (nums(at, 'axes').every((a) => a < x!.shape.length) ? moved(x!, x!.shape) : 'reverse: axis out of range'),
    emit: ([x], at) => `tf.reverse(${x}, ${lit(nums(at, 'axes'))})`,
  } satisfies OpDef,
  broadcastTo: {
    arity: 1, weight: 0.3,
    gen: (r, [x]) => {
      const lead: Term[] = Array.from({ length: r.int(0, 1) }, () => r.int(1, 3));
      return { shape: [...lead, ...x!.shape.map((d, i): Term => (isSym(d) ? `s${i}` : d === 1 ? r.pick([1, 2, 3]) : d))] };
    },
    infer([x], at) {
      const ts = at['shape'] as Term[];
      const k = ts.length - x!.shape.length;
      if (k < 0) return 'broadcastTo: lower rank';
      for (let i = 0; i < x!.shape.length; i++) {
        const d = x!.shape[i]!, t = ts[k + i]!;
        if (isSym(d) ? t !== `s${i}` : typeof t !== 'number' || (d !== 1 && t !== d)) return 'broadcastTo: incompatible';
      }
      if (ts.slice(0, k).some((t) => typeof t !== 'number')) return 'broadcastTo: symbolic leading dim';
      return moved(x!, ts.map((t) => termDim(x!, t)));
    },
    emit: ([x], at) => `tf.broadcastTo(${x}, ${emitTerms(x!, at['shape'] as Term[])})`,
  } satisfies OpDef,
  gather: {
    arity: 2, weight: 0.6,
    gen: (r, [x]) => {
      const ax = x!.shape.flatMap((d, i) => (!isSym(d) && d > 0 ? [i] : []));
      return ax.length ? { axis: r.pick(ax) } : null;
    },
    infer([x, idx], at) {
      if (idx!.dtype !== 'int32') return 'gather: indices not int32';
      const ax = num(at, 'axis');
      const d = x!.shape[ax];
      if (d === undefined || isSym(d)) return 'gather: bad axis';
      if (idx!.lo < 0 || idx!.hi > d - 1) return 'gather: indices may be out of range';
      return moved(x!, [...x!.shape.slice(0, ax), ...idx!.shape, ...x!.shape.slice(ax + 1)]);
    },
    emit: ([x, i], at) => `tf.gather(${x}, ${i}, ${num(at, 'axis')})`,
    partner: (r) => ({ dtype: 'int32', shape: r.chance(0.7) ? [r.int(1, 4)] : [r.int(1, 2), r.int(1, 3)] }),
  } satisfies OpDef,
  oneHot: {
    arity: 1, weight: 0.3,
    gen: (r, [x]) => (x!.dtype === 'int32' && x!.lo >= 0 ? { depth: x!.hi + r.int(1, 3) } : null),
    infer([x], at) {
      if (x!.dtype !== 'int32' || x!.lo < 0 || x!.hi >= num(at, 'depth')) return 'oneHot: indices may be out of range';
      return out('int32', [...x!.shape, num(at, 'depth')], 0, 1);
    },
    emit: ([x], at) => `tf.oneHot(${x}, ${num(at, 'depth')})`,
  } satisfies OpDef,
  split: {
    arity: 1, weight: 0.3,
    gen: (r, [x]) => {
      const ax = x!.shape.flatMap((d, i) => (!isSym(d) && d >= 2 ? [i] : []));
      if (!ax.length) return null;
      const axis = r.pick(ax), d = x!.shape[axis] as number;
      const first = r.int(1, d - 1);
      const sizes = [first, d - first];
      return { axis, sizes, part: r.int(0, 1) };
    },
    infer([x], at) {
      const axis = num(at, 'axis'), sizes = nums(at, 'sizes');
      if (x!.shape[axis] !== sizes[0]! + sizes[1]!) return 'split: sizes do not add up';
      return moved(x!, x!.shape.map((d, i) => (i === axis ? sizes[num(at, 'part')]! : d)));
    },
    emit: ([x], at) => `tf.split(${x}, ${lit(nums(at, 'sizes'))}, ${num(at, 'axis')})[${num(at, 'part')}]`,
  } satisfies OpDef,
  unstack: {
    arity: 1, weight: 0.2,
    gen: (r, [x]) => {
      const ax = x!.shape.flatMap((d, i) => (!isSym(d) && d >= 1 ? [i] : []));
      if (!ax.length) return null;
      const axis = r.pick(ax);
      return { axis, part: r.int(0, (x!.shape[axis] as number) - 1) };
    },
    infer([x], at) {
      const axis = num(at, 'axis'), d = x!.shape[axis];
      if (d === undefined || isSym(d) || num(at, 'part') >= d) return 'unstack: bad axis';
      return moved(x!, x!.shape.filter((_, i) => i !== axis));
    },
    emit: ([x], at) => `tf.unstack(${x}, ${num(at, 'axis')})[${num(at, 'part')}]`,
  } satisfies OpDef,
  // tf.topk (sorted): values are the elements themselves, so sorting moves each by at most the
  // operand's error; indices are discontinuous (exact operands only), and NaN/Inf excluded
  // (tfjs's comparator subtracts: ∞ − ∞ and NaN make its order depend on its select algorithm).
  topk: {
    arity: 1, weight: 0.6,
    gen: (r, [x]) => {
      const n = x!.shape[x!.shape.length - 1];
      if (n === undefined || isSym(n) || n < 1 || n > 64) return null;
      return { k: r.int(0, n), part: r.pick(['values', 'indices']) };
    },
    infer([x], at) {
      if (!FLOAT_INT.includes(x!.dtype)) return `topk of ${x!.dtype}`;
      const r = x!.shape.length, n = x!.shape[r - 1], k = num(at, 'k');
      if (n === undefined || isSym(n) || k > n) return 'topk: k above the last axis';
      if (special(x!)) return 'topk of NaN/Inf (tfjs orders them by its select algorithm)';
      const shape = [...x!.shape.slice(0, -1), k];
      if (at['part'] === 'values') return moved(x!, shape);
      if (!exact(x!)) return 'topk indices of inexact values (ties)';
      return out('int32', shape, 0, Math.max(0, n - 1));
    },
    emit: ([x], at) => `tf.topk(${x}, ${num(at, 'k')}).${String(at['part'])}`,
  } satisfies OpDef,
  // tf.image.resizeNearestNeighbor moves elements; resizeBilinear is three lerps a + (b − a)·t
  // per output (a convex combination: inside the operand's interval, input errors carried as
  // they are, each rounding step within a few ulps of the magnitude).
  resizeNearestNeighbor: {
    arity: 1, weight: 0.5,
    gen: (r) => resizeAttrs(r),
    infer([x], at) {
      const shape = resizedShape(x!, at);
      if (typeof shape === 'string') return shape;
      if (x!.dtype === 'bool') return 'resize of bool';
      return moved(x!, shape);
    },
    emit: ([x], at) => `tf.image.resizeNearestNeighbor(${x}, ${lit(at['size'])}, ${String(at['alignCorners'])}, ${String(at['halfPixelCenters'])})`,
  } satisfies OpDef,
  resizeBilinear: {
    arity: 1, weight: 0.5,
    gen: (r) => resizeAttrs(r),
    infer([x], at) {
      const shape = resizedShape(x!, at);
      if (typeof shape === 'string') return shape;
      if (!FLOAT_INT.includes(x!.dtype)) return `resizeBilinear of ${x!.dtype}`;
      if (special(x!)) return 'resizeBilinear of NaN/Inf';
      return out('float32', shape, x!.lo, x!.hi, { err: x!.err + 16 * EPS * mag(x!) });
    },
    emit: ([x], at) => `tf.image.resizeBilinear(${x}, ${lit(at['size'])}, ${String(at['alignCorners'])}, ${String(at['halfPixelCenters'])})`,
  } satisfies OpDef,
  // tf.searchSorted of a row sorted in the program (tf.topk's values, reversed: topk's own
  // conditions hold, no NaN/Inf), on exact values (comparisons are discontinuous); values may be
  // NaN or ±Inf. tfjs reshapes both operands to 2-D with -1 and returns [rows, values].
  searchSorted: {
    arity: 2, weight: 0.4,
    gen: (r, [s, v]) => {
      const rank = s!.shape.length, n = s!.shape[rank - 1], m = v!.shape[v!.shape.length - 1];
      if ((rank !== 1 && rank !== 2) || v!.shape.length !== rank || n === undefined || isSym(n) || n < 1 || n > 32) return null;
      if (m === undefined || isSym(m) || m < 1) return null;
      return { side: r.pick(['left', 'right']), n };
    },
    infer([s, v], at, c) {
      if (!FLOAT_INT.includes(s!.dtype) || s!.dtype !== v!.dtype) return 'searchSorted: operands of different dtypes';
      if (special(s!) || !exact(s!) || !exact(v!)) return 'searchSorted of inexact values, or of a row with NaN/Inf';
      const rank = s!.shape.length, n = s!.shape[rank - 1], m = v!.shape[rank - 1];
      if (n !== num(at, 'n') || isSym(m!) || m! < 1) return 'searchSorted: row length changed';
      if (rank === 2 && !unifyDim(c, s!.shape[0]!, v!.shape[0]!)) return 'searchSorted: leading dims differ';
      return out('int32', [rank === 2 ? s!.shape[0]! : 1, m!], 0, num(at, 'n'));
    },
    emit: ([s, v], at) => `tf.searchSorted(tf.reverse(tf.topk(${s}, ${num(at, 'n')}).values, -1), ${v}, '${String(at['side'])}')`,
    partner: (r, x) => ({ dtype: x.dtype, shape: x.shape.length === 2 ? [x.shape[0]!, r.int(1, 4)] : [r.int(1, 4)] }),
  } satisfies OpDef,
  // tf.localResponseNormalization on finite rank-4 floats: |y| ≤ |x|·bias^−β (α ≥ 0);
  // the window sum and the power a few ulps from tfjs-cpu's float64, relative.
  localResponseNormalization: {
    arity: 1, weight: 1,
    gen: (r, [x]) => (x!.shape.length === 4 ? { radius: r.int(0, 4), bias: r.pick([1, 2]), alpha: r.pick([0.5, 1, 0.001]), beta: r.pick([0.5, 0.75]) } : null),
    infer([x], at) {
      if (x!.shape.length !== 4 || isSym(x!.shape[3]!)) return 'LRN needs rank 4 with static channels';
      if (x!.dtype !== 'float32') return `LRN of ${x!.dtype}`;
      if (special(x!)) return 'LRN of NaN/Inf';
      const m = mag(x!), bound = m * Math.pow(num(at, 'bias'), -num(at, 'beta'));
      if (m > 1e4) return 'LRN of large values (the sum of squares)';
      // An input error moves y by ≤ (1 + 2β·(2r + 1))·err·bias^−β (its own and its window's).
      const gain = (1 + 2 * num(at, 'beta') * (2 * num(at, 'radius') + 1)) * Math.pow(num(at, 'bias'), -num(at, 'beta'));
      return out('float32', x!.shape, -bound, bound, { err: x!.err * gain + 64 * EPS * bound });
    },
    emit: ([x], at) => `tf.localResponseNormalization(${x}, ${num(at, 'radius')}, ${num(at, 'bias')}, ${num(at, 'alpha')}, ${num(at, 'beta')})`,
  } satisfies OpDef,
  // tf.einsum of two operands (tfjs's limits: no repeated index within an operand, no
  // ellipsis): contractions, batched products, outer and elementwise products; the error bound of
  // a dot product over the summed dims.
  einsum: {
    arity: 2, weight: 0.6,
    gen: (r, [a, b]) => {
      const ra = a!.shape.length, rb = b!.shape.length;
      const forms: string[] = [];
      if (ra === 2 && rb === 2) forms.push('ij,jk->ik', 'ij,kj->ik', 'ij,ij->ij', 'ij,ij->i', 'ij,ij->', 'ij,ik->jk');
      if (ra === 3 && rb === 3) forms.push('bij,bjk->bik', 'bij,bkj->bik', 'bij,bij->bi');
      if (ra === 1 && rb === 1) forms.push('i,j->ij', 'i,i->', 'i,i->i');
      if (ra === 2 && rb === 1) forms.push('ij,j->i', 'ij,i->j');
      return forms.length ? { eq: r.pick(forms) } : null;
    },
    infer([a, b], at, c) {
      if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return 'einsum of non-floats';
      const [lhs, outs] = String(at['eq']).split('->') as [string, string];
      const [ta, tb] = lhs.split(',') as [string, string];
      if (ta.length !== a!.shape.length || tb.length !== b!.shape.length) return 'einsum: ranks changed';
      const dims = new Map<string, Dim>();
      for (const [term, x] of [[ta, a!], [tb, b!]] as const) {
        for (let i = 0; i < term.length; i++) {
          const d = dims.get(term[i]!);
          if (d === undefined) dims.set(term[i]!, x.shape[i]!);
          else if (!unifyDim(c, d, x.shape[i]!)) return 'einsum: dims of one index differ';
        }
      }
      const summed = [...dims.keys()].filter((k) => !outs.includes(k)).map((k) => dims.get(k)!);
      return productOut([...outs].map((k) => dims.get(k)!), maxCount(summed), a!, b!, summed.length > 0);
    },
    emit: ([a, b], at) => `tf.einsum('${String(at['eq'])}', ${a}, ${b})`,
    partner: (r, x) => {
      const s = x.shape;
      if (s.length === 1) return { dtype: 'float32', shape: r.chance(0.5) ? [...s] : [r.int(1, 4)] };
      if (s.length === 2) return { dtype: 'float32', shape: r.pick([[s[1]!, r.int(1, 4)], [...s], [s[0]!, r.int(1, 4)]]) };
      if (s.length === 3) return { dtype: 'float32', shape: r.chance(0.5) ? [s[0]!, s[2]!, r.int(1, 4)] : [...s] };
      return null;
    },
  } satisfies OpDef,
  // tf.tensorScatterUpdate of rows given as constant indices (duplicates included: the later
  // update wins), values moved, never computed. The tensor operand is passed as a product with 1
  // (a new tensor eagerly, the same values): tfjs-cpu 4.22 writes the updates into its input's
  // buffer, which would change the operand for the program's other readers (and for the updates,
  // when they are the same tensor) eagerly only. No bools (no product with 1).
  tensorScatterUpdate: {
    arity: 2, weight: 0.5,
    gen: (r, [t, u]) => {
      const d0 = t!.shape[0], n = u!.shape[0];
      if (t!.shape.length < 1 || d0 === undefined || isSym(d0) || d0 < 1 || n === undefined || isSym(n) || n < 1 || n > 8) return null;
      return { rows: Array.from({ length: n }, () => r.int(0, Math.min(d0, 3) - 1)), dtype: t!.dtype };
    },
    infer([t, u], at, c) {
      if (t!.dtype !== u!.dtype || t!.dtype === 'bool') return 'tensorScatterUpdate: dtypes differ, or bool';
      const rows = nums(at, 'rows');
      if (t!.shape.length !== u!.shape.length || u!.shape[0] !== rows.length || isSym(t!.shape[0]!) || Math.max(...rows) >= (t!.shape[0] as number)) return 'tensorScatterUpdate: shapes changed';
      for (let i = 1; i < t!.shape.length; i++) if (!unifyDim(c, t!.shape[i]!, u!.shape[i]!)) return 'tensorScatterUpdate: row shapes differ';
      const [lo, hi] = hull(t!.lo, t!.hi, u!.lo, u!.hi);
      return out(t!.dtype, t!.shape, lo, hi, { nan: t!.nan || u!.nan, inf: t!.inf || u!.inf, err: Math.max(t!.err, u!.err), grid: maxGrid([t!, u!]) });
    },
    emit: ([t, u], at) => `tf.tensorScatterUpdate(tf.mul(${t}, tf.scalar(1, '${String(at['dtype'])}')), tf.tensor2d(${lit(nums(at, 'rows'))}, [${nums(at, 'rows').length}, 1], 'int32'), ${u})`,
    partner: (r, x) => (x.shape.length >= 1 && x.shape.length <= 3 ? { dtype: x.dtype, shape: [r.int(1, 4), ...x.shape.slice(1)] } : null),
  } satisfies OpDef,
  // tf.image.cropAndResize with constant boxes (box edges on a grid of 1/8, so samples land on
  // pixels and on the image's edge) and box indices inside the batch (tfjs-wasm leaves a box
  // outside it unwritten). Positions are float32 on wasm and in graphc, float64 on tfjs-cpu: at
  // the image's edge one of the two is the reference. Bilinear as resizeBilinear (convex lerps);
  // nearest moves elements; both may give the extrapolation value.
  cropAndResize: {
    arity: 1, weight: 0.8,
    gen: (r, [x]) => {
      if (x!.shape.length !== 4) return null;
      const b = x!.shape[0]!;
      const n = r.int(1, 3);
      const boxes = Array.from({ length: n * 4 }, () => r.int(-2, 10) / 8);
      const boxInd = Array.from({ length: n }, () => (isSym(b) || b < 1 ? 0 : r.int(0, b - 1)));
      return { boxes, boxInd, crop: [r.int(1, 5), r.int(1, 5)], method: r.pick(['bilinear', 'nearest']), ext: r.pick([0, 0, -1.5, 2]) };
    },
    infer([x], at) {
      if (x!.shape.length !== 4) return 'cropAndResize needs rank 4 images';
      const [, h, w, c] = x!.shape;
      if (isSym(h!) || isSym(w!) || h! < 1 || w! < 1) return 'cropAndResize: symbolic or empty height/width';
      if (x!.dtype === 'bool') return 'cropAndResize of bool';
      const ext = num(at, 'ext'), n = nums(at, 'boxInd').length, [ch, cw] = nums(at, 'crop');
      const [lo, hi] = hull(x!.lo, x!.hi, ext, 0);
      if (at['method'] === 'nearest') return out('float32', [n, ch!, cw!, c!], lo, hi, { nan: x!.nan, inf: x!.inf, err: x!.err, grid: x!.err === 0 ? maxGrid([x!, constAbs('float32', [1], [ext])]) : null });
      if (!FLOAT_INT.includes(x!.dtype)) return `cropAndResize of ${x!.dtype}`;
      if (special(x!)) return 'cropAndResize bilinear of NaN/Inf';
      return out('float32', [n, ch!, cw!, c!], lo, hi, { err: x!.err + 16 * EPS * mag(x!) });
    },
    emit: ([x], at) => `tf.image.cropAndResize(${x}, tf.tensor2d(${lit(at['boxes'])}, [${nums(at, 'boxInd').length}, 4]), tf.tensor1d(${lit(at['boxInd'])}, 'int32'), ${lit(at['crop'])}, '${String(at['method'])}', ${num(at, 'ext')})`,
  } satisfies OpDef,
});

/** Resize attributes: an output size, and one of tfjs's three coordinate modes (alignCorners and halfPixelCenters never both). */
function resizeAttrs(r: Rng): Attrs {
  const mode = r.int(0, 2);
  return { size: [r.int(1, 6), r.int(1, 6)], alignCorners: mode === 1, halfPixelCenters: mode === 2 };
}

/** A resize's output shape: rank 3 or 4 images with static height and width ≥ 1. */
function resizedShape(x: Abs, at: Attrs): Dim[] | string {
  const r = x.shape.length;
  if (r !== 3 && r !== 4) return 'resize needs rank 3 or 4 images';
  const h = x.shape[r - 3]!, w = x.shape[r - 2]!;
  if (isSym(h) || isSym(w) || h < 1 || w < 1) return 'resize: symbolic or empty height/width';
  const [oh, ow] = nums(at, 'size');
  return [...x.shape.slice(0, r - 3), oh!, ow!, x.shape[r - 1]!];
}

/** Constants: `tf.tensor(values, shape, dtype)`, or a plain JS number for a float scalar. */
export const CONST_OP = 'const';

export function constAbs(dtype: DT, shape: number[], values: number[]): Abs {
  const lo = values.length ? Math.min(...values) : 0, hi = values.length ? Math.max(...values) : 0;
  const grid = dtype === 'float32' ? (values.every((v) => Number.isInteger(v * 4)) ? 2 : null) : 0;
  return out(dtype, shape, lo, hi, { grid });
}

export function emitConst(dtype: DT, shape: number[], values: number[], literal: boolean): string {
  if (literal) return String(values[0]);
  const vs = dtype === 'bool' ? values.map((v) => v !== 0) : values;
  if (shape.length === 0) return `tf.scalar(${String(vs[0])}, '${dtype}')`;
  return `tf.tensor(${lit(vs)}, ${lit(shape)}, '${dtype}')`;
}
