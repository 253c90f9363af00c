import { describe, expect, it } from 'vitest';
import { GcError } from '../../../ir/errors.js';
import type { Graph } from '../../../ir/graph.js';
import { parseGraph } from '../../../ir/parser.js';
import { formatReport, runPasses } from '../../../ir/passes/manager.js';
import type { Pass } from '../../../ir/passes/pass.js';
import { passContext } from '../../../ir/passes/pass.js';
import { DEFAULT_PASSES, passByName, resolvePasses } from '../../../ir/passes/registry.js';
import { evalNodeConst } from '../../../runtime/eval_const.js';

const text = `graph @f(%x: f32[3]) {
  %0: f32[3] = const {value = dense<f32[3]> [1, 2, 3]}
  %1: f32[3] = const {value = dense<f32[3]> [0, 0, 0]}
  %2: f32[3] = add %0, %1
  %3: f32[3] = mul %x, %2
  %4: f32[3] = exp %3
  %5: f32[3] = exp %3
  %6: f32[3] = add %4, %5
  return out = %6
}`;

const noop = (name: string): Pass => ({ name, run: () => false });

function thrown(f: () => unknown): GcError {
  try { f(); } catch (e) { if (e instanceof GcError) return e; throw e; }
  throw new Error('did not throw');
}

describe('pass manager', () => {
  it('runs the default pipeline to a fixed point and reports each pass once, aggregated', () => {
    const g = parseGraph(text);
    const seen: string[] = [];
    const report = runPasses(g, resolvePasses(['fold-constants', 'simplify', 'cse', 'dce']), passContext({ evaluate: evalNodeConst, verify: true }), { onPass: (n, _g, i) => seen.push(`${i.round}:${n}`) });
    expect(g.nodes.map((n) => n.op)).toEqual(['const', 'mul', 'exp', 'add']);
    expect(report.map((r) => r.name)).toEqual(['fold-constants', 'simplify', 'cse', 'dce']);
    expect(report.map((r) => r.runs)).toEqual([2, 2, 2, 2]);
    expect(report[0]).toMatchObject({ nodesBefore: 7, changed: true });
    expect(report[3]).toMatchObject({ nodesAfter: 4, changed: true });
    expect(seen).toEqual(['1:fold-constants', '1:simplify', '1:cse', '1:dce', '2:fold-constants', '2:simplify', '2:cse', '2:dce']);
    expect(formatReport(report)).toBe('fold-constants 7→4, simplify unchanged, cse 7→4, dce 5→4');
  });

  it('wraps a failure with the pass and what ran before it, keeping the message', () => {
    const boom: Pass = { name: 'boom', run: () => { throw new Error('kaput'); } };
    const e = thrown(() => runPasses(parseGraph(text), [noop('fold-constants'), noop('simplify'), boom], passContext()));
    expect(e.code).toBe('GC0303');
    expect(e.summary).toBe("in pass 'boom' (after fold-constants, simplify): kaput");
    expect((e.cause as Error).message).toBe('kaput');
  });

  it('verifies after each pass and blames the pass that broke the graph', () => {
    const breaker: Pass = { name: 'breaker', run: (g: Graph) => { g.nodes.reverse(); return true; } };
    const e = thrown(() => runPasses(parseGraph(text), [noop('a'), breaker], passContext({ verify: true })));
    expect(e.code).toBe('GC0301');
    expect(e.summary).toMatch(/^in pass 'breaker' \(after a\): graph @f is malformed/);
    expect(e.message).toMatch(/note: operand 0 \(%\d+\) is used before its definition/);
  });

  it('names the round when a pass fails after the first', () => {
    let n = 0;
    const late: Pass = { name: 'late', run: () => { if (++n === 2) throw new Error('second time'); return true; } };
    const e = thrown(() => runPasses(parseGraph(text), [late], passContext()));
    expect(e.summary).toBe("in pass 'late' (round 2, first pass): second time");
  });

  it('stops at maxIterations; under verify a pass that never settles is an error', () => {
    const always: Pass = { name: 'always', run: () => true };
    expect(runPasses(parseGraph(text), [always], passContext(), { maxIterations: 3 })[0]!.runs).toBe(3);
    expect(thrown(() => runPasses(parseGraph(text), [always], passContext({ verify: true }), { maxIterations: 3 })).summary)
      .toMatch(/did not reach a fixed point in 3 rounds/);
  });

  it('looks passes up by name and rejects unknown names', () => {
    expect(resolvePasses(['cse', 'dce']).map((p) => p.name)).toEqual(['cse', 'dce']);
    expect(passByName('forward-identity').name).toBe('forward-identity');
    expect(thrown(() => passByName('nope')).message).toMatch(/unknown pass 'nope'[\s\S]*note: passes: fold-constants, simplify, control-flow, cse, dce/);
  });
});
