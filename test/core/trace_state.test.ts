/**
 * A failed trace leaves no trace behind: no unhandled rejection from work the function left
 * running (checked in a child process, where one would end the process), and tfjs's engine as
 * the trace found it (variables, counters, backend, scopes, tape), with a retry that works.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('asynchronous work a traced function leaves behind', () => {
  it('answers one GcError per call and never an unhandled rejection (generated async bodies, compiled functions inside)', () => {
    for (const seed of [1, 2]) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/core/trace_async_child.ts', String(seed), '50'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { outcomes: Record<string, number>; problems: string[]; unhandled: string[]; last: number[] };
      expect(r.unhandled).toEqual([]);
      expect(r.problems).toEqual([]);
      expect(r.last).toEqual([2, 4]);
      for (const k of Object.keys(r.outcomes)) expect(k).toMatch(/^(async:GC0102|returnsPromise:GC0102|dropsPromise:(GC0106|GC0101|ok))$/);
    }
  });

  it('an unawaited data() in a synchronous function is the trace error, located', () => {
    expect(() => gc.trace((x: tf.Tensor) => { void x.data(); return tf.neg(x); }, [gc.spec([2])])).toThrow(/GC0101[\s\S]*data\(\)\/array\(\) on a traced value[\s\S]*trace_state\.test\.ts/);
  });

  it('reading a variable\'s data inside a traced function is the trace error at the user\'s line, naming the variable (it was a TypeError from tfjs)', async () => {
    const v = tf.variable(tf.tensor1d([1, 2]), true, 'read_me');
    expect(() => gc.trace((x: tf.Tensor) => tf.mul(x, v.dataSync()[0]!), [gc.spec([2])])).toThrow(/GC0101[\s\S]*dataSync\(\)\/arraySync\(\) on variable 'read_me'[\s\S]*trace_state\.test\.ts/);
    expect(() => gc.trace((x: tf.Tensor) => tf.mul(x, (v.arraySync() as number[])[1]!), [gc.spec([2])])).toThrow(/GC0101[\s\S]*variable 'read_me'/);
    expect(() => gc.trace((x: tf.Tensor) => { void v.data(); return tf.neg(x); }, [gc.spec([2])])).toThrow(/GC010[16]/);
    // After the trace the variable reads as before.
    expect(Array.from(v.dataSync())).toEqual([1, 2]);
    expect(Array.from(await v.data())).toEqual([1, 2]);
    v.dispose();
  });

  it('an async helper left running is GC0106 at the line that started it', () => {
    const helper = async (y: tf.Tensor) => { await null; return tf.exp(y); };
    expect(() => gc.trace((x: tf.Tensor) => { void helper(x); return tf.neg(x); }, [gc.spec([2])])).toThrow(/GC0106[\s\S]*trace_state\.test\.ts/);
  });

  it('a thenable that is not a native Promise is refused as a Promise is', () => {
    const thenable = { then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error('late')) };
    expect(() => gc.trace((() => thenable) as unknown as (x: tf.Tensor) => tf.Tensor, [gc.spec([2])])).toThrow(/GC0102[\s\S]*returned a Promise/);
  });
});

// ---------------------------------------------------------------------------------------------

interface EngineView {
  state: { registeredVariables: Record<string, tf.Variable>; scopeStack: unknown[]; activeScope: unknown; gradientDepth: number; kernelDepth: number; activeTape: unknown; numDataMovesStack: unknown[] };
  backend: tf.KernelBackend;
}
const engine = () => tf.engine() as unknown as EngineView;

function snapshot() {
  const e = engine();
  const m = tf.memory();
  return {
    numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes,
    numDataIds: e.backend.numDataIds(),
    variables: Object.keys(e.state.registeredVariables).sort(),
    backend: tf.getBackend(),
    scopes: e.state.scopeStack.length, activeScope: e.state.activeScope ?? null,
    gradientDepth: e.state.gradientDepth, kernelDepth: e.state.kernelDepth, activeTape: e.state.activeTape ?? null,
    moves: e.state.numDataMovesStack.length,
  };
}

/** One step of a generated traced function; `fail` throws at that point. */
type Step =
  | { k: 'variable'; named: boolean }
  | { k: 'op' }
  | { k: 'tidy'; inner: Step[] }
  | { k: 'grad'; inner: Step[] }
  | { k: 'scope' }
  | { k: 'keep' }
  | { k: 'minimize'; opt: 'adam' }
  | { k: 'fail' };

const stepArb: fc.Arbitrary<Step> = fc.letrec((tie) => ({
  step: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ k: fc.constant('variable' as const), named: fc.boolean() }),
    fc.constant({ k: 'op' as const }),
    fc.record({ k: fc.constant('tidy' as const), inner: fc.array(tie('step') as fc.Arbitrary<Step>, { maxLength: 3 }) }),
    fc.record({ k: fc.constant('grad' as const), inner: fc.array(tie('step') as fc.Arbitrary<Step>, { maxLength: 3 }) }),
    fc.constant({ k: 'scope' as const }),
    fc.constant({ k: 'keep' as const }),
    fc.record({ k: fc.constant('minimize' as const), opt: fc.constant('adam' as const) }),
    fc.constant({ k: 'fail' as const }),
  ),
})).step;

let unique = 0;

