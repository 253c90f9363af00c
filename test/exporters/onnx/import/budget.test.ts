/**
 * fromOnnx on tiny hostile models: sizes are predicted before anything is folded, one
 * budget of nodes, folding work and constant bytes covers the whole import (unrolled loops
 * too), initializers stay in typed arrays on the model's bytes, and int64 values never wrap.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import * as gc from 'graphc';
import * as ort from 'onnxruntime-node';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TensorData } from '../../../../ir/tensor_data.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { tensorFromProto } from '../../../../exporters/onnx/import/tensor.js';
import { attr, model, node, runModel, T, tensor, valueInfo } from '../test_util.js';

// Every import-time evaluation goes through evalNodeConst: record the ops it is asked for
// and the elements of what each gave.
const evaluated: string[] = [];
const evaluatedSizes: number[] = [];
vi.mock('../../runtime/eval_const.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../../runtime/eval_const.js')>();
  return { ...real, evalNodeConst: (op: Parameters<typeof real.evalNodeConst>[0], ...rest: [TensorData[], Parameters<typeof real.evalNodeConst>[2]]) => {
    evaluated.push(op);
    const outs = real.evalNodeConst(op, ...rest);
    evaluatedSizes.push(outs.reduce((n, t) => n + t.data.length, 0));
    return outs;
  } };
});

beforeAll(async () => { await tf.setBackend('cpu'); });
beforeEach(() => { evaluated.length = 0; evaluatedSizes.length = 0; });

const A = onnx.AttributeProto.AttributeType;
const f32 = (name: string, dims: (number | string | null)[]) => valueInfo(name, T.FLOAT, dims);
const i64 = (name: string, xs: number[], dims = [xs.length]) => tensor(name, T.INT64, dims, xs);
const ops = (g: gc.Graph) => g.nodes.map((n) => n.op);

/** The GcError an import throws. */
function importError(bytes: Uint8Array, opts?: Parameters<typeof gc.fromOnnx>[1]): gc.GcError {
  try {
    gc.fromOnnx(bytes, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(gc.GcError);
    return e as gc.GcError;
  }
  throw new Error('the import succeeded');
}

describe('folding predicts sizes before it evaluates', () => {
  // Each is a few bytes asking import to compute a huge constant (or a long evaluation): the
  // node stays (run time decides), it is not evaluated, and nothing large is.
  const hostile: Record<string, { op: string; bytes: () => Uint8Array; partly?: true }> = {
    'ReduceSum of an empty [0, 2^30] initializer': {
      op: 'reduce_sum',
      bytes: () => model({ opset: 13, nodes: [node('ReduceSum', ['e', 'ax'], ['y'], [attr.int('keepdims', 0)])], inputs: [], outputs: [f32('y', [2 ** 30])],
        initializers: [{ name: 'e', dataType: T.FLOAT, dims: [0, 2 ** 30] }, i64('ax', [0])] }),
    },
    'Tile([1], 2^28)': {
      op: 'tile',
      bytes: () => model({ opset: 13, nodes: [node('Tile', ['one', 'r'], ['y'])], inputs: [], outputs: [f32('y', [2 ** 28])],
        initializers: [tensor('one', T.FLOAT, [1], [1]), i64('r', [2 ** 28])] }),
    },
    'Expand([1], [2^14, 2^14])': {
      op: 'broadcast_to',
      bytes: () => model({ opset: 13, nodes: [node('Expand', ['one', 's'], ['y'])], inputs: [], outputs: [f32('y', [2 ** 14, 2 ** 14])],
        initializers: [tensor('one', T.FLOAT, [1], [1]), i64('s', [2 ** 14, 2 ** 14])] }),
    },
    'Pad([1] by 2^27 on both sides)': {
      op: 'pad',
      bytes: () => model({ opset: 13, nodes: [node('Pad', ['one', 'p'], ['y'])], inputs: [], outputs: [f32('y', [2 ** 28 + 1])],
        initializers: [tensor('one', T.FLOAT, [1], [1]), i64('p', [2 ** 27, 2 ** 27])] }),
    },
    'OneHot of 4 indices to depth 2^26': {
      op: 'one_hot',
      bytes: () => model({ opset: 13, nodes: [node('OneHot', ['i', 'd', 'v'], ['y'])], inputs: [], outputs: [f32('y', [4, 2 ** 26])],
        initializers: [i64('i', [0, 1, 2, 3]), i64('d', [2 ** 26], []), tensor('v', T.FLOAT, [2], [0, 1])] }),
    },
    'Resize of [1,1,1,1] by 2^14 × 2^14': {
      op: 'matmul',
      partly: true,                                    // two matmuls: the first, [1,1,1,2^14], is folded
      bytes: () => model({ opset: 13, nodes: [node('Resize', ['x', '', 's'], ['y'], [attr.str('mode', 'nearest')])], inputs: [],
        outputs: [f32('y', [1, 1, 2 ** 14, 2 ** 14])],
        initializers: [tensor('x', T.FLOAT, [1, 1, 1, 1], [1]), tensor('s', T.FLOAT, [4], [1, 1, 2 ** 14, 2 ** 14])] }),
    },
    'broadcast Add of [4096,1] and [1,4096]': {
      op: 'add',
      bytes: () => model({ opset: 13, nodes: [node('Add', ['a', 'b'], ['y'])], inputs: [], outputs: [f32('y', [4096, 4096])],
        initializers: [tensor('a', T.FLOAT, [4096, 1], new Array<number>(4096).fill(1)), tensor('b', T.FLOAT, [1, 4096], new Array<number>(4096).fill(2))] }),
    },
    'MatMul of two 1024×1024 constants (2^30 multiply-adds)': {
      op: 'matmul',
      bytes: () => model({ opset: 13, nodes: [node('MatMul', ['a', 'b'], ['y'])], inputs: [], outputs: [f32('y', [1024, 1024])],
        initializers: [{ name: 'a', dataType: T.FLOAT, dims: [1024, 1024], rawData: new Uint8Array(4 << 20) },
          { name: 'b', dataType: T.FLOAT, dims: [1024, 1024], rawData: new Uint8Array(4 << 20) }] }),
    },
  };
  for (const [what, { op, bytes, partly }] of Object.entries(hostile)) {
    it(what, () => {
      const g = gc.fromOnnx(bytes());
      expect(ops(g)).toContain(op);
      if (!partly) expect(evaluated).not.toContain(op);
      expect(Math.max(0, ...evaluatedSizes)).toBeLessThanOrEqual(1 << 16);
    });
  }

  it('small results are still folded, with the values the op gives', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), (n, r0, r1) => {
      evaluated.length = 0;
      const xs = Array.from({ length: n }, (_, i) => i + 0.5);
      const bytes = model({ opset: 13, nodes: [node('Tile', ['x', 'r'], ['y'])], inputs: [], outputs: [f32('y', [n * r0, r1])],
        initializers: [tensor('x', T.FLOAT, [n, 1], xs), i64('r', [r0, r1])] });
      const g = gc.fromOnnx(bytes);
      const out = n * r0 * r1;
      if (out <= 1 << 16) {
        expect(ops(g)).toEqual(['const']);
        const c = g.nodes[0]!.attrs.value as TensorData;
        expect(c.shape).toEqual([n * r0, r1]);
        expect(Array.from(c.data as ArrayLike<number>)).toEqual(Array.from({ length: out }, (_, i) => xs[Math.floor(i / r1) % n]));
      } else {
        expect(ops(g)).toContain('tile');
        expect(evaluated).not.toContain('tile');
      }
    }), { numRuns: 40, seed: 9 });
  });
});

