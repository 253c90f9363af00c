/**
 * Import rules: Resize and Upsample. Interpolation is separable, so each resized axis is a
 * matrix product with a constant [out, in] weight matrix computed at import time from the
 * ONNX reference semantics (every coordinate_transformation_mode, nearest modes, linear,
 * cubic with exclude_outside; tf_crop_and_resize's extrapolation by a constant mask). Needs
 * static sizes along resized axes.
 */
import { isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import { elementAt, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

interface ResizeMode {
  mode: string;               // nearest | linear | cubic
  transform: string;          // coordinate_transformation_mode
  nearest: string;            // nearest_mode
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
}

/** Where output index o of an axis reads in the input, or undefined to extrapolate. */
function sourceCoord(o: number, scale: number, n: number, m: number, transform: string, roi: [number, number]): number | undefined {
  const outWidth = scale * n;
  switch (transform) {
    case 'align_corners': return outWidth === 1 ? 0 : (o * (n - 1)) / (outWidth - 1);
    case 'asymmetric': return o / scale;
    case 'tf_crop_and_resize': {
      const x = (m === 1 ? ((roi[1] - roi[0]) * (n - 1)) / 2 : (o * (roi[1] - roi[0]) * (n - 1)) / (m - 1)) + roi[0] * (n - 1);
      return x < 0 || x > n - 1 ? undefined : x;
    }
    case 'pytorch_half_pixel': return outWidth === 1 ? -0.5 : (o + 0.5) / scale - 0.5;
    case 'half_pixel': return (o + 0.5) / scale - 0.5;
    case 'tf_half_pixel_for_nn': return (o + 0.5) / scale;
    default: return fail(`unknown coordinate_transformation_mode '${transform}'`);
  }
}

function coefficients(ratio: number, r: ResizeMode): number[] {
  switch (r.mode) {
    case 'nearest': {
      if (ratio === 1) return [0, 1];
      switch (r.nearest) {
        case 'round_prefer_floor': return [ratio <= 0.5 ? 1 : 0, ratio > 0.5 ? 1 : 0];
        case 'round_prefer_ceil': return [ratio < 0.5 ? 1 : 0, ratio >= 0.5 ? 1 : 0];
        case 'floor': return [1, 0];
        case 'ceil': return [0, 1];
        default: return fail(`unknown nearest_mode '${r.nearest}'`);
      }
    }
    case 'linear': return [1 - ratio, ratio];
    case 'cubic': {
      const A = r.cubicA, s = ratio, t = 1 - ratio;
      return [
        ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A,
        ((A + 2) * s - (A + 3)) * s * s + 1,
        ((A + 2) * t - (A + 3)) * t * t + 1,
        ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
      ];
    }
    default: return fail(`unknown mode '${r.mode}'`);
  }
}

/** The [m, n] weights of one axis and which outputs extrapolate. */
function axisWeights(n: number, m: number, scale: number, roi: [number, number], r: ResizeMode): { w: number[]; outside: boolean[] } {
  const w = new Array<number>(m * n).fill(0);
  const outside = new Array<boolean>(m).fill(false);
  for (let o = 0; o < m; o++) {
    const x = sourceCoord(o, scale, n, m, r.transform, roi);
    if (x === undefined) { outside[o] = true; continue; }
    const xi = Math.floor(x);
    const ratio = Number.isInteger(x) ? 1 : x - xi;
    const coeffs = coefficients(ratio, r);
    const k = coeffs.length;
    // The k nearest indices of the edge-padded axis (ties to the lower index), ascending.
    const pad = Math.ceil(k / 2);
    const cands: number[] = [];
    for (let i = xi - k - 1; i <= xi + k + 1; i++) if (i >= -pad && i < n + pad) cands.push(i);
    cands.sort((a, b) => Math.abs(x - a) - Math.abs(x - b) || a - b);
    const idx = cands.slice(0, k).sort((a, b) => a - b);
    let cs = coeffs;
    if (r.excludeOutside) {
      cs = coeffs.map((c, j) => (idx[j]! < 0 || idx[j]! >= n ? 0 : c));
      const sum = cs.reduce((a, b) => a + b, 0);
      cs = cs.map((c) => c / sum);
    }
    idx.forEach((i, j) => { const at = o * n + Math.min(Math.max(i, 0), n - 1); w[at] = w[at]! + cs[j]!; });
  }
  return { w, outside };
}

/**
 * Elements of the constant tables a resize builds at import time (a weight matrix per axis,
 * the extrapolation mask): past it the node is refused before anything is allocated.
 */
export const RESIZE_TABLE_LIMIT = 1 << 20;

/** Refuses scales and sizes no resize can have, and resizes whose tables pass RESIZE_TABLE_LIMIT. */
function checkResize(x: Value, sizes: readonly number[], scales: readonly number[], masked: boolean): void {
  const list = (xs: readonly number[]) => `[${xs.join(', ')}]`;
  if (sizes.length !== x.shape.length || scales.length !== x.shape.length) {
    fail(`scales ${list(scales)} / sizes ${list(sizes)} need one value per axis of operand ${x.dtype}${shapeToString(x.shape)}`);
  }
  if (scales.some((s) => !Number.isFinite(s) || s <= 0)) fail(`scales ${list(scales)}: each must be finite and > 0`);
  if (sizes.some((m) => !Number.isSafeInteger(m) || m < 0)) fail(`output sizes ${list(sizes)}: each must be a non-negative integer`);
  sizes.forEach((m, a) => {
    const n = x.shape[a]!;
    if (isStatic(n) && m * n > RESIZE_TABLE_LIMIT && !(m === n && scales[a] === 1)) {
      fail(`resizing axis ${a} from ${n} to ${m} needs a ${m}×${n} weight table (${m * n} elements; graphc builds at most ${RESIZE_TABLE_LIMIT})`,
        'resize in smaller steps, or check the scales and sizes');
    }
  });
  const total = sizes.reduce((p, d) => p * d, 1);
  if (masked && total > RESIZE_TABLE_LIMIT) fail(`tf_crop_and_resize to ${list(sizes)} needs a mask of ${total} elements (graphc builds at most ${RESIZE_TABLE_LIMIT})`);
}

/** Resizes x to `sizes` (scales used by the coordinate transforms). */
function resize(c: NodeCtx, x: Value, sizes: number[], scales: number[], roi: number[], r: ResizeMode): Value {
  checkResize(x, sizes, scales, r.transform === 'tf_crop_and_resize');
  const rank = x.shape.length;
  const dtype = x.dtype;
  let y = c.b.cast(x, 'float32');
  const masks: Array<{ axis: number; outside: boolean[] }> = [];
  for (let a = 0; a < rank; a++) {
    const n = x.shape[a]!, m = sizes[a]!;
    if (isStatic(n) && n === m && scales[a] === 1 && r.transform !== 'tf_crop_and_resize') continue;
    if (!isStatic(n)) fail(`resizing the symbolic dim ${shapeToString(x.shape)}[${a}]`);
    const { w, outside } = axisWeights(n, m, scales[a]!, [roi[a] ?? 0, roi[a + rank] ?? 1], r);
    if (outside.some(Boolean)) masks.push({ axis: a, outside });
    const wc = c.b.constant(tensorData('float32', [m, n], w));
    if (a === rank - 1) {
      y = c.b.op('matmul', [y, wc], { transpose_a: false, transpose_b: true });
    } else if (a === rank - 2) {
      y = c.b.op('matmul', [wc, y], { transpose_a: false, transpose_b: false });
    } else {
      y = c.b.moveAxis(c.b.op('matmul', [c.b.moveAxis(y, a, rank - 1), wc], { transpose_a: false, transpose_b: true }), rank - 1, a);
    }
  }
  if (masks.length > 0) {
    const shape = sizes;
    const total = shape.reduce((p, d) => p * d, 1);
    const keep = new Array<boolean>(total).fill(true);
    for (let i = 0; i < total; i++) {
      let rest = i;
      for (let a = rank - 1; a >= 0; a--) {
        const coord = rest % shape[a]!;
        rest = Math.floor(rest / shape[a]!);
        if (masks.some((mk) => mk.axis === a && mk.outside[coord])) keep[i] = false;
      }
    }
    y = c.b.op('select', [c.b.constant(tensorData('bool', shape, keep)), y, c.b.scalar(r.extrapolation, 'float32')]);
  }
  return c.b.cast(dtype === 'float32' ? y : c.b.op('round', [y]), dtype);
}

function staticShape(c: NodeCtx, x: Value): number[] {
  if (!x.shape.every(isStatic)) fail(`needs a static shape, got ${shapeToString(x.shape)}`);
  return x.shape as number[];
}

const resizeRule: ImportRule = (c) => {
  const x = c.input(0);
  const shape = staticShape(c, x);
  const rank = shape.length;
  const r: ResizeMode = {
    mode: c.attr.string('mode', 'nearest'),
    transform: c.opset >= 11 ? c.attr.string('coordinate_transformation_mode', 'half_pixel') : 'asymmetric',
    nearest: c.opset >= 11 ? c.attr.string('nearest_mode', 'round_prefer_floor') : 'floor',
    cubicA: c.attr.float('cubic_coeff_a', -0.75),
    excludeOutside: c.attr.int('exclude_outside', 0) !== 0,
    extrapolation: c.attr.float('extrapolation_value', 0),
  };
  if (c.attr.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') fail('keep_aspect_ratio_policy other than stretch is not supported');
  const axes = c.attr.ints('axes', shape.map((_, i) => i)).map((a) => c.axis(a, rank));
  const full = (given: number[], dflt: number): number[] => {
    const out = shape.map(() => dflt);
    axes.forEach((a, i) => { out[a] = given[i]!; });
    return out;
  };
  let scalesIn: number[] | undefined, sizesIn: number[] | undefined, roi: number[] = [];
  const floats = (i: number, what: string): number[] => {
    const t = c.constRequired(i, what);
    return Array.from({ length: t.data.length }, (_, k) => elementAt(t, k));
  };
  if (c.opset < 11) {
    scalesIn = floats(1, 'scales');
  } else {
    if (c.has(1) && r.transform === 'tf_crop_and_resize') {
      const rv = floats(1, 'roi');
      roi = [...full(rv.slice(0, axes.length), 0), ...full(rv.slice(axes.length), 1)];
    }
    if (c.has(2)) { const s = floats(2, 'scales'); if (s.length > 0) scalesIn = s; }
    if (c.has(3)) { const s = floats(3, 'sizes'); if (s.length > 0) sizesIn = s; }
  }
  let sizes: number[], scales: number[];
  if (sizesIn) {
    sizes = full(sizesIn, 0).map((s, i) => (axes.includes(i) ? s : shape[i]!));
    scales = sizes.map((m, i) => (shape[i] === 0 ? 1 : m / shape[i]!));
  } else if (scalesIn) {
    scales = full(scalesIn, 1);
    sizes = shape.map((n, i) => Math.floor(n * scales[i]!));
  } else {
    return fail('needs scales or sizes');
  }
  return resize(c, x, sizes, scales, roi, r);
};

const upsample: ImportRule = (c) => {
  const x = c.input(0);
  const shape = staticShape(c, x);
  let scales: number[];
  if (c.opset >= 9) {
    const t = c.constRequired(1, 'scales');
    scales = Array.from({ length: t.data.length }, (_, k) => elementAt(t, k));
  } else {
    scales = c.attr.floats('scales') ?? fail('scales are missing');
  }
  const mode = c.attr.string('mode', 'nearest');
  const r: ResizeMode = { mode: mode === 'bilinear' ? 'linear' : mode, transform: 'asymmetric', nearest: 'floor', cubicA: -0.75, excludeOutside: false, extrapolation: 0 };
  return resize(c, x, shape.map((n, i) => Math.floor(n * scales[i]!)), scales, [], r);
};

export const IMPORT_RESIZE_RULES = {
  Resize: resizeRule,
  Upsample: upsample,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_RESIZE_MAKES = {
  round: ['Resize', 'Upsample'],
  matmul: ['Resize', 'Upsample'],
} satisfies MadeBy<typeof IMPORT_RESIZE_RULES>;
