/**
 * ORT's WebGPU execution provider (backend 'onnxruntime', executionProviders ['webgpu']) gives
 * what its CPU provider gives, on SwiftShader where there is no GPU: the float cases of the op
 * table (test/core/ops_cases.ts: every input float32) and the models of the ONNX interop suite
 * (test/exporters/onnx/interop_models.ts). Each graph is traced once and run in two Sessions,
 * ['webgpu'] (allowSoftwareWebgpu) and ['cpu'], on the same seeded inputs: float32 outputs within
 * 1e-5 + 1e-4·|cpu| (GPU float math: other summation orders and transcendental approximations),
 * NaN and ±Inf exactly, other dtypes exactly. Random ops draw from ORT's seeded CPU generators
 * on both (WebGPU has no random kernels), so they are compared too.
 *
 * ORT places a node the WebGPU provider has no kernel for on its CPU provider (and shape
 * arithmetic on CPU by design); the comparison covers the graph as ORT runs it.
 *
 * Sin and Cos are held to WGSL's accuracy for them (absolute error 2^-11 on [-π, π]).
 * Where ORT 1.30's WebGPU provider is wrong or fails (on SwiftShader; no GPU was at hand to tell
 * a shader bug from a driver bug), the case is excluded with the reason (ORT_WEBGPU_KNOWN), and
 * listed: the op table then checks everything else.
 *
 * Skipped, with the reason printed, where the provider cannot start for want of a Vulkan
 * loader (Debian: libvulkan1) or SwiftShader (Debian's chromium ships it; .ci/run installs
 * both); where both are installed it must start. SwiftShader is slow (the whole table takes about 100 s on 2
 * vCPUs), so `npm test` runs a seeded sample of 80 float cases; GRAPHC_ORT_WEBGPU_CASES=all runs
 * every one (=N: a sample of N).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import type { Graph } from '../../../ir/graph.js';
import type { Case } from '../../core/ops_cases.js';
import { CASES, makeInputs } from '../../core/ops_cases.js';
import { interopModels } from '../../exporters/onnx/interop_models.js';
import { SWIFTSHADER_ICD } from '../../../runtime/backends/select.js';

await tf.setBackend('cpu');

const WEBGPU = { backend: 'onnxruntime', executionProviders: ['webgpu'], allowSoftwareWebgpu: true, seed: 5 } as const;
const CPU = { backend: 'onnxruntime', executionProviders: ['cpu'], seed: 5 } as const;
const RTOL = 1e-4, ATOL = 1e-5;
/** WGSL's accuracy of sin and cos: absolute error at most 2^-11 on [-π, π] (the op table's inputs lie there). */
const TRIG_ATOL = 2 ** -11;

/**
 * Cases ORT 1.30's WebGPU provider gets wrong or cannot run (seen on SwiftShader), and why.
 * Each was reduced to one ONNX node that the two providers compute differently.
 */
const ORT_WEBGPU_KNOWN: Record<string, string> = {
  'isNaN (of log)': 'WGSL leaves log(x ≤ 0) indeterminate: the WebGPU Log gives a finite number where the CPU gives NaN',
  'isFinite (of log and 1/floor)': 'WGSL leaves log(x ≤ 0) indeterminate: the WebGPU Log gives a finite number where the CPU gives NaN',
  'grads conv2d elu (EluGrad)': 'ORT WebGPU Conv with asymmetric pads [0,0,1,0] (x 1×1×4×4, w 2×1×4×4, output 2×1) is wrong (max |Δ| 0.5 on a one-node model)',
  'grads depthwiseConv2d same': 'ORT WebGPU ConvTranspose is wrong with group > 1, 2 or more input channels and 1 output channel per group (4→2 and 8→4 channels in 2 groups: max |Δ| 0.8 on one-node models; 2→2, 4→4 in 4 groups and 4→4 in 2 groups are right): depthwise conv\'s backprop input with channel multiplier 2',
  'grad maxPool 2x2 stride 2': "ORT WebGPU MaxPool takes the node with an Indices output, then fails: 'The Indices output is not supported yet'",
  'grad maxPool 3x3 same': "ORT WebGPU MaxPool takes the node with an Indices output, then fails: 'The Indices output is not supported yet'",
  'CNN (conv2d, batch norm, maxpool, dropout, flatten, dense)': 'ORT WebGPU Conv is wrong where the input channels are a multiple of 3 but not of 4, above 3, and the output channels a multiple of 4 (6, 9, 15, 18, 21 in with 8 or 12 out; 6 in with 5 or 6 out is right; max |Δ| 1.7–4.8 on one-node 3×3 models): the CNN\'s second conv has 6 in, 8 out',
};

