/**
 * The ONNX backend node tests, run through graphc: each case directory holds model.onnx and
 * test_data_set_N/{input_K,output_K}.pb. A case is imported with fromOnnx, run by a graphc
 * Session (cpu backend unless told otherwise) and compared with the expected outputs the way
 * numpy's allclose compares (|a - b| ≤ atol + rtol·|b|, NaN equal to NaN) for floats, exactly
 * for integers and bools.
 *
 * Inputs that decide a shape (a Reshape's target, Slice bounds, a Range's limits…) are
 * computed at run time in these models; graphc needs them at import time, so when the import
 * says so (OnnxImportError.needsInputs names graph inputs) the case is imported again with
 * that input read as a constant holding the data set's value. Such a pass says which inputs.
 *
 * A case whose inputs or outputs are not plain numeric tensors (sequences, maps, optionals,
 * strings, float16, bfloat16, complex) is a 'skip'; so is one past the size guard. Import and
 * run failures are 'error's, wrong numbers 'fail's.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../runtime/backends/select.js';
import { ensureBackend, selectBackend } from '../runtime/backends/select.js';
import { Session } from '../runtime/session.js';
import type { TensorData } from '../ir/tensor_data.js';
import { sizeOf } from '../ir/tensor_data.js';
import { GcError } from '../ir/errors.js';
import { fromOnnx, fromOnnxModel } from '../src/onnx_import.js';
import { toOnnx } from '../exporters/onnx/export/export.js';
import { OnnxImportError } from '../exporters/onnx/import/errors.js';
import type { Graph } from '../ir/graph.js';
import { irDTypeOf, onnxTypeName } from '../exporters/onnx/dtypes.js';
import { tensorFromProto } from '../exporters/onnx/import/tensor.js';
import { onnx } from '../exporters/onnx/proto.js';

export type CaseStatus = 'pass' | 'fail' | 'error' | 'skip';

export interface CaseResult {
  name: string;
  status: CaseStatus;
  /** Why it did not pass (empty for a pass). */
  reason: string;
  /** True when the case's inputs and outputs are all plain numeric tensors. */
  numeric: boolean;
  ms: number;
}

export interface ConformanceTotals {
  total: number;
  /** Cases whose inputs and outputs are plain numeric tensors. */
  numeric: number;
  pass: number;
  /** Passes that read shape-deciding inputs as constants (included in pass). */
  passWithConstants: number;
  fail: number;
  error: number;
  skip: number;
}

export interface ConformanceReport {
  results: CaseResult[];
  totals: ConformanceTotals;
}

export interface ConformanceOptions {
  /** Session backend (default 'cpu'). */
  backend?: BackendName;
  /** Session executor (wasm: 'auto' runs the direct executor, 'tensors' one tfjs op per node). */
  executor?: 'auto' | 'tensors';
  /** Runs only the cases whose directory name matches. */
  filter?: RegExp | ((name: string) => boolean);
  /** Absolute tolerance for floats (default 1e-5). */
  atol?: number;
  /** Relative tolerance for floats (default 1e-3). */
  rtol?: number;
  /** Skips cases whose inputs and outputs hold more elements than this (default 4M). */
  maxElements?: number;
  /**
   * Also round-trips each imported graph through the exporter (toOnnx, then fromOnnx again)
   * before running it: the numbers then check export and import together.
   */
  roundTrip?: boolean;
  /** Called after each case. */
  onResult?: (r: CaseResult) => void;
}

const NUMERIC_TYPES = new Set<number>([1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13]);

function firstLine(e: unknown): string {
  const msg = e instanceof GcError ? e.summary : e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!;
}

/** Why a value is not a plain numeric tensor, or undefined when it is. */
function nonNumeric(vi: onnx.IValueInfoProto): string | undefined {
  const t = vi.type;
  if (!t) return `'${vi.name}' has no type`;
  if (!t.tensorType) {
    const kind = t.sequenceType ? 'a sequence' : t.mapType ? 'a map' : t.optionalType ? 'an optional' : t.sparseTensorType ? 'a sparse tensor' : 'not a tensor';
    return `'${vi.name}' is ${kind}`;
  }
  const et = t.tensorType.elemType ?? 0;
  if (!NUMERIC_TYPES.has(et)) return `'${vi.name}' has element type ${onnxTypeName(et)}`;
  return undefined;
}

interface Expected { data: TensorData; elemType: number }

function readTensor(path: string): { proto: onnx.TensorProto; data: TensorData } {
  const proto = onnx.TensorProto.decode(readFileSync(path));
  return { proto, data: tensorFromProto(proto) };
}

function dataSets(caseDir: string): string[] {
  return readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort().map((d) => join(caseDir, d));
}

