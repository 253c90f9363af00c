/**
 * A fixed-seed slice of the ONNX importer fuzzer (bench/fuzz_onnx.ts; `npm run fuzz:onnx --
 * --cases N` runs it long): mutated and hostile models, each imported and run on cpu and wasm
 * in a child process under a 10 s and 2 GB budget. No case may crash its process, hang, pass
 * the memory budget or fail with anything but a GcError.
 *
 * A failure prints the case's seed and index; `npm run fuzz:onnx -- --seed S --first I
 * --cases 1 --save DIR` reruns it and writes its model.
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, fuzzOnnx } from '../../bench/fuzz_onnx.js';
import { makeCase } from '../../bench/fuzz_onnx/cases.js';
import { loadSeeds } from '../../bench/fuzz_onnx/seeds.js';

const SEED = 9_000;
const CASES = 200;

describe('ONNX importer fuzz slice', () => {
  it(`${CASES} cases of seed ${SEED}: no crash, hang, memory blow-up or non-GcError`, async () => {
    const s = await fuzzOnnx({ seed: SEED, cases: CASES, workers: 2 });
    const report = formatSummary(s, SEED);
    console.log(report);
    expect(s.failures.map((f) => `${f.kind} case ${f.index}: ${f.summary}: ${f.message.split('\n')[0]}`), report).toEqual([]);
    expect(s.leaks, 'cases that left tfjs tensors alive in their worker').toEqual([]);
    // The slice reaches past the importer: some cases import and run, some are refused.
    expect(Object.entries(s.outcomes).filter(([k]) => k.startsWith('imported')).reduce((a, [, v]) => a + v, 0)).toBeGreaterThan(10);
    expect(s.outcomes['GcError at import'] ?? 0).toBeGreaterThan(50);
  }, 300_000);
});

describe('the ONNX fuzz case generator', () => {
  it('makes a case for every index, the same bytes for the same (seed, index), of every kind', () => {
    const seeds = loadSeeds();
    expect(seeds.length).toBeGreaterThan(3);
    const kinds = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const c = makeCase(seeds, 77, i);
      kinds.add(c.kind);
      expect(c.bytes.length, `case ${i}: ${c.summary}`).toBeGreaterThan(0);
    }
    expect([...kinds].sort()).toEqual(['bytes', 'hostile', 'struct']);
    for (const i of [0, 9, 123]) expect(makeCase(seeds, 77, i).bytes).toEqual(makeCase(seeds, 77, i).bytes);
    expect(makeCase(seeds, 77, 5).bytes).not.toEqual(makeCase(seeds, 78, 5).bytes);
  });
});
