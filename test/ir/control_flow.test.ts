/**
 * Structured control flow in the IR (ir/control_flow.ts, ir/regions.ts): the text form of
 * regions round-trips, the builders make what the text says, type rules and the verifier
 * refuse what is malformed (escaping values, mismatched signatures, assigns in regions).
 */
import { describe, expect, it } from 'vitest';
import { sym } from '../../ir/dim.js';
import { GcError } from '../../ir/errors.js';
import { Graph } from '../../ir/graph.js';
import { parseGraph } from '../../ir/parser.js';
import { printGraph } from '../../ir/printer.js';
import { addCond, addScan, addWhileLoop, dynamicDim, nodeEffect, walkNodes } from '../../ir/regions.js';
import { verifyIssues } from '../../ir/verify.js';
import { graphDiff } from './graph_eq.js';

const f32 = (...shape: (number | string)[]) => ({ dtype: 'float32' as const, shape: shape.map((d) => (typeof d === 'string' ? sym(d) : d)) });
const i32s = { dtype: 'int32' as const, shape: [] };

const COND = `graph @f(%p: bool[], %x: f32[batch,3], %w: f32[3]) {
  %0: f32[batch,3] = cond %p, %x, %w
    region then(%a: f32[batch,3], %b: f32[3]) {
      %0: f32[batch,3] = add %a, %b
      return %0
    }
    region else(%a: f32[batch,3], %b: f32[3]) {
      return %a
    }
  return y = %0
}`;

const WHILE = `graph @newton(%a: f32[batch], %x0: f32[batch]) {
  %n: i32[] = const {value = dense<i32[]> [0]}
  %0: f32[batch], %1: i32[] = while_loop %x0, %n, %a {maximum_iterations = 100}
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
}`;

const SCAN = `graph @cumsum(%xs: f32[time,batch], %z: f32[batch]) {
  %0: f32[batch], %1: f32[time,batch] = scan %z, %xs {num_carries = 1, num_xs = 1, reverse = false}
    region body(%c: f32[batch], %x: f32[batch]) {
      %0: f32[batch] = add %c, %x
      return %0, %0
    }
  return last = %0, all = %1
}`;

const NESTED = `graph @nested(%x: f32[batch], %n: i32[]) {
  %0: f32[batch], %1: i32[] = while_loop %x, %n
    region cond(%v: f32[batch], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [0]}
      %1: bool[] = greater %k, %0
      return %1
    }
    region body(%v: f32[batch], %k: i32[]) {
      %0: i32[] = const {value = dense<i32[]> [2]}
      %1: i32[] = mod %k, %0
      %2: bool[] = equal %1, %0
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
}`;

