/**
 * Failures the ONNX importer fuzzer found (bench/fuzz_onnx.ts), each rerun from its seed and
 * case index in a child process under the fuzzer's budgets (10 s, 2 GB): each must now end in
 * an import or a GcError. The models are made by bench/fuzz_onnx/cases.ts; hostile cases do
 * not depend on the seed models, so they reproduce wherever the test runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { onnx } from '../../exporters/onnx/proto.js';
import { formatSummary, fuzzOnnx } from '../../bench/fuzz_onnx.js';
import { loadSeeds } from '../../bench/fuzz_onnx/seeds.js';
import { makeCase } from '../../bench/fuzz_onnx/cases.js';
import type { CaseResult } from '../../bench/fuzz_onnx/pool.js';
import { runPool } from '../../bench/fuzz_onnx/pool.js';

/** seed → [case index, what it was, what went wrong before the fix]. */
const FOUND: Record<number, [number, string, string][]> = {
  2: [
    [33, 'If nested 1000 deep', 'RangeError: Maximum call stack size exceeded in the import checks (found 2000 deep; the generator now nests at most 1000)'],
    [229, 'If nested 1000 deep', 'RangeError: Maximum call stack size exceeded in the import checks (as case 33)'],
  ],
  4: [
    [117, 'Resize by -1', 'RangeError: Invalid array length (a weight table of negative size)'],
    [135, 'Resize by Infinity', 'RangeError: Invalid array length'],
    [311, 'Resize by 1000000000', 'RangeError: Invalid array length (a 4e9×4 weight table)'],
    [1163, 'Resize by NaN', 'RangeError: Invalid array length'],
  ],
  5: [
    [1229, 'ConvTranspose kernel_shape=[16777216,1]', 'past 10 s: a kernel_shape that disagrees with the [1,1,1,1] filter sized a 16M-row output'],
  ],
  11: [
    [467, 'OneHot depth', 'past 10 s on wasm: the one-hot was built from tfjs-wasm\'s broadcast equal and where (19 s for [3, 2^24])'],
    [1993, 'Scan', 'TypeError: num_scan_inputs 0 left no scanned operand to take a length from'],
  ],
  12: [
    [3427, 'ConvTranspose.strides[k] = 1048576', 'past 10 s on cpu: tfjs-cpu sliced the [1,9,2097155,2] result element by element (29 s)'],
  ],
  13: [
    [157, 'OneHot depth 16777216', 'past 10 s on wasm (as seed 11 case 467)'],
  ],
  21: [
    [2445, 'Pad by [1,16777216,-1,-1]', 'past 10 s on cpu: the negative pads were a tfjs-cpu slice, element by element (115 s)'],
    [16368, 'TfIdfVectorizer.ngram_indexes[k] = 1099511627776', 'RangeError: Invalid array length (an n-gram map 2^40 wide)'],
  ],
  22: [
    [7595, 'Tile by [16777216,1]', 'past 10 s: tfjs-cpu and tfjs-wasm tiled element by element (4.7 s + 8.1 s)'],
    [18873, 'Einsum', 'RangeError: Invalid array length (a diagonal mask of (2^32+1)^2 elements)'],
  ],
  23: [
    [3470, 'Tile by [-2147483648,1073741824]', 'past 2 GB: negative repeats gave a negative size the limits passed, and the tile allocated (repeats are now checked ≥ 0 by the IR)'],
    [14329, 'Tile by [-2,268435456]', 'past 2 GB (as case 3470)'],
    [11212, 'test_scatter_elements_without_axis: a dim = 4294967297', 'RangeError: Invalid array length (an index table of 2·(2^32+1) entries)'],
  ],
  25: [
    [3503, 'Reciprocal', 'wasm: RuntimeError: memory access out of bounds (a unary math op on a bool wrote 4-byte results into a 1-byte buffer; the IR now refuses bool operands of unary math)'],
    [8064, 'Expand to [2,16777216,2] of an input', 'past 10 s: tfjs broadcast with its element-by-element Tile (5.2 s cpu, 8.4 s wasm)'],
    [14874, 'TfIdfVectorizer.max_skip_count = 2147483647', 'past 10 s: the importer looped over 2^31 skips'],
  ],
  26: [
    [10932, 'test_averagepool_2d_strides: a dim = 3', 'wasm: memory access out of bounds (AveragePool 5×5 by 3 over a width of 3 has an empty result; XNNPACK sized it in unsigned arithmetic and wrote into the heap: alone it trapped, after other cases it went unnoticed and case 10941, 2000 unary nodes, trapped)'],
  ],
  27: [
    [19086, 'TfIdfVectorizer.ngram_counts[k] = 2147483648', 'past 2 GB: the importer made the unigrams up to the offset 2^31 before it checked the next offset against the pool'],
  ],
  24: [
    [4099, 'test_averagepool_3d_default', 'past 10 s: the 8 unit-stride taps of a 3-D AveragePool were strided slices tfjs-cpu and tfjs-wasm copy element by element (7 s each)'],
  ],
};

