/**
 * ONNX → IR. `importOnnx(bytes, evaluate)` (the public `fromOnnx(bytes)`) reads a ModelProto
 * of the default domain at opsets 7 to 18 into a graphc Graph:
 *
 *   - graph inputs become IR inputs named as in ONNX (an input that is also an initializer
 *     is a constant with a default: it becomes a constant); `dim_param`s become symbolic dims
 *     (the name made an identifier), unknown dims fresh anonymous symbols `_0`, `_1`…;
 *   - initializers and Constant nodes become `const` nodes;
 *   - each node is translated by its rule in IMPORT_RULES (rules.ts), which reads the
 *     attributes or operands of the node's opset (attributes that became operands: Reshape
 *     shape, Squeeze/Unsqueeze axes, Clip min/max, Slice, Reduce* axes, Split, Pad, …);
 *   - NCHW convolutions, pools and batch norms become the IR's NHWC ops between transposes
 *     (OIHW filters transposed to HWIO and folded when they are constants);
 *   - nodes whose operands are all constant are evaluated at import time (fold.ts, by the
 *     evaluator handed in);
 *   - graph outputs keep their ONNX names and element types (a cast is added where an IR op
 *     computes another type).
 *
 * Element types: see ../dtypes.ts (double is read as float32, small integers as int32,
 * int64 stays int64 and runs as int32 on tfjs). Every failure is a GcError (GC0501) naming
 * the node, its op type and the reason.
 */
import type { Dim } from '../../../ir/dim.js';
import { shapeToString, sym } from '../../../ir/dim.js';
import { Codes, GcError } from '../../../ir/errors.js';
import type { SourceLoc } from '../../../ir/errors.js';
import { Graph } from '../../../ir/graph.js';
import type { Node, TensorType } from '../../../ir/graph.js';
import { dynamicDim, setRegionOutputs } from '../../../ir/regions.js';
import type { Value } from '../../../ir/graph.js';
import { dce } from '../../../ir/passes/dce.js';
import { verifyGraph } from '../../../ir/verify.js';
import '../../../ir/printer.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import type { ImportBudget } from './budget.js';
import { Builder } from './builder.js';
import { describeNode, NeedsConstant, OnnxImportError, RuleError } from './errors.js';
import type { ConstEvaluator } from './fold.js';
import { NodeCtx } from './node_ctx.js';
import type { RegionImporter } from './node_ctx.js';
import { checkModel } from './check.js';
import { ruleFor } from './rules.js';
import { TRAINING_DOMAIN } from './rules/training.js';
import { irDTypeOf, onnxTypeName } from '../dtypes.js';
import { tensorFromProto } from './tensor.js';
import { int64ToNumber, onnx } from '../proto.js';
import type { LongLike } from '../proto.js';

/**
 * Opsets read: 7 to 18. Models of opsets 1 to 6 are read with the same rules plus their
 * legacy attributes (`broadcast`/`axis` of binary ops, Concat's default axis 1;
 * `consumed_inputs` and `is_test` are ignored).
 */
export const MIN_OPSET = 1;
export const MAX_OPSET = 18;

export interface ImportOptions {
  /** The IR graph's name (default: the ONNX graph's name, else 'main'). */
  name?: string;
  /**
   * Graph inputs read as constants with these values (specializes the graph; use it for
   * inputs that decide shapes, which graphc needs at import time: a Reshape's shape input,
   * Slice bounds, a Range's limits…). An import that needs one fails with an
   * OnnxImportError whose `needsConstant` names it.
   */
  constants?: Record<string, TensorData>;
  /** What the import may spend (nodes, folding work, constant bytes); see ImportBudget for the defaults. Past it: GC0520. */
  budget?: Partial<ImportBudget>;
  /** Filled with the ONNX names of what the import made (graphc optimize keeps them on export). */
  record?: ImportRecord;
}

/**
 * The ONNX names behind an imported graph: what `graphc optimize` (src/cli/optimize_model.ts)
 * hands back to the exporter so that the values and nodes that survive keep their names.
 */
