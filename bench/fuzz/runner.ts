/**
 * Runs a fuzz program every way graphc can and compares: eagerly in tfjs (the reference, on each
 * backend), compiled with gc.compile (optimized and not) on cpu, wasm, the onnxruntime engine
 * (against eager cpu, fed tensors made as for cpu) and 'auto' (against eager wasm, its tfjs
 * engine here: each feed set is run until 'auto' has measured both engines on it and once more
 * on the one it chose; every result is checked), fed tensors of every
 * kind the program's inputs ask for, and exported with f.toOnnx() into onnxruntime-node (against
 * eager cpu). Eager always gets plain tensors made on its own backend from the same numbers, so
 * the reference does not depend on tfjs moving odd tensors between backends.
 *
 * Comparison: same dtype and shape; int32/bool exactly; float32 NaN and ±Inf exactly, finite
 * values within 2·err + 2ε·|expected| where err is the program's error bound for that output
 * (abstract.ts: two implementations are each within err of the exact result). Exact outputs
 * (err 0) must agree to the bit, up to the sign of zero.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import * as gc from '../../src/index.js';
import type { Abs, Dim } from './abstract.js';
import { EPS } from './abstract.js';
import type { FeedSet, InputDecl, Program } from './program.js';
import { analyze, feedShape, feedValues, functionSource } from './program.js';

export type Backend = 'cpu' | 'wasm' | 'onnxruntime' | 'auto';
export const BACKENDS: readonly Backend[] = ['cpu', 'wasm', 'onnxruntime', 'auto'];

/** The tfjs backend a backend's eager reference and feeds are made on: cpu for onnxruntime, wasm (its tfjs engine here) for auto. */
export const tfjsOf = (b: Backend): 'cpu' | 'wasm' => (b === 'onnxruntime' ? 'cpu' : b === 'auto' ? 'wasm' : b);

/**
 * Calls per feed set under 'auto' at most: it warms each engine up and times each a few times,
 * alternating, then runs the engine it chose (runtime/session.ts executeAsync: 12 to 52 calls
 * to decide now). The fuzzer calls until 'auto' has decided for the feed shapes, and once more.
 */
export const AUTO_MAX_CALLS = 60;

/** Whether an engine choice of 'auto' (its `shapes`: each feed's dims joined by 'x', ';' after each) is for feeds of these shapes. */
function choiceFor(choiceShapes: string, shapes: string[]): boolean {
  const left = [...shapes];
  for (const piece of choiceShapes.split(';').filter((x) => x !== '')) {
    const j = left.indexOf(piece);
    if (j < 0) return false;
    left.splice(j, 1);
  }
  return true;
}

export interface RunOptions {
  backends: Backend[];
  /** Export and run in onnxruntime-node. */
  ort: boolean;
  /** The optimize settings to compile with. */
  optimize: boolean[];
  /**
   * Some inputs become variables the compiled function reads (variableInputs): each a
   * tf.Variable made on the backend's tfjs backend, assigned each feed set's values before its
   * calls (the onnxruntime engine bakes a variable it only reads into its session, and makes the
   * session again with it as an input once it changed). Eager still gets them as arguments.
   */
  variables?: boolean;
  /**
   * Call the compiled functions with f.sync (after f.ready()) instead of awaiting f(...): under
   * 'auto', the synchronous measurement of ONNX Runtime (Session.executeSync). The onnxruntime
   * backend, asynchronous only, is still awaited.
   */
  sync?: boolean;
}

/** The inputs that become variables with RunOptions.variables: those of static shape at odd places, or the only input. */
export function variableInputs(p: Program): boolean[] {
  return p.inputs.map((i, n) => i.spec.every((d) => typeof d === 'number') && (n % 2 === 1 || p.inputs.length === 1));
}

let variableCount = 0;

/**
 * An input made a variable, for a session whose tfjs backend is tb: on wasm, not a tfjs-cpu
 * float32 kept in a Uint8Array/Int32Array (castBool, castInt) but a plain tfjs-cpu tensor. tfjs
 * moves such data to wasm as raw bytes (1 reads as 1.4e-45), eager tf.add(v, 0) under wasm as
 * much as graphc's wasm engine reading the variable; graphc repairs feeds of that kind, not
 * variables.
 */
function varDecl(i: InputDecl, tb: 'cpu' | 'wasm'): InputDecl {
  return tb === 'wasm' && (i.store === 'castBool' || i.store === 'castInt') ? { ...i, store: 'other' } : i;
}

