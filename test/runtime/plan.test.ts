// runtime/plan.ts and the executor seam (runtime/executors/): what a Session hands its executors.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { executorsFor } from '../../runtime/executors/choose.js';
import { TensorExecutor } from '../../runtime/executors/tensors.js';
import { WasmDirectExecutor } from '../../runtime/executors/wasm_direct.js';
import { bindDims, bindPlan, buildPlan } from '../../runtime/plan.js';

const build = () => gc.trace((x: tf.Tensor, y: tf.Tensor) => {
  const a = gc.name(tf.exp(x), 'a');
  const b = gc.name(tf.mul(y, 3), 'b');
  return [tf.add(a, 1), tf.sub(b, 1)];
}, [gc.spec(['n']), gc.spec(['n'])]);

describe('execution plan', () => {
  it('schedules only what the fetches need, feeds in the first slots', () => {
    const g = build();
    const p = buildPlan(g, ['b'], ['y'], true);
    expect(p.schedule.map((n) => n.op).filter((op) => op !== 'const')).toEqual(['mul']);
    expect(p.feeds.map((v) => v.name)).toEqual(['y']);
    expect(p.slotOf.get(p.feeds[0]!)).toBe(0);
  });

  it('frees an intermediate after its last use, never a fetch', () => {
    const g = build();
    const p = buildPlan(g, ['output_0'], ['x'], true);
    const ops = p.steps.map((s) => s.node.op);
    const add = p.steps[ops.indexOf('add')]!;
    const exp = p.steps[ops.indexOf('exp')]!;
    expect(add.frees).toContain(exp.outs[0]);
    const fetched = p.slotOf.get(p.fetches[0]!)!;
    expect(p.steps.some((s) => s.frees.includes(fetched))).toBe(false);
  });

  it('binds the symbolic dims from the feeds and checks sizes once per binding', () => {
    const g = build();
    const p = buildPlan(g, ['output_0'], ['x'], true);
    const x = tf.zeros([3]);
    const bindings = bindDims(new Map([[p.feeds[0]!, x]]));
    expect([...bindings]).toEqual([['n', 3]]);
    expect(() => bindPlan(p, bindings, 'cpu', { bytes: 8, source: 'the maxTensorBytes option' })).toThrow(/GC0404[\s\S]*over the limit of/);
    expect(bindPlan(p, bindings, 'cpu', { bytes: 2 ** 31, source: 'the default' })).toBe('n=3');
    expect(p.sized.has('n=3')).toBe(true);
    expect(() => bindDims(new Map([[p.feeds[0]!, tf.zeros([3], 'int32')]]))).toThrow(/input 'x': expected f32\[n\], got int32\[3\]/);
    x.dispose();
  });
});

describe('executors', () => {
  it('a wasm session offers its runs to the direct executor first, then to the tensor executor', () => {
    const kinds = (name: 'wasm' | 'cpu', mode: 'auto' | 'tensors') => executorsFor({ name, tfjsName: name, reason: '' }, mode).map((e) => e.constructor);
    expect(kinds('wasm', 'auto')).toEqual([WasmDirectExecutor, TensorExecutor]);
    expect(kinds('wasm', 'tensors')).toEqual([TensorExecutor]);
    expect(kinds('cpu', 'auto')).toEqual([TensorExecutor]);
  });
});
