/**
 * The AutoGraph runtime: what code rewritten by ./transform.ts calls. Every entry decides at run
 * time, as TensorFlow's AutoGraph does:
 *
 *   - a condition that is a plain JavaScript value (eager code, or a condition on JS numbers
 *     inside a compiled function) runs as the plain JavaScript it was;
 *   - a condition computed from a tensor of a running trace (a `Sym`) becomes gc.cond /
 *     gc.whileLoop, the reads in it become tensor ops (`t.dataSync()[0] > 0` is
 *     `tf.greater(t[0], 0)`), and the variables the branches or the loop body assign become the
 *     cond's outputs or the loop-carried values.
 *
 * Eagerly a read is the read the user wrote (`t.dataSync()[k]`, `t.arraySync()[i]…`), so
 * transformed code computes exactly what the original computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import { isTraceTensor } from '../trace/backend.js';
import { isTracing } from '../trace/tracer.js';
import { userLocation } from '../trace/source_loc.js';
import { cond, whileLoop } from '../control_flow.js';
import { item as eagerItem } from './item.js';

/** A scalar computed from data of a traced tensor: a tensor of the graph standing for a JS value. */
export class Sym {
  constructor(readonly t: tf.Tensor) {}
}

/**
 * Whether a read of `t` is a value of the graph being traced: a traced tensor, or a tf.Variable
 * (its value at each call, not at trace time: read eagerly, a branch on it would be fixed when
 * tracing). Any other tensor is a constant of the graph and is read as it is.
 */
function traced(t: unknown): boolean {
  return t instanceof tf.Tensor && isTracing() && (isTraceTensor(t) || t instanceof tf.Variable);
}

// ---- reads ------------------------------------------------------------------------------------

/** `t.dataSync()[k]`. */
export function read(t: tf.Tensor, k: number): number | Sym {
  if (!traced(t)) return t.dataSync()[k]!;
  if (typeof k !== 'number' || !Number.isInteger(k)) {
    throw new GcError({ code: Codes.traceRead, message: `autograph: dataSync()[${String(k)}] on a traced tensor needs an integer index known when tracing`, loc: userLocation() });
  }
  if (t.rank === 0 && k === 0) return new Sym(t);
  return new Sym(tf.reshape(tf.slice(tf.reshape(t, [-1]), [k], [1]), []));
}

/** `t.arraySync()[i][j]…` (an empty index: `t.arraySync()`); traced, the index must reach a scalar. */
export function readArray(t: tf.Tensor, index: number[]): unknown {
  if (!traced(t)) {
    let v: unknown = t.arraySync();
    for (const i of index) v = (v as unknown[])[i];
    return v;
  }
  if (index.length !== t.rank || !index.every((i) => typeof i === 'number' && Number.isInteger(i))) {
    throw new GcError({
      code: Codes.traceRead,
      message: `autograph: arraySync()${index.map((i) => `[${String(i)}]`).join('')} on a traced tensor of rank ${t.rank} is not a number`,
      loc: userLocation(),
      help: 'a condition on traced data must read one element: index arraySync() once per dimension, or use gc.item(t) on a one-element tensor',
    });
  }
  if (t.rank === 0) return new Sym(t);
  return new Sym(tf.reshape(tf.slice(t, index, index.map(() => 1)), []));
}

/** `gc.item(t)`. */
export function item(t: tf.Tensor): number | Sym {
  if (!traced(t)) return eagerItem(t);
  if (t.size !== 1) {
    throw new GcError({ code: Codes.traceRead, message: `gc.item: the tensor has ${t.size} elements (shape [${t.shape.join(',')}]), not one`, loc: userLocation() });
  }
  return new Sym(t.rank === 0 ? t : tf.reshape(t, []));
}

// ---- operators --------------------------------------------------------------------------------

type Val = unknown;

function asTensor(v: Val): tf.Tensor {
  if (v instanceof Sym) return v.t;
  if (v instanceof tf.Tensor) return v;
  if (typeof v === 'number') return tf.scalar(v);
  if (typeof v === 'boolean') return tf.scalar(v, 'bool');
  throw new GcError({ code: Codes.traceUnsupported, message: `autograph: a condition on traced data combines it with ${typeof v} ${String(v).slice(0, 40)}, which has no tensor form`, loc: userLocation() });
}

/** Truthiness of a traced scalar as a bool tensor (JavaScript's: 0 and NaN are false). */
function truthy(v: Val): tf.Tensor {
  const t = asTensor(v);
  if (t.dtype === 'bool') return t;
  if (t.dtype === 'int32') return tf.notEqual(t, tf.scalar(0, 'int32'));
  return tf.logicalAnd(tf.notEqual(t, tf.scalar(0)), tf.equal(t, t));
}

/** Same dtype for both operands of a binary op (tfjs wants it; JS numbers are doubles). */
function pair(a: Val, b: Val): [tf.Tensor, tf.Tensor] {
  let x = asTensor(a), y = asTensor(b);
  if (x.dtype !== y.dtype) {
    if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
    if (y.dtype !== 'float32') y = tf.cast(y, 'float32');
  }
  return [x, y];
}

