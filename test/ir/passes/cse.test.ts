import { describe, expect, it } from 'vitest';
import { Graph } from '../../../ir/graph.js';
import { cse } from '../../../ir/passes/cse.js';
import { passContext } from '../../../ir/passes/pass.js';
import { checkGolden } from './golden.js';

const pass = (name: string, text: string) => it(name, () => { checkGolden(text); });

describe('cse', () => {
  pass('merges equal pure nodes (the STYLE.md example)', `// RUN: cse,dce
graph @f(%x: f32[batch,3]) {
  %0: f32[batch,3] = exp %x
  %1: f32[batch,3] = exp %x
  %2: f32[batch,3] = add %0, %1
  return out = %2
}
// EXPECT:
graph @f(%x: f32[batch,3]) {
  %0: f32[batch,3] = exp %x
  %1: f32[batch,3] = add %0, %0
  return out = %1
}`);

  pass('merges chains in one pass, and commutative operands in either order', `// RUN: cse,dce
graph @f(%x: f32[3], %y: f32[3]) {
  %0: f32[3] = add %x, %y
  %1: f32[3] = add %y, %x
  %2: f32[3] = tanh %0
  %3: f32[3] = tanh %1
  %4: f32[3] = mul %2, %3
  return out = %4
}
// EXPECT:
graph @f(%x: f32[3], %y: f32[3]) {
  %0: f32[3] = add %x, %y
  %1: f32[3] = tanh %0
  %2: f32[3] = mul %1, %1
  return out = %2
}`);

  pass('merges constants with equal bytes; graph outputs follow the merge', `// RUN: cse
graph @f() {
  %0: f32[2] = const {value = dense<f32[2]> [1, NaN]}
  %1: f32[2] = const {value = dense<f32[2]> [1, NaN]}
  return a = %0, b = %1
}
// EXPECT:
graph @f() {
  %0: f32[2] = const {value = dense<f32[2]> [1, NaN]}
  return a = %0, b = %0
}`);

  pass('negative: non-commutative operands swapped, different attrs, 0 vs −0 constants', `// RUN: cse
graph @f(%x: f32[3], %y: f32[3]) {
  %0: f32[3] = sub %x, %y
  %1: f32[3] = sub %y, %x
  %2: f32[3] = leaky_relu %x {alpha = 0.2}
  %3: f32[3] = leaky_relu %x {alpha = 0.3}
  %4: f32[] = const {value = dense<f32[]> [0]}
  %5: f32[] = const {value = dense<f32[]> [-0]}
  return a = %0, b = %1, c = %2, d = %3, e = %4, f = %5
}
// EXPECT:
graph @f(%x: f32[3], %y: f32[3]) {
  %0: f32[3] = sub %x, %y
  %1: f32[3] = sub %y, %x
  %2: f32[3] = leaky_relu %x {alpha = 0.2}
  %3: f32[3] = leaky_relu %x {alpha = 0.3}
  %4: f32[] = const {value = dense<f32[]> [0]}
  %5: f32[] = const {value = dense<f32[]> [-0]}
  return a = %0, b = %1, c = %2, d = %3, e = %4, f = %5
}`);

  pass('negative: random ops are never merged (two draws are two draws)', `// RUN: cse
graph @f() {
  %0: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = 7, shape = [2]}
  %1: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = 7, shape = [2]}
  %2: f32[2] = add %0, %1
  return out = %2
}
// EXPECT: unchanged`);

  pass('negative: assignments are never merged', `// RUN: cse
graph @f(%x: f32[2]) state(%v: f32[2] = "v" trainable, %w: f32[2] = "w" trainable) {
  %0: f32[2] = add %v, %x
  assign %0 {var = "v"}
  assign %0 {var = "w"}
  init %v = dense<f32[2]> [0, 0]
  init %w = dense<f32[2]> [0, 0]
  return
}
// EXPECT: unchanged`);

  pass('a named duplicate gives its name to the survivor', `// RUN: cse
graph @f(%x: f32[3]) {
  %0: f32[3] = exp %x
  %hidden: f32[3] = exp %x
  %1: f32[3] = add %0, %hidden
  return out = %1
}
// EXPECT:
graph @f(%x: f32[3]) {
  %hidden: f32[3] = exp %x
  %0: f32[3] = add %hidden, %hidden
  return out = %0
}`);

  pass('negative: two differently named values stay apart (both fetchable)', `// RUN: cse
graph @f(%x: f32[3]) {
  %a: f32[3] = exp %x
  %b: f32[3] = exp %x
  %0: f32[3] = add %a, %b
  return out = %0
}
// EXPECT: unchanged`);

  it('compares constants by their bytes: NaNs with other payloads, and 0 and −0, stay apart', () => {
    const g = new Graph('f');
    const nan = (payload: number) => {
      const data = new Float32Array(2);
      new Uint32Array(data.buffer)[0] = payload;
      data[1] = 1;
      return g.add('const', [], { value: { dtype: 'float32', shape: [2], data } });
    };
    const a = nan(0x7fc00000), b = nan(0x7fc00001), c = nan(0x7fc00000);
    const zero = (z: number) => g.add('const', [], { value: { dtype: 'float32', shape: [2], data: new Float32Array([1, z]) } });
    const z0 = zero(0), z1 = zero(-0), z2 = zero(0);
    [a, b, c, z0, z1, z2].forEach((v, i) => g.setOutput(`o${i}`, v));
    expect(cse.run(g, passContext())).toBe(true);
    expect(g.outputs.map((o) => o.value)).toEqual([a, b, a, z0, z1, z0]);
  });
});
