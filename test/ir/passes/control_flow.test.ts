/**
 * Passes on graphs with control flow: every pass runs inside regions (runWithRegions), and the
 * control-flow pass folds constant predicates, drops unused captures and results, and hoists
 * loop-invariant code, never random or io nodes.
 */
import { describe, it } from 'vitest';
import { checkGolden } from './golden.js';

const pass = (name: string, text: string) => it(name, () => { checkGolden(text); });

describe('passes inside regions', () => {
  pass('cse, dce and fold-constants run in each region as in a graph', `// RUN: fold-constants,cse,dce
graph @f(%p: bool[], %x: f32[3]) {
  %0: f32[3] = cond %p, %x
    region then(%a: f32[3]) {
      %0: f32[3] = exp %a
      %1: f32[3] = exp %a
      %2: f32[3] = add %0, %1
      %3: f32[3] = tanh %a
      %5: f32[] = const {value = dense<f32[]> [2]}
      %6: f32[] = const {value = dense<f32[]> [3]}
      %7: f32[] = mul %5, %6
      %4: f32[3] = mul %2, %7
      return %4
    }
    region else(%a: f32[3]) {
      return %a
    }
  return y = %0
}
// EXPECT:
graph @f(%p: bool[], %x: f32[3]) {
  %0: f32[3] = cond %p, %x
    region then(%a: f32[3]) {
      %0: f32[3] = exp %a
      %1: f32[3] = add %0, %0
      %2: f32[] = const {value = dense<f32[]> [6]}
      %3: f32[3] = mul %1, %2
      return %3
    }
    region else(%a: f32[3]) {
      return %a
    }
  return y = %0
}`);

  pass('negative: random draws in a region are neither merged nor folded, prints stay, and keep the cond alive', `// RUN: fold-constants,cse,dce
graph @f(%p: bool[], %x: f32[2]) {
  %0: f32[2] = cond %p, %x
    region then(%a: f32[2]) {
      %0: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = -1, shape = [2]}
      %1: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = -1, shape = [2]}
      %2: f32[2] = add %0, %1
      print %2 {verbose = false}
      return %a
    }
    region else(%a: f32[2]) {
      return %a
    }
  return
}
// EXPECT: unchanged`);
});

