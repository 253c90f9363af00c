import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { parseGraph } from '../../../ir/parser.js';
import { explainFoldBatchNorm } from '../../../ir/passes/fold_batch_norm.js';
import { checkGolden } from './golden.js';
import { expectSameValues } from './same_values.js';

/** Weights and statistics with exact, readable folded values: s = scale / sqrt(var + eps). */
const MATMUL = `// RUN: fold-batch-norm,dce
graph @f(%x: f32[batch,2]) {
  %0: f32[2,2] = const {value = dense<f32[2,2]> [1, 2, 3, 4]}
  %1: f32[batch,2] = matmul %x, %0 {transpose_a = false, transpose_b = false}
  %2: f32[2] = const {value = dense<f32[2]> [1, -1]}
  %3: f32[2] = const {value = dense<f32[2]> [3, 15]}
  %4: f32[2] = const {value = dense<f32[2]> [0.5, 0]}
  %5: f32[2] = const {value = dense<f32[2]> [2, 8]}
  %6: f32[batch,2] = batch_norm %1, %2, %3, %4, %5 {epsilon = 1}
  %7: f32[batch,2] = relu %6
  return y = %7
}
// EXPECT:
graph @f(%x: f32[batch,2]) {
  %0: f32[2,2] = const {value = dense<f32[2,2]> [1, 4, 3, 8]}
  %1: f32[2] = const {value = dense<f32[2]> [-0.5, 2]}
  %2: f32[batch,2] = fused_matmul %x, %0, %1 {activation = "linear", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  %3: f32[batch,2] = relu %2
  return y = %3
}`;

