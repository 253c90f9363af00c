/**
 * The onnxruntime engine (backend 'onnxruntime'): a Session's plans run in ONNX Runtime
 * (onnxruntime-node, an optional dependency loaded on first use).
 *
 * - Per plan (fetches, feeds, updates) the graph's part that the plan runs is exported
 *   (exporters/onnx/export: the fetched node values as outputs, the feeds and the variables it
 *   reads as inputs, the new value of each assigned variable as an output) and one ORT
 *   InferenceSession is created for it, once. Symbolic dims stay symbolic (dim_param): ORT
 *   serves every binding with the one session.
 * - Fetched inputs and variables are served without ORT; any named value can be fetched.
 * - Variables: the engine remembers, per tfjs tensor it handed back as a variable's new value,
 *   the ORT tensor it came from; a run that reads that tensor again feeds the ORT tensor (no
 *   copy). A variable the user assigned in between is read once from tfjs.
 * - Random ops: ORT's generators, seeded per node when the Session has a seed (each run draws
 *   fresh values; two sessions with the same seed draw the same sequence), else ORT's own.
 * - Copies that remain: a feed on a backend other than tfjs-cpu is read into JavaScript once
 *   (tfjs-cpu tensors are passed as they are); int64 values are widened from tfjs's int32 and
 *   narrowed back (checked); ORT copies each output from native memory into a JavaScript
 *   array, which becomes a tfjs-cpu tensor without another copy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as ortNs from 'onnxruntime-node';
import { Codes, GcError } from '../../ir/errors.js';
import type { Graph, GraphOutput, Value } from '../../ir/graph.js';
import type { DType } from '../../ir/dtype.js';
import { exportOnnx } from '../../exporters/onnx/export/export.js';
import type { Plan } from '../plan.js';
import { checkFitsInt64AsInt32 } from '../tensor_limits.js';
import type { ExecutionProvider, Ort } from '../backends/onnxruntime.js';
import { withBackend } from '../backends/tfjs_engine.js';
import type { RunResult } from './executor.js';

/** What one plan runs in ORT: its session, and which value each input and output is. */
interface PlanSession {
  session: ortNs.InferenceSession;
  /** ORT input name → the plan's feed, or a variable's name. */
  inputs: { name: string; feed?: Value; variable?: string; dtype: DType }[];
  /** ORT output name → the fetched value. */
  outputs: { name: string; value: Value }[];
  /** ORT output name → the variable it assigns. */
  updates: { name: string; variable: string; dtype: DType }[];
}

export interface OrtEngineOptions {
  providers: readonly ExecutionProvider[];
  seed?: number;
  /** Threads of ORT's CPU engine (default: ORT's, one per core). */
  intraOpThreads?: number;
}

/** Keys of the tfjs tensors this engine handed back, and the ORT tensors they came from. */
type Handed = WeakMap<object, ortNs.Tensor>;

export class OrtEngine {
  private readonly sessions = new Map<Plan, Promise<PlanSession>>();
  private handed: Handed = new WeakMap();
  private disposed = false;

  constructor(private readonly ort: Ort, private readonly graph: Graph, private readonly opts: OrtEngineOptions) {}

  /** The ORT session of a plan, made on first use. */
  private sessionFor(plan: Plan): Promise<PlanSession> {
    let p = this.sessions.get(plan);
    if (p === undefined) {
      p = this.build(plan);
      this.sessions.set(plan, p);
      p.catch(() => this.sessions.delete(plan));
    }
    return p;
  }

  private async build(plan: Plan): Promise<PlanSession> {
    const graph = this.seeded();
    const byId = new Map<number, Value>();
    for (const v of graph.values()) byId.set(v.id, v);
    const mine = (v: Value): Value => byId.get(v.id) ?? v;
    const outputs: GraphOutput[] = [];
    const seen = new Set<Value>();
    for (const v of plan.fetches) {
      if (v.kind !== 'node' || seen.has(v)) continue;
      seen.add(v);
      outputs.push({ name: v.name ?? `fetch_${v.id}`, value: mine(v) });
    }
    const ex = exportOnnx(graph, { state: 'inputs' }, { outputs, inputs: plan.feeds.map(mine), updates: plan.assigns.length > 0 });
    const feedOf = new Map(plan.feeds.map((v) => [mine(v), v]));
    const inputs = ex.graph.inputs.map((i) => {
      const st = ex.state.find((s) => s.input === i.name);
      if (st !== undefined) return { name: i.name, variable: st.variable, dtype: i.dtype };
      const v = graph.inputs.find((x) => x.name === i.name)!;
      return { name: i.name, feed: feedOf.get(v)!, dtype: i.dtype };
    });
    const session = await this.ort.InferenceSession.create(ex.bytes, {
      executionProviders: [...this.opts.providers],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(this.opts.intraOpThreads !== undefined ? { intraOpNumThreads: this.opts.intraOpThreads } : {}),
    });
    return {
      session,
      inputs,
      outputs: outputs.map((o, i) => ({ name: ex.graph.outputs[i]!.name, value: plan.fetches.find((f) => f.id === o.value.id)! })),
      updates: ex.state.filter((s) => s.output !== undefined).map((s) => ({ name: s.output!, variable: s.variable, dtype: graph.stateByName(s.variable)!.value.dtype })),
    };
  }