/** Why ORT's WebGPU provider cannot run here, or undefined (a one-op graph through a Session). */
async function webgpuUnavailable(): Promise<string | undefined> {
  try {
    const g = gc.trace((x: tf.Tensor) => tf.add(x, 1), [gc.spec([2])]);
    const s = await gc.Session.create(g, WEBGPU);
    const y = (await s.run(g.outputs[0]!.name, { [g.inputs[0]!.name!]: tf.tensor1d([1, 2]) })) as tf.Tensor;
    const got = Array.from(await y.data());
    s.dispose();
    return got[0] === 2 && got[1] === 3 ? undefined : `a probe graph computed [${got.join(', ')}], not [2, 3]`;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split('\n')[0];
  }
}
/** What this machine lacks for ORT's WebGPU provider on SwiftShader, or undefined. */
function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (!existsSync(SWIFTSHADER_ICD)) return `no SwiftShader (${SWIFTSHADER_ICD}; Debian: chromium)`;
  let loaders = '';
  try {
    loaders = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  } catch {
    return 'ldconfig -p failed: cannot tell whether a Vulkan loader is installed';
  }
  return /libvulkan\.so\.1 /.test(loaders) ? undefined : 'no Vulkan loader (libvulkan.so.1; Debian: libvulkan1)';
}
const unavailable = await webgpuUnavailable();
// Skipped only where something is missing; where SwiftShader and the loader are there, the provider must start.
const missing = unavailable === undefined ? undefined : missingPrerequisite();
if (unavailable !== undefined) console.warn(`onnxruntime_webgpu: ORT's WebGPU provider cannot run here: ${unavailable}${missing ? `; skipped: ${missing}` : ''}`);

describe('ORT WebGPU provider starts', () => {
  if (missing !== undefined) {
    it.skip(`this machine lacks a prerequisite: ${missing}`, () => {});
    return;
  }
  it('where SwiftShader and a Vulkan loader are installed (or a GPU), with allowSoftwareWebgpu', () => {
    expect(unavailable).toBeUndefined();
  });
});

const list = (o: unknown): tf.Tensor[] => (Array.isArray(o) ? (o as tf.Tensor[]) : [o as tf.Tensor]);

