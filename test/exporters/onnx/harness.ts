/**
 * Helpers of the ONNX export tests: one python process checks a batch of model files with
 * onnx.checker (full_check), onnxruntime-node runs a model, and a model's outputs are
 * compared with graphc's own Session on the same seeded inputs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import * as gc from 'graphc';
import type { Dim } from '../../../ir/dim.js';
import { evalDim } from '../../../ir/dim.js';

/** Debian's python3 (with python3-onnx), not the pyenv one first on PATH. */
const PYTHON = '/usr/bin/python3';

const CHECK_SCRIPT = `
import sys, json, onnx
res = {}
for p in sys.argv[1:]:
    m = onnx.load(p)
    opset = max(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx'))
    try:
        onnx.checker.check_model(m, full_check=True)
        res[p] = None
    except Exception as e:
        msg = (type(e).__name__ + ': ' + str(e))[:3000]
        known = onnx.defs.onnx_opset_version()
        res[p] = ('skipped: onnx %s knows opsets <= %d: ' % (onnx.__version__, known) + msg) if opset > known else msg
print(json.dumps(res))
`;

/**
 * Writes each model to a temp dir and checks them all in one python call: name → error (null
 * when valid). A model of an opset newer than the installed onnx knows (Debian's onnx 1.12
 * stops at 17) that fails gets 'skipped: …' with the error: its schemas are not known there.
 */
export function checkModels(models: ReadonlyMap<string, Uint8Array>): Map<string, string | null> {
  const dir = mkdtempSync(join(tmpdir(), 'graphc-onnx-'));
  const files = new Map<string, string>();
  let i = 0;
  for (const [name, bytes] of models) {
    const f = join(dir, `m${i++}.onnx`);
    writeFileSync(f, bytes);
    files.set(name, f);
  }
  if (files.size === 0) return new Map();
  const out = execFileSync(PYTHON, ['-c', CHECK_SCRIPT, ...files.values()], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const res = JSON.parse(out) as Record<string, string | null>;
  return new Map([...files].map(([name, f]) => [name, res[f] ?? null]));
}

/**
 * Like checkModels, for many models: the files are checked by `processes` python processes
 * running side by side (each checks its share of the files in one call).
 */
export async function checkModelsParallel(models: ReadonlyMap<string, Uint8Array>, processes: number): Promise<Map<string, string | null>> {
  const dir = mkdtempSync(join(tmpdir(), 'graphc-onnx-'));
  const entries = [...models].map(([name, bytes], i) => {
    const f = join(dir, `m${i}.onnx`);
    writeFileSync(f, bytes);
    return [name, f] as const;
  });
  const n = Math.max(1, Math.min(processes, entries.length));
  const chunks = Array.from({ length: n }, (_, k) => entries.filter((_, i) => i % n === k));
  const run = (files: string[]) => new Promise<Record<string, string | null>>((resolve, reject) => {
    execFile(PYTHON, ['-c', CHECK_SCRIPT, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, out) => {
      if (err) reject(err);
      else resolve(JSON.parse(out) as Record<string, string | null>);
    });
  });
  const results = await Promise.all(chunks.filter((c) => c.length > 0).map((c) => run(c.map(([, f]) => f))));
  const res = Object.assign({}, ...results) as Record<string, string | null>;
  return new Map(entries.map(([name, f]) => [name, f in res ? res[f] ?? null : 'not checked: the checker gave no result for this file']));
}

/** A deterministic pseudo-random stream in [0, 1). */
export function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export interface InputData {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface InputGen {
  /** [lo, hi): floats uniform; ints in [lo, hi). */
  range?: [number, number];
  /** Floats are moved away from 0 by at least this much (divisors, logs). */
  minAbs?: number;
}

/** Seeded data for each graph input, symbolic dims bound to `bindings`. */
export function makeInputs(graph: gc.Graph, bindings: Record<string, number>, seed: number, gens: Record<string, InputGen> = {}): Record<string, InputData> {
  const r = rng(seed);
  const feeds: Record<string, InputData> = {};
  for (const v of graph.inputs) {
    const shape = v.shape.map((d: Dim) => evalDim(d, bindings));
    const n = shape.reduce((p, d) => p * d, 1);
    const g = gens[v.name!] ?? {};
    if (v.dtype === 'float32') {
      const [lo, hi] = g.range ?? [-2, 2];
      const data = Float32Array.from({ length: n }, () => {
        let x = lo + (hi - lo) * r();
        if (g.minAbs !== undefined && Math.abs(x) < g.minAbs) x = x < 0 ? -g.minAbs : g.minAbs;
        return x;
      });
      feeds[v.name!] = { dtype: 'float32', shape, data };
    } else if (v.dtype === 'int32') {
      const [lo, hi] = g.range ?? [-5, 5];
      feeds[v.name!] = { dtype: 'int32', shape, data: Int32Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r())) };
    } else if (v.dtype === 'bool') {
      feeds[v.name!] = { dtype: 'bool', shape, data: Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)) };
    } else {
      throw new Error(`test inputs of dtype ${v.dtype} are not supported`);
    }
  }
  return feeds;
}

