/**
 * Session: runs a graph on a tfjs backend with feeds and fetches (TF1 style). The plan for a
 * fetch/feed signature is computed once: only the nodes the fetches (and, by default, the
 * graph's assignments) need, in order, with every intermediate freed after its last use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalShape } from '../ir/dim.js';
import type { Dim } from '../ir/dim.js';
import { GcError, locToString } from '../ir/errors.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import { AttrReader } from '../ir/ops.js';
import type { TensorData } from '../ir/tensor_data.js';
import { ensureBackend, selectBackend } from './backends.js';
import type { BackendChoice, BackendName } from './backends.js';
import type { ExecCtx, OpKernel } from './kernel_types.js';
import { OP_KERNELS } from './op_kernels.js';

export type Feed = tf.Tensor | number[] | number[][] | number[][][] | Float32Array | Int32Array | Uint8Array;

export interface SessionOptions {
  backend?: BackendName;
  /** Makes the graph's unseeded random ops reproducible: run n of two sessions with the same seed draws the same values. */
  seed?: number;
  /** Accept a software WebGPU adapter (SwiftShader) for backend 'webgpu'. */
  allowSoftwareWebgpu?: boolean;
}

export interface RunOptions {
  /** Run the graph's variable assignments (default true: a run is one call of the function). */
  updates?: boolean;
}

interface Plan {
  fetches: Value[];
  feeds: Value[];
  schedule: Node[];
  /** For each scheduled node, the values to free after it ran. */
  frees: Value[][];
  assigns: Node[];
}

export function tensorFromData(d: TensorData): tf.Tensor {
  const dtype = d.dtype === 'int64' ? 'int32' : d.dtype;
  const data = d.dtype === 'int64' ? Int32Array.from(d.data as BigInt64Array, (x) => Number(x)) : d.data;
  return tf.tensor(data as Float32Array, [...d.shape], dtype);
}

function valueLabel(v: Value): string {
  return `%${v.name ?? v.id}`;
}

function describeNode(n: Node): string {
  return `${n.outputs.map(valueLabel).join(', ')}${n.outputs.length ? ' = ' : ''}${n.op} ${n.inputs.map(valueLabel).join(', ')}`;
}

/** Runs `f` with tfjs's global backend switched to `name`, restoring it afterwards. */
export function withBackend<T>(name: string, f: () => T): T {
  const prev = tf.getBackend();
  if (prev === name) return f();
  void tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`graphc: backend '${name}' is not initialised`);
  try {
    return f();
  } finally {
    if (prev) void tf.setBackend(prev);
  }
}