  /** The graph to export: with a session seed, each unseeded random op gets a seed of its own. */
  private seeded(): Graph {
    const seed = this.opts.seed;
    if (seed === undefined || !this.graph.nodes.some((n) => (n.op === 'random_uniform' || n.op === 'random_normal') && (n.attrs.seed as number) < 0)) return this.graph;
    const g = this.graph.clone();
    for (const n of g.nodes) {
      if ((n.op === 'random_uniform' || n.op === 'random_normal') && (n.attrs.seed as number) < 0) n.attrs = { ...n.attrs, seed: mixSeed(seed, n.id) };
    }
    return g;
  }

  /**
   * Runs a plan: `feeds` by the plan's feed values (tensors on any tfjs backend), `state` reads a
   * variable's current value. Returns the fetched tensors (tfjs-cpu) and, with updates, each
   * assigned variable's new value; the caller owns them.
   */
  async run(plan: Plan, feeds: ReadonlyMap<Value, tf.Tensor>, state: (name: string) => tf.Tensor): Promise<RunResult> {
    if (this.disposed) throw new GcError({ code: Codes.runtime, message: 'this Session was disposed' });
    const needsOrt = plan.fetches.some((v) => v.kind === 'node') || plan.assigns.length > 0;
    const ps = needsOrt ? await this.sessionFor(plan) : undefined;
    const results = new Map<Value, tf.Tensor>();
    const updates = new Map<string, tf.Tensor>();
    if (ps !== undefined) {
      const ortFeeds: Record<string, ortNs.Tensor> = {};
      for (const i of ps.inputs) {
        if (i.variable !== undefined) {
          const t = state(i.variable);
          ortFeeds[i.name] = this.handed.get(t.dataId) ?? toOrt(this.ort, t, i.dtype, () => `variable '${i.variable}'`);
        } else {
          ortFeeds[i.name] = toOrt(this.ort, feeds.get(i.feed!)!, i.dtype, () => `input '${i.feed!.name}'`);
        }
      }
      let out: ortNs.InferenceSession.ReturnType;
      try {
        out = await ps.session.run(ortFeeds);
      } catch (e) {
        throw new GcError({ code: Codes.runtime, message: `onnxruntime: ${(e as Error).message}`, notes: ps.inputs.map((i) => `${i.name}: ${ortFeeds[i.name]!.type}[${ortFeeds[i.name]!.dims.join(',')}]`) });
      }
      for (const o of ps.outputs) results.set(o.value, fromOrt(out[o.name] as ortNs.Tensor, o.value.dtype, o.value));
      for (const u of ps.updates) {
        const ot = out[u.name] as ortNs.Tensor;
        const t = fromOrt(ot, u.dtype);
        this.handed.set(t.dataId, ot);
        updates.set(u.variable, t);
      }
    }
    const outputs = plan.fetches.map((v) => {
      const r = results.get(v);
      if (r !== undefined) return results.size > 0 && countOf(plan.fetches, v) > 1 ? r.clone() : r;
      if (v.kind === 'input') return feeds.get(v)!.clone();
      if (v.kind === 'state') return state(this.graph.states[v.index]!.name).clone();
      throw new Error(`graphc: the onnxruntime engine has no value for fetch %${v.name ?? v.id}`);
    });
    return { outputs, updates };
  }

  /** The ORT sessions made so far (one per plan). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.sessions.values()) void p.then((s) => s.session.release(), () => undefined);
    this.sessions.clear();
    this.handed = new WeakMap();
  }
}

function countOf(vs: readonly Value[], v: Value): number {
  let n = 0;
  for (const x of vs) if (x === v) n++;
  return n;
}

function mixSeed(a: number, b: number): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) % 2147483647;
}

/** A tfjs tensor as an ORT tensor of the graph's dtype (tfjs-cpu data is passed without a copy). */
function toOrt(ort: Ort, t: tf.Tensor, dtype: DType, what: () => string): ortNs.Tensor {
  const data = t.dataSync();
  const dims = t.shape;
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>), dims);
    case 'int32': return new ort.Tensor('int32', data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>), dims);
    case 'bool': return new ort.Tensor('bool', data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>, (x) => (x ? 1 : 0)), dims);
    case 'int64': {
      const src = data as ArrayLike<number>;
      const out = new BigInt64Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
      return new ort.Tensor('int64', out, dims);
    }
  }
  throw new GcError({ code: Codes.runtime, message: `${what()}: dtype ${String(dtype)} cannot be passed to onnxruntime` });
}

/** An ORT result as a tfjs-cpu tensor (int64 narrowed to int32, each value checked). */
function fromOrt(t: ortNs.Tensor, dtype: DType, v?: Value): tf.Tensor {
  const shape = [...t.dims].map(Number);
  const data = t.data;
  // Made on tfjs-cpu, whose tensors hold the array they are given.
  return withBackend('cpu', () => {
    switch (dtype) {
      case 'float32': return tf.tensor(data as Float32Array, shape, 'float32');
      case 'int32': return tf.tensor(data as Int32Array, shape, 'int32');
      case 'bool': return tf.tensor(data as Uint8Array, shape, 'bool');
      case 'int64': {
        const src = data as BigInt64Array;
        const out = new Int32Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const x = src[i]!;
          if (x > 2147483647n || x < -2147483648n) {
            checkFitsInt64AsInt32([Number(x)]);
          }
          out[i] = Number(x);
        }
        return tf.tensor(out, shape, 'int32');
      }
    }
    throw new Error(`graphc: onnxruntime returned ${t.type} for ${v?.name ?? 'a value'} of dtype ${String(dtype)}`);
  });
}