export interface ImportRecord {
  /** The ONNX name of each IR value an ONNX value (node output or initializer) became: the first bound to it. */
  readonly values: Map<Value, string>;
  /** The ONNX node (name, doc_string) whose output each IR node computes. */
  readonly nodes: Map<Node, { readonly name: string; readonly doc: string }>;
}

function importError(message: string, help?: string, notes?: string[]): GcError {
  return new OnnxImportError({ code: Codes.onnxImport, message: `onnx import: ${message}`, help, notes });
}

/**
 * Reads an ONNX model (ModelProto bytes) into an IR Graph, evaluating nodes on constants with
 * `evaluate` (the public `fromOnnx` in src/onnx_import.ts hands in the runtime's).
 */
export function importOnnx(bytes: Uint8Array, evaluate: ConstEvaluator, opts: ImportOptions = {}): Graph {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw importError(`the bytes are not an ONNX ModelProto (${(e as Error).message})`);
  }
  return importOnnxModel(model, evaluate, opts);
}

/**
 * The default-domain opset a model imports. A model of other domains only (the training
 * ops) reads any default-domain node at MAX_OPSET.
 */
export function defaultOpset(model: onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) {
    if ((model.opsetImport ?? []).some((o) => o.domain === TRAINING_DOMAIN)) return MAX_OPSET;
    throw importError('the model imports no opset of the default ONNX domain');
  }
  return int64ToNumber(entry.version as number | LongLike);
}

/** Reads a decoded ModelProto into an IR Graph (see importOnnx). */
export function importOnnxModel(model: onnx.IModelProto, evaluate: ConstEvaluator, opts: ImportOptions = {}): Graph {
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw importError(`the model uses opset ${opset}; graphc reads opsets 7 to ${MAX_OPSET} (and older ones without changed semantics)`,
      'convert the model with onnx.version_converter');
  }
  const gp = model.graph;
  if (!gp) throw importError('the model has no graph');
  checkModel(model, opset);
  try {
    return new Importer(gp, opset, evaluate, opts).run();
  } catch (e) {
    if (e instanceof GcError) throw e;
    // A bug of graphc's, not of the model: still a GcError (the caller's process lives), saying so.
    const err = e instanceof Error ? e : new Error(String(e));
    throw new OnnxImportError({ code: Codes.onnxImport, message: `onnx import: ${INTERNAL_ERROR} (${err.name}: ${err.message.split('\n')[0]})`,
      notes: (err.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()), help: 'please report it with the model' });
  }
}

/**
 * The names subgraph `g` reads from the graphs around it (its nested subgraphs' included), in
 * order of first use: read or yielded, and not its input, initializer or node output.
 */
function outerNamesOf(g: onnx.IGraphProto): string[] {
  const defined = new Set<string>([...(g.input ?? []).map((i) => i.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? '')]);
  const out = new Set<string>();
  const read = (x: string) => { if (x !== '' && !defined.has(x)) out.add(x); };
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) read(i);
    for (const a of n.attribute ?? []) for (const sg of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) for (const x of outerNamesOf(sg)) read(x);
    for (const o of n.output ?? []) if (o !== '') defined.add(o);
  }
  for (const o of g.output ?? []) read(o.name ?? '');
  return [...out];
}

/** The words of an import failure that is graphc's bug (the fuzzer counts these as findings). */
export const INTERNAL_ERROR = 'internal error of the importer';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOC = /^(.+):(\d+):(\d+)$/;

/** A node's doc_string read as a source location when it is one (`file:line:col`, as graphc exports it). */
function locFromDoc(doc: string | null | undefined): SourceLoc | undefined {
  const m = doc ? LOC.exec(doc) : null;
  return m ? { file: m[1]!, line: Number(m[2]), col: Number(m[3]) } : undefined;
}

/**
 * Control-flow regions nested deeper than this fail with GC0510 (a model's subgraphs may nest
 * up to check.ts's MAX_SUBGRAPH_DEPTH; every later walk over regions recurses once per level).
 */
export const MAX_REGION_DEPTH = 64;

