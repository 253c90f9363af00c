/**
 * The benchmark harness on tiny sizes (cpu only, a few rounds): the table and JSON have
 * their structure and every timing is a positive finite number. No timing is asserted.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CASES } from '../../bench/cases.js';
import { formatResult, measureInterleaved, median, runBench, VARIANTS } from '../../bench/harness.js';
import type { BenchResult } from '../../bench/harness.js';
import { buildGraph } from '../../bench/scaling.js';
import { parseArgs } from '../../bench/run_args.js';

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('bench harness', () => {
  it('measures interleaved, rotating the order each round', async () => {
    const order: string[] = [];
    const v = (name: string) => ({ name, run: async () => { order.push(name); } });
    const { samples, rounds } = await measureInterleaved([v('a'), v('b'), v('c')], { warmup: 1, minRounds: 3, maxRounds: 3, budgetMs: 0 });
    expect(rounds).toBe(3);
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    expect([...samples.values()].map((s) => s.length)).toEqual([3, 3, 3]);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('parses the command line', () => {
    expect(parseArgs(['--quick', '--only', 'mlp,cnn', '--backends=wasm,cpu', '--json', 'o.json', '--no-ort'])).toMatchObject({
      quick: true, only: ['mlp', 'cnn'], backends: ['wasm', 'cpu'], json: 'o.json', ort: false });
    expect(() => parseArgs(['--backends', 'tpu'])).toThrow(/tpu/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown flag/);
  });

  it('builds scaling graphs of the requested size', () => {
    expect(buildGraph(500).nodes.length).toBeGreaterThanOrEqual(500);
    expect(buildGraph(500).nodes.length).toBeLessThan(510);
  });

  it('runs every case on cpu at tiny sizes and reports a well-formed result', async () => {
    const before = tf.memory().numTensors;
    const r: BenchResult = await runBench({ tiny: true, backends: ['cpu'], scalingSizes: [100, 1000] });
    const json = JSON.parse(JSON.stringify(r)) as BenchResult;

    expect(json.meta).toMatchObject({ tiny: true, backends: ['cpu'] });
    const expectedRows = CASES.flatMap((c) => c.tinySizes.map((n) => `${c.name}/${c.size(n)}`));
    expect(json.rows.map((x) => x.id)).toEqual(expectedRows);
    for (const row of json.rows) {
      expect(row.backend).toBe('cpu');
      expect(row.rounds).toBeGreaterThanOrEqual(2);
      const def = CASES.find((c) => c.name === row.case)!;
      for (const v of VARIANTS) {
        if (v === 'ort' && def.noOrt) expect(row.ms.ort).toBeNull();
        else expect(positive(row.ms[v]), `${row.id} ${v}: ${row.ms[v]}`).toBe(true);
      }
      expect(positive(row.ratios.eagerOverOpt)).toBe(true);
      expect(positive(row.ratios.unoptOverOpt)).toBe(true);
      if (def.noOrt) expect(row.ratios.optOverOrt).toBeNull();
      else expect(positive(row.ratios.optOverOrt)).toBe(true);
      // The variants compute the same thing (float tolerance: ORT and tfjs round differently).
      expect(row.maxAbsDiff.opt!).toBeLessThan(1e-4);
      expect(row.maxAbsDiff.unopt!).toBeLessThan(1e-4);
      if (!def.noOrt) expect(row.maxAbsDiff.ort!).toBeLessThan(1e-4);
      expect(row.tensorGrowth, `${row.id} leaks tensors`).toBe(0);
      expect(row.nodes.opt).toBeGreaterThan(0);
    }

    expect(json.scaling.map((s) => `${s.variant}/${s.target}`)).toEqual(['graph-api/100', 'graph-api/1000', 'traced/100', 'traced/1000']);
    for (const s of json.scaling) {
      expect(s.nodes).toBeGreaterThan(s.target * 0.8);
      for (const k of ['buildMs', 'optimizeMs', 'exportMs'] as const) expect(positive(s[k]), `${s.variant}/${s.target} ${k}`).toBe(true);
    }
    expect(json.targets.length).toBeGreaterThan(0);
    for (const t of json.targets) expect(t).toHaveProperty('met');

    const table = formatResult(r);
    expect(table).toMatch(/row\s+backend\s+eager\s+unopt\s+opt\s+ORT\s+eager\/opt\s+unopt\/opt\s+opt\/ORT/);
    for (const id of expectedRows) expect(table).toContain(id);
    expect(table).toMatch(/mlp_train\/b=4\s+cpu(\s+\S+){3}\s+n\/a/);
    expect(table).toContain('compile time');
    expect(table).toContain('targets (reported, not asserted)');
    // Models, optimizers and sessions are disposed.
    await new Promise((res) => setTimeout(res, 0));
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
