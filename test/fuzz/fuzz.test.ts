/**
 * A fixed-seed slice of the differential fuzzer (bench/fuzz, `npm run fuzz` runs it long):
 * random tfjs programs over the traced op set, with named and anonymous symbolic dims and feeds
 * of every kind (another backend's tensors, tfjs-cpu float tensors backed by a Uint8Array or
 * Int32Array, NaN/±Inf, zero-size and batch-1 inputs), run eagerly and compiled (optimized and
 * not). Half the seeds run on cpu, half on wasm; every other program is also exported and run in
 * onnxruntime-node. Each program must agree with eager tfjs within the error bound the generator
 * derives for it (bench/fuzz/abstract.ts; exact for int32/bool and for exact floats).
 *
 * A failure prints the program as tfjs source; `npm run fuzz -- --seed S --cases 1` reruns it
 * and prints a minimised reproduction.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, functionSource, generate, specSource } from '../../bench/fuzz/program.js';
import type { Backend } from '../../bench/fuzz/runner.js';
import { initBackends, runProgram } from '../../bench/fuzz/runner.js';

const FIRST_SEED = 20_000;
const PER_BACKEND = 150;

beforeAll(async () => {
  await initBackends();
});

describe.each(['cpu', 'wasm'] as Backend[])('fuzz slice on %s', (backend) => {
  const first = FIRST_SEED + (backend === 'cpu' ? 0 : PER_BACKEND);
  for (let seed = first; seed < first + PER_BACKEND; seed++) {
    it(`seed ${seed}`, async () => {
      const p = generate(seed);
      expect(analyze(p), 'the generator makes valid programs').not.toBeTypeOf('string');
      const r = await runProgram(p, { backends: [backend], ort: seed % 2 === 0, optimize: [true, false] });
      if (r.skipped) {
        console.warn(`fuzz seed ${seed}: skipped: ${r.skipped}`);
        return;
      }
      const report = r.findings.map((f) => `${f.kind} ${f.where}: ${f.message}`);
      const program = `inputs ${p.inputs.map((i) => `${specSource(i)} (${i.values}, ${i.store})`).join(', ')}\n${functionSource(p)}`;
      expect(report, `seed ${seed} (rerun: npm run fuzz -- --seed ${seed} --cases 1)\n${program}`).toEqual([]);
      expect(r.checks).toBeGreaterThan(0);
    });
  }
});
