/**
 * The course's training loop (bench/course_loop.ts) at a tiny size: compiled with the default
 * options it runs on what `auto` picks, and its per-epoch learning-rate decay reaches the graph
 * without a retrace (a step at learning rate 0 moves no weight). Speed is measured by the bench,
 * never asserted here.
 */
import { describe, expect, it } from 'vitest';
import { runCourseLoop } from '../../bench/course_loop.js';

describe('course training loop (tiny)', () => {
  it('decays the learning rate without recompiling, on the auto backend', async () => {
    const r = await runCourseLoop({ epochs: 3, steps: 2, batch: 8 });
    expect(r.compiledBackend).toBe('wasm');
    expect(r.traceCount).toBe(1);
    expect(r.epochs.map((e) => e.lr)).toEqual([1e-3, 8e-4, 1e-3 * 0.8 ** 2]);
    expect(r.zeroLrMaxChange).toBe(0);
    expect(r.restoredLrMaxChange).toBeGreaterThan(1e-5);
    for (const e of r.epochs) expect(Number.isFinite(e.compiledVal)).toBe(true);
  });
});
