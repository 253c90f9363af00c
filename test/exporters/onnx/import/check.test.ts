/**
 * Invalid ONNX models are refused at import as onnx.checker refuses them (import_check.ts),
 * each with a GcError that names the node, what is wrong and the values; a few that the checker
 * lets through but no ONNX runtime could run (an LRN size of 0, one domain imported twice,
 * duplicate graph outputs) are refused too. onnx.checker (Debian's python3-onnx, full_check)
 * is the reference: every model refused here for a reason it knows is refused by it too.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { DEFAULT_ARITY } from '../../../../exporters/onnx/import/arity.js';
import { importedOpTypes } from '../../../../exporters/onnx/import/rules.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { checkModels } from '../harness.js';
import { attr, model, node, T, tensor, valueInfo } from '../test_util.js';

const f = (name: string, dims: (number | string | null)[]) => valueInfo(name, T.FLOAT, dims);
const X = f('x', [2, 3]), Y = f('y', [2, 3]);

/** The GcError an import throws (fails the test when it imports or throws anything else). */
function refusal(bytes: Uint8Array): gc.GcError {
  try {
    gc.fromOnnx(bytes);
  } catch (e) {
    expect(e, `not a GcError: ${(e as Error).stack}`).toBeInstanceOf(gc.GcError);
    return e as gc.GcError;
  }
  throw new Error('the model was imported');
}

function withOpsets(bytes: Uint8Array, opsets: { domain: string; version: number }[]): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  m.opsetImport = opsets.map((o) => onnx.OperatorSetIdProto.create(o));
  return onnx.ModelProto.encode(m).finish();
}

const conv = (extra: onnx.IAttributeProto[], wDims: number[]) => model({
  opset: 13, nodes: [node('Conv', ['x', 'w'], ['y'], extra, 'c')],
  inputs: [f('x', [1, 1, 4, 4]), f('w', wDims)], outputs: [f('y', [1, 1, null, null])],
});

