/**
 * ONNX If / Loop / Scan imported as cond / while_loop / scan (exporters/onnx/import/rules/
 * control.ts): each model runs in graphc with ONNX Runtime's numbers on the same model, at two
 * sizes; exported again, it holds If / Loop / Scan and ONNX Runtime gives the same numbers.
 * Scan's axes and directions that graphc cannot express are refused naming the attribute.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { tensorFromProto } from '../../../../exporters/onnx/import/tensor.js';
import { attr, model, node, T, tensor, valueInfo } from '../test_util.js';
import { checkModels } from '../harness.js';

const A = onnx.AttributeProto.AttributeType;
const gattr = (name: string, g: onnx.IGraphProto): onnx.IAttributeProto => ({ name, type: A.GRAPH, g });
const f32 = (name: string, dims: (number | string | null)[]) => valueInfo(name, T.FLOAT, dims);

type Feeds = Record<string, { data: Float32Array | BigInt64Array | Uint8Array | Int32Array; dims: number[]; type: 'float32' | 'int64' | 'bool' | 'int32' }>;

async function ortRun(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, { dims: number[]; data: number[] }>> {
  const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type, v.data, v.dims);
  const out = await s.run(f);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: t.dims.map(Number), data: Array.from(t.data as ArrayLike<number | bigint>, Number) }]));
}

async function graphcRun(g: gc.Graph, feeds: Feeds): Promise<Record<string, { dims: number[]; data: number[] }>> {
  const s = await gc.Session.create(g, { backend: 'cpu' });
  const f: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) {
    f[k] = v.type === 'int64' ? tf.tensor(Int32Array.from(v.data as BigInt64Array, Number), v.dims, 'int32') : tf.tensor(v.data as Float32Array, v.dims, v.type === 'bool' ? 'bool' : v.type);
  }
  const names = g.outputs.map((o) => o.name);
  const outs = (await s.run(names, f)) as tf.Tensor[];
  const r = Object.fromEntries(names.map((n, i) => [n, { dims: outs[i]!.shape, data: Array.from(outs[i]!.dataSync()) }]));
  tf.dispose([...outs, ...Object.values(f)]);
  s.dispose();
  return r;
}

function expectClose(got: Record<string, { dims: number[]; data: number[] }>, want: Record<string, { dims: number[]; data: number[] }>, what: string): void {
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    expect(g, `${what}: output ${k}`).toBeDefined();
    // A Loop that runs no iteration: ORT cannot know a scan output's shape ([0, 0]); graphc's is [0, n].
    if (w.data.length === 0 && g!.data.length === 0 && w.dims[0] === 0 && g!.dims[0] === 0) continue;
    expect(g!.dims, `${what}: ${k} shape`).toEqual(w.dims);
    g!.data.forEach((v, i) => expect(Math.abs(v - w.data[i]!), `${what}: ${k}[${i}] ${v} vs ${w.data[i]}`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(w.data[i]!)));
  }
}

const ops = (g: gc.Graph): string[] => g.nodes.map((n) => n.op);

/** The op types of an ONNX model, subgraphs included. */
function onnxOps(bytes: Uint8Array): Set<string> {
  const out = new Set<string>();
  const walk = (g: onnx.IGraphProto | null | undefined) => {
    for (const n of g?.node ?? []) {
      out.add(n.opType ?? '');
      for (const a of n.attribute ?? []) walk(a.g);
    }
  };
  walk(onnx.ModelProto.decode(bytes).graph);
  return out;
}

const randn = (n: number, seed: number) => { let s = seed; return Float32Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 * 4 - 2; }); };

/** Imports, runs in graphc and in ORT; exports, checks, runs the export in ORT: all equal. */
async function roundTrip(bytes: Uint8Array, feedSets: Feeds[], expectOp: string, irOp: string): Promise<void> {
  const g = gc.fromOnnx(bytes);
  expect(ops(g)).toContain(irOp);
  const exported = gc.toOnnx(g);
  expect(onnxOps(exported).has(expectOp)).toBe(true);
  expect([...checkModels(new Map([['m', exported]])).values()]).toEqual([null]);
  for (const [i, feeds] of feedSets.entries()) {
    const want = await ortRun(bytes, feeds);
    expectClose(await graphcRun(g, feeds), want, `graphc, feed set ${i}`);
    expectClose(await ortRun(exported, feeds), want, `exported in ORT, feed set ${i}`);
  }
}

