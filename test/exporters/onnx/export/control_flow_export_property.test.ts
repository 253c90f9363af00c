/**
 * Property: random programs with control flow (nested conds, while loops with data-dependent
 * trip counts and maximum_iterations, scans both ways, unused / duplicate / constant captures;
 * test/ir/control_flow_programs.ts), as traced and after the default
 * passes, export to ONNX models that pass onnx.checker (full_check) and that ONNX Runtime runs
 * with graphc cpu's numbers at batch 1 and 4.
 */
import { describe, expect, it } from 'vitest';
import '../../../../src/tfjs_setup.js';
import { Graph } from '../../../../ir/graph.js';
import { printGraph } from '../../../../ir/printer.js';
import { optimize } from '../../../../src/optimize.js';
import { toOnnx } from '../../../../exporters/onnx/export/export.js';
import { checkModels, compareWithSession, makeInputs } from '../harness.js';
import { program } from '../../../ir/control_flow_programs.js';

const SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);

describe('control flow export property', () => {
  it(`${SEEDS.length} random programs, traced and optimized: checker full_check, ORT ≡ graphc cpu at batch 1 and 4`, async () => {
    const models = new Map<string, Uint8Array>();
    const graphs = new Map<string, Graph>();
    for (const seed of SEEDS) {
      const g = program(seed);
      for (const [kind, graph] of [['traced', g], ['optimized', optimize(g, { backend: 'cpu', verify: true }).graph]] as const) {
        const key = `seed ${seed} ${kind}`;
        graphs.set(key, graph);
        models.set(key, toOnnx(graph, { opset: 17 }));
      }
    }
    const bad = [...checkModels(models)].filter(([, err]) => err !== null);
    expect(bad).toEqual([]);
    for (const [key, graph] of graphs) {
      for (const batch of [1, 4]) {
        const problems = await compareWithSession(graph, models.get(key)!, makeInputs(graph, { batch }, batch * 7 + 1));
        expect(problems, `${key}, batch ${batch}\n${printGraph(graph)}`).toEqual([]);
      }
    }
  }, 300_000);
});
