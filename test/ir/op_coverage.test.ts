/**
 * Which layers know each IR op, table by table (README, "Adding an op").
 *
 * Every layer that must decide about every op is a `Record<OpName, …>`, so adding an op to OPS
 * does not compile until each has its entry: the runtime binding (runtime/kernels/op_kernels.ts)
 * and the ONNX export rule (exporters/onnx/export/rules.ts) as `Rule | Unsupported`; the
 * trace layer's TRACED_BY (src/trace/kernel_rules.ts) and the import layer's IMPORTED_BY
 * (exporters/onnx/import/rules.ts) as the foreign ops that make it, or why none does. The
 * generated forms of fused programs (runtime/fused/) are `Record<ExprOp, …>` and every table
 * of fused activations a `Record<FusedActivation, …>`.
 *
 * The trace and import rule tables themselves are keyed by foreign names (tfjs kernel, ONNX op
 * type), so the compiler cannot match them with TRACED_BY / IMPORTED_BY: this test reads the
 * IR ops each rule makes off its code (test/ir/rule_ops.ts) and checks both Records against
 * them, both ways (a listed rule that does not make the op, a rule that makes it unlisted).
 *
 * Optional by design: wasm direct calls (a node without one runs its tfjs kernel), the
 * expression form (OpDef.expr) and the fused form (OpDef.fusedForm).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { OpDef, OpName } from '../../ir/ops.js';
import { EXPR_OPS, FUSED_ACTIVATIONS, FUSED_OPS, hasRegions, inferTypes, OP_NAMES, OPS, isOpName } from '../../ir/ops.js';
import { EXPORT_RULES, isUnsupported as exportUnsupported } from '../../exporters/onnx/export/rules.js';
import { NO_TEMPORARIES, OP_KERNELS, isUnsupported as runtimeUnsupported } from '../../runtime/kernels/op_kernels.js';
import { DIRECT_OPS, SOURCES } from '../../runtime/wasm/direct_calls.js';
import { KERNEL_RULES, TRACED_BY } from '../../src/trace/kernel_rules.js';
import { IMPORT_RULES, IMPORTED_BY, MAKES_BY_FAMILY, NOT_LISTED } from '../../exporters/onnx/import/rules.js';
import { IMPORT_TRAINING_RULES } from '../../exporters/onnx/import/rules/training.js';
import type { Rule } from './rule_ops.js';
import { program, ruleOps } from './rule_ops.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

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

type Made = readonly string[] | { readonly many: string } | { readonly notTraced: string } | { readonly notImported: string } | { readonly tracer: string; readonly kernels?: readonly string[] };

/** For each rule (its foreign key), the IR ops it makes, inverted: op → the rules that make it. */
function makers(rules: ReadonlyMap<string, Rule>): Map<OpName, string[]> {
  const out = new Map<OpName, string[]>(OP_NAMES.map((op) => [op, []]));
  for (const [key, r] of rules) for (const op of r.ops) out.get(op)!.push(key);
  for (const ks of out.values()) ks.sort();
  return out;
}

/**
 * The disagreements between a layer's Record (`declared`) and what its rules make, one line
 * each; `where` says where a rule's entry goes.
 */
function disagreements(declared: Readonly<Record<OpName, Made>>, rules: ReadonlyMap<string, Rule>, where: (file: string) => string): string[] {
  const made = makers(rules);
  const at = (keys: readonly string[]): string => [...new Set(keys.map((k) => where(rules.get(k)?.file ?? '?')))].join(', ');
  const out: string[] = [];
  for (const op of OP_NAMES) {
    const d = declared[op];
    const m = made.get(op) ?? [];
    if (Array.isArray(d)) {
      const listed = [...(d as readonly string[])].sort();
      const missing = m.filter((k) => !listed.includes(k));
      const extra = listed.filter((k) => !m.includes(k));
      if (missing.length > 0) out.push(`${op}: the rules of ${missing.join(', ')} make it, list them (${at(missing)})`);
      if (extra.length > 0) out.push(`${op}: listed for ${extra.join(', ')}, whose rules do not make it (${at(extra)})`);
    } else if ('many' in d) {
      if (m.length === 0) out.push(`${op}: said to be made by many rules, but none does`);
    } else if ('tracer' in d && d.kernels !== undefined) {
      const listed = [...d.kernels].sort();
      if (JSON.stringify(listed) !== JSON.stringify(m)) out.push(`${op}: made by the tracer and the rules of [${listed.join(', ')}], but the rules that make it are [${m.join(', ')}] (${at([...m, ...listed])})`);
    } else if (m.length > 0) {
      out.push(`${op}: said to be made by no rule (${JSON.stringify(d)}), but ${m.join(', ')} make it (${at(m)})`);
    }
  }
  return out;
}