/** Where `got` (webgpu) and `want` (cpu) differ: '' when they agree. */
async function differences(what: string, got: tf.Tensor, want: tf.Tensor, atol: number): Promise<string> {
  if (got.dtype !== want.dtype) return `${what}: dtype ${got.dtype}, cpu ${want.dtype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `${what}: shape [${got.shape}], cpu [${want.shape}]`;
  const a = await got.data(), e = await want.data();
  let bad = 0, first = '', worst = 0;
  for (let i = 0; i < e.length; i++) {
    const x = Number(a[i]), y = Number(e[i]);
    const ok = want.dtype !== 'float32' ? x === y
      : Number.isNaN(y) ? Number.isNaN(x) : !Number.isFinite(y) ? x === y : Math.abs(x - y) <= atol + RTOL * Math.abs(y);
    if (!ok) {
      if (bad++ === 0) first = `[${i}] webgpu ${x}, cpu ${y}`;
      if (Number.isFinite(x) && Number.isFinite(y)) worst = Math.max(worst, Math.abs(x - y) / (atol + Math.abs(y)));
    }
  }
  return bad ? `${what}: ${bad} of ${e.length} values differ, first ${first} (worst relative ${worst.toPrecision(3)})` : '';
}

/** Runs `graph` on both providers with `feeds`; the list of differences. */
async function compareProviders(graph: Graph, feedSets: tf.Tensor[][]): Promise<string[]> {
  const atol = graph.nodes.some((n) => n.op === 'sin' || n.op === 'cos') ? TRIG_ATOL : ATOL;
  const fetches = graph.outputs.map((o) => o.name);
  const names = graph.inputs.map((v) => v.name!);
  const gpu = await gc.Session.create(graph, WEBGPU);
  const cpu = await gc.Session.create(graph, CPU);
  const problems: string[] = [];
  try {
    for (const [k, xs] of feedSets.entries()) {
      const feeds = Object.fromEntries(names.map((n, i) => [n, xs[i]!]));
      const got = list(await gpu.run(fetches, feeds));
      const want = list(await cpu.run(fetches, feeds));
      for (const [i, f] of fetches.entries()) {
        const d = await differences(feedSets.length > 1 ? `feeds ${k}, ${f}` : f, got[i]!, want[i]!, atol);
        if (d) problems.push(d);
      }
      tf.dispose([...got, ...want]);
    }
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
  return problems;
}

const isFloatCase = (c: Case) => c.inputs.length > 0 && c.inputs.every((s) => (s.dtype ?? 'float32') === 'float32');
const floatCases = CASES.filter(isFloatCase);

const runnable = floatCases.filter((c) => ORT_WEBGPU_KNOWN[c.name] === undefined);

/** The cases run: a seeded sample of GRAPHC_ORT_WEBGPU_CASES (default 80; 'all': every one), in table order. */
function chosen(): Case[] {
  const v = process.env.GRAPHC_ORT_WEBGPU_CASES ?? '80';
  const n = v === 'all' ? Infinity : Number(v);
  if (!(n < runnable.length)) return runnable;
  const rng = seedrandom('onnxruntime_webgpu');
  const keys = runnable.map((_, i) => ({ i, k: rng() }));
  const keep = new Set(keys.sort((a, b) => a.k - b.k).slice(0, n).map((x) => x.i));
  return runnable.filter((_, i) => keep.has(i));
}
const cases = chosen();

describe(`ORT WebGPU provider ≡ ORT CPU provider (SwiftShader where no GPU): ${cases.length} of the op table's ${floatCases.length} float cases`, () => {
  if (unavailable !== undefined) {
    it.skip(`ORT's WebGPU provider cannot run here: ${unavailable}`, () => {});
    return;
  }
  let passed = 0;
  const t0 = performance.now();
  afterAll(() => {
    console.log(`onnxruntime_webgpu: ${passed} of ${cases.length} float cases run agree (${runnable.length} runnable, `
      + `${floatCases.length - runnable.length} excluded, ${floatCases.length} float cases of ${CASES.length} in the table), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
  for (const c of floatCases) {
    const known = ORT_WEBGPU_KNOWN[c.name];
    if (known !== undefined) it.skip(`${c.name} — excluded: ${known}`, () => {});
  }
  for (const c of cases) {
    it(c.name, async () => {
      const graph = gc.trace(c.fn, c.inputs.map((s) => gc.spec(s.shape, 'float32')));
      const xs = makeInputs(c);
      try {
        expect(await compareProviders(graph, [xs])).toEqual([]);
      } finally {
        tf.dispose(xs);
      }
      passed++;
    }, 60_000);
  }
});

describe('ORT WebGPU provider ≡ ORT CPU provider: the models of the ONNX interop suite at batch 1 and 7', () => {
  if (unavailable !== undefined) {
    it.skip(`ORT's WebGPU provider cannot run here: ${unavailable}`, () => {});
    return;
  }
  for (const m of interopModels()) {
    const known = ORT_WEBGPU_KNOWN[m.name];
    if (known !== undefined) {
      it.skip(`${m.name} — excluded: ${known}`, () => {});
      continue;
    }
    it(m.name, async () => {
      const graph = gc.trace(m.fn, m.shapes.map((s) => gc.spec(['batch', ...s])));
      const [lo, hi] = m.range ?? [-2, 2];
      const feedSets = [1, 7].map((batch, k) => m.shapes.map((shape, i) => tf.randomUniform([batch, ...shape], lo, hi, 'float32', 100 * k + i + 1)));
      try {
        expect(await compareProviders(graph, feedSets)).toEqual([]);
      } finally {
        tf.dispose(feedSets.flat());
      }
    }, 120_000);
  }
});

beforeAll(() => {
  if (unavailable !== undefined) return;
  console.log(`onnxruntime_webgpu: ${floatCases.length} float cases in the op table, running ${cases.length} (GRAPHC_ORT_WEBGPU_CASES=all: every one)`);
  for (const [name, why] of Object.entries(ORT_WEBGPU_KNOWN)) console.log(`onnxruntime_webgpu: excluded ${name}: ${why}`);
});
