/**
 * The ONNX backend node tests (Debian's libonnx-testdata) imported with fromOnnx and run by
 * graphc's Session on the cpu backend; then again with each imported graph exported by
 * toOnnx and imported once more. The pass counts must not fall below the floors kept in
 * conformance_floor.json; the floors only ever rise (the test says when to raise them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../../src/tfjs_setup.js';
import { formatReport, runConformance } from '../../bench/onnx_conformance.js';

const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';
if (!existsSync(NODE_TESTS)) console.warn(`skipping ONNX conformance: ${NODE_TESTS} is absent (apt-get install libonnx-testdata; .ci/run does)`);
const FLOOR_FILE = new URL('./conformance_floor.json', import.meta.url);
const floors = JSON.parse(readFileSync(FLOOR_FILE, 'utf8')) as { pass: number; roundTripPass?: number };

describe('ONNX backend node tests', () => {
  it.skipIf(!existsSync(NODE_TESTS))(`pass count ≥ the floor (${floors.pass})`, async () => {
    const report = await runConformance(NODE_TESTS, { backend: 'cpu' });
    console.log(formatReport(report, { onlyFailures: true }));
    const { pass, numeric } = report.totals;
    if (pass > floors.pass) {
      console.log(`note: ${pass} cases pass, above the floor of ${floors.pass}: raise "pass" in test/exporters/conformance_floor.json to ${pass}`);
    }
    expect(pass, `${pass}/${numeric} plain-numeric cases pass; the floor is ${floors.pass}`).toBeGreaterThanOrEqual(floors.pass);
  }, 600_000);

  const rtFloor = floors.roundTripPass ?? 0;
  it.skipIf(!existsSync(NODE_TESTS))(`through toOnnx and back: pass count ≥ the floor (${rtFloor})`, async () => {
    const report = await runConformance(NODE_TESTS, { backend: 'cpu', roundTrip: true });
    console.log(formatReport({ ...report, results: report.results.filter((r) => r.reason.startsWith('round trip')) }));
    const { pass, numeric } = report.totals;
    if (pass > rtFloor) {
      console.log(`note: ${pass} cases pass the round trip, above the floor of ${rtFloor}: raise "roundTripPass" in test/exporters/conformance_floor.json to ${pass}`);
    }
    expect(pass, `${pass}/${numeric} plain-numeric cases pass through toOnnx and back; the floor is ${rtFloor}`).toBeGreaterThanOrEqual(rtFloor);
  }, 600_000);
});