class Importer implements RegionImporter {
  private readonly g: Graph;
  /** The builder of the graph being built: the main graph's, or a region's while one is imported. */
  private b: Builder;
  private regionDepth = 0;
  private readonly env = new Map<string, Value>();
  private readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly dimSymbols = new Map<string, string>();
  /** ONNX element types the model states (inputs, outputs, value_info, initializers, Constant and Cast results). */
  private readonly onnxTypes = new Map<string, number>();
  /** The ONNX node computing each value name (for error notes). */
  private readonly producers = new Map<string, onnx.INodeProto>();
  private readonly usedSymbols = new Set<string>();
  private anon = 0;

  private readonly constants: Record<string, TensorData>;
  private readonly record: ImportRecord | undefined;
  private bind: (name: string, v: Value) => void = (name, v) => { this.env.set(name, v); };
  /** Per subgraph being imported (innermost last): the names it bound, with what they meant before. */
  private readonly scopes: [string, Value | undefined][][] = [];

  constructor(private readonly gp: onnx.IGraphProto, private readonly opset: number, evaluate: ConstEvaluator, opts: ImportOptions) {
    this.g = new Graph(opts.name ?? (gp.name || 'main'));
    this.b = new Builder(this.g, evaluate, opts.budget);
    this.constants = opts.constants ?? {};
    this.record = opts.record;
    const inputs = new Set((gp.input ?? []).map((vi) => vi.name ?? ''));
    for (const name of Object.keys(this.constants)) {
      if (!inputs.has(name)) throw importError(`options.constants names '${name}', which is not a graph input`);
    }
  }

  run(): Graph {
    // How many nodes and outputs read each ONNX value: a shared value's op is never moved.
    const readers = new Map<string, number>();
    const read = (n: string) => { if (n !== '') readers.set(n, (readers.get(n) ?? 0) + 1); };
    for (const n of this.gp.node ?? []) for (const i of n.input ?? []) read(i);
    for (const o of this.gp.output ?? []) read(o.name ?? '');
    // A set: an unrolled loop binds the same names again each iteration (a list grew quadratically).
    const namesOf = new Map<Value, Set<string>>();
    this.bind = (name, v) => {
      this.scopes.at(-1)?.push([name, this.env.get(name)]);
      this.env.set(name, v);
      namesOf.set(v, (namesOf.get(v) ?? new Set<string>()).add(name));
    };
    this.b.shared = (v) => [...(namesOf.get(v) ?? [])].reduce((s, n) => s + (readers.get(n) ?? 0), 0) > 1;

    for (const t of this.gp.initializer ?? []) this.initializers.set(t.name ?? '', t);
    for (const vi of [...(this.gp.input ?? []), ...(this.gp.valueInfo ?? []), ...(this.gp.output ?? [])]) {
      const et = vi.type?.tensorType?.elemType;
      if (et) this.onnxTypes.set(vi.name ?? '', et);
    }
    for (const t of this.gp.initializer ?? []) if (t.dataType) this.onnxTypes.set(t.name ?? '', t.dataType);
    if ((this.gp.sparseInitializer?.length ?? 0) > 0) throw importError('sparse initializers are not supported');
    // Symbols of named dims first, so anonymous ones never take their names.
    for (const vi of this.gp.input ?? []) for (const d of vi.type?.tensorType?.shape?.dim ?? []) {
      if (d.dimParam) this.symbolFor(d.dimParam);
    }
    for (const vi of this.gp.input ?? []) {
      const name = vi.name ?? '';
      if (this.initializers.has(name)) continue;          // a constant with a default: read as a constant
      const type = this.valueType(vi, 'input');
      const fixed = this.constants[name];
      if (fixed) {
        if (fixed.dtype !== type.dtype || fixed.shape.length !== type.shape.length
          || type.shape.some((d, i) => typeof d === 'number' && d !== fixed.shape[i])) {
          throw importError(`options.constants['${name}'] is ${fixed.dtype}[${fixed.shape.join(',')}], the input is ${type.dtype}${shapeToString(type.shape)}`);
        }
        this.env.set(name, this.b.constant(fixed));
        continue;
      }
      this.env.set(name, this.g.addInput(name, type));
    }
    for (const n of this.gp.node ?? []) this.importNode(n);
    this.b.loc = undefined;
    for (const vi of this.gp.output ?? []) {
      const name = vi.name ?? '';
      let v = this.value(name, undefined);
      const t = vi.type?.tensorType;
      const want = t ? irDTypeOf(t.elemType ?? 0) : undefined;
      if (want !== undefined && want !== v.dtype) v = this.b.cast(v, want);
      this.g.setOutput(name, v);
    }
    dce(this.g);
    verifyGraph(this.g);
    return this.g;
  }

