/**
 * ONNX Runtime on graphc's export against the same network built by hand: a tfjs-layers MLP
 * (784-256-128-10) at batch 1, 64 and 1024 and two CNNs at batch 32 (cases.ts's cnn_predict,
 * with global average pooling, and conv32-pool-conv64-pool-flatten-dense128-dense10), each
 * exported by graphc (`f.toOnnx()` of the compiled predict) and written node by node as a
 * person writes it (Gemm with its bias, Relu, Conv with its bias, pools, GlobalAveragePool +
 * Flatten or Transpose + Reshape, Softmax), with the same weights, straight into a ModelProto
 * (exporters/onnx/proto.ts). Both models must give the same numbers (and tfjs's); then they run
 * in one onnxruntime-node loop, interleaved with a second session of the hand-built model (the
 * control: what two sessions of one model differ by in this run), the order rotating each round.
 * Each row prints median ms per run and the median of per-round ratios, in CPU time and wall
 * clock. Target: graphc's export within 1.02× of the hand-built model (CPU time) on every row.
 *
 *   npm run bench -- --only ort_export          (registered in bench/run.ts)
 *   npm run build && node dist/bench/ort_export.js [--quick] [--threads=N]
 */
import '../src/tfjs_setup.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import * as gc from 'graphc';
import { fileURLToPath } from 'node:url';
import { onnx } from '../exporters/onnx/proto.js';
import { cnnModel, randomData } from './cases.js';
import { median } from './harness.js';

export interface OrtExportRow {
  id: string;
  /** ONNX op types of each model, in order. */
  nodes: { graphc: string[]; hand: string[] };
  /** Median ms per InferenceSession.run (outputs included): wall clock, and the process's CPU time. */
  ms: { graphc: number; hand: number };
  cpuMs: { graphc: number; hand: number };
  /** graphc / hand: the medians of the ratios of adjacent samples, CPU time and wall clock. */
  ratio: { cpu: number; wall: number };
  /** The same ratio of a second session of the hand-built model to the first: the noise floor of this row. */
  control: { cpu: number; wall: number };
  /** Max |Δ| of graphc's model against the hand-built one, and against tfjs (cpu) predict. */
  maxAbsDiff: { hand: number; tfjs: number };
  /** Timed samples per model, and runs averaged in each sample. */
  samples: number;
  runsPerSample: number;
}

export interface OrtExportResult {
  ortVersion: string;
  /** ONNX Runtime's intra-op threads (0: its default). */
  threads: number;
  rows: OrtExportRow[];
  target: { target: string; worst: number; met: boolean };
}

export interface OrtExportOptions {
  /** Timed wall time per row, ms (default 8000; quick 1500). */
  budgetMs?: number;
  /**
   * ONNX Runtime's intra-op threads (default 1: on a machine shared with other processes, a
   * parallel op waits for its slowest thread, and that noise would swamp a 2% comparison; the
   * graphs compared are the same either way). 0: ONNX Runtime's default.
   */
  threads?: number;
  quick?: boolean;
  log?: (line: string) => void;
}

export const TARGET_RATIO = 1.02;

// ---- the networks -------------------------------------------------------------------------------

/** 784-256-128-10, relu, relu, softmax. */
export function mlp256(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
    tfl.layers.dense({ units: 128, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

/** conv 3×3×32 relu, maxpool 2, conv 3×3×64 relu, maxpool 2, flatten, dense 128 relu, dense 10 softmax on 28×28×1. */
export function cnnFlatten(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 128, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

// ---- hand-built models ------------------------------------------------------------------------------

type Attr = number | number[];
type HandNode = [opType: string, inputs: string[], output: string, attrs?: Record<string, Attr>];
interface Init { name: string; dims: number[]; data: Float32Array | BigInt64Array }

function attrProto(name: string, v: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  return Array.isArray(v) ? { name, type: T.INTS, ints: v } : { name, type: T.INT, i: v };
}

/** A ModelProto (opset 17) with one float input and output whose dim 0 is 'batch'. */
export function handModel(nodes: HandNode[], inits: Init[], input: number[], output: number[]): Uint8Array {
  const vi = (name: string, dims: number[]): onnx.IValueInfoProto => ({
    name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))] } } },
  });
  const model: onnx.IModelProto = {
    irVersion: 8, producerName: 'hand', opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'hand',
      node: nodes.map(([opType, ins, out, attrs], i) => ({ opType, input: ins, output: [out], name: `n${i}`, attribute: Object.entries(attrs ?? {}).map(([k, v]) => attrProto(k, v)) })),
      initializer: inits.map((t) => ({
        name: t.name, dims: t.dims, rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        dataType: t.data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
      })),
      input: [vi('x', input)],
      output: [vi('y', output)],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

const f32 = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync());