function numbered(dir: string, prefix: string): string[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'));
  return files.sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3))).map((f) => join(dir, f));
}

function toTensor(t: TensorData): tf.Tensor {
  const data = t.data instanceof BigInt64Array ? Int32Array.from(t.data, Number) : t.data;
  return tf.tensor(data as Float32Array | Int32Array | Uint8Array, [...t.shape], t.dtype === 'int64' ? 'int32' : t.dtype);
}

/** Compares one output; a string says how it differs. */
export function compareTensor(got: { shape: readonly number[]; values: ArrayLike<number> }, want: TensorData, float: boolean, atol: number, rtol: number): string | undefined {
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `shape [${got.shape.join(',')}] ≠ expected [${want.shape.join(',')}]`;
  }
  let bad = 0, first = -1, worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    const a = got.values[i]!, b = Number(want.data[i]!);
    let ok: boolean;
    if (float) {
      if (Number.isNaN(a) || Number.isNaN(b)) ok = Number.isNaN(a) && Number.isNaN(b);
      else if (!Number.isFinite(a) || !Number.isFinite(b)) ok = a === b;
      else ok = Math.abs(a - b) <= atol + rtol * Math.abs(b);
    } else {
      ok = a === b;
    }
    if (!ok) {
      bad++;
      if (first < 0) first = i;
      if (Number.isFinite(a - b)) worst = Math.max(worst, Math.abs(a - b));
    }
  }
  if (bad === 0) return undefined;
  return `${bad}/${want.data.length} elements differ (first at ${first}: got ${got.values[first]}, expected ${Number(want.data[first]!)}; max |diff| ${worst.toPrecision(3)})`;
}

async function runCase(caseDir: string, name: string, opts: Required<Pick<ConformanceOptions, 'atol' | 'rtol' | 'maxElements' | 'roundTrip' | 'executor'>> & { backend: BackendName }): Promise<Omit<CaseResult, 'ms'>> {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(join(caseDir, 'model.onnx')));
  } catch (e) {
    return { name, status: 'error', reason: `model.onnx: ${firstLine(e)}`, numeric: true };
  }
  const gp = model.graph!;
  const inits = new Set((gp.initializer ?? []).map((t) => t.name));
  const inputs = (gp.input ?? []).filter((vi) => !inits.has(vi.name));
  for (const vi of [...inputs, ...(gp.output ?? [])]) {
    const why = nonNumeric(vi);
    if (why) return { name, status: 'skip', reason: `not plain numeric: ${why}`, numeric: false };
  }
  const sets = dataSets(caseDir);
  if (sets.length === 0) return { name, status: 'skip', reason: 'no test data', numeric: true };
  // Read the data first: its size decides the guard.
  const data: Array<{ feeds: TensorData[]; expected: Expected[] }> = [];
  let elements = 0;
  for (const set of sets) {
    const feeds = numbered(set, 'input_').map((f) => readTensor(f).data);
    const expected = numbered(set, 'output_').map((f) => { const r = readTensor(f); return { data: r.data, elemType: r.proto.dataType }; });
    elements += [...feeds, ...expected.map((e) => e.data)].reduce((s, t) => s + sizeOf(t.shape), 0);
    data.push({ feeds, expected });
  }
  if (elements > opts.maxElements) return { name, status: 'skip', reason: `too large (${elements} elements > ${opts.maxElements})`, numeric: true };
  const inputNames = inputs.map((vi) => vi.name ?? '');
  const outNames = (gp.output ?? []).map((o) => o.name ?? '');
  // Inputs that decide shapes are frozen to the data set's values when the import asks for them.
  const frozen: string[] = [];
  const importFor = (feeds: TensorData[]): Graph => {
    for (;;) {
      const constants: Record<string, TensorData> = {};
      for (const f of frozen) constants[f] = feeds[inputNames.indexOf(f)]!;
      try {
        return fromOnnxModel(model, { name: name.replace(/[^A-Za-z0-9_]/g, '_'), constants });
      } catch (e) {
        const need = e instanceof OnnxImportError ? e.needsInputs.filter((x) => !frozen.includes(x)) : [];
        if (need.length === 0) throw e;
        frozen.push(...need);
      }
    }
  };
  let cached: Graph | undefined;
  for (const { feeds, expected } of data) {
    if (feeds.length !== inputs.length) return { name, status: 'error', reason: `${feeds.length} input files for ${inputs.length} graph inputs`, numeric: true };
    if (expected.length !== outNames.length) return { name, status: 'error', reason: `${expected.length} output files for ${outNames.length} graph outputs`, numeric: true };
    let graph: Graph;
    try {
      graph = cached ?? importFor(feeds);
    } catch (e) {
      return { name, status: 'error', reason: `import: ${firstLine(e)}`, numeric: true };
    }
    if (opts.roundTrip && cached === undefined) {
      try {
        graph = fromOnnx(toOnnx(graph), { name: graph.name });
      } catch (e) {
        return { name, status: 'error', reason: `round trip: ${firstLine(e)}`, numeric: true };
      }
    }
    if (frozen.length === 0) cached = graph;
    let session: Session;
    try {
      session = await Session.create(graph, { backend: opts.backend, executor: opts.executor });
    } catch (e) {
      return { name, status: 'error', reason: `session: ${firstLine(e)}`, numeric: true };
    }
    try {
      const feedMap: Record<string, tf.Tensor> = {};
      inputs.forEach((vi, i) => { if (!frozen.includes(vi.name ?? '')) feedMap[vi.name ?? ''] = toTensor(feeds[i]!); });
      let outs: tf.Tensor[];
      try {
        outs = (await session.run(outNames, feedMap)) as tf.Tensor[];
      } catch (e) {
        return { name, status: 'error', reason: `run: ${firstLine(e)}`, numeric: true };
      } finally {
        tf.dispose(Object.values(feedMap));
      }
      try {
        for (let i = 0; i < outs.length; i++) {
          const t = outs[i]!;
          const want = expected[i]!;
          const float = irDTypeOf(want.elemType) === 'float32';
          const why = compareTensor({ shape: t.shape, values: t.dataSync() as ArrayLike<number> }, want.data, float, opts.atol, opts.rtol);
          if (why) return { name, status: 'fail', reason: `output '${outNames[i]}': ${why}`, numeric: true };
        }
      } finally {
        tf.dispose(outs);
      }
    } finally {
      session.dispose();
    }
  }
  if (frozen.length > 0) return { name, status: 'pass', reason: `(inputs read as constants: ${frozen.join(', ')})`, numeric: true };
  return { name, status: 'pass', reason: '', numeric: true };
}

