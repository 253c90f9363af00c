import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../ir/parser.js';
import { passContext } from '../../../ir/passes/pass.js';
import { explainSimplify } from '../../../ir/passes/simplify.js';
import { checkGolden } from './golden.js';

const pass = (name: string, text: string) => it(name, () => { checkGolden(text); });

describe('simplify: neutral and absorbing elements', () => {
  pass('x + 0, 0 + x, x − 0, x · 1, 1 · x, x / 1 → x', `// RUN: simplify,dce
graph @f(%x: f32[2,3]) {
  %90: f32[3] = const {value = dense<f32[3]> [0, 0, 0]}
  %91: f32[] = const {value = dense<f32[]> [1]}
  %0: f32[2,3] = add %x, %90
  %1: f32[2,3] = add %90, %0
  %2: f32[2,3] = sub %1, %90
  %3: f32[2,3] = mul %2, %91
  %4: f32[2,3] = mul %91, %3
  %5: f32[2,3] = div %4, %91
  return out = %5
}
// EXPECT:
graph @f(%x: f32[2,3]) {
  return out = %x
}`);

  pass('the neutral constant may be a fill; bool and / or / xor', `// RUN: simplify,dce
graph @f(%x: f32[n], %b: bool[n]) {
  %0: f32[n] = fill {dtype = f32, shape = [n], value = 0}
  %1: f32[n] = add %x, %0
  %92: bool[] = const {value = dense<bool[]> [true]}
  %2: bool[n] = logical_and %92, %b
  %3: f32[n] = exp %1
  return a = %3, b = %2
}
// EXPECT:
graph @f(%x: f32[n], %b: bool[n]) {
  %0: f32[n] = exp %x
  return a = %0, b = %b
}`);

  pass('negative: x + zeros of a larger shape broadcasts and stays; 0 − x and 1 / x stay', `// RUN: simplify
graph @f(%x: f32[3]) {
  %z: f32[2,3] = const {value = dense<f32[2,3]> [0, 0, 0, 0, 0, 0]}
  %0: f32[2,3] = add %x, %z
  %s: f32[] = const {value = dense<f32[]> [0]}
  %1: f32[3] = sub %s, %x
  %o: f32[] = const {value = dense<f32[]> [1]}
  %2: f32[3] = div %o, %x
  %3: f32[3] = add %x, %o
  return a = %0, b = %1, c = %2, d = %3
}
// EXPECT: unchanged`);

  pass('negative: float x · 0 stays (NaN · 0 is NaN, −1 · 0 is −0)', `// RUN: simplify
graph @f(%x: f32[3]) {
  %z: f32[] = const {value = dense<f32[]> [0]}
  %0: f32[3] = mul %x, %z
  return out = %0
}
// EXPECT: unchanged`);

  pass('integer x · 0 → 0, broadcast to the result shape when needed', `// RUN: simplify,dce
graph @f(%x: i32[3], %y: i32[2]) {
  %90: i32[3] = const {value = dense<i32[3]> [0, 0, 0]}
  %0: i32[3] = mul %x, %90
  %91: i32[] = const {value = dense<i32[]> [0]}
  %1: i32[2] = mul %91, %y
  return a = %0, b = %1
}
// EXPECT:
graph @f(%x: i32[3], %y: i32[2]) {
  %90: i32[3] = const {value = dense<i32[3]> [0, 0, 0]}
  %0: i32[2] = const {value = dense<i32[2]> [0, 0]}
  return a = %90, b = %0
}`);

  pass('negative: integer x · 0 with a symbolic result shape stays', `// RUN: simplify
graph @f(%x: i32[n]) {
  %s: i32[] = const {value = dense<i32[]> [0]}
  %0: i32[n] = mul %x, %s
  return out = %0
}
// EXPECT: unchanged`);
});

