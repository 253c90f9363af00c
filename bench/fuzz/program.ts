/**
 * Fuzz programs: random tfjs functions over the op table (ops.ts), their input specs (static,
 * named and anonymous symbolic dims), how each input is fed (values and the kind of tf.Tensor:
 * made on the session's backend, on another backend, or a float tensor whose tfjs-cpu backing
 * store is a Uint8Array or Int32Array), and the sizes the symbolic dims take in each feed set.
 * A program is data: it prints as tfjs source (which is also what runs), re-analyses after the
 * minimiser edits it, and the same seed always generates the same program.
 */
import type { Abs, Ctx, DT, Dim } from './abstract.js';
import { SymClasses, isSym } from './abstract.js';
import type { Attrs } from './ops.js';
import { CONST_OP, OPS, constAbs, emitConst } from './ops.js';
import { Rng, mixSeed } from './rng.js';

/** The values an input is fed (its interval and grid follow from it: inputAbs). */
export type ValueKind = 'cont' | 'grid' | 'pos' | 'special' | 'b01' | 'fint' | 'int' | 'intpos' | 'bool';
/**
 * How the feed tensor is made: on the session's backend; on the other backend (cpu ↔ wasm);
 * or, for float32 inputs, on tfjs-cpu as tf.cast(tf.greater(…), 'float32') (a Uint8Array
 * backing store) or tf.cast(int32, 'float32') (an Int32Array backing store).
 */
export type Store = 'same' | 'other' | 'castBool' | 'castInt';

export interface InputDecl {
  name: string;
  dtype: DT;
  /** The spec given to gc.spec: null = anonymous, a string = named. */
  spec: (number | string | null)[];
  /** Per dim: the static size or the symbol class ('batch', or '_k' for an anonymous dim). */
  dims: Dim[];
  values: ValueKind;
  store: Store;
  /** Seeds this input's values in each feed set (fixed at creation: renaming keeps the values). */
  vseed: number;
}

export interface Step {
  name: string;
  op: string;
  args: string[];
  attrs: Attrs;
}

export interface FeedSet {
  /** Size of each symbol class (a class unified with others takes its root's size). */
  sizes: Record<string, number>;
  /** Seeds the values (per input, by name). */
  seed: number;
}

export interface Program {
  seed: number;
  /** Whether ops may unify distinct symbol classes (anonymous dims the program forces equal). */
  unify: boolean;
  inputs: InputDecl[];
  steps: Step[];
  outputs: string[];
  feeds: FeedSet[];
}

export interface GenOptions {
  unify?: boolean;
  maxSteps?: number;
  /** Probability that a float input holds NaN/±Inf. */
  special?: number;
  /** Probability that a feed is not a plain same-backend tensor. */
  oddFeeds?: number;
}

// ---- abstract values of inputs and programs --------------------------------------------------

const VALUE_ABS: Record<ValueKind, { lo: number; hi: number; grid: number | null; special?: boolean }> = {
  cont: { lo: -3, hi: 3, grid: null },
  grid: { lo: -4, hi: 4, grid: 2 },
  pos: { lo: 0.25, hi: 4, grid: null },
  special: { lo: -4, hi: 4, grid: 2, special: true },
  b01: { lo: 0, hi: 1, grid: 0 },
  fint: { lo: -6, hi: 6, grid: 0 },
  int: { lo: -6, hi: 6, grid: 0 },
  intpos: { lo: 1, hi: 6, grid: 0 },
  bool: { lo: 0, hi: 1, grid: 0 },
};

export function inputAbs(i: InputDecl): Abs {
  const v = VALUE_ABS[i.values];
  return { dtype: i.dtype, shape: [...i.dims], lo: v.lo, hi: v.hi, nan: !!v.special, inf: !!v.special, err: 0, grid: v.grid };
}

export interface Analysis {
  abs: Map<string, Abs>;
  syms: SymClasses;
}

