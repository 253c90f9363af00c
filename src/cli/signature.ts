/**
 * Reading input signatures from TypeScript sources: exported functions whose parameters are
 * typed `gc.Input<'float32', ['batch', 784]>`.
 *
 * ts-morph is used as a parser only: no program is built and no type checker runs (that loaded
 * lib.d.ts and every .d.ts the module imports, tfjs's included: about 3 s per `graphc export`).
 * The exports are read from the syntax: `export function` / `const` / `class` / `enum` /
 * `default`, `export { a as b }`, and re-exports (`export * from './m'`, `export { f } from
 * './m'`, an imported binding exported again) followed into relative modules. A name
 * re-exported from a package is listed as a value: its parameter types are not read.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as TsMorph from 'ts-morph';
import type { Node, SourceFile, TypeNode } from 'ts-morph';
import { isDType } from '../../ir/dtype.js';
import type { TensorSpec } from '../trace/spec.js';
import { UsageError } from './cli_error.js';
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

let tsMorph: typeof TsMorph | undefined;
/** ts-morph, loaded on first use (0.7 s): `graphc inspect/run/optimize` of an .onnx file never reads TypeScript. */
function morph(): typeof TsMorph {
  return (tsMorph ??= createRequire(import.meta.url)('ts-morph') as typeof TsMorph);
}