export type FindingKind = 'compile' | 'run' | 'mismatch' | 'export' | 'ort-load' | 'ort-run' | 'ort-mismatch';

export interface Finding {
  kind: FindingKind;
  /** e.g. 'wasm/optimize' or 'onnxruntime'. */
  where: string;
  message: string;
}

export interface CaseResult {
  findings: Finding[];
  /** Why the program was not checked (eager tfjs rejects it), if so. */
  skipped?: string;
  /** Comparisons made (outputs × feed sets × configurations). */
  checks: number;
  /** Where eager tfjs backends disagree among themselves (not graphc's findings). */
  notes?: string[];
  /** Under 'auto': the engine chosen for each binding of feed shapes ('onnxruntime', the tfjs backend's name, or 'none' when undecided). */
  autoChoices?: string[];
}

interface Data {
  dtype: string;
  shape: number[];
  data: ArrayLike<number | bigint | boolean>;
}

type Fn = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

export function programFunction(p: Program): Fn {
  // The source printed in reports is exactly what runs.
  return new Function('tf', `return ${functionSource(p)};`)(tf) as Fn;
}

const list = (o: tf.Tensor | tf.Tensor[]): tf.Tensor[] => (Array.isArray(o) ? o : [o]);
const other = (b: 'cpu' | 'wasm'): 'cpu' | 'wasm' => (b === 'cpu' ? 'wasm' : 'cpu');

let ready: Promise<void> | undefined;
/** Registers and initialises cpu and wasm once. */
export function initBackends(): Promise<void> {
  ready ??= (async () => {
    await gc.ensureBackend('cpu');
    await gc.ensureBackend('wasm');
  })();
  return ready;
}

async function onBackend<T>(b: string, f: () => T): Promise<T> {
  const prev = tf.getBackend();
  if (prev !== b) await tf.setBackend(b);
  try {
    return f();
  } finally {
    if (prev !== b) await tf.setBackend(prev);
  }
}

/** A feed tensor as the input's store asks (see program.ts Store), for a session on `b`. */
async function makeFeed(i: InputDecl, shape: number[], values: number[], b: 'cpu' | 'wasm'): Promise<tf.Tensor> {
  switch (i.store) {
    case 'same': return onBackend(b, () => tf.tensor(values, shape, i.dtype));
    case 'other': return onBackend(other(b), () => tf.tensor(values, shape, i.dtype));
    case 'castBool': return onBackend('cpu', () => tf.tidy(() => tf.cast(tf.greater(tf.tensor(values, shape, 'float32'), 0.5), 'float32')));
    case 'castInt': return onBackend('cpu', () => tf.tidy(() => tf.cast(tf.tensor(values, shape, 'int32'), 'float32')));
  }
}

