/**
 * The direct wasm executor: each plan, per binding of its symbolic dims, is compiled once into
 * a WasmProgram (runtime/wasm/) that calls tfjs-backend-wasm's C kernels on buffers planned
 * ahead. Declines a frame (the tensor executor runs it) while tfjs must see every op (gradients
 * recorded, profiling, debug mode) and where a plan cannot run this way.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { evalShape } from '../../ir/dim.js';
import type { Value } from '../../ir/graph.js';
import { directCallsAllowed } from '../backends/tfjs_engine.js';
import type { Plan } from '../plan.js';
import { WasmProgram } from '../wasm/program.js';
import type { Executor, ExecutorStats, RunFrame, RunResult } from './executor.js';
import { stepError } from './executor.js';

/** Programs kept per plan (one per binding of the symbolic dims; the oldest is freed). */
const PROGRAMS_PER_PLAN = 4;

export class WasmDirectExecutor implements Executor {
  /** Programs by plan and binding (null: the plan cannot run that way), most recent last. */
  private readonly programs = new Map<Plan, Map<string, WasmProgram | null>>();

  run(frame: RunFrame): RunResult | undefined {
    const { plan, env } = frame;
    const program = this.programFor(frame);
    if (!program) return undefined;
    const ext = [...plan.feeds.map((_, i) => env[i]!), ...plan.stateSlots.map(([i]) => env[i]!)];
    const res = program.run(ext, frame.ctx, (id) => frame.onNode(id), (st, e) => stepError(st.node, e, (j) => program.shapeOf(st.ins[j]!)));
    const outputs = res.slice(0, plan.fetches.length);
    const updates = new Map<string, tf.Tensor>();
    plan.assigns.forEach((a, j) => updates.set(a.attrs.var as string, res[plan.fetches.length + j]!));
    return { outputs, updates };
  }

  /** The program of a plan for the frame's binding, built on first use (undefined: run tfjs ops). */
  private programFor({ plan, bindings, key, consts }: RunFrame): WasmProgram | undefined {
    if (!directCallsAllowed()) return undefined;
    // Control flow runs region by region on the tensor executor, which hands each region's sub-plan back here (choose.ts).
    if (plan.steps.some((st) => st.kind === 'control')) return undefined;
    let programs = this.programs.get(plan);
    if (programs === undefined) { programs = new Map(); this.programs.set(plan, programs); }
    const known = programs.get(key);
    if (known !== undefined) {
      programs.delete(key);
      programs.set(key, known);
      return known ?? undefined;
    }
    const values: Value[] = [];
    for (const [v, i] of plan.slotOf) values[i] = v;
    const program = WasmProgram.build({
      steps: plan.steps,
      values,
      extSlots: [...plan.feeds.map((v) => plan.slotOf.get(v)!), ...plan.stateSlots.map(([i]) => i)],
      exports: [...plan.fetches.map((v) => plan.slotOf.get(v)!), ...plan.assigns.map((a) => plan.slotOf.get(a.inputs[0]!)!)],
      shapes: values.map((v) => evalShape(v.type.shape, bindings)),
      constTensor: (v) => consts.get(v),
      dim: (d) => evalShape([d], bindings)[0]!,
      assignedSlots: plan.stateSlots.filter(([, name]) => plan.assigns.some((a) => a.attrs.var === name)).map(([i]) => i),
    });
    programs.set(key, program ?? null);
    if (programs.size > PROGRAMS_PER_PLAN) {
      const [oldest, p] = programs.entries().next().value as [string, WasmProgram | null];
      p?.dispose();
      programs.delete(oldest);
    }
    return program;
  }

  statsOf(plan: Plan): ExecutorStats[] {
    const out: ExecutorStats[] = [];
    for (const [binding, prog] of this.programs.get(plan) ?? []) if (prog) out.push({ binding, ...prog.stats });
    return out;
  }

  dispose(): void {
    for (const programs of this.programs.values()) for (const prog of programs.values()) prog?.dispose();
    this.programs.clear();
  }
}