describe('op coverage', { timeout: 120_000 }, () => {
  // One program for both layers: the checker types each string literal (an IR op name or not).
  const prog = program(['src/trace/kernel_rules.ts', 'exporters/onnx/import/rules.ts']);
  const traceRules = ruleOps(prog, 'src/trace', (name) => name === 'RULES');
  const importRules = ruleOps(prog, 'exporters/onnx/import', (name) => /^IMPORT_[A-Z]+_RULES$/.test(name) || name === 'UNSUPPORTED');
  const traced = makers(traceRules);
  const imported = makers(importRules);
  const family = (file: string): string => `IMPORT_${file.replace(/^.*\//, '').replace(/\.ts$/, '').toUpperCase()}_MAKES in ${file}`;

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

  it('the coverage reader finds every rule of the trace and import tables', () => {
    expect([...traceRules.keys()].sort()).toEqual(Object.keys(KERNEL_RULES).sort());
    expect([...importRules.keys()].sort()).toEqual([...Object.keys(IMPORT_RULES), ...Object.keys(IMPORT_TRAINING_RULES)].sort());
    // It reads the IR ops a rule names, not every op-like string: Conv2D's `dimRoundingMode === 'ceil'` is no ceil.
    expect(traceRules.get('Conv2D')?.ops).toEqual(new Set(['cast', 'conv2d']));
    expect(traceRules.get('Abs')?.ops).toEqual(new Set(['abs']));
    // … and follows helpers and Builder methods (Reshape: c.b.reshape).
    expect(importRules.get('Reshape')?.ops.has('reshape')).toBe(true);
  });

  it('TRACED_BY (src/trace/kernel_rules.ts) agrees with the kernel rules', () => {
    expect(disagreements(TRACED_BY, traceRules, (file) => `TRACED_BY in ${file}`)).toEqual([]);
    for (const op of OP_NAMES) {
      const d: Made = TRACED_BY[op];
      if (Array.isArray(d) || !('tracer' in d)) continue;
      const file = d.tracer.split(':')[0]!;
      expect(existsSync(join(root, file)), `${op}: ${file}`).toBe(true);
      expect(readFileSync(join(root, file), 'utf8'), `${op} is recorded in ${file}`).toContain(`'${op}'`);
    }
  });

  it('IMPORTED_BY (the families\' IMPORT_<FAMILY>_MAKES and NOT_LISTED) agrees with the import rules', () => {
    expect(disagreements(IMPORTED_BY, importRules, family)).toEqual([]);
    // An op is either listed by the families that make it or in NOT_LISTED, never both.
    const listed = new Set(MAKES_BY_FAMILY.flatMap((f) => Object.keys(f)));
    expect(Object.keys(NOT_LISTED).filter((op) => listed.has(op)), 'ops both in NOT_LISTED and a family list').toEqual([]);
  });

  it('an op neither traced nor imported is made by a pass', () => {
    const neither = OP_NAMES.filter((op) => (traced.get(op)?.length ?? 0) === 0 && (imported.get(op)?.length ?? 0) === 0 && !('tracer' in TRACED_BY[op]));
    // cond, while_loop and scan: until gc.cond / gc.whileLoop / gc.scan trace them and ONNX If / Loop / Scan import as them.
    expect(neither).toEqual(['cond', 'while_loop', 'scan', 'fused_elementwise'].filter((op) => !('tracer' in TRACED_BY[op as OpName]) && (imported.get(op as OpName)?.length ?? 0) === 0));
  });

  it('prints, per op, the tables it is missing', () => {
    const rows: string[] = [];
    for (const op of OP_NAMES) {
      const d: OpDef = OPS[op];
      const missing: string[] = [];
      if ((traced.get(op)?.length ?? 0) === 0 && !('tracer' in TRACED_BY[op])) missing.push('trace');
      if (runtimeUnsupported(OP_KERNELS[op])) missing.push('runtime');
      if (exportUnsupported(EXPORT_RULES[op])) missing.push('onnx export');
      if ((imported.get(op)?.length ?? 0) === 0) missing.push('onnx import');
      if (!WASM_PROGRAM.has(op)) missing.push('wasm direct');
      if (d.expr !== true && couldBeExpr(op)) missing.push('fused expression');
      if ((d.fusion === 'matmul' || d.fusion === 'conv') && !op.includes('backprop') && d.fusedForm === undefined) missing.push('fused form');
      if (missing.length > 0) rows.push(`${op.padEnd(34)} ${missing.join(', ')}`);
    }
    console.log(`IR ops and the optional tables they are missing (${rows.length} of ${OP_NAMES.length} ops):\n${rows.join('\n')}`);
    expect(rows.length).toBeGreaterThan(0);
    // Every op runs (the runtime table marks none unsupported today, but control flow, which the executors run region by region).
    expect(OP_NAMES.filter((op) => runtimeUnsupported(OP_KERNELS[op]) && !hasRegions(op))).toEqual([]);
  });
});
