/**
 * A loop over a fixed number of time steps: the chain of steps a trace records (unrolled) against
 * the same loop rolled into one scan (src/trace/roll_loops.ts), run by graphc Sessions side by
 * side in one process (interleaved rounds, median per call), on cpu and wasm.
 *
 *   npx tsx bench/rnn_roll.ts [--backends cpu,wasm] [--rounds N] [--lengths 4,16,64] [--batches 1,32]
 *
 * Prints one row per (backend, cell, batch, length): ms per call unrolled and rolled and their
 * ratio (rolled / unrolled: below 1 the loop is faster), plus the node counts.
 */
import '../src/tfjs_setup.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import * as gc from '../src/index.js';
import type { Graph } from '../ir/graph.js';
import { walkNodes } from '../ir/regions.js';
import { rollLoops } from '../src/trace/roll_loops.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
/** 'onnxruntime' here: each graph exported (gc.toOnnx) and run by an onnxruntime-node InferenceSession. */
const backends = arg('backends', 'cpu,wasm,onnxruntime').split(',') as ('cpu' | 'wasm' | 'onnxruntime')[];
const rounds = Number(arg('rounds', '15'));
const lengths = arg('lengths', '4,16,64').split(',').map(Number);
const batches = arg('batches', '1,32').split(',').map(Number);
const cells = arg('cells', 'lstm,gru').split(',');

const nodeCount = (g: Graph) => [...walkNodes(g)].length;

function model(cell: string): tfl.LayersModel {
  const cfg = { units: 32, inputShape: [null, 16] as [null, number] };
  return tfl.sequential({ layers: [cell === 'lstm' ? tfl.layers.lstm(cfg) : tfl.layers.gru(cfg)] });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row { backend: string; cell: string; batch: number; length: number; unrolledMs: number; rolledMs: number; ratio: number; unrolledNodes: number; rolledNodes: number }

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const rows: Row[] = [];
  for (const cell of cells) {
    const m = model(cell);
    const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
    for (const T of lengths) {
      for (const b of batches) {
        const chain = gc.trace(fn, [gc.spec([b, T, 16])]);
        const rolled = rollLoops(chain);
        if (rolled.rolled !== 1) throw new Error(`${cell} T=${T}: not rolled (${rolled.failures.map((f) => f.reason).join('; ')})`);
        const g1 = gc.optimize(chain).graph, g2 = gc.optimize(rolled.graph).graph;
        for (const backend of backends) {
          const x = tf.randomNormal([b, T, 16]);
          type Runner = { run: () => Promise<void>; dispose: () => void };
          const runner = async (g: Graph): Promise<Runner> => {
            if (backend === 'onnxruntime') {
              const s = await ort.InferenceSession.create(gc.toOnnx(g), { logSeverityLevel: 3 });
              const feed = { [s.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [b, T, 16]) };
              return { run: async () => { await s.run(feed); }, dispose: () => { void s.release(); } };
            }
            const s = await gc.Session.create(g, { backend });
            return { run: async () => { const y = (await s.run('output_0', { x })) as tf.Tensor; y.dataSync(); y.dispose(); }, dispose: () => s.dispose() };
          };
          const s1 = await runner(g1), s2 = await runner(g2);
          const once = async (s: Runner) => {
            const t0 = performance.now();
            await s.run();
            return performance.now() - t0;
          };
          for (let w = 0; w < 3; w++) { await once(s1); await once(s2); }
          const a: number[] = [], r: number[] = [];
          for (let i = 0; i < rounds; i++) { a.push(await once(s1)); r.push(await once(s2)); }
          const row: Row = { backend, cell, batch: b, length: T, unrolledMs: median(a), rolledMs: median(r), ratio: median(r) / median(a), unrolledNodes: nodeCount(g1), rolledNodes: nodeCount(g2) };
          rows.push(row);
          console.log(`${backend.padEnd(5)} ${cell.padEnd(5)} b=${String(b).padEnd(3)} T=${String(T).padEnd(4)} unrolled ${row.unrolledMs.toFixed(3)} ms (${row.unrolledNodes} nodes)  rolled ${row.rolledMs.toFixed(3)} ms (${row.rolledNodes} nodes)  rolled/unrolled ${row.ratio.toFixed(2)}`);
          x.dispose(); s1.dispose(); s2.dispose();
        }
      }
    }
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
