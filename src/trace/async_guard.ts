/**
 * Asynchronous work started by a traced function. A compiled function is synchronous: the
 * rest of an async body (or of an async helper it called and did not await, or a pending
 * `x.data()`) runs after the trace has ended, on tensors that no longer have a graph. Left
 * alone, that work rejects later with nobody listening, and Node ends the process on an
 * unhandled rejection.
 *
 * While the function runs, V8's promise hooks record the promises it creates. A trace that
 * fails, or that finds work still pending when the function returns, answers with one GcError
 * and abandons that work: every promise it created, and every promise created later by its
 * continuations (the rest of an async body, an async helper it calls after an await, tfjs's
 * own data() promise), is marked handled when it settles, so the abandoned work never rejects
 * into an unhandled rejection. The hooks that follow abandoned work are on only while some of
 * it is pending. A trace that succeeds with nothing pending attaches nothing, so a rejection
 * of the user's own making behaves as it does eagerly.
 */
import { promiseHooks } from 'node:v8';
import type { SourceLoc } from '../../ir/errors.js';
import { captureStack, userLocation } from './source_loc.js';

export interface PromiseWatch {
  /** Starts recording (once). */
  start(): void;
  /** Stops recording (idempotent). */
  stop(): void;
  /** Where the first promise still pending was created; undefined when none is pending. */
  pending(): { count: number; loc: SourceLoc | undefined } | undefined;
  /** Marks every recorded promise as handled (its rejection goes nowhere). */
  abandon(): void;
}

const ignore = (): undefined => undefined;

/** Records the promises created between start() and stop(). */
export function watchPromises(): PromiseWatch {
  const created: Promise<unknown>[] = [];
  const stacks = new Map<Promise<unknown>, ReturnType<typeof captureStack>>();
  const settled = new WeakSet<Promise<unknown>>();
  let stopHook: Function | undefined;
  let started = false;
  return {
    start() {
      if (started) return;
      started = true;
      stopHook = promiseHooks.createHook({
        init(p: Promise<unknown>) {
          created.push(p);
          if (created.length <= 8) stacks.set(p, captureStack());
        },
        settled(p: Promise<unknown>) { settled.add(p); },
      });
    },
    stop() { stopHook?.(); stopHook = undefined; },
    pending() {
      const open = created.filter((p) => !settled.has(p));
      if (open.length === 0) return undefined;
      const s = stacks.get(open[0]!) ?? [...stacks.values()][0];
      return { count: open.length, loc: s === undefined ? undefined : userLocation(s) };
    },
    abandon() {
      abandoned.adopt(created, (p) => settled.has(p));
    },
  };
}

/**
 * Work a failed trace left behind: its promises (tainted) and what their continuations create.
 * One for the process; its hooks run only while a tainted promise is pending.
 */
class AbandonedWork {
  private readonly tainted = new WeakSet<Promise<unknown>>();
  private pending = 0;
  /** Continuations of tainted promises running now (a reaction job and what it calls). */
  private depth = 0;
  private marking = false;
  private stopHook: Function | undefined;

  adopt(promises: readonly Promise<unknown>[], isSettled: (p: Promise<unknown>) => boolean): void {
    for (const p of promises) {
      if (this.tainted.has(p)) continue;
      this.tainted.add(p);
      if (isSettled(p)) this.mark(p);
      else this.pending++;
    }
    if (this.pending > 0) this.start();
  }

  private mark(p: Promise<unknown>): void {
    this.marking = true;
    try { p.then(undefined, ignore); } finally { this.marking = false; }
  }

  private start(): void {
    this.stopHook ??= promiseHooks.createHook({
      init: (p: Promise<unknown>, parent?: Promise<unknown>) => {
        if (this.marking || !(this.depth > 0 || (parent !== undefined && this.tainted.has(parent)))) return;
        this.tainted.add(p);
        this.pending++;
      },
      before: (p: Promise<unknown>) => { if (this.tainted.has(p)) this.depth++; },
      after: (p: Promise<unknown>) => { if (this.tainted.has(p) && this.depth > 0) this.depth--; },
      settled: (p: Promise<unknown>) => {
        if (!this.tainted.has(p)) return;
        // Before Node looks for unhandled rejections (after the microtask queue drains).
        this.mark(p);
        if (--this.pending <= 0 && this.depth === 0) this.stop();
      },
    });
  }

  private stop(): void {
    this.pending = 0;
    this.stopHook?.();
    this.stopHook = undefined;
  }
}

const abandoned = new AbandonedWork();

/** Whether `r` is a promise or another thenable (a polyfill's, another realm's). */
export function isThenable(r: unknown): r is PromiseLike<unknown> {
  return (typeof r === 'object' || typeof r === 'function') && r !== null && typeof (r as { then?: unknown }).then === 'function';
}

/** Marks a thenable the traced function returned as handled (a native promise: with what its continuations create). */
export function abandonThenable(r: PromiseLike<unknown>): void {
  if (r instanceof Promise) { abandoned.adopt([r], () => false); return; }
  try { r.then(undefined, ignore); } catch { /* a thenable whose then throws has nothing to reject */ }
}