/** HWIO → OIHW. */
function oihw(t: tf.Tensor): { dims: number[]; data: Float32Array } {
  const [h, w, i, o] = t.shape as [number, number, number, number];
  const src = t.dataSync(), out = new Float32Array(src.length);
  for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) for (let c = 0; c < i; c++) for (let d = 0; d < o; d++) {
    out[((d * i + c) * h + a) * w + b] = src[((a * w + b) * i + c) * o + d]!;
  }
  return { dims: [o, i, h, w], data: out };
}

/** Kernel and bias of each layer that has weights, in order. */
function weightsOf(m: tfl.Sequential): Array<[tf.Tensor, tf.Tensor]> {
  return m.layers.map((l) => l.getWeights()).filter((w) => w.length === 2).map((w) => [w[0]!, w[1]!]);
}

/** Dense layers as Gemm(x, W, b) + activation. */
function denseNodes(weights: Array<[tf.Tensor, tf.Tensor]>, first: string, acts: string[], inits: Init[], k0: number): HandNode[] {
  const nodes: HandNode[] = [];
  let x = first;
  weights.forEach(([w, b], i) => {
    const k = k0 + i;
    inits.push({ name: `W${k}`, dims: w.shape, data: f32(w) }, { name: `B${k}`, dims: b.shape, data: f32(b) });
    const last = i === weights.length - 1;
    nodes.push(['Gemm', [x, `W${k}`, `B${k}`], `g${k}`]);
    const act = acts[i]!;
    nodes.push(act === 'softmax' ? ['Softmax', [`g${k}`], last ? 'y' : `a${k}`, { axis: 1 }] : ['Relu', [`g${k}`], last ? 'y' : `a${k}`]);
    x = `a${k}`;
  });
  return nodes;
}

function handMlp(m: tfl.Sequential): Uint8Array {
  const inits: Init[] = [];
  return handModel(denseNodes(weightsOf(m), 'x', ['relu', 'relu', 'softmax'], inits, 0), inits, [784], [10]);
}

const pool2: Record<string, Attr> = { kernel_shape: [2, 2], strides: [2, 2] };

/** cases.ts's CNN: Transpose, Conv, Relu, MaxPool, Conv, Relu, GlobalAveragePool, Flatten, Gemm, Softmax. */
function handCnnGap(m: tfl.Sequential): Uint8Array {
  const [c1, c2, d] = weightsOf(m) as [[tf.Tensor, tf.Tensor], [tf.Tensor, tf.Tensor], [tf.Tensor, tf.Tensor]];
  const k1 = oihw(c1[0]), k2 = oihw(c2[0]);
  const inits: Init[] = [{ name: 'K1', ...k1 }, { name: 'C1', dims: c1[1].shape, data: f32(c1[1]) }, { name: 'K2', ...k2 }, { name: 'C2', dims: c2[1].shape, data: f32(c2[1]) }];
  const nodes: HandNode[] = [
    ['Transpose', ['x'], 'xn', { perm: [0, 3, 1, 2] }],
    ['Conv', ['xn', 'K1', 'C1'], 'c1', { kernel_shape: [3, 3] }], ['Relu', ['c1'], 'r1'],
    ['MaxPool', ['r1'], 'p1', pool2],
    ['Conv', ['p1', 'K2', 'C2'], 'c2', { kernel_shape: [3, 3] }], ['Relu', ['c2'], 'r2'],
    ['GlobalAveragePool', ['r2'], 'gap'], ['Flatten', ['gap'], 'flat'],
    ...denseNodes([d], 'flat', ['softmax'], inits, 3),
  ];
  return handModel(nodes, inits, [28, 28, 1], [10]);
}

/** cnnFlatten: Transpose, Conv, Relu, MaxPool ×2, Transpose back to NHWC (the flatten order of the dense weights), Reshape, Gemm, Relu, Gemm, Softmax. */
function handCnnFlatten(m: tfl.Sequential): Uint8Array {
  const [c1, c2, ...dense] = weightsOf(m) as [[tf.Tensor, tf.Tensor], [tf.Tensor, tf.Tensor], ...Array<[tf.Tensor, tf.Tensor]>];
  const inits: Init[] = [{ name: 'K1', ...oihw(c1[0]) }, { name: 'C1', dims: c1[1].shape, data: f32(c1[1]) }, { name: 'K2', ...oihw(c2[0]) }, { name: 'C2', dims: c2[1].shape, data: f32(c2[1]) },
    { name: 'flat_shape', dims: [2], data: BigInt64Array.from([-1n, 1600n]) }];
  const nodes: HandNode[] = [
    ['Transpose', ['x'], 'xn', { perm: [0, 3, 1, 2] }],
    ['Conv', ['xn', 'K1', 'C1'], 'c1', { kernel_shape: [3, 3] }], ['Relu', ['c1'], 'r1'], ['MaxPool', ['r1'], 'p1', pool2],
    ['Conv', ['p1', 'K2', 'C2'], 'c2', { kernel_shape: [3, 3] }], ['Relu', ['c2'], 'r2'], ['MaxPool', ['r2'], 'p2', pool2],
    ['Transpose', ['p2'], 'p2t', { perm: [0, 2, 3, 1] }], ['Reshape', ['p2t', 'flat_shape'], 'flat'],
    ...denseNodes(dense, 'flat', ['relu', 'softmax'], inits, 3),
  ];
  return handModel(nodes, inits, [28, 28, 1], [10]);
}

