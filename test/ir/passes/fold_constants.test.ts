import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../ir/parser.js';
import { foldConstants, whyNotFold } from '../../../ir/passes/fold_constants.js';
import { runPasses } from '../../../ir/passes/manager.js';
import { printGraph } from '../../../ir/printer.js';
import { passContext } from '../../../ir/passes/pass.js';
import { checkGolden } from './golden.js';

describe('fold-constants', () => {
  it('evaluates a pure node of constants and its users, leaving dead constants to dce', () => {
    checkGolden(`// RUN: fold-constants,dce
graph @f(%x: f32[batch,3]) {
  %0: f32[3] = const {value = dense<f32[3]> [1, 2, 3]}
  %1: f32[3] = const {value = dense<f32[3]> [10, 20, 30]}
  %2: f32[3] = add %0, %1
  %3: f32[3] = neg %2
  %4: f32[batch,3] = mul %x, %3
  return out = %4
}
// EXPECT:
graph @f(%x: f32[batch,3]) {
  %0: f32[3] = const {value = dense<f32[3]> [-11, -22, -33]}
  %1: f32[batch,3] = mul %x, %0
  return out = %1
}`);
  });

  it('folds a result that is a graph output, and keeps a gc.name on the new constant', () => {
    checkGolden(`// RUN: fold-constants,dce
graph @f() {
  %0: i32[2] = const {value = dense<i32[2]> [3, 4]}
  %h: i32[2] = mul %0, %0 @ "m.ts":3:7
  return out = %h
}
// EXPECT:
graph @f() {
  %h: i32[2] = const {value = dense<i32[2]> [9, 16]} @ "m.ts":3:7
  return out = %h
}`);
  });

  it('folds every result of a multi-output op', () => {
    checkGolden(`// RUN: fold-constants,dce
graph @f() {
  %0: f32[4] = const {value = dense<f32[4]> [1, 2, 3, 4]}
  %1: f32[2], %2: f32[2] = split %0 {axis = 0, sizes = [2, 2]}
  return a = %1, b = %2
}
// EXPECT:
graph @f() {
  %0: f32[2] = const {value = dense<f32[2]> [1, 2]}
  %1: f32[2] = const {value = dense<f32[2]> [3, 4]}
  return a = %0, b = %1
}`);
  });

  it('treats a fill as a constant for its users but does not expand it on its own', () => {
    checkGolden(`// RUN: fold-constants,dce
graph @f(%x: f32[2]) {
  %0: f32[2] = fill {dtype = f32, shape = [2], value = 2}
  %1: f32[2] = const {value = dense<f32[2]> [1, 5]}
  %2: f32[2] = pow %1, %0
  %3: f32[64] = fill {dtype = f32, shape = [64], value = 7}
  return a = %2, b = %3
}
// EXPECT:
graph @f(%x: f32[2]) {
  %0: f32[2] = const {value = dense<f32[2]> [1, 25]}
  %1: f32[64] = fill {dtype = f32, shape = [64], value = 7}
  return a = %0, b = %1
}`);
  });

  it('negative: random ops never fold, nor do their users', () => {
    checkGolden(`// RUN: fold-constants
graph @f() {
  %0: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = 5, shape = [2]}
  %1: f32[2] = const {value = dense<f32[2]> [1, 2]}
  %2: f32[2] = add %0, %1
  return out = %2
}
// EXPECT: unchanged`);
  });

  it('negative: sym_const and its users never fold (the value is bound at run time)', () => {
    checkGolden(`// RUN: fold-constants
graph @f(%x: f32[n]) {
  %0: i32[] = sym_const {dtype = i32, value = n}
  %1: i32[] = const {value = dense<i32[]> [2]}
  %2: i32[] = mul %0, %1
  return out = %2
}
// EXPECT: unchanged`);
  });

  it('negative: assignments and variable reads are not constants', () => {
    checkGolden(`// RUN: fold-constants
graph @f() state(%v: f32[2] = "v" trainable) {
  %0: f32[2] = const {value = dense<f32[2]> [1, 2]}
  %1: f32[2] = add %v, %0
  assign %0 {var = "v"}
  init %v = dense<f32[2]> [0, 0]
  return out = %1
}
// EXPECT: unchanged`);
  });

  it('negative: a result over maxFoldElements is left alone', () => {
    checkGolden(`// RUN: fold-constants max-fold=3
graph @f() {
  %0: f32[4] = const {value = dense<f32[4]> [1, 2, 3, 4]}
  %1: f32[4] = exp %0
  %2: f32[] = reduce_sum %0 {axes = [0], keep_dims = false}
  return a = %1, b = %2
}
// EXPECT:
graph @f() {
  %0: f32[4] = const {value = dense<f32[4]> [1, 2, 3, 4]}
  %1: f32[4] = exp %0
  %2: f32[] = const {value = dense<f32[]> [10]}
  return a = %1, b = %2
}`);
  });

  it('negative: without an evaluator nothing folds', () => {
    checkGolden(`// RUN: fold-constants no-eval
graph @f() {
  %0: f32[2] = const {value = dense<f32[2]> [1, 2]}
  %1: f32[2] = add %0, %0
  return out = %1
}
// EXPECT: unchanged`);
  });

  it('negative: a node the evaluator refuses stays', () => {
    const g = parseGraph(`graph @f() {
  %0: f32[2] = const {value = dense<f32[2]> [1, 2]}
  %1: f32[2] = exp %0
  return out = %1
}`);
    const before = printGraph(g);
    const ctx = passContext({ verify: true, evaluate: () => { throw new Error('no kernel'); } });
    expect(runPasses(g, [foldConstants], ctx)[0]!.changed).toBe(false);
    expect(printGraph(g)).toBe(before);
  });

  it('negative: a result with a symbolic shape stays', () => {
    checkGolden(`// RUN: fold-constants
graph @f(%x: f32[n]) {
  %0: f32[1] = const {value = dense<f32[1]> [1]}
  %1: f32[n] = broadcast_to %0 {shape = [n]}
  return out = %1
}
// EXPECT: unchanged`);
  });

  it('says why a node does not fold', () => {
    const g = parseGraph(`graph @f(%x: f32[n]) {
  %0: f32[3] = random_normal {dtype = f32, mean = 0, seed = -1, shape = [3], std = 1, truncated = false}
  %1: i32[] = sym_const {dtype = i32, value = n}
  %2: f32[n] = exp %x
  return a = %0, b = %1, c = %2
}`);
    const ctx = passContext({ evaluate: () => [] });
    const [r, s, e] = g.nodes;
    expect(whyNotFold(r!, ctx)).toBe('random_normal is random');
    expect(whyNotFold(s!, ctx)).toMatch(/symbol/);
    expect(whyNotFold(e!, ctx)).toMatch(/symbolic shape/);
    expect(whyNotFold(e!, passContext())).toBe('no constant evaluator was handed in');
  });
});
