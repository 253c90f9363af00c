/**
 * `npm run bench` — graphc against eager tfjs and ONNX Runtime, plus compile-time scaling.
 *
 *   npm run bench -- [--quick] [--only NAME[,NAME…]] [--backends wasm,cpu,webgpu] [--json out.json]
 *                    [--no-ort] [--no-scaling] [--rounds N] [--budget MS]
 *
 * --only keeps rows whose id contains NAME (mlp_predict, mlp_predict/b=64, cnn, eltwise,
 * mlp_train, scaling). Writes the results as JSON (default bench/results.json).
 */
import '../src/tfjs_setup.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatResult, runBench } from './harness.js';
import { parseArgs } from './run_args.js';

async function main(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const out = resolve(o.json || fileURLToPath(new URL('../../bench/results.json', import.meta.url)));
  const t = performance.now();
  const result = await runBench({ ...o, log: o.verbose ? (s) => console.error(s) : (s) => process.stderr.write(`${s.length > 160 ? `${s.slice(0, 157)}...` : s}\n`) });
  console.log(formatResult(result));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