interface ModelCase {
  name: string;
  batches: number[];
  inner: number[];
  model: () => tfl.Sequential;
  hand: (m: tfl.Sequential) => Uint8Array;
}

export const ORT_EXPORT_CASES: ModelCase[] = [
  { name: 'mlp_784_256_128_10', batches: [1, 64, 1024], inner: [784], model: mlp256, hand: handMlp },
  { name: 'cnn_predict', batches: [32], inner: [28, 28, 1], model: cnnModel, hand: handCnnGap },
  { name: 'cnn_flatten', batches: [32], inner: [28, 28, 1], model: cnnFlatten, hand: handCnnFlatten },
];

// ---- running ------------------------------------------------------------------------------------

/** graphc's ONNX export of a compiled predict of `m` (what `f.toOnnx()` gives a user). */
export function graphcExport(m: tfl.Sequential, inner: number[]): Uint8Array {
  const f = gc.compile((x: tf.Tensor) => m.predict(x) as tf.Tensor, { inputs: [gc.spec(['batch', ...inner], 'float32', 'x')], backend: 'cpu' });
  return f.toOnnx();
}

export function opTypes(bytes: Uint8Array): string[] {
  return (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => n.opType ?? '');
}

export interface Runner { run(): Promise<Float32Array>; release(): Promise<void> }

