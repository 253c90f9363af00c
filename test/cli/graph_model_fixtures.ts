/**
 * tfjs GraphModels the tests write themselves, as tensorflowjs_converter writes them: model.json
 * with format 'graph-model', modelTopology a GraphDef in JSON (Placeholder, Const and op nodes,
 * attrs in TensorFlow's AttrValue JSON), a weightsManifest whose entries are named after the Const
 * nodes, and binary weight shards. Weights come from a seeded generator.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

type DT = 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL';
const TFJS: Record<DT, 'float32' | 'int32' | 'bool'> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool' };

/** AttrValue JSON helpers. */
export const A = {
  b: (v: boolean) => ({ b: v }),
  i: (v: number) => ({ i: String(v) }),
  f: (v: number) => ({ f: v }),
  s: (v: string) => ({ s: Buffer.from(v).toString('base64') }),
  ints: (v: number[]) => ({ list: { i: v.map(String) } }),
  strs: (v: string[]) => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } }),
  type: (t: DT) => ({ type: t }),
  shape: (dims: number[]) => ({ shape: { dim: dims.map((d) => ({ size: String(d) })) } }),
};

/** A small seeded generator (mulberry32): values in [-scale, scale). */
export function seeded(seed: number): (scale?: number) => number {
  let a = seed >>> 0;
  return (scale = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  };
}

interface Weight { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool'; bytes: Uint8Array }

export interface Signature { inputs: Record<string, string>; outputs: Record<string, string> }

/** Builds a GraphDef node by node, and writes model.json plus shards. */
type NodeJson = { name: string; op: string; input?: string[]; attr?: Record<string, unknown> };

export class GraphModelBuilder {
  nodes: NodeJson[] = [];
  /** The GraphDef's function library (If branches, While conditions and bodies). */
  readonly functions: Record<string, unknown>[] = [];
  readonly weights: Weight[] = [];
  private readonly rand: (scale?: number) => number;
  constructor(seed: number) {
    this.rand = seeded(seed);
  }

  placeholder(name: string, shape: number[], dtype: DT = 'DT_FLOAT'): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: A.type(dtype), shape: A.shape(shape) } });
    return name;
  }

  /** A Const node and its weight: `values` given, or seeded random floats in [-scale, scale). */
  const(name: string, shape: number[], values?: number[], dtype: DT = 'DT_FLOAT', scale = 0.5): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = values ?? Array.from({ length: n }, () => this.rand(scale));
    if (vals.length !== n) throw new Error(`const ${name}: ${vals.length} values for shape [${shape}]`);
    const arr = dtype === 'DT_FLOAT' ? new Float32Array(vals) : dtype === 'DT_INT32' ? new Int32Array(vals) : new Uint8Array(vals);
    this.nodes.push({
      name, op: 'Const',
      attr: { dtype: A.type(dtype), value: { tensor: { dtype, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } },
    });
    this.weights.push({ name, shape, dtype: TFJS[dtype], bytes: new Uint8Array(arr.buffer.slice(0)) });
    return name;
  }

  /**
   * A library function: `body` adds its nodes (ops and Consts, whose weights go to the manifest
   * as a converted model's do) given its argument names, and returns the operands of its results.
   */
  func(name: string, args: [string, DT][], body: (...args: string[]) => string[]): string {
    const outer = this.nodes;
    this.nodes = [];
    try {
      const rets = body(...args.map(([a]) => a));
      this.functions.push({
        signature: { name, inputArg: args.map(([a, t]) => ({ name: a, type: t })), outputArg: rets.map((_, i) => ({ name: `out${i}`, type: 'DT_FLOAT' })) },
        nodeDef: this.nodes,
        ret: Object.fromEntries(rets.map((r, i) => [`out${i}`, r])),
      });
    } finally {
      this.nodes = outer;
    }
    return name;
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: A.type('DT_FLOAT'), ...attr } });
    return name;
  }

  /**
   * The model.json object and the weight bytes, split into `shards` files (group1-shardKofN.bin);
   * `quantize` stores the float32 weights as tensorflowjs_converter's --quantize_uint8 or
   * --quantize_float16 does.
   */
  artifacts(opts: { signature?: Signature; shards?: number; quantize?: 'uint8' | 'float16' } = {}): { json: Record<string, unknown>; files: Record<string, Uint8Array> } {
    const stored = this.weights.map((w) => (w.dtype === 'float32' && opts.quantize ? quantize(w, opts.quantize) : { entry: { name: w.name, shape: w.shape, dtype: w.dtype } as Record<string, unknown>, bytes: w.bytes }));
    const total = stored.reduce((n, w) => n + w.bytes.length, 0);
    const all = new Uint8Array(total);
    let off = 0;
    for (const w of stored) {
      all.set(w.bytes, off);
      off += w.bytes.length;
    }
    const k = Math.max(1, Math.min(opts.shards ?? 1, total));
    const per = Math.ceil(total / k);
    const files: Record<string, Uint8Array> = {};
    const paths: string[] = [];
    for (let i = 0; i < k; i++) {
      const p = `group1-shard${i + 1}of${k}.bin`;
      paths.push(p);
      files[p] = all.slice(i * per, Math.min(total, (i + 1) * per));
    }
    const sig = opts.signature;
    const json: Record<string, unknown> = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'graphc tests (GraphModelBuilder)',
      modelTopology: { node: this.nodes, library: this.functions.length > 0 ? { function: this.functions } : {}, versions: { producer: 1482 } },
      weightsManifest: [{ paths, weights: stored.map((w) => w.entry) }],
    };
    if (sig) {
      const entry = (tensorName: string) => {
        const node = this.nodes.find((n) => n.name === tensorName.replace(/:\d+$/, ''));
        const attr = node?.attr as { dtype?: { type?: string }; shape?: { shape: unknown } } | undefined;
        return { name: tensorName, dtype: attr?.dtype?.type ?? 'DT_FLOAT', ...(attr?.shape ? { tensorShape: attr.shape.shape } : {}) };
      };
      json.signature = {
        inputs: Object.fromEntries(Object.entries(sig.inputs).map(([k2, t]) => [k2, entry(t)])),
        outputs: Object.fromEntries(Object.entries(sig.outputs).map(([k2, t]) => [k2, entry(t)])),
      };
    }
    return { json, files };
  }

  /** Writes model.json and its shards into `dir` (created); the path of model.json. */
  write(dir: string, opts: { signature?: Signature; shards?: number; quantize?: 'uint8' | 'float16' } = {}): string {
    mkdirSync(dir, { recursive: true });
    const { json, files } = this.artifacts(opts);
    for (const [p, b] of Object.entries(files)) writeFileSync(path.join(dir, p), b);
    const file = path.join(dir, 'model.json');
    writeFileSync(file, JSON.stringify(json));
    return file;
  }
}

