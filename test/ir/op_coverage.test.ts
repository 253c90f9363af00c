/**
 * Which layers know each IR op, table by table (README, "Adding an op").
 *
 * Compile-checked: the runtime binding (runtime/kernels/op_kernels.ts) and the ONNX export rule
 * (exporters/onnx/export/rules.ts) are `Record<OpName, Rule | Unsupported>`; the generated forms
 * of fused programs (runtime/fused/) are `Record<ExprOp, …>` with ExprOp read off OpDef.expr;
 * every table of fused activations is a `Record<FusedActivation, …>`. A missing entry there
 * does not compile, so this test only lists what those tables mark unsupported.
 *
 * Not compile-checked, by direction: the trace table is keyed by tfjs kernel and the import
 * table by ONNX op type (each maps a foreign name onto IR ops, so an IR op cannot demand an
 * entry); they are searched here for the IR ops their sources emit (a quoted op name), and
 * the ops without one must be in the lists below, each with its reason: a new op that is
 * neither traced nor imported fails here until it is traced, imported or listed.
 *
 * Optional by design: wasm direct calls (a node without one runs its tfjs kernel), the
 * expression form (OpDef.expr) and the fused form (OpDef.fusedForm).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { OpDef, OpName } from '../../ir/ops.js';
import { EXPR_OPS, FUSED_ACTIVATIONS, FUSED_OPS, inferTypes, OP_NAMES, OPS, isOpName } from '../../ir/ops.js';
import { EXPORT_RULES, isUnsupported as exportUnsupported } from '../../exporters/onnx/export/rules.js';
import { NO_TEMPORARIES, OP_KERNELS, isUnsupported as runtimeUnsupported } from '../../runtime/kernels/op_kernels.js';
import { DIRECT_OPS, SOURCES } from '../../runtime/wasm/direct_calls.js';
import { KERNEL_RULES } from '../../src/trace/kernel_rules.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The IR op names quoted in the .ts sources under `dirs` (what those layers can emit). */
function quotedOps(...dirs: string[]): Set<OpName> {
  const found = new Set<OpName>();
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) { for (const f of readdirSync(p)) walk(join(p, f)); return; }
    if (!p.endsWith('.ts')) return;
    for (const m of readFileSync(p, 'utf8').matchAll(/'([a-z0-9_]+)'/g)) if (isOpName(m[1]!)) found.add(m[1]!);
  };
  for (const d of dirs) walk(join(root, d));
  return found;
}

/** What the wasm program runs without a tfjs kernel: direct C calls, sources written once, views (runtime/wasm/buffer_plan.ts). */
const WASM_PROGRAM: ReadonlySet<OpName> = new Set<OpName>([...DIRECT_OPS, ...SOURCES, 'reshape', 'identity']);

/** An elementwise op that could be an expression op (OpDef.expr): float32 → float32, one or two operands, float attrs. */
function couldBeExpr(op: OpName): boolean {
  const d: OpDef = OPS[op];
  if (d.fusion !== 'elementwise' || d.effect !== 'pure' || (d.arity !== 1 && d.arity !== 2)) return false;
  if (!Object.values(d.attrs).every((k) => k === 'float')) return false;
  const f32 = { dtype: 'float32' as const, shape: [2] };
  try {
    const out = inferTypes(op, Array.from({ length: d.arity }, () => f32), Object.fromEntries(Object.keys(d.attrs).map((k) => [k, 0.5])));
    return out.length === 1 && out[0]!.dtype === 'float32';
  } catch {
    return false;
  }
}

/** IR ops the tracer does not record, and why. */
const NOT_TRACED: Partial<Record<OpName, string>> = {
  fused_matmul: 'made by fuse-matmul-bias-act (tfjs\'s _FusedMatMul is traced to it too)',
  fused_elementwise: 'made by fuse-elementwise',
};

const NO_ONNX_OP = 'ONNX has no such op (graphs with it export it as other ops)';
const TFJS_GRADIENT = 'a tfjs gradient kernel (training graphs); ONNX has no such op';