describe('ONNX If / Loop / Scan → cond / while_loop / scan', () => {
  it('If on a run-time condition: a cond whose branches read outer values and an initializer, taken both ways', async () => {
    const then: onnx.IGraphProto = { name: 'then', node: [node('Mul', ['x', 'w'], ['t'])], output: [f32('t', ['n', 3])] };
    const els: onnx.IGraphProto = { name: 'else', node: [node('Sub', ['x', 'y'], ['e'])], output: [f32('e', ['n', 3])] };
    const bytes = model({ opset: 13,
      nodes: [node('ReduceSum', ['x'], ['s'], [attr.int('keepdims', 0)]), node('Greater', ['s', 'zero'], ['c']), node('Exp', ['x'], ['y']),
        node('If', ['c'], ['r'], [gattr('then_branch', then), gattr('else_branch', els)])],
      inputs: [f32('x', ['n', 3])], outputs: [f32('r', ['n', 3])],
      initializers: [tensor('w', T.FLOAT, [3], [2, -1, 0.5]), tensor('zero', T.FLOAT, [], [0])] });
    const feeds = (n: number, sign: number): Feeds => ({ x: { data: Float32Array.from(randn(n * 3, n).map((v) => Math.abs(v) * sign)), dims: [n, 3], type: 'float32' } });
    await roundTrip(bytes, [feeds(1, 1), feeds(4, -1), feeds(2, 1)], 'If', 'cond');
  });

  it('a branch reads an outer Constant node (a Reshape target): made again inside the region, known at import time', async () => {
    const shape = tensor('', T.INT64, [2], [3, 2]);
    const then: onnx.IGraphProto = { name: 'then', node: [node('Reshape', ['x', 's'], ['t'])], output: [f32('t', [3, 2])] };
    const els: onnx.IGraphProto = { name: 'else', node: [node('Neg', ['x'], ['n2']), node('Reshape', ['n2', 's'], ['e'])], output: [f32('e', [3, 2])] };
    const bytes = model({ opset: 13,
      nodes: [node('Constant', [], ['s'], [{ name: 'value', type: A.TENSOR, t: shape }]), node('If', ['c'], ['r'], [gattr('then_branch', then), gattr('else_branch', els)])],
      inputs: [valueInfo('c', T.BOOL, []), f32('x', [2, 3])], outputs: [f32('r', [3, 2])] });
    const feeds = (c: boolean): Feeds => ({ c: { data: Uint8Array.of(c ? 1 : 0), dims: [], type: 'bool' }, x: { data: randn(6, 5), dims: [2, 3], type: 'float32' } });
    await roundTrip(bytes, [feeds(true), feeds(false)], 'If', 'cond');
  });

  /** Loop(M, cond) over a running product and a growing carried value, with a stacked scan output. */
  function loopModel(withCond: boolean): Uint8Array {
    const body: onnx.IGraphProto = { name: 'body',
      node: [
        node('Mul', ['p_in', 'x'], ['p_out']),
        node('ReduceSum', ['p_out'], ['ps'], [attr.int('keepdims', 0)]),
        node('Unsqueeze', ['ps', 'ax0'], ['ps1']),
        node('Concat', ['g_in', 'ps1'], ['g_out'], [attr.int('axis', 0)]),
        node('Less', ['ps', 'limit'], ['c_out']),
        node('Cast', ['i'], ['fi'], [attr.int('to', T.FLOAT)]),
        node('Add', ['p_out', 'fi'], ['y']),
      ],
      input: [valueInfo('i', T.INT64, []), valueInfo('c_in', T.BOOL, []), f32('p_in', ['n']), f32('g_in', [null])],
      output: [valueInfo('c_out', T.BOOL, []), f32('p_out', ['n']), f32('g_out', [null]), f32('y', ['n'])],
      initializer: [tensor('ax0', T.INT64, [1], [0])] };
    return model({ opset: 13,
      nodes: [node('Loop', ['M', withCond ? 'c0' : '', 'x', 'g0'], ['p', 'g', 'ys'], [gattr('body', body)])],
      inputs: [valueInfo('M', T.INT64, []), ...(withCond ? [valueInfo('c0', T.BOOL, [])] : []), f32('x', ['n']), f32('g0', [2]), f32('limit', [])],
      outputs: [f32('p', ['n']), f32('g', [null]), f32('ys', [null, 'n'])] });
  }

  it('Loop with M and cond, a carried value that grows every iteration and a stacked scan output: a while_loop', async () => {
    const feeds = (n: number, m: number, c0: boolean, limit: number): Feeds => ({
      M: { data: BigInt64Array.of(BigInt(m)), dims: [], type: 'int64' },
      c0: { data: Uint8Array.of(c0 ? 1 : 0), dims: [], type: 'bool' },
      x: { data: Float32Array.from({ length: n }, (_, i) => 1.1 + 0.2 * i), dims: [n], type: 'float32' },
      g0: { data: Float32Array.of(7, 8), dims: [2], type: 'float32' },
      limit: { data: Float32Array.of(limit), dims: [], type: 'float32' },
    });
    // Stopped by M, by cond after a few steps, and not run at all (c0 false: the scan output is empty).
    await roundTrip(loopModel(true), [feeds(1, 4, true, 1e9), feeds(3, 50, true, 20), feeds(2, 5, false, 1e9)], 'Loop', 'while_loop');
    const noCond = (n: number, m: number): Feeds => { const f = feeds(n, m, true, 1e9); delete f.c0; return f; };
    await roundTrip(loopModel(false), [noCond(2, 3), noCond(4, 0)], 'Loop', 'while_loop');
  });

  function scanModel(attrs: onnx.IAttributeProto[]): Uint8Array {
    const body: onnx.IGraphProto = { name: 'body',
      node: [node('Add', ['s', 'xt'], ['s2']), node('Mul', ['s2', 'w'], ['o'])],
      input: [f32('s', ['n']), f32('xt', ['n'])], output: [f32('s2', ['n']), f32('o', ['n'])] };
    return model({ opset: 13,
      nodes: [node('Scan', ['s0', 'xs'], ['s', 'ys'], [gattr('body', body), attr.int('num_scan_inputs', 1), ...attrs], 'scan')],
      inputs: [f32('s0', ['n']), f32('xs', ['t', 'n']), f32('w', ['n'])], outputs: [f32('s', ['n']), f32('ys', ['t', 'n'])] });
  }

  it('Scan forward and reverse (every direction 1): a scan reading a captured value', async () => {
    const feeds = (t: number, n: number): Feeds => ({
      s0: { data: randn(n, 3), dims: [n], type: 'float32' }, xs: { data: randn(t * n, t), dims: [t, n], type: 'float32' }, w: { data: randn(n, 9), dims: [n], type: 'float32' },
    });
    await roundTrip(scanModel([]), [feeds(1, 2), feeds(6, 3)], 'Scan', 'scan');
    const reverse = [attr.ints('scan_input_directions', [1]), attr.ints('scan_output_directions', [1])];
    await roundTrip(scanModel(reverse), [feeds(2, 1), feeds(5, 4)], 'Scan', 'scan');
    expect(gc.fromOnnx(scanModel(reverse)).nodes.find((n) => n.op === 'scan')!.attrs.reverse).toBe(true);
  });

  it('Scan axes and directions graphc cannot express are refused, naming the attribute', () => {
    const refused = (attrs: onnx.IAttributeProto[]): string => {
      try { gc.fromOnnx(scanModel(attrs)); } catch (e) { expect(e).toBeInstanceOf(gc.GcError); return (e as gc.GcError).message; }
      throw new Error('the import succeeded');
    };
    expect(refused([attr.ints('scan_input_axes', [1])])).toMatch(/scan_input_axes \[1\] is not supported/);
    expect(refused([attr.ints('scan_output_axes', [1])])).toMatch(/scan_output_axes \[1\] is not supported/);
    expect(refused([attr.ints('scan_input_directions', [1])])).toMatch(/scan_output_directions \[0\] is not supported/);
    expect(refused([attr.ints('scan_output_directions', [1])])).toMatch(/scan_output_directions \[1\] is not supported/);
  });
});