describe('ONNX importer fuzz regressions', () => {
  for (const [seed, cases] of Object.entries(FOUND)) {
    it(`seed ${seed}: cases ${cases.map(([i]) => i).join(', ')}`, async () => {
      const seeds = loadSeeds();
      for (const [i, what] of cases) expect(makeCase(seeds, Number(seed), i).summary, 'the generator still makes the case').toContain(what);
      const s = await fuzzOnnx({ seed: Number(seed), cases: cases.length, indices: cases.map(([i]) => i), workers: 1 });
      expect(s.failures, formatSummary(s, Number(seed))).toEqual([]);
    }, 120_000);
  }
});

describe('the fuzzer\'s worker leaves no tensor behind', () => {
  it('seed 26 cases 208, 1206: a feed past the harness budget after a first one made (that first feed was never disposed)', async () => {
    const seeds = loadSeeds();
    expect(makeCase(seeds, 26, 208).summary).toBe('MatMul of [1048576,1] and [1,268435456]');
    expect(makeCase(seeds, 26, 1206).summary).toBe('Where of [3,1] and [1,70368744177666]');
    const s = await fuzzOnnx({ seed: 26, cases: 2, indices: [208, 1206], workers: 1 });
    expect(s.outcomes['imported (feeds past the harness budget)'], formatSummary(s, 26)).toBe(2);
    expect(s.leaks).toEqual([]);
  }, 60_000);
});

describe('Resize with any scales or sizes (fuzz seed 4: negative, NaN, infinite and huge scales threw RangeError)', () => {
  const A = onnx.AttributeProto.AttributeType, T = onnx.TensorProto.DataType;
  const resizeModel = (scales: number[] | undefined, sizes: number[] | undefined, mode: string): Uint8Array => onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'r', node: [{ opType: 'Resize', input: ['x', '', scales ? 's' : '', sizes ? 'z' : ''], output: ['y'], attribute: [{ name: 'mode', type: A.STRING, s: new TextEncoder().encode(mode) }] }],
      input: [{ name: 'x', type: { tensorType: { elemType: T.FLOAT, shape: { dim: [1, 1, 4, 4].map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: T.FLOAT } } }],
      initializer: [...(scales ? [{ name: 's', dataType: T.FLOAT, dims: [4], floatData: scales }] : []), ...(sizes ? [{ name: 'z', dataType: T.INT64, dims: [4], int64Data: sizes }] : [])],
    },
  })).finish();
  const scale = fc.oneof(fc.constantFrom(-1, 0, NaN, Infinity, -Infinity, 1e9, 2 ** 20, 0.5, 1, 2, 3), fc.double({ min: -10, max: 10, noNaN: true }));
  const size = fc.oneof(fc.constantFrom(-1, 0, 1, 4, 8, 2 ** 31, 2 ** 40), fc.integer({ min: 0, max: 16 }));

  it('imports with the output size ONNX gives, or refuses with a GcError that names the node', () => {
    fc.assert(fc.property(fc.boolean(), fc.tuple(scale, scale), fc.tuple(size, size), fc.constantFrom('nearest', 'linear', 'cubic'), (bySizes, [sh, sw], [zh, zw], mode) => {
      const bytes = bySizes ? resizeModel(undefined, [1, 1, zh, zw], mode) : resizeModel([1, 1, sh, sw], undefined, mode);
      let g: gc.Graph;
      try {
        g = gc.fromOnnx(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(gc.GcError);
        expect((e as Error).message).not.toMatch(/internal error/);
        expect((e as Error).message).toMatch(/onnx node \(Resize\)/);
        return;
      }
      const want = bySizes ? [1, 1, zh, zw] : [1, 1, Math.floor(4 * Math.fround(sh)), Math.floor(4 * Math.fround(sw))];   // scales are float32
      expect(g.outputs[0]!.value.shape).toEqual(want);
    }), { numRuns: 300, seed: 17 });
  });
});

