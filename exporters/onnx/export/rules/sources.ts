/** Export rules for source ops: constants, symbolic sizes, fills, ranges, random draws, assign. */
import type { Dim } from '../../../../ir/dim.js';
import { isStatic } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import type { OpName } from '../../../../ir/ops.js';
import { tensorData } from '../../../../ir/tensor_data.js';
import { isGraphOutput, attr } from '../onnx_graph.js';
import type { OnnxAttrs } from '../onnx_graph.js';
import type { ExportRule, RuleCtx, Unsupported } from '../rule_types.js';
import { cast, valueAttr } from './helpers.js';

/** tfjs.truncatedNormal redraws values beyond 2σ; the export unrolls that many draws. */
export const TRUNCATED_NORMAL_ROUNDS = 6;

function seedAttrs(cx: RuleCtx, round = 0): OnnxAttrs {
  const seed = cx.a.int('seed');
  return seed >= 0 ? { seed: attr.float(seed + round) } : {};
}

/** One random draw of the output's shape as float32, static shapes by attr, symbolic ones from a template. */
function draw(cx: RuleCtx, kind: 'Uniform' | 'Normal', params: OnnxAttrs, round = 0, out?: string): string {
  const shape = cx.a.dims('shape');
  const attrs = { ...params, ...seedAttrs(cx, round), dtype: attr.int(1) };
  if (shape.every(isStatic)) return cx.e.op(`Random${kind}`, [], { ...attrs, shape: attr.ints(shape as number[]) }, out);
  const template = cx.e.op('ConstantOfShape', [cx.dims.shape(shape)]);
  return cx.e.op(`Random${kind}Like`, [template], attrs, out);
}

/** Writes float32 `x` to the output as the op's dtype (tfjs rounds draws for int32). */
function finishRandom(cx: RuleCtx, x: string, dtype: DType): void {
  if (dtype === 'float32') { cx.e.op('Identity', [x], {}, cx.outs[0]); return; }
  if (dtype === 'bool') cx.fail('random draws of dtype bool have no ONNX equivalent');
  cast(cx.e, cx.e.op('Round', [x]), dtype, cx.outs[0]);
}

const randomUniform: ExportRule = (cx) => {
  const dtype = cx.a.dtype('dtype');
  const params = { low: attr.float(cx.a.float('min')), high: attr.float(cx.a.float('max')) };
  if (dtype === 'float32') { draw(cx, 'Uniform', params, 0, cx.outs[0]); return; }
  finishRandom(cx, draw(cx, 'Uniform', params), dtype);
};

/**
 * random_normal; truncated: tfjs redraws every value beyond mean ± 2σ. ONNX has no loop-free
 * equivalent, so the export draws TRUNCATED_NORMAL_ROUNDS times and keeps the first draw in
 * range; in the ≈ 0.0455^6 ≈ 9e-9 of cases where all are out, the last is clipped to ±2σ.
 */
const randomNormal: ExportRule = (cx) => {
  const e = cx.e;
  const dtype = cx.a.dtype('dtype');
  const mean = cx.a.float('mean'), std = cx.a.float('std');
  const params = { mean: attr.float(mean), scale: attr.float(std) };
  if (!cx.a.bool('truncated')) {
    if (dtype === 'float32') { draw(cx, 'Normal', params, 0, cx.outs[0]); return; }
    finishRandom(cx, draw(cx, 'Normal', params), dtype);
    return;
  }
  const lo = e.scalar(mean - 2 * std, 'float32'), hi = e.scalar(mean + 2 * std, 'float32');
  const m = e.scalar(mean, 'float32'), bound = e.scalar(2 * std, 'float32');
  let acc = e.op('Clip', [draw(cx, 'Normal', params, TRUNCATED_NORMAL_ROUNDS - 1), lo, hi]);
  for (let r = TRUNCATED_NORMAL_ROUNDS - 2; r >= 0; r--) {
    const z = draw(cx, 'Normal', params, r);
    const ok = e.op('LessOrEqual', [e.op('Abs', [e.op('Sub', [z, m])]), bound]);
    acc = e.op('Where', [ok, z, acc], {}, r === 0 && dtype === 'float32' ? cx.outs[0] : undefined);
  }
  if (dtype !== 'float32') finishRandom(cx, acc, dtype);
};

const constRule: ExportRule = (cx) => {
  const value = cx.a.tensor('value');
  const out = cx.outs[0]!;
  // A graph output is produced by a node, never an initializer.
  if (isGraphOutput(cx.e.g, out)) cx.e.op('Identity', [cx.e.initializer(cx.e.fresh('value'), value)], {}, out);
  else cx.e.initializer(out, value);
};

const fill: ExportRule = (cx) => {
  const dtype = cx.a.dtype('dtype');
  cx.e.op('ConstantOfShape', [cx.dims.shape(cx.a.dims('shape'))], { value: attr.tensor(valueAttr(cx.a.float('value'), dtype)) }, cx.outs[0]);
};

/** tf.range's values (start, start + step, …, accumulated in the output dtype as tfjs does). */
const range: ExportRule = (cx) => {
  const dtype = cx.a.dtype('dtype');
  const [start, stop, step] = [cx.a.float('start'), cx.a.float('stop'), cx.a.float('step')];
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const vals: number[] = [];
  let v = start;
  for (let i = 0; i < n; i++) { vals.push(v); v = dtype === 'float32' ? Math.fround(v + step) : v + step; }
  const t = tensorData(dtype, [n], vals);
  if (isGraphOutput(cx.e.g, cx.outs[0]!)) cx.e.op('Identity', [cx.e.initializer(cx.e.fresh('range'), t)], {}, cx.outs[0]);
  else cx.e.initializer(cx.outs[0]!, t);
};

const symConst: ExportRule = (cx) => {
  const d: Dim = cx.a.dim('value');
  cx.e.op('Identity', [cx.dims.scalar(d, cx.a.dtype('dtype'))], {}, cx.outs[0]);
};

export const EXPORT_SOURCE_RULES = {
  const: constRule,
  sym_const: symConst,
  fill,
  range,
  random_uniform: randomUniform,
  random_normal: randomNormal,
  assign: {
    unsupported: "the graph assigns a variable (a training step), and state: 'initializers' makes variables constants",
    help: "export with state: 'inputs' (the default for a training step: variables become inputs, their new values outputs), or export the inference function",
  },
  // Never reached: a print has no outputs, so it is not live in an export (ONNX has no print op; it is left out).
  print: { unsupported: 'ONNX has no print op' },
} satisfies Partial<Record<OpName, ExportRule | Unsupported>>;