describe('the import budget', () => {
  /** x → Add(+1) repeated n times, nodes named add_0… */
  const chain = (n: number) => model({ opset: 13,
    nodes: Array.from({ length: n }, (_, i) => node('Add', [i === 0 ? 'x' : `h${i - 1}`, 'one'], [i === n - 1 ? 'y' : `h${i}`], [], `add_${i}`)),
    inputs: [f32('x', [2])], outputs: [f32('y', [2])], initializers: [tensor('one', T.FLOAT, [], [1])] });

  it('past its node budget the import fails naming the node, the budget and how to raise it', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 60 }), (budget) => {
      const e = importError(chain(80), { budget: { nodes: budget } });
      expect(e.code).toBe('GC0520');
      // The constant takes one node, then one per Add: add_{budget-2} is the first that does not fit.
      expect(e.summary).toContain(`'add_${budget - 1}' (Add)`);
      expect(e.summary).toContain(`budget of ${budget} nodes`);
      expect(e.help).toMatch(/fromOnnx\(bytes, \{ budget: \{ nodes: \d+ \} \}\)/);
    }), { numRuns: 15, seed: 3 });
  });

  it('a raised budget imports the same model, and it computes x + n', async () => {
    const [y] = await runModel(chain(80), { x: tf.tensor([1, 2]) });
    expect(y!.values).toEqual([81, 82]);
    expect(() => gc.fromOnnx(chain(80), { budget: { nodes: 200 } })).not.toThrow();
  });

  it('constant bytes count: an initializer past the byte budget fails naming the node that reads it', () => {
    const bytes = model({ opset: 13, nodes: [node('Add', ['x', 'w'], ['y'], [], 'bias')], inputs: [f32('x', [1000])], outputs: [f32('y', [1000])],
      initializers: [tensor('w', T.FLOAT, [1000], new Array<number>(1000).fill(1))] });
    const e = importError(bytes, { budget: { bytes: 3999 } });
    expect(e.code).toBe('GC0520');
    expect(e.summary).toContain("'bias' (Add)");
    expect(e.summary).toContain('3999 bytes');
    expect(() => gc.fromOnnx(bytes, { budget: { bytes: 4000 } })).not.toThrow();
  });

  it('folding work counts: with no element budget left, constants are not folded but still computed at run time', async () => {
    const bytes = model({ opset: 13, nodes: [node('Mul', ['a', 'b'], ['c']), node('Add', ['x', 'c'], ['y'])], inputs: [f32('x', [3])], outputs: [f32('y', [3])],
      initializers: [tensor('a', T.FLOAT, [3], [1, 2, 3]), tensor('b', T.FLOAT, [3], [4, 5, 6])] });
    expect(ops(gc.fromOnnx(bytes))).not.toContain('mul');
    evaluated.length = 0;
    const g = gc.fromOnnx(bytes, { budget: { elements: 5 } });
    expect(ops(g)).toContain('mul');
    expect(evaluated).toEqual([]);
    const s = await gc.Session.create(g, { backend: 'cpu' });
    const y = (await s.run('y', { x: tf.tensor([1, 1, 1]) })) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([5, 11, 19]);
    s.dispose();
  });

  it('an integer operand read at import time (a Reshape shape) with 2^17 elements is refused, not read into an array', () => {
    const bytes = model({ opset: 13, nodes: [node('Reshape', ['x', 's'], ['y'], [], 'r')], inputs: [f32('x', [1])], outputs: [f32('y', [1])],
      initializers: [{ name: 's', dataType: T.INT64, dims: [2 ** 17], rawData: new Uint8Array(8 * 2 ** 17) }] });
    const e = importError(bytes);
    expect(e.summary).toContain("'r' (Reshape)");
    expect(e.summary).toContain('has 131072 elements, more than the 65536 graphc reads at import time');
  });

  it('a budget that is not a number ≥ 0 is refused', () => {
    expect(importError(chain(2), { budget: { nodes: -1 } }).code).toBe('GC0520');
    expect(importError(chain(2), { budget: { bytes: Number.NaN } }).code).toBe('GC0520');
  });
});

