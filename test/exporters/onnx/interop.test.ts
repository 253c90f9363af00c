/**
 * ONNX interop: what graphc exports runs in ONNX Runtime with the numbers graphc's own
 * Session gives.
 *
 * 1. The op table (test/core/ops_cases.ts, the cases of the compiled ≡ eager table): each case
 *    is traced (its leading dim as the symbolic 'batch' where the function is polymorphic in
 *    it, else static shapes), exported, checked with onnx.checker (full_check; all files
 *    checked by two python processes side by side), and run in onnxruntime-node (CPU) against
 *    a graphc Session on cpu at two batch sizes: ≤ 1e-5 + 1e-5·|expected| for float32, exact
 *    for int32/bool, NaN and ±Inf exactly. The Session is also held to eager tfjs at each
 *    size, so that a wrong symbolic graph cannot pass by being wrong in both runtimes.
 *    Cases whose graph holds ops without an ONNX form (gradient kernels) or random ops
 *    (their values differ between runtimes by design) are listed as skipped, with the reason.
 * 2. Models (tfjs-layers Sequential, CNN, Functional, a custom subclassed layer, and models
 *    written from raw ops with tf.variables): the same checks at batch 1 and 7, plus the ONNX
 *    graph's input and output names are the Session's and the batch dim is dim_param 'batch'.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import type { Graph, Node, Value } from '../../../ir/graph.js';
import type { OpName } from '../../../ir/ops.js';
import { OPS } from '../../../ir/ops.js';
import { onnx } from '../../../exporters/onnx/proto.js';
import { EXPORT_RULES, isUnsupported } from '../../../exporters/onnx/export/rules.js';
import type { Case } from '../../core/ops_cases.js';
import { CASES, makeInputs } from '../../core/ops_cases.js';
import { checkModelsParallel } from './harness.js';
import { interopModels } from './interop_models.js';
import type { ModelCase } from './interop_models.js';

await tf.setBackend('cpu');

// ---- comparing results -----------------------------------------------------------------------------

interface Result { dtype: string; shape: number[]; data: ArrayLike<number | bigint> }

const fromTf = (t: tf.Tensor): Result => ({ dtype: t.dtype, shape: t.shape, data: t.dataSync() });
const fromOrt = (t: ort.Tensor): Result => ({ dtype: t.type, shape: t.dims.map(Number), data: t.data as ArrayLike<number | bigint> });
const list = (o: unknown): tf.Tensor[] => (Array.isArray(o) ? (o as tf.Tensor[]) : [o as tf.Tensor]);

/** Differences between `got` and `want` ('' where they agree): dtype, shape, then values. */
function diff(what: string, got: Result, want: Result): string {
  if (got.dtype !== want.dtype) return `${what}: dtype ${got.dtype}, want ${want.dtype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `${what}: shape [${got.shape}], want [${want.shape}]`;
  const exact = want.dtype !== 'float32';
  let bad = 0, first = '';
  for (let i = 0; i < want.data.length; i++) {
    const a = Number(got.data[i]!), e = Number(want.data[i]!);
    const ok = exact ? a === e
      : Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= 1e-5 + 1e-5 * Math.abs(e);
    if (!ok && bad++ === 0) first = `[${i}] ${a} vs ${e}`;
  }
  return bad ? `${what}: ${bad} of ${want.data.length} values differ, first ${first}` : '';
}

/**
 * Runs one exported graph at one set of feeds in onnxruntime and in a graphc Session, and
 * (when given) checks the Session against eager tfjs: the list of problems, empty when all agree.
 */
async function compare(graph: Graph, s: gc.Session, os: ort.InferenceSession, xs: tf.Tensor[], eager?: () => tf.Tensor[]): Promise<string[]> {
  const outs = graph.outputs.map((o) => o.name);
  const names = graph.inputs.map((v) => v.name!);
  if (names.length !== xs.length) return [`the graph has ${names.length} inputs for ${xs.length} tensors`];
  const got = list(await s.run(outs, Object.fromEntries(names.map((n, i) => [n, xs[i]!]))));
  const feeds: Record<string, ort.Tensor> = {};
  names.forEach((n, i) => {
    const x = xs[i]!;
    const d = x.dataSync();
    feeds[n] = new ort.Tensor(x.dtype as 'float32', x.dtype === 'bool' ? Uint8Array.from(d) : d, x.shape);
  });
  const fromOrtRun = await os.run(feeds, outs);
  const problems: string[] = [];
  outs.forEach((o, k) => {
    const d = diff(`${o}: onnxruntime vs graphc Session`, fromOrt(fromOrtRun[o]!), fromTf(got[k]!));
    if (d) problems.push(d);
  });
  if (eager) {
    const want = eager();
    if (want.length !== got.length) problems.push(`graphc Session gives ${got.length} outputs, eager tfjs ${want.length}`);
    else want.forEach((w, k) => {
      const d = diff(`${outs[k]}: graphc Session vs eager tfjs`, fromTf(got[k]!), fromTf(w));
      if (d) problems.push(d);
    });
    tf.dispose(want);
  }
  tf.dispose(got);
  return problems;
}

const ortSession = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3 });

/** The nodes the outputs depend on (what the exporter exports). */
function liveNodes(g: Graph): Node[] {
  const live = new Set<Node>();
  const stack: Value[] = g.outputs.map((o) => o.value);
  while (stack.length) {
    const v = stack.pop()!;
    if (v.producer && !live.has(v.producer)) {
      live.add(v.producer);
      stack.push(...v.producer.inputs);
    }
  }
  return g.nodes.filter((n) => live.has(n));
}

/** Why a graph is not compared with onnxruntime, or undefined: ops without an ONNX form, random ops. */
function notComparable(g: Graph): string | undefined {
  const reasons = new Map<string, string>();
  for (const n of liveNodes(g)) {
    const rule = EXPORT_RULES[n.op as OpName];
    if (isUnsupported(rule)) reasons.set(n.op, `${n.op} (${rule.unsupported})`);
    else if (OPS[n.op as OpName].effect === 'random') reasons.set(n.op, `${n.op} (a random op: values differ between runtimes by design)`);
  }
  if (g.nodes.some((n) => n.op === 'assign')) reasons.set('assign', 'assign (a training step)');
  return reasons.size ? `not exportable: ${[...reasons.values()].join('; ')}` : undefined;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

// ---- 1. the op table --------------------------------------------------------------------------------

interface Prepared {
  c: Case;
  key: string;
  graph?: Graph;
  bytes?: Uint8Array;
  /** Inputs whose leading dim is 'batch'; empty: static shapes. */
  batched: number[];
  /** Why the shapes are static, where the case has a leading dim. */
  staticWhy?: string;
  /** Leading-dim sizes to run at (one entry, undefined, for static shapes). */
  sizes: (number | undefined)[];
  skip?: string;
  error?: string;
}

/**
 * Input sets whose leading dim is traced as 'batch', tried in order: the case's own choice; else
 * every input whose leading dim equals the first input's, then the first input alone.
 */
function batchCandidates(c: Case): number[][] {
  if (c.batch !== undefined) return c.batch === false ? [] : [c.batch];
  const lead = c.inputs[0]?.shape[0];
  if (lead === undefined) return [];
  const same = c.inputs.flatMap((s, i) => (s.shape.length > 0 && s.shape[0] === lead ? [i] : []));
  return same.length > 1 ? [same, [0]] : [same];
}

function prepare(c: Case, key: string): Prepared {
  const specs = (batched: number[]) => c.inputs.map((s, i) =>
    gc.spec(batched.includes(i) ? ['batch', ...s.shape.slice(1)] : s.shape, s.dtype ?? 'float32'));
  const p: Prepared = { c, key, batched: [], sizes: [undefined] };
  if (c.batch === false) p.staticWhy = 'declared static by the case';
  for (const batched of batchCandidates(c)) {
    try {
      p.graph = gc.trace(c.fn, specs(batched));
      p.batched = batched;
      const n = c.inputs[batched[0]!]!.shape[0]!;
      p.sizes = [n, n + 3];
      p.staticWhy = undefined;
      break;
    } catch (e) {
      p.staticWhy = `not polymorphic in its leading dim: ${firstLine(e)}`;
    }
  }
  try {
    p.graph ??= gc.trace(c.fn, specs([]));
    p.skip = notComparable(p.graph);
    if (p.skip === undefined) p.bytes = gc.toOnnx(p.graph);
  } catch (e) {
    p.error = e instanceof Error ? e.message : String(e);
  }
  return p;
}

const t0 = performance.now();
const prepared = CASES.map((c, i) => prepare(c, `${i}: ${c.name}`));
const traceMs = performance.now() - t0;
const toCheck = new Map(prepared.filter((p) => p.bytes).map((p) => [p.key, p.bytes!] as const));

// ---- 2. models ----------------------------------------------------------------------------------------

/**
 * Replaces every weight by a seeded random one (BN stats included), so that a dropped bias or
 * swapped BN operand shows. Kernels are scaled by 1/√fan_in as trained weights are: with
 * std 0.5 the MLP's logits reach ±400, where float32 rounding alone (ONNX Runtime's GEMM
 * sums in another order than tfjs) moves a softmax by more than 1e-5.
 */
const MODEL_BATCHES = [1, 7];

interface PreparedModel { m: ModelCase; graph: Graph; bytes: Uint8Array }
const preparedModels: PreparedModel[] = interopModels().map((m) => {
  const graph = gc.trace(m.fn, m.shapes.map((s) => gc.spec(['batch', ...s])));
  return { m, graph, bytes: gc.toOnnx(graph) };
});

// The checker runs while the cases run: two processes for the op table, one for the models.
const opChecks = checkModelsParallel(toCheck, 2);
const modelChecks = checkModelsParallel(new Map(preparedModels.map((p) => [p.m.name, p.bytes] as const)), 1);

// ---- the op table's tests --------------------------------------------------------------------------------

const skipped = prepared.filter((p) => p.skip !== undefined);
const symbolic = prepared.filter((p) => p.batched.length > 0 && p.skip === undefined);
const statics = prepared.filter((p) => p.batched.length === 0 && p.skip === undefined);
let matched = 0;

describe(`ONNX interop, the op table: ${prepared.length - skipped.length} cases exported, ${skipped.length} skipped`, () => {
  let checks = new Map<string, string | null>();
  beforeAll(async () => {
    checks = await opChecks;
    console.log(`interop: traced and exported ${prepared.length} cases in ${(traceMs / 1000).toFixed(1)} s: `
      + `${symbolic.length} with a symbolic batch, ${statics.length} static, ${skipped.length} skipped`);
    for (const p of skipped) console.log(`interop: skipped ${p.c.name}: ${p.skip}`);
    for (const p of statics) if (p.staticWhy) console.log(`interop: static shapes for ${p.c.name}: ${p.staticWhy}`);
  }, 120_000);
  afterAll(() => {
    console.log(`interop: ${matched} of ${prepared.length - skipped.length} exported cases passed the checker and matched onnxruntime; ${skipped.length} skipped`);
  });

  for (const p of prepared) {
    if (p.skip !== undefined) {
      it.skip(`${p.c.name} — ${p.skip}`, () => {});
      continue;
    }
    const title = p.batched.length ? `${p.c.name} (batch ${p.sizes.join(', ')})` : `${p.c.name} (static)`;
    it(title, async () => {
      if (p.error !== undefined) throw new Error(p.error);
      const { graph, bytes, c } = p as Required<Prepared>;
      expect(checks.get(p.key), 'onnx.checker').toBeNull();
      const s = await gc.Session.create(graph, { backend: 'cpu' });
      const os = await ortSession(bytes);
      try {
        for (const size of p.sizes) {
          const shapes = c.inputs.map((spec, i) => (size !== undefined && p.batched.includes(i) ? [size, ...spec.shape.slice(1)] : spec.shape));
          const xs = makeInputs(c, shapes);
          try {
            const problems = await compare(graph, s, os, xs, () => list(tf.tidy(() => c.fn(...xs))));
            expect(problems, size === undefined ? 'static shapes' : `batch ${size}`).toEqual([]);
          } finally {
            tf.dispose(xs);
          }
        }
      } finally {
        s.dispose();
        await os.release();
      }
      matched++;
    });
  }
});

// ---- the models' tests ---------------------------------------------------------------------------------

describe('ONNX interop, models: checker, onnxruntime ≡ graphc Session at batch 1 and 7', () => {
  let checks = new Map<string, string | null>();
  beforeAll(async () => { checks = await modelChecks; }, 120_000);

  for (const p of preparedModels) {
    it(p.m.name, async () => {
      const { m, graph, bytes } = p;
      expect(checks.get(m.name), 'onnx.checker').toBeNull();
      const s = await gc.Session.create(graph, { backend: 'cpu' });
      const os = await ortSession(bytes);
      try {
        // The ONNX graph's names are the Session's; the batch dim is dim_param 'batch'.
        const model = onnx.ModelProto.decode(bytes);
        const g = model.graph!;
        expect(g.input!.map((i) => i.name)).toEqual(s.graph.inputs.map((v) => v.name));
        expect(g.output!.map((o) => o.name)).toEqual(s.graph.outputs.map((o) => o.name));
        expect(os.inputNames).toEqual(s.graph.inputs.map((v) => v.name));
        expect(os.outputNames).toEqual(s.graph.outputs.map((o) => o.name));
        for (const vi of [...g.input!, ...g.output!]) {
          expect(vi.type!.tensorType!.shape!.dim![0]!.dimParam, `${vi.name}: dim 0`).toBe('batch');
        }
        for (const [k, batch] of MODEL_BATCHES.entries()) {
          const [lo, hi] = m.range ?? [-2, 2];
          const xs = m.shapes.map((shape, i) => tf.randomUniform([batch, ...shape], lo, hi, 'float32', 100 * k + i + 1));
          try {
            const problems = await compare(graph, s, os, xs, () => list(tf.tidy(() => m.fn(...xs))));
            expect(problems, `batch ${batch}`).toEqual([]);
          } finally {
            tf.dispose(xs);
          }
        }
      } finally {
        s.dispose();
        await os.release();
      }
    });
  }
});
