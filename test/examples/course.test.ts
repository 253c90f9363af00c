/**
 * The course example (examples/fashion_course.ts) on a slice of Fashion-MNIST: 3000 training,
 * 500 validation and 1000 test images, three epochs. Checks the files it writes against the
 * History, the learning-rate schedule, best-weights restore, and that the exported ONNX models
 * give the same predictions in onnxruntime-node as the tfjs models.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import {
  checkOnnx, exportAndCheck, graphcExportCheck, saveLayersModel, trainCourse, trainFunctional, trainSubclassed,
} from '../../examples/fashion_course.js';
import type { CourseRun } from '../../examples/fashion_course.js';
import { loadCourseData, splitTensors } from '../../examples/lib/course_data.js';
import type { CourseData } from '../../examples/lib/course_data.js';
import { FASHION_MNIST_DIR } from '../../src/data/idx.js';

const haveData = existsSync(path.join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

describe.skipIf(!haveData)('the course workflow on a slice of Fashion-MNIST', () => {
  let out: string;
  let data: CourseData;
  let run: CourseRun;
  // Epochs 1–2 run at 1e-3 and 5e-4; epoch 3's rate (0.3) wrecks an Adam MLP, so the best epoch is not the last.
  const rate = (e: number) => [1e-3, 5e-4][e] ?? 0.3;

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'graphc-course-'));
    data = loadCourseData({ limitTrain: 3500, valSize: 500, limitTest: 1000 });
    run = await trainCourse(data, { epochs: 3, rate, patience: 5, out, progress: false, seed: 1 });
  }, 600_000);
  afterAll(() => { if (out) rmSync(out, { recursive: true, force: true }); });

  it('splits and standardises the data as the course does', () => {
    expect([data.train.count, data.val.count, data.test.count]).toEqual([3000, 500, 1000]);
    let s = 0, q = 0;
    for (const v of data.train.images) { s += v; q += v * v; }
    const n = data.train.images.length;
    expect(Math.abs(s / n)).toBeLessThan(1e-4);
    expect(Math.abs(q / n - 1)).toBeLessThan(1e-3);
  });

  it('runs the steps compiled and sets the learning rate per epoch without retracing', () => {
    const acc = gc.accelerated(run.model);
    expect(acc).toBeDefined();
    expect(acc!.compiledRuns).toBeGreaterThan(0);
    expect(acc!.eagerRuns).toBe(0);
    expect(run.schedule.rates).toEqual([1e-3, 5e-4, 0.3]);
    expect((run.model.optimizer as unknown as { learningRate: number }).learningRate).toBe(0.3);
    // One trace each for the train and the test function, whatever the rate and the last batch's size.
    expect(acc!.traceCount).toBe(acc!.functions().size);
  });

  it('writes a CSV with one row per epoch holding the History', () => {
    const lines = readFileSync(run.files.csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('epoch,loss,acc,val_loss,val_acc,lr');
    expect(lines).toHaveLength(1 + 3);
    const h = run.history.history;
    lines.slice(1).forEach((line, i) => {
      const cells = line.split(',').map(Number);
      expect(cells.every(Number.isFinite)).toBe(true);
      expect(cells[0]).toBe(i + 1);
      (['loss', 'acc', 'val_loss', 'val_acc'] as const).forEach((k, j) => expect(cells[j + 1]).toBe(Number(h[k]![i])));
      expect(cells[5]).toBe(run.schedule.rates[i]);
    });
  });

  it('writes an SVG (well-formed XML) with a polyline per curve and a point per epoch', () => {
    const script = [
      'import json, sys, xml.etree.ElementTree as ET',
      'root = ET.parse(sys.argv[1]).getroot()',
      "best = [float(l.get('x1')) for l in root.iter('{http://www.w3.org/2000/svg}line') if l.get('class') == 'best']",
      "print(json.dumps({'root': root.tag, 'best': best, 'curves': [[p.get('data-series'), [list(map(float, xy.split(','))) for xy in p.get('points').split()]] for p in root.iter('{http://www.w3.org/2000/svg}polyline') if p.get('class') == 'curve']}))",
    ].join('\n');
    const parsed = JSON.parse(execFileSync('python3', ['-c', script, run.files.svg], { encoding: 'utf8' })) as { root: string; best: number[]; curves: [string, number[][]][] };
    expect(parsed.root).toBe('{http://www.w3.org/2000/svg}svg');
    expect(parsed.curves.map((c) => c[0])).toEqual(['loss', 'val_loss', 'acc', 'val_acc']);
    // The restored epoch is marked in both panels, at its points' x.
    expect(parsed.best).toEqual([parsed.curves[0]![1][run.stopper.bestEpoch]![0]!, parsed.curves[2]![1][run.stopper.bestEpoch]![0]!]);
    for (const [key, pts] of parsed.curves) {
      expect(pts, key).toHaveLength(3);
      // x increases with the epoch; a higher value is drawn higher up (smaller y).
      expect(pts[0]![0]!).toBeLessThan(pts[1]![0]!);
      const v = run.history.history[key]!.map(Number);
      for (let i = 0; i < 2; i++) if (v[i]! !== v[i + 1]!) expect(Math.sign(pts[i]![1]! - pts[i + 1]![1]!)).toBe(Math.sign(v[i + 1]! - v[i]!));
    }
  });

  it('restores the weights of the epoch with the lowest val_loss', async () => {
    const vl = run.history.history['val_loss']!.map(Number);
    const best = vl.indexOf(Math.min(...vl));
    expect(run.stopper.bestEpoch).toBe(best);
    expect(best).toBeLessThan(2);           // epoch 3 (rate 0.3) was worse…
    expect(vl[2]! - vl[best]!).toBeGreaterThan(0.01);
    expect(run.stopper.restored).toBe(true);
    const val = splitTensors(data.val);
    const r = run.model.evaluate(val.xs, val.ys, { batchSize: 500 }) as tf.Scalar[];
    const loss = (await r[0]!.data())[0]!;
    tf.dispose([val.xs, val.ys, ...r]);
    expect(Math.abs(loss - vl[best]!)).toBeLessThan(1e-5);  // …and its weights are the ones on the model
  });

  it('exports to ONNX with the same predictions, and accuracy, in onnxruntime-node', async () => {
    const check = await exportAndCheck(run.model, data.test, path.join(out, 'course_mlp.onnx'));
    expect(check.tfjsAccuracy).toBeGreaterThan(0.7);
    expect(check.disagreements).toBe(0);
    expect(check.ortAccuracy).toBe(check.tfjsAccuracy);
    expect(check.maxAbsDiff).toBeLessThan(1e-5);
    expect(existsSync(check.file)).toBe(true);
  });

  it('exports through the CLI (model.json → graphc export --check) with the same test accuracy in onnxruntime-node', async () => {
    const json = await saveLayersModel(run.model, path.join(out, 'saved'));
    const file = path.join(out, 'cli.onnx');
    const r = graphcExportCheck(json, file);
    expect(r.stdout).toMatch(/→ probs: f32\[batch,10\]/);
    const passed = /check passed: max \|Δ\| (\S+) ≤ atol/.exec(r.stdout);
    expect(passed, r.stdout).not.toBeNull();
    expect(Number(passed![1])).toBeLessThan(1e-4);
    const check = await checkOnnx(run.model, data.test, file);
    expect(check.disagreements).toBe(0);
    expect(check.ortAccuracy).toBe(check.tfjsAccuracy);
  }, 300_000);

  it('trains and exports a Functional model with two inputs and two outputs', async () => {
    const r = await trainFunctional(data, { epochs: 2, out });
    expect(Object.keys(r.history.history).sort()).toEqual(
      ['class_acc', 'class_loss', 'loss', 'top_ink_loss', 'val_class_acc', 'val_class_loss', 'val_loss', 'val_top_ink_loss']);
    const first = Number(r.history.history['top_ink_loss']![0]), last = Number(r.history.history['top_ink_loss']![1]);
    expect(last).toBeLessThan(first);
    expect(r.tfjsAccuracy).toBeGreaterThan(0.6);
    expect(r.ortAccuracy).toBe(r.tfjsAccuracy);
    expect(r.maxAbsDiff).toHaveLength(2);
    for (const d of r.maxAbsDiff) expect(d).toBeLessThan(1e-4);
  });

  it('trains, saves, reloads and exports a model with a subclassed layer of its own weights', async () => {
    const r = await trainSubclassed(data, { epochs: 2, out });
    expect(r.tfjsAccuracy).toBeGreaterThan(0.6);
    expect(r.ortAccuracy).toBe(r.tfjsAccuracy);
    expect(r.maxAbsDiff[0]!).toBeLessThan(1e-5);
    // Saved as model.json and loaded back: GatedDense is rebuilt from its registered class and config.
    expect(r.reloaded.layers).toEqual(['Flatten', 'GatedDense', 'Dense']);
    expect(r.reloaded.weightsMaxAbsDiff).toBe(0);
    expect(r.reloaded.predictMaxAbsDiff).toBeLessThan(1e-5);
  });
});