describe('control-flow', () => {
  pass('a cond with a constant predicate is the region it takes, inlined (both ways)', `// RUN: control-flow,dce
graph @f(%x: f32[3], %w: f32[3]) {
  %8: bool[] = const {value = dense<bool[]> [true]}
  %9: f32[] = const {value = dense<f32[]> [0]}
  %0: f32[3] = cond %8, %x, %w
    region then(%a: f32[3], %b: f32[3]) {
      %0: f32[3] = mul %a, %b
      return %0
    }
    region else(%a: f32[3], %b: f32[3]) {
      return %a
    }
  %1: f32[3] = cond %9, %0, %w
    region then(%a: f32[3], %b: f32[3]) {
      %0: f32[3] = mul %a, %b
      return %0
    }
    region else(%a: f32[3], %b: f32[3]) {
      %0: f32[3] = neg %a
      return %0
    }
  return y = %1
}
// EXPECT:
graph @f(%x: f32[3], %w: f32[3]) {
  %0: f32[3] = mul %x, %w
  %1: f32[3] = neg %0
  return y = %1
}`);

  pass('negative: a constant predicate does not fold a cond whose branches disagree on a shape', `// RUN: control-flow
graph @f(%x: f32[3]) {
  %t: bool[] = const {value = dense<bool[]> [true]}
  %0: f32[_dyn_3_6] = cond %t, %x
    region then(%a: f32[3]) {
      return %a
    }
    region else(%a: f32[3]) {
      %0: f32[6] = concat %a, %a {axis = 0}
      return %0
    }
  return y = %0
}
// EXPECT: unchanged`);

  pass('drops captures no region reads, merges a value captured twice, and stops yielding unused results', `// RUN: control-flow,dce
graph @f(%p: bool[], %x: f32[3], %w: f32[3], %u: f32[3]) {
  %0: f32[3], %1: f32[3] = cond %p, %x, %w, %x, %u
    region then(%a: f32[3], %b: f32[3], %c: f32[3], %d: f32[3]) {
      %0: f32[3] = mul %a, %c
      %1: f32[3] = exp %d
      return %0, %1
    }
    region else(%a: f32[3], %b: f32[3], %c: f32[3], %d: f32[3]) {
      %0: f32[3] = neg %c
      return %0, %d
    }
  return y = %0
}
// EXPECT:
graph @f(%p: bool[], %x: f32[3], %w: f32[3], %u: f32[3]) {
  %0: f32[3] = cond %p, %x
    region then(%a: f32[3]) {
      %0: f32[3] = mul %a, %a
      return %0
    }
    region else(%a: f32[3]) {
      %0: f32[3] = neg %a
      return %0
    }
  return y = %0
}`);

  pass('a value captured twice where only the second capture is read (regression: the first was dropped while still read)', `// RUN: control-flow
graph @f(%p: bool[], %x: f32[3]) {
  %0: f32[3] = cond %p, %x, %x
    region then(%a: f32[3], %b: f32[3]) {
      %0: f32[3] = exp %b
      return %0
    }
    region else(%a: f32[3], %b: f32[3]) {
      return %b
    }
  return y = %0
}
// EXPECT:
graph @f(%p: bool[], %x: f32[3]) {
  %0: f32[3] = cond %p, %x
    region then(%a: f32[3]) {
      %0: f32[3] = exp %a
      return %0
    }
    region else(%a: f32[3]) {
      return %a
    }
  return y = %0
}`);

  pass('hoists loop-invariant code out of a while body and a scan body (a chain, constants copied out)', `// RUN: control-flow,cse,dce
graph @f(%x: f32[3], %w: f32[3], %xs: f32[time,3]) {
  %9: i32[] = const {value = dense<i32[]> [3]}
  %0: f32[3], %1: i32[] = while_loop %x, %9, %w
    region cond(%v: f32[3], %k: i32[], %c: f32[3]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[3], %k: i32[], %c: f32[3]) {
      %0: f32[] = const {value = dense<f32[]> [2]}
      %1: f32[3] = mul %c, %0
      %2: f32[3] = exp %1
      %3: f32[3] = add %v, %2
      %4: i32[] = const {value = dense<i32[]> [1]}
      %5: i32[] = sub %k, %4
      return %3, %5
    }
  %2: f32[3], %3: f32[time,3] = scan %0, %xs, %w {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[3], %s: f32[3], %q: f32[3]) {
      %0: f32[3] = tanh %q
      %1: f32[3] = mul %s, %0
      %2: f32[3] = add %c, %1
      return %2, %1
    }
  return y = %2, ys = %3
}
// EXPECT:
graph @f(%x: f32[3], %w: f32[3], %xs: f32[time,3]) {
  %0: i32[] = const {value = dense<i32[]> [3]}
  %1: f32[] = const {value = dense<f32[]> [2]}
  %2: f32[3] = mul %w, %1
  %3: f32[3] = exp %2
  %4: f32[3], %5: i32[] = while_loop %x, %0, %3
    region cond(%v: f32[3], %k: i32[], %inv_1: f32[3]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[3], %k: i32[], %inv_1: f32[3]) {
      %0: f32[3] = add %v, %inv_1
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  %6: f32[3] = tanh %w
  %7: f32[3], %8: f32[time,3] = scan %4, %xs, %6 {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[3], %s: f32[3], %inv: f32[3]) {
      %0: f32[3] = mul %s, %inv
      %1: f32[3] = add %c, %0
      return %1, %0
    }
  return y = %7, ys = %8
}`);

  pass('a captured constant becomes a constant of the region: a cond inside a loop on it folds', `// RUN: control-flow,dce
graph @f(%x: f32[2], %n: i32[]) {
  %9: bool[] = const {value = dense<bool[]> [false]}
  %0: f32[2], %1: i32[] = while_loop %x, %n, %9
    region cond(%v: f32[2], %k: i32[], %q: bool[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %k: i32[], %q: bool[]) {
      %0: f32[2] = cond %q, %v
        region then(%a: f32[2]) {
          %0: f32[2] = exp %a
          return %0
        }
        region else(%a: f32[2]) {
          %0: f32[2] = neg %a
          return %0
        }
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  return y = %0
}
// EXPECT:
graph @f(%x: f32[2], %n: i32[]) {
  %0: f32[2], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[2], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %k: i32[]) {
      %0: f32[2] = neg %v
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  return y = %0
}`);

  pass('a loop value and a scan carry the body yields unchanged become captures (and what reads them is hoisted)', `// RUN: control-flow,dce
graph @f(%x: f32[3], %w: f32[3], %n: i32[], %xs: f32[time,3]) {
  %0: f32[3], %1: f32[3], %2: i32[] = while_loop %x, %w, %n
    region cond(%v: f32[3], %c: f32[3], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[3], %c: f32[3], %k: i32[]) {
      %0: f32[3] = exp %c
      %1: f32[3] = add %v, %0
      %2: i32[] = const {value = dense<i32[]> [1]}
      %3: i32[] = sub %k, %2
      return %1, %c, %3
    }
  %3: f32[3], %4: f32[3], %5: f32[time,3] = scan %1, %0, %xs {num_carries = 2, num_xs = 1, reverse = false}
    region body(%s: f32[3], %t: f32[3], %x: f32[3]) {
      %0: f32[3] = mul %t, %x
      return %s, %0, %0
    }
  %6: f32[3] = add %3, %4
  return y = %6, ys = %5
}
// EXPECT:
graph @f(%x: f32[3], %w: f32[3], %n: i32[], %xs: f32[time,3]) {
  %0: f32[3] = exp %w
  %1: f32[3], %2: i32[] = while_loop %x, %n, %0
    region cond(%v: f32[3], %k: i32[], %inv: f32[3]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[3], %k: i32[], %inv: f32[3]) {
      %0: f32[3] = add %v, %inv
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  %3: f32[3], %4: f32[time,3] = scan %1, %xs {num_carries = 1, num_xs = 1, reverse = false}
    region body(%t: f32[3], %x: f32[3]) {
      %0: f32[3] = mul %t, %x
      return %0, %0
    }
  %5: f32[3] = add %w, %3
  return y = %5, ys = %4
}`);

  pass('a pure cond whose operands are all invariant moves out of a loop with its regions', `// RUN: control-flow,dce
graph @f(%x: f32[2], %p: bool[], %w: f32[2], %n: i32[]) {
  %0: f32[2], %1: i32[] = while_loop %x, %n, %p, %w
    region cond(%v: f32[2], %k: i32[], %q: bool[], %c: f32[2]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %k: i32[], %q: bool[], %c: f32[2]) {
      %0: f32[2] = cond %q, %c
        region then(%a: f32[2]) {
          %0: f32[2] = exp %a
          return %0
        }
        region else(%a: f32[2]) {
          return %a
        }
      %1: f32[2] = add %v, %0
      %2: i32[] = const {value = dense<i32[]> [1]}
      %3: i32[] = sub %k, %2
      return %1, %3
    }
  return y = %0
}
// EXPECT:
graph @f(%x: f32[2], %p: bool[], %w: f32[2], %n: i32[]) {
  %0: f32[2] = cond %p, %w
    region then(%a: f32[2]) {
      %0: f32[2] = exp %a
      return %0
    }
    region else(%a: f32[2]) {
      return %a
    }
  %1: f32[2], %2: i32[] = while_loop %x, %n, %0
    region cond(%v: f32[2], %k: i32[], %inv: f32[2]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %k: i32[], %inv: f32[2]) {
      %0: f32[2] = add %v, %inv
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  return y = %1
}`);

  pass('negative: a cond that draws random numbers stays in the loop though its operands are invariant', `// RUN: control-flow,dce
graph @f(%x: f32[2], %p: bool[], %n: i32[]) {
  %0: f32[2], %1: i32[] = while_loop %x, %n, %p
    region cond(%v: f32[2], %k: i32[], %q: bool[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %k: i32[], %q: bool[]) {
      %0: f32[2] = cond %q
        region then() {
          %0: f32[2] = random_normal {dtype = f32, mean = 0, seed = -1, shape = [2], std = 1, truncated = false}
          return %0
        }
        region else() {
          %0: f32[2] = const {value = dense<f32[2]> [0, 0]}
          return %0
        }
      %1: f32[2] = add %v, %0
      %2: i32[] = const {value = dense<i32[]> [1]}
      %3: i32[] = sub %k, %2
      return %1, %3
    }
  return y = %0
}
// EXPECT: unchanged`);

  pass('a loop value and a scan carry that feed only themselves and are not read outside are dropped', `// RUN: control-flow,dce
graph @f(%x: f32[2], %j: f32[2], %n: i32[], %xs: f32[time,2]) {
  %0: f32[2], %1: f32[2], %2: i32[] = while_loop %x, %j, %n
    region cond(%v: f32[2], %u: f32[2], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %u: f32[2], %k: i32[]) {
      %0: f32[2] = tanh %v
      %1: f32[2] = mul %u, %u
      %2: f32[2] = add %1, %0
      %3: i32[] = const {value = dense<i32[]> [1]}
      %4: i32[] = sub %k, %3
      return %0, %2, %4
    }
  %3: f32[2], %4: f32[2], %5: f32[time,2] = scan %x, %j, %xs {num_carries = 2, num_xs = 1, reverse = false}
    region body(%c: f32[2], %d: f32[2], %s: f32[2]) {
      %0: f32[2] = add %c, %s
      %1: f32[2] = mul %d, %s
      return %0, %1, %0
    }
  %6: f32[2] = add %0, %3
  return y = %6, ys = %5
}
// EXPECT:
graph @f(%x: f32[2], %j: f32[2], %n: i32[], %xs: f32[time,2]) {
  %0: f32[2], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[2], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[2], %k: i32[]) {
      %0: f32[2] = tanh %v
      %1: i32[] = const {value = dense<i32[]> [1]}
      %2: i32[] = sub %k, %1
      return %0, %2
    }
  %2: f32[2], %3: f32[time,2] = scan %x, %xs {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[2], %s: f32[2]) {
      %0: f32[2] = add %c, %s
      return %0, %0
    }
  %4: f32[2] = add %0, %2
  return y = %4, ys = %3
}`);

  pass('negative: a loop value read by the condition, by another loop value, by a print, or outside stays', `// RUN: control-flow,dce
graph @f(%x: f32[2], %n: i32[]) {
  %0: f32[2], %1: f32[2], %2: f32[2], %3: i32[] = while_loop %x, %x, %x, %n
    region cond(%a: f32[2], %b: f32[2], %c: f32[2], %k: i32[]) {
      %0: f32[] = reduce_sum %b {axes = [0], keep_dims = false}
      %1: f32[] = const {value = dense<f32[]> [100]}
      %2: bool[] = less %0, %1
      return %2
    }
    region body(%a: f32[2], %b: f32[2], %c: f32[2], %k: i32[]) {
      %0: f32[2] = exp %a
      %1: f32[2] = add %b, %c
      print %c {verbose = false}
      %2: f32[2] = tanh %c
      %3: i32[] = const {value = dense<i32[]> [1]}
      %4: i32[] = sub %k, %3
      return %0, %1, %2, %4
    }
  return y = %3, a = %0
}
// EXPECT: unchanged`);

  pass('an RNN input projection (reshape, matmul by a capture, reshape of each slice) moves out of a scan as one op over all steps', `// RUN: control-flow,dce backend=cpu
graph @f(%x: f32[time,batch,16], %w: f32[1,16,8], %u: f32[8,8], %h: f32[batch,8]) {
  %0: f32[batch,8], %1: f32[time,batch,8] = scan %h, %x, %w, %u {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[batch,8], %s: f32[batch,16], %cw: f32[1,16,8], %cu: f32[8,8]) {
      %0: f32[1,batch,16] = reshape %s {shape = [1, -1, 16]}
      %1: f32[1,batch,8] = matmul %0, %cw {transpose_a = false, transpose_b = false}
      %2: f32[batch,8] = reshape %1 {shape = [-1, 8]}
      %3: f32[batch,8] = matmul %c, %cu {transpose_a = false, transpose_b = false}
      %4: f32[batch,8] = add %2, %3
      %5: f32[batch,8] = tanh %4
      return %5, %5
    }
  return h = %0, hs = %1
}
// EXPECT:
graph @f(%x: f32[time,batch,16], %w: f32[1,16,8], %u: f32[8,8], %h: f32[batch,8]) {
  %0: f32[time,1,batch,16] = reshape %x {shape = [time, 1, batch, 16]}
  %1: f32[time,1,batch,8] = matmul %0, %w {transpose_a = false, transpose_b = false}
  %2: f32[time,batch,8] = reshape %1 {shape = [time, batch, 8]}
  %3: f32[batch,8], %4: f32[time,batch,8] = scan %h, %2, %u {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[batch,8], %xs_2: f32[batch,8], %cu: f32[8,8]) {
      %0: f32[batch,8] = matmul %c, %cu {transpose_a = false, transpose_b = false}
      %1: f32[batch,8] = add %xs_2, %0
      %2: f32[batch,8] = tanh %1
      return %2, %2
    }
  return h = %3, hs = %4
}`);

  pass('negative: on wasm (BackendTraits.batchScanInputs false) the input projection stays in the scan', `// RUN: control-flow,dce backend=wasm
graph @f(%x: f32[time,batch,16], %w: f32[16,8], %h: f32[batch,8]) {
  %0: f32[batch,8] = scan %h, %x, %w {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[batch,8], %s: f32[batch,16], %cw: f32[16,8]) {
      %0: f32[batch,8] = matmul %s, %cw {transpose_a = false, transpose_b = false}
      %1: f32[batch,8] = add %0, %c
      return %1
    }
  return h = %0
}
// EXPECT: unchanged`);

  pass('negative: a slice on the right of a matmul, or broadcast against a capture of higher rank, stays in the scan', `// RUN: control-flow,dce backend=cpu
graph @f(%x: f32[time,4], %w: f32[3,4], %b: f32[3,4]) {
  %0: f32[time,3] = scan %x, %w, %b {num_carries = 0, num_xs = 1, reverse = false}
    region body(%s: f32[4], %cw: f32[3,4], %cb: f32[3,4]) {
      %0: f32[4,1] = reshape %s {shape = [4, 1]}
      %1: f32[3,1] = matmul %cw, %0 {transpose_a = false, transpose_b = false}
      %2: f32[3,4] = add %cb, %s
      %3: f32[3] = reduce_sum %2 {axes = [1], keep_dims = false}
      %4: f32[3] = reshape %1 {shape = [3]}
      %5: f32[3] = add %3, %4
      return %5
    }
  return ys = %0
}
// EXPECT:
graph @f(%x: f32[time,4], %w: f32[3,4], %b: f32[3,4]) {
  %0: f32[time,4,1] = reshape %x {shape = [time, 4, 1]}
  %1: f32[time,3] = scan %x, %0, %w, %b {num_carries = 0, num_xs = 2, reverse = false}
    region body(%s: f32[4], %xs: f32[4,1], %cw: f32[3,4], %cb: f32[3,4]) {
      %0: f32[3,1] = matmul %cw, %xs {transpose_a = false, transpose_b = false}
      %1: f32[3,4] = add %cb, %s
      %2: f32[3] = reduce_sum %1 {axes = [1], keep_dims = false}
      %3: f32[3] = reshape %0 {shape = [3]}
      %4: f32[3] = add %2, %3
      return %4
    }
  return ys = %1
}`);

  pass('negative: random and io nodes stay in the loop; what depends on a loop value stays', `// RUN: control-flow,cse,dce
graph @f(%x: f32[2], %w: f32[2]) {
  %0: f32[2] = while_loop %x, %w {maximum_iterations = 3}
    region cond(%v: f32[2], %c: f32[2]) {
      %0: bool[] = const {value = dense<bool[]> [true]}
      return %0
    }
    region body(%v: f32[2], %c: f32[2]) {
      %0: f32[2] = random_uniform {dtype = f32, max = 1, min = 0, seed = -1, shape = [2]}
      %1: f32[2] = add %0, %c
      print %c {verbose = false}
      %2: f32[2] = mul %v, %1
      return %2
    }
  return y = %0
}
// EXPECT: unchanged`);
});
