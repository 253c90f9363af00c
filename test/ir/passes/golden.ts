/**
 * Golden pass tests in IR text, MLIR style:
 *
 *   // RUN: cse,dce                       passes to run to a fixed point (verify on)
 *   // RUN: fold-constants max-fold=2     options: max-fold=N, no-eval, backend=NAME (its traits)
 *   graph @f(...) { ... }
 *   // EXPECT:
 *   graph @f(...) { ... }                 or `// EXPECT: unchanged`
 *
 * The expected text is parsed and printed again, so it may use any numbering.
 *
 * Regenerating: `GRAPHC_UPDATE_GOLDEN=1 npx vitest run test/ir/passes` writes each failing
 * case's actual output over its EXPECT block in the test file (`// EXPECT: unchanged` when the
 * passes leave the graph as it was); review the result as a diff. A case whose text is built at
 * run time (interpolated) is not found in its file and still fails, to be updated by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Graph } from '../../../ir/graph.js';
import { parseGraph } from '../../../ir/parser.js';
import { printGraph } from '../../../ir/printer.js';
import { runPasses } from '../../../ir/passes/manager.js';
import type { PassContext, PassReport } from '../../../ir/passes/pass.js';
import { passByName } from '../../../ir/passes/registry.js';
import { backendTraits } from '../../../runtime/backends/traits.js';
import { evalNodeConst } from '../../../runtime/eval_const.js';

const failFlag = (f: string): never => { throw new Error(`unknown backend in RUN flag ${f}`); };

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
    else if (k === 'backend') ctx.backend = backendTraits(v) ?? failFlag(f);
    else throw new Error(`unknown RUN flag ${f}`);
  }
  const input = parseGraph(inputText);
  const before = printGraph(input);
  const output = parseGraph(inputText);
  const report = runPasses(output, names!.split(',').map(passByName), ctx);
  const expected = /^\s*unchanged\s*$/.test(expectText) ? before : printGraph(parseGraph(expectText));
  return { actual: printGraph(output), expected, input, output, report };
}

/** Runs a golden case and compares whole texts (or, under GRAPHC_UPDATE_GOLDEN=1, rewrites its EXPECT block). */
export function checkGolden(text: string): GoldenResult {
  const r = runGolden(text);
  if (r.actual !== r.expected && process.env.GRAPHC_UPDATE_GOLDEN === '1' && updateGolden(text, r)) return r;
  expect(r.actual).toBe(r.expected);
  return r;
}

/**
 * Writes `r.actual` as the EXPECT block of the case `text` in the test file that called
 * checkGolden (found on the stack). False when the case's text is not in that file as written.
 */
function updateGolden(text: string, r: GoldenResult): boolean {
  const caller = (new Error().stack ?? '').split('\n')
    .map((l) => /(?:file:\/\/)?(\/[^\s()]+\.test\.ts):\d+:\d+/.exec(l)?.[1])
    .find((f) => f !== undefined);
  if (caller === undefined) return false;
  const source = readFileSync(caller, 'utf8');
  const at = source.indexOf(text);
  if (at < 0 || source.indexOf(text, at + 1) >= 0) return false;
  const mark = /^\s*\/\/ EXPECT:/m.exec(text)!;
  const head = text.slice(0, mark.index + mark[0].length);
  const trailing = /\s*$/.exec(text)![0];
  const block = r.actual === printGraph(r.input) ? ' unchanged' : `\n${r.actual.trimEnd()}`;
  writeFileSync(caller, source.slice(0, at) + head + block + trailing + source.slice(at + text.length));
  console.warn(`golden: updated a case in ${caller}`);
  return true;
}
