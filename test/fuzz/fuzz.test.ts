/**
 * A fixed-seed slice of the differential fuzzer (bench/fuzz, `npm run fuzz` runs it long):
 * random tfjs programs over the traced op set, with named and anonymous symbolic dims and feeds
 * of every kind (another backend's tensors, tfjs-cpu float tensors backed by a Uint8Array or
 * Int32Array, NaN/±Inf, zero-size and batch-1 inputs), run eagerly and compiled (optimized and
 * not). Half the seeds run on cpu, half on wasm; every other program is also exported and run in
 * onnxruntime-node. A smaller slice runs on the onnxruntime engine (against eager cpu) and under
 * 'auto' (against eager wasm, each feed set called until auto has measured both engines and run
 * the one it chose, every result checked), every other program with some inputs as variables the
 * function reads, assigned each feed set. Each program must agree with eager tfjs within the error bound the generator
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
/** Seeds of the onnxruntime engine and auto slices, after the cpu and wasm ones. */
const ORT_SLICE: [Backend, number, number][] = [['onnxruntime', FIRST_SEED + 2 * PER_BACKEND, 60], ['auto', FIRST_SEED + 2 * PER_BACKEND + 60, 20]];

beforeAll(async () => {
  await initBackends();
});

const SLICES: [Backend, number, number][] = [['cpu', FIRST_SEED, PER_BACKEND], ['wasm', FIRST_SEED + PER_BACKEND, PER_BACKEND], ...ORT_SLICE];

describe.each(SLICES)('fuzz slice on %s', (backend, first, count) => {
  for (let seed = first; seed < first + count; seed++) {
    it(`seed ${seed}`, async () => {
      const p = generate(seed);
      expect(analyze(p), 'the generator makes valid programs').not.toBeTypeOf('string');
      // The export runs in onnxruntime-node on every other cpu/wasm program (the engine slices check the engine).
      const ort = (backend === 'cpu' || backend === 'wasm') && seed % 2 === 0;
      // On the engine slices, every other program reads some inputs as variables (bench/fuzz/runner.ts variableInputs).
      const variables = !(backend === 'cpu' || backend === 'wasm') && seed % 2 === 1;
      const r = await runProgram(p, { backends: [backend], ort, optimize: [true, false], variables });
      if (r.skipped) {
        console.warn(`fuzz seed ${seed}: skipped: ${r.skipped}`);
        return;
      }
      const report = r.findings.map((f) => `${f.kind} ${f.where}: ${f.message}`);
      const program = `inputs ${p.inputs.map((i) => `${specSource(i)} (${i.values}, ${i.store})`).join(', ')}\n${functionSource(p)}`;
      expect(report, `seed ${seed} (rerun: npm run fuzz -- --seed ${seed} --cases 1 --backends ${backend}${variables ? ' --variables' : ''})\n${program}`).toEqual([]);
      expect(r.checks).toBeGreaterThan(0);
    });
  }
});

/** 'auto' called with f.sync (gc.accelerate's steps are): ONNX Runtime measured and run synchronously (Session.executeSync). */
const SYNC_FIRST = FIRST_SEED + 2 * PER_BACKEND + 80;
describe('fuzz slice on auto with f.sync', () => {
  for (let seed = SYNC_FIRST; seed < SYNC_FIRST + 20; seed++) {
    it(`seed ${seed}`, async () => {
      const p = generate(seed);
      const variables = seed % 2 === 1;
      const r = await runProgram(p, { backends: ['auto'], ort: false, optimize: [true, false], variables, sync: true });
      if (r.skipped) {
        console.warn(`fuzz seed ${seed}: skipped: ${r.skipped}`);
        return;
      }
      const report = r.findings.map((f) => `${f.kind} ${f.where}: ${f.message}`);
      const program = `inputs ${p.inputs.map((i) => `${specSource(i)} (${i.values}, ${i.store})`).join(', ')}\n${functionSource(p)}`;
      expect(report, `seed ${seed} (rerun: npm run fuzz -- --seed ${seed} --cases 1 --backends auto --sync${variables ? ' --variables' : ''})\n${program}`).toEqual([]);
      expect(r.checks).toBeGreaterThan(0);
    });
  }
});