  private symbolFor(param: string): string {
    const known = this.dimSymbols.get(param);
    if (known) return known;
    let s = param.replace(/[^A-Za-z0-9_]/g, '_');
    if (!IDENT.test(s)) s = `_${s}`;
    if (/^_\d+$/.test(s)) s = `d${s}`;                     // keep `_N` for anonymous dims
    let unique = s;
    for (let i = 1; this.usedSymbols.has(unique); i++) unique = `${s}_${i}`;
    this.usedSymbols.add(unique);
    this.dimSymbols.set(param, unique);
    return unique;
  }

  private anonSymbol(): string {
    while (this.usedSymbols.has(`_${this.anon}`)) this.anon++;
    const s = `_${this.anon++}`;
    this.usedSymbols.add(s);
    return s;
  }

  private valueType(vi: onnx.IValueInfoProto, what: string) {
    const tt = vi.type?.tensorType;
    if (!tt) {
      const kind = vi.type ? Object.keys(vi.type).find((k) => k.endsWith('Type') && (vi.type as Record<string, unknown>)[k]) : undefined;
      throw importError(`${what} '${vi.name}' is a ${kind ?? 'value without a type'}, not a tensor`, 'graphc reads tensor inputs only');
    }
    const dtype = irDTypeOf(tt.elemType ?? 0);
    if (dtype === undefined) throw importError(`${what} '${vi.name}' has element type ${onnxTypeName(tt.elemType ?? 0)}, which graphc does not read`);
    if (!tt.shape) throw importError(`${what} '${vi.name}' has no shape (unknown rank)`, 'give the input a shape; dims may be symbolic');
    const shape: Dim[] = (tt.shape.dim ?? []).map((d) => {
      if (d.dimParam) return sym(this.symbolFor(d.dimParam));
      if (Object.prototype.hasOwnProperty.call(d, 'dimValue') && d.dimValue !== null) return int64ToNumber(d.dimValue as number | LongLike);
      return sym(this.anonSymbol());
    });
    return { dtype, shape };
  }

  private value(name: string, node: onnx.INodeProto | undefined): Value {
    const v = this.env.get(name);
    if (v) return v;
    const init = this.initializers.get(name);
    if (init) {
      let t;
      try {
        t = tensorFromProto(init);
      } catch (e) {
        throw importError(`initializer '${name}': ${(e as Error).message}`);
      }
      const loc = this.b.loc;
      this.b.loc = undefined;                              // an initializer has no source line
      const c = this.b.constant(t);
      this.b.loc = loc;
      // Made in a region: visible there only (the region's builder made it).
      if (this.regionDepth > 0) this.bind(name, c); else this.env.set(name, c);
      if (this.record !== undefined && !this.record.values.has(c)) this.record.values.set(c, name);
      return c;
    }
    if (node) throw new RuleError(`operand '${name}' is not defined before this node`);
    throw importError(`graph output '${name}' is not computed by any node`);
  }

