/**
 * Keeping tfjs's JavaScript random ops random in compiled graphs.
 *
 * tfjs builds randomUniform / randomNormal / truncatedNormal (and so dropout) in JavaScript
 * and hands the values to the backend as a constant. While tracing, graphc replaces
 * Math.random (which tfjs uses to seed unseeded draws), so it knows the seed of every unseeded
 * draw; it regenerates the standard stream for that seed with the same generator (alea) and
 * recovers the distribution's parameters exactly (checked by regenerating every value).
 * Seeded draws give the same values on every eager call, so they stay constants.
 */
import seedrandom from 'seedrandom';
import type { DType } from '../../ir/dtype.js';

export type RandomKind = 'uniform' | 'normal' | 'truncated';

export const RANDOM_OP_FUNCTIONS: Record<string, RandomKind | 'unsupported'> = {
  randomUniform_: 'uniform',
  randomNormal_: 'normal',
  randomStandardNormal_: 'normal',
  truncatedNormal_: 'truncated',
  randomGamma_: 'unsupported',
  randomUniformInt_: 'unsupported',
};

function uniformStream(seed: string, n: number): Float64Array {
  const rng = seedrandom.alea(seed);
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = rng();
  return u;
}

/** The standard-normal values tfjs's MPRandGauss draws for this seed (mean 0, std 1). */
function gaussStream(seed: string, n: number, truncated: boolean): Float64Array {
  const rng = seedrandom.alea(seed);
  const z = new Float64Array(n);
  let next = NaN;
  const valid = (v: number) => !truncated || (v <= 2 && v >= -2);
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(next)) { z[i] = next; next = NaN; continue; }
    let x = 0, y = 0, ok = false;
    while (!ok) {
      let v1: number, v2: number, s: number;
      do {
        v1 = 2 * rng() - 1;
        v2 = 2 * rng() - 1;
        s = v1 * v1 + v2 * v2;
      } while (s >= 1 || s === 0);
      const mul = Math.sqrt(-2.0 * Math.log(s) / s);
      x = v1 * mul;
      y = v2 * mul;
      ok = valid(x);
    }
    if (valid(y)) next = y;
    z[i] = x;
  }
  return z;
}

/**
 * Constants that are random draws seeded by the user (tf.randomUniform(…, seed), a dropout layer
 * with a `seed`): eager tfjs draws the same values for a given shape on every call, so a trace
 * keeps them as constants; unify names them when their shape follows a symbolic dim.
 */
export const seededDraws = new WeakSet<object>();

export interface RandomParams {
  kind: RandomKind;
  /** uniform: [min, max]; normal: [mean, std]. */
  a: number;
  b: number;
}

function convert(v: number, dtype: DType): number {
  return dtype === 'float32' ? Math.fround(v) : Math.round(v);
}

function reproduces(kind: RandomKind, a: number, b: number, base: Float64Array, values: ArrayLike<number>, dtype: DType): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = kind === 'uniform' ? a + (b - a) * base[i]! : a + b * base[i]!;
    if (convert(v, dtype) !== values[i]) return false;
  }
  return true;
}

/** Nearby "round" numbers, simplest first: the user most likely wrote one of these. */
function snap(x: number): number[] {
  const out: number[] = [];
  for (let d = 0; d <= 7; d++) out.push(Math.round(x * 10 ** d) / 10 ** d);
  for (const digits of [3, 5, 7]) out.push(Number(x.toPrecision(digits)));
  return [...new Set(out.map((v) => (Object.is(v, -0) ? 0 : v)))];
}

/**
 * Recovers the parameters of a draw made with `seed`, or undefined when no parameters
 * reproduce the values exactly (the draw was seeded by the user, or is not what we think).
 */