function stepAbs(s: Step, abs: Map<string, Abs>, c: Ctx): Abs | string {
  if (s.op === CONST_OP) return constAbs(s.attrs['dtype'] as DT, s.attrs['shape'] as number[], s.attrs['values'] as number[]);
  const def = OPS[s.op];
  if (!def) return `unknown op ${s.op}`;
  const xs = s.args.map((a) => abs.get(a));
  if (xs.some((x) => x === undefined)) return `${s.name}: operand not defined`;
  if (s.args.some((a) => isLiteral(abs, a)) && def.arity !== 2 && def.arity !== 3) return 'literal operand';
  return def.infer(xs as Abs[], s.attrs, c);
}

const literals = new WeakMap<Map<string, Abs>, Set<string>>();
const isLiteral = (abs: Map<string, Abs>, name: string) => literals.get(abs)?.has(name) ?? false;

/** The abstract value of every value of `p`, or why `p` is not a valid program. */
export function analyze(p: Program): Analysis | string {
  const syms = new SymClasses();
  for (const i of p.inputs) for (const d of i.dims) if (isSym(d)) syms.find(d);
  // Anonymous input dims with the same class were unified on purpose by the generator.
  const c: Ctx = { syms, unify: p.unify };
  const abs = new Map<string, Abs>();
  literals.set(abs, new Set());
  for (const i of p.inputs) abs.set(i.name, inputAbs(i));
  for (const s of p.steps) {
    const a = stepAbs(s, abs, c);
    if (typeof a === 'string') return `${s.name} = ${s.op}: ${a}`;
    if (s.op === CONST_OP && s.attrs['literal']) literals.get(abs)!.add(s.name);
    abs.set(s.name, a);
  }
  for (const o of p.outputs) {
    if (!abs.has(o)) return `output ${o} is not defined`;
    if (isLiteral(abs, o)) return `output ${o} is a JS number`;
  }
  if (p.outputs.length === 0) return 'no outputs';
  return { abs, syms };
}

// ---- printing --------------------------------------------------------------------------------

export function stepSource(s: Step): string {
  if (s.op === CONST_OP) return emitConst(s.attrs['dtype'] as DT, s.attrs['shape'] as number[], s.attrs['values'] as number[], !!s.attrs['literal']);
  return OPS[s.op]!.emit(s.args, s.attrs);
}

/** The program's function as tfjs source: `(x0, x1) => { const v0 = tf.add(x0, x1); return v0; }`. */
export function functionSource(p: Program, indent = ''): string {
  const lines = [`(${p.inputs.map((i) => i.name).join(', ')}) => {`];
  for (const s of p.steps) lines.push(`${indent}  const ${s.name} = ${stepSource(s)};`);
  lines.push(`${indent}  return ${p.outputs.length === 1 ? p.outputs[0] : `[${p.outputs.join(', ')}]`};`);
  lines.push(`${indent}}`);
  return lines.join('\n');
}

export function specSource(i: InputDecl): string {
  const dims = `[${i.spec.map((d) => (d === null ? 'null' : typeof d === 'string' ? `'${d}'` : String(d))).join(', ')}]`;
  return i.dtype === 'float32' ? `gc.spec(${dims})` : `gc.spec(${dims}, '${i.dtype}')`;
}

// ---- feeds -----------------------------------------------------------------------------------

/** The concrete shape of an input in a feed set. */
export function feedShape(i: InputDecl, f: FeedSet, syms: SymClasses): number[] {
  return i.dims.map((d) => (isSym(d) ? f.sizes[syms.find(d)] ?? f.sizes[d] ?? 1 : d));
}

/** The values of an input in a feed set (deterministic in the feed seed and the input's vseed). */
export function feedValues(i: InputDecl, shape: number[], f: FeedSet): number[] {
  const r = new Rng(mixSeed(f.seed, String(i.vseed)));
  const n = shape.reduce((a, b) => a * b, 1);
  const vs: number[] = [];
  for (let k = 0; k < n; k++) {
    switch (i.values) {
      case 'cont': vs.push(Math.fround(-3 + 6 * r.next())); break;
      case 'grid': vs.push(r.int(-16, 16) / 4); break;
      case 'pos': vs.push(Math.fround(0.25 + 3.75 * r.next())); break;
      case 'special': vs.push(r.chance(0.25) ? r.pick([NaN, Infinity, -Infinity]) : r.int(-16, 16) / 4); break;
      case 'b01': case 'bool': vs.push(r.int(0, 1)); break;
      case 'fint': case 'int': vs.push(r.int(-6, 6)); break;
      case 'intpos': vs.push(r.int(1, 6)); break;
    }
  }
  return vs;
}