describe('fold-batch-norm', () => {
  it('folds into a matmul: W·s per column, bias (0 − mean)·s + offset', async () => {
    const r = checkGolden(MATMUL);
    await expectSameValues(r.input, r.output);
  });

  it('transpose_b weights scale per row; an existing bias folds too; per-channel [1,C] and scalar parameters', async () => {
    const r = checkGolden(`// RUN: fold-batch-norm,dce
graph @f(%x: f32[batch,2]) {
  %0: f32[2,2] = const {value = dense<f32[2,2]> [1, 2, 3, 4]}
  %9: f32[2] = const {value = dense<f32[2]> [1, 1]}
  %1: f32[batch,2] = fused_matmul %x, %0, %9 {activation = "linear", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = true}
  %2: f32[1,2] = const {value = dense<f32[1,2]> [1, -1]}
  %3: f32[] = const {value = dense<f32[]> [3]}
  %4: f32[] = const {value = dense<f32[]> [0]}
  %5: f32[1,2] = const {value = dense<f32[1,2]> [2, 4]}
  %6: f32[batch,2] = batch_norm %1, %2, %3, %4, %5 {epsilon = 1}
  return y = %6
}
// EXPECT:
graph @f(%x: f32[batch,2]) {
  %0: f32[2,2] = const {value = dense<f32[2,2]> [1, 2, 6, 8]}
  %1: f32[2] = const {value = dense<f32[2]> [0, 4]}
  %2: f32[batch,2] = fused_matmul %x, %0, %1 {activation = "linear", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = true}
  return y = %2
}`);
    expect(r.output.nodes.some((n) => n.op === 'batch_norm')).toBe(false);
    await expectSameValues(r.input, r.output);
  });

  it('folds into conv2d and depthwise_conv2d filters (channel = last axis, in·mult for depthwise)', async () => {
    const rnd = (n: number, seed: number, lo = -1, hi = 1) => {
      const out: number[] = [];
      let s = seed;
      for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; out.push(lo + (hi - lo) * (s / 2147483648)); }
      return out.map((v) => Math.fround(v)).join(', ');
    };
    const bn = (x: string, c: number, k: number) => `
  %m${k}: f32[${c}] = const {value = dense<f32[${c}]> [${rnd(c, 10 + k)}]}
  %v${k}: f32[${c}] = const {value = dense<f32[${c}]> [${rnd(c, 20 + k, 0.5, 2)}]}
  %o${k}: f32[${c}] = const {value = dense<f32[${c}]> [${rnd(c, 30 + k)}]}
  %s${k}: f32[${c}] = const {value = dense<f32[${c}]> [${rnd(c, 40 + k, 0.5, 2)}]}
  %y${k}: f32[batch,4,4,${c}] = batch_norm ${x}, %m${k}, %v${k}, %o${k}, %s${k} {epsilon = 0.001}`;
    const text = `graph @f(%x: f32[batch,4,4,2]) {
  %0: f32[3,3,2,3] = const {value = dense<f32[3,3,2,3]> [${rnd(54, 1)}]}
  %1: f32[batch,4,4,3] = conv2d %x, %0 {dilations = [1, 1], padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  ${bn('%1', 3, 1)}
  %2: f32[3,3,2,2] = const {value = dense<f32[3,3,2,2]> [${rnd(36, 2)}]}
  %3: f32[batch,4,4,4] = depthwise_conv2d %x, %2 {dilations = [1, 1], padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  ${bn('%3', 4, 2)}
  return a = %y1, b = %y2
}`;
    const before = parseGraph(text);
    const { graph } = gc.optimize(before, { passes: ['fold-batch-norm', 'dce'], verify: true });
    expect(graph.nodes.map((n) => n.op).filter((op) => op !== 'const')).toEqual(['fused_conv2d', 'fused_depthwise_conv2d']);
    await expectSameValues(before, graph);
  });

  it('negative: other uses, activation first, non-constant weights or statistics, not per-channel', () => {
    const g = parseGraph(`graph @f(%x: f32[batch,2], %x3: f32[batch,2,2], %w: f32[2,2], %mu: f32[2]) {
  %0: f32[2,2] = const {value = dense<f32[2,2]> [1, 2, 3, 4]}
  %1: f32[2] = const {value = dense<f32[2]> [1, 2]}
  %z: f32[] = const {value = dense<f32[]> [0]}
  %2: f32[batch,2] = matmul %x, %0 {transpose_a = false, transpose_b = false}
  %3: f32[batch,2] = batch_norm %2, %1, %1, %z, %1 {epsilon = 0.001}
  %4: f32[batch,2] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %5: f32[batch,2] = batch_norm %4, %1, %1, %z, %1 {epsilon = 0.001}
  %6: f32[batch,2] = fused_matmul %x, %0 {activation = "relu", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %7: f32[batch,2] = batch_norm %6, %1, %1, %z, %1 {epsilon = 0.001}
  %8: f32[batch,2] = matmul %x, %0 {transpose_a = false, transpose_b = false}
  %9: f32[batch,2] = batch_norm %8, %mu, %1, %z, %1 {epsilon = 0.001}
  %10: f32[batch,2,2] = matmul %x3, %0 {transpose_a = false, transpose_b = false}
  %11: f32[2,2] = const {value = dense<f32[2,2]> [1, 2, 3, 4]}
  %12: f32[batch,2,2] = batch_norm %10, %11, %1, %z, %1 {epsilon = 0.001}
  %13: f32[batch,2] = exp %x
  %14: f32[batch,2] = batch_norm %13, %1, %1, %z, %1 {epsilon = 0.001}
  return a = %3, b = %2, c = %5, d = %7, e = %9, f = %12, g = %14
}`);
    const why = g.nodes.filter((n) => n.op === 'batch_norm').map((n) => explainFoldBatchNorm(g, n));
    expect(why).toEqual([
      'the matmul result has other uses (or is named or an output)',
      'the weights of matmul are not a float32 constant',
      "the fused_matmul applies activation 'relu' before the batch norm",
      'mean: not a constant',
      'mean: shape [2,2] is not per-channel over 2 channels',
      'x is computed by exp, not a matmul or convolution',
    ]);
    const { graph } = gc.optimize(g, { passes: ['fold-batch-norm'] });
    expect(graph.toString()).toBe(g.toString());
  });

  it('a tfjs-layers model: weights are variables until freeze-variables; then Dense+BN and Conv2D+BN fold', async () => {
    await tf.setBackend('cpu');
    const model = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', useBias: true }),
      tfl.layers.batchNormalization({ axis: -1 }),
      tfl.layers.reLU(),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 5, useBias: false }),
      tfl.layers.batchNormalization(),
    ] });
    // Non-trivial statistics, as after training.
    for (const l of model.layers.filter((x) => x.name.startsWith('batch_normalization'))) {
      const ws = l.getWeights();
      l.setWeights(ws.map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -1, 2, 'float32', 7 + i)));
    }
    const traced = gc.trace((x: tf.Tensor) => model.predict(x) as tf.Tensor, [gc.spec(['batch', 6, 6, 2])]);
    const plain = gc.optimize(traced, { backend: 'cpu' }).graph;
    expect(plain.nodes.filter((n) => n.op === 'batch_norm')).toHaveLength(2);       // weights are state: not folded
    const frozen = gc.optimize(traced, { passes: ['freeze-variables', 'fold-constants', 'simplify', 'cse', 'dce', 'fold-batch-norm', 'fuse-matmul-bias-act'], backend: 'cpu', verify: true }).graph;
    expect(frozen.states).toHaveLength(0);
    const ops = frozen.nodes.map((n) => n.op).filter((op) => op !== 'const');
    expect(ops).not.toContain('batch_norm');
    expect(ops).toContain('fused_conv2d');
    expect(ops).toContain('fused_matmul');
    expect(frozen.nodes.find((n) => n.op === 'fused_conv2d')!.attrs['activation']).toBe('relu');
    await expectSameValues(traced, frozen, { atol: 1e-4, rtol: 1e-4 });
  });
});
