/**
 * Import rules that sample at run-time coordinates: GridSample (nearest, bilinear, bicubic;
 * zeros, border, reflection padding; PyTorch's grid_sample semantics, which ONNX follows),
 * and MaxUnpool (a scatter into zeros). Coordinates are computed with elementwise ops and
 * the taps are per-batch gathers from the flattened image.
 */
import { isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import { elementAt, sizeOf, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

const f = (c: NodeCtx, x: number) => c.b.scalar(x, 'float32');

/** PyTorch's reflect_coordinates: reflects x into [low/2, high/2] (twice the bounds given). */
function reflect(c: NodeCtx, x: Value, twiceLow: number, twiceHigh: number): Value {
  if (twiceLow === twiceHigh) return c.b.op('mul', [x, f(c, 0)]);
  const min = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  const d = c.b.op('abs', [c.b.op('sub', [x, f(c, min)])]);
  const extra = c.b.op('mod', [d, f(c, span)]);
  const flips = c.b.op('floor', [c.b.op('div', [d, f(c, span)])]);
  const even = c.b.op('equal', [c.b.op('mod', [flips, f(c, 2)]), f(c, 0)]);
  return c.b.op('select', [even, c.b.op('add', [extra, f(c, min)]), c.b.op('add', [c.b.op('sub', [f(c, span), extra]), f(c, min)])]);
}

const gridSample: ImportRule = (c) => {
  const x0 = c.input(0), grid = c.b.cast(c.input(1), 'float32');
  if (x0.shape.length !== 4) fail(`only 2-D sampling (a 4-D input) is supported, got ${shapeToString(x0.shape)}`);
  const x = c.b.cast(x0, 'float32');
  const [n, ch, h, w] = x.shape;
  if (!isStatic(h!) || !isStatic(w!)) fail('needs static spatial dims');
  const [, ho, wo] = grid.shape;
  const mode = c.attr.string('mode', 'bilinear'), padding = c.attr.string('padding_mode', 'zeros');
  const align = c.attr.int('align_corners', 0) !== 0;
  if (!['bilinear', 'nearest', 'bicubic'].includes(mode)) fail(`unknown mode '${mode}'`);
  if (!['zeros', 'border', 'reflection'].includes(padding)) fail(`unknown padding_mode '${padding}'`);
  const [gx, gy] = c.b.ops('split', [grid], { sizes: [1, 1], axis: 3 }).map((v) => c.b.squeeze(v, [3]));   // [N, Ho, Wo]
  const unnormalize = (g: Value, size: number): Value => (align
    ? c.b.op('mul', [c.b.op('add', [g, f(c, 1)]), f(c, (size - 1) / 2)])
    : c.b.op('div', [c.b.op('sub', [c.b.op('mul', [c.b.op('add', [g, f(c, 1)]), f(c, size)]), f(c, 1)]), f(c, 2)]));
  const clip = (v: Value, size: number) => c.b.op('clip', [v], { min: 0, max: size - 1 });
  const bound = (v: Value, size: number): Value => {
    if (padding === 'border') return clip(v, size);
    if (padding === 'reflection') return clip(align ? reflect(c, v, 0, 2 * (size - 1)) : reflect(c, v, -1, 2 * size - 1), size);
    return v;
  };
  const flat = c.b.reshape(x, [n!, ch!, h * w]);
  /** The image at integer coordinates (ix, iy) (float tensors); with checkBounds zero outside the image. */
  const tap = (ix: Value, iy: Value, checkBounds: boolean): Value => {
    let cx = ix, cy = iy;
    let valid: Value | undefined;
    if (checkBounds) {
      const inside = (v: Value, size: number) => c.b.op('logical_and', [c.b.op('greater_equal', [v, f(c, 0)]), c.b.op('less_equal', [v, f(c, size - 1)])]);
      valid = c.b.op('logical_and', [inside(ix, w), inside(iy, h)]);
      cx = clip(ix, w); cy = clip(iy, h);
    }
    const idx = c.b.cast(c.b.op('add', [c.b.op('mul', [cy, f(c, w)]), cx]), 'int32');
    const v = c.b.reshape(c.b.op('gather', [flat, c.b.reshape(idx, [n!, -1])], { axis: 2, batch_dims: 1 }), [n!, ch!, ho!, wo!]);
    return valid ? c.b.op('select', [c.b.unsqueeze(valid, [1]), v, f(c, 0)]) : v;
  };
  const weighted = (v: Value, wt: Value) => c.b.op('mul', [v, c.b.unsqueeze(wt, [1])]);
  const sx = unnormalize(gx!, w), sy = unnormalize(gy!, h);
  let y: Value;
  if (mode === 'nearest') {
    y = tap(c.b.op('round', [bound(sx, w)]), c.b.op('round', [bound(sy, h)]), true);
  } else if (mode === 'bilinear') {
    const bx = bound(sx, w), by = bound(sy, h);
    const x1 = c.b.op('floor', [bx]), y1 = c.b.op('floor', [by]);
    const x2 = c.b.op('add', [x1, f(c, 1)]), y2 = c.b.op('add', [y1, f(c, 1)]);
    const dx1 = c.b.op('sub', [bx, x1]), dx2 = c.b.op('sub', [x2, bx]), dy1 = c.b.op('sub', [by, y1]), dy2 = c.b.op('sub', [y2, by]);
    const top = c.b.op('add', [weighted(tap(x1, y1, true), dx2), weighted(tap(x2, y1, true), dx1)]);
    const bottom = c.b.op('add', [weighted(tap(x1, y2, true), dx2), weighted(tap(x2, y2, true), dx1)]);
    y = c.b.op('add', [weighted(top, dy2), weighted(bottom, dy1)]);
  } else {
    // Bicubic: 4×4 taps around floor(s), each bounded by the padding mode.
    const A = -0.75;
    const coeffs = (t: Value): Value[] => {
      const t1 = c.b.op('add', [t, f(c, 1)]), u = c.b.op('sub', [f(c, 1), t]), u1 = c.b.op('add', [u, f(c, 1)]);
      const far = (s: Value) => c.b.op('sub', [c.b.op('mul', [c.b.op('add', [c.b.op('mul', [c.b.op('sub', [c.b.op('mul', [s, f(c, A)]), f(c, 5 * A)]), s]), f(c, 8 * A)]), s]), f(c, 4 * A)]);
      const near = (s: Value) => c.b.op('add', [c.b.op('mul', [c.b.op('mul', [c.b.op('sub', [c.b.op('mul', [s, f(c, A + 2)]), f(c, A + 3)]), s]), s]), f(c, 1)]);
      return [far(t1), near(t), near(u), far(u1)];
    };
    const fx = c.b.op('floor', [sx]), fy = c.b.op('floor', [sy]);
    const wx = coeffs(c.b.op('sub', [sx, fx])), wy = coeffs(c.b.op('sub', [sy, fy]));
    let acc: Value | undefined;
    for (let i = 0; i < 4; i++) {
      let row: Value | undefined;
      const ty = bound(c.b.op('add', [fy, f(c, i - 1)]), h);
      for (let j = 0; j < 4; j++) {
        const tx = bound(c.b.op('add', [fx, f(c, j - 1)]), w);
        const term = weighted(tap(tx, ty, padding === 'zeros'), wx[j]!);
        row = row ? c.b.op('add', [row, term]) : term;
      }
      const term = weighted(row!, wy[i]!);
      acc = acc ? c.b.op('add', [acc, term]) : term;
    }
    y = acc!;
  }
  return c.b.cast(y, x0.dtype);
};

/** MaxUnpool: the values scattered into zeros at their (whole-tensor, flattened) indices. */
const maxUnpool: ImportRule = (c) => {
  const x = c.input(0), idx = c.input(1);
  if (!x.shape.every(isStatic)) fail(`needs a static shape, got ${shapeToString(x.shape)}`);
  const xs = x.shape as number[];
  const kernel = c.attr.ints('kernel_shape') ?? fail('kernel_shape is missing');
  const sd = kernel.length;
  const strides = c.attr.ints('strides', kernel.map(() => 1)), pads = c.attr.ints('pads', new Array<number>(2 * sd).fill(0));
  // Indices address the default unpooled shape; a larger output_shape pads it at the end.
  const out = [xs[0]!, xs[1]!, ...kernel.map((k, i) => (xs[i + 2]! - 1) * strides[i]! - pads[i]! - pads[i + sd]! + k)];
  let target = out;
  if (c.has(2)) {
    const t = c.constRequired(2, 'output_shape');
    target = Array.from({ length: t.data.length }, (_, i) => elementAt(t, i));
    if (target.length !== out.length || target.some((d, i) => d < out[i]!)) fail(`output_shape [${target.join(',')}] is smaller than the unpooled [${out.join(',')}]`);
  }
  const total = sizeOf(out), count = sizeOf(xs);
  const at = c.b.reshape(c.b.cast(idx, 'int32'), [count]);
  const oh = c.b.op('one_hot', [at], { depth: total, on_value: 1, off_value: 0, dtype: 'float32' });    // [count, total]
  const vals = c.b.reshape(c.b.cast(x, 'float32'), [1, count]);
  const y = c.b.op('matmul', [vals, oh], { transpose_a: false, transpose_b: false });                 // [1, total]
  let r = c.b.reshape(y, out);
  if (target.some((d, i) => d !== out[i])) r = c.b.op('pad', [r], { paddings: out.flatMap((d, i) => [0, target[i]! - d]), value: 0 });
  return c.b.cast(r, x.dtype);
};

/**
 * TfIdfVectorizer over integer tokens: each pool n-gram (with skips) counted by comparing
 * shifted slices of the input, then mapped to its output index (TF, IDF or TFIDF weights).
 */
const tfIdf: ImportRule = (c) => {
  const x0 = c.input(0);
  if (x0.dtype === 'float32' || x0.dtype === 'bool') fail(`needs integer tokens, got ${x0.dtype}`);
  const batched = x0.shape.length === 2;
  const x = batched ? c.b.cast(x0, 'int32') : c.b.unsqueeze(c.b.cast(x0, 'int32'), [0]);
  const len = x.shape[1]!;
  if (!isStatic(len)) fail('needs a static sequence length');
  const pool = c.attr.ints('pool_int64s') ?? fail('pool_int64s is missing (string pools are not supported)');
  const counts = c.attr.ints('ngram_counts') ?? fail('ngram_counts is missing');
  const indexes = c.attr.ints('ngram_indexes') ?? fail('ngram_indexes is missing');
  const minN = c.attr.int('min_gram_length', 1), maxN = c.attr.int('max_gram_length', 1), maxSkip = c.attr.int('max_skip_count', 0);
  const mode = c.attr.string('mode', 'TF');
  if (!['TF', 'IDF', 'TFIDF'].includes(mode)) fail(`unknown mode '${mode}'`);
  const weights = c.attr.floats('weights');
  // Every offset is checked before any gram is made: an offset past the pool made the grams
  // before it run to it (fuzz seed 27 case 19086: ngram_counts [0, 2^31] built 2^31 empty
  // unigrams, past 2 GB).
  const offBad = counts.findIndex((start, i) => !Number.isSafeInteger(start) || start < 0 || start > pool.length || (i > 0 && start < counts[i - 1]!));
  if (offBad >= 0) fail(`ngram_counts [${counts.join(',')}] are not increasing offsets into a pool of ${pool.length}: entry ${offBad} is ${counts[offBad]}`);
  // Grams of each length, in pool order (the order ngram_indexes and weights follow).
  const grams: Array<{ n: number; tokens: number[] }> = [];
  counts.forEach((start, i) => {
    const n = i + 1, end = i + 1 < counts.length ? counts[i + 1]! : pool.length;
    for (let p = start; p + n <= end; p += n) grams.push({ n, tokens: pool.slice(p, p + n) });
  });
  if (indexes.length !== grams.length) fail(`ngram_indexes has ${indexes.length} entries for ${grams.length} n-grams in the pool`);
  const bad = indexes.findIndex((k) => !Number.isSafeInteger(k) || k < 0);
  if (bad >= 0) fail(`ngram_indexes[${bad}] is ${indexes[bad]}; output indexes are ≥ 0`);
  const width = grams.length === 0 ? 0 : Math.max(...indexes) + 1;
  c.b.afford('float32', grams.length * width, `TfIdfVectorizer's ${grams.length}×${width} n-gram to output map`);
  const perGram: Value[] = grams.map((g) => {
    if (g.n < minN || g.n > maxN) return c.b.op('broadcast_to', [f(c, 0)], { shape: [x.shape[0]!] });
    let total: Value | undefined;
    // Skips past the sequence match nothing: at most (len - 1) / (n - 1) - 1 of them can fit
    // (fuzz seed 25 case 14874: max_skip_count 2^31-1 looped 2^31 times).
    const lastSkip = g.n === 1 ? 0 : Math.min(maxSkip, Math.floor((len - 1) / (g.n - 1)) - 1);
    for (let s = 0; s <= lastSkip; s++) {
      const span = (g.n - 1) * (s + 1);
      if (span >= len) continue;
      let match: Value | undefined;
      g.tokens.forEach((tok, j) => {
        const part = c.b.op('slice', [x], { begin: [0, j * (s + 1)], size: [x.shape[0]!, len - span] });
        const eq = c.b.op('equal', [part, c.b.scalar(tok, 'int32')]);
        match = match ? c.b.op('logical_and', [match, eq]) : eq;
      });
      const cnt = c.b.op('reduce_sum', [c.b.cast(match!, 'float32')], { axes: [1], keep_dims: false });
      total = total ? c.b.op('add', [total, cnt]) : cnt;
    }
    return total ?? c.b.op('broadcast_to', [f(c, 0)], { shape: [x.shape[0]!] });
  });
  let tf = c.b.op('pack', perGram, { axis: 1 });                                       // [N, grams]
  const wv = weights ?? grams.map(() => 1);
  if (mode === 'IDF') tf = c.b.op('minimum', [tf, f(c, 1)]);
  if (mode !== 'TF') tf = c.b.op('mul', [tf, c.b.constant(tensorData('float32', [grams.length], wv.slice(0, grams.length)))]);
  const map = new Float32Array(grams.length * width);
  grams.forEach((_, i) => { map[i * width + indexes[i]!] = 1; });
  const y = c.b.op('matmul', [tf, c.b.constant(tensorData('float32', [grams.length, width], map))], { transpose_a: false, transpose_b: false });
  return batched ? y : c.b.squeeze(y, [0]);
};

/**
 * RoiAlign with a fixed sampling_ratio: sr_h × sr_w bilinear samples per output cell of each
 * region (Caffe2's edge rules), averaged (avg) or maximized (max).
 */
const roiAlign: ImportRule = (c) => {
  const x = c.b.cast(c.input(0), 'float32'), rois = c.b.cast(c.input(1), 'float32'), batchIdx = c.b.cast(c.input(2), 'int32');
  if (x.shape.length !== 4) fail(`needs a 4-D input, got ${shapeToString(x.shape)}`);
  const [, ch, h, w] = x.shape;
  if (!isStatic(h!) || !isStatic(w!)) fail('needs static spatial dims');
  const r = rois.shape[0]!;
  const oh = c.attr.int('output_height', 1), ow = c.attr.int('output_width', 1);
  const sr = c.attr.int('sampling_ratio', 0);
  if (sr <= 0) fail('sampling_ratio 0 (adaptive) makes the sample count depend on the regions; give a fixed sampling_ratio');
  const scale = c.attr.float('spatial_scale', 1);
  const mode = c.attr.string('mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') fail(`unknown mode '${mode}'`);
  const halfPixel = (c.opset >= 16 ? c.attr.string('coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel') === 'half_pixel';
  const offset = halfPixel ? 0.5 : 0;
  const [bx1, by1, bx2, by2] = c.b.ops('split', [rois], { sizes: [1, 1, 1, 1], axis: 1 }).map((v) => c.b.op('sub', [c.b.op('mul', [v, f(c, scale)]), f(c, offset)]));   // [R, 1]
  const extent = (a: Value, b2: Value) => { const d = c.b.op('sub', [b2, a]); return halfPixel ? d : c.b.op('maximum', [d, f(c, 1)]); };
  const binH = c.b.op('div', [extent(by1!, by2!), f(c, oh)]), binW = c.b.op('div', [extent(bx1!, bx2!), f(c, ow)]);
  const steps = (n: number) => c.b.constant(tensorData('float32', [1, n * sr], Array.from({ length: n * sr }, (_, i) => Math.floor(i / sr) + ((i % sr) + 0.5) / sr)));
  const ys = c.b.reshape(c.b.op('add', [by1!, c.b.op('mul', [binH, steps(oh)])]), [r, oh * sr, 1]);
  const xs = c.b.reshape(c.b.op('add', [bx1!, c.b.op('mul', [binW, steps(ow)])]), [r, 1, ow * sr]);
  const valid = c.b.op('logical_and', [
    c.b.op('logical_and', [c.b.op('greater_equal', [ys, f(c, -1)]), c.b.op('less_equal', [ys, f(c, h)])]),
    c.b.op('logical_and', [c.b.op('greater_equal', [xs, f(c, -1)]), c.b.op('less_equal', [xs, f(c, w)])])]);   // [R, Py, Px]
  const axis = (v: Value, size: number) => {
    const p = c.b.op('maximum', [v, f(c, 0)]);
    const fl = c.b.op('floor', [p]);
    const atEdge = c.b.op('greater_equal', [fl, f(c, size - 1)]);
    const low = c.b.op('minimum', [fl, f(c, size - 1)]);
    const high = c.b.op('minimum', [c.b.op('add', [low, f(c, 1)]), f(c, size - 1)]);
    const frac = c.b.op('select', [atEdge, f(c, 0), c.b.op('sub', [p, low])]);
    return { low, high, frac };
  };
  const ay = axis(ys, h), ax = axis(xs, w);
  const images = c.b.op('gather', [c.b.reshape(x, [x.shape[0]!, ch!, h * w]), batchIdx], { axis: 0, batch_dims: 0 });    // [R, C, H·W]
  const py = oh * sr, px = ow * sr;
  const tapAt = (yi: Value, xi: Value) => {
    const idx = c.b.cast(c.b.op('add', [c.b.op('mul', [yi, f(c, w)]), xi]), 'int32');                                   // [R, Py, Px]
    const flatIdx = c.b.reshape(c.b.op('broadcast_to', [idx], { shape: [r, py, px] }), [r, py * px]);
    return c.b.reshape(c.b.op('gather', [images, flatIdx], { axis: 2, batch_dims: 1 }), [r, ch!, py, px]);
  };
  const one = f(c, 1);
  const hy = c.b.op('sub', [one, ay.frac]), hx = c.b.op('sub', [one, ax.frac]);
  const wt = (a: Value, b2: Value) => c.b.unsqueeze(c.b.op('select', [valid, c.b.op('mul', [a, b2]), f(c, 0)]), [1]);
  const terms = [
    c.b.op('mul', [tapAt(ay.low, ax.low), wt(hy, hx)]), c.b.op('mul', [tapAt(ay.low, ax.high), wt(hy, ax.frac)]),
    c.b.op('mul', [tapAt(ay.high, ax.low), wt(ay.frac, hx)]), c.b.op('mul', [tapAt(ay.high, ax.high), wt(ay.frac, ax.frac)]),
  ];
  const sampled = c.b.reshape(c.b.op('add_n', terms), [r, ch!, oh, sr, ow, sr]);
  return c.b.op(mode === 'avg' ? 'reduce_mean' : 'reduce_max', [sampled], { axes: [3, 5], keep_dims: false });
};

export const IMPORT_SAMPLE_RULES = {
  RoiAlign: roiAlign,
  GridSample: gridSample,
  MaxUnpool: maxUnpool,
  TfIdfVectorizer: tfIdf,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_SAMPLE_MAKES = {
  abs: ['GridSample'],
  floor: ['GridSample', 'RoiAlign'],
  round: ['GridSample'],
  clip: ['GridSample'],
  mod: ['GridSample'],
  maximum: ['RoiAlign'],
  minimum: ['RoiAlign', 'TfIdfVectorizer'],
  equal: ['GridSample', 'TfIdfVectorizer'],
  less_equal: ['GridSample', 'RoiAlign'],
  greater_equal: ['GridSample', 'RoiAlign'],
  logical_and: ['GridSample', 'RoiAlign', 'TfIdfVectorizer'],
  add_n: ['RoiAlign'],
  reduce_sum: ['TfIdfVectorizer'],
  reduce_mean: ['RoiAlign'],
  reduce_max: ['RoiAlign'],
  matmul: ['MaxUnpool', 'TfIdfVectorizer'],
  pack: ['TfIdfVectorizer'],
  split: ['GridSample', 'RoiAlign'],
  gather: ['GridSample', 'RoiAlign'],
  pad: ['MaxUnpool'],
  broadcast_to: ['RoiAlign', 'TfIdfVectorizer'],
  one_hot: ['MaxUnpool'],
} satisfies MadeBy<typeof IMPORT_SAMPLE_RULES>;