const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';

describe('ONNX backend node tests with control flow: import → graphc → export → ONNX Runtime', () => {
  // test_scan_sum is opset 8's Scan (a batch axis first), still unrolled at import.
  const cases = ['test_if', 'test_scan9_sum', 'test_range_float_type_positive_delta_expanded', 'test_range_int32_type_negative_delta_expanded'];
  for (const name of cases) {
    it.skipIf(!existsSync(join(NODE_TESTS, name)))(`${name}: the exported model gives the expected outputs in ORT`, async () => {
      const dir = join(NODE_TESTS, name);
      const bytes = readFileSync(join(dir, 'model.onnx'));
      const m = onnx.ModelProto.decode(bytes);
      const g = gc.fromOnnx(bytes);
      expect(g.nodes.some((n) => n.regions.length > 0), 'imported as control flow').toBe(true);
      const exported = gc.toOnnx(g);
      expect([...onnxOps(exported)].some((o) => o === 'If' || o === 'Loop' || o === 'Scan')).toBe(true);
      for (const set of readdirSync(dir).filter((d) => d.startsWith('test_data_set_'))) {
        const read = (f: string) => tensorFromProto(onnx.TensorProto.decode(readFileSync(join(dir, set, f))));
        const feeds: Feeds = {};
        (m.graph!.input ?? []).forEach((vi, i) => {
          const t = read(`input_${i}.pb`);
          feeds[vi.name!] = { data: t.data as Float32Array, dims: [...t.shape] as number[], type: t.dtype as 'float32' };
        });
        const want: Record<string, { dims: number[]; data: number[] }> = {};
        (m.graph!.output ?? []).forEach((vi, i) => {
          const t = read(`output_${i}.pb`);
          want[vi.name!] = { dims: [...t.shape] as number[], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
        });
        expectClose(await ortRun(exported, feeds), want, `${name} ${set}`);
      }
    });
  }
});
