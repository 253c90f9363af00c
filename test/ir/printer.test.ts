import { describe, expect, it } from 'vitest';
import { sym } from '../../ir/dim.js';
import { Graph } from '../../ir/graph.js';
import { formatFloat32, formatNumber, printGraph } from '../../ir/printer.js';
import { tensorData } from '../../ir/tensor_data.js';
import { base64Decode, base64Encode } from '../../ir/tensor_bytes.js';
import { cnnGraph, emptyGraph, f32, mlpGraph, oddNamesGraph, SMALL_TEXT, smallGraph, STATE_TEXT, stateGraph } from './fixtures.js';

describe('printGraph', () => {
  it('prints the small graph exactly (shortest f32 decimals, -0, NaN, location, float attr)', () => {
    expect(printGraph(smallGraph())).toBe(SMALL_TEXT);
  });

  it('prints states, assigns, split, named values, symbolic dims and every dtype exactly', () => {
    expect(printGraph(stateGraph())).toBe(STATE_TEXT);
  });

  it('is what Graph.toString prints', () => {
    const g = stateGraph();
    expect(String(g)).toBe(STATE_TEXT);
  });

  it('prints a graph with nothing in it', () => {
    expect(printGraph(emptyGraph())).toBe('graph @empty() {\n  return\n}');
  });

  it('numbers unnamed values in definition order, skipping names', () => {
    const g = new Graph();
    const x = g.addInput('x', f32(3));
    const a = g.add('exp', [x]);
    const b = g.add('neg', [a]);
    g.setName(b, 'b');
    const c = g.add('relu', [b]);
    g.add('tanh', [c]);
    expect(printGraph(g).split('\n').slice(1, 5)).toEqual([
      '  %0: f32[3] = exp %x',
      '  %b: f32[3] = neg %0',
      '  %1: f32[3] = relu %b',
      '  %2: f32[3] = tanh %1',
    ]);
  });

  it('sorts attrs by name and prints each kind', () => {
    const g = new Graph();
    const x = g.addInput('x', f32(sym('n'), 8, 8, 2));
    g.add('conv2d', [x, g.add('const', [], { value: tensorData('float32', [1, 1, 2, 1], [0.5, -1.25]) })],
      { strides: [1, 1], padding: 'valid', pads: [0, 0, 0, 0], dilations: [1, 1] });
    g.add('fill', [], { shape: [sym('n', 2, -1), 3], value: 1e-7, dtype: 'int32' });
    const lines = printGraph(g).split('\n');
    expect(lines[1]).toBe('  %0: f32[1,1,2,1] = const {value = dense<f32[1,1,2,1]> [0.5, -1.25]}');
    expect(lines[2]).toBe('  %1: f32[n,8,8,1] = conv2d %x, %0 {dilations = [1, 1], padding = "valid", pads = [0, 0, 0, 0], strides = [1, 1]}');
    expect(lines[3]).toBe('  %2: i32[2*n-1,3] = fill {dtype = i32, shape = [2*n-1, 3], value = 1e-7}');
  });

  it('prints tensors over 16 elements as base64 of the little-endian bytes', () => {
    const text = printGraph(cnnGraph());
    const values = Array.from({ length: 100 }, (_, i) => i * i - 50);
    const b64 = Buffer.from(new Int32Array(values).buffer).toString('base64');
    expect(text).toContain(`%7: i32[100] = const {value = dense<i32[100]> b64"${b64}"}`);
    const i64 = Buffer.from(new BigInt64Array(Array.from({ length: 20 }, (_, i) => -(2n ** 62n) + BigInt(i))).buffer).toString('base64');
    expect(text).toContain(`dense<i64[20]> b64"${i64}"`);
    const bools = Buffer.from(Array.from({ length: 17 }, (_, i) => (i % 3 === 0 ? 1 : 0))).toString('base64');
    expect(text).toContain(`dense<bool[17]> b64"${bools}"`);
  });

  it('prints the state init of the 784×10 kernel as base64 after the nodes', () => {
    const g = mlpGraph();
    const lines = printGraph(g).split('\n');
    expect(lines[0]).toBe('graph @mlp(%x: f32[batch,784], %y: i32[batch]) state(%dense_kernel: f32[784,10] = "dense/kernel" trainable, %dense_bias: f32[10] = "dense/bias") {');
    expect(lines[1]).toBe('  %0: f32[batch,10] = matmul %x, %dense_kernel {transpose_a = false, transpose_b = false} @ "examples/mlp.ts":14:10');
    expect(lines[2]).toBe('  %logits: f32[batch,10] = add %0, %dense_bias @ "examples/mlp.ts":15:3');
    const init = lines.find((l) => l.startsWith('  init %dense_kernel = dense<f32[784,10]> b64"'))!;
    const b64 = /b64"([^"]*)"/.exec(init)![1]!;
    expect(b64).toBe(Buffer.from(g.states[0]!.init.data.buffer).toString('base64'));
    expect(lines).toContain('  init %dense_bias = dense<f32[10]> [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]');
    expect(lines.at(-2)).toBe('  return loss = %6, logits = %logits');
  });

  it('quotes names that are not identifiers and keeps a NaN payload via base64', () => {
    expect(printGraph(oddNamesGraph())).toBe([
      'graph @"model/call"(%"input:0": f32[2]) {',
      '  %0: f32[2] = const {value = dense<f32[2]> b64"AACAPyMBwH8="}',
      '  %"a b": f32[2] = sub %"input:0", %0 @ "dir with space/\\"quoted\\".ts":1:1',
      '  return "out put" = %"a b"',
      '}',
    ].join('\n'));
  });
});

describe('number and byte formatting', () => {
  it('formats doubles in their shortest exact form', () => {
    for (const x of [0.1, 1 / 3, 1e21, 5e-324, -1.5e-300, 2 ** 53 + 2]) expect(Number(formatNumber(x))).toBe(x);
    expect(formatNumber(-0)).toBe('-0');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
    expect(formatNumber(0.1)).toBe('0.1');
  });

  it('formats float32 values with the fewest digits that round back', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(Math.fround(16777217))).toBe('16777216');
    expect(formatFloat32(Math.fround(3.4028234663852886e38))).toBe('3.4028235e+38');
    expect(formatFloat32(Math.fround(1e-45))).toBe('1e-45');
    const xs = new Float32Array(new Uint32Array(Array.from({ length: 2000 }, (_, i) => (i * 2654435761) >>> 0)).buffer);
    for (const x of xs) if (!Number.isNaN(x)) expect(Math.fround(Number(formatFloat32(x)))).toBe(x);
  });

  it('base64 agrees with Buffer for every padding length', () => {
    for (let n = 0; n < 10; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 13) & 255);
      const s = base64Encode(bytes);
      expect(s).toBe(Buffer.from(bytes).toString('base64'));
      expect([...base64Decode(s)!]).toEqual([...bytes]);
    }
    expect(base64Decode('AB=C')).toBeUndefined();
    expect(base64Decode('ABC')).toBeUndefined();
  });
});
