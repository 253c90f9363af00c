/**
 * `graphc export --check`: the written ONNX file run in onnxruntime-node against graphc's own
 * Session on the same random inputs, at two sizes of every symbolic dim (1 and 3; fixed dims as
 * they are; integer inputs get 0 or 1, valid as indices and counts), and the largest |Δ| of
 * each output.
 */
import * as tf from '@tensorflow/tfjs-core';
import { onnx } from '../../exporters/onnx/proto.js';
import { float16BitsToNumber, float32ToFloat16Bits } from '../../exporters/onnx/export/fp16.js';
import type { Graph } from '../../ir/graph.js';
import type { BackendName } from '../../runtime/backends/select.js';
import { Session } from '../../runtime/session.js';
import { CliError } from './cli_error.js';

/** The sizes each symbolic dim takes, one run per entry. */
export const CHECK_SIZES = [1, 3] as const;

export interface CheckOutput { name: string; dtype: string; shape: number[]; maxAbsDiff: number }
export interface CheckRun { dims: Record<string, number>; outputs: CheckOutput[] }
export interface CheckResult { runs: CheckRun[]; maxAbsDiff: number; backend: string; ortVersion: string }

type OrtModule = typeof import('onnxruntime-node');

export async function loadOrt(): Promise<OrtModule> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new CliError(`--check needs onnxruntime-node, which cannot be loaded here (${String((e as Error).message).split('\n')[0]})`, e,
      'npm install onnxruntime-node (in the project that runs graphc), or leave out --check');
  }
}

/** A small seeded generator (mulberry32): the same inputs on every run of --check. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T = onnx.TensorProto.DataType;

/** |a - b| with NaN against NaN as 0 and NaN against a number as Infinity. */
function absDiff(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0; // also equal infinities
  return Math.abs(a - b);
}

export interface CheckOptions {
  /** The written file (external data is read from beside it). */
  file: string;
  /** The written model (its inputs and outputs, in order). */
  model: onnx.IModelProto;
  /** graphc's reference: the graph as traced, before optimization. */
  graph: Graph;
  /** For each ONNX output in order, the reference graph's output name. */
  reference: string[];
  backend: BackendName;
}

export async function checkExport(o: CheckOptions): Promise<CheckResult> {
  const ort = await loadOrt();
  const g = o.model.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const onnxInputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (onnxInputs.length !== o.graph.inputs.length) {
    throw new CliError(`--check: the file has ${onnxInputs.length} inputs, graphc's graph ${o.graph.inputs.length}`);
  }
  const session = await ort.InferenceSession.create(o.file);
  const ref = await Session.create(o.graph, { backend: o.backend });
  const runs: CheckRun[] = [];
  try {
    for (const [k, size] of CHECK_SIZES.entries()) {
      const next = rng(0x9e3779b9 + k);
      const dims: Record<string, number> = {};
      const ortFeeds: Record<string, InstanceType<OrtModule['Tensor']>> = {};
      const gcFeeds: Record<string, tf.Tensor> = {};
      for (const [i, inp] of onnxInputs.entries()) {
        const tt = inp.type?.tensorType;
        const shape = (tt?.shape?.dim ?? []).map((d, j) => {
          if (!d.dimParam && d.dimValue != null) return Number(String(d.dimValue));
          const p = d.dimParam || `${inp.name}:${j}`;
          dims[p] = size;
          return size;
        });
        const n = shape.reduce((a, b) => a * b, 1);
        const elem = tt?.elemType ?? T.FLOAT;
        const irInput = o.graph.inputs.find((v) => v.name === inp.name) ?? o.graph.inputs[i]!;
        const isFloat = elem === T.FLOAT || elem === T.FLOAT16 || elem === T.DOUBLE;
        const vals = new Float32Array(n);
        for (let e = 0; e < n; e++) {
          if (isFloat) {
            // A normal value (Box-Muller): the range real inputs take.
            const u = Math.max(next(), 1e-12), v = next();
            vals[e] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
          } else {
            vals[e] = next() < 0.5 ? 0 : 1;
          }
        }
        if (elem === T.FLOAT) ortFeeds[inp.name!] = new ort.Tensor('float32', vals, shape);
        else if (elem === T.FLOAT16) ortFeeds[inp.name!] = new ort.Tensor('float16', Uint16Array.from(vals, float32ToFloat16Bits), shape);
        else if (elem === T.DOUBLE) ortFeeds[inp.name!] = new ort.Tensor('float64', Float64Array.from(vals), shape);
        else if (elem === T.INT32) ortFeeds[inp.name!] = new ort.Tensor('int32', Int32Array.from(vals), shape);
        else if (elem === T.INT64) ortFeeds[inp.name!] = new ort.Tensor('int64', BigInt64Array.from(vals, (x) => BigInt(x)), shape);
        else if (elem === T.BOOL) ortFeeds[inp.name!] = new ort.Tensor('bool', Uint8Array.from(vals), shape);
        else throw new CliError(`--check: input '${inp.name}' has ONNX element type ${T[elem] ?? elem}, which --check cannot feed`);
        const dt = irInput.type.dtype;
        gcFeeds[irInput.name!] = dt === 'bool' ? tf.tensor(Uint8Array.from(vals), shape, 'bool')
          : dt === 'float32' ? tf.tensor(elem === T.FLOAT16 ? Float32Array.from(vals, (x) => float16BitsToNumber(float32ToFloat16Bits(x))) : vals, shape, 'float32')
            : tf.tensor(Int32Array.from(vals), shape, 'int32');
      }
      const theirs = await session.run(ortFeeds);
      const ours = await ref.run(o.reference, gcFeeds, { updates: false }) as tf.Tensor[];
      tf.dispose(Object.values(gcFeeds));
      const outputs: CheckOutput[] = [];
      for (const [j, out] of (g.output ?? []).entries()) {
        const t = theirs[out.name!]!;
        const mine = ours[j]!;
        const a = await mine.data();
        const raw = t.data as ArrayLike<number | bigint>;
        const b = t.type === 'float16' ? Array.from(raw as Uint16Array, float16BitsToNumber) : raw;
        const shape = t.dims.map(Number);
        if (shape.join(',') !== mine.shape.join(',')) {
          throw new CliError(`--check: output '${out.name}' has shape [${shape.join(',')}] in onnxruntime but [${mine.shape.join(',')}] in graphc (${Object.entries(dims).map(([d, v]) => `${d}=${v}`).join(', ') || 'fixed dims'})`);
        }
        let worst = 0;
        for (let e = 0; e < a.length; e++) worst = Math.max(worst, absDiff(Number(a[e]), Number(b[e])));
        outputs.push({ name: out.name!, dtype: t.type, shape, maxAbsDiff: worst });
      }
      tf.dispose(ours);
      runs.push({ dims, outputs });
    }
  } finally {
    ref.dispose();
    await session.release();
  }
  const maxAbsDiff = Math.max(0, ...runs.flatMap((r) => r.outputs.map((x) => x.maxAbsDiff)));
  return { runs, maxAbsDiff, backend: ref.backend.name, ortVersion: ort.env.versions?.common ?? '?' };
}