const BINARY: Record<string, { js: (a: any, b: any) => unknown; tf: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor }> = {
  '+': { js: (a, b) => a + b, tf: tf.add },
  '-': { js: (a, b) => a - b, tf: tf.sub },
  '*': { js: (a, b) => a * b, tf: tf.mul },
  '/': { js: (a, b) => a / b, tf: (a, b) => tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32')) },
  '%': { js: (a, b) => a % b, tf: (a, b) => jsMod(a, b) },
  '<': { js: (a, b) => a < b, tf: tf.less },
  '<=': { js: (a, b) => a <= b, tf: tf.lessEqual },
  '>': { js: (a, b) => a > b, tf: tf.greater },
  '>=': { js: (a, b) => a >= b, tf: tf.greaterEqual },
  '==': { js: (a, b) => a == b, tf: tf.equal }, // eslint-disable-line eqeqeq
  '===': { js: (a, b) => a === b, tf: tf.equal },
  '!=': { js: (a, b) => a != b, tf: tf.notEqual }, // eslint-disable-line eqeqeq
  '!==': { js: (a, b) => a !== b, tf: tf.notEqual },
};

/** JavaScript's %: the sign of the dividend (tf.mod takes the divisor's). */
function jsMod(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const q = tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
  const trunc = tf.mul(tf.sign(q), tf.floor(tf.abs(q)));
  return tf.sub(tf.cast(a, 'float32'), tf.mul(tf.cast(b, 'float32'), trunc));
}

export function op(o: string, a: Val, b: Val): Val {
  const f = BINARY[o]!;
  if (!(a instanceof Sym) && !(b instanceof Sym)) return f.js(a, b);
  return new Sym(f.tf(...pair(a, b)));
}

export function and(a: Val, b: () => Val): Val {
  if (a instanceof Sym) return new Sym(tf.logicalAnd(truthy(a), truthy(b())));
  return a ? b() : a;
}

export function or(a: Val, b: () => Val): Val {
  if (a instanceof Sym) return new Sym(tf.logicalOr(truthy(a), truthy(b())));
  return a ? a : b();
}

export function not(a: Val): Val {
  return a instanceof Sym ? new Sym(tf.logicalNot(truthy(a))) : !a;
}

export function neg(a: Val): Val {
  return a instanceof Sym ? new Sym(tf.neg(a.t)) : -(a as number);
}

export function pos(a: Val): Val {
  return a instanceof Sym ? new Sym(tf.cast(a.t, 'float32')) : +(a as number);
}

const MATH: Record<string, (...t: tf.Tensor[]) => tf.Tensor> = {
  abs: (t) => tf.abs(t!),
  sqrt: (t) => tf.sqrt(tf.cast(t!, 'float32')),
  exp: (t) => tf.exp(tf.cast(t!, 'float32')),
  log: (t) => tf.log(tf.cast(t!, 'float32')),
  floor: (t) => tf.floor(t!),
  ceil: (t) => tf.ceil(t!),
  round: (t) => tf.floor(tf.add(tf.cast(t!, 'float32'), 0.5)), // JavaScript rounds halves up (tf.round to even)
  min: (...ts) => ts.reduce((a, b) => tf.minimum(...pair(a, b))),
  max: (...ts) => ts.reduce((a, b) => tf.maximum(...pair(a, b))),
};

export function math(name: string, ...args: Val[]): Val {
  if (!args.some((a) => a instanceof Sym)) return (Math as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
  if ((name === 'min' || name === 'max') && args.length === 0) return name === 'min' ? Infinity : -Infinity;
  return new Sym(MATH[name]!(...args.map(asTensor)));
}

// ---- control flow -----------------------------------------------------------------------------

/**
 * The body of an async function whose awaits were all reads of tensor data in conditions, now run
 * synchronously: while tracing it returns the body's value (a compiled function is synchronous);
 * otherwise a Promise of it, as the async function did (a throw becomes a rejection).
 */
export function async_<T>(body: () => T): T | Promise<Awaited<T>> {
  if (isTracing()) return body();
  try {
    return Promise.resolve(body());
  } catch (e) {
    return Promise.reject(e);
  }
}

function isTensor(v: unknown): v is tf.Tensor {
  return v instanceof tf.Tensor;
}

/** Splits a variable state into its tensors (graph values) and the rest (JS values fixed across the construct). */
function tensorsOf(vals: unknown[]): tf.Tensor[] {
  return vals.filter(isTensor);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined (unassigned)';
  if (isTensor(v)) return `a tensor ${v.dtype}[${v.shape.join(',')}]`;
  return `${typeof v} ${JSON.stringify(v) ?? String(v)}`.slice(0, 60);
}

/** `if (c) thenFn else elseFn` where the branches assign the variables `names` (read by get, written by set). */
export function if_(c: Val, thenFn: () => void, elseFn: (() => void) | undefined, get: () => unknown[], set: (v: unknown[]) => void, names: string[]): void {
  if (!(c instanceof Sym)) {
    if (c) thenFn();
    else elseFn?.();
    return;
  }
  const init = get();
  let shape: boolean[] | undefined; // which variables the then branch leaves as tensors
  let thenVals: unknown[] = [];
  const branch = (fn: (() => void) | undefined, which: 'then' | 'else') => (): tf.Tensor[] => {
    set(init);
    fn?.();
    const vals = get();
    if (which === 'then') {
      shape = vals.map(isTensor);
      thenVals = vals;
    } else {
      vals.forEach((v, i) => {
        const t = thenVals[i];
        if (shape![i] !== isTensor(v) || (!isTensor(v) && !Object.is(v, t))) {
          throw new GcError({
            code: Codes.traceUnsupported,
            message: `autograph: after an if on traced data, '${names[i]}' is ${describe(t)} in the then branch and ${describe(v)} in the else branch`,
            loc: userLocation(),
            help: 'a variable a branch assigns must be a tensor after both branches (assign it in both, or before the if); numbers and other JS values may not differ between branches: make them tensors (tf.scalar)',
          });
        }
      });
    }
    return tensorsOf(vals);
  };
  const outs = cond(truthy(c), branch(thenFn, 'then'), branch(elseFn, 'else'));
  let k = 0;
  set(thenVals.map((v, i) => (shape![i] ? outs[k++] : v)));
}

/** `c ? a() : b()`, and `if (c) return a(); else return b();`. */
export function ifExp<T>(c: Val, a: () => T, b: () => T): T {
  if (!(c instanceof Sym)) return c ? a() : b();
  return cond(truthy(c), a, b);
}

/**
 * `for (; test(); update()) body()`, where the loop assigns the variables `names`. The loop runs
 * as JavaScript while its condition is a JS value; the first time the condition is traced data,
 * the remaining iterations become one gc.whileLoop over the tensor variables.
 */
export function while_(test: () => Val, update: (() => void) | undefined, body: () => void, get: () => unknown[], set: (v: unknown[]) => void, names: string[]): void {
  for (;;) {
    const c = test();
    if (c instanceof Sym) return graphLoop(test, update, body, get, set, names);
    if (!c) return;
    body();
    update?.();
  }
}

/** `do body() while (test())`. */
export function doWhile_(body: () => void, test: () => Val, get: () => unknown[], set: (v: unknown[]) => void, names: string[]): void {
  body();
  while_(test, undefined, body, get, set, names);
}

function graphLoop(test: () => Val, update: (() => void) | undefined, body: () => void, get: () => unknown[], set: (v: unknown[]) => void, names: string[]): void {
  const init = get();
  const isT = init.map(isTensor);
  init.forEach((v, i) => {
    if (!isT[i] && v === undefined) {
      throw new GcError({
        code: Codes.traceUnsupported,
        message: `autograph: '${names[i]}' is assigned in a loop on traced data but has no value before it`,
        loc: userLocation(),
        help: `give '${names[i]}' a tensor value before the loop: loop-carried values need one on entry`,
      });
    }
  });
  if (!isT.some((t) => t)) {
    throw new GcError({
      code: Codes.traceUnsupported,
      message: `autograph: a loop on traced data carries no tensor${names.length === 0 ? ' (it assigns no variable)' : ` (${names.map((n) => `'${n}'`).join(', ')} ${names.length === 1 ? 'is not a tensor' : 'are not tensors'})`}`,
      loc: userLocation(),
      help: 'a graph loop computes new values of tensor variables: assign the tensors the loop updates to variables declared before it',
    });
  }
  const state = (vs: tf.Tensor[]): unknown[] => {
    let k = 0;
    return init.map((v, i) => (isT[i] ? vs[k++] : v));
  };
  const condFn = (...vs: tf.Tensor[]): tf.Tensor => {
    set(state(vs));
    const c = test();
    return c instanceof Sym ? truthy(c) : tf.scalar(Boolean(c), 'bool');
  };
  const bodyFn = (...vs: tf.Tensor[]): tf.Tensor[] => {
    set(state(vs));
    body();
    update?.();
    const after = get();
    after.forEach((v, i) => {
      if (isT[i] !== isTensor(v) || (!isT[i] && !Object.is(v, init[i]))) {
        throw new GcError({
          code: Codes.traceUnsupported,
          message: `autograph: in a loop on traced data, '${names[i]}' is ${describe(init[i])} before the body and ${describe(v)} after it`,
          loc: userLocation(),
          help: isT[i] || typeof init[i] !== 'number'
            ? 'loop-carried values must stay tensors across iterations'
            : `a JS number cannot count iterations of a graph loop: make '${names[i]}' a tensor (tf.scalar(${String(init[i])})) and update it with tf ops`,
        });
      }
    });
    return tensorsOf(after);
  };
  const outs = whileLoop(condFn, bodyFn, tensorsOf(init));
  set(state(outs));
}
