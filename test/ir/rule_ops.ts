/**
 * The IR ops a foreign-keyed rule table makes, read off the sources with the TypeScript
 * checker (test/ir/op_coverage).
 *
 * The trace table (tfjs kernel → rule) and the ONNX import tables (op type → rule) map a
 * foreign name onto IR ops, so each rule's ops are found in its code: the string literals
 * whose type is an IR op name (`ctx.emit('cast', …)`, `unary('abs')`, `c.b.op('div', …)`,
 * `reduction('reduce_sum', …)`; not `mode === 'ceil'` or `a['pad']`), in the rule's
 * expression and in every function, constant or method of the layer it refers to,
 * followed through the layer's files (`c.b.reshape(…)` reaches the Builder method, which
 * names 'reshape').
 */
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import type { OpName } from '../../ir/ops.js';
import { isOpName } from '../../ir/ops.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '../..');

/** A program over `files` (paths from the repository root) with the project's compiler options. */
export function program(files: readonly string[]): ts.Program {
  const cfgPath = join(ROOT, 'tsconfig.json');
  const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(cfgPath, (p) => ts.sys.readFile(p)).config, ts.sys, ROOT);
  return ts.createProgram(files.map((f) => join(ROOT, f)), { ...cfg.options, noEmit: true });
}

/** Whether `t` is a union of string literals that are all IR op names (OpName, or a subset of it). */
function isOpType(t: ts.Type | undefined): boolean {
  if (t === undefined) return false;
  const parts = t.isUnion() ? t.types : [t];
  return parts.length > 0 && parts.every((p) => p.isStringLiteral() && isOpName(p.value));
}

export interface Rule {
  /** The IR ops it makes. */
  readonly ops: ReadonlySet<OpName>;
  /** The file of its table, from the repository root. */
  readonly file: string;
}

/**
 * The rules of the tables named by `isTable` (top-level `const X = { … }` object literals)
 * in the files of `prog` under `layerDir`, each (its key: the foreign op name) with the IR ops it makes.
 */
export function ruleOps(prog: ts.Program, layerDir: string, isTable: (name: string) => boolean): Map<string, Rule> {
  const checker = prog.getTypeChecker();
  const inLayer = (sf: ts.SourceFile): boolean => !relative(join(ROOT, layerDir), sf.fileName).startsWith('..');

  /** A declaration worth following: top-level in a layer file, or a class member there. */
  const followable = (d: ts.Declaration): ts.Node | undefined => {
    if (!inLayer(d.getSourceFile())) return undefined;
    if (ts.isVariableDeclaration(d) && ts.isVariableStatement(d.parent.parent) && ts.isSourceFile(d.parent.parent.parent)) return d.initializer;
    if (ts.isFunctionDeclaration(d) && ts.isSourceFile(d.parent)) return d.body;
    if ((ts.isMethodDeclaration(d) || ts.isGetAccessorDeclaration(d) || ts.isPropertyDeclaration(d)) && ts.isClassDeclaration(d.parent)) {
      return ts.isPropertyDeclaration(d) ? d.initializer : d.body;
    }
    return undefined;
  };

  const opsOf = (root: ts.Node, seen: Set<ts.Node>, out: Set<OpName>): void => {
    const visit = (n: ts.Node): void => {
      if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
        if (isOpName(n.text) && isOpType(checker.getContextualType(n))) out.add(n.text);
        return;
      }
      if (ts.isIdentifier(n)) {
        let sym = checker.getSymbolAtLocation(n);
        if (sym !== undefined && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
        for (const d of sym?.declarations ?? []) {
          const body = followable(d);
          if (body !== undefined && !seen.has(body)) { seen.add(body); opsOf(body, seen, out); }
        }
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(root);
  };

  const rules = new Map<string, Rule>();
  for (const sf of prog.getSourceFiles()) {
    if (!inLayer(sf)) continue;
    for (const st of sf.statements) {
      if (!ts.isVariableStatement(st)) continue;
      for (const d of st.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || !isTable(d.name.text) || d.initializer === undefined) continue;
        let init: ts.Expression = d.initializer;
        while (ts.isSatisfiesExpression(init) || ts.isAsExpression(init) || ts.isParenthesizedExpression(init)) init = init.expression;
        if (!ts.isObjectLiteralExpression(init)) continue;
        for (const p of init.properties) {
          if (ts.isSpreadAssignment(p)) continue;
          const key = p.name === undefined ? undefined
            : ts.isComputedPropertyName(p.name) ? checker.getTypeAtLocation(p.name.expression)
            : undefined;
          const name = key !== undefined ? (key.isStringLiteral() ? key.value : undefined)
            : p.name !== undefined && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : undefined;
          if (name === undefined) throw new Error(`${sf.fileName}: a key of ${d.name.text} is not a literal: ${p.getText(sf)}`);
          const out = new Set<OpName>();
          opsOf(ts.isPropertyAssignment(p) ? p.initializer : p, new Set(), out);
          rules.set(name, { ops: out, file: relative(ROOT, sf.fileName) });
        }
      }
    }
  }
  return rules;
}
