/**
 * Golden pass tests in IR text, MLIR style:
 *
 *   // RUN: cse,dce                       passes to run to a fixed point (verify on)
 *   // RUN: fold-constants max-fold=2     options: max-fold=N, no-eval, backend=NAME
 *   graph @f(...) { ... }
 *   // EXPECT:
 *   graph @f(...) { ... }                 or `// EXPECT: unchanged`
 *
 * The expected text is parsed and printed again, so it may use any numbering.
 */
import { expect } from 'vitest';
import type { Graph } from '../../../ir/graph.js';
import { parseGraph } from '../../../ir/parser.js';
import { printGraph } from '../../../ir/printer.js';
import { runPasses } from '../../../ir/passes/manager.js';
import type { PassContext, PassReport } from '../../../ir/passes/pass.js';
import { passByName } from '../../../ir/passes/registry.js';
import { evalNodeConst } from '../../../runtime/eval_const.js';

export interface GoldenResult { actual: string; expected: string; input: Graph; output: Graph; report: PassReport[] }

export function runGolden(text: string): GoldenResult {
  const run = /^\s*\/\/ RUN: *(.*)$/m.exec(text);
  if (!run) throw new Error('golden test without a // RUN: line');
  const [names, ...flags] = run[1]!.trim().split(/\s+/);
  const [inputText, expectText] = text.split(/^\s*\/\/ EXPECT:/m) as [string, string | undefined];
  if (expectText === undefined) throw new Error('golden test without // EXPECT:');
  const ctx: PassContext = { evaluate: evalNodeConst, maxFoldElements: 1 << 20, verify: true };
  for (const f of flags) {
    const [k, v] = f.split('=') as [string, string | undefined];
    if (k === 'max-fold') ctx.maxFoldElements = Number(v);
    else if (k === 'no-eval') delete ctx.evaluate;
    else if (k === 'backend') ctx.backend = v!;
    else throw new Error(`unknown RUN flag ${f}`);
  }
  const input = parseGraph(inputText);
  const before = printGraph(input);
  const output = parseGraph(inputText);
  const report = runPasses(output, names!.split(',').map(passByName), ctx);
  const expected = /^\s*unchanged\s*$/.test(expectText) ? before : printGraph(parseGraph(expectText));
  return { actual: printGraph(output), expected, input, output, report };
}

/** Runs a golden case and compares whole texts. */
export function checkGolden(text: string): GoldenResult {
  const r = runGolden(text);
  expect(r.actual).toBe(r.expected);
  return r;
}