export async function runOrt(bytes: Uint8Array, inputs: Record<string, InputData>, fetches: string[]): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) feeds[k] = new ort.Tensor(v.dtype, v.data, v.shape);
  const out = await s.run(feeds, fetches);
  await s.release();
  return out;
}

export async function runGraphc(graph: gc.Graph, inputs: Record<string, InputData>, fetches: string[]): Promise<tf.Tensor[]> {
  const s = await gc.Session.create(graph, { backend: 'cpu' });
  try {
    const feeds: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) feeds[k] = tf.tensor(v.data, v.shape, v.dtype);
    const outs = (await s.run(fetches, feeds)) as tf.Tensor[];
    tf.dispose(Object.values(feeds));
    return outs;
  } finally {
    s.dispose();
  }
}

export interface Mismatch { output: string; message: string }

/** Compares ONNX Runtime with graphc's Session on the same inputs: ≤ 1e-5 + 1e-5·|expected| for floats, exact otherwise. */
export async function compareWithSession(graph: gc.Graph, bytes: Uint8Array, inputs: Record<string, InputData>): Promise<Mismatch[]> {
  const names = graph.outputs.map((o) => o.name);
  const expected = await runGraphc(graph, inputs, names);
  const got = await runOrt(bytes, inputs, names);
  const problems: Mismatch[] = [];
  names.forEach((name, i) => {
    const e = expected[i]!;
    const g = got[name]!;
    const eShape = e.shape, gShape = g.dims.map(Number);
    if (eShape.join(',') !== gShape.join(',')) { problems.push({ output: name, message: `shape ${gShape} ≠ graphc ${eShape}` }); return; }
    const ev = e.dataSync();
    const gv = g.data as ArrayLike<number | bigint>;
    const exact = e.dtype !== 'float32';
    const wantType = e.dtype === 'bool' ? 'bool' : e.dtype;
    if (g.type !== wantType && !(graph.outputs[i]!.value.dtype === 'int64' && g.type === 'int64')) {
      problems.push({ output: name, message: `dtype ${g.type} ≠ graphc ${e.dtype}` });
      return;
    }
    let worst = 0, at = -1;
    for (let k = 0; k < ev.length; k++) {
      const a = Number(gv[k]!), b = Number(ev[k]!);
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      if (a === b) continue;
      const excess = exact ? Infinity : Math.abs(a - b) - (1e-5 + 1e-5 * Math.abs(b));
      if (!(excess <= 0) && (excess > worst || at < 0)) { worst = excess; at = k; }
    }
    if (at >= 0) problems.push({ output: name, message: `element ${at}: onnxruntime ${Number(gv[at]!)} vs graphc ${ev[at]} (${exact ? 'exact' : `excess ${worst}`})` });
    e.dispose();
  });
  return problems;
}

/**
 * Seeded random weights for a layers model, scaled by 1/√fan-in so that float32 summation
 * order does not dominate the comparison; BN variances and gammas stay positive.
 */
export function randomizeWeights(model: tfl.LayersModel, seed: number): tfl.LayersModel {
  const ws = model.weights.map((w, i) => tf.tidy(() => {
    const shape = w.shape as number[];
    const std = shape.length >= 2 ? 1.5 / Math.sqrt(shape.slice(0, -1).reduce((p, d) => p * d, 1)) : 0.5;
    const r = tf.randomNormal(shape, 0, std, 'float32', seed + i);
    return /moving_variance|gamma/.test(w.originalName) ? tf.add(tf.abs(r), 0.5) : r;
  }));
  model.setWeights(ws);
  tf.dispose(ws);
  return model;
}

/** The CNN both export suites use: conv, batch norm, pooling, dropout, flatten, dense. */
export function testCnn(): tfl.LayersModel {
  return randomizeWeights(tfl.sequential({ layers: [
    tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', inputShape: [12, 12, 3] }),
    tfl.layers.batchNormalization({}),
    tfl.layers.activation({ activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }),
    tfl.layers.batchNormalization({}),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.dropout({ rate: 0.3 }),
    tfl.layers.flatten({}),
    tfl.layers.dense({ units: 16, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] }), 500);
}
