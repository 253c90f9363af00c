/**
 * The measurements behind ir/passes/lower_for_backend.ts, the per-backend choice of
 * runtime/fused/fused_elementwise.ts, runtime/kernels/cpu_kernels.ts and the transposed product of
 * runtime/wasm/direct_calls.ts: op forms that compute the same thing, timed against
 * each other per backend (median of 9 after 2 warm-ups, read back included).
 *
 *   npx tsx bench/lowering_cliffs.ts [wasm] [cpu]
 *
 * Not a test: the numbers depend on the machine; the pass's comment table records a run.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { parseExpr } from '../ir/fused_expr.js';
import type { ChainOp } from '../runtime/fused/fused_elementwise.js';
import { runChain, runJsCpu, runJsWasm } from '../runtime/fused/fused_elementwise.js';
import { OP_KERNELS } from '../runtime/kernels/op_kernels.js';
import type { ExecCtx, OpKernel } from '../runtime/kernels/kernel_types.js';
import { AttrReader } from '../ir/ops.js';
import { conv2dCpu, matmulCpu } from '../runtime/kernels/cpu_kernels.js';

async function time(name: string, f: () => tf.Tensor, reps = 9): Promise<number> {
  for (let i = 0; i < 2; i++) { const r = tf.tidy(f); await r.data(); r.dispose(); }
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = tf.tidy(f);
    await r.data();
    r.dispose();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  const med = ts[Math.floor(ts.length / 2)]!;
  console.log(`${tf.getBackend().padEnd(5)} ${name.padEnd(48)} ${med.toFixed(2).padStart(8)} ms`);
  return med;
}

const chainCtx: ExecCtx = { backend: 'chain', dim: () => 0, dims: () => [], seedFor: () => undefined };
const chainOp: ChainOp = (op, ins, attrs) => (OP_KERNELS[op] as OpKernel)(ins, new AttrReader(op, attrs), chainCtx) as tf.Tensor;

/** Fused programs: generated kernel vs the op-by-op chain. */
const PROGRAMS: Array<[string, string, (n: number) => number[][]]> = [
  ['gelu (tanh form), 4M', 't0 = mul($0, $0); mul(mul($0, 0.5), add(tanh(mul(add($0, mul(mul(t0, $0), 0.044715)), 0.7978846)), 1))', (n) => [[n]]],
  ['swish x·sigmoid(x), 4M', 'mul($0, sigmoid($0))', (n) => [[n]]],
  ['relu(x·s + b) per-channel [16384,256]', 'relu(add(mul($0, $1), $2))', () => [[16384, 256], [256], [256]]],
  ['(x − m)·r + b, 5 ops, [16384,256]', 'add(mul(sub($0, $1), $2), $3)', () => [[16384, 256], [256], [256], [256]]],
];

for (const be of process.argv.slice(2).length ? process.argv.slice(2) : ['wasm', 'cpu']) {
  await tf.setBackend(be);
  await tf.ready();
  console.log(`\n== ${be}`);

  // Transposed matmuls (lower_for_backend: matmul-transposed).
  for (const [m, k, n] of [[784, 64, 256], [128, 128, 128], [512, 512, 512], [32, 512, 10], [1, 784, 128]] as const) {
    const at = tf.randomNormal([k, m]), b = tf.randomNormal([k, n]), a = tf.randomNormal([m, k]), bt = tf.randomNormal([n, k]);
    await time(`matmul [${m},${k},${n}] transpose_a`, () => tf.matMul(at, b, true, false));
    await time(`matmul [${m},${k},${n}] transpose(a) then matmul`, () => tf.matMul(tf.transpose(at), b));
    await time(`matmul [${m},${k},${n}] transpose_b`, () => tf.matMul(a, bt, false, true));
    await time(`matmul [${m},${k},${n}] transpose(b) then matmul`, () => tf.matMul(a, tf.transpose(bt)));
    tf.dispose([at, b, a, bt]);
  }
  const bx = tf.randomNormal([8, 64, 128]), by = tf.randomNormal([8, 64, 96]);
  await time('batched [8,64,128]ᵀ·[8,64,96] transpose_a', () => tf.matMul(bx, by, true, false));
  await time('batched, transpose then matmul', () => tf.matMul(tf.transpose(bx, [0, 2, 1]), by));

  if (be === 'cpu') {
    // runtime/kernels/cpu_kernels.ts: the same sums as tfjs-cpu's kernels, loops read along rows.
    for (const [m, k, n] of [[1, 784, 300], [64, 784, 300], [1024, 784, 300], [64, 300, 100]] as const) {
      const a = tf.randomNormal([m, k]), b = tf.randomNormal([k, n]);
      await time(`matmul [${m},${k},${n}] tfjs-cpu`, () => tf.matMul(a, b));
      await time(`matmul [${m},${k},${n}] cpu_kernels`, () => matmulCpu(a, b, false, false) ?? tf.matMul(a, b));
      tf.dispose([a, b]);
    }
    for (const [xs, fs] of [[[32, 28, 28, 1], [3, 3, 1, 8]], [[32, 13, 13, 8], [3, 3, 8, 16]]] as const) {
      const x = tf.randomNormal([...xs]), f = tf.randomNormal([...fs]);
      await time(`conv2d ${xs.join('x')} * ${fs.join('x')} tfjs-cpu`, () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'));
      await time(`conv2d ${xs.join('x')} * ${fs.join('x')} im2col`, () => conv2dCpu(x, f, [1, 1], 'valid', [1, 1])!);
      tf.dispose([x, f]);
    }
  }
  if (be === 'wasm') {
    // runtime/wasm/direct_calls.ts: a weight that changes every call is repacked by XNNPACK.
    const x = tf.randomNormal([64, 784]), w0 = tf.randomNormal([784, 300]);
    await time('x·W [64,784,300], a new W each call', () => tf.matMul(x, tf.add(w0, 1)));
    await time('(Wᵀ·xᵀ)ᵀ, a new W each call', () => tf.transpose(tf.matMul(tf.transpose(tf.add(w0, 1)), tf.transpose(x))));
    await time('a new W alone (the add above)', () => tf.add(w0, 1));
    tf.dispose([x, w0]);
  }

  // Unary cliffs (tanh-via-sigmoid, maximum-zero-relu, pow-two-square).
  const x = tf.randomNormal([4 << 20]);
  await time('tanh 4M', () => tf.tanh(x));
  await time('2·sigmoid(2x) − 1 4M', () => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1));
  await time('maximum(x, 0) 4M', () => tf.maximum(x, tf.scalar(0)));
  await time('relu 4M', () => tf.relu(x));
  await time('pow(x, 2) 4M', () => tf.pow(x, tf.scalar(2)));
  await time('square 4M', () => tf.square(x));
  await time('min(max(x, 0), 6) 4M', () => tf.minimum(tf.maximum(x, tf.scalar(0)), tf.scalar(6)));
  await time('relu6 4M', () => tf.relu6(x));

  // fused_elementwise: generated JavaScript vs the chain of this backend's kernels.
  for (const [name, expr, shapes] of PROGRAMS) {
    const ins = shapes(4 << 20).map((s) => tf.randomNormal(s));
    const { program } = parseExpr(expr);
    const outShape = ins[0]!.shape;
    await time(`${name}: chain`, () => runChain(program, ins, chainOp, outShape));
    await time(`${name}: generated JS`, () => (be === 'wasm' ? runJsWasm : runJsCpu)(expr, ins, outShape));
    tf.dispose(ins);
  }
  x.dispose();
}