/** float32 → IEEE half bits (round to nearest even; the weights here are small normal numbers). */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) return sign; // flushed to zero (no weight here is that small)
  if (exp >= 31) return sign | 0x7c00;
  const round = mant & 0x1fff;
  mant >>>= 13;
  let h = sign | (exp << 10) | mant;
  if (round > 0x1000 || (round === 0x1000 && (mant & 1) === 1)) h += 1;
  return h;
}

function quantize(w: Weight, as: 'uint8' | 'float16'): { entry: Record<string, unknown>; bytes: Uint8Array } {
  const v = new Float32Array(w.bytes.buffer.slice(w.bytes.byteOffset, w.bytes.byteOffset + w.bytes.byteLength));
  if (as === 'float16') {
    return { entry: { name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'float16' } }, bytes: new Uint8Array(Uint16Array.from(v, toHalf).buffer) };
  }
  const min = Math.min(...v);
  const max = Math.max(...v);
  const scale = max > min ? (max - min) / 255 : 1;
  return { entry: { name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'uint8', min, scale } }, bytes: Uint8Array.from(v, (x) => Math.round((x - min) / scale)) };
}

const NHWC = { data_format: A.s('NHWC') };

/** An MLP 16 → 32 → 24 → 10: _FusedMatMul (BiasAdd, Relu), MatMul + BiasAdd + Relu, MatMul + Add, Softmax; batch dynamic. */
export function mlp(seed = 1): GraphModelBuilder {
  const g = new GraphModelBuilder(seed);
  const x = g.placeholder('x', [-1, 16]);
  const h1 = g.op('dense/Relu', '_FusedMatMul', [x, g.const('dense/kernel', [16, 32]), g.const('dense/bias', [32])], {
    transpose_a: A.b(false), transpose_b: A.b(false), fused_ops: A.strs(['BiasAdd', 'Relu']), num_args: A.i(1), epsilon: A.f(0),
  });
  const m2 = g.op('dense_1/MatMul', 'MatMul', [h1, g.const('dense_1/kernel', [32, 24])], { transpose_a: A.b(false), transpose_b: A.b(false) });
  const b2 = g.op('dense_1/BiasAdd', 'BiasAdd', [m2, g.const('dense_1/bias', [24])], NHWC);
  const r2 = g.op('dense_1/Relu', 'Relu', [b2]);
  const m3 = g.op('dense_2/MatMul', 'MatMul', [r2, g.const('dense_2/kernel', [24, 10])], { transpose_a: A.b(false), transpose_b: A.b(false) });
  const a3 = g.op('dense_2/Add', 'AddV2', [m3, g.const('dense_2/bias', [10])]);
  g.op('Identity', 'Softmax', [a3]);
  return g;
}