async function read(t: tf.Tensor): Promise<Data> {
  return { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
}

const fmt = (x: number) => (Number.isFinite(x) && !Number.isInteger(x) ? x.toPrecision(8) : String(x));

/** '' when `got` agrees with `want` for an output of abstract value `a`, else what differs. */
export function compare(got: Data, want: Data, a: Abs): string {
  const gd = got.dtype === 'int64' ? 'int32' : got.dtype;
  if (gd !== want.dtype) return `dtype ${got.dtype}, want ${want.dtype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `shape [${got.shape}], want [${want.shape}]`;
  let bad = 0, first = '', worst = 0;
  for (let k = 0; k < want.data.length; k++) {
    const g = Number(got.data[k]), e = Number(want.data[k]);
    let ok: boolean;
    if (want.dtype !== 'float32') ok = g === e;
    else if (Number.isNaN(e)) ok = Number.isNaN(g);
    else if (!Number.isFinite(e)) ok = g === e;
    else {
      const tol = 2 * a.err + 2 * EPS * Math.abs(e) + 1e-30;
      ok = Math.abs(g - e) <= tol;
      if (!ok) worst = Math.max(worst, Math.abs(g - e) / tol);
    }
    if (!ok && bad++ === 0) first = `[${k}] got ${fmt(g)}, want ${fmt(e)}`;
  }
  if (!bad) return '';
  const tolNote = want.dtype === 'float32' ? ` (tolerance 2·${a.err.toExponential(2)} + 2ε|want|${worst ? `, worst ${worst.toPrecision(3)}× over` : ''})` : '';
  return `${bad} of ${want.data.length} values differ, first ${first}${tolNote}`;
}

const firstLine = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)).split('\n').slice(0, 3).join(' | ');

function ortTensor(dtype: string, values: number[], shape: number[]): ort.Tensor {
  if (dtype === 'float32') return new ort.Tensor('float32', Float32Array.from(values), shape);
  if (dtype === 'int32') return new ort.Tensor('int32', Int32Array.from(values), shape);
  return new ort.Tensor('bool', Uint8Array.from(values), shape);
}

/**
 * Why eager tfjs must not run the program on backend b, or undefined: tfjs-wasm 4.22's Select
 * and Reverse copy 4 bytes per element into a bool result, corrupting the wasm heap (every later
 * wasm op then fails), so tf.where with bool branches and tf.reverse of bools are not run
 * eagerly on wasm.
 */
function eagerHazard(p: Program, abs: Map<string, Abs>, b: 'cpu' | 'wasm'): string | undefined {
  if (b !== 'wasm') return undefined;
  const s = p.steps.find((st) => (st.op === 'where' && abs.get(st.args[1]!)?.dtype === 'bool') || (st.op === 'reverse' && abs.get(st.args[0]!)?.dtype === 'bool'));
  if (s) return `tf.${s.op} of bools (${s.name}) corrupts tfjs-wasm's heap`;
  // tfjs-wasm's Prelu (XNNPACK) with an alpha that is not a trailing part of x's shape: wrong
  // values, and for a scalar x with a larger alpha it never returns (seed 16557).
  const pr = p.steps.find((st) => {
    if (st.op !== 'prelu') return false;
    const x = abs.get(st.args[0]!)?.shape, a = abs.get(st.args[1]!)?.shape;
    if (x === undefined || a === undefined) return true;
    const core = a.slice(a.findIndex((d) => d !== 1) < 0 ? a.length : a.findIndex((d) => d !== 1));
    return core.length > x.length || core.some((d, j) => d !== x[x.length - core.length + j]);
  });
  if (pr) return `tf.prelu with an alpha that is not a trailing part of x (${pr.name}) hangs or miscomputes in tfjs-wasm`;
  // tf.where broadcasts its operands with tf.broadcastTo, which keeps a dim of 1 against a dim of
  // 0: with a feed that binds a symbolic dim to 0, the condition can keep elements where the
  // branches and the result have none, and tfjs-wasm's Select writes one element per condition
  // element past the empty result (heap corruption: "memory access out of bounds" or Aborted() in
  // later programs, seeds 12032, 12040, 12042). Compiled graphs compute that case as tfjs-cpu does.
  if (p.feeds.some((fs) => Object.values(fs.sizes).includes(0))) {
    const w = p.steps.find((st) => {
      if (st.op !== 'where') return false;
      const shapes = st.args.slice(0, 3).map((a) => abs.get(a)?.shape);
      if (shapes.some((sh) => sh === undefined)) return true;
      const rank = Math.max(...shapes.map((sh) => sh!.length));
      const padded = shapes.map((sh) => [...Array<Dim>(rank - sh!.length).fill(1), ...sh!]);
      return padded.some((sh) => sh.some((d, j) => d === 1 && padded.some((o) => typeof o[j] === 'string')));
    });
    if (w) return `tf.where with a dim of 1 against a dim that may be 0 (${w.name}) writes past tfjs-wasm's buffers`;
  }
  return undefined;
}

/**
 * Whether a result of ONNX Runtime (the export, the onnxruntime engine) of shape `got` differs
 * from tfjs's `want` only by tfjs's tf.where quirk: tf.where broadcasts its operands with
 * tf.broadcastTo, which keeps a dim of 1 against a dim of 0 (eager and graphc's tfjs engines give
 * [1,1] where numpy/TF/ONNX broadcasting gives [0,1]). An empty ONNX result where tfjs's has
 * size-1 dims is that tfjs bug, noted.
 */
export function whereQuirk(p: Program, got: readonly number[], want: readonly number[]): boolean {
  return p.steps.some((st) => st.op === 'where') && got.length === want.length
    && got.some((d, j) => d === 0 && want[j] === 1) && got.every((d, j) => d === want[j] || (d === 0 && want[j] === 1));
}
const WHERE_NOTE = 'tfjs tf.where keeps a dim of 1 against 0 (broadcastTo): onnxruntime gives the broadcast shape';

/**
 * A wasm trap that may have left the wasm heap corrupt (tfjs-wasm kernels writing out of bounds):
 * every later wasm op could fail, so the backend is made afresh before the next program.
 */
const WASM_TRAP = /memory access out of bounds|RuntimeError/;

/** Runs one program every configured way; findings are the disagreements. */
export async function runProgram(p: Program, o: RunOptions): Promise<CaseResult> {
  await initBackends();
  let r: CaseResult;
  try {
    r = await runChecked(p, o);
  } catch (e) {
    r = { findings: [{ kind: 'run', where: 'fuzz harness', message: firstLine(e) }], checks: 0 };
  }
  if ([...r.findings.map((f) => f.message), ...(r.notes ?? [])].some((m) => WASM_TRAP.test(m))) {
    if (tf.getBackend() === 'wasm') await tf.setBackend('cpu');
    await gc.releaseBackend('wasm');
    ready = undefined;
    await initBackends();
    (r.notes ??= []).push('a wasm trap: the wasm backend was made afresh');
  }
  return r;
}

async function runChecked(p: Program, o: RunOptions): Promise<CaseResult> {
  const an = analyze(p);
  if (typeof an === 'string') return { findings: [], skipped: `invalid program: ${an}`, checks: 0 };
  const fn = programFunction(p);
  const specs = p.inputs.map((i) => gc.spec(i.spec, i.dtype));
  const outAbs = p.outputs.map((n) => an.abs.get(n)!);
  const feedsOf = p.feeds.map((fs: FeedSet) => p.inputs.map((i) => {
    const shape = feedShape(i, fs, an.syms);
    return { shape, values: feedValues(i, shape, fs) };
  }));
  const findings: Finding[] = [];
  const notes: string[] = [];
  const autoChoices: string[] = [];
  let checks = 0;

  const eager = async (b: Backend, k: number): Promise<Data[] | string> => {
    const xs = await onBackend(b, () => p.inputs.map((i, n) => tf.tensor(feedsOf[k]![n]!.values, feedsOf[k]![n]!.shape, i.dtype)));
    try {
      const outs = await onBackend(b, () => list(tf.tidy(() => fn(...xs))));
      try {
        const ds = await Promise.all(outs.map(read));
        // tfjs-cpu's batched matMul of an empty batch returns data for a non-empty one (16 zeros
        // under the shape [0, 4, 4], fuzz seed 1700924): no reference.
        const odd = ds.find((d) => d.data.length !== d.shape.reduce((x, y) => x * y, 1));
        if (odd !== undefined) return `eager returns ${odd.data.length} values for a [${odd.shape}] result`;
        return ds;
      } finally {
        tf.dispose(outs);
      }
    } catch (e) {
      return firstLine(e);
    } finally {
      tf.dispose(xs);
    }
  };

  // Eager cpu is the reference for onnxruntime and where eager on a backend fails.
  const cpuRef: Data[][] = [];
  for (let k = 0; k < p.feeds.length; k++) {
    const r = await eager('cpu', k);
    if (typeof r === 'string') return { findings: [], skipped: `eager tfjs (cpu) rejects the program: ${r}`, checks: 0 };
    cpuRef.push(r);
  }

  let onnxBytes: Uint8Array | undefined;
  let graphNames: { inputs: string[]; outputs: string[] } | undefined;
  // The reference of each tfjs backend (eager), made once: backends that share it (wasm, auto) share it.
  const references = new Map<'cpu' | 'wasm', { refs: Data[][]; alts: (Data[] | undefined)[] }>();
  const referenceOn = async (tb: 'cpu' | 'wasm') => {
    let ref = references.get(tb);
    if (ref !== undefined) return ref;
    // The reference on tb is eager tb; where eager tb itself disagrees with eager cpu (a tfjs
    // backend bug, noted), a compiled result may match either.
    ref = { refs: [], alts: [] };
    const hazard = eagerHazard(p, an.abs, tb);
    for (let k = 0; k < p.feeds.length; k++) {
      const r = tb === 'cpu' ? cpuRef[k]! : hazard ?? await eager(tb, k);
      if (typeof r === 'string') {
        notes.push(`eager ${tb} fails (compared with eager cpu): ${r}`);
        ref.refs.push(cpuRef[k]!);
        ref.alts.push(undefined);
        continue;
      }
      const differs = r.map((d, n) => compare(d, cpuRef[k]![n]!, outAbs[n]!)).filter((w, n) => w && notes.push(`eager ${tb} ≠ eager cpu at output ${p.outputs[n]}: ${w}`));
      ref.refs.push(r);
      ref.alts.push(differs.length ? cpuRef[k]! : undefined);
    }
    references.set(tb, ref);
    return ref;
  };

  for (const b of o.backends) {
    const tb = tfjsOf(b);
    const { refs, alts } = await referenceOn(tb);
    // Results computed by ONNX Runtime (the onnxruntime engine, and 'auto' when it runs there).
    const mayBeOrt = b === 'onnxruntime' || b === 'auto';
    const asVar = o.variables ? variableInputs(p) : p.inputs.map(() => false);
    const varNames = p.inputs.filter((_, n) => asVar[n]).map((i) => i.name).join(',');
    for (const opt of o.optimize) {
      const where = `${b}/${opt ? 'optimize' : 'no-optimize'}${varNames ? ` vars ${varNames}` : ''}`;
      let f: gc.CompiledFunction<tf.Tensor | tf.Tensor[]>;
      // The variables, made with feed set 0's values (assigned each feed set's before its calls).
      const vars = new Map<number, tf.Variable>();
      for (let n = 0; n < p.inputs.length; n++) {
        if (!asVar[n]) continue;
        const i = varDecl(p.inputs[n]!, tb);
        const t = await makeFeed(i, feedsOf[0]![n]!.shape, feedsOf[0]![n]!.values, tb);
        vars.set(n, await onBackend(tb, () => tf.variable(t, false, `fuzz_var_${variableCount++}`, i.dtype)));
        t.dispose();
      }
      const fnv: Fn = vars.size === 0 ? fn : (...rest) => {
        let r = 0;
        return fn(...p.inputs.map((_, n) => vars.get(n) ?? rest[r++]!));
      };
      try {
        f = gc.compile(fnv, { inputs: specs.filter((_, n) => !asVar[n]), backend: b, optimize: opt });
      } catch (e) {
        // Two differently named dims the program forces to be equal: graphc refuses with an error
        // naming both (the user declared them independent), as JAX's shape polymorphism does.
        // Its error names both dims: `n ≠ batch`, `(n vs batch)`, or two shapes that must
        // broadcast/match, written with the specs' dims ("shapes batch,3 and n,3").
        const msg = (e instanceof Error ? e.message : '').split('\n')[0]!;
        const namedDims = [...new Set(specs.flatMap((sp) => sp.shape.filter((d): d is string => typeof d === 'string')))];
        const pair = /\b([A-Za-z]\w*) (?:≠|vs) ([A-Za-z]\w*)\)/.exec(msg);
        const shapesMsg = /shapes? .*(?:broadcast|match)|(?:broadcast|match).* shapes? /i.test(msg);
        const named = namedDims.filter((d) => new RegExp(`(^|[^\\w])${d}([^\\w]|$)`).test(msg));
        const tiedPair = pair && pair[1] !== pair[2] && namedDims.includes(pair[1]!) && namedDims.includes(pair[2]!) ? [pair[1]!, pair[2]!]
          : shapesMsg && named.length >= 2 ? named.slice(0, 2) : undefined;
        if (tiedPair) {
          return { findings: [], skipped: `graphc refuses: the program ties differently named dims (${tiedPair.join(', ')})`, checks };
        }
        findings.push({ kind: 'compile', where, message: firstLine(e) });
        for (const v of vars.values()) v.dispose();
        continue;
      }
      try {
        // Under 'auto': the engine each binding of feed shapes was given, once decided.
        const chosen = new Map<string, string>();
        for (let k = 0; k < p.feeds.length; k++) {
          const all = await Promise.all(p.inputs.map((i, n) => makeFeed(asVar[n] ? varDecl(i, tb) : i, feedsOf[k]![n]!.shape, feedsOf[k]![n]!.values, tb)));
          for (const [n, v] of vars) {
            if (k > 0) v.assign(all[n]!);
            all[n]!.dispose();
          }
          const xs = all.filter((_, n) => !asVar[n]);
          const pieces = xs.map((x) => x.shape.join('x'));
          const shapes = pieces.join(';');
          try {
            // Under 'auto': until it decided for these shapes, and once more (or AUTO_MAX_CALLS).
            let after = 0;
            for (let call = 0; call < (b === 'auto' ? AUTO_MAX_CALLS : 1) && after >= 0; call++) {
              if (chosen.has(shapes)) after--;
              // Which engine 'auto' runs this call on: measuring, even calls run the tfjs engine and odd ones onnxruntime.
              const engine = b !== 'auto' ? '' : ` call#${call} (${chosen.get(shapes) ?? (call % 2 === 1 ? 'onnxruntime, measuring' : `${tb}, measuring`)})`;
              const at = `${where} feeds#${k}${engine}`;
              let got: tf.Tensor[];
              try {
                got = list(o.sync && b !== 'onnxruntime' ? (await f.ready(), f.sync(...xs)) : await f(...xs));
              } catch (e) {
                findings.push({ kind: 'run', where: at, message: firstLine(e) });
                break;
              }
              try {
                const data = await Promise.all(got.map(read));
                if (data.length !== refs[k]!.length) {
                  findings.push({ kind: 'mismatch', where: at, message: `${data.length} outputs, eager gives ${refs[k]!.length}` });
                  break;
                }
                data.forEach((d, n) => {
                  checks++;
                  let why = compare(d, refs[k]![n]!, outAbs[n]!);
                  if (why && alts[k] && !compare(d, alts[k]![n]!, outAbs[n]!)) why = '';
                  else if (why && alts[k]) why += ` (and differs from eager cpu: ${compare(d, alts[k]![n]!, outAbs[n]!)})`;
                  if (why && mayBeOrt && whereQuirk(p, d.shape, refs[k]![n]!.shape)) {
                    notes.push(WHERE_NOTE);
                    why = '';
                  }
                  if (why) findings.push({ kind: 'mismatch', where: `${at} output ${p.outputs[n]}`, message: why });
                });
              } finally {
                tf.dispose(got);
              }
              if (b === 'auto' && !chosen.has(shapes)) {
                // Decided after this call: the newest choice (one per binding, in order).
                const c = (await f.session()).engineChoices().find((x) => choiceFor(x.shapes, pieces));
                if (c !== undefined) {
                  chosen.set(shapes, `${c.engine}, chosen`);
                  autoChoices.push(c.reason.startsWith('onnxruntime cannot run it') ? `${c.engine} (onnxruntime failed)` : c.engine);
                  // onnxruntime failed on it while measuring: the onnxruntime engine's failure, hidden by the fallback.
                  if (c.reason.startsWith('onnxruntime cannot run it')) findings.push({ kind: 'run', where: `${at} falls back to ${tb}`, message: c.reason });
                }
              }
            }
          } finally {
            tf.dispose(xs);
          }
          if (b === 'auto' && !chosen.has(shapes)) {
            chosen.set(shapes, 'none');
            autoChoices.push('none');
          }
        }
        if (o.ort && opt && onnxBytes === undefined && vars.size === 0) {
          try {
            onnxBytes = f.toOnnx();
            graphNames = { inputs: f.graph.inputs.map((v) => v.name!), outputs: f.graph.outputs.map((v) => v.name) };
          } catch (e) {
            findings.push({ kind: 'export', where: `${where} toOnnx`, message: firstLine(e) });
            onnxBytes = new Uint8Array(0);
          }
        }
      } finally {
        f.dispose();
        for (const v of vars.values()) v.dispose();
      }
    }
  }

  if (o.ort && onnxBytes && onnxBytes.length && graphNames) {
    let s: ort.InferenceSession | undefined;
    try {
      s = await ort.InferenceSession.create(onnxBytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    } catch (e) {
      findings.push({ kind: 'ort-load', where: 'onnxruntime', message: firstLine(e) });
    }
    if (s) {
      for (let k = 0; k < p.feeds.length; k++) {
        const feeds: Record<string, ort.Tensor> = {};
        p.inputs.forEach((i, n) => { feeds[graphNames!.inputs[n]!] = ortTensor(i.dtype, feedsOf[k]![n]!.values, feedsOf[k]![n]!.shape); });
        try {
          const res = await s.run(feeds, graphNames.outputs);
          graphNames.outputs.forEach((name, n) => {
            const t = res[name]!;
            checks++;
            const shape = t.dims.map(Number);
            const why = compare({ dtype: t.type, shape, data: t.data as ArrayLike<number> }, cpuRef[k]![n]!, outAbs[n]!);
            if (why && whereQuirk(p, shape, cpuRef[k]![n]!.shape)) notes.push(WHERE_NOTE);
            else if (why) findings.push({ kind: 'ort-mismatch', where: `onnxruntime feeds#${k} output ${p.outputs[n]}`, message: why });
          });
        } catch (e) {
          findings.push({ kind: 'ort-run', where: `onnxruntime feeds#${k}`, message: firstLine(e) });
        }
      }
      await s.release();
    }
  }
  return { findings, checks, notes, autoChoices };
}