/** Name → [model, the message graphc must give, whether onnx.checker refuses it too]. */
const CASES: Record<string, [Uint8Array, RegExp, boolean]> = {
  'Add with 3 operands': [model({ opset: 13, nodes: [node('Add', ['x', 'x', 'x'], ['y'], [], 'a')], inputs: [X], outputs: [Y] }),
    /GC0531.*onnx node 'a' \(Add\): has 3 operand\(s\) \['x', 'x', 'x'\]; Add at opset 13 takes 2/, true],
  'two nodes writing one name': [model({ opset: 13, nodes: [node('Relu', ['x'], ['y'], [], 'r1'), node('Relu', ['x'], ['y'], [], 'r2')], inputs: [X], outputs: [Y] }),
    /GC0530.*onnx node 'r2' \(Relu\): its output 'y' is already defined \(as the output of node 'r1' \(Relu\)\)/, true],
  'a node output shadowing a graph input': [model({ opset: 13, nodes: [node('Relu', ['x'], ['x'], [], 'r')], inputs: [X], outputs: [f('x', [2, 3])] }),
    /GC0530.*onnx node 'r' \(Relu\): its output 'x' is already defined \(as a graph input\)/, true],
  'a node output shadowing an initializer': [model({ opset: 13, nodes: [node('Add', ['x', 'b'], ['b'], [], 'a')], inputs: [X], outputs: [f('b', [2, 3])],
    initializers: [tensor('b', T.FLOAT, [3], [1, 2, 3])] }), /GC0530.*onnx node 'a' \(Add\): its output 'b' is already defined \(as an initializer\)/, true],
  'MaxPool kernel 0': [model({ opset: 13, nodes: [node('MaxPool', ['x'], ['y'], [attr.ints('kernel_shape', [0, 2])], 'mp')], inputs: [f('x', [1, 1, 4, 4])], outputs: [f('y', [1, 1, null, null])] }),
    /GC0532.*onnx node 'mp' \(MaxPool\): attribute 'kernel_shape' = \[0, 2\]: each must be ≥ 1/, false],
  'MaxPool negative kernel': [model({ opset: 13, nodes: [node('MaxPool', ['x'], ['y'], [attr.ints('kernel_shape', [-2, 2])], 'mp')], inputs: [f('x', [1, 1, 4, 4])], outputs: [f('y', [1, 1, null, null])] }),
    /GC0532.*'kernel_shape' = \[-2, 2\]/, false],
  'LRN size 0': [model({ opset: 13, nodes: [node('LRN', ['x'], ['y'], [attr.int('size', 0)], 'l')], inputs: [f('x', [1, 2, 4, 4])], outputs: [f('y', [1, 2, 4, 4])] }),
    /GC0532.*onnx node 'l' \(LRN\): attribute 'size' = 0: must be ≥ 1/, false],
  'a negative dim in an initializer': [model({ opset: 13, nodes: [node('Add', ['x', 'w'], ['y'], [], 'a')], inputs: [X], outputs: [Y],
    initializers: [{ ...tensor('w', T.FLOAT, [1], [1]), dims: [-1] }] }), /GC0533.*initializer 'w' has dims \[-1\]/, true],
  'a negative dim in a graph input': [model({ opset: 13, nodes: [node('Relu', ['x'], ['y'])], inputs: [f('x', [2, -3])], outputs: [Y] }),
    /GC0533.*graph input 'x' has shape \[2,-3\]/, true],
  'a negative dim in value_info': [(() => {
    const m = onnx.ModelProto.decode(model({ opset: 13, nodes: [node('Relu', ['x'], ['t']), node('Relu', ['t'], ['y'])], inputs: [X], outputs: [Y] }));
    m.graph!.valueInfo = [onnx.ValueInfoProto.create(f('t', [-7, 3]))];
    return onnx.ModelProto.encode(m).finish();
  })(), /GC0533.*value_info 't' has shape \[-7,3\]/, true],
  'an opset listed twice': [withOpsets(model({ opset: 13, nodes: [node('Relu', ['x'], ['y'])], inputs: [X], outputs: [Y] }), [{ domain: '', version: 13 }, { domain: 'ai.onnx', version: 14 }]),
    /GC0534.*imports the domain '' \(ai.onnx\) twice \(opsets 13 and 14\)/, false],
  'a graph input listed twice': [model({ opset: 13, nodes: [node('Relu', ['x'], ['y'])], inputs: [X, X], outputs: [Y] }),
    /GC0530.*graph input 'x' is listed twice/, true],
  'a graph output listed twice': [model({ opset: 13, nodes: [node('Relu', ['x'], ['y'])], inputs: [X], outputs: [Y, Y] }),
    /GC0530.*graph output 'y' is listed twice/, false],
  'an undefined operand': [model({ opset: 13, nodes: [node('Add', ['x', 'q'], ['y'], [], 'a')], inputs: [X], outputs: [Y] }),
    /GC0530.*onnx node 'a' \(Add\): operand 'q' is not defined/, true],
  'a cycle': [model({ opset: 13, nodes: [node('Add', ['x', 'b'], ['a'], [], 'n0'), node('Relu', ['a'], ['b'], [], 'n1'), node('Relu', ['b'], ['y'], [], 'n2')], inputs: [X], outputs: [Y] }),
    /GC0530.*onnx node 'n0' \(Add\): operand 'b' is computed by a later node, onnx node 'n1' \(Relu\) \(#1 after #0\), which itself depends on this node: the graph has a cycle/, true],
  'nodes out of order': [model({ opset: 13, nodes: [node('Relu', ['a'], ['y'], [], 'late'), node('Relu', ['x'], ['a'], [], 'early')], inputs: [X], outputs: [Y] }),
    /GC0530.*onnx node 'late' \(Relu\): operand 'a' is computed by a later node, onnx node 'early' \(Relu\) \(#1 after #0\): the nodes are not in topological order/, true],
  'Conv with 3 pads': [conv([attr.ints('pads', [1, 1, 1])], [1, 1, 3, 3]), /GC0532.*onnx node 'c' \(Conv\): attribute 'pads' = \[1, 1, 1\]: 3 values/, true],
  'Conv with 6 pads for 2 spatial axes': [conv([attr.ints('pads', [1, 1, 1, 1, 1, 1])], [1, 1, 3, 3]),
    /onnx node 'c' \(Conv\): pads \[1, 1, 1, 1, 1, 1\] has 6 values; operand float32\[1,1,4,4\] has 2 spatial axes \(4 expected\)/, true],
  'Conv with a kernel_shape that is not the filter\'s': [conv([attr.ints('kernel_shape', [5, 5])], [1, 1, 3, 3]),
    /onnx node 'c' \(Conv\): kernel_shape \[5, 5\] differs from the filter's spatial dims \[3,3\]/, false],
  'ConvTranspose with a kernel_shape that is not the filter\'s (fuzz seed 5 case 1229)': [model({ opset: 13,
    nodes: [node('ConvTranspose', ['x', 'w'], ['y'], [attr.ints('kernel_shape', [16777216, 1])], 'ct')],
    inputs: [f('x', [1, 1, 4, 4])], outputs: [f('y', [1, 1, null, null])], initializers: [tensor('w', T.FLOAT, [1, 1, 1, 1], [1])] }),
  /onnx node 'ct' \(ConvTranspose\): kernel_shape \[16777216, 1\] differs from the filter's spatial dims \[1,1\]/, false],
  'Conv with a rank-1 filter': [conv([], [3]), /onnx node 'c' \(Conv\): the filter float32\[3\] has rank 1; for operand float32\[1,1,4,4\] it needs rank 4/, true],
  'op type constructor': [model({ opset: 13, nodes: [node('constructor', ['x'], ['y'], [], 'n')], inputs: [X], outputs: [Y] }),
    /onnx node 'n' \(constructor\): no import rule for ONNX op 'constructor'/, true],
  'op type toString': [model({ opset: 13, nodes: [node('toString', ['x'], ['y'], [], 'n')], inputs: [X], outputs: [Y] }),
    /onnx node 'n' \(toString\): no import rule for ONNX op 'toString'/, true],
  'op type __proto__': [model({ opset: 13, nodes: [node('__proto__', ['x'], ['y'], [], 'n')], inputs: [X], outputs: [Y] }),
    /onnx node 'n' \(__proto__\): no import rule for ONNX op '__proto__'/, true],
  'op type hasOwnProperty in the training domain': [(() => {
    const m = onnx.ModelProto.decode(model({ opset: 13, nodes: [node('hasOwnProperty', ['x'], ['y'], [], 'n')], inputs: [X], outputs: [Y] }));
    m.graph!.node![0]!.domain = 'ai.onnx.preview.training';
    m.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'ai.onnx.preview.training', version: 1 }));
    return onnx.ModelProto.encode(m).finish();
  })(), /onnx node 'n' \(hasOwnProperty in domain ai.onnx.preview.training\): no import rule/, false],
  'ScatterElements reduction constructor': [model({ opset: 16, nodes: [node('ScatterElements', ['x', 'i', 'u'], ['y'], [attr.str('reduction', 'constructor')], 's')],
    inputs: [X, valueInfo('i', T.INT64, [1, 3]), f('u', [1, 3])], outputs: [Y] }), /onnx node 's' \(ScatterElements\).*reduction 'constructor'/, false],
  'a Loop body writing an outer name': [model({ opset: 13, nodes: [node('Loop', ['', 'c'], ['y'], [{ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH,
    g: { name: 'body', node: [node('Identity', ['cin'], ['cout']), node('Relu', ['x'], ['x'], [], 'inner')],
      input: [valueInfo('i', T.INT64, []), valueInfo('cin', T.BOOL, [])], output: [valueInfo('cout', T.BOOL, [])] } }], 'loop')],
  inputs: [X, valueInfo('c', T.BOOL, [])], outputs: [] }), /GC0530.*onnx node 'inner' \(Relu\): its output 'x' is already defined \(as a graph input\)/, true],
};

describe('invalid models are refused at import with a GcError', () => {
  for (const [name, [bytes, message]] of Object.entries(CASES)) {
    it(name, () => {
      expect(refusal(bytes).message).toMatch(message);
    });
  }

  it('onnx.checker (full_check) refuses the same models', () => {
    const verdicts = checkModels(new Map(Object.entries(CASES).map(([k, [b]]) => [k, b])));
    for (const [name, [, , refusedByChecker]] of Object.entries(CASES)) {
      if (refusedByChecker) expect(verdicts.get(name), name).not.toBeNull();
    }
  });
});

describe('arity per op schema', () => {
  it('every ONNX op type the importer reads has arity rows', () => {
    const missing = importedOpTypes().filter((op) => !DEFAULT_ARITY.has(op));
    expect(missing).toEqual([]);
  });

  // Ops that exist at opset 13 with a bounded operand count, and a count outside the bounds.
  const ops = importedOpTypes().flatMap((op) => {
    const row = DEFAULT_ARITY.get(op)?.filter((r) => r[0] <= 13).at(-1);
    return row ? [{ op, row }] : [];
  });

  it('a node with too many or too few operands or results is refused, as onnx.checker does', () => {
    const cases = fc.sample(fc.record({
      k: fc.nat(ops.length - 1),
      side: fc.constantFrom('in', 'out'),
      delta: fc.integer({ min: 1, max: 3 }),
      low: fc.boolean(),
    }).filter(({ k, side, low }) => {
      const [, minIn, maxIn, minOut, maxOut] = ops[k]!.row;
      return side === 'in' ? (low ? minIn > 0 : maxIn >= 0) : (low ? minOut > 0 : maxOut >= 0);
    }), { numRuns: 40, seed: 9 });
    const models = new Map<string, Uint8Array>();
    for (const { k, side, delta, low } of cases) {
      const { op, row: [, minIn, maxIn, minOut, maxOut] } = ops[k]!;
      const lo = side === 'in' ? minIn : minOut, hi = side === 'in' ? maxIn : maxOut;
      const count = low ? Math.max(0, lo - delta) : hi + delta;
      const nin = side === 'in' ? count : minIn, nout = side === 'out' ? count : Math.max(minOut, 1);
      if (nin === lo && side === 'in' && low) continue;
      const ins = Array.from({ length: nin }, () => 'x'), outs = Array.from({ length: nout }, (_, i) => `y${i}`);
      const bytes = model({ opset: 13, nodes: [node(op, ins, outs, [], 'n')], inputs: [X], outputs: outs.map((o) => f(o, [2, 3])) });
      const e = refusal(bytes);
      expect(e.code, `${op} with ${nin} operands, ${nout} results: ${e.message}`).toBe('GC0531');
      expect(e.message).toContain(`onnx node 'n' (${op}): has ${side === 'in' ? nin : nout} ${side === 'in' ? 'operand' : 'result'}(s)`);
      models.set(`${op} ${nin}/${nout}`, bytes);
    }
    expect(models.size).toBeGreaterThan(20);
    for (const [name, verdict] of checkModels(models)) expect(verdict, name).toMatch(/size|range|outputs|inputs|deprecated/i);
  });
});

describe('valid models are not refused', () => {
  it('every ONNX backend node test model passes the checks (graphc may still refuse its op for another reason)', async () => {
    const { readdirSync, readFileSync, existsSync } = await import('node:fs');
    const root = '/usr/share/libonnx-testdata/data/node';
    const { checkModel } = await import('../../../../exporters/onnx/import/check.js');
    const { defaultOpset } = await import('../../../../exporters/onnx/import/import.js');
    let n = 0;
    for (const d of readdirSync(root)) {
      const file = `${root}/${d}/model.onnx`;
      if (!existsSync(file)) continue;
      const m = onnx.ModelProto.decode(readFileSync(file));
      expect(() => checkModel(m, defaultOpset(m)), d).not.toThrow();
      n++;
    }
    expect(n).toBeGreaterThan(900);
  });
});

describe('the printer of a broken node', () => {
  it('prints attr lists with holes and non-dims instead of throwing (the verifier then reports the node)', async () => {
    const { Graph } = await import('../../../../ir/graph.js');
    const { printNode, ValueNames } = await import('../../../../ir/printer.js');
    fc.assert(fc.property(fc.array(fc.oneof(fc.integer(), fc.constant(undefined), fc.constant(null), fc.string(), fc.constant({ k: 1 }))), (pads) => {
      const g = new Graph('g');
      const x = g.addInput('x', { dtype: 'float32', shape: [1, 4, 4, 1] });
      const n = g.addNode('max_pool', [x], { filter_size: [2, 2], strides: [1, 1], padding: 'explicit', pads: pads as number[] }, undefined,
        [{ dtype: 'float32', shape: [1, 4, 4, 1] }]);
      const text = printNode(n, new ValueNames(g));
      expect(text).toContain('pads = [');
      pads.forEach((p) => expect(text).toContain(typeof p === 'number' ? String(p) : `?${typeof p === 'object' && p !== null ? JSON.stringify(p) : String(p)}`));
    }), { numRuns: 50, seed: 4 });
  });
});

describe('nested subgraphs', () => {
  /** x → If(c){ If(c){ … Relu(x) … } else Neg(x) } else Neg(x), `depth` Ifs deep. */
  function nestedIf(depth: number): Uint8Array {
    const GRAPH = onnx.AttributeProto.AttributeType.GRAPH;
    let g: onnx.IGraphProto = { name: 'leaf', node: [node('Relu', ['x'], ['r0'])], output: [f('r0', [2])] };
    for (let d = 1; d < depth; d++) {
      const other: onnx.IGraphProto = { name: `e${d}`, node: [node('Neg', ['x'], [`e${d}`])], output: [f(`e${d}`, [2])] };
      g = { name: `g${d}`, node: [node('If', ['c'], [`r${d}`], [{ name: 'then_branch', type: GRAPH, g }, { name: 'else_branch', type: GRAPH, g: other }], `if${d}`)], output: [f(`r${d}`, [2])] };
    }
    return model({ opset: 13, nodes: g.node!.map((n) => ({ ...n, output: ['y'] })), inputs: [f('x', [2])], outputs: [f('y', [2])],
      initializers: [tensor('c', T.BOOL, [], [1])] });
  }

  it('a model nesting Ifs past the limit is refused with a GcError (fuzz: 2000 deep overflowed the stack)', () => {
    for (const depth of [300, 2000]) expect(refusal(nestedIf(depth)).message).toMatch(/GC0530.*subgraphs are nested more than 256 deep/);
  });

  it('Ifs nested up to the limit import and compute the innermost branch', async () => {
    const g = gc.fromOnnx(nestedIf(200));
    const tf = await import('@tensorflow/tfjs-core');
    const s = await gc.Session.create(g, { backend: 'cpu' });
    const y = (await s.run('y', { x: tf.tensor([-1, 2]) })) as import('@tensorflow/tfjs-core').Tensor;
    expect(Array.from(y.dataSync())).toEqual([0, 2]);
    s.dispose();
  });

  it('a subgraph may read outer names defined before its node, not after', () => {
    const GRAPH = onnx.AttributeProto.AttributeType.GRAPH;
    const branch = (read: string): onnx.IGraphProto => ({ name: 'b', node: [node('Relu', [read], ['o'])], output: [f('o', [2])] });
    const ifNode = (read: string) => node('If', ['c'], ['y'], [{ name: 'then_branch', type: GRAPH, g: branch(read) }, { name: 'else_branch', type: GRAPH, g: branch(read) }], 'if');
    const ok = model({ opset: 13, nodes: [node('Neg', ['x'], ['early']), ifNode('early')], inputs: [f('x', [2])], outputs: [f('y', [2])], initializers: [tensor('c', T.BOOL, [], [1])] });
    expect(() => gc.fromOnnx(ok)).not.toThrow();
    const late = model({ opset: 13, nodes: [ifNode('late'), node('Neg', ['x'], ['late'])], inputs: [f('x', [2])], outputs: [f('y', [2])], initializers: [tensor('c', T.BOOL, [], [1])] });
    expect(refusal(late).message).toMatch(/GC0530.*operand 'late' is not defined/);
  });
});
