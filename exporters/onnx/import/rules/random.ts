/**
 * Import rules: random ops stay random (IR random_uniform / random_normal; ONNX's float seed
 * becomes the op's seed, absent means unseeded). Draws follow tfjs's generator, so the values
 * differ from another runtime's, the distribution does not.
 */
import type { Dim } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import type { Value } from '../../../../ir/graph.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import { irDTypeOf, onnxTypeName } from '../../dtypes.js';
import type { MadeBy } from '../made_by.js';

function seedOf(c: NodeCtx): number {
  const s = c.attr.float('seed');
  return s === undefined ? -1 : Math.abs(Math.trunc(s));
}

function dtypeAttr(c: NodeCtx, dflt: DType): DType {
  if (!c.attr.has('dtype')) return dflt;
  const t = c.attr.int('dtype', 1);
  return irDTypeOf(t) ?? fail(`dtype ${onnxTypeName(t)} is not supported`);
}

function uniform(c: NodeCtx, shape: readonly Dim[], dtype: DType, low: number, high: number): Value {
  if (dtype === 'bool') fail('random draws of dtype bool are not supported');
  return c.b.op('random_uniform', [], { shape: [...shape], min: low, max: high, dtype, seed: seedOf(c) });
}

function normal(c: NodeCtx, shape: readonly Dim[], dtype: DType): Value {
  if (dtype === 'bool') fail('random draws of dtype bool are not supported');
  return c.b.op('random_normal', [], { shape: [...shape], mean: c.attr.float('mean', 0), std: c.attr.float('scale', 1), dtype, truncated: false, seed: seedOf(c) });
}

const shapeAttr = (c: NodeCtx): number[] => c.attr.ints('shape') ?? fail('shape is missing');

const randomUniform: ImportRule = (c) => uniform(c, shapeAttr(c), dtypeAttr(c, 'float32'), c.attr.float('low', 0), c.attr.float('high', 1));
const randomNormal: ImportRule = (c) => normal(c, shapeAttr(c), dtypeAttr(c, 'float32'));
const randomUniformLike: ImportRule = (c) => {
  const x = c.input(0);
  return uniform(c, x.shape, dtypeAttr(c, x.dtype), c.attr.float('low', 0), c.attr.float('high', 1));
};
const randomNormalLike: ImportRule = (c) => {
  const x = c.input(0);
  return normal(c, x.shape, dtypeAttr(c, x.dtype));
};
/** Bernoulli(p): a uniform draw below p. */
const bernoulli: ImportRule = (c) => {
  const p = c.b.cast(c.input(0), 'float32');
  const u = uniform(c, p.shape, 'float32', 0, 1);
  return c.b.cast(c.b.op('less', [u, p]), dtypeAttr(c, c.input(0).dtype));
};

/**
 * Multinomial(logits [batch, classes]): per row the softmax, its running sum over all classes
 * but the last, and per sample a uniform draw u (each row and sample its own); the sample is
 * the first class whose running sum exceeds u, else the last (argmax over [u < cdf…, 1]).
 */
const multinomial: ImportRule = (c) => {
  const x = c.input(0);
  if (x.shape.length !== 2) fail(`input must be rank 2 [batch, classes], got rank ${x.shape.length}`);
  const [b, k] = x.shape as [Dim, Dim];
  if (typeof k !== 'number') fail(`the number of classes (the last axis) must be static, got ${String(k)}`);
  const n = c.attr.int('sample_size', 1);
  if (!Number.isSafeInteger(n) || n < 0) fail(`sample_size ${n} must be a whole number ≥ 0`);
  const dtype = dtypeAttr(c, 'int32');
  if (dtype !== 'int32' && dtype !== 'int64') fail(`dtype ${dtype}: the samples are int32 or int64`);
  let out: Value;
  if (k <= 1 || n === 0) {
    out = c.b.op('fill', [], { shape: [b, n], value: 0, dtype: 'int32' });
  } else {
    const probs = c.b.op('softmax', [c.b.cast(x, 'float32')], { axis: 1 });
    const head = c.b.op('slice', [probs], { begin: [0, 0], size: [b, k - 1] });
    const cdf = c.b.op('reshape', [c.b.op('cumsum', [head], { axis: 1, exclusive: false, reverse: false })], { shape: [b, 1, k - 1] });
    const u = uniform(c, [b, n, 1], 'float32', 0, 1);
    const below = c.b.cast(c.b.op('less', [u, cdf]), 'float32');
    out = c.b.op('argmax', [c.b.op('pad', [below], { paddings: [0, 0, 0, 0, 0, 1], value: 1 })], { axis: 2 });
  }
  return dtype === 'int32' ? out : c.b.cast(out, dtype);
};

export const IMPORT_RANDOM_RULES = {
  Multinomial: multinomial,
  RandomUniform: randomUniform,
  RandomNormal: randomNormal,
  RandomUniformLike: randomUniformLike,
  RandomNormalLike: randomNormalLike,
  Bernoulli: bernoulli,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_RANDOM_MAKES = {
  random_uniform: ['Bernoulli', 'Multinomial', 'RandomUniform', 'RandomUniformLike'],
  random_normal: ['RandomNormal', 'RandomNormalLike'],
  fill: ['Multinomial'],
  softmax: ['Multinomial'],
  cumsum: ['Multinomial'],
  pad: ['Multinomial'],
  argmax: ['Multinomial'],
} satisfies MadeBy<typeof IMPORT_RANDOM_RULES>;
