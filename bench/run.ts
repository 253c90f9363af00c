/**
 * `npm run bench` — graphc against eager tfjs and ONNX Runtime, plus compile-time scaling.
 *
 *   npm run bench -- [--quick] [--only NAME[,NAME…]] [--backends wasm,cpu,webgpu] [--json out.json]
 *                    [--no-ort] [--no-scaling] [--rounds N] [--budget MS]
 *
 * --only keeps rows whose id contains NAME (mlp_predict, mlp_predict/b=64, cnn, eltwise,
 * mlp_train, scaling, course_loop, ort_export). Writes the results as JSON (default bench/results.json).
 */
import '../src/tfjs_setup.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatResult, runBench } from './harness.js';
import { parseArgs } from './run_args.js';
import { runCourseLoop } from './course_loop.js';
import { formatOrtExport, runOrtExport } from './ort_export.js';

async function main(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const out = resolve(o.json || fileURLToPath(new URL('../../bench/results.json', import.meta.url)));
  const t = performance.now();
  const result = await runBench({ ...o, log: o.verbose ? (s) => console.error(s) : (s) => process.stderr.write(`${s.length > 160 ? `${s.slice(0, 157)}...` : s}\n`) });
  console.log(formatResult(result));
  // The course's training loop as a user writes it: eager on tfjs's default backend vs compiled
  // with default options (bench/course_loop.ts; --only course_loop runs just this).
  let course: Awaited<ReturnType<typeof runCourseLoop>> | undefined;
  if (!o.only || o.only.some((n) => 'course_loop'.includes(n))) {
    course = await runCourseLoop(o.quick ? { epochs: 2, steps: 5, batch: 16 } : {});
    console.log(`\ncourse_loop (Sequential + dropout + L2, Adam with per-epoch decay, batch ${o.quick ? 16 : 64}): eager on '${course.eagerBackend}' ${course.eagerMsPerStep.toFixed(2)} ms/step, ` +
      `compiled (default options → '${course.compiledBackend}') ${course.compiledMsPerStep.toFixed(2)} ms/step: ${course.speedup.toFixed(2)}×; ` +
      `decay without retrace: traceCount ${course.traceCount}, step at lr 0 moved weights by ${course.zeroLrMaxChange}`);
  }
  // ONNX Runtime on graphc's export vs the same networks built by hand (bench/ort_export.ts; --only ort_export).
  let ortExport: Awaited<ReturnType<typeof runOrtExport>> | undefined;
  if (o.ort !== false && (!o.only || o.only.some((n) => 'ort_export'.includes(n)))) {
    ortExport = await runOrtExport({ quick: !!o.quick, ...(o.verbose ? { log: (s: string) => console.error(s) } : {}) });
    console.log(`\n${formatOrtExport(ortExport)}`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...result, ...(course ? { course_loop: course } : {}), ...(ortExport ? { ort_export: ortExport } : {}) }, null, 2)}\n`);
  console.log(`\nwrote ${out} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
