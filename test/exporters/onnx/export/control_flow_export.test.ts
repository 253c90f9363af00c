/**
 * Control flow exported to ONNX (exporters/onnx/export/rules/control_flow.ts): cond → If,
 * while_loop → Loop, scan → Scan, with their regions as subgraphs that read the captures from
 * the outer scope. Every model passes onnx.checker (full_check) and ONNX Runtime gives graphc's
 * cpu Session's numbers at two sizes, at opsets 13, 17 and 18.
 */
import { describe, expect, it } from 'vitest';
import '../../../../src/tfjs_setup.js';
import { parseGraph } from '../../../../ir/parser.js';
import type { Graph } from '../../../../ir/graph.js';
import { exportOnnx, toOnnx } from '../../../../exporters/onnx/export/export.js';
import type { OnnxGraph } from '../../../../exporters/onnx/export/onnx_graph.js';
import { subgraphsOf } from '../../../../exporters/onnx/export/onnx_graph.js';
import type { InputGen } from '../harness.js';
import { checkModels, compareWithSession, makeInputs } from '../harness.js';

interface Program { text: string; gens?: Record<string, InputGen>; sizes: Record<string, number>[]; ops: string[] }

const P: Record<string, Program> = {
  'cond on a scalar predicate (a branch yields its block argument)': {
    text: `graph @branch(%p: f32[], %x: f32[batch,3], %w: f32[3]) {
  %0: f32[batch,3] = cond %p, %x, %w
    region then(%a: f32[batch,3], %b: f32[3]) {
      %0: f32[batch,3] = mul %a, %b
      %1: f32[] = const {value = dense<f32[]> [1]}
      %2: f32[batch,3] = add %0, %1
      return %2
    }
    region else(%a: f32[batch,3], %b: f32[3]) {
      return %a
    }
  return y = %0
}`,
    gens: { p: { range: [-1, 1] } },
    sizes: [{ batch: 1 }, { batch: 5 }],
    ops: ['If'],
  },
  'cond on a computed bool[1] predicate, two results, one of them a capture': {
    text: `graph @branch2(%x: f32[batch,4]) {
  %s: f32[] = reduce_sum %x {axes = [0, 1], keep_dims = false}
  %z: f32[] = const {value = dense<f32[]> [0]}
  %g: bool[] = greater %s, %z
  %p: bool[1] = reshape %g {shape = [1]}
  %0: f32[batch,4], %1: f32[batch,4] = cond %p, %x
    region then(%a: f32[batch,4]) {
      %0: f32[batch,4] = exp %a
      return %0, %a
    }
    region else(%a: f32[batch,4]) {
      %0: f32[batch,4] = neg %a
      %1: f32[batch,4] = mul %a, %a
      return %1, %0
    }
  return y = %0, z = %1
}`,
    sizes: [{ batch: 1 }, { batch: 6 }],
    ops: ['If'],
  },
  'symbolic dims read inside regions (from the outer graph, and a loop value\'s data-dependent dim from the body\'s input)': {
    text: `graph @dims(%p: f32[], %x: f32[batch,2], %v: f32[3], %n: i32[]) {
  %0: f32[3] = cond %p, %v
    region then(%a: f32[3]) {
      %0: f32[] = sym_const {dtype = f32, value = batch}
      %1: f32[3] = mul %a, %0
      return %1
    }
    region else(%a: f32[3]) {
      %0: f32[batch,3] = fill {dtype = f32, shape = [batch, 3], value = 2}
      %1: f32[3] = reduce_sum %0 {axes = [0], keep_dims = false}
      %2: f32[3] = add %a, %1
      return %2
    }
  %1: f32[_dyn1], %2: i32[] = while_loop %v, %n
    region cond(%w: f32[_dyn1], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%w: f32[_dyn1], %k: i32[]) {
      %0: f32[] = sym_const {dtype = f32, value = _dyn1}
      %1: f32[_dyn1] = add %w, %0
      %2: f32[2*_dyn1] = concat %w, %1 {axis = 0}
      %3: i32[] = const {value = dense<i32[]> [1]}
      %4: i32[] = sub %k, %3
      return %2, %4
    }
  return y = %0, z = %1
}`,
    gens: { p: { range: [-1, 1] }, n: { range: [0, 4] } },
    sizes: [{ batch: 1 }, { batch: 4 }],
    ops: ['If', 'Loop'],
  },
  'Newton iteration until convergence (while_loop with maximum_iterations)': {
    text: `graph @newton(%a: f32[batch]) {
  %n: i32[] = const {value = dense<i32[]> [0]}
  %0: f32[batch], %1: i32[] = while_loop %a, %n, %a {maximum_iterations = 100}
    region cond(%x: f32[batch], %i: i32[], %c: f32[batch]) {
      %0: f32[batch] = mul %x, %x
      %1: f32[batch] = sub %0, %c
      %2: f32[batch] = abs %1
      %3: f32[] = const {value = dense<f32[]> [0.0001]}
      %4: bool[batch] = greater %2, %3
      %5: bool[] = reduce_any %4 {axes = [0], keep_dims = false}
      return %5
    }
    region body(%x: f32[batch], %i: i32[], %c: f32[batch]) {
      %0: f32[batch] = div %c, %x
      %1: f32[batch] = add %x, %0
      %2: f32[] = const {value = dense<f32[]> [0.5]}
      %3: f32[batch] = mul %1, %2
      %4: i32[] = const {value = dense<i32[]> [1]}
      %5: i32[] = add %i, %4
      return %3, %5
    }
  return root = %0, steps = %1
}`,
    gens: { a: { range: [0.5, 9] } },
    sizes: [{ batch: 1 }, { batch: 7 }],
    ops: ['Loop'],
  },
  'a while_loop stopped by maximum_iterations': {
    text: `graph @capped(%x: f32[batch]) {
  %0: f32[batch] = while_loop %x {maximum_iterations = 3}
    region cond(%v: f32[batch]) {
      %0: bool[] = const {value = dense<bool[]> [true]}
      return %0
    }
    region body(%v: f32[batch]) {
      %0: f32[] = const {value = dense<f32[]> [1.5]}
      %1: f32[batch] = mul %v, %0
      return %1
    }
  return y = %0
}`,
    sizes: [{ batch: 2 }, { batch: 3 }],
    ops: ['Loop'],
  },
  'a loop value that doubles in length each step (a data-dependent dim)': {
    text: `graph @grow(%x: f32[batch], %n: i32[]) {
  %0: f32[_dyn0], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[_dyn0], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[_dyn0], %k: i32[]) {
      %0: f32[] = const {value = dense<f32[]> [10]}
      %1: f32[_dyn0] = mul %v, %0
      %2: f32[2*_dyn0] = concat %v, %1 {axis = 0}
      %3: i32[] = const {value = dense<i32[]> [1]}
      %4: i32[] = sub %k, %3
      return %2, %4
    }
  %s: f32[] = reduce_sum %0 {axes = [0], keep_dims = false}
  return y = %0, s = %s
}`,
    gens: { n: { range: [0, 4] } },
    sizes: [{ batch: 1 }, { batch: 3 }],
    ops: ['Loop'],
  },
  'running sums (scan forward)': {
    text: scanText(false),
    // Time 0: ORT's Scan fails on 0 steps; the export guards it with an If.
    sizes: [{ time: 1, batch: 2 }, { time: 9, batch: 4 }, { time: 0, batch: 3 }],
    ops: ['Scan'],
  },
  'running sums (scan reverse)': {
    text: scanText(true),
    sizes: [{ time: 2, batch: 1 }, { time: 6, batch: 3 }, { time: 0, batch: 1 }],
    ops: ['Scan'],
  },
  'an RNN step in a scan: a captured weight, a reshape to the batch dim inside the body': {
    text: `graph @rnn(%xs: f32[time,batch,4], %h0: f32[batch,3], %w: f32[4,3], %u: f32[3,3]) {
  %0: f32[batch,3], %1: f32[time,batch,3] = scan %h0, %xs, %w, %u {num_carries = 1, num_xs = 1, reverse = false}
    region body(%h: f32[batch,3], %x: f32[batch,4], %a: f32[4,3], %b: f32[3,3]) {
      %0: f32[batch,3] = matmul %x, %a {transpose_a = false, transpose_b = false}
      %1: f32[batch,3] = matmul %h, %b {transpose_a = false, transpose_b = false}
      %2: f32[batch,3] = add %0, %1
      %3: f32[batch,3] = tanh %2
      %4: f32[3*batch] = reshape %3 {shape = [3*batch]}
      %5: f32[] = reduce_sum %4 {axes = [0], keep_dims = false}
      %6: f32[batch,3] = add %3, %5
      return %3, %6
    }
  return h = %0, hs = %1
}`,
    sizes: [{ time: 1, batch: 1 }, { time: 5, batch: 2 }, { time: 0, batch: 2 }],
    ops: ['Scan'],
  },
  'a cond nested in a while_loop': {
    text: `graph @nested(%x: f32[batch], %n: i32[]) {
  %0: f32[batch], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[batch], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[batch], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [2]}
      %z: i32[] = const {value = dense<i32[]> [0]}
      %1: i32[] = mod %k, %0
      %2: bool[] = equal %1, %z
      %3: f32[batch] = cond %2, %v
        region then(%a: f32[batch]) {
          %0: f32[batch] = neg %a
          return %0
        }
        region else(%a: f32[batch]) {
          %0: f32[] = const {value = dense<f32[]> [2]}
          %1: f32[batch] = mul %a, %0
          return %1
        }
      %4: i32[] = const {value = dense<i32[]> [1]}
      %5: i32[] = sub %k, %4
      return %3, %5
    }
  return y = %0
}`,
    gens: { n: { range: [0, 6] } },
    sizes: [{ batch: 1 }, { batch: 4 }],
    ops: ['Loop', 'If'],
  },
};

