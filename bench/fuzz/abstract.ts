/**
 * The fuzzer's abstract values: what the generator knows about every tensor of a program without
 * running it. A value has a dtype, a shape of static and symbolic dims, an interval holding all its
 * finite elements, whether it may hold NaN or ±Inf, and an absolute error bound.
 *
 * The error bound is what makes float comparisons sound without being loose: `err` bounds
 * |computed − exact| of every finite element for any implementation that rounds each float32
 * operation once (tfjs-cpu computes in float64 and rounds the result, which is no worse;
 * fused kernels, XNNPACK and ONNX Runtime reassociate and use FMA, all covered by the bounds
 * below, which are the textbook forward error bounds: a sum of n terms is off by at most
 * n·ε·Σ|terms| whatever the order, a product adds ε·|result|, a library function adds a few
 * ulps and scales incoming error by its Lipschitz constant on the interval). ε = 2^-23 (one ulp
 * of 1; correct rounding is half of that). Two implementations are then within 2·err of each other.
 *
 * err = 0 means exact: every implementation gives the same bits. That holds for feeds, data
 * movement, neg/abs/max/min/relu, comparisons, integer arithmetic within range, and float
 * arithmetic on values that lie on a grid of multiples of 2^-grid whose results (and partial
 * sums) stay below 2^24·2^-grid, so every intermediate is representable. Discontinuous ops
 * (comparisons, floor/ceil/round/sign/step, float→int casts, argmax, float mod/floorDiv) are
 * applied only to exact operands: on an inexact operand a one-ulp difference flips the result,
 * which is not a bug.
 */

export type DT = 'float32' | 'int32' | 'bool';
/** A static size, or the name of a symbol class (a named dim such as 'batch', or '_0'.. for anonymous ones). */
export type Dim = number | string;

export const EPS = 2 ** -23;
/** The largest size a symbolic dim takes in the feeds (error bounds count elements with it). */
export const SYM_MAX = 5;
/** Integer results stay within ±2^30: no wraparound, whose handling differs between runtimes. */
export const INT_LIMIT = 2 ** 30;
/** Float values stay below this magnitude (exp, pow, prod are kept in range by their domains). */
export const FLOAT_LIMIT = 1e7;

export interface Abs {
  dtype: DT;
  shape: Dim[];
  /** Bounds of the finite elements. */
  lo: number;
  hi: number;
  /** May hold NaN / ±Inf. */
  nan: boolean;
  inf: boolean;
  /** Bound on |computed − exact| of every finite element; 0 = exact. */
  err: number;
  /** Every finite element is a multiple of 2^-grid (null: no such grid known). */
  grid: number | null;
}

export const mag = (a: Abs): number => Math.max(Math.abs(a.lo), Math.abs(a.hi));
export const isSym = (d: Dim): d is string => typeof d === 'string';
export const special = (a: Abs): boolean => a.nan || a.inf;

/** Union-find over symbol classes: anonymous dims a program forces to be equal become one class. */
export class SymClasses {
  readonly parent = new Map<string, string>();

  clone(): SymClasses {
    const c = new SymClasses();
    for (const [k, v] of this.parent) c.parent.set(k, v);
    return c;
  }

  find(s: string): string {
    let p = this.parent.get(s);
    if (p === undefined || p === s) return s;
    p = this.find(p);
    this.parent.set(s, p);
    return p;
  }

  union(a: string, b: string): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra === rb) return;
    // A named class stays the root (it is what the user wrote).
    if (ra.startsWith('_')) this.parent.set(ra, rb);
    else this.parent.set(rb, ra);
  }

  same(a: Dim, b: Dim): boolean {
    if (isSym(a) && isSym(b)) return this.find(a) === this.find(b);
    return a === b;
  }
}

/** Options the abstract interpretation checks programs against. */
export interface Ctx {
  syms: SymClasses;
  /** Whether two distinct symbol classes may be unified by an op (broadcast, matmul, concat). */
  unify: boolean;
}

/** Dims a and b must be equal: true when they are (unifying symbol classes if allowed). */
export function unifyDim(c: Ctx, a: Dim, b: Dim): boolean {
  if (isSym(a) && isSym(b)) {
    if (c.syms.find(a) === c.syms.find(b)) return true;
    if (!c.unify) return false;
    c.syms.union(a, b);
    return true;
  }
  return a === b;
}

/** Numpy broadcasting of two shapes; a symbolic dim broadcasts only against 1 or its own class. */
export function broadcast(c: Ctx, a: Dim[], b: Dim[]): Dim[] | null {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 1;
    const y = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (unifyDim(c, x, y)) out.push(x);
    else return null;
  }
  return out;
}

/** Upper bound on the number of elements (symbolic dims at their largest feed size). */
export function maxCount(shape: Dim[]): number {
  let n = 1;
  for (const d of shape) n *= isSym(d) ? SYM_MAX : d;
  return n;
}

/** Whether a dim may be 0 in some feed (symbolic dims may; static ones are what they are). */
export const mayBeZero = (d: Dim): boolean => isSym(d) || d === 0;

/** Exactness of a float result computed from exact operands on a grid: see the header. */
export function gridExact(grid: number | null, bound: number): boolean {
  return grid !== null && grid <= 24 && bound * 2 ** grid < 2 ** 24;
}