describe('pools over taps with any spatial dims (fuzz seed 11 case 5973: MaxPool with Indices over a dim of 2^31-1 threw RangeError)', () => {
  const A = onnx.AttributeProto.AttributeType, T = onnx.TensorProto.DataType;
  const poolModel = (op: string, dims: number[], wantIndices: boolean): Uint8Array => onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 12 }],
    graph: {
      name: 'p', node: [{ opType: op, input: ['x'], output: wantIndices ? ['y', 'i'] : ['y'], attribute: [
        { name: 'kernel_shape', type: A.INTS, ints: [2, 2] }, { name: 'dilations', type: A.INTS, ints: [1, 2] },
        ...(op === 'AveragePool' ? [{ name: 'count_include_pad', type: A.INT, i: 1 }] : [])] }],
      input: [{ name: 'x', type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: T.FLOAT } } }, ...(wantIndices ? [{ name: 'i', type: { tensorType: { elemType: T.INT64 } } }] : [])],
    },
  })).finish();
  const dim = fc.oneof(fc.integer({ min: 2, max: 6 }), fc.constantFrom(2 ** 12, 2 ** 20, 2 ** 31 - 1, 2 ** 40));

  it('imports with ONNX\'s output shape, or refuses with a GcError that names the node', () => {
    fc.assert(fc.property(fc.constantFrom('MaxPool', 'AveragePool'), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), dim, dim), (op, [n, ch, h, w]) => {
      const wantIndices = op === 'MaxPool';
      let g: gc.Graph;
      try {
        g = gc.fromOnnx(poolModel(op, [n, ch, h, w], wantIndices));
      } catch (e) {
        expect(e).toBeInstanceOf(gc.GcError);
        expect((e as Error).message).not.toMatch(/internal error/);
        expect((e as Error).message).toMatch(new RegExp(`onnx node \\(${op}\\)`));
        return;
      }
      // kernel 2×2, dilations [1, 2]: effective window 2×3, stride 1.
      expect(g.outputs[0]!.value.shape).toEqual([n, ch, h - 1, w - 2]);
    }), { numRuns: 60, seed: 23 });
  });
});

describe('RNN, GRU and LSTM over any sequence length (fuzz seed 12 case 15424: an LSTM over 2^40 steps threw RangeError)', () => {
  const T = onnx.TensorProto.DataType;
  const rnnModel = (op: string, seq: number): Uint8Array => {
    const g = op === 'LSTM' ? 4 : op === 'GRU' ? 3 : 1, h = 2, inp = 3;
    const t = (name: string, dims: number[]) => ({ name, dataType: T.FLOAT, dims, floatData: new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(0.1) });
    return onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 14 }],
      graph: {
        name: 'r', node: [{ opType: op, input: ['x', 'w', 'r'], output: ['y', 'yh'], attribute: [{ name: 'hidden_size', type: onnx.AttributeProto.AttributeType.INT, i: h }] }],
        input: [{ name: 'x', type: { tensorType: { elemType: T.FLOAT, shape: { dim: [seq, 1, inp].map((d) => ({ dimValue: d })) } } } }],
        output: ['y', 'yh'].map((name) => ({ name, type: { tensorType: { elemType: T.FLOAT } } })),
        initializer: [t('w', [1, g * h, inp]), t('r', [1, g * h, h])],
      },
    })).finish();
  };

  it('imports with ONNX\'s result shapes, or refuses with a GcError that names the node', () => {
    fc.assert(fc.property(fc.constantFrom('RNN', 'GRU', 'LSTM'), fc.constantFrom(1, 2, 5, 2 ** 16 + 1, 2 ** 31, 2 ** 40), (op, seq) => {
      let g: gc.Graph;
      try {
        g = gc.fromOnnx(rnnModel(op, seq));
      } catch (e) {
        expect(e).toBeInstanceOf(gc.GcError);
        expect((e as Error).message).not.toMatch(/internal error/);
        expect((e as Error).message).toMatch(new RegExp(`onnx node \\(${op}\\)`));
        expect(seq).toBeGreaterThan(2 ** 16);
        return;
      }
      expect(g.outputs.map((o) => o.value.shape)).toEqual([[seq, 1, 1, 2], [1, 1, 2]]);
    }), { numRuns: 30, seed: 31 });
  });
});

