/**
 * Reading input signatures from TypeScript sources with ts-morph: exported functions whose
 * parameters are typed `gc.Input<'float32', ['batch', 784]>`.
 */
import { Node, Project, SyntaxKind } from 'ts-morph';
import type { TypeNode } from 'ts-morph';
import { isDType } from '../../ir/dtype.js';
import type { TensorSpec } from '../trace/spec.js';
import { spec } from '../trace/spec.js';

export interface ExportedThing {
  name: string;
  kind: 'function' | 'value';
  /** Specs read from `Input<…>` parameter types; undefined when a parameter is not so typed. */
  specs: TensorSpec[] | undefined;
  /** Why specs could not be read (for the error message). */
  why?: string;
  /** A function's parameters: how many, how many must be given, and whether the last is a rest parameter. */
  params?: { count: number; required: number; rest: boolean };
  line: number;
}

function parseInputType(t: TypeNode | undefined, param: string): TensorSpec | string {
  if (!t) return `parameter '${param}' has no type; type it gc.Input<dtype, shape> or pass --input`;
  if (!Node.isTypeReference(t)) return `parameter '${param}' has type ${t.getText()}, not gc.Input<dtype, shape>`;
  const name = t.getTypeName().getText();
  if (!/(^|\.)Input$/.test(name)) return `parameter '${param}' has type ${t.getText()}, not gc.Input<dtype, shape>`;
  const args = t.getTypeArguments();
  const dtypeText = args[0] ? args[0].getText().replace(/^['"]|['"]$/g, '') : 'float32';
  if (!isDType(dtypeText)) return `parameter '${param}': dtype ${args[0]?.getText()} is not one of float32, int32, bool, int64`;
  const shapeNode = args[1];
  if (!shapeNode || !Node.isTupleTypeNode(shapeNode)) return `parameter '${param}': the shape must be a tuple type such as ['batch', 784]`;
  const dims: (number | string | null)[] = [];
  for (const el of shapeNode.getElements()) {
    const txt = el.getText().trim();
    if (/^\d+$/.test(txt)) dims.push(Number(txt));
    else if (txt === 'null') dims.push(null);
    else if (/^['"][A-Za-z_][A-Za-z0-9_]*['"]$/.test(txt)) dims.push(txt.slice(1, -1));
    else return `parameter '${param}': dim ${txt} is not a number, a 'name' or null`;
  }
  return spec(dims, dtypeText, param);
}

/** Exported functions and values of a TypeScript module, with the specs their types declare. */
export function readExports(file: string): ExportedThing[] {
  const project = new Project({ skipAddingFilesFromTsConfig: true, compilerOptions: { allowJs: true } });
  const sf = project.addSourceFileAtPath(file);
  const out: ExportedThing[] = [];
  for (const [name, decls] of sf.getExportedDeclarations()) {
    const d = decls[0];
    if (!d) continue;
    let fn: Node | undefined;
    if (Node.isFunctionDeclaration(d)) fn = d;
    else if (Node.isVariableDeclaration(d)) {
      const init = d.getInitializer();
      if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) fn = init;
    }
    if (fn && (Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) {
      const specs: TensorSpec[] = [];
      let why: string | undefined;
      for (const p of fn.getParameters()) {
        const r = parseInputType(p.getTypeNode(), p.getName());
        if (typeof r === 'string') { why = r; break; }
        specs.push(r);
      }
      const ps = fn.getParameters();
      const params = {
        count: ps.length,
        required: ps.filter((p) => !p.hasInitializer() && !p.hasQuestionToken() && !p.isRestParameter()).length,
        rest: ps.some((p) => p.isRestParameter()),
      };
      out.push({ name, kind: 'function', specs: why ? undefined : specs, why, params, line: d.getStartLineNumber() });
    } else {
      out.push({ name, kind: 'value', specs: undefined, line: d.getStartLineNumber() });
    }
  }
  void SyntaxKind;
  return out;
}

/** `--input name:dtype[d0,d1]` → a spec. */
export function parseInputFlag(text: string): TensorSpec {
  const m = /^([A-Za-z_][A-Za-z0-9_]*):([a-z0-9]+)\[([^\]]*)\]$/.exec(text.trim());
  if (!m) throw new Error(`--input '${text}': expected name:dtype[dims], e.g. x:float32[batch,784]`);
  if (!isDType(m[2])) throw new Error(`--input '${text}': dtype '${m[2]}' is not one of float32, int32, bool, int64`);
  const dims = m[3]!.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s === '?' || s === 'null' ? null : s));
  return spec(dims, m[2], m[1]);
}