/**
 * A CNN on 8×8×2 images: Conv2D (SAME) + BiasAdd + Relu, MaxPool 2×2, FusedBatchNormV3
 * (inference), _FusedConv2D (BiasAdd, Relu6, VALID), Reshape to [-1, 72] by a Const,
 * MatMul + BiasAdd, Softmax; batch dynamic.
 */
export function cnn(seed = 2): GraphModelBuilder {
  const g = new GraphModelBuilder(seed);
  const x = g.placeholder('image', [-1, 8, 8, 2]);
  const conv = g.op('conv/Conv2D', 'Conv2D', [x, g.const('conv/kernel', [3, 3, 2, 4])], {
    strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), dilations: A.ints([1, 1, 1, 1]), ...NHWC, use_cudnn_on_gpu: A.b(true), explicit_paddings: { list: {} },
  });
  const bias = g.op('conv/BiasAdd', 'BiasAdd', [conv, g.const('conv/bias', [4])], NHWC);
  const relu = g.op('conv/Relu', 'Relu', [bias]);
  const pool = g.op('pool/MaxPool', 'MaxPool', [relu], { ksize: A.ints([1, 2, 2, 1]), strides: A.ints([1, 2, 2, 1]), padding: A.s('VALID'), ...NHWC });
  const bn = g.op('bn/FusedBatchNormV3', 'FusedBatchNormV3', [
    pool, g.const('bn/gamma', [4], [1.5, 0.5, 1, 2]), g.const('bn/beta', [4]), g.const('bn/moving_mean', [4]),
    g.const('bn/moving_variance', [4], [0.5, 1, 2, 0.25]),
  ], { epsilon: A.f(0.001), is_training: A.b(false), U: A.type('DT_FLOAT'), ...NHWC, exponential_avg_factor: A.f(1) });
  const conv2 = g.op('conv_1/Relu6', '_FusedConv2D', [bn, g.const('conv_1/kernel', [2, 2, 4, 8]), g.const('conv_1/bias', [8])], {
    strides: A.ints([1, 1, 1, 1]), padding: A.s('VALID'), dilations: A.ints([1, 1, 1, 1]), ...NHWC, num_args: A.i(1),
    fused_ops: A.strs(['BiasAdd', 'Relu6']), epsilon: A.f(0), explicit_paddings: { list: {} }, use_cudnn_on_gpu: A.b(true),
  });
  const flat = g.op('flatten/Reshape', 'Reshape', [conv2, g.const('flatten/Const', [2], [-1, 72], 'DT_INT32')], { Tshape: A.type('DT_INT32') });
  const mm = g.op('dense/MatMul', 'MatMul', [flat, g.const('dense/kernel', [72, 5], undefined, 'DT_FLOAT', 0.2)], { transpose_a: A.b(false), transpose_b: A.b(false) });
  const ba = g.op('dense/BiasAdd', 'BiasAdd', [mm, g.const('dense/bias', [5])], NHWC);
  g.op('Identity', 'Softmax', [ba]);
  return g;
}

/**
 * Two inputs (features: float [-1, 6], ids: int32 [-1, 3]) and two outputs, with a signature
 * that lists the outputs in another order than the nodes: an embedding (GatherV2 + Sum), ConcatV2,
 * Mul, Sub, Tanh, Sigmoid, Mean with keep_dims, Square, Rsqrt-free normalisation, Identity.
 */