/** Runs every case directory under `dir` (sorted by name). */
export async function runConformance(dir: string, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const filter = opts.filter instanceof RegExp ? ((re: RegExp) => (n: string) => re.test(n))(opts.filter) : opts.filter ?? (() => true);
  const names = readdirSync(dir).filter((n) => existsSync(join(dir, n, 'model.onnx')) && filter(n)).sort();
  const cfg = { atol: opts.atol ?? 1e-5, rtol: opts.rtol ?? 1e-3, maxElements: opts.maxElements ?? 4_000_000, backend: opts.backend ?? 'cpu', roundTrip: opts.roundTrip ?? false, executor: opts.executor ?? 'auto' };
  // Import folds constants on the session's backend: it must be initialised before the first
  // case. Feeds are made on tfjs's global backend: without one set, tfjs would pick the
  // highest-priority registered backend (wasm), which cannot initialise synchronously.
  const tfjsName = await ensureBackend((await selectBackend(cfg.backend, { allowSoftwareWebgpu: true })).name);
  if ((tf.engine() as unknown as { backendName: string | null }).backendName == null) await tf.setBackend(tfjsName);
  const results: CaseResult[] = [];
  for (const name of names) {
    const t0 = performance.now();
    let r: Omit<CaseResult, 'ms'>;
    try {
      r = await runCase(join(dir, name), name, cfg);
    } catch (e) {
      r = { name, status: 'error', reason: `runner: ${firstLine(e)}`, numeric: true };
    }
    const full = { ...r, ms: Math.round(performance.now() - t0) };
    results.push(full);
    opts.onResult?.(full);
  }
  const count = (s: CaseStatus) => results.filter((r) => r.status === s).length;
  return {
    results,
    totals: {
      total: results.length, numeric: results.filter((r) => r.numeric).length, pass: count('pass'),
      passWithConstants: results.filter((r) => r.status === 'pass' && r.reason !== '').length,
      fail: count('fail'), error: count('error'), skip: count('skip'),
    },
  };
}

/** The results as text: one line a case, then the totals. */
export function formatReport(r: ConformanceReport, opts: { onlyFailures?: boolean } = {}): string {
  const lines = r.results
    .filter((x) => !opts.onlyFailures || x.status !== 'pass')
    .map((x) => `${x.status.padEnd(5)} ${x.name}${x.reason ? `  ${x.reason}` : ''}`);
  const t = r.totals;
  lines.push(`total ${t.total}: pass ${t.pass}, fail ${t.fail}, error ${t.error}, skip ${t.skip} (plain numeric ${t.numeric}, passing ${t.pass}/${t.numeric}; `
    + `${t.passWithConstants} of the passes read shape-deciding inputs as constants)`);
  return lines.join('\n');
}
