/**
 * Errors in the user's shapes. A trace runs the function at concrete sizes of its symbolic dims
 * (see makePlan), so an error raised inside it — graphc's own (`matmul: inner dimensions differ
 * (lhs [13,3] …`) or tfjs's (`Shapes 17,3 and 13,3 must match`) — would print those sizes.
 * The sizes are chosen so that each names exactly one symbol (distinct primes, none equal to a
 * static dim of the specs or of a variable); here the numbers in shape-like text are written back
 * as the user wrote the dims: `batch` for a named dim, `?` for an anonymous one (null in the
 * spec), or `?k` (the graph's symbol `_k`) when the signature has several anonymous dims. A note
 * says which input dims each stands for.
 */
import { GcError } from '../../ir/errors.js';

export interface UserDims {
  /** A concrete size of this trace → how the user wrote that dim. */
  bySize: Map<number, string>;
  /** How each written name maps to the inputs, for the note (`? = dim 0 of 'x'`). */
  legend: Map<string, string>;
}

/**
 * Shape-like numbers: bracketed lists `[13,3]`, bare lists `13,3`, pairs `13 vs 17` / `13 ≠ 17`,
 * and tfjs's `shapes 17 and 7` or `shapes 1,17 and 7` (rank-1 shapes print as one number).
 */
const BRACKETED = /\[\s*-?\d+(?:\s*,\s*-?\d+)*\s*\]/g;
const BARE_LIST = /(?<![\w.[,])\d+(?:,\d+)+(?!\w|[.,]\d)/g;
const PAIR = /(?<![\w.])(\d+)( vs | ≠ | != )(\d+)(?!\w|[.,]\d)/g;
const SHAPES_AND = /(?<=\b[Ss]hapes? )(\d+)( and )(\d+)(?!\w|[.,]\d)/g;
/** A rank-1 shape beside a longer one: `shapes 1,17 and 7`, `shapes 7 and 1,17` (fuzz seed 902794). */
const SHAPES_FIRST = /(?<=\b[Ss]hapes? )(\d+)(?= and [\w?]+,)/g;
const SHAPES_SECOND = /(?<=\b[Ss]hapes? [\w?]+(?:,[\w?]+)+ and )(\d+)(?!\w|[.,]\d)/g;

/** `text` with the sizes of symbolic dims written as the user's dims; `used` collects the names written. */
export function inUserDims(text: string, dims: UserDims, used: Set<string>): string {
  const one = (n: string) => {
    const name = dims.bySize.get(Number(n));
    if (name === undefined) return n;
    used.add(name);
    return name;
  };
  const list = (m: string) => m.replace(/\d+/g, one);
  return text
    .replace(BRACKETED, list)
    .replace(BARE_LIST, list)
    .replace(PAIR, (_m, a: string, op: string, b: string) => `${one(a)}${op}${one(b)}`)
    .replace(SHAPES_AND, (_m, a: string, op: string, b: string) => `${one(a)}${op}${one(b)}`)
    .replace(SHAPES_FIRST, one)
    .replace(SHAPES_SECOND, one);
}

/**
 * The symbols whose trace size appears anywhere in `text` as a whole number: the sizes are
 * primes unlike any static dim, so this says which symbols an error is about even where the
 * number is not in a shape graphc knows how to rewrite.
 */
export function sizesMentioned(text: string, bySize: ReadonlyMap<number, string>): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<![\w.])\d+(?!\w|\.\d)/g)) {
    const s = bySize.get(Number(m[0]));
    if (s !== undefined) out.add(s);
  }
  return [...out];
}

/**
 * The error raised while tracing at the sizes of `dims`, speaking the user's dims: a GcError is
 * rebuilt with its message and notes translated (and a note on what the names stand for); any
 * other error (tfjs's own checks) keeps its identity and class, with message and stack rewritten.
 */
export function speakUserDims(err: unknown, dims: UserDims): unknown {
  if (dims.bySize.size === 0 || !(err instanceof Error)) return err;
  const used = new Set<string>();
  if (err instanceof GcError) {
    const info = err.info;
    const message = inUserDims(info.message, dims, used);
    const notes = (info.notes ?? []).map((n) => inUserDims(n, dims, used));
    if (used.size === 0) return err;
    const out = new GcError({ ...info, message, notes: [...notes, legendOf(used, dims)] });
    out.stack = `${out.message}\n${(err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).join('\n')}`;
    return out;
  }
  const message = inUserDims(err.message, dims, used);
  if (used.size === 0) return err;
  const old = err.message;
  err.message = `${message}\n  note: ${legendOf(used, dims)}`;
  if (err.stack?.includes(old)) err.stack = err.stack.replace(old, err.message);
  return err;
}

function legendOf(used: Set<string>, dims: UserDims): string {
  return `shapes are written with the specs' dims: ${[...used].map((n) => `${n} = ${dims.legend.get(n) ?? n}`).join('; ')}`;
}