export function twoInTwoOut(seed = 3): { builder: GraphModelBuilder; signature: Signature } {
  const g = new GraphModelBuilder(seed);
  const f = g.placeholder('features', [-1, 6]);
  const ids = g.placeholder('ids', [-1, 3], 'DT_INT32');
  const emb = g.op('emb/GatherV2', 'GatherV2', [g.const('emb/table', [10, 4]), ids, g.const('emb/axis', [], [0], 'DT_INT32')], {
    Tparams: A.type('DT_FLOAT'), Tindices: A.type('DT_INT32'), Taxis: A.type('DT_INT32'), batch_dims: A.i(0),
  });
  const pooled = g.op('emb/Sum', 'Sum', [emb, g.const('emb/Sum/axis', [1], [1], 'DT_INT32')], { keep_dims: A.b(false), Tidx: A.type('DT_INT32') });
  const proj = g.op('proj/MatMul', 'MatMul', [f, g.const('proj/kernel', [6, 4])], { transpose_a: A.b(false), transpose_b: A.b(false) });
  const both = g.op('concat', 'ConcatV2', [proj, pooled, g.const('concat/axis', [], [1], 'DT_INT32')], { N: A.i(2), Tidx: A.type('DT_INT32') });
  const gate = g.op('gate', 'Sigmoid', [g.op('gate/Sub', 'Sub', [proj, pooled])]);
  const mixed = g.op('mix', 'Mul', [gate, g.op('mix/Tanh', 'Tanh', [pooled])]);
  const head = g.op('head/MatMul', 'MatMul', [both, g.const('head/kernel', [8, 3])], { transpose_a: A.b(false), transpose_b: A.b(false) });
  g.op('scores', 'Identity', [g.op('head/Add', 'Add', [head, g.const('head/bias', [3])])]);
  const sq = g.op('norm/Square', 'Square', [mixed]);
  g.op('energy', 'Mean', [sq, g.const('norm/axis', [1], [1], 'DT_INT32')], { keep_dims: A.b(true), Tidx: A.type('DT_INT32') });
  return {
    builder: g,
    signature: { inputs: { ids: 'ids:0', features: 'features:0' }, outputs: { energy: 'energy:0', scores: 'scores:0' } },
  };
}

/** Sequences with a dynamic batch and a dynamic length ([-1, -1, 4]): Mean over time, then a dense layer with Elu. */
export function sequence(seed = 4): GraphModelBuilder {
  const g = new GraphModelBuilder(seed);
  const x = g.placeholder('seq', [-1, -1, 4]);
  const mean = g.op('pool/Mean', 'Mean', [x, g.const('pool/axis', [1], [1], 'DT_INT32')], { keep_dims: A.b(false), Tidx: A.type('DT_INT32') });
  const mm = g.op('dense/MatMul', 'MatMul', [mean, g.const('dense/kernel', [4, 6])], { transpose_a: A.b(false), transpose_b: A.b(false) });
  g.op('out', 'Elu', [g.op('dense/BiasAdd', 'BiasAdd', [mm, g.const('dense/bias', [6])], NHWC)]);
  return g;
}

/**
 * What Keras's Reshape layer converts to, with a signature whose keys are not the node names
 * (input_1, output_0): Reshape(x, Pack(StridedSlice(Shape(x), [0], [1]), 3, 4)), Transpose,
 * Reshape by a Const, MatMul, Tanh, Identity.
 */
export function kerasReshape(seed = 6): { builder: GraphModelBuilder; signature: Signature } {
  const g = new GraphModelBuilder(seed);
  const x = g.placeholder('serving_default_input_1', [-1, 12]);
  const shp = g.op('model/reshape/Shape', 'Shape', [x], { out_type: A.type('DT_INT32') });
  const b = g.op('model/reshape/strided_slice', 'StridedSlice', [shp, g.const('model/reshape/strided_slice/stack', [1], [0], 'DT_INT32'),
    g.const('model/reshape/strided_slice/stack_1', [1], [1], 'DT_INT32'), g.const('model/reshape/strided_slice/stack_2', [1], [1], 'DT_INT32')],
  { T: A.type('DT_INT32'), Index: A.type('DT_INT32'), begin_mask: A.i(0), end_mask: A.i(0), ellipsis_mask: A.i(0), new_axis_mask: A.i(0), shrink_axis_mask: A.i(1) });
  const pk = g.op('model/reshape/Reshape/shape', 'Pack', [b, g.const('model/reshape/Reshape/shape/1', [], [3], 'DT_INT32'), g.const('model/reshape/Reshape/shape/2', [], [4], 'DT_INT32')],
    { T: A.type('DT_INT32'), N: A.i(3), axis: A.i(0) });
  const r = g.op('model/reshape/Reshape', 'Reshape', [x, pk], { Tshape: A.type('DT_INT32') });
  const tr = g.op('model/permute/transpose', 'Transpose', [r, g.const('model/permute/perm', [3], [0, 2, 1], 'DT_INT32')], { Tperm: A.type('DT_INT32') });
  const flat = g.op('model/flatten/Reshape', 'Reshape', [tr, g.const('model/flatten/Const', [2], [-1, 12], 'DT_INT32')], { Tshape: A.type('DT_INT32') });
  const mm = g.op('model/dense/MatMul', 'MatMul', [flat, g.const('model/dense/kernel', [12, 5])], { transpose_a: A.b(false), transpose_b: A.b(false) });
  g.op('Identity', 'Identity', [g.op('model/dense/Tanh', 'Tanh', [mm])]);
  return { builder: g, signature: { inputs: { input_1: 'serving_default_input_1:0' }, outputs: { output_0: 'Identity:0' } } };
}