function parseError(text: string): GcError {
  try {
    parseGraph(text);
  } catch (e) {
    if (e instanceof GcError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('text form of regions', () => {
  for (const [name, text] of [['cond', COND], ['while_loop', WHILE], ['scan', SCAN], ['nested cond in while', NESTED]] as const) {
    it(`print → parse → print is the identity: ${name}`, () => {
      const g = parseGraph(text);
      expect(printGraph(g)).toBe(text);
      const back = parseGraph(printGraph(g));
      expect(graphDiff(g, back)).toEqual([]);
      expect(graphDiff(g, g.clone())).toEqual([]);
      expect(verifyIssues(g)).toEqual([]);
    });
  }

  it('infers the results: scan stacks ys along a new axis 0, while_loop gives the carried types', () => {
    const g = parseGraph(SCAN);
    expect(g.outputs.map((o) => o.value.shape)).toEqual([[sym('batch')], [sym('time'), sym('batch')]]);
    const w = parseGraph(WHILE);
    expect(w.outputs.map((o) => o.value.dtype)).toEqual(['float32', 'int32']);
  });

  it('a region cannot read an outer value (isolated from above): a capture is required', () => {
    const e = parseError(COND.replace('%0: f32[batch,3] = add %a, %b', '%0: f32[batch,3] = add %a, %w'));
    expect(e.summary).toBe('unknown value %w');
    expect(e.help).toMatch(/capture/);
    expect(e.loc?.line).toBe(4);
  });

  it('refuses regions out of order, missing, with states or with the wrong signature', () => {
    expect(parseError(COND.replace('region then', 'region else')).summary).toBe("cond: expected region 'then', found 'else'");
    expect(parseError(SCAN.replace(/\n    region body[^]*?\n    }\n/, '\n')).summary).toMatch(/scan needs its region 'body' here/);
    expect(parseError(COND.replace('region else(%a: f32[batch,3], %b: f32[3])', 'region else(%a: f32[batch,3])')).summary)
      .toMatch(/cond: region 'else' takes 1 block arguments, the node captures 2 values/);
    expect(parseError(COND.replace('region else(%a: f32[batch,3], %b: f32[3])', 'region else(%a: f32[batch,3], %b: f32[4])')).summary)
      .toMatch(/cond: region 'else' block argument 1 is float32\[4\], but the captured operand is float32\[3\]/);
  });

  it('refuses a predicate with more than one element and a loop condition that is not bool', () => {
    const e = parseError(COND.replace('graph @f(%p: bool[]', 'graph @f(%p: bool[2]'));
    expect(e.summary).toMatch(/cond: the predicate must have one element, got bool\[2\]/);
    const w = parseError(WHILE.replace('%5: bool[] = reduce_any %4 {axes = [0], keep_dims = false}\n      return %5', '%5: bool[] = reduce_any %4 {axes = [0], keep_dims = false}\n      return %2'));
    expect(w.summary).toMatch(/while_loop: region 'cond' must yield one bool with one element, got \(float32\[batch\]\)/);
  });

  it('refuses a loop body that changes a carried shape unless the dim is declared data-dependent', () => {
    const grow = (carried: string, grown: string) => `graph @g(%x: f32[1]) {
  %0: f32[${carried}] = while_loop %x
    region cond(%v: f32[${carried}]) {
      %0: bool[] = const {value = dense<bool[]> [false]}
      return %0
    }
    region body(%v: f32[${carried}]) {
      %0: f32[${grown}] = concat %v, %v {axis = 0}
      return %0
    }
  return y = %0
}`;
    expect(parseError(grow('1', '2')).summary).toMatch(/while_loop: the body yields loop value 0 as float32\[2\], but takes it as float32\[1\]/);
    // A data-dependent carried dim takes any length.
    const g = parseGraph(grow('_dyn0', '2*_dyn0'));
    expect(verifyIssues(g)).toEqual([]);
    expect(printGraph(g)).toContain('%0: f32[_dyn0] = while_loop %x');
  });

  it('cond merges the branch shapes: a dim that differs becomes data-dependent', () => {
    const g = new Graph('m');
    const p = g.addInput('p', { dtype: 'bool', shape: [] });
    const x = g.addInput('x', f32('batch', 3));
    const [y] = addCond(g, p, [x], (_r, [a]) => [a!], (r, [a]) => [r.add('concat', [a!, a!], { axis: 1 })]);
    expect(y!.shape).toEqual([sym('batch'), dynamicDim('_3_6')]);
    g.setOutput('y', y!);
    expect(verifyIssues(g)).toEqual([]);
    const text = printGraph(g);
    expect(text).toContain('%0: f32[batch,_dyn_3_6] = cond %p, %x');
    expect(printGraph(parseGraph(text))).toBe(text);
  });
});

describe('builders (ir/regions.ts)', () => {
  it('addWhileLoop, addScan and addCond build the graphs the text describes', () => {
    const g = new Graph('cumsum');
    const xs = g.addInput('xs', f32('time', 'batch'));
    const z = g.addInput('z', f32('batch'));
    const [last, all] = addScan(g, [z], [xs], [], (r, [c, x]) => { const s = r.add('add', [c!, x!]); return [s, s]; });
    g.setOutput('last', last!);
    g.setOutput('all', all!);
    expect(printGraph(g)).toBe(SCAN.replace('region body(%c: f32[batch], %x: f32[batch])', 'region body(%v0: f32[batch], %x0: f32[batch])').replace('add %c, %x', 'add %v0, %x0'));

    const w = new Graph('w');
    const n = w.addInput('n', i32s);
    const x = w.addInput('x', f32(2));
    const [, y] = addWhileLoop(w, [n, x], [],
      (r, [k]) => r.add('greater', [k!, r.add('const', [], { value: { dtype: 'int32', shape: [], data: new Int32Array([0]) } })]),
      (r, [k, v]) => [r.add('sub', [k!, r.add('const', [], { value: { dtype: 'int32', shape: [], data: new Int32Array([1]) } })]), r.add('neg', [v!])],
      { maximumIterations: 7 });
    w.setOutput('y', y!);
    expect(verifyIssues(w)).toEqual([]);
    expect(printGraph(w)).toContain('= while_loop %n, %x {maximum_iterations = 7}');
    expect(printGraph(parseGraph(printGraph(w)))).toBe(printGraph(w));
  });
});

describe('verifier', () => {
  it('finds an escaping value: a region node that reads a value of the outer graph', () => {
    const g = parseGraph(COND);
    const [cond] = g.nodes;
    const then = cond!.regions[0]!;
    const add = then.nodes[0]!;
    then.setInput(add, 1, g.inputs[2]!); // %w of the outer graph, not the block argument
    const issues = verifyIssues(g);
    expect(issues).toContain("in region 'then' of `%0: f32[batch,3] = cond %p, %x, %w`: operand 1 (%?2) is not a value of this graph, at `%0: f32[batch,3] = add %a, %?2`");
    expect(issues.some((m) => /use list of %w has a use by a node not in the graph \(add, operand 1\)/.test(m))).toBe(true);
  });

  it('refuses an assign inside a region, a region with variables and a wrong region count', () => {
    const g = parseGraph(COND);
    const cond = g.nodes[0]!;
    const then = cond.regions[0]!;
    then.addNode('assign', [then.inputs[0]!], { var: 'v' });
    expect(verifyIssues(g).join('\n')).toMatch(/assign inside a region: regions assign no variable/);
    then.addState('w', f32(3), { dtype: 'float32', shape: [3], data: new Float32Array(3) });
    expect(verifyIssues(g).join('\n')).toMatch(/a region has no variables, this one declares "w"/);
    cond.regions = [then];
    expect(verifyIssues(g).join('\n')).toMatch(/cond has 2 regions \(then, else\), the node has 1/);
  });
});

describe('effects', () => {
  it('a control-flow node is as effectful as its regions: pure, random, io', () => {
    const g = parseGraph(NESTED);
    expect(nodeEffect(g.nodes[0]!)).toBe('pure');
    const inner = [...walkNodes(g)].find((w) => w.node.op === 'cond')!;
    expect(inner.depth).toBe(1);
    const thenR = inner.node.regions[0]!;
    thenR.addNode('random_uniform', [], { shape: [2], min: 0, max: 1, dtype: 'float32', seed: -1 });
    expect(nodeEffect(g.nodes[0]!)).toBe('random');
    thenR.addNode('print', [thenR.inputs[0]!], { verbose: false });
    expect(nodeEffect(g.nodes[0]!)).toBe('io');
  });
});