// ---- generation ------------------------------------------------------------------------------

class Builder {
  readonly inputs: InputDecl[] = [];
  readonly steps: Step[] = [];
  readonly abs = new Map<string, Abs>();
  readonly syms = new SymClasses();
  private anon = 0;
  private readonly lits = new Set<string>();

  constructor(readonly r: Rng, readonly o: Required<GenOptions>) {}

  get ctx(): Ctx {
    return { syms: this.syms, unify: this.o.unify };
  }

  values(): string[] {
    return [...this.abs.keys()].filter((k) => !this.lits.has(k));
  }

  newAnon(): string {
    return `_${this.anon++}`;
  }

  addInput(dtype: DT, dims: Dim[], spec: (number | string | null)[]): string {
    const r = this.r;
    let values: ValueKind, store: Store = 'same';
    if (r.chance(this.o.oddFeeds)) store = dtype === 'float32' ? r.pick(['other', 'other', 'castBool', 'castInt'] as Store[]) : 'other';
    if (dtype === 'bool') values = 'bool';
    else if (dtype === 'int32') values = r.chance(0.75) ? 'int' : 'intpos';
    else if (store === 'castBool') values = 'b01';
    else if (store === 'castInt') values = 'fint';
    else if (r.chance(this.o.special)) values = 'special';
    else values = r.weighted({ cont: 3, grid: 3, pos: 1 });
    const name = `x${this.inputs.length}`;
    const decl: InputDecl = { name, dtype, spec, dims, values, store, vseed: r.fork() };
    this.inputs.push(decl);
    this.abs.set(name, inputAbs(decl));
    return name;
  }

  /** A new input whose shape matches `shape`; anonymous classes are joined by fresh anonymous dims. */
  inputLike(dtype: DT, shape: Dim[]): string | null {
    const dims: Dim[] = [], spec: (number | string | null)[] = [];
    for (const d of shape) {
      if (!isSym(d)) { dims.push(d); spec.push(d); continue; }
      const root = this.syms.find(d);
      if (!root.startsWith('_')) { dims.push(root); spec.push(root); continue; }
      if (!this.o.unify) return null;
      const a = this.newAnon();
      this.syms.union(a, root);
      dims.push(a);
      spec.push(null);
    }
    return this.addInput(dtype, dims, spec);
  }

  addStep(op: string, args: string[], attrs: Attrs, a: Abs): string {
    const name = `v${this.steps.length}`;
    this.steps.push({ name, op, args, attrs });
    this.abs.set(name, a);
    if (op === CONST_OP && attrs['literal']) this.lits.add(name);
    return name;
  }

  /** A constant of this type (static shapes only). */
  constLike(dtype: DT, shape: number[]): string {
    const r = this.r;
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () =>
      dtype === 'bool' ? r.int(0, 1) : dtype === 'int32' ? r.int(-3, 3) : r.chance(0.3) ? r.pick([0.5, 1, 2, -1, 0.25]) : r.int(-8, 8) / 4);
    const literal = dtype === 'float32' && shape.length === 0 && r.chance(0.5);
    return this.addStep(CONST_OP, [], { dtype, shape, values, literal }, constAbs(dtype, shape, values));
  }

  /** A fresh operand of this type: a constant where the shape is static (sometimes), else a new input. */
  fresh(dtype: DT, shape: Dim[]): string | null {
    if (shape.every((d) => !isSym(d)) && shape.reduce((a: number, b) => a * (b as number), 1) <= 24 && this.r.chance(0.45)) {
      return this.constLike(dtype, shape as number[]);
    }
    return this.inputLike(dtype, shape);
  }
}