/**
 * TF2 control flow: StatelessIf(Sum(x) > 0, x) with then = Relu(x) · scale (a Const of the
 * branch) and else = Neg(x) + Tanh(x); a Const of the graph read by the branch is passed as an
 * argument, as tf.function does.
 */
export function ifModel(seed = 8): GraphModelBuilder {
  const g = new GraphModelBuilder(seed);
  const x = g.placeholder('x', [-1, 4]);
  const total = g.op('Sum', 'Sum', [x, g.const('Sum/axes', [2], [0, 1], 'DT_INT32')], { keep_dims: A.b(false), Tidx: A.type('DT_INT32') });
  const pred = g.op('Greater', 'Greater', [total, g.const('zero', [], [0])]);
  const bias = g.const('bias', [4]);
  const thenFn = g.func('cond_true_5', [['x', 'DT_FLOAT'], ['b', 'DT_FLOAT']], (a, b) => {
    const r = g.op('Relu', 'Relu', [a!]);
    return [`${g.op('mul', 'Mul', [r, g.const('cond_true_5/scale', [4])])}:z:0`];
  });
  const elseFn = g.func('cond_false_6', [['x', 'DT_FLOAT'], ['b', 'DT_FLOAT']], (a, b) => {
    const n = g.op('Neg', 'Neg', [a!]);
    const t = g.op('Tanh', 'Tanh', [a!]);
    return [`${g.op('add', 'AddV2', [g.op('add0', 'AddV2', [n, t]), b!])}:z:0`];
  });
  const cond = g.op('cond', 'StatelessIf', [pred, x, bias], {
    Tcond: A.type('DT_BOOL'), Tin: { list: { type: ['DT_FLOAT', 'DT_FLOAT'] } }, Tout: { list: { type: ['DT_FLOAT'] } },
    then_branch: { func: { name: thenFn } }, else_branch: { func: { name: elseFn } }, output_shapes: { list: { shape: [{ dim: [{ size: '-1' }, { size: '4' }] }] } },
  });
  g.op('Identity', 'Identity', [cond]);
  return g;
}

/** TF2 control flow: StatelessWhile(i < 3) { i + 1, Tanh(v · w) } from (0, x), the result v. */
export function whileModel(seed = 9): GraphModelBuilder {
  const g = new GraphModelBuilder(seed);
  const x = g.placeholder('x', [-1, 4]);
  const i0 = g.const('i0', [], [0], 'DT_INT32');
  const w = g.const('w', [4, 4], undefined, 'DT_FLOAT', 0.8);
  const condFn = g.func('while_cond_3', [['i', 'DT_INT32'], ['v', 'DT_FLOAT'], ['w', 'DT_FLOAT']], (i) => [
    `${g.op('Less', 'Less', [i!, g.const('while_cond_3/n', [], [3], 'DT_INT32')], { T: A.type('DT_INT32') })}:z:0`]);
  const bodyFn = g.func('while_body_4', [['i', 'DT_INT32'], ['v', 'DT_FLOAT'], ['w', 'DT_FLOAT']], (i, v, wa) => {
    const next = g.op('add', 'AddV2', [i!, g.const('while_body_4/one', [], [1], 'DT_INT32')], { T: A.type('DT_INT32') });
    const mm = g.op('MatMul', 'MatMul', [v!, wa!], { transpose_a: A.b(false), transpose_b: A.b(false) });
    return [`${next}:z:0`, `${g.op('Tanh', 'Tanh', [mm])}:y:0`, `${wa!}`];
  });
  const loop = g.op('while', 'StatelessWhile', [i0, x, w], {
    T: { list: { type: ['DT_INT32', 'DT_FLOAT', 'DT_FLOAT'] } }, cond: { func: { name: condFn } }, body: { func: { name: bodyFn } },
    parallel_iterations: A.i(10), output_shapes: { list: { shape: [{}, { dim: [{ size: '-1' }, { size: '4' }] }, { dim: [{ size: '4' }, { size: '4' }] }] } },
  });
  g.op('Identity', 'Identity', [`${loop}:1`]);
  return g;
}