describe('loops and subgraphs count against the budget', () => {
  const gattr = (name: string, g: onnx.IGraphProto): onnx.IAttributeProto => ({ name, type: A.GRAPH, g });

  /** `depth` nested Loops of `trips` iterations each around `inner` (x → x + 1 or Identity). */
  function nest(depth: number, trips: number, add: boolean): Uint8Array {
    const body = (d: number): onnx.IGraphProto => ({
      name: `b${d}`,
      node: [
        d > 0 ? node('Loop', [`M${d}`, '', `x${d}`], [`y${d}`], [gattr('body', body(d - 1))], `loop${d}`)
          : add ? node('Add', [`x${d}`, 'one'], [`y${d}`]) : node('Identity', [`x${d}`], [`y${d}`]),
        node('Identity', [`c${d}`], [`co${d}`]),
      ],
      input: [valueInfo(`i${d}`, T.INT64, []), valueInfo(`c${d}`, T.BOOL, []), f32(`x${d}`, [1])],
      output: [valueInfo(`co${d}`, T.BOOL, []), f32(`y${d}`, [1])],
      initializer: d > 0 ? [i64(`M${d}`, [trips], [])] : [],
    });
    return model({ opset: 13, nodes: [node('Loop', ['M', '', 'x'], ['y'], [gattr('body', body(depth - 1))], 'outer')],
      inputs: [f32('x', [1])], outputs: [f32('y', [1])], initializers: [i64('M', [trips], []), tensor('one', T.FLOAT, [], [1])] });
  }

  // Loops are imported as while_loop nodes (rules/control.ts), not unrolled; a loop whose trip
  // count is known at import still charges trips × its body (nested loops multiply), so a hostile
  // model fails at import instead of running 4096^2 or 2^30 bodies.
  it('Loop(4096) { Loop(4096) { Identity } } stops at the node budget, naming the loops', () => {
    const e = importError(nest(2, 4096, false), { budget: { nodes: 20_000 } });
    expect(e.code).toBe('GC0520');
    expect(e.summary).toMatch(/^onnx node 'outer' \(Loop\): .*a Loop of up to 4096 iterations \(known at import\).*budget of 20000 nodes/);
  });

  it('30 nested Loops of 2 iterations stop at the node budget', () => {
    expect(importError(nest(30, 2, false), { budget: { nodes: 20_000 } }).code).toBe('GC0520');
  });

  it('30 nested Loops whose trip count is a graph input import as 30 nested while_loops within a small budget', () => {
    const m = onnx.ModelProto.decode(nest(30, 2, false));
    m.graph!.initializer = m.graph!.initializer!.filter((t) => t.name !== 'M');
    m.graph!.input!.push(valueInfo('M', T.INT64, []));
    // Each body's trip count M<d> becomes a copy of the graph input M (read from the outer scope).
    for (let g = m.graph!.node![0]!.attribute![0]!.g; g; g = g.node!.find((n) => n.opType === 'Loop')?.attribute![0]!.g) {
      for (const t of g.initializer ?? []) g.node!.unshift(node('Identity', ['M'], [t.name!]));
      g.initializer = [];
    }
    let depth = 0;
    for (let r: gc.Graph | undefined = gc.fromOnnx(onnx.ModelProto.encode(m).finish(), { budget: { nodes: 2000 } }); r; depth++) {
      r = r.nodes.find((n) => n.op === 'while_loop')?.regions[1];
    }
    expect(depth - 1).toBe(30);
  });

  it('a body past the node budget stops the import with GC0520, naming the loop', () => {
    const e = importError(nest(3, 2, true), { budget: { nodes: 12 } });
    expect(e.code).toBe('GC0520');
    expect(e.summary).toMatch(/onnx node 'outer' \(Loop\)/);
  });

  it('nested loops compute x + trips^depth', async () => {
    for (const [depth, trips] of [[1, 5], [2, 3], [3, 2]] as const) {
      const g = gc.fromOnnx(nest(depth, trips, true));
      expect(ops(g)).toContain('while_loop');
      const [y] = await runModel(nest(depth, trips, true), { x: tf.tensor([0.5]) });
      expect(y!.values).toEqual([0.5 + trips ** depth]);
    }
  });

  /** `depth` nested Ifs on a run-time condition (a chain through the then branches), the innermost x + 1. */
  function nestIf(depth: number): Uint8Array {
    const leaf = (name: string): onnx.IGraphProto => ({ name, node: [node('Add', ['x', 'one'], [`${name}_y`])], output: [f32(`${name}_y`, [1])] });
    let inner = leaf('t0');
    for (let d = 1; d < depth; d++) {
      inner = { name: `t${d}`, node: [node('If', ['c'], [`t${d}_y`], [gattr('then_branch', inner), gattr('else_branch', leaf(`e${d}`))])], output: [f32(`t${d}_y`, [1])] };
    }
    return model({ opset: 13, nodes: [node('If', ['c'], ['y'], [gattr('then_branch', inner), gattr('else_branch', leaf('e'))], 'outer')],
      inputs: [valueInfo('c', T.BOOL, []), f32('x', [1])], outputs: [f32('y', [1])], initializers: [tensor('one', T.FLOAT, [], [1])] });
  }

  it('a recursion bomb of nested Ifs is a GcError, not a stack overflow (at the region limit, and at the model checker\'s depth limit)', async () => {
    const [y] = await runModel(nestIf(8), { c: tf.tensor(true, [], 'bool'), x: tf.tensor([0.5]) });
    expect(y!.values).toEqual([1.5]);
    const e = importError(nestIf(100));
    expect(e.code).toBe('GC0501');
    expect(e.summary).toMatch(/nested more than 64 deep/);
    const deep = importError(nestIf(1000));
    expect(deep).toBeInstanceOf(gc.GcError);
    expect(deep.summary).toMatch(/nested more than 256 deep/);
  });

  it('an opset-8 Scan is bounded: a batch past the unroll limit fails, nested iterations count', () => {
    const body: onnx.IGraphProto = { name: 'b', node: [node('Add', ['s', 'xt'], ['s2']), node('Identity', ['s2'], ['o'])],
      input: [f32('s', [1]), f32('xt', [1])], output: [f32('s2', [1]), f32('o', [1])] };
    const scan8 = (batch: number, len: number) => model({ opset: 8,
      nodes: [node('Scan', ['', 's0', 'xs'], ['s', 'ys'], [{ name: 'num_scan_inputs', type: A.INT, i: 1 }, gattr('body', body)], 'scan')],
      inputs: [f32('s0', [batch, 1]), f32('xs', [batch, len, 1])], outputs: [f32('s', [batch, 1]), f32('ys', [batch, len, 1])] });
    expect(importError(scan8(5000, 1)).summary).toContain('more than 4096');
    expect(importError(scan8(1, 5000)).summary).toContain('more than 4096');
    const e = importError(scan8(64, 64), { budget: { nodes: 2000 } });
    expect(e.code).toBe('GC0520');
    expect(e.summary).toContain("'scan' (Scan)");
  });
});