function scanText(reverse: boolean): string {
  return `graph @cumsum(%xs: f32[time,batch]) {
  %z: f32[batch] = reduce_sum %xs {axes = [0], keep_dims = false}
  %zero: f32[batch] = zeros_like %z
  %0: f32[batch], %1: f32[time,batch] = scan %zero, %xs {num_carries = 1, num_xs = 1, reverse = ${reverse}}
    region body(%c: f32[batch], %x: f32[batch]) {
      %0: f32[batch] = add %c, %x
      return %0, %0
    }
  return last = %0, all = %1
}`;
}

/** The op types of a model's graph and its subgraphs. */
function opTypes(g: OnnxGraph, out = new Set<string>()): Set<string> {
  for (const n of g.nodes) {
    out.add(n.opType);
    for (const s of subgraphsOf(n)) opTypes(s, out);
  }
  return out;
}

// Debian's onnx 1.12 checks opsets ≤ 17: at 18 the checker's 'skipped: …' is allowed, ORT still runs it.
const OPSETS = [13, 17, 18];

describe('control flow → ONNX If / Loop / Scan', () => {
  const graphs = new Map<string, Graph>(Object.entries(P).map(([name, p]) => [name, parseGraph(p.text)]));
  const models = new Map<string, Uint8Array>();
  for (const [name] of Object.entries(P)) for (const opset of OPSETS) models.set(`${name} @${opset}`, toOnnx(graphs.get(name)!, { opset }));

  it('every model passes onnx.checker with full_check', () => {
    const res = checkModels(models);
    const bad = [...res].filter(([name, err]) => err !== null && !(name.endsWith('@18') && err.startsWith('skipped: ')));
    expect(bad).toEqual([]);
  }, 120_000);

  for (const [name, p] of Object.entries(P)) {
    it(`${name}: ONNX Runtime ≡ graphc cpu at ${p.sizes.length} sizes, opsets ${OPSETS.join(', ')}`, async () => {
      const g = graphs.get(name)!;
      const types = opTypes(exportOnnx(g).graph);
      for (const op of p.ops) expect(types.has(op), `the model holds ${op}`).toBe(true);
      for (const opset of OPSETS) {
        for (const [k, sizes] of p.sizes.entries()) {
          const problems = await compareWithSession(g, models.get(`${name} @${opset}`)!, makeInputs(g, sizes, 100 + k, p.gens));
          expect(problems, `opset ${opset}, ${JSON.stringify(sizes)}`).toEqual([]);
        }
      }
    }, 60_000);
  }
});