  private importNode(n: onnx.INodeProto): void {
    const domain = n.domain ?? '';
    for (const o of n.output ?? []) if (o !== '') this.producers.set(o, n);
    this.b.loc = locFromDoc(n.docString);
    const ctx = new NodeCtx(n, this.opset, this.b, (name) => this.value(name, n), (name) => this.onnxTypes.get(name),
      (g, inputs) => this.runSubgraph(g, inputs), this);
    try {
      if (domain !== '' && domain !== 'ai.onnx' && domain !== TRAINING_DOMAIN) {
        throw new RuleError(`the domain '${domain}' is not supported (graphc reads the default ONNX domain and ${TRAINING_DOMAIN})`);
      }
      const rule = ruleFor(domain, n.opType ?? '');
      if (rule === undefined) throw new RuleError(`no import rule for ONNX op '${n.opType}'`);
      if ('unsupported' in rule) throw new RuleError(rule.unsupported);
      const r = rule(ctx);
      this.noteTypes(n);
      const outs = Array.isArray(r) ? r : [r];
      (n.output ?? []).forEach((name, i) => {
        if (name === '') return;
        const v = outs[i];
        if (v === undefined) throw new RuleError(`output ${i} ('${name}') is not produced by graphc's rule`);
        this.bind(name, v);
        const rec = this.record;
        if (rec !== undefined) {
          if (!rec.values.has(v)) rec.values.set(v, name);
          if (v.producer && !rec.nodes.has(v.producer)) rec.nodes.set(v.producer, { name: n.name ?? '', doc: n.docString ?? '' });
        }
      });
    } catch (e) {
      if (e instanceof NeedsConstant) {
        const from = this.inputsUpstream(e.valueName);
        const notes = [...this.operandNotes(n), ...(from.length ? [`'${e.valueName}' is computed from the graph input(s) ${from.map((x) => `'${x}'`).join(', ')}`] : [])];
        throw new OnnxImportError({ code: Codes.onnxImport, message: `${describeNode(n)}: ${e.message}`, help: e.help, notes }, e.valueName, from);
      }
      if (e instanceof RuleError) throw ctx.error(e.message, e.help, this.operandNotes(n));
      if (e instanceof OnnxImportError) {
        // From a node of a subgraph: keep what it needs at import time.
        throw new OnnxImportError({ code: e.code, message: `${describeNode(n)}: in its subgraph: ${e.summary}`, help: e.help,
          notes: e.message.split('\n').slice(1).filter((l) => !/^\s*help: /.test(l)).map((l) => l.replace(/^\s*(note|help|node): /, '')) }, e.needsConstant, e.needsInputs);
      }
      if (e instanceof GcError) {
        throw new OnnxImportError({ code: e.code, message: `${describeNode(n)}: ${e.summary}`, help: e.help,
          notes: [...this.operandNotes(n), ...e.message.split('\n').slice(1).filter((l) => !/^\s*help: /.test(l)).map((l) => l.replace(/^\s*(note|help|node): /, ''))] });
      }
      // A JavaScript engine error (TypeError, RangeError…) inside a rule is graphc's bug: said so.
      const jsError = e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError;
      const msg = e instanceof Error ? e.message : String(e);
      throw ctx.error(jsError ? `${INTERNAL_ERROR} (${(e as Error).name}: ${msg})` : msg, jsError ? 'please report it with the model' : undefined, this.operandNotes(n));
    }
  }

  private dyn = 0;
  /** Work known at import of the regions being built (innermost last) and of those built (regions.ts' workOf). */
  private readonly work: number[] = [];
  private readonly works = new WeakMap<Graph, number>();

  dynamicDim(): Dim {
    return dynamicDim(`onnx${this.dyn++}`);
  }

  captures(gs: readonly onnx.IGraphProto[]): { names: string[]; values: Value[] } {
    const names: string[] = [], values: Value[] = [];
    const seen = new Set<string>();
    for (const g of gs) {
      for (const name of outerNamesOf(g)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const v = this.env.get(name);
        // Not in scope: an initializer of the main graph, made as a constant in the region that reads it.
        // A constant: made again in the region (body()), where rules can read it at import time.
        if (v === undefined || v.producer?.op === 'const') continue;
        names.push(name);
        values.push(v);
      }
    }
    return { names, values };
  }

  region(role: string, args: readonly TensorType[], caps: readonly Value[], build: (b: Builder, args: Value[]) => Value[]): Graph {
    if (this.regionDepth >= MAX_REGION_DEPTH) {
      throw new RuleError(`control flow is nested more than ${MAX_REGION_DEPTH} deep`, 'graphc imports If / Loop / Scan as regions nested at most that deep');
    }
    const r = new Graph(role);
    const blockArgs = [...args.map((t, i) => r.addInput(`a${i}`, t)), ...caps.map((v, k) => r.addInput(`c${k}`, v.type))];
    const outer = this.b;
    this.b = outer.forRegion(r);
    this.regionDepth++;
    this.work.push(0);
    let nested = 0;
    try {
      setRegionOutputs(r, build(this.b, blockArgs));
    } finally {
      nested = this.work.pop()!;
      this.regionDepth--;
      this.b = outer;
    }
    this.works.set(r, r.nodes.length + nested);
    return r;
  }