describe('initializers stay typed arrays on the model bytes', () => {
  /** A model y = ReduceMax(W + x) whose float32 initializer W's raw_data starts at a 4-aligned offset or not. */
  function bigModel(w: Float32Array, aligned: boolean): Uint8Array {
    for (let pad = 0; pad < 8; pad++) {
      const bytes = onnx.ModelProto.encode({
        irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
        graph: { name: `g${'_'.repeat(pad)}`,
          node: [node('Add', ['w', 'x'], ['s']), node('ReduceMax', ['s'], ['y'], [attr.int('keepdims', 0)])],
          input: [f32('x', [1])], output: [f32('y', [])],
          initializer: [{ name: 'w', dataType: T.FLOAT, dims: [w.length], rawData: new Uint8Array(w.buffer) }] },
      }).finish();
      const raw = onnx.ModelProto.decode(bytes).graph!.initializer![0]!.rawData!;
      if (((raw.byteOffset - bytes.byteOffset) % 4 === 0) === aligned) return new Uint8Array(bytes);
    }
    throw new Error('no padding gives that alignment');
  }
  const weight = (g: gc.Graph) => g.nodes.map((n) => n.attrs.value as TensorData | undefined).find((t) => t && t.shape[0]! > 1)!;

  it('a 64 MiB float32 initializer is a view on the model bytes, not a copy', () => {
    const w = new Float32Array(16 << 20);
    for (let i = 0; i < w.length; i += 4099) w[i] = i;
    const bytes = bigModel(w, true);
    const t = weight(gc.fromOnnx(bytes));
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.buffer).toBe(bytes.buffer);
    expect(t.data.length).toBe(w.length);
    expect(t.data[w.length - 1 - ((w.length - 1) % 4099)]).toBe(w.length - 1 - ((w.length - 1) % 4099));
  });

  it('misaligned raw_data is copied once, with the same values; both run', async () => {
    const w = Float32Array.from({ length: 1 << 16 }, (_, i) => (i * 7919) % 1000 - 500);
    w[12345] = 777;
    for (const aligned of [true, false]) {
      const bytes = bigModel(w, aligned);
      const t = weight(gc.fromOnnx(bytes));
      expect(t.data.buffer === bytes.buffer).toBe(aligned);
      expect(t.data).toEqual(w);
      const [y] = await runModel(bytes, { x: tf.tensor([1]) });
      expect(y!.values).toEqual([778]);
    }
  });

  it('raw_data of every element type reads as the ONNX spec says, at any alignment', () => {
    const types = [T.FLOAT, T.DOUBLE, T.INT32, T.INT8, T.UINT8, T.INT16, T.UINT16, T.INT64, T.UINT32, T.UINT64, T.BOOL];
    const width: Record<number, number> = { [T.FLOAT]: 4, [T.DOUBLE]: 8, [T.INT32]: 4, [T.INT8]: 1, [T.UINT8]: 1, [T.INT16]: 2,
      [T.UINT16]: 2, [T.INT64]: 8, [T.UINT32]: 4, [T.UINT64]: 8, [T.BOOL]: 1 };
    fc.assert(fc.property(fc.constantFrom(...types), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ minLength: 0, maxLength: 64 }), (type, offset, seed) => {
      const w = width[type]!;
      const n = Math.floor(seed.length / w);
      const buf = new Uint8Array(offset + n * w);
      buf.set(seed.subarray(0, n * w), offset);
      const raw = buf.subarray(offset);
      const t = tensorFromProto({ name: 't', dataType: type, dims: [n], rawData: raw });
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const want = Array.from({ length: n }, (_, i): number | bigint => {
        switch (type) {
          case T.FLOAT: return dv.getFloat32(4 * i, true);
          case T.DOUBLE: return Math.fround(dv.getFloat64(8 * i, true));
          case T.INT32: return dv.getInt32(4 * i, true);
          case T.INT8: return dv.getInt8(i);
          case T.UINT8: return dv.getUint8(i);
          case T.INT16: return dv.getInt16(2 * i, true);
          case T.UINT16: return dv.getUint16(2 * i, true);
          case T.INT64: case T.UINT64: return dv.getBigInt64(8 * i, true);
          case T.UINT32: return BigInt(dv.getUint32(4 * i, true));
          default: return dv.getUint8(i) ? 1 : 0;
        }
      });
      expect(Array.from(t.data as ArrayLike<number | bigint>)).toEqual(want);
    }), { numRuns: 300, seed: 11 });
  });
});