describe('pools and convs whose window is larger than the padded input (fuzz seed 26 case 10932: XNNPACK wrote an empty result into the wasm heap)', () => {
  const A = onnx.AttributeProto.AttributeType, T = onnx.TensorProto.DataType;
  const ints = (name: string, v: number[]) => ({ name, type: A.INTS, ints: v });
  const model = (op: string, attrs: onnx.IAttributeProto[], w?: number[]): Uint8Array => onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'w', node: [{ opType: op, input: w ? ['x', 'w'] : ['x'], output: ['y'], attribute: attrs }],
      input: [{ name: 'x', type: { tensorType: { elemType: T.FLOAT, shape: { dim: [1, 3, 3, 3].map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: T.FLOAT } } }],
      initializer: w ? [{ name: 'w', dataType: T.FLOAT, dims: w, floatData: new Array<number>(w.reduce((a, b) => a * b, 1)).fill(0.5) }] : [],
    },
  })).finish();
  // [what, model, ONNX's result shape]: each has an empty result of a non-empty input (a 3×3 image).
  const cases: [string, Uint8Array, number[]][] = [];
  for (const op of ['MaxPool', 'AveragePool']) {
    for (const [k, s, pads, want] of [[[5, 5], [3, 3], [0, 0, 0, 0], [0, 0]], [[5, 1], [2, 1], [1, 1, 0, 0], [0, 4]], [[1, 5], [3, 3], [0, 0, 1, 1], [2, 0]],
      [[4, 4], [3, 3], [0, 0, 0, 0], [0, 0]], [[5, 5], [2, 1], [1, 1, 0, 0], [0, 0]]] as [number[], number[], number[], number[]][]) {
      cases.push([`${op} ${k.join('×')} by ${s.join('×')} pads [${pads}]`, model(op, [ints('kernel_shape', k), ints('strides', s), ints('pads', pads)]), [1, 3, ...want]]);
    }
  }
  for (const group of [1, 3]) {
    for (const [k, s, pads, want] of [[5, 1, [1, 1, 0, 0], [0, 0]], [5, 3, [0, 0, 0, 0], [0, 0]], [4, 1, [0, 0, 0, 0], [0, 0]]] as [number, number, number[], number[]][]) {
      cases.push([`Conv ${k}×${k} by ${s} group ${group} pads [${pads}]`, model('Conv', [ints('strides', [s, s]), ints('pads', pads), { name: 'group', type: A.INT, i: group }], [6, 3 / group, k, k]), [1, 6, ...want]]);
    }
  }

  it('import with ONNX\'s empty result shape', () => {
    for (const [what, bytes, want] of cases) expect(gc.fromOnnx(bytes).outputs[0]!.value.shape, what).toEqual(want);
  });

  it('run to an empty result on cpu and wasm, with the wasm heap\'s guard bytes intact (in the fuzzer\'s worker)', async () => {
    const results: [string, CaseResult][] = [];
    await runPool(cases.length, (i) => ({ bytes: cases[i]![1], feedSeed: i }), (i, r) => { results.push([cases[i]![0], r]); }, { workers: 1 });
    for (const [what, r] of results) {
      expect(r.ok ? r.outcome : r.message, what).toMatchObject({ result: 'ran', runs: 2, leakedTensors: 0 });
    }
  }, 120_000);
});
