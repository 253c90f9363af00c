/**
 * A child process of the ONNX importer fuzzer (pool.ts starts it): it receives model bytes
 * over IPC, imports each, and when the import succeeds runs the graph on the cpu and wasm
 * engines with random feeds. It answers one Outcome per case; anything but a GcError is a
 * finding. A case that crashes the process, runs past the time budget or past the memory
 * budget is seen by the parent, which starts a fresh worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as gc from '../../src/index.js';
import type { Graph } from '../../ir/graph.js';
import { evalDim } from '../../ir/dim.js';
import { INTERNAL_ERROR } from '../../exporters/onnx/import/import.js';
import { checkWasmCanaries } from '../../runtime/wasm/wasm_heap.js';
import { Rng } from '../fuzz/rng.js';

export interface CaseMessage { readonly id: number; readonly bytes: Uint8Array; readonly feedSeed: number }

export type Outcome = (
  | { readonly id: number; readonly result: 'refused'; readonly stage: 'import' | 'cpu' | 'wasm'; readonly code: string; readonly message: string }
  | { readonly id: number; readonly result: 'ran'; readonly runs: number; readonly skipped?: string }
  | { readonly id: number; readonly result: 'non-gc'; readonly stage: string; readonly message: string }
) & {
  /** tfjs tensors the case left alive (tf.memory().numTensors after it, less before it; feeds and outputs disposed). */
  readonly leakedTensors?: number;
};

/**
 * The sessions' per-tensor limit (SessionOptions.maxTensorBytes): graphc's default (2 GiB) is
 * more than the 2 GB memory budget a case runs under, so the fuzzer lowers it; what it checks
 * is that no tensor past the limit is ever allocated, and no other memory grows unbounded.
 */
export const MAX_TENSOR_BYTES = 2 ** 28;

/** Feeds past this many elements are not made (the harness's own budget, not graphc's). */
const MAX_FEED_ELEMENTS = 1 << 20;

function feedsFor(g: Graph, seed: number): Record<string, tf.Tensor> | string {
  const r = new Rng(seed);
  const bind = new Map<string, number>();
  const feeds: Record<string, tf.Tensor> = {};
  for (const v of g.inputs) {
    const shape = v.shape.map((d) => {
      if (typeof d === 'number') return d;
      if (!bind.has(d.sym)) bind.set(d.sym, r.int(1, 3));
      return evalDim(d, Object.fromEntries(bind));
    });
    const size = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || size > MAX_FEED_ELEMENTS) {
      tf.dispose(Object.values(feeds));      // the feeds made for the inputs before this one
      return `input '${v.name}' of shape [${shape}] is past the harness's feed budget`;
    }
    const values = Array.from({ length: size }, () => (v.dtype === 'float32' ? r.next() * 4 - 2 : v.dtype === 'bool' ? r.int(0, 1) : r.int(0, 3)));
    const dtype = v.dtype === 'int64' ? 'int32' : v.dtype === 'float32' || v.dtype === 'int32' || v.dtype === 'bool' ? v.dtype : 'float32';
    feeds[v.name ?? ''] = tf.tensor(values, shape, dtype);
  }
  return feeds;
}

/**
 * A WebAssembly trap (tfjs-wasm's C kernels check nothing): graphc reports it as a GcError of the
 * node that ran, but the kernel read or wrote out of bounds and the heap may be corrupt, so the
 * fuzzer counts it as a finding, not a refusal (fuzz seed 26 case 10932 trapped alone and, after
 * other cases, corrupted the heap silently).
 */
const WASM_TRAP = /memory access out of bounds|unreachable|integer divide by zero|integer overflow|invalid conversion to integer|function signature mismatch|table index is out of bounds|Aborted\(/;

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.split('\n')[0]}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return `thrown ${typeof e}: ${String(e)}`;
}

async function runCase(m: CaseMessage): Promise<Outcome> {
  let g: Graph;
  try {
    g = gc.fromOnnx(m.bytes);
  } catch (e) {
    if (e instanceof gc.GcError && !e.message.includes(INTERNAL_ERROR)) return { id: m.id, result: 'refused', stage: 'import', code: e.code, message: e.summary };
    return { id: m.id, result: 'non-gc', stage: 'import', message: describe(e) };
  }
  let runs = 0;
  for (const backend of ['cpu', 'wasm'] as const) {
    const feeds = feedsFor(g, m.feedSeed);
    if (typeof feeds === 'string') return { id: m.id, result: 'ran', runs, skipped: feeds };
    let s: gc.Session | undefined;
    try {
      s = await gc.Session.create(g, { backend, maxTensorBytes: MAX_TENSOR_BYTES });
      const names = g.outputs.map((o) => o.name);
      if (names.length > 0) {
        const outs = await s.run(names, feeds);
        const list = Array.isArray(outs) ? outs : [outs];
        for (const t of list) await t.data();
        tf.dispose(list);
      }
      runs++;
    } catch (e) {
      if (e instanceof gc.GcError && !(backend === 'wasm' && WASM_TRAP.test(e.message))) return { id: m.id, result: 'refused', stage: backend, code: e.code, message: e.summary };
      return { id: m.id, result: 'non-gc', stage: backend, message: describe(e) };
    } finally {
      s?.dispose();
      tf.dispose(Object.values(feeds));
    }
  }
  return { id: m.id, result: 'ran', runs };
}

async function main(): Promise<void> {
  const send = (msg: unknown) => new Promise<void>((resolve) => { process.send!(msg, () => resolve()); });
  process.on('uncaughtException', (e) => { void send({ crash: describe(e) }).then(() => process.exit(70)); });
  process.on('unhandledRejection', (e) => { void send({ crash: `unhandled rejection: ${describe(e)}` }).then(() => process.exit(70)); });
  await gc.ensureBackend('cpu');
  await gc.ensureBackend('wasm');
  await tf.setBackend('cpu');
  process.on('message', (m: CaseMessage) => {
    const before = tf.memory().numTensors;
    // A throw from a session's dispose (a damaged guard found when a block is freed) is a finding too.
    void runCase({ ...m, bytes: new Uint8Array(m.bytes) }).catch((e: unknown): Outcome => ({ id: m.id, result: 'non-gc', stage: 'dispose', message: describe(e) })).then((o) => {
      // The wasm heap's guard bytes (GRAPHC_WASM_CANARY, set by pool.ts) of every block still live.
      try {
        checkWasmCanaries(`the end of case ${m.id}`);
      } catch (e) {
        if (o.result !== 'non-gc') o = { id: m.id, result: 'non-gc', stage: 'wasm', message: describe(e) };
      }
      return send({ ...o, leakedTensors: tf.memory().numTensors - before });
    });
  });
  await send({ ready: true });
}

void main();
