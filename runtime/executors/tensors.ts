/**
 * The tensor executor: one tfjs op call per node (runtime/kernels/op_kernels.ts) on the session's
 * backend, every intermediate freed after its last use. Runs any plan on any tfjs backend; the
 * last executor of every session.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import type { Node } from '../../ir/graph.js';
import type { Unsupported } from '../kernels/kernel_types.js';
import { OP_KERNELS } from '../kernels/op_kernels.js';
import type { ControlFlowOptions } from '../control_flow.js';
import { ControlFlowRunner, DEFAULT_MAX_LOOP_ITERATIONS } from '../control_flow.js';
import { resolveTensorLimit } from '../tensor_limits.js';
import type { Executor, RunFrame, RunResult } from './executor.js';
import { stepError } from './executor.js';

export class TensorExecutor implements Executor {
  /** Views of variables and constants by reshape node (PlanStep.cachedView), with the data they view. */
  private readonly views = new Map<Node, { dataId: object; view: tf.Tensor }>();
  /** Runs control-flow nodes, their regions as sub-plans through this executor. */
  private readonly control: ControlFlowRunner;

  /**
   * How a region's sub-plan runs (default: by this executor); a wasm session first offers it to
   * its direct executor (executors/choose.ts), so loop bodies run as direct programs.
   */
  runRegion: (frame: RunFrame) => RunResult = (f) => this.run(f);

  constructor(opts: ControlFlowOptions = { tensorLimit: resolveTensorLimit(undefined), maxLoopIterations: DEFAULT_MAX_LOOP_ITERATIONS }) {
    this.control = new ControlFlowRunner(opts);
  }

  run(frame: RunFrame): RunResult {
    const { plan, env, owned, ctx, consts } = frame;
    for (const st of plan.steps) {
      const n = st.node;
      if (st.kind === 'const') {
        env[st.outs[0]!] = consts.get(n.outputs[0]!);
      } else if (st.cachedView && env[st.ins[0]!] !== undefined) {
        // Not owned: the view outlives the run (freed when the operand's data changes, or with the session).
        const x = env[st.ins[0]!]!;
        let c = this.views.get(n);
        if (c !== undefined && (c.dataId !== x.dataId || c.view.isDisposed)) { c.view.dispose(); c = undefined; }
        if (c === undefined) {
          c = { dataId: x.dataId, view: tf.keep(tf.reshape(x, n.attrs.shape as number[])) };
          this.views.set(n, c);
        }
        env[st.outs[0]!] = c.view;
      } else if (st.kind === 'control') {
        frame.onNode(n.id);
        const ins: tf.Tensor[] = st.ins.map((i) => env[i]!);
        let outs: tf.Tensor[];
        try {
          outs = this.control.run(n, ins, frame, this.runRegion);
        } catch (e) {
          throw stepError(n, e, (j) => env[st.ins[j]!]?.shape);
        }
        for (let j = 0; j < st.outs.length; j++) { env[st.outs[j]!] = outs[j]!; owned[st.outs[j]!] = true; }
      } else if (st.kind === 'kernel') {
        const k = st.kernel;
        if (k === undefined) throw new GcError({ code: Codes.runtime, message: `${n.op} cannot run on tfjs: ${(OP_KERNELS[n.op] as Unsupported).unsupported}`, loc: n.loc });
        frame.onNode(n.id);
        const ins: tf.Tensor[] = st.ins.map((i) => env[i]!);
        let outs: tf.Tensor[];
        try {
          const r = st.direct ? k(ins, st.attrs, ctx) : tf.tidy(() => k(ins, st.attrs, ctx));
          // A kernel may hand back an operand unchanged; the result must be a tensor of its own.
          outs = Array.isArray(r) ? r : [r];
          for (let j = 0; j < outs.length; j++) {
            let t = outs[j]!;
            if (ins.includes(t)) t = t.clone();
            // Backends disagree on a few result dtypes (floor_div is int32 on cpu); the graph's type wins.
            const want = st.outDtypes[j]!;
            if (t.dtype !== want) { const c = tf.cast(t, want as tf.DataType); t.dispose(); t = c; }
            outs[j] = t;
          }
        } catch (e) {
          throw stepError(n, e, (j) => env[st.ins[j]!]?.shape);
        }
        for (let j = 0; j < st.outs.length; j++) { env[st.outs[j]!] = outs[j]!; owned[st.outs[j]!] = true; }
      }
      for (const i of st.frees) {
        if (owned[i]) { env[i]!.dispose(); owned[i] = false; }
        env[i] = undefined;
      }
    }
    const outputs = plan.fetches.map((v) => {
      const i = plan.slotOf.get(v)!;
      const t = env[i]!;
      if (owned[i]) { owned[i] = false; return t; }
      return t.clone();
    });
    const updates = new Map<string, tf.Tensor>();
    for (const a of plan.assigns) {
      const i = plan.slotOf.get(a.inputs[0]!)!;
      const t = env[i]!;
      if (owned[i] && !outputs.includes(t)) { owned[i] = false; updates.set(a.attrs.var as string, t); }
      else updates.set(a.attrs.var as string, t.clone());
    }
    return { outputs, updates };
  }

  dispose(): void {
    for (const c of this.views.values()) c.view.dispose();
    this.views.clear();
  }
}
