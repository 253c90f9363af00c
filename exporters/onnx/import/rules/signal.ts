/**
 * Import rules: signal processing. DFT and STFT are matrix products with constant cosine
 * and sine matrices (static lengths); the window functions and MelWeightMatrix take their
 * sizes at import time and become constants.
 */
import { isStatic, shapeToString } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import type { Value } from '../../../../ir/graph.js';
import { elementAt, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import { irDTypeOf, onnxTypeName } from '../../dtypes.js';
import type { MadeBy } from '../made_by.js';

function outputType(c: NodeCtx): DType {
  const t = c.attr.int('output_datatype', 1);
  return irDTypeOf(t) ?? fail(`output_datatype ${onnxTypeName(t)} is not supported`);
}

function scalarInput(c: NodeCtx, i: number, what: string): number {
  const t = c.constRequired(i, what);
  if (t.data.length !== 1) fail(`${what} must have one element, got shape [${t.shape.join(',')}]`);
  return elementAt(t, 0);
}

/** A cosine-sum window w[n] = Σ_k a_k cos(2πkn/N), N = size (periodic) or size - 1. */
function cosineWindow(coeffs: number[]): ImportRule {
  return (c) => {
    const size = scalarInput(c, 0, 'size');
    const periodic = c.attr.int('periodic', 1) !== 0;
    const n = periodic ? size : size - 1;
    const w = Array.from({ length: size }, (_, i) => coeffs.reduce((s, a, k) => s + a * Math.cos((2 * Math.PI * k * i) / n), 0));
    return c.b.constant(tensorData(outputType(c), [size], w));
  };
}

const melWeightMatrix: ImportRule = (c) => {
  const bins = scalarInput(c, 0, 'num_mel_bins'), dftLength = scalarInput(c, 1, 'dft_length'), rate = scalarInput(c, 2, 'sample_rate');
  const lo = scalarInput(c, 3, 'lower_edge_hertz'), hi = scalarInput(c, 4, 'upper_edge_hertz');
  const spectrogramBins = Math.floor(dftLength / 2) + 1;
  const toMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const lowMel = toMel(lo), highMel = toMel(hi);
  const step = (highMel - lowMel) / (bins + 2);
  const points = Array.from({ length: bins + 2 }, (_, i) => {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    return Math.floor(((dftLength + 1) * hz) / rate);
  });
  const out = new Array<number>(spectrogramBins * bins).fill(0);
  const set = (j: number, i: number, v: number) => { if (j >= 0 && j < spectrogramBins) out[j * bins + i] = v; };
  for (let i = 0; i < bins; i++) {
    const [l, m, r] = [points[i]!, points[i + 1]!, points[i + 2]!];
    if (m === l) set(m, i, 1);
    else for (let j = l; j <= m; j++) set(j, i, (j - l) / (m - l));
    if (r > m) for (let j = m; j < r; j++) set(j, i, (r - j) / (r - m));
  }
  return c.b.constant(tensorData(outputType(c), [spectrogramBins, bins], out));
};

/**
 * The DFT of (re, im) along their last axis (length n, zero-padded or cut to `length`):
 * [re, im] of the transform, `bins` outputs (all, or the one-sided half).
 */
function dft(c: NodeCtx, re: Value, im: Value | undefined, length: number, bins: number, inverse: boolean): [Value, Value] {
  const r = re.shape.length;
  const n = re.shape[r - 1]!;
  if (!isStatic(n)) fail(`the DFT axis must be static, got ${shapeToString(re.shape)}`);
  const fit = (v: Value): Value => {
    if (length === n) return v;
    if (length < n) return c.b.op('slice', [v], { begin: v.shape.map(() => 0), size: v.shape.map((d, i) => (i === r - 1 ? length : d)) });
    return c.b.op('pad', [v], { paddings: v.shape.flatMap((_, i) => (i === r - 1 ? [0, length - n] : [0, 0])), value: 0 });
  };
  const cos = c.b.constant(tensorData('float32', [length, bins], Array.from({ length: length * bins }, (_, q) => Math.cos((2 * Math.PI * Math.floor(q / bins) * (q % bins)) / length))));
  const sin = c.b.constant(tensorData('float32', [length, bins], Array.from({ length: length * bins }, (_, q) => Math.sin((2 * Math.PI * Math.floor(q / bins) * (q % bins)) / length))));
  const mm = (a: Value, m: Value) => c.b.op('matmul', [a, m], { transpose_a: false, transpose_b: false });
  const xr = fit(re), xi = im && fit(im);
  // Forward: X = Σ x·e^{-iθ}; inverse: (1/N) Σ x·e^{+iθ}.
  const sign = inverse ? -1 : 1;
  let yr = mm(xr, cos), yi = c.b.op('neg', [mm(xr, sin)]);
  if (sign < 0) yi = c.b.op('neg', [yi]);
  if (xi) {
    const a = mm(xi, sin), b = mm(xi, cos);
    yr = c.b.op(sign > 0 ? 'add' : 'sub', [yr, a]);
    yi = c.b.op('add', [yi, b]);
  }
  if (inverse) {
    const k = c.b.scalar(1 / length, 'float32');
    yr = c.b.op('mul', [yr, k]); yi = c.b.op('mul', [yi, k]);
  }
  return [yr, yi];
}

/** Splits [..., 1|2] into real and imaginary parts (imaginary undefined for real input). */
function complexParts(c: NodeCtx, x: Value): [Value, Value | undefined] {
  const r = x.shape.length;
  const last = x.shape[r - 1];
  if (last === 1) return [c.b.squeeze(x, [r - 1]), undefined];
  if (last !== 2) fail(`the last dim must be 1 (real) or 2 (complex), got ${shapeToString(x.shape)}`);
  const [re, im] = c.b.ops('split', [x], { sizes: [1, 1], axis: r - 1 });
  return [c.b.squeeze(re!, [r - 1]), c.b.squeeze(im!, [r - 1])];
}

const dftRule: ImportRule = (c) => {
  const x = c.b.cast(c.input(0), 'float32');
  const r = x.shape.length;
  const axis = c.axis(c.attr.int('axis', 1), r - 1);
  const inverse = c.attr.int('inverse', 0) !== 0, onesided = c.attr.int('onesided', 0) !== 0;
  let [re, im] = complexParts(c, x);
  re = c.b.moveAxis(re, axis, r - 2);
  if (im) im = c.b.moveAxis(im, axis, r - 2);
  const n = re.shape[r - 2]!;
  if (!isStatic(n)) fail('the DFT axis must be static');
  const length = c.has(1) ? scalarInput(c, 1, 'dft_length') : n;
  const bins = onesided ? Math.floor(length / 2) + 1 : length;
  const [yr, yi] = dft(c, re, im, length, bins, inverse);
  const y = c.b.op('pack', [c.b.moveAxis(yr, r - 2, axis), c.b.moveAxis(yi, r - 2, axis)], { axis: r - 1 });
  return y;
};

const stft: ImportRule = (c) => {
  const x = c.b.cast(c.input(0), 'float32');
  if (x.shape.length !== 3) fail(`the signal must be [batch, length, 1|2], got ${shapeToString(x.shape)}`);
  const n = x.shape[1]!;
  if (!isStatic(n)) fail('the signal length must be static');
  const step = scalarInput(c, 1, 'frame_step');
  const window = c.optInput(2);
  const frameLength = c.has(3) ? scalarInput(c, 3, 'frame_length') : window && isStatic(window.shape[0]!) ? window.shape[0] as number : fail('frame_length or window is needed');
  const onesided = c.attr.int('onesided', 1) !== 0;
  const frames = Math.floor((n - frameLength) / step) + 1;
  if (frames < 1) fail(`a frame of ${frameLength} does not fit the signal of ${n}`);
  const idx = Array.from({ length: frames * frameLength }, (_, q) => Math.floor(q / frameLength) * step + (q % frameLength));
  const framed = c.b.op('gather', [x, c.b.constant(tensorData('int32', [frames, frameLength], idx))], { axis: 1, batch_dims: 0 });   // [b, frames, L, c]
  let [re, im] = complexParts(c, framed);
  if (window) {
    const w = c.b.cast(window, 'float32');
    re = c.b.op('mul', [re, w]);
    if (im) im = c.b.op('mul', [im, w]);
  }
  const bins = onesided ? Math.floor(frameLength / 2) + 1 : frameLength;
  const [yr, yi] = dft(c, re, im, frameLength, bins, false);
  return c.b.op('pack', [yr, yi], { axis: 3 });
};

export const IMPORT_SIGNAL_RULES = {
  HannWindow: cosineWindow([0.5, -0.5]),
  HammingWindow: cosineWindow([25 / 46, -21 / 46]),
  BlackmanWindow: cosineWindow([0.42, -0.5, 0.08]),
  MelWeightMatrix: melWeightMatrix,
  DFT: dftRule,
  STFT: stft,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_SIGNAL_MAKES = {
  neg: ['DFT', 'STFT'],
  matmul: ['DFT', 'STFT'],
  pack: ['DFT', 'STFT'],
  split: ['DFT', 'STFT'],
  gather: ['STFT'],
  pad: ['DFT', 'STFT'],
} satisfies MadeBy<typeof IMPORT_SIGNAL_RULES>;
