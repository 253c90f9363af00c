/**
 * Import rules: linear quantization (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear)
 * and the integer and quantized products (MatMulInteger, ConvInteger, QLinearMatMul,
 * QLinearConv), computed in float32 (exact for 8-bit operands) with round-half-to-even and
 * saturation to the quantized type. 8- and 16-bit integers are int32 in the IR; the
 * saturation range comes from the zero point's ONNX type.
 */
import type { Value } from '../../../../ir/graph.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import { convolve, matmulNumpy } from './nn.js';
import { irDTypeOf, onnxTypeName } from '../../dtypes.js';
import { onnx } from '../../proto.js';
import type { MadeBy } from '../made_by.js';

const T = onnx.TensorProto.DataType;
/** Quantized element type (read from the file) → its range; a Map, so no key reaches Object.prototype. */
const RANGES = new Map<number, [number, number]>([
  [T.UINT8, [0, 255]], [T.INT8, [-128, 127]], [T.UINT16, [0, 65535]], [T.INT16, [-32768, 32767]],
  [T.INT32, [-2147483648, 2147483647]],
]);

/** A per-axis parameter ([C] along `axis`) reshaped to broadcast against x; scalars as they are. */
function alongAxis(c: NodeCtx, p: Value, x: Value, axis: number): Value {
  if (p.shape.length === 0 || (p.shape.length === 1 && p.shape[0] === 1 && x.shape.length === 0)) return p;
  if (p.shape.length !== 1) return p;
  const r = x.shape.length;
  const a = c.axis(axis, r);
  return c.b.reshape(p, x.shape.map((d, i) => (i === a ? p.shape[0]! : 1)));
}

function asFloat(c: NodeCtx, v: Value): Value {
  return c.b.cast(v, 'float32');
}

/** saturate(round(x / scale) + zero point) in the quantized type's range; int32 in the IR. */
function quantize(c: NodeCtx, x: Value, scale: Value, zp: Value | undefined, zpType: number, axis: number): Value {
  const range = RANGES.get(zpType);
  if (!range) fail(`quantizing to ${onnxTypeName(zpType)} is not supported`);
  let q = c.b.op('round', [c.b.op('div', [asFloat(c, x), alongAxis(c, asFloat(c, scale), x, axis)])]);
  if (zp) q = c.b.op('add', [q, alongAxis(c, asFloat(c, zp), x, axis)]);
  q = c.b.op('clip', [q], { min: range[0], max: range[1] });
  return c.b.cast(q, irDTypeOf(zpType)!);
}

function dequantize(c: NodeCtx, x: Value, scale: Value, zp: Value | undefined, axis: number): Value {
  let d = asFloat(c, x);
  if (zp) d = c.b.op('sub', [d, alongAxis(c, asFloat(c, zp), x, axis)]);
  return c.b.op('mul', [d, alongAxis(c, asFloat(c, scale), x, axis)]);
}

/** The zero point's ONNX type: stated, else the default of the op (uint8). */
function zeroPointType(c: NodeCtx, i: number): number {
  return c.has(i) ? (c.onnxType(i) ?? fail(`the element type of the zero point (operand ${i}) is not stated in the model`)) : T.UINT8;
}

/** x minus its zero point, in float32 (zero points per row for the lhs of a product). */
function centered(c: NodeCtx, x: Value, zp: Value | undefined, perRow: boolean): Value {
  const f = asFloat(c, x);
  if (!zp) return f;
  let z = asFloat(c, zp);
  if (perRow && z.shape.length === 1 && x.shape.length >= 2) z = c.b.reshape(z, [z.shape[0]!, 1]);
  return c.b.op('sub', [f, z]);
}

const quantizeLinear: ImportRule = (c) => {
  const x = c.input(0);
  return quantize(c, x, c.input(1), c.optInput(2), zeroPointType(c, 2), c.attr.int('axis', 1));
};