describe('int64 values never wrap to int32', () => {
  it('Gather with a constant index 2^32+1 fails naming the index (ONNX Runtime: out of bounds), not element 1', () => {
    const bytes = model({ opset: 13, nodes: [node('Gather', ['x', 'i'], ['y'], [], 'pick')], inputs: [f32('x', [3])], outputs: [f32('y', [1])],
      initializers: [{ name: 'i', dataType: T.INT64, dims: [1], int64Data: ['4294967297' as unknown as number] }] });
    const e = importError(bytes);
    expect(e.summary).toContain("'pick' (Gather)");
    expect(e.summary).toContain("index 4294967297 (element 0 of 'i') is out of range for axis 0 of size 3");
  });

  it('constant indices in range still gather, negative ones from the end', async () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -10, max: 12 }), { minLength: 1, maxLength: 5 }), (idx) => {
      const bytes = model({ opset: 13, nodes: [node('Gather', ['x', 'i'], ['y'])], inputs: [f32('x', [5])], outputs: [f32('y', [idx.length])],
        initializers: [i64('i', idx)] });
      if (idx.every((i) => i >= -5 && i < 5)) expect(() => gc.fromOnnx(bytes)).not.toThrow();
      else expect(importError(bytes).summary).toContain('out of range for axis 0 of size 5');
    }), { numRuns: 60, seed: 2 });
    const bytes = model({ opset: 13, nodes: [node('Gather', ['x', 'i'], ['y'])], inputs: [f32('x', [5])], outputs: [f32('y', [2])], initializers: [i64('i', [-1, 2])] });
    const [y] = await runModel(bytes, { x: tf.tensor([10, 11, 12, 13, 14]) });
    expect(y!.values).toEqual([14, 12]);
  });

  it('an int64 initializer [2^32+1, -2^40] through Add is kept exactly: ONNX Runtime gets it back, tfjs engines refuse it', async () => {
    const big = [4294967297n, -1099511627776n];
    const bytes = model({ opset: 13, nodes: [node('Add', ['x', 'w'], ['y'])], inputs: [valueInfo('x', T.INT64, [2])], outputs: [valueInfo('y', T.INT64, [2])],
      initializers: [{ name: 'w', dataType: T.INT64, dims: [2], rawData: new Uint8Array(BigInt64Array.from(big).buffer) }] });
    const g = gc.fromOnnx(bytes);
    const w = g.nodes.find((n) => n.op === 'const')!.attrs.value as TensorData;
    expect(Array.from(w.data as BigInt64Array)).toEqual(big);
    // Exported again and run by ONNX Runtime: exact.
    const s = await ort.InferenceSession.create(gc.toOnnx(g));
    const r = await s.run({ x: new ort.Tensor('int64', BigInt64Array.from([1n, 2n]), [2]) });
    expect(Array.from(r.y!.data as BigInt64Array)).toEqual([4294967298n, -1099511627774n]);
    await s.release();
    // tfjs computes int64 as int32: refused, never [2, 0].
    const sess = await gc.Session.create(g, { backend: 'cpu' });
    await expect(sess.run('y', { x: tf.tensor([1, 2], [2], 'int32') })).rejects.toBeInstanceOf(gc.GcError);
    sess.dispose();
  });

  it('folding int64 arithmetic keeps exact results: a result past int32 is not folded to a wrapped constant', async () => {
    const ops = { Add: (a: bigint, b: bigint) => a + b, Sub: (a: bigint, b: bigint) => a - b, Mul: (a: bigint, b: bigint) => a * b } as const;
    const bytesOf = (op: string, a: number, b: number) => model({ opset: 13, nodes: [node(op, ['a', 'b'], ['y'])], inputs: [], outputs: [valueInfo('y', T.INT64, [1])],
      initializers: [i64('a', [a]), i64('b', [b])] });
    const int = fc.oneof(fc.integer({ min: -(2 ** 16), max: 2 ** 16 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    fc.assert(fc.property(fc.constantFrom(...(Object.keys(ops) as (keyof typeof ops)[])), int, int, (op, a, b) => {
      const exact = ops[op](BigInt(a), BigInt(b));
      const g = gc.fromOnnx(bytesOf(op, a, b));
      const out = g.outputs[0]!.value.producer!;
      if (exact > -(2n ** 31n - 1024n) && exact < 2n ** 31n - 1024n) {                 // float32 rounding leaves a margin
        expect(out.op).toBe('const');
        expect((out.attrs.value as TensorData).data[0]).toBe(exact);
      } else if (out.op === 'const') {
        expect((out.attrs.value as TensorData).data[0]).toBe(exact);          // never a wrapped value
      }
    }), { numRuns: 200, seed: 4 });
    // Left to run time, ONNX Runtime computes it exactly.
    const g = gc.fromOnnx(bytesOf('Add', 1572864000, 1572864000));
    const s = await ort.InferenceSession.create(gc.toOnnx(g));
    const r = await s.run({});
    expect(Array.from(r.y!.data as BigInt64Array)).toEqual([3145728000n]);
    await s.release();
  });

  it('Constant value_int(s) past 2^53 are exact', () => {
    const bytes = model({ opset: 13, nodes: [node('Constant', [], ['y'], [{ name: 'value_ints', type: A.INTS, ints: ['9007199254740993' as unknown as number, -3] }])],
      inputs: [], outputs: [valueInfo('y', T.INT64, [2])] });
    const c = gc.fromOnnx(bytes).nodes[0]!.attrs.value as TensorData;
    expect(Array.from(c.data as BigInt64Array)).toEqual([9007199254740993n, -3n]);
  });
});
