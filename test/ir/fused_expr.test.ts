import { describe, expect, it } from 'vitest';
import { EXPR_OPS, EXPR_SIGNATURES, ExprError, isExprOp, parseExpr, printExpr } from '../../ir/fused_expr.js';
import { Graph } from '../../ir/graph.js';
import type { OpDef } from '../../ir/ops.js';
import { inferTypes, OP_NAMES, OPS } from '../../ir/ops.js';
import { parseGraph } from '../../ir/parser.js';
import { printGraph } from '../../ir/printer.js';
import { sym } from '../../ir/dim.js';

const canon = (s: string): string => printExpr(parseExpr(s).program);

describe('fused_elementwise expressions', () => {
  it('every expression op is an elementwise pure IR op of one or two operands with float attrs, as its signature says', () => {
    expect(EXPR_OPS.length).toBeGreaterThan(30);
    for (const op of EXPR_OPS) {
      const d: OpDef = OPS[op];
      expect(d.expr, op).toBe(true);
      expect(d.fusion, op).toBe('elementwise');
      expect(d.effect, op).toBe('pure');
      expect([1, 2], op).toContain(d.arity);
      expect(Object.values(d.attrs).every((k) => k === 'float'), op).toBe(true);
      expect(Object.keys(d.attrs).sort(), op).toEqual([...EXPR_SIGNATURES[op].attrs].sort());
      expect(d.arity, op).toBe(EXPR_SIGNATURES[op].arity);
      // float32 in, float32 out
      const f32 = { dtype: 'float32' as const, shape: [2] };
      const attrs = Object.fromEntries(Object.keys(d.attrs).map((k) => [k, 0.5]));
      expect(inferTypes(op, Array.from({ length: d.arity as number }, () => f32), attrs), op).toEqual([f32]);
    }
    // and no other op says it is one
    expect(OP_NAMES.filter((op) => (OPS[op] as OpDef).expr === true)).toEqual([...EXPR_OPS]);
    expect(OP_NAMES.filter(isExprOp)).toEqual([...EXPR_OPS]);
  });

  it('prints canonically and round-trips', () => {
    const cases: Array<[string, string]> = [
      ['mul($0,sigmoid( $0 ))', 'mul($0, sigmoid($0))'],
      ['t0 = tanh(add(mul($0, 0.5), $1)); mul(t0, t0)', 't0 = tanh(add(mul($0, 0.5), $1)); mul(t0, t0)'],
      ['clip{min=-1,max=6}($0)', 'clip{max=6, min=-1}($0)'],
      ['leaky_relu{alpha=0.2}(add($0, $1))', 'leaky_relu{alpha=0.2}(add($0, $1))'],
      ['add($0, 1.0000000149011612)', 'add($0, 1)'],                           // literals are float32
      ['add(mul($0, NaN), sub(-Infinity, -0))', 'add(mul($0, NaN), sub(-Infinity, -0))'],
      ['$0', '$0'],
      ['add(0.1, $1)', 'add(0.1, $1)'],
    ];
    for (const [text, want] of cases) {
      expect(canon(text), text).toBe(want);
      expect(canon(want), want).toBe(want);
    }
    expect(parseExpr('add(0.1, $1)').inputs).toBe(2);
    // attrs are doubles (the op's own attr), literals float32
    const p = parseExpr('leaky_relu{alpha=0.2}(mul($0, 0.2))').program;
    expect(p.result.kind === 'op' && p.result.attrs['alpha']).toBe(0.2);
    expect(p.result.kind === 'op' && p.result.args[0]!.kind === 'op' && p.result.args[0]!.args[1]).toEqual({ kind: 'lit', value: Math.fround(0.2) });
  });

  it('rejects malformed programs with the column', () => {
    const bad: Array<[string, RegExp]> = [
      ['foo($0)', /'foo' is not an expression op/],
      ['exp($0, $1)', /exp takes 1 operand, got 2/],
      ['leaky_relu($0)', /needs attr 'alpha'/],
      ['relu{alpha=1}($0)', /relu has no attr 'alpha'/],
      ['t1 = exp($0); t1', /expected t0/],
      ['mul(t0, $0)', /t0 is used before it is defined/],
      ['add($0, $1', /expected '\)'/],
      ['exp($0) junk', /unexpected 'junk'/],
      ['reduce_sum($0)', /not an expression op/],
    ];
    for (const [text, re] of bad) {
      expect(() => parseExpr(text), text).toThrow(ExprError);
      expect(() => parseExpr(text), text).toThrow(re);
    }
    expect(() => parseExpr('add($0, $1')).toThrow(/column 11/);
  });

  it('infers the broadcast shape and checks operand count and dtype', () => {
    const g = new Graph();
    const x = g.addInput('x', { dtype: 'float32', shape: [sym('batch'), 4] });
    const b = g.addInput('b', { dtype: 'float32', shape: [4] });
    const c = g.addInput('c', { dtype: 'float32', shape: [] });
    const y = g.add('fused_elementwise', [b, x, c], { expr: 'add(mul($0, $2), relu($1))' });
    expect(y.shape).toEqual([sym('batch'), 4]);
    // the shape follows the program: $1 only in a dead temp does not broadcast the result
    expect(g.add('fused_elementwise', [b, x], { expr: 't0 = add($0, $1); exp($0)' }).shape).toEqual([4]);
    expect(() => g.add('fused_elementwise', [x], { expr: 'add($0, $1)' })).toThrow(/reads 2 operand/);
    const i = g.addInput('i', { dtype: 'int32', shape: [4] });
    expect(() => g.add('fused_elementwise', [i], { expr: 'exp($0)' })).toThrow(/operand \$0 is int32/);
    expect(() => g.add('fused_elementwise', [x], { expr: 'exp(' })).toThrow(/fused_elementwise: expected/);
    const y2 = g.add('fused_elementwise', [x, g.addInput('z', { dtype: 'float32', shape: [3, 1, 4] })], { expr: 'add($0, $1)' });
    expect(y2.shape).toEqual([3, sym('batch'), 4]);
  });

  it('prints and parses inside a graph', () => {
    const text = `graph @f(%x: f32[batch,4], %b: f32[4]) {
  %0: f32[batch,4] = fused_elementwise %x, %b {expr = "t0 = sigmoid(add($0, $1)); mul(t0, leaky_relu{alpha=0.1}(t0))"}
  return y = %0
}`;
    expect(printGraph(parseGraph(text))).toBe(text);
  });
});
