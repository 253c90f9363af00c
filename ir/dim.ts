/**
 * Dimensions: a number, or an affine expression k·sym + c in one named symbol
 * (`batch`, `28*batch`, `batch+1`). Anonymous dynamic dims get generated symbols `_0`, `_1`…
 */
export interface SymDim {
  readonly sym: string;
  readonly k: number;
  readonly c: number;
}
export type Dim = number | SymDim;
export type Shape = readonly Dim[];

export function sym(name: string, k = 1, c = 0): Dim {
  if (k === 0) return c;
  return { sym: name, k, c };
}

export function isStatic(d: Dim): d is number {
  return typeof d === 'number';
}

export function isStaticShape(s: Shape): s is readonly number[] {
  return s.every(isStatic);
}

export function dimEq(a: Dim, b: Dim): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.sym === b.sym && a.k === b.k && a.c === b.c;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => dimEq(d, b[i]!));
}

export function dimToString(d: Dim): string {
  if (typeof d === 'number') return String(d);
  let s = d.k === 1 ? d.sym : d.k === -1 ? `-${d.sym}` : `${d.k}*${d.sym}`;
  if (d.c > 0) s += `+${d.c}`;
  else if (d.c < 0) s += `${d.c}`;
  return s;
}

export function shapeToString(s: Shape): string {
  return `[${s.map(dimToString).join(',')}]`;
}

const DIM_RE = /^(?:(-?\d+)\*)?(-)?([A-Za-z_][A-Za-z0-9_]*)([+-]\d+)?$/;

export function parseDim(text: string): Dim {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  const m = DIM_RE.exec(t);
  if (!m) throw new Error(`bad dimension '${text}': expected an integer, a symbol, or k*sym+c`);
  const k = (m[1] !== undefined ? Number(m[1]) : 1) * (m[2] ? -1 : 1);
  return sym(m[3]!, k, m[4] ? Number(m[4]) : 0);
}

export function dimAdd(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'number') return sym((b as SymDim).sym, (b as SymDim).k, (b as SymDim).c + a);
  if (typeof b === 'number') return sym(a.sym, a.k, a.c + b);
  if (a.sym !== b.sym) return undefined;
  return sym(a.sym, a.k + b.k, a.c + b.c);
}

export function dimSub(a: Dim, b: Dim): Dim | undefined {
  return dimAdd(a, dimScale(b, -1));
}

export function dimScale(a: Dim, f: number): Dim {
  if (typeof a === 'number') return a * f;
  return sym(a.sym, a.k * f, a.c * f);
}

/** a / f when exact (both coefficients divisible), else undefined. */
export function dimDiv(a: Dim, f: number): Dim | undefined {
  if (typeof a === 'number') return a % f === 0 ? a / f : undefined;
  if (a.k % f !== 0 || a.c % f !== 0) return undefined;
  return sym(a.sym, a.k / f, a.c / f);
}

/** Product of dims if it stays affine (at most one symbolic factor). */
export function dimProduct(ds: readonly Dim[]): Dim | undefined {
  let num = 1;
  let s: SymDim | undefined;
  for (const d of ds) {
    if (typeof d === 'number') num *= d;
    else if (s === undefined) s = d;
    else return undefined;
  }
  if (s === undefined) return num;
  if (num === 0) return 0;
  return dimScale(s, num);
}

export type Bindings = ReadonlyMap<string, number> | Record<string, number>;

function lookup(b: Bindings, name: string): number | undefined {
  return b instanceof Map ? b.get(name) : (b as Record<string, number>)[name];
}

export function evalDim(d: Dim, b: Bindings): number {
  if (typeof d === 'number') return d;
  const v = lookup(b, d.sym);
  if (v === undefined) throw new Error(`symbolic dim '${d.sym}' has no value bound`);
  return d.k * v + d.c;
}

export function evalShape(s: Shape, b: Bindings): number[] {
  return s.map((d) => evalDim(d, b));
}