export async function runner(bytes: Uint8Array, x: Float32Array, dims: number[], threads = 0): Promise<Runner> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3, ...(threads > 0 ? { intraOpNumThreads: threads } : {}) });
  const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', x, dims) };
  return {
    async run() {
      const out = await s.run(feeds);
      const y = out[s.outputNames[0]!]!.data as Float32Array;
      for (const t of Object.values(out)) t.dispose();
      return y;
    },
    release: () => s.release(),
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export interface Timing {
  /** Per runner, median ms per run: wall clock, and this process's CPU time (all its threads). */
  wall: number[];
  cpu: number[];
  /** Per runner, the median of its per-round ratio to runner `base`. */
  wallRatio: number[];
  cpuRatio: number[];
  samples: number;
  k: number;
}

/**
 * The runners timed in adjacent samples of `k` runs each, the order rotated each round: the
 * medians of ms per run, and the median of each runner's per-round ratio to runner `base`
 * (each over samples a few ms apart, so that load from other processes, which drifts over
 * seconds, cancels out), in wall-clock time and in the process's CPU time (which a process
 * preempted by others does not accrue: on a loaded machine, the measure of the work each
 * model makes ONNX Runtime do).
 */
export async function timeRunners(rs: Runner[], budgetMs: number, base = 1): Promise<Timing> {
  // Warm up, and size a sample to ~10 ms so that the timers' resolution does not matter.
  let t = performance.now();
  let n = 0;
  while (performance.now() - t < Math.min(500, budgetMs / 4) || n < 10) { for (const r of rs) await r.run(); n++; }
  const perRun = (performance.now() - t) / n / rs.length;
  const k = Math.max(1, Math.round(10 / perRun));
  const wall = rs.map(() => [] as number[]), cpu = rs.map(() => [] as number[]);
  const sample = async (i: number) => {
    const r = rs[i]!;
    const t0 = performance.now(), c0 = process.cpuUsage();
    for (let j = 0; j < k; j++) await r.run();
    const cu = process.cpuUsage(c0);
    wall[i]!.push((performance.now() - t0) / k);
    cpu[i]!.push((cu.user + cu.system) / 1000 / k);
  };
  t = performance.now();
  for (let round = 0; (performance.now() - t < budgetMs || round < 20) && round < 100000; round++) {
    for (let j = 0; j < rs.length; j++) await sample((round + j) % rs.length);
  }
  const ratios = (xs: number[][]) => xs.map((x) => median(x.map((v, i) => v / xs[base]![i]!)));
  return { wall: wall.map(median), cpu: cpu.map(median), wallRatio: ratios(wall), cpuRatio: ratios(cpu), samples: wall[0]!.length, k };
}

export async function runOrtExport(o: OrtExportOptions = {}): Promise<OrtExportResult> {
  const budgetMs = o.budgetMs ?? (o.quick ? 1500 : 8000);
  const threads = o.threads ?? 1;
  const log = o.log ?? (() => {});
  const prevBackend = tf.engine().backendName;
  await tf.setBackend('cpu');
  const rows: OrtExportRow[] = [];
  try {
    for (const c of ORT_EXPORT_CASES) {
      const m = c.model();
      const mine = graphcExport(m, c.inner);
      const hand = c.hand(m);
      for (const b of c.batches) {
        const id = `${c.name}/b=${b}`;
        log(`ort_export: ${id}`);
        const dims = [b, ...c.inner];
        const x = randomData(dims.reduce((p, d) => p * d, 1), 4321 + b);
        const want = tf.tidy(() => f32(m.predict(tf.tensor(x, dims), { batchSize: b }) as tf.Tensor));
        const rs = [await runner(mine, x, dims, threads), await runner(hand, x, dims, threads), await runner(hand, x, dims, threads)];
        try {
          const [yg, yh] = [await rs[0]!.run(), await rs[1]!.run()];
          const diff = { hand: maxAbsDiff(yg, yh), tfjs: maxAbsDiff(yg, want) };
          if (!(diff.hand <= 1e-5 && diff.tfjs <= 1e-5)) throw new Error(`ort_export ${id}: graphc's export and the hand-built model disagree (max |Δ| ${diff.hand}, vs tfjs ${diff.tfjs})`);
          const t = await timeRunners(rs, budgetMs);
          rows.push({
            id, nodes: { graphc: opTypes(mine), hand: opTypes(hand) },
            ms: { graphc: t.wall[0]!, hand: t.wall[1]! }, cpuMs: { graphc: t.cpu[0]!, hand: t.cpu[1]! },
            ratio: { cpu: t.cpuRatio[0]!, wall: t.wallRatio[0]! }, control: { cpu: t.cpuRatio[2]!, wall: t.wallRatio[2]! },
            maxAbsDiff: diff, samples: t.samples, runsPerSample: t.k,
          });
        } finally {
          for (const r of rs) await r.release();
        }
      }
      m.dispose();
    }
  } finally {
    if (prevBackend) await tf.setBackend(prevBackend);
  }
  const worst = Math.max(...rows.map((r) => r.ratio.cpu));
  return {
    ortVersion: ort.env.versions.common, threads, rows,
    target: { target: `graphc's export ≤ ${TARGET_RATIO}× hand-built (CPU time) on every row`, worst, met: worst <= TARGET_RATIO },
  };
}

export function formatOrtExport(r: OrtExportResult): string {
  const lines = [
    `ort_export: ONNX Runtime ${r.ortVersion} (cpu EP, graphOptimizationLevel all, ${r.threads > 0 ? `${r.threads} intra-op thread${r.threads > 1 ? 's' : ''}` : 'default threads'}) on graphc's export vs the network built by hand, same weights;`,
    '  interleaved; median ms per run, and the median of per-round ratios in CPU time (the target) and wall clock; control: a 2nd session of the hand-built model vs the 1st',
  ];
  const w = Math.max(...r.rows.map((x) => x.id.length), 4);
  lines.push(`${'row'.padEnd(w)}  graphc cpu ms  hand cpu ms  ratio cpu  (control)  graphc wall ms  hand wall ms  ratio wall  (control)  max|Δ| hand/tfjs  samples×runs  graphc nodes`);
  const f = (v: number, d: number, p: number) => v.toFixed(d).padStart(p);
  for (const x of r.rows) {
    lines.push(`${x.id.padEnd(w)}  ${f(x.cpuMs.graphc, 4, 13)}  ${f(x.cpuMs.hand, 4, 11)}  ${f(x.ratio.cpu, 3, 9)}  ${`(${x.control.cpu.toFixed(3)})`.padStart(9)}  ${f(x.ms.graphc, 4, 14)}  ${f(x.ms.hand, 4, 12)}  ${f(x.ratio.wall, 3, 10)}  ${`(${x.control.wall.toFixed(3)})`.padStart(9)}  ` +
      `${`${x.maxAbsDiff.hand.toExponential(0)}/${x.maxAbsDiff.tfjs.toExponential(0)}`.padStart(16)}  ${`${x.samples}×${x.runsPerSample}`.padStart(12)}  ${x.nodes.graphc.join(',')}`);
  }
  lines.push(`target: ${r.target.target}: worst ${r.target.worst.toFixed(3)}× — ${r.target.met ? 'met' : 'NOT met'}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const th = process.argv.find((a) => a.startsWith('--threads='));
  runOrtExport({ quick: process.argv.includes('--quick'), ...(th ? { threads: Number(th.slice(10)) } : {}), log: (s) => process.stderr.write(`${s}\n`) })
    .then((r) => console.log(formatOrtExport(r)))
    .catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exitCode = 1; });
}