const dequantizeLinear: ImportRule = (c) => dequantize(c, c.input(0), c.input(1), c.optInput(2), c.attr.int('axis', 1));

const dynamicQuantizeLinear: ImportRule = (c) => {
  const x = c.input(0);
  const all = x.shape.map((_, i) => i);
  const zero = c.b.scalar(0, 'float32');
  const lo = c.b.op('minimum', [c.b.op('reduce_min', [x], { axes: all, keep_dims: false }), zero]);
  const hi = c.b.op('maximum', [c.b.op('reduce_max', [x], { axes: all, keep_dims: false }), zero]);
  const scale = c.b.op('div', [c.b.op('sub', [hi, lo]), c.b.scalar(255, 'float32')]);
  const zpf = c.b.op('round', [c.b.op('clip', [c.b.op('sub', [zero, c.b.op('div', [lo, scale])])], { min: 0, max: 255 })]);
  const zp = c.b.cast(zpf, 'int32');
  return [quantize(c, x, scale, zpf, T.UINT8, 1), scale, zp];
};

const matMulInteger: ImportRule = (c) => {
  const y = matmulNumpy(c, centered(c, c.input(0), c.optInput(2), true), centered(c, c.input(1), c.optInput(3), false));
  return c.b.cast(y, 'int32');
};

const convInteger: ImportRule = (c) => {
  const w = c.input(1);
  let wz = c.optInput(3);
  if (wz && wz.shape.length === 1) wz = c.b.reshape(asFloat(c, wz), [wz.shape[0]!, ...w.shape.slice(1).map(() => 1)]);
  const y = convolve(c, centered(c, c.input(0), c.optInput(2), false), centered(c, w, wz, false), undefined);
  return c.b.cast(y, 'int32');
};

const qlinearMatMul: ImportRule = (c) => {
  const a = dequantize(c, c.input(0), c.input(1), c.optInput(2), 1);
  const b = dequantize(c, c.input(3), c.input(4), c.optInput(5), 1);
  return quantize(c, matmulNumpy(c, a, b), c.input(6), c.optInput(7), zeroPointType(c, 7), 1);
};

const qlinearConv: ImportRule = (c) => {
  const x = dequantize(c, c.input(0), c.input(1), c.optInput(2), 1);
  const w = dequantize(c, c.input(3), c.input(4), c.optInput(5), 0);
  let bias: Value | undefined;
  if (c.has(8)) {
    // The int32 bias is quantized with scale x_scale · w_scale and zero point 0.
    const bs = c.b.op('mul', [asFloat(c, c.input(1)), asFloat(c, c.input(4))]);
    bias = c.b.op('mul', [asFloat(c, c.input(8)), bs]);
  }
  const y = convolve(c, x, w, bias);
  return quantize(c, y, c.input(6), c.optInput(7), zeroPointType(c, 7), 1);
};

export const IMPORT_QUANT_RULES = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  MatMulInteger: matMulInteger,
  ConvInteger: convInteger,
  QLinearMatMul: qlinearMatMul,
  QLinearConv: qlinearConv,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_QUANT_MAKES = {
  round: ['DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear'],
  clip: ['DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear'],
  maximum: ['DynamicQuantizeLinear'],
  minimum: ['DynamicQuantizeLinear'],
  reduce_max: ['DynamicQuantizeLinear'],
  reduce_min: ['DynamicQuantizeLinear'],
  matmul: ['MatMulInteger', 'QLinearMatMul'],
  conv2d: ['ConvInteger', 'QLinearConv'],
  depthwise_conv2d: ['ConvInteger', 'QLinearConv'],
  fused_conv2d: ['ConvInteger', 'QLinearConv'],
  fused_depthwise_conv2d: ['ConvInteger', 'QLinearConv'],
  concat: ['ConvInteger', 'QLinearConv'],
  split: ['ConvInteger', 'QLinearConv'],
} satisfies MadeBy<typeof IMPORT_QUANT_RULES>;