  workOf(r: Graph): number {
    return this.works.get(r) ?? r.nodes.length;
  }

  addWork(n: number): void {
    if (this.work.length > 0) this.work[this.work.length - 1]! += n;
  }

  body(g: onnx.IGraphProto, inputs: readonly Value[], capNames: readonly string[], capArgs: readonly Value[]): Value[] {
    this.b.meter.charge('nodes', 1 + (g.node?.length ?? 0), 'importing a subgraph as a region');
    const undo: [string, Value | undefined][] = [];
    this.scopes.push(undo);
    try {
      capNames.forEach((name, k) => this.bind(name, capArgs[k]!));
      for (const name of outerNamesOf(g)) {
        const v = this.env.get(name);
        if (v?.producer?.op === 'const' && !capNames.includes(name)) this.bind(name, this.b.constant(v.producer.attrs.value as TensorData));
      }
      return this.runSubgraph(g, [...inputs]);
    } finally {
      this.scopes.pop();
      for (const [k, v] of undo.reverse()) if (v === undefined) this.env.delete(k); else this.env.set(k, v);
    }
  }

  /** Imports a subgraph (If branch, Loop or Scan body) inline; outer names stay visible, its own are dropped after. */
  private runSubgraph(g: onnx.IGraphProto, inputs: Value[]): Value[] {
    // The names it binds are undone after (not a copy of the whole scope: a loop unrolls its body once per iteration).
    const undo: [string, Value | undefined][] = [];
    this.scopes.push(undo);
    const loc = this.b.loc;
    try {
      (g.input ?? []).forEach((vi, i) => { if (i < inputs.length) this.bind(vi.name ?? '', inputs[i]!); });
      for (const t of g.initializer ?? []) {
        let data;
        try { data = tensorFromProto(t); } catch (e) { throw new RuleError(`subgraph initializer '${t.name}': ${(e as Error).message}`); }
        this.bind(t.name ?? '', this.b.constant(data));
      }
      for (const n of g.node ?? []) this.importNode(n);
      return (g.output ?? []).map((vi) => {
        const v = this.env.get(vi.name ?? '') ?? (this.initializers.has(vi.name ?? '') ? this.value(vi.name ?? '', undefined) : undefined);
        if (!v) throw new RuleError(`subgraph output '${vi.name}' is not computed`);
        return v;
      });
    } finally {
      this.scopes.pop();
      for (const [k, v] of undo.reverse()) if (v === undefined) this.env.delete(k); else this.env.set(k, v);
      this.b.loc = loc;
    }
  }

  /** Records the element types that Constant and Cast nodes state for their results. */
  private noteTypes(n: onnx.INodeProto): void {
    const out = n.output?.[0];
    if (!out || this.onnxTypes.has(out)) return;
    const a = (name: string) => n.attribute?.find((x) => x.name === name);
    let t: number | undefined;
    if (n.opType === 'Cast') t = int64ToNumber(a('to')?.i as number | LongLike);
    else if (n.opType === 'Constant') {
      t = a('value')?.t?.dataType ?? (a('value_float') || a('value_floats') ? 1 : a('value_int') || a('value_ints') ? 7 : undefined);
    }
    if (t) this.onnxTypes.set(out, t);
  }

  /** The graph inputs (not initializers) that the ONNX value `name` is computed from. */
  private inputsUpstream(name: string): string[] {
    const found = new Set<string>();
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v) || v === '') continue;
      seen.add(v);
      const producer = this.producers.get(v);
      if (producer) stack.push(...(producer.input ?? []));
      else if (this.g.inputs.includes(this.env.get(v)!)) found.add(v);   // a graph input (not a region's block argument)
    }
    return [...found].sort();
  }

  private operandNotes(n: onnx.INodeProto): string[] {
    return (n.input ?? []).filter((x) => x !== '').map((name) => {
      const v = this.env.get(name);
      return v ? `operand '${name}': ${v.dtype}${shapeToString(v.shape)}` : `operand '${name}'`;
    });
  }
}