/** IR ops no ONNX import rule makes, and why. */
const NOT_IMPORTED: Partial<Record<OpName, string>> = {
  assign: 'a variable write: ONNX graphs have no variables',
  print: 'printing at run time: ONNX has no such op',
  identity: 'ONNX Identity imports as its operand',
  relu6: 'ONNX Clip(0, 6) imports as clip',
  prelu: 'ONNX PRelu imports as select(x < 0, x·slope, x) (ONNX broadcasts the slope its own way)',
  fused_matmul: 'made by fuse-matmul-bias-act',
  fused_elementwise: 'made by fuse-elementwise',
  log1p: NO_ONNX_OP, step: NO_ONNX_OP, zeros_like: NO_ONNX_OP, squared_difference: NO_ONNX_OP, atan2: NO_ONNX_OP,
  reduce_all: NO_ONNX_OP, reduce_any: NO_ONNX_OP, unpack: NO_ONNX_OP, unsorted_segment_sum: NO_ONNX_OP,
  elu_grad: TFJS_GRADIENT, conv2d_backprop_filter: TFJS_GRADIENT, depthwise_conv2d_backprop_input: TFJS_GRADIENT,
  depthwise_conv2d_backprop_filter: TFJS_GRADIENT, max_pool_grad: TFJS_GRADIENT, avg_pool_grad: TFJS_GRADIENT,
};

describe('op coverage', () => {
  const traced = quotedOps('src/trace');
  const imported = quotedOps('exporters/onnx/import');

  it('every table is keyed by OpNames (the Records by exactly OP_NAMES)', () => {
    expect(Object.keys(OP_KERNELS).sort()).toEqual([...OP_NAMES].sort());
    expect(Object.keys(EXPORT_RULES).sort()).toEqual([...OP_NAMES].sort());
    for (const op of [...NO_TEMPORARIES, ...DIRECT_OPS, ...SOURCES, ...EXPR_OPS, ...FUSED_OPS]) expect(isOpName(op), op).toBe(true);
    for (const op of EXPR_OPS) expect(couldBeExpr(op), op).toBe(true);
    for (const op of OP_NAMES) {
      const d: OpDef = OPS[op];
      if (d.fusedForm !== undefined) expect(FUSED_OPS, op).toContain(d.fusedForm);
      if (d.fusedActivation !== undefined) expect(FUSED_ACTIVATIONS, op).toContain(d.fusedActivation);
    }
    // The tracer's rules go from tfjs kernels to IR ops: every kernel name maps to an op it emits.
    expect(Object.keys(KERNEL_RULES).length).toBeGreaterThan(100);
  });

  it('a fused form fuses into itself, and only matmuls and convolutions have one', () => {
    for (const op of OP_NAMES) {
      const f = (OPS[op] as OpDef).fusedForm;
      if (f === undefined) continue;
      expect((OPS[f] as OpDef).fusedForm, op).toBe(f);
      expect(['matmul', 'conv'], op).toContain(OPS[op].fusion);
    }
  });

  it('ops that are neither traced nor imported are listed with a reason', () => {
    const untraced = OP_NAMES.filter((op) => !traced.has(op));
    const unimported = OP_NAMES.filter((op) => !imported.has(op));
    expect(untraced.filter((op) => NOT_TRACED[op] === undefined && unimported.includes(op)), 'ops no layer creates').toEqual([]);
    expect(untraced.filter((op) => NOT_TRACED[op] === undefined), 'untraced ops: trace them (src/trace/kernel_rules.ts) or list them in NOT_TRACED').toEqual([]);
    expect(unimported.filter((op) => NOT_IMPORTED[op] === undefined), 'ops no ONNX import makes: import them (exporters/onnx/import/rules/) or list them in NOT_IMPORTED').toEqual([]);
  });

  it('prints, per op, the tables it is missing', () => {
    const rows: string[] = [];
    for (const op of OP_NAMES) {
      const d: OpDef = OPS[op];
      const missing: string[] = [];
      if (!traced.has(op)) missing.push('trace');
      if (runtimeUnsupported(OP_KERNELS[op])) missing.push('runtime');
      if (exportUnsupported(EXPORT_RULES[op])) missing.push('onnx export');
      if (!imported.has(op)) missing.push('onnx import');
      if (!WASM_PROGRAM.has(op)) missing.push('wasm direct');
      if (d.expr !== true && couldBeExpr(op)) missing.push('fused expression');
      if ((d.fusion === 'matmul' || d.fusion === 'conv') && !op.includes('backprop') && d.fusedForm === undefined) missing.push('fused form');
      if (missing.length > 0) rows.push(`${op.padEnd(34)} ${missing.join(', ')}`);
    }
    console.log(`IR ops and the optional tables they are missing (${rows.length} of ${OP_NAMES.length} ops):\n${rows.join('\n')}`);
    expect(rows.length).toBeGreaterThan(0);
    // Every op runs (the runtime table marks none unsupported today).
    expect(OP_NAMES.filter((op) => runtimeUnsupported(OP_KERNELS[op]))).toEqual([]);
  });
});
