import { describe, expect, it } from 'vitest';
import { sym } from '../../ir/dim.js';
import { GcError } from '../../ir/errors.js';
import { parseGraph } from '../../ir/parser.js';
import { printGraph } from '../../ir/printer.js';
import { verifyIssues } from '../../ir/verify.js';
import { FIXTURES, SMALL_TEXT, STATE_TEXT, stateGraph } from './fixtures.js';
import { graphDiff } from './graph_eq.js';

/** The GcError that parsing `lines` throws. */
function parseError(lines: string[]): GcError {
  try {
    parseGraph(lines.join('\n'));
  } catch (e) {
    if (e instanceof GcError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

function expectParseError(lines: string[], line: number, col: number, message: RegExp): GcError {
  const e = parseError(lines);
  expect(e.code).toBe('GC0302');
  expect(e.summary).toMatch(message);
  expect({ line: e.loc?.line, col: e.loc?.col }).toEqual({ line, col });
  expect(e.message).toContain(`--> <ir>:${line}:${col}`);
  return e;
}

describe('round trip', () => {
  for (const [name, build] of FIXTURES) {
    it(`print → parse → print is the identity and the graph is rebuilt exactly: ${name}`, () => {
      const g = build();
      const text = printGraph(g);
      const back = parseGraph(text);
      expect(printGraph(back)).toBe(text);
      expect(graphDiff(g, back)).toEqual([]);
      expect(verifyIssues(back)).toEqual([]);
    });
  }

  it('rebuilds the golden texts into the graphs they came from', () => {
    expect(graphDiff(stateGraph(), parseGraph(STATE_TEXT))).toEqual([]);
    const g = parseGraph(SMALL_TEXT);
    const c = g.nodes[0]!.attrs.value as { data: Float32Array };
    expect(Object.is(c.data[2], -0)).toBe(true);
    expect(c.data[1]).toBe(Math.fround(0.1));
    expect(Number.isNaN(c.data[3])).toBe(true);
    expect(g.nodes[1]!.loc).toEqual({ file: 'examples/mlp.ts', line: 14, col: 10 });
  });

  it('keeps the exact int64 value, state names, trainable flags and init tensors', () => {
    const g = parseGraph(STATE_TEXT);
    expect((g.nodes[5]!.attrs.value as { data: BigInt64Array }).data[0]).toBe(9007199254740993n);
    expect(g.states.map((s) => [s.name, s.value.name, s.trainable])).toEqual([['dense/kernel', 'dense_kernel', true], ['step', 'step', false]]);
    expect([...(g.states[1]!.init.data as BigInt64Array)]).toEqual([5n]);
    expect(g.outputs.map((o) => o.name)).toEqual(['out', 'dense/BiasAdd:0', 'n']);
    expect(g.outputs[1]!.value.name).toBe('right');
  });
});

describe('parseGraph', () => {
  it('reads attrs by the op schema: float 1, ints, dims with symbols, dtype', () => {
    const g = parseGraph([
      '// RUN: cse,dce',
      'graph @f(%x: f32[28*batch,28]) {  // the input',
      '  %r: f32[batch,784] = reshape %x {shape = [batch, 784]}',
      '  %l: f32[batch,784] = leaky_relu %r {alpha = 1}',
      '  %s: f32[batch,392], %t: f32[batch,392] = split %l {sizes = [392, 392], axis = -1}',
      '  %n: i32[] = sym_const {value = 28*batch, dtype = i32}',
      '  %m: f32[batch] = reduce_sum %s {axes = [1], keep_dims = false}',
      '  return y = %t, n = %n, m = %m',
      '}',
      '// trailing comment',
    ].join('\n'));
    expect(g.nodes[0]!.attrs.shape).toEqual([sym('batch'), 784]);
    expect(g.nodes[1]!.attrs.alpha).toBe(1);
    expect(g.nodes[2]!.attrs).toEqual({ sizes: [392, 392], axis: -1 });
    expect(g.nodes[3]!.attrs.value).toEqual(sym('batch', 28));
    expect(g.nodes[3]!.attrs.dtype).toBe('int32');
    expect(g.nodes[4]!.attrs.axes).toEqual([1]);
    expect(g.inputs[0]!.shape).toEqual([sym('batch', 28), 28]);
    expect(g.nodes[2]!.outputs.map((v) => v.name)).toEqual(['s', 't']);
    // canonical form: attrs sorted, names kept, comments dropped
    expect(printGraph(g).split('\n')[3]).toBe('  %s: f32[batch,392], %t: f32[batch,392] = split %l {axis = -1, sizes = [392, 392]}');
  });

  it('accepts any numbering of unnamed values and renumbers canonically', () => {
    const g = parseGraph(['graph @f(%x: f32[3]) {', '  %7: f32[3] = exp %x', '  %2: f32[3] = neg %7', '  return o = %2', '}'].join('\n'));
    expect(printGraph(g)).toBe('graph @f(%x: f32[3]) {\n  %0: f32[3] = exp %x\n  %1: f32[3] = neg %0\n  return o = %1\n}');
  });

  it('reports an unknown op at the op', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = frob %x', '  return out = %0', '}'], 2, 16, /unknown op 'frob'/);
  });

  it('reports an unknown value at its use', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = exp %y', '  return out = %0', '}'], 2, 20, /unknown value %y/);
    expectParseError(['graph @f(%x: f32[3]) {', '  return out = %0', '}'], 2, 16, /unknown value %0/);
  });

  it('reports a use before definition as an unknown value', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = exp %1', '  %1: f32[3] = exp %x', '  return out = %0', '}'], 2, 20, /unknown value %1/);
  });

  it('reports a duplicate definition', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %x: f32[3] = exp %x', '  return out = %x', '}'], 2, 3, /%x is defined twice/);
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = exp %x', '  %0: f32[3] = exp %x', '  return', '}'], 3, 3, /%0 is defined twice/);
    expectParseError(['graph @f(%x: f32[3], %x: f32[3]) {', '  return', '}'], 1, 22, /%x is defined twice/);
  });

  it('reports an attr of the wrong kind at the value', () => {
    const e = expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = leaky_relu %x {alpha = "big"}', '  return out = %0', '}'], 2, 39,
      /attr 'alpha' of leaky_relu must be float/);
    expect(e.message).toContain('2 |   %0: f32[3] = leaky_relu %x {alpha = "big"}');
    expectParseError(['graph @f(%x: f32[6]) {', '  %0: f32[3], %1: f32[3] = split %x {axis = 1.5, sizes = [3, 3]}', '  return', '}'], 2, 45,
      /attr 'axis' of split must be int/);
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = reduce_sum %x {axes = [0], keep_dims = 0}', '  return', '}'], 2, 55,
      /attr 'keep_dims' of reduce_sum must be bool/);
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = cast %x {dtype = f16}', '  return', '}'], 2, 33, /unknown dtype 'f16'/);
  });

  it('reports unknown, duplicate and missing attrs', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = leaky_relu %x {beta = 1}', '  return', '}'], 2, 31, /leaky_relu has no attr 'beta'/);
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = leaky_relu %x {alpha = 1, alpha = 2}', '  return', '}'], 2, 42, /attr 'alpha' given twice/);
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = leaky_relu %x', '  return', '}'], 2, 16, /missing attr 'alpha' \(float\)/);
  });

  it('checks declared types against inferred ones', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[4] = exp %x', '  return', '}'], 2, 3, /%0 is declared f32\[4\], but exp infers f32\[3\]/);
    expectParseError(['graph @f(%x: f32[b,3]) {', '  %0: i32[b,3] = exp %x', '  return', '}'], 2, 3, /%0 is declared i32\[b,3\], but exp infers f32\[b,3\]/);
    expectParseError(['graph @f(%x: f32[b,3]) {', '  %y: f32[2*b,3] = exp %x', '  return', '}'], 2, 3, /declared f32\[2\*b,3\], but exp infers f32\[b,3\]/);
    expectParseError(['graph @f(%x: f32[6]) {', '  %0: f32[3] = split %x {axis = 0, sizes = [3, 3]}', '  return', '}'], 2, 16,
      /split produces 2 values, but 1 is declared/);
  });

  it('reports inference failures at the op with the inference message', () => {
    const e = expectParseError(['graph @f(%x: f32[2,3]) {', '  %0: f32[2,2] = matmul %x, %x {transpose_a = false, transpose_b = false}', '  return', '}'],
      2, 18, /matmul: inner dimensions differ/);
    expect(e.help).toBe('transpose the right operand or check the weight shape');
  });

  it('requires an init line per state and a tensor that fits', () => {
    expectParseError(['graph @f() state(%w: f32[2] = "w" trainable) {', '  return', '}'], 1, 18, /state %w \("w"\) has no init line/);
    expectParseError(['graph @f() state(%w: f32[2] = "w") {', '  init %w = dense<f32[2]> [1, 2, 3]', '  return', '}'], 2, 27,
      /needs 2 elements, found 3/);
    expectParseError(['graph @f(%x: f32[2]) state(%w: f32[2] = "w") {', '  init %x = dense<f32[2]> [1, 2]', '  return', '}'], 2, 8, /%x is not a state/);
    expectParseError(['graph @f() state(%w: i32[2] = "w") {', '  init %w = dense<i32[2]> [1, 2.5]', '  return', '}'], 2, 31, /expected an integer, found 2.5/);
    expectParseError(['graph @f() state(%w: i32[2] = "w") {', '  init %w = dense<i32[2]> b64"AAAA"', '  return', '}'], 2, 27, /3 bytes for 2 elements/);
  });

  it('reads state declarations with and without trainable', () => {
    const g = parseGraph(['graph @f() state(%w: f32[2] = "layer/w" trainable, %s: i64[] = "s") {',
      '  init %s = dense<i64[]> [-9223372036854775808]', '  init %w = dense<f32[2]> [0.5, -2]', '  return w = %w', '}'].join('\n'));
    expect(g.states.map((s) => [s.name, s.trainable])).toEqual([['layer/w', true], ['s', false]]);
    expect([...(g.states[0]!.init.data as Float32Array)]).toEqual([0.5, -2]);
    expect([...(g.states[1]!.init.data as BigInt64Array)]).toEqual([-(2n ** 63n)]);
  });

  it('reports syntax errors with positions', () => {
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = exp %x', '  return out = %0', '}', 'junk'], 5, 1, /unexpected 'junk' after the graph/);
    expectParseError(['graph @f(%x: f32[3]) {', '  %0: f32[3] = exp %x'], 2, 22, /unexpected end of input/);
    expectParseError(['graf @f() {', '}'], 1, 1, /expected 'graph'/);
    expectParseError(['graph @f(%x: f32[3 {'], 1, 20, /expected ',' or '\]'/);
    expectParseError(['graph @f(%x: f32[2*]) {', '  return', '}'], 1, 18, /bad dimension '2\*'/);
    expectParseError(['graph @f(%x: f32[3]) {', '  return a = %x, a = %x', '}'], 2, 18, /output 'a' is returned twice/);
  });
});