export function recoverParams(kind: RandomKind, seed: string, values: ArrayLike<number>, dtype: DType): RandomParams | undefined {
  const n = values.length;
  if (n === 0) return { kind, a: kind === 'uniform' ? 0 : 0, b: 1 };
  const base = kind === 'uniform' ? uniformStream(seed, n) : gaussStream(seed, n, kind === 'truncated');
  let lo = 0, hi = 0;
  for (let i = 1; i < n; i++) {
    if (base[i]! < base[lo]!) lo = i;
    if (base[i]! > base[hi]!) hi = i;
  }
  const candidates: Array<[number, number]> = [];
  if (n === 1 || base[hi] === base[lo]) {
    candidates.push(kind === 'uniform' ? [0, 1] : [0, 1]);
    if (kind === 'uniform') candidates.push([0, values[0]! / base[0]!]);
  } else {
    const scale = (values[hi]! - values[lo]!) / (base[hi]! - base[lo]!);
    const offset = values[lo]! - scale * base[lo]!;
    const [pa, pb] = kind === 'uniform' ? [offset, offset + scale] : [offset, scale];
    const sa = snap(pa), sb = snap(pb);
    // Pairs in order of total simplicity.
    const pairs: Array<[number, number, number]> = [];
    sa.forEach((a, i) => sb.forEach((b, j) => pairs.push([i + j, a, b])));
    pairs.sort((x, y) => x[0] - y[0]);
    for (const [, a, b] of pairs) candidates.push([a, b]);
    candidates.push([pa, pb]);
  }
  // Prefer the simplest (snapped) parameters that reproduce every value exactly.
  for (const [a, b] of candidates) if (reproduces(kind, a, b, base, values, dtype)) return { kind, a, b };
  // Parameters that are not round numbers (glorotNormal's std = sqrt(2/(in+out))/0.8796…,
  // glorotUniform's ±sqrt(6/(in+out))): for each candidate offset, the scales that round every
  // value to what tfjs wrote form an interval; its midpoint reproduces them all.
  if (dtype === 'float32' && n > 1 && base[hi] !== base[lo]) {
    for (const [a] of candidates) {
      const s = scaleInterval(a, base, values);
      if (s === undefined) continue;
      const b = kind === 'uniform' ? a + s : s;
      if (reproduces(kind, a, b, base, values, dtype)) return { kind, a, b };
    }
  }
  return undefined;
}

/** The next float32 above (dir 1) or below (dir -1) a float32 value. */
export function nextFloat32(v: number, dir: 1 | -1): number {
  const f = new Float32Array([v]);
  const i = new Int32Array(f.buffer);
  if (v === 0) { f[0] = dir * 1.401298464324817e-45; return f[0]!; }
  i[0] = i[0]! + ((v > 0) === (dir > 0) ? 1 : -1);
  return f[0]!;
}

/**
 * The midpoint of the scales s with fround(a + s·base[i]) = values[i] for every i, or
 * undefined when there are none (the interval bounds are the half-way points to the
 * neighbouring float32 values).
 */
function scaleInterval(a: number, base: Float64Array, values: ArrayLike<number>): number | undefined {
  let lo = -Infinity, hi = Infinity;
  for (let i = 0; i < values.length; i++) {
    const z = base[i]!, v = values[i]!;
    if (z === 0) continue;
    const vlo = (v + nextFloat32(v, -1)) / 2, vhi = (v + nextFloat32(v, 1)) / 2;
    let p = (vlo - a) / z, q = (vhi - a) / z;
    if (p > q) [p, q] = [q, p];
    lo = Math.max(lo, p);
    hi = Math.min(hi, q);
    if (lo > hi) return undefined;
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? (lo + hi) / 2 : undefined;
}

/** Replaces Math.random while tracing; remembers the values it handed out. */
export class SeedRecorder {
  private readonly original = Math.random;
  private counter = 0;
  /** Seeds handed out since the last take(). */
  private pending: number[] = [];

  install(): void {
    const self = this;
    Math.random = function graphcTraceRandom(): number {
      const s = self.original.call(Math);
      self.pending.push(s);
      self.counter++;
      return s;
    };
  }

  restore(): void {
    Math.random = this.original;
  }

  /** Whether `value` was handed out since the last take(); it is taken if so. */
  takeValue(value: number): boolean {
    const i = this.pending.lastIndexOf(value);
    if (i < 0) return false;
    this.pending.splice(i, 1);
    return true;
  }

  take(): number[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }
}