function mix(a: number, b: number): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class Session {
  private readonly plans = new Map<string, Plan>();
  private readonly consts = new Map<Value, tf.Tensor>();
  /** Session-owned variable values, by variable name. */
  private readonly state = new Map<string, tf.Tensor>();
  private runs = 0;
  private disposed = false;

  private constructor(readonly graph: Graph, readonly backend: BackendChoice, private readonly seed: number | undefined) {}

  static async create(graph: Graph, opts: SessionOptions = {}): Promise<Session> {
    const choice = await selectBackend(opts.backend ?? 'auto', { allowSoftwareWebgpu: opts.allowSoftwareWebgpu ?? true });
    await ensureBackend(choice.name);
    // Variable values are created from their inits on first use (compile supplies its own).
    return new Session(graph, choice, opts.seed);
  }

  /** A session on an already initialised tfjs backend (internal: variable initialisation while tracing). */
  static forBackend(graph: Graph, tfjsName: string, seed?: number): Session {
    const name = (['cpu', 'wasm', 'webgpu'].includes(tfjsName) ? tfjsName : 'tensorflow') as 'cpu';
    return new Session(graph, { name, tfjsName, reason: `the current tfjs backend (${tfjsName})` }, seed);
  }

  /** Names that can be fetched: outputs, inputs, variables and every named value. */
  fetchableNames(): string[] {
    const names = new Set<string>(this.graph.outputs.map((o) => o.name));
    for (const v of this.graph.values()) if (v.name !== undefined) names.add(v.name);
    return [...names];
  }

  private resolveFetch(name: string): Value {
    const out = this.graph.outputs.find((o) => o.name === name);
    if (out) return out.value;
    for (const v of this.graph.values()) if (v.name === name) return v;
    throw new GcError({ code: 'GC0402', message: `unknown fetch '${name}'`, notes: [`valid names: ${this.fetchableNames().join(', ')}`],
      help: 'name a value during tracing with gc.name(t, "label") to fetch it' });
  }

  private plan(fetchNames: string[], feedNames: string[], updates: boolean): Plan {
    const key = `${fetchNames.join('\u0000')}|${feedNames.join('\u0000')}|${updates}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const fetches = fetchNames.map((n) => this.resolveFetch(n));
    const feeds = feedNames.map((n) => {
      const v = this.graph.inputs.find((i) => i.name === n);
      if (!v) throw new GcError({ code: 'GC0402', message: `unknown feed '${n}'`, notes: [`inputs: ${this.graph.inputs.map((i) => i.name).join(', ') || '(none)'}`] });
      return v;
    });
    const assigns = updates ? this.graph.nodes.filter((n) => n.op === 'assign') : [];
    const needed = new Set<Node>();
    const stack: Value[] = [...fetches, ...assigns.flatMap((a) => a.inputs)];
    for (const a of assigns) needed.add(a);
    while (stack.length) {
      const v = stack.pop()!;
      if (v.producer && !needed.has(v.producer)) {
        needed.add(v.producer);
        stack.push(...v.producer.inputs);
      }
    }
    const schedule = this.graph.nodes.filter((n) => needed.has(n));
    for (const n of schedule) {
      for (const v of n.inputs) {
        if (v.kind === 'input' && !feeds.includes(v)) {
          throw new GcError({ code: 'GC0402', message: `missing feed for input '${v.name}' (${typeToString(v.type)}), needed by ${n.op}`,
            loc: n.loc, notes: [`inputs: ${this.graph.inputs.map((i) => i.name).join(', ')}`] });
        }
      }
    }
    for (const v of fetches) {
      if (v.kind === 'input' && !feeds.includes(v)) throw new GcError({ code: 'GC0402', message: `missing feed for fetched input '${v.name}'` });
    }
    const last = new Map<Value, number>();
    schedule.forEach((n, i) => n.inputs.forEach((v) => last.set(v, i)));
    const keep = new Set<Value>(fetches);
    for (const a of assigns) keep.add(a.inputs[0]!);
    const frees: Value[][] = schedule.map(() => []);
    for (const [v, i] of last) {
      if (v.kind === 'node' && !keep.has(v) && v.producer?.op !== 'const') frees[i]!.push(v);
    }
    // Outputs of scheduled nodes that nobody uses are freed right away.
    schedule.forEach((n, i) => n.outputs.forEach((v) => { if (!last.has(v) && !keep.has(v)) frees[i]!.push(v); }));
    const p: Plan = { fetches, feeds, schedule, frees, assigns };
    this.plans.set(key, p);
    return p;
  }

  /** Binds symbolic dims from the fed tensors, checking every fed shape and dtype. */
  private bind(feeds: Map<Value, tf.Tensor>): Map<string, number> {
    const b = new Map<string, number>();
    for (const [v, t] of feeds) {
      const want = v.type;
      const bad = () => new GcError({ code: 'GC0401', message: `input '${v.name}': expected ${typeToString(want)}, got ${t.dtype}[${t.shape.join(',')}]`,
        notes: [...b].map(([k, n]) => `${k} = ${n}`), help: 'feed a tensor of the declared shape and dtype (symbolic dims must agree across inputs)' });
      const wantDtype = want.dtype === 'int64' ? 'int32' : want.dtype;
      if (t.dtype !== wantDtype || t.shape.length !== want.shape.length) throw bad();
      want.shape.forEach((d, i) => {
        const got = t.shape[i]!;
        if (typeof d === 'number') { if (d !== got) throw bad(); return; }
        if ((got - d.c) % d.k !== 0) throw bad();
        const s = (got - d.c) / d.k;
        const prev = b.get(d.sym);
        if (prev !== undefined && prev !== s) throw bad();
        b.set(d.sym, s);
      });
    }
    return b;
  }

  private toTensor(v: Value, f: Feed): tf.Tensor {
    if (f instanceof tf.Tensor) return f;
    const dtype = v.type.dtype === 'int64' ? 'int32' : v.type.dtype;
    const shape = v.type.shape.every((d) => typeof d === 'number') ? (v.type.shape as number[]) : undefined;
    if (ArrayBuffer.isView(f) && shape === undefined) {
      throw new GcError({ code: 'GC0401', message: `input '${v.name}': a flat typed array cannot fill the symbolic shape ${typeToString(v.type)}`, help: 'pass a tf.Tensor or a nested array' });
    }
    return tf.tensor(f as number[], shape, dtype);
  }

  /**
   * Core execution. `stateIn` supplies each variable's current value (not disposed here);
   * returns the fetched tensors and, with updates, the new value of each assigned variable.
   */
  execute(fetchNames: string[], feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, opts: RunOptions = {}): { outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> } {
    if (this.disposed) throw new GcError({ code: 'GC0403', message: 'this Session was disposed' });
    const feedNames = Object.keys(feeds).sort();
    const plan = this.plan(fetchNames, feedNames, opts.updates ?? true);
    const run = this.runs++;
    return withBackend(this.backend.tfjsName, () => {
      const env = new Map<Value, tf.Tensor>();
      const owned = new Set<tf.Tensor>();
      const fed = new Map<Value, tf.Tensor>();
      for (const v of plan.feeds) {
        const t = this.toTensor(v, feeds[v.name!]!);
        if (t !== feeds[v.name!]) owned.add(t);
        fed.set(v, t);
        env.set(v, t);
      }
      try {
        const bindings = this.bind(fed);
        for (const s of this.graph.states) env.set(s.value, stateIn(s.name));
        const ctx: ExecCtx = {
          backend: this.backend.tfjsName,
          dim: (d: Dim) => evalShape([d], bindings)[0]!,
          dims: (ds: readonly Dim[]) => evalShape(ds, bindings),
          seedFor: (opSeed: number) => (opSeed >= 0 ? opSeed : this.seed === undefined ? undefined : mix(mix(this.seed, run), this.currentNode)),
        };
        plan.schedule.forEach((n, i) => {
          if (n.op === 'assign') return;
          if (n.op === 'const') {
            let c = this.consts.get(n.outputs[0]!);
            if (!c) { c = tf.keep(tensorFromData(n.attrs.value as TensorData)); this.consts.set(n.outputs[0]!, c); }
            env.set(n.outputs[0]!, c);
          } else {
            const k = OP_KERNELS[n.op];
            if ('unsupported' in k) throw new GcError({ code: 'GC0403', message: `${n.op} cannot run on tfjs: ${k.unsupported}`, loc: n.loc });
            this.currentNode = n.id;
            let outs: tf.Tensor[];
            try {
              const ins = n.inputs.map((v) => env.get(v)!);
              const r = tf.tidy(() => (k as OpKernel)(ins, new AttrReader(n.op, n.attrs), ctx));
              // A kernel may hand back an operand unchanged; the result must be a tensor of its own.
              outs = (Array.isArray(r) ? r : [r]).map((t) => (ins.includes(t) ? t.clone() : t));
              // Backends disagree on a few result dtypes (floor_div is int32 on cpu); the graph's type wins.
              outs = outs.map((t, j) => {
                const want = n.outputs[j]!.dtype === 'int64' ? 'int32' : n.outputs[j]!.dtype;
                if (t.dtype === want) return t;
                const c = tf.cast(t, want);
                t.dispose();
                return c;
              });
            } catch (e) {
              if (e instanceof GcError) throw e;
              throw new GcError({ code: 'GC0403', message: `while executing ${describeNode(n)}: ${(e as Error).message}`, loc: n.loc,
                notes: n.inputs.map((v) => `${valueLabel(v)}: ${typeToString(v.type)} = [${env.get(v)?.shape.join(',')}]`) });
            }
            n.outputs.forEach((v, j) => { env.set(v, outs[j]!); owned.add(outs[j]!); });
          }
          for (const v of plan.frees[i]!) {
            const t = env.get(v);
            if (t && owned.has(t)) { t.dispose(); owned.delete(t); }
            env.delete(v);
          }
        });
        const outputs = plan.fetches.map((v) => {
          const t = env.get(v)!;
          if (owned.has(t)) { owned.delete(t); return t; }
          return t.clone();
        });
        const updates = new Map<string, tf.Tensor>();
        for (const a of plan.assigns) {
          const t = env.get(a.inputs[0]!)!;
          if (owned.has(t) && !outputs.includes(t)) { owned.delete(t); updates.set(a.attrs.var as string, t); }
          else updates.set(a.attrs.var as string, t.clone());
        }
        return { outputs, updates };
      } finally {
        for (const t of owned) t.dispose();
      }
    });
  }

  private currentNode = 0;

  /** Runs the graph: fetch by name (outputs, inputs, variables, gc.name'd values). */
  async run(fetches: string | string[], feeds: Record<string, Feed> = {}, opts: RunOptions = {}): Promise<tf.Tensor | tf.Tensor[]> {
    return this.runSync(fetches, feeds, opts);
  }

  runSync(fetches: string | string[], feeds: Record<string, Feed> = {}, opts: RunOptions = {}): tf.Tensor | tf.Tensor[] {
    const names = Array.isArray(fetches) ? fetches : [fetches];
    const { outputs, updates } = this.execute(names, feeds, (n) => this.stateTensor(n), opts);
    for (const [name, t] of updates) {
      this.state.get(name)?.dispose();
      this.state.set(name, t);
    }
    return Array.isArray(fetches) ? outputs : outputs[0]!;
  }

  /** The session-owned value of a variable, created from its init on first use. */
  private stateTensor(name: string): tf.Tensor {
    let t = this.state.get(name);
    if (!t) {
      const st = this.graph.stateByName(name);
      if (!st) throw new GcError({ code: 'GC0402', message: `unknown variable '${name}'` });
      t = withBackend(this.backend.tfjsName, () => tf.keep(tensorFromData(st.init)));
      this.state.set(name, t);
    }
    return t;
  }

  /** The session's current value of a variable (a copy the caller owns). */
  variable(name: string): tf.Tensor {
    const t = this.graph.stateByName(name) ? this.stateTensor(name) : undefined;
    if (!t) throw new GcError({ code: 'GC0402', message: `unknown variable '${name}'`, notes: [`variables: ${[...this.state.keys()].join(', ') || '(none)'}`] });
    return t.clone();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.consts.values()) t.dispose();
    for (const t of this.state.values()) t.dispose();
    this.consts.clear();
    this.state.clear();
    this.plans.clear();
  }
}

export { locToString };
