/**
 * Property: on random programs with control flow (nested conds, while loops with data-dependent
 * trip counts, scans; unused and duplicate captures, captured constants, loop-invariant code,
 * constant predicates), the optimized graph (the default passes, verified after each) computes
 * what the original computes, on cpu and wasm at two batch sizes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import 'graphc';
import { printGraph } from '../../ir/printer.js';
import { optimize } from '../../src/optimize.js';
import { Session } from '../../runtime/session.js';
import { program } from '../ir/control_flow_programs.js';

const SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);

for (const backend of ['cpu', 'wasm']) {
  describe(`control flow property on ${backend}`, () => {
    beforeAll(async () => { await tf.setBackend('cpu'); });

    it(`optimized ≡ unoptimized on ${SEEDS.length} random programs, batch 1 and 4`, async () => {
      let regions = 0, hoisted = 0;
      for (const seed of SEEDS) {
        const g = program(seed);
        const opt = optimize(g, { backend, verify: true }).graph;
        regions += g.nodes.filter((n) => n.regions.length > 0).length;
        hoisted += Number(printGraph(opt).length < printGraph(g).length);
        const [a, b] = [await Session.create(g, { backend: backend as 'cpu' }), await Session.create(opt, { backend: backend as 'cpu' })];
        for (const batch of [1, 4]) {
          const feeds = { x: tf.randomNormal([batch, 3], 0, 1, 'float32', seed), y: tf.randomNormal([batch, 3], 0, 1, 'float32', seed + 1) };
          const want = a.runSync(['out', 'mid'], feeds) as tf.Tensor[];
          const got = b.runSync(['out', 'mid'], feeds) as tf.Tensor[];
          want.forEach((w, i) => {
            expect(got[i]!.shape, `seed ${seed}`).toEqual(w.shape);
            const wv = w.dataSync(), gv = got[i]!.dataSync();
            wv.forEach((v, k) => expect(gv[k]!, `seed ${seed} batch ${batch} output ${i}[${k}]\n${printGraph(g)}`).toBeCloseTo(v, 4));
          });
          tf.dispose([...want, ...got, feeds.x, feeds.y]);
        }
        a.dispose(); b.dispose();
      }
      // The programs do hold control flow, and the passes do change them.
      expect(regions).toBeGreaterThan(SEEDS.length);
      expect(hoisted).toBeGreaterThan(SEEDS.length / 2);
    }, 120_000);
  });
}