describe('simplify: involutions and shape ops', () => {
  pass('neg(neg x) → x, logical_not twice → x; a single neg stays', `// RUN: simplify,dce
graph @f(%x: f32[3], %b: bool[3]) {
  %0: f32[3] = neg %x
  %1: f32[3] = neg %0
  %2: bool[3] = logical_not %b
  %3: bool[3] = logical_not %2
  %4: f32[3] = neg %1
  return a = %4, b = %3
}
// EXPECT:
graph @f(%x: f32[3], %b: bool[3]) {
  %0: f32[3] = neg %x
  return a = %0, b = %b
}`);

  pass('transpose∘transpose composes; to the identity it vanishes', `// RUN: simplify,dce
graph @f(%x: f32[2,3,4]) {
  %0: f32[3,4,2] = transpose %x {perm = [1, 2, 0]}
  %1: f32[4,2,3] = transpose %0 {perm = [1, 2, 0]}
  %2: f32[2,3,4] = transpose %0 {perm = [2, 0, 1]}
  %3: f32[2,3,4] = exp %2
  return a = %1, b = %3
}
// EXPECT:
graph @f(%x: f32[2,3,4]) {
  %0: f32[4,2,3] = transpose %x {perm = [2, 0, 1]}
  %1: f32[2,3,4] = exp %x
  return a = %0, b = %1
}`);

  pass('reshape∘reshape → one reshape; reshape to the same shape vanishes', `// RUN: simplify,dce
graph @f(%x: f32[batch,6]) {
  %0: f32[batch,2,3] = reshape %x {shape = [batch, 2, 3]}
  %1: f32[6*batch] = reshape %0 {shape = [-1]}
  %2: f32[batch,6] = reshape %0 {shape = [batch, 6]}
  %3: f32[batch,6] = exp %2
  return a = %1, b = %3
}
// EXPECT:
graph @f(%x: f32[batch,6]) {
  %0: f32[6*batch] = reshape %x {shape = [-1]}
  %1: f32[batch,6] = exp %x
  return a = %0, b = %1
}`);

  pass('identity, cast to the same dtype, whole slice, zero pad, tile of ones, identity perm → removed', `// RUN: simplify,dce
graph @f(%x: f32[n,3]) {
  %0: f32[n,3] = identity %x
  %1: f32[n,3] = cast %0 {dtype = f32}
  %2: f32[n,3] = slice %1 {begin = [0, 0], size = [n, 3]}
  %3: f32[n,3] = pad %2 {paddings = [0, 0, 0, 0], value = 5}
  %4: f32[n,3] = tile %3 {reps = [1, 1]}
  %5: f32[n,3] = transpose %4 {perm = [0, 1]}
  %6: f32[n,3] = strided_slice %5 {begin = [0, 0], end = [n, 3], strides = [1, 1]}
  %7: f32[n,3] = broadcast_to %6 {shape = [n, 3]}
  %8: f32[n,3] = add_n %7
  %9: f32[n,3] = concat %8 {axis = 0}
  %10: f32[n,3] = exp %9
  return out = %10
}
// EXPECT:
graph @f(%x: f32[n,3]) {
  %0: f32[n,3] = exp %x
  return out = %0
}`);

  pass('negative: a cast that converts, a partial slice, a real pad / tile / transpose stay', `// RUN: simplify
graph @f(%x: f32[4,3]) {
  %0: i32[4,3] = cast %x {dtype = i32}
  %1: f32[2,3] = slice %x {begin = [0, 0], size = [2, 3]}
  %2: f32[4,3] = slice %x {begin = [0, 0], size = [4, 3]}
  %3: f32[6,3] = pad %x {paddings = [1, 1, 0, 0], value = 0}
  %4: f32[4,6] = tile %x {reps = [1, 2]}
  %5: f32[3,4] = transpose %x {perm = [1, 0]}
  %6: f32[4,3] = reverse %x {axes = [0]}
  return a = %0, b = %1, c = %3, d = %4, e = %5, f = %6, g = %2
}
// EXPECT:
graph @f(%x: f32[4,3]) {
  %0: i32[4,3] = cast %x {dtype = i32}
  %1: f32[2,3] = slice %x {begin = [0, 0], size = [2, 3]}
  %3: f32[6,3] = pad %x {paddings = [1, 1, 0, 0], value = 0}
  %4: f32[4,6] = tile %x {reps = [1, 2]}
  %5: f32[3,4] = transpose %x {perm = [1, 0]}
  %6: f32[4,3] = reverse %x {axes = [0]}
  return a = %0, b = %1, c = %3, d = %4, e = %5, f = %6, g = %x
}`);

  pass('a sym_const whose dim is a number becomes a const; a symbolic one stays', `// RUN: simplify
graph @f(%x: f32[n]) {
  %0: i32[] = sym_const {dtype = i32, value = 4}
  %1: i32[] = sym_const {dtype = i32, value = n}
  return a = %0, b = %1
}
// EXPECT:
graph @f(%x: f32[n]) {
  %0: i32[] = const {value = dense<i32[]> [4]}
  %1: i32[] = sym_const {dtype = i32, value = n}
  return a = %0, b = %1
}`);
});

describe('simplify: names', () => {
  pass('a gc.name moves to the replacement node', `// RUN: simplify,dce
graph @f(%x: f32[3]) {
  %0: f32[3] = exp %x
  %h: f32[3] = identity %0
  %1: f32[3] = tanh %h
  return out = %1
}
// EXPECT:
graph @f(%x: f32[3]) {
  %h: f32[3] = exp %x
  %0: f32[3] = tanh %h
  return out = %0
}`);

  pass('negative: a named value whose replacement is an input (or already named) stays', `// RUN: simplify,dce
graph @f(%x: f32[3]) {
  %h: f32[3] = identity %x
  %k: f32[3] = exp %x
  %j: f32[3] = identity %k
  return a = %h, b = %j
}
// EXPECT: unchanged`);
});

describe('simplify: explain', () => {
  it('says why each rule that looks at a node does not fire', () => {
    const g = parseGraph(`graph @f(%x: f32[3], %y: i32[n]) {
  %z: f32[2,3] = const {value = dense<f32[2,3]> [0, 0, 0, 0, 0, 0]}
  %0: f32[2,3] = add %x, %z
  %o: f32[] = const {value = dense<f32[]> [0]}
  %1: f32[3] = mul %x, %o
  %2: f32[3,2] = transpose %0 {perm = [1, 0]}
  return a = %1, b = %2
}`);
    const ctx = passContext();
    const [, add, , mul, tr] = g.nodes;
    expect(explainSimplify(add!, ctx)).toEqual([
      { rule: 'neutral-element', why: 'operand 1 is the neutral 0, but the result f32[2,3] is not f32[3] (a broadcast); operand 0 is not a constant 0' },
    ]);
    expect(explainSimplify(mul!, ctx)).toEqual([
      { rule: 'neutral-element', why: 'operand 1 is not a constant 1; operand 0 is not a constant 1' },
      { rule: 'absorbing-element', why: 'float32: x·0 is not 0 for x = NaN or ±Inf, so float products are kept' },
    ]);
    expect(explainSimplify(tr!, ctx)).toEqual([
      { rule: 'transpose-transpose', why: 'the operand is not a transpose' },
      { rule: 'identity-transpose', why: 'perm [1,0] is not the identity' },
    ]);
  });
});