const RANK_WEIGHTS = { 0: 0.4, 1: 1.5, 2: 3, 3: 1.5, 4: 1.5 };

function randomInputShape(b: Builder): { dims: Dim[]; spec: (number | string | null)[] } {
  const r = b.r;
  const rank = Number(r.weighted(RANK_WEIGHTS));
  const dims: Dim[] = [], spec: (number | string | null)[] = [];
  for (let k = 0; k < rank; k++) {
    const symProb = k === 0 ? 0.55 : rank === 4 ? 0 : 0.12;
    if (r.chance(symProb)) {
      if (r.chance(0.5)) { const nm = k === 0 ? 'batch' : 'n'; dims.push(nm); spec.push(nm); }
      else { dims.push(b.newAnon()); spec.push(null); }
    } else {
      const d = r.chance(0.03) ? 0 : r.chance(0.3) ? 1 : r.int(2, 4);
      dims.push(d);
      spec.push(d);
    }
  }
  return { dims, spec };
}

const IMAGE_OPS = new Set(['conv2d', 'maxPool', 'avgPool']);

const OP_WEIGHTS: Record<string, number> = Object.fromEntries(Object.entries(OPS).map(([k, d]) => [k, d.weight]));

/** The sizes of the symbolic dims in one feed set: mostly small, sometimes 0 or 1. */
function randomSizes(r: Rng, classes: string[]): Record<string, number> {
  return Object.fromEntries(classes.map((c) => [c, r.chance(0.12) ? 0 : r.chance(0.25) ? 1 : r.int(2, 5)]));
}

export function generate(seed: number, opts: GenOptions = {}): Program {
  const o: Required<GenOptions> = { unify: opts.unify ?? true, maxSteps: opts.maxSteps ?? 7, special: opts.special ?? 0.12, oddFeeds: opts.oddFeeds ?? 0.35 };
  const r = new Rng(seed);
  const b = new Builder(r, o);
  const nIn = r.int(1, 3);
  const first = randomInputShape(b);
  const dtypeOf = () => r.weighted({ float32: 6, int32: 2, bool: 1 }) as DT;
  b.addInput(dtypeOf(), first.dims, first.spec);
  for (let k = 1; k < nIn; k++) {
    if (r.chance(0.6)) {
      const x = b.abs.get('x0')!;
      const shape = x.shape.map((d) => (r.chance(0.25) ? 1 : d));
      if (!b.inputLike(dtypeOf(), shape)) b.addInput(dtypeOf(), first.dims.map((d) => (isSym(d) ? 1 : d)), first.spec.map((d) => (typeof d === 'number' ? d : 1)));
    } else {
      const s = randomInputShape(b);
      b.addInput(dtypeOf(), s.dims, s.spec);
    }
  }
  const nSteps = r.int(1, o.maxSteps);
  let last: string | undefined;
  for (let k = 0; k < nSteps; k++) {
    for (let attempt = 0; attempt < 30; attempt++) {
      const opName = r.weighted(OP_WEIGHTS);
      const def = OPS[opName]!;
      const vals = b.values();
      let x0 = last !== undefined && r.chance(0.6) ? last : r.pick(vals);
      const mark = b.steps.length, markIn = b.inputs.length, symsBefore = b.syms.clone();
      // Ops that need a particular first operand: a bool condition, an NHWC image.
      if (opName === 'where' && b.abs.get(x0)!.dtype !== 'bool') {
        const bools = vals.filter((v) => b.abs.get(v)!.dtype === 'bool');
        x0 = bools.length ? r.pick(bools) : b.inputLike('bool', b.abs.get(x0)!.shape) ?? x0;
      }
      if (IMAGE_OPS.has(opName) && b.abs.get(x0)!.shape.length !== 4 && r.chance(0.7)) {
        const n: Dim = r.chance(0.5) ? 'batch' : r.int(1, 2);
        x0 = b.addInput('float32', [n, r.int(2, 6), r.int(2, 6), r.int(1, 3)], []);
        const decl = b.inputs[b.inputs.length - 1]!;
        decl.spec = decl.dims.map((d) => d);
      }
      const args = [x0];
      const rollback = () => {
        for (const s of b.steps.splice(mark)) b.abs.delete(s.name);
        for (const i of b.inputs.splice(markIn)) b.abs.delete(i.name);
        b.syms.parent.clear();
        for (const [kk, v] of symsBefore.parent) b.syms.parent.set(kk, v);
      };
      let ok = true;
      for (let i = 1; i < def.arity; i++) {
        // An existing value that fits, or a fresh one shaped for the op.
        const useFresh = !def.partner ? false : r.chance(0.5);
        let pick: string | null = null;
        if (!useFresh) {
          const cands = r.shuffle(vals.filter((v) => v !== x0 || r.chance(0.3)));
          for (const v of cands.slice(0, 8)) {
            const trial = [...args, v];
            while (trial.length < def.arity) trial.push(v);
            const c = { syms: b.syms.clone(), unify: o.unify };
            const xs = trial.map((a) => b.abs.get(a)!);
            const at = def.gen(r, xs, c);
            if (at && typeof def.infer(xs, at, c) !== 'string') { pick = v; break; }
          }
        }
        if (pick === null && def.partner) {
          const t = def.partner(r, b.abs.get(x0)!, i, b.ctx);
          if (t) pick = b.fresh(t.dtype, t.shape);
        }
        if (pick === null) { ok = false; break; }
        args.push(pick);
      }
      if (!ok) { rollback(); continue; }
      // where: the first operand is the condition; build one from a comparison when needed.
      const xs = args.map((a) => b.abs.get(a)!);
      const c = b.ctx;
      const at = def.gen(r, xs, c);
      const res = at && def.infer(xs, at, c);
      if (!at || !res || typeof res === 'string') { rollback(); continue; }
      last = b.addStep(opName, args, at, res);
      break;
    }
  }
  // Outputs: the last value, sometimes others too (an input returned as is, now and then).
  const outs = new Set<string>();
  const vals = b.values();
  outs.add(last ?? vals[vals.length - 1]!);
  const extra = r.int(0, 2);
  for (let k = 0; k < extra; k++) {
    const v = r.pick(vals);
    if (b.steps.some((s) => s.name === v) || r.chance(0.1)) outs.add(v);
  }
  const classes = [...new Set(b.inputs.flatMap((i) => i.dims.filter(isSym)))];
  const feeds: FeedSet[] = [0, 1].map(() => ({ sizes: randomSizes(r, classes), seed: r.fork() }));
  return { seed, unify: o.unify, inputs: b.inputs, steps: b.steps, outputs: [...outs], feeds };
}