/** A traced function running `steps`; with `failing` false every 'fail' is skipped (the fixed function). */
function program(steps: Step[], failing: boolean, w: tf.Variable, opts: Record<string, tf.Optimizer>, tag: string) {
  const made = new Map<string, tf.Variable>();
  let vi = 0;
  const run = (ss: Step[], x: tf.Tensor): tf.Tensor => {
    for (const s of ss) {
      switch (s.k) {
        case 'variable': {
          // Created on the first call only, as tf.function asks; named ones get a fixed name.
          const key = `v${vi++}`;
          let v = made.get(key);
          if (v === undefined) { v = tf.variable(tf.fill([2], 0.5), true, s.named ? `${tag}_${key}` : undefined); made.set(key, v); }
          x = tf.add(x, v);
          break;
        }
        case 'op': x = tf.tanh(tf.mul(x, 1.5)); break;
        case 'tidy': { const inner = s.inner; x = tf.tidy(() => run(inner, x)); break; }
        case 'grad': { const inner = s.inner; x = tf.add(x, tf.grad((z: tf.Tensor) => tf.sum(run(inner, z)))(x)); break; }
        case 'scope': tf.engine().startScope(); x = tf.neg(x); break;
        case 'keep': x = tf.keep(tf.exp(x)); break;
        case 'minimize': { const xx = x; opts[s.opt]!.minimize(() => tf.sum(tf.mul(w, xx)) as tf.Scalar, false, [w]); break; }
        case 'fail': if (failing) throw new Error('user bug'); break;
      }
    }
    return x;
  };
  return (x: tf.Tensor) => { vi = 0; return run(steps, x); };
}

describe('a failed trace leaves the tfjs engine as it found it', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('variables, counters, backend, scopes and tape after a failure at a generated point; a fixed function then compiles', async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 5 }), fc.boolean(), async (steps, insideTidy) => {
      const tag = `t${unique++}`;
      const w = tf.variable(tf.ones([2]), true, `${tag}_w`);
      const opts: Record<string, tf.Optimizer> = { adam: tf.train.adam(0.1) };
      const x = tf.tensor1d([0.25, -0.5]);
      const hasFail = JSON.stringify(steps).includes('"fail"');
      const before = snapshot();
      const bad = gc.compile(program(steps, true, w, opts, tag), { backend: 'cpu' });
      let err: unknown;
      try {
        // Called inside a tf.tidy of the caller's: the trace's tensors must not be tracked by it.
        let p!: Promise<unknown>;
        if (insideTidy) tf.tidy(() => { p = bad(x); }); else p = bad(x);
        await p;
      } catch (e) { err = e; }
      if (hasFail) {
        expect(String(err)).toMatch(/user bug/);
        expect(snapshot()).toEqual(before);
        expect(Array.from(w.dataSync())).toEqual([1, 1]);
      } else {
        expect(err).toBeUndefined();
      }
      // The fixed function (same variables, optimizers and names) compiles and runs twice.
      const good = hasFail ? gc.compile(program(steps, false, w, opts, tag), { backend: 'cpu' }) : bad;
      for (let i = 0; i < 2; i++) {
        const y = (await good(x)) as tf.Tensor;
        expect(y.dataSync().every((v) => !Number.isNaN(v))).toBe(true);
        y.dispose();
      }
      good.dispose();
      bad.dispose();
      x.dispose();
      for (const v of Object.values(engine().state.registeredVariables)) if (v.name.startsWith(`${tag}_`) || !before.variables.includes(v.name)) v.dispose();
      for (const o of Object.values(opts)) o.dispose();
      // Every property run ends where it began.
      engine().state.scopeStack.splice(0);
    }), { seed: 9, numRuns: 60 });
  });

  it('a variable created before the failure is unregistered; the retry of the fixed function creates it (the issue\'s case)', async () => {
    let bad = true;
    const fn = (x: tf.Tensor) => { const v = tf.variable(tf.ones([2]), true, 'made_in_trace'); if (bad) throw new Error('user bug'); return tf.add(x, v); };
    const before = snapshot();
    await expect(gc.compile(fn, { backend: 'cpu' })(tf.ones([2]))).rejects.toThrow('user bug');
    tf.dispose(tf.engine().state.registeredVariables['made_in_trace']);
    const after = snapshot();
    expect(after.variables).toEqual(before.variables);
    bad = false;
    // Created on every call: the one error that says so (not tfjs's "already registered").
    await expect(gc.compile(fn, { backend: 'cpu' })(tf.ones([2]))).rejects.toThrow(/GC0105[\s\S]*creates variable 'made_in_trace' on every call/);
    let v: tf.Variable | undefined;
    const once = (x: tf.Tensor) => { v ??= tf.variable(tf.ones([2]), true, 'made_in_trace'); return tf.add(x, v); };
    const y = (await gc.compile(once, { backend: 'cpu' })(tf.ones([2]))) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([2, 2]);
    expect(Array.from(v!.dataSync())).toEqual([1, 1]);
  });

  it('a variable kept from a failed trace (v ??= tf.variable(...)) was freed with it: its next use says so', async () => {
    let v: tf.Variable | undefined;
    let bad = true;
    const fn = (x: tf.Tensor) => { v ??= tf.variable(tf.ones([2]), true, 'kept_from_failed'); const y = tf.add(x, v); if (bad) throw new Error('user bug'); return y; };
    await expect(gc.compile(fn, { backend: 'cpu' })(tf.ones([2]))).rejects.toThrow('user bug');
    expect(v!.isDisposed).toBe(true);
    expect(tf.engine().state.registeredVariables['kept_from_failed']).toBeUndefined();
    bad = false;
    await expect(gc.compile(fn, { backend: 'cpu' })(tf.ones([2]))).rejects.toThrow(/GC0105[\s\S]*variable 'kept_from_failed' was created by an earlier trace that failed/);
    v = undefined;
    const y = (await gc.compile(fn, { backend: 'cpu' })(tf.ones([2]))) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([2, 2]);
  });
});
