/**
 * gc.GradientTape: TensorFlow-style gradients for tfjs.
 *
 *   const tape = new gc.GradientTape();
 *   const c = tape.record(() => tf.sqrt(a.square().add(b.square())));
 *   const [dcda] = tape.gradient(c, [a]);
 *
 * `record` runs the function with tfjs's tape on, `gradient` walks the recorded kernels
 * backwards with tfjs's registered gradient functions. Works eagerly and inside compiled
 * functions (the gradient kernels are then traced too). A tape answers one `gradient` call
 * unless created with {persistent: true}; `dispose()` frees what it saved.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../ir/errors.js';
import { userLocation } from './trace/source_loc.js';
import { abandonThenable, isThenable } from './trace/async_guard.js';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

interface EngineInternals {
  startTape(): void;
  endTape(): void;
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

export class GradientTape {
  private tape: TapeNode[] = [];
  private used = false;
  constructor(private readonly opts: { persistent?: boolean } = {}) {}

  record<T>(f: () => T): T {
    const engine = tf.engine() as unknown as EngineInternals;
    const outer = engine.state.gradientDepth > 0 ? engine.state.activeTape : null;
    const start = outer ? outer.length : 0;
    engine.startTape();
    try {
      const r = f();
      if (isThenable(r)) {
        // The rest of an async body runs after the tape is closed: its rejection belongs to this error.
        abandonThenable(r);
        throw new GcError({ code: Codes.traceUnsupported, message: 'GradientTape.record: the function returned a Promise', loc: userLocation(), help: 'record synchronous tfjs code' });
      }
      return r;
    } finally {
      const t = engine.state.activeTape ?? [];
      this.tape.push(...t.slice(start));
      engine.endTape();
    }
  }

  /** d target / d source for each source (null where the target does not depend on it, as in TF). */
  gradient(target: tf.Tensor, sources: tf.Tensor[]): (tf.Tensor | null)[];
  gradient(target: tf.Tensor, sources: tf.Tensor): tf.Tensor | null;
  gradient(target: tf.Tensor, sources: tf.Tensor | tf.Tensor[]): tf.Tensor | null | (tf.Tensor | null)[] {
    if (this.used && !this.opts.persistent) {
      throw new GcError({ code: Codes.traceUnsupported, message: 'GradientTape.gradient can only be called once on a non-persistent tape', loc: userLocation(), help: 'create the tape with new gc.GradientTape({persistent: true})' });
    }
    this.used = true;
    const xs = Array.isArray(sources) ? sources : [sources];
    const fromX = new Set<number>(xs.map((x) => x.id));
    const nodesFromX = new Set<number>();
    for (const n of this.tape) {
      if (Object.values(n.inputs).some((t) => fromX.has(t.id))) {
        n.outputs.forEach((o) => fromX.add(o.id));
        nodesFromX.add(n.id);
      }
    }
    const toY = new Set<number>([target.id]);
    const nodesToY = new Set<number>();
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const n = this.tape[i]!;
      if (n.outputs.some((o) => toY.has(o.id))) {
        for (const t of Object.values(n.inputs)) toY.add(t.id);
        nodesToY.add(n.id);
      }
    }
    const present: boolean[] = [];
    const found = tf.tidy(() => {
      const acc = new Map<number, tf.Tensor>();
      acc.set(target.id, tf.onesLike(target));
      for (let i = this.tape.length - 1; i >= 0; i--) {
        const n = this.tape[i]!;
        if (!nodesFromX.has(n.id) || !nodesToY.has(n.id)) continue;
        if (!n.gradient) throw new GcError({ code: Codes.traceUnsupported, message: `no gradient is registered for tfjs kernel '${n.kernelName}'`, loc: userLocation() });
        const dys = n.outputs.map((o) => acc.get(o.id) ?? null);
        const fns = n.gradient(dys);
        for (const [name, x] of Object.entries(n.inputs)) {
          if (!fromX.has(x.id)) continue;
          const gf = fns[name];
          if (!gf) throw new GcError({ code: Codes.traceUnsupported, message: `cannot backprop through input '${name}' of ${n.kernelName}` });
          const dx = gf();
          const prev = acc.get(x.id);
          acc.set(x.id, prev ? tf.add(prev, dx) : dx);
        }
      }
      const found: tf.Tensor[] = [];
      for (const x of xs) { const g = acc.get(x.id); present.push(g !== undefined); if (g) found.push(g); }
      return found;
    });
    let k = 0;
    const grads = xs.map((_, i) => (present[i] ? found[k++]! : null));
    if (!this.opts.persistent) this.dispose();
    return Array.isArray(sources) ? grads : grads[0]!;
  }

  /** Frees the tensors the recorded kernels saved for the backward pass. */
  dispose(): void {
    for (const n of this.tape) for (const t of n.saved ?? []) t.dispose();
    this.tape = [];
  }
}