// ---- reproductions ---------------------------------------------------------------------------

const STORE_NOTE: Record<Store, string> = {
  same: '',
  other: ' // made on the other backend than the session',
  castBool: ' // on tfjs-cpu via tf.cast(tf.greater(…), "float32"): a Uint8Array backing store',
  castInt: ' // on tfjs-cpu via tf.cast(int32, "float32"): an Int32Array backing store',
};

const valueList = (vs: number[]) => `[${vs.map((v) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v))).join(', ')}]`;

/** A self-contained tfjs + graphc snippet: the function, its specs and each feed set's tensors. */
export function reproSource(p: Program, syms: SymClasses, compileOpts: string): string {
  const lines = [`const fn = ${functionSource(p)};`, `const f = gc.compile(fn, { inputs: [${p.inputs.map(specSource).join(', ')}]${compileOpts} });`];
  p.feeds.forEach((fs, k) => {
    lines.push(`// feeds#${k}`);
    for (const i of p.inputs) {
      const shape = feedShape(i, fs, syms);
      const vs = feedValues(i, shape, fs);
      const data = i.dtype === 'bool' ? `[${vs.map((v) => String(v !== 0)).join(', ')}]` : valueList(vs);
      lines.push(`const ${i.name}_${k} = tf.tensor(${data}, [${shape.join(', ')}], '${i.dtype}');${STORE_NOTE[i.store]}`);
    }
    lines.push(`await f(${p.inputs.map((i) => `${i.name}_${k}`).join(', ')});`);
  });
  return lines.join('\n');
}
