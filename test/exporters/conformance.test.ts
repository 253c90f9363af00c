/**
 * The ONNX backend node tests (Debian's libonnx-testdata) imported with fromOnnx and run by
 * graphc's Session on the cpu backend. The pass count must not fall below the floor kept in
 * conformance_floor.json; the floor only ever rises (the test says when to raise it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../../src/tfjs_setup.js';
import { formatReport, runConformance } from '../../exporters/onnx/conformance.js';

const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';
const FLOOR_FILE = new URL('./conformance_floor.json', import.meta.url);
const floor = (JSON.parse(readFileSync(FLOOR_FILE, 'utf8')) as { pass: number }).pass;

describe('ONNX backend node tests', () => {
  it.skipIf(!existsSync(NODE_TESTS))(`pass count ≥ the floor (${floor})`, async () => {
    const report = await runConformance(NODE_TESTS, { backend: 'cpu' });
    console.log(formatReport(report, { onlyFailures: true }));
    const { pass, numeric } = report.totals;
    if (pass > floor) {
      console.log(`note: ${pass} cases pass, above the floor of ${floor}: raise "pass" in test/exporters/conformance_floor.json to ${pass}`);
    }
    expect(pass, `${pass}/${numeric} plain-numeric cases pass; the floor is ${floor}`).toBeGreaterThanOrEqual(floor);
  }, 600_000);
});
