/**
 * Runs the ONNX backend node tests through graphc and prints one line a case and the totals.
 *
 *   npx tsx bench/conformance.ts [--dir DIR] [--backend cpu|wasm|webgpu|tensorflow] [--executor auto|tensors] [--filter REGEX] [--failures] [--round-trip]
 *
 * --round-trip exports each imported graph with toOnnx and imports it again before running.
 */
import '../src/tfjs_setup.js';
import { formatReport, runConformance } from './onnx_conformance.js';
import type { BackendName } from '../runtime/backends/select.js';

export const DEFAULT_NODE_TESTS = '/usr/share/libonnx-testdata/data/node';

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const dir = arg('--dir') ?? DEFAULT_NODE_TESTS;
  const filter = arg('--filter');
  const report = await runConformance(dir, {
    backend: (arg('--backend') ?? 'cpu') as BackendName,
    filter: filter ? new RegExp(filter) : undefined,
    roundTrip: argv.includes('--round-trip'),
    executor: (arg('--executor') ?? 'auto') as 'auto' | 'tensors',
  });
  console.log(formatReport(report, { onlyFailures: argv.includes('--failures') }));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