function parseInputType(t: TypeNode | undefined, param: string): TensorSpec | string {
  const { Node } = morph();
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

/** What an exported name stands for: its declaration, or (`opaque`) the statement that exports or imports a value whose declaration is not read. */
type Target = Node | { opaque: Node };

/** The file a relative module specifier names, as TypeScript's NodeNext resolution finds it ('./m.js' → m.ts). */
function resolveRelative(from: SourceFile, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const base = path.resolve(path.dirname(from.getFilePath()), specifier);
  const swapped = base.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts').replace(/\.jsx$/, '.tsx');
  const candidates = [swapped, base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, `${base}.tsx`, `${base}.d.ts`, `${base}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')];
  return candidates.find((c) => existsSync(c) && !c.endsWith('/'));
}

class ExportReader {
  private readonly project = new (morph().Project)({
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: true },
  });
  /** Modules being read, to stop at cycles (`export *` between two files). */
  private readonly reading = new Set<string>();

  file(p: string): SourceFile {
    return this.project.getSourceFile(p) ?? this.project.addSourceFileAtPath(p);
  }

  /** The exported names of a module with what each stands for, in source order. */
  exports(sf: SourceFile): Map<string, Target> {
    const { Node } = morph();
    const key = sf.getFilePath();
    const out = new Map<string, Target>();
    if (this.reading.has(key)) return out;
    this.reading.add(key);
    try {
      const starred: Map<string, Target>[] = [];
      for (const st of sf.getStatements()) {
        if (Node.isExportDeclaration(st)) {
          const spec = st.getModuleSpecifierValue();
          const from = spec === undefined ? undefined : this.module(sf, spec);
          if (st.isNamespaceExport()) {
            const ns = st.getNamespaceExport();
            if (ns) out.set(ns.getName(), { opaque: st });
            else if (from) starred.push(from);
            continue;
          }
          for (const s of st.getNamedExports()) {
            const local = s.getNameNode().getText();
            const name = s.getAliasNode()?.getText() ?? local;
            if (spec === undefined) out.set(name, this.local(sf, local, st));
            else out.set(name, from?.get(local) ?? { opaque: st });
          }
        } else if (Node.isExportAssignment(st)) {
          if (st.isExportEquals()) continue;
          const e = st.getExpression();
          out.set('default', Node.isIdentifier(e) ? this.local(sf, e.getText(), st) : st);
        } else if (Node.isVariableStatement(st)) {
          if (!st.hasExportKeyword()) continue;
          for (const d of st.getDeclarations()) {
            const n = d.getNameNode();
            if (Node.isIdentifier(n)) out.set(n.getText(), d);
            else for (const el of n.getDescendants()) if (Node.isBindingElement(el) && Node.isIdentifier(el.getNameNode())) out.set(el.getName(), el);
          }
        } else if (
          Node.isFunctionDeclaration(st) || Node.isClassDeclaration(st) || Node.isEnumDeclaration(st)
          || Node.isInterfaceDeclaration(st) || Node.isTypeAliasDeclaration(st) || Node.isModuleDeclaration(st)
        ) {
          if (!st.hasExportKeyword()) continue;
          const name = st.hasDefaultKeyword() ? 'default' : st.getName();
          // An overloaded function: its first signature, as the type checker lists it.
          if (name !== undefined && !out.has(name)) out.set(name, st);
        }
      }
      // `export *` re-exports every name but 'default', and never one the module declares itself.
      for (const m of starred) for (const [name, t] of m) if (name !== 'default' && !out.has(name)) out.set(name, t);
      return out;
    } finally {
      this.reading.delete(key);
    }
  }

  /** The exports of the module `spec` imported from `sf`; undefined for a package or a missing file. */
  private module(sf: SourceFile, spec: string): Map<string, Target> | undefined {
    const p = resolveRelative(sf, spec);
    return p === undefined ? undefined : this.exports(this.file(p));
  }

  /** What a name declared or imported in `sf` stands for. */
  private local(sf: SourceFile, name: string, at: Node): Target {
    const { Node } = morph();
    for (const st of sf.getStatements()) {
      if (Node.isImportDeclaration(st)) {
        const clause = st.getImportClause();
        if (!clause) continue;
        const spec = st.getModuleSpecifierValue();
        if (clause.getDefaultImport()?.getText() === name) return this.module(sf, spec)?.get('default') ?? { opaque: st };
        if (clause.getNamespaceImport()?.getText() === name) return { opaque: st };
        for (const s of clause.getNamedImports()) {
          if ((s.getAliasNode()?.getText() ?? s.getName()) === name) return this.module(sf, spec)?.get(s.getName()) ?? { opaque: st };
        }
      } else if (Node.isVariableStatement(st)) {
        for (const d of st.getDeclarations()) {
          const n = d.getNameNode();
          if (Node.isIdentifier(n) ? n.getText() === name : false) return d;
          if (!Node.isIdentifier(n)) for (const el of n.getDescendants()) if (Node.isBindingElement(el) && el.getName() === name) return el;
        }
      } else if (
        Node.isFunctionDeclaration(st) || Node.isClassDeclaration(st) || Node.isEnumDeclaration(st)
        || Node.isInterfaceDeclaration(st) || Node.isTypeAliasDeclaration(st) || Node.isModuleDeclaration(st)
      ) {
        if (st.getName() === name) return st;
      }
    }
    return { opaque: at };
  }
}

/** Exported functions and values of a TypeScript module, with the specs their types declare. */
export function readExports(file: string): ExportedThing[] {
  const { Node } = morph();
  const reader = new ExportReader();
  const sf = reader.file(path.resolve(file));
  const out: ExportedThing[] = [];
  for (const [name, d] of reader.exports(sf)) {
    let fn: Node | undefined;
    if (!(d instanceof Node)) {
      out.push({ name, kind: 'value', specs: undefined, line: d.opaque.getStartLineNumber() });
      continue;
    }
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

/** `--input name=d0,d1,...`: a concrete shape for an input (run, inspect). */
export interface ShapeOverride { name: string; shape: number[]; text: string }

const SHAPE_TEXT = /^\[?\s*(\d+(?:\s*,\s*\d+)*)?\s*\]?$/;

/**
 * `--input name=1,28,28` (also `name=[1,28,28]`, `name=[]` for a scalar) → {name, shape}. A flag
 * of another form is a UsageError, or (with `others`) left out of the result: `graphc run` reads
 * it as a file or `random`.
 */
export function parseShapeOverrides(flags: readonly string[] | undefined, others = false): ShapeOverride[] {
  const out: ShapeOverride[] = [];
  for (const text of flags ?? []) {
    const m = /^([^=]+)=(.*)$/.exec(text);
    const dims = m ? SHAPE_TEXT.exec(m[2]!.trim()) : null;
    const bracketsOk = m ? (m[2]!.trim().startsWith('[') === m[2]!.trim().endsWith(']')) && m[2]!.trim() !== '' : false;
    if (!m || !dims || !bracketsOk) {
      if (others) continue;
      throw new UsageError(`option '--input <name=d0,d1,...>' argument '${text}' is invalid: expected an input name and a shape, e.g. x=1,28,28`);
    }
    if (out.some((o) => o.name === m[1])) throw new UsageError(`option '--input': '${m[1]}' is given twice`);
    out.push({ name: m[1]!, shape: dims[1] === undefined ? [] : dims[1].split(',').map((d) => Number(d.trim())), text });
  }
  return out;
}
