/**
 * The graphc commands: export, inspect, optimize, run. Results go to stdout (`io.out`, or one
 * JSON document under --json), the status of long steps to stderr (`io.status`, progress.ts).
 */
// First: tfjs's gradients and chained ops, registered before any user module loads (a module
// that uses graphc only in types does not load graphc itself), and the quiet cpu backend.
import '../tfjs_setup.js';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { onnx } from '../../exporters/onnx/proto.js';
import type { Graph } from '../../ir/graph.js';
import { typeToString } from '../../ir/graph.js';
import { printGraph } from '../../ir/printer.js';
import { formatReport } from '../../ir/passes/manager.js';
import { DEFAULT_OPSET, exportOnnx, initialStateModel, IR_VERSION_FOR_OPSET, toOnnx } from '../../exporters/onnx/export/export.js';
import type { OnnxExport } from '../../exporters/onnx/export/export.js';
import { writeOnnxModel } from '../../exporters/onnx/export/external_data.js';
import { convertToFloat16 } from '../../exporters/onnx/export/fp16.js';
import { loadExternalData } from '../../exporters/onnx/import/external_data.js';
import { optimizeOnnxModel } from './optimize_model.js';
import { dimToString } from '../../ir/dim.js';
import { fromOnnxModel } from '../onnx_import.js';
import type { BackendName } from '../../runtime/backends/select.js';
import { releaseAllBackends } from '../../runtime/backends/select.js';
import { Session } from '../../runtime/session.js';
import { tfDtype } from '../../runtime/tensor_data.js';
import { Codes, GcError } from '../../ir/errors.js';
import { materializeCreated } from '../compile.js';
import { optimizeInPlace } from '../optimize.js';
import type { TensorSpec } from '../trace/spec.js';
import { traceFunction } from '../trace/trace_function.js';
import { CliError, UsageError } from './cli_error.js';
import type { Status } from './progress.js';
import { checkOutput, pathInside, requireFile, uniqueFileNames, writeFileAtomic } from './files.js';
import { isGraphModelJson, loadGraphModelTarget } from './graph_model.js';
import { loadLayersModelFile, loadTsModule, readModelJson } from './load.js';
import { readNpy, writeNpy } from './npy.js';
import { parseInputFlag, parseShapeOverrides, readExports } from './signature.js';
import type { ShapeOverride } from './signature.js';

/** Where a command writes: results (stdout), status of long steps (stderr), and whether results are JSON. */
export interface Io {
  out: (line: string) => void;
  status: Status;
  json?: boolean;
}

interface Target {
  name: string;
  fn: (...xs: tf.Tensor[]) => unknown;
  specs: TensorSpec[];
  /** Already traced (a gc.compile'd export with specs). */
  graph?: Graph;
}

interface LayersLike {
  predict: (x: tf.Tensor | tf.Tensor[]) => unknown;
  /** Symbolic inputs: a Sequential's is `<first layer>_input` (its inputNames is empty). */
  inputs: Array<{ shape: (number | null)[]; dtype?: string; name?: string }>;
  inputNames?: string[];
}

function isLayersModel(v: unknown): v is LayersLike {
  return typeof v === 'object' && v !== null && typeof (v as { predict?: unknown }).predict === 'function' && Array.isArray((v as { inputs?: unknown }).inputs);
}

function isCompiled(v: unknown): v is { specs: TensorSpec[] | undefined; graph: Graph } {
  return typeof v === 'function' && 'traceCount' in v && 'specs' in v;
}

function modelTarget(name: string, model: LayersLike): Target {
  const specs = model.inputs.map((inp, i) => ({
    shape: inp.shape.map((d, k) => (d === null ? (k === 0 ? 'batch' : null) : d)),
    dtype: (inp.dtype ?? 'float32') as TensorSpec['dtype'],
    // The names Keras and tf2onnx give a model's inputs (`flatten_input` for a Sequential whose first layer is 'flatten').
    name: (model.inputNames?.[i] ?? inp.name ?? `input_${i}`).replace(/[^A-Za-z0-9_]/g, '_'),
  }));
  return { name, fn: (...xs) => model.predict(xs.length === 1 ? xs[0]! : xs), specs };
}

/** `specs` with the shapes `--input name=d0,d1` gives (rank and fixed dims checked): a UsageError naming the inputs otherwise. */
function applyShapes(specs: TensorSpec[], shapes: readonly ShapeOverride[]): TensorSpec[] {
  const out = [...specs];
  for (const s of shapes) {
    const i = out.findIndex((x) => x.name === s.name);
    if (i < 0) throw new UsageError(`--input ${s.text}: no input named '${s.name}' (inputs: ${specs.map((x) => x.name ?? '?').join(', ')})`);
    const old = out[i]!;
    checkShape(s, old.shape.map((d) => (typeof d === 'number' ? d : null)), `${old.dtype}[${old.shape.map((d) => d ?? '?').join(',')}]`);
    out[i] = { ...old, shape: [...s.shape] };
  }
  return out;
}

/** A shape override fits a declared shape: the same rank, and each fixed dim as it is. */
function checkShape(s: ShapeOverride, declared: readonly (number | null)[], text: string): void {
  const bad = s.shape.length !== declared.length || declared.some((d, k) => d !== null && d !== s.shape[k]);
  if (bad) throw new UsageError(`--input ${s.text}: '${s.name}' is ${text}; the shape given must have its rank and its fixed dims`);
}

/** What `graphc export`/`inspect`/`run` works on: a traced graph from a module or model.json. */
async function traceTarget(file: string, opts: { fn?: string; input?: string[]; shapes?: readonly ShapeOverride[]; borrow?: boolean }, io: Io): Promise<{ graph: Graph; name: string }> {
  let target: Target;
  const shapes = opts.shapes ?? [];
  if (file.endsWith('.json')) {
    // A tfjs GraphModel (tensorflowjs_converter's output) or a LayersModel (model.save).
    if (isGraphModelJson(readModelJson(file))) {
      target = await io.status.step(`loading the GraphModel ${path.basename(file)}`, () => loadGraphModelTarget(file));
    } else {
      const model = await io.status.step(`loading ${path.basename(file)}`, () => loadLayersModelFile(file));
      target = modelTarget(path.basename(file, '.json'), model as unknown as LayersLike);
    }
    target.specs = applyShapes(target.specs, shapes);
  } else if (/\.(ts|mts|js|mjs)$/.test(file)) {
    requireFile(file, 'module');
    const exported = readExports(file);
    const candidates = exported.filter((e) => e.kind === 'function' || e.kind === 'value');
    const mod = await io.status.step(`loading ${file}`, () => loadTsModule(file));
    const usable = candidates.filter((c) => typeof mod[c.name] === 'function' || isLayersModel(mod[c.name])).sort((a, b) => a.name.localeCompare(b.name));
    let pick = opts.fn !== undefined ? usable.find((c) => c.name === opts.fn) : undefined;
    if (opts.fn !== undefined && !pick) {
      throw new CliError(`${file}: no exported function or model named '${opts.fn}' (found: ${usable.map((c) => c.name).join(', ') || 'none'})`);
    }
    if (!pick) {
      if (usable.length !== 1) throw new CliError(`${file}: ${usable.length === 0 ? 'exports no function or model' : `exports several functions/models (${usable.map((c) => c.name).join(', ')})`}; choose one with --fn`);
      pick = usable[0]!;
    }
    const value = mod[pick.name];
    if (isLayersModel(value)) {
      target = modelTarget(pick.name, value);
      target.specs = applyShapes(target.specs, shapes);
    } else {
      let specs: TensorSpec[] | undefined;
      const given = opts.input !== undefined && opts.input.length > 0;
      if (given) {
        checkInputCount(file, pick, opts.input!.length);
        specs = opts.input!.map((s) => parseInputFlag(s));
      }
      else if (isCompiled(value) && value.specs) specs = [...value.specs];
      else specs = pick.specs;
      if (!specs) {
        throw new CliError(`${file}:${pick.line}: cannot tell the input signature of '${pick.name}': ${pick.why ?? 'it is not typed'}`, undefined,
          "pass --input name:dtype[dims] for each parameter, or type them gc.Input<'float32', ['batch', 784]>");
      }
      if (shapes.length > 0) specs = applyShapes(specs, shapes);
      const graph = isCompiled(value) && value.specs && !given && shapes.length === 0 ? value.graph : undefined;
      if (isCompiled(value) && !graph) {
        if (value.specs && shapes.length > 0 && !given) throw new UsageError(`--input ${shapes[0]!.text}: '${pick.name}' is a compiled function; its input shapes are those of gc.compile's inputs`);
        throw new CliError(`${file}: '${pick.name}' is a compiled function without input specs`, undefined, 'give it {inputs: [...]} in gc.compile');
      }
      target = { name: pick.name, fn: value as Target['fn'], specs, graph };
    }
  } else {
    throw new CliError(`${file}: expected a TypeScript module (.ts) or a tfjs model.json`);
  }
  if (target.graph) return { graph: target.graph, name: target.name };
  const traced = await io.status.step(`tracing ${target.name}`, () => traceFunction(target.fn, target.specs, materializeCreated, target.name.replace(/[^A-Za-z0-9_]/g, '_'), undefined, undefined, { borrow: opts.borrow }));
  return { graph: traced.graph, name: target.name };
}

/**
 * `--input` specs for a function: no more than it has parameters (fewer are allowed: a parameter
 * left out is traced as undefined, as a flag such as `training` may be).
 */
function checkInputCount(file: string, pick: { name: string; line: number; params?: { count: number; required: number; rest: boolean } }, given: number): void {
  const p = pick.params;
  if (!p) return;
  const takes = p.required === p.count ? String(p.count) : `${p.required} to ${p.count}`;
  const plural = p.count !== 1 ? 'parameters' : 'parameter';
  if (!p.rest && given > p.count) {
    throw new GcError({
      code: Codes.cliInputCount,
      message: `${file}:${pick.line}: '${pick.name}' takes ${takes} ${plural}, but ${given} --input spec${given === 1 ? ' was' : 's were'} given`,
      help: 'give one --input name:dtype[dims] for each parameter, in order',
    });
  }
}

function readOnnxFile(file: string): { bytes: Uint8Array; model: onnx.ModelProto } {
  requireFile(file, 'model');
  const bytes = new Uint8Array(readFileSync(file));
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new CliError(`${file}: not an ONNX model (${(e as Error).message})`);
  }
  if (!model.graph) throw new CliError(`${file}: not an ONNX model (no graph)`);
  return { bytes, model };
}

/** `--opset N`: one the exporter writes (checked before anything is loaded). */
export function checkOpset(opset: number | undefined): void {
  if (opset !== undefined && IR_VERSION_FOR_OPSET[opset] === undefined) {
    const known = Object.keys(IR_VERSION_FOR_OPSET).map(Number);
    throw new UsageError(`option '--opset <n>' argument '${opset}' is invalid: graphc exports opsets ${Math.min(...known)} to ${Math.max(...known)} (default ${DEFAULT_OPSET})`);
  }
}

export interface ExportOptions {
  fn?: string; output?: string; opset?: number; input?: string[]; optimize: boolean; dumpIr?: string; verify?: boolean; force?: boolean;
  check?: boolean; atol?: number; outputNames?: string; backend?: BackendName; externalData?: boolean; fp16?: boolean;
}

/** `--output-names a,b`: names, each once (the count is checked against the graph after tracing). */
function parseOutputNames(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`option '--output-names <names>' argument '${text}' is invalid: an empty name`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`option '--output-names <names>' argument '${text}' is invalid: '${dup}' is given twice`);
  return names;
}

export async function exportCommand(file: string, opts: ExportOptions, io: Io): Promise<void> {
  const log = io.out;
  // Flags first: nothing is loaded or traced for a command line that cannot work.
  checkOpset(opts.opset);
  if (opts.atol !== undefined && !opts.check) throw new UsageError("option '--atol <x>' needs --check");
  if (opts.backend !== undefined && !opts.check) throw new UsageError("option '--backend <name>' needs --check (export runs nothing otherwise)");
  const outputNames = parseOutputNames(opts.outputNames);
  // Refused before the (slow) trace when -o names the input or a source file.
  if (opts.output !== undefined) checkOutput(opts.output, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  if (opts.check) await import('./check.js').then((m) => m.loadOrt());
  // The weights are not copied at trace time: export owns the graph from the trace to the file and writes no array in place.
  const { graph, name } = await traceTarget(file, { ...opts, borrow: true }, io);
  if (outputNames !== undefined) {
    if (outputNames.length !== graph.outputs.length) {
      throw new UsageError(`option '--output-names <names>': ${outputNames.length} name${outputNames.length === 1 ? '' : 's'} given, but '${name}' has ${graph.outputs.length} output${graph.outputs.length === 1 ? '' : 's'} (${graph.outputs.map((o) => o.name).join(', ')})`);
    }
    const clash = outputNames.find((n) => graph.inputs.some((v) => v.name === n));
    if (clash !== undefined) throw new UsageError(`option '--output-names <names>': '${clash}' is the name of an input`);
  }
  // --check compares against the graph as traced (before the passes: they are checked too).
  const reference = opts.check ? graph.clone() : undefined;
  const referenceNames = graph.outputs.map((o) => o.name);
  if (outputNames !== undefined) graph.outputs.forEach((o, i) => { o.name = outputNames[i]!; });
  const dumpIr = (dir: string, fileName: string, text: string) => {
    const p = path.join(dir, fileName);
    checkOutput(p, { inputs: [file], ext: '.ir', force: opts.force, flag: '--dump-ir' });
    writeFileAtomic(p, text);
  };
  if (opts.dumpIr) {
    mkdirSync(opts.dumpIr, { recursive: true });
    dumpIr(opts.dumpIr, '00-traced.ir', printGraph(graph));
  }
  if (opts.optimize) {
    let k = 1;
    const dir = opts.dumpIr;
    const report = await io.status.step('optimizing', (tick) => optimizeInPlace(graph, { freeze: true, verify: opts.verify }, {
      onPass: (pass, g, { changed }) => {
        tick(k, 0, pass);
        if (changed && dir !== undefined) dumpIr(dir, `${String(k).padStart(2, '0')}-${pass}.ir`, printGraph(g));
        if (changed) k++;
      },
    }));
    log(`passes: ${formatReport(report)}`);
  }
  const ex = await io.status.step('exporting ONNX', () => exportOnnx(graph, { opset: opts.opset }));
  const out = opts.output ?? `${name}.onnx`;
  checkOutput(out, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  if (opts.check && ex.state.length > 0) throw new CliError(`--check: '${name}' is a training step (it assigns ${ex.state.length} variables); --check compares functions without state`);
  // A training step: its state's starting values go beside it, as a model with no inputs (`<out>.init.onnx`).
  const initOut = ex.state.length > 0 ? `${out.replace(/\.onnx$/i, '')}.init.onnx` : undefined;
  if (initOut !== undefined) checkOutput(initOut, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  // Over protobuf's 2 GiB (or with --external-data) the weights go to <out>.data beside it.
  // --fp16: weights and compute in float16, graph inputs and outputs kept float32 (Casts at the edges).
  const fp16 = opts.fp16 ? await io.status.step('converting to float16', () => convertToFloat16(onnx.ModelProto.decode(ex.bytes), { keepIoTypes: true })) : undefined;
  const written = await io.status.step(`writing ${out}`, () => writeModel(out, fp16 ?? ex, opts.externalData === true));
  const extra = written.files.slice(1);
  const stateIn = new Set(ex.state.map((s) => s.input));
  const stateOut = new Set(ex.state.flatMap((s) => (s.output !== undefined ? [s.output] : [])));
  log(`wrote ${out}: ${ex.graph.inputs.filter((v) => !stateIn.has(v.name)).map((v) => `${v.name}: ${typeToString(v)}`).join(', ')} → ${ex.graph.outputs.filter((o) => !stateOut.has(o.name)).map((o) => `${o.name}: ${typeToString(o)}`).join(', ')} (opset ${opts.opset ?? DEFAULT_OPSET}${fp16 ? ', float16' : ''}, ${written.bytes} bytes${extra.length > 0 ? `; weights in ${extra.join(', ')}` : ''})`);
  if (initOut !== undefined) {
    writeFileAtomic(initOut, initialStateModel(graph, ex.state, { opset: opts.opset }));
    const assigned = ex.state.filter((s) => s.output !== undefined);
    log(`  state: ${ex.state.length} inputs (${assigned.length} with a new value as output '<input>.new'; metadata 'graphc.state' lists them): ${ex.state.slice(0, 6).map((s) => s.input).join(', ')}${ex.state.length > 6 ? ', …' : ''}`);
    log(`wrote ${initOut}: no inputs → the starting value of each state input (run it once, feed its outputs to the first step, then each step's '.new' outputs to the next)`);
  }
  if (opts.check && reference) {
    const atol = opts.atol ?? (fp16 ? DEFAULT_ATOL_FP16 : DEFAULT_ATOL);
    const { checkExport, CHECK_SIZES } = await import('./check.js');
    const r = await io.status.step(`checking ${out} in onnxruntime-node`, () => checkExport({ file: out, model: fp16 ?? modelOf(ex), graph: reference, reference: referenceNames, backend: opts.backend ?? 'auto' }));
    log(`check: onnxruntime-node ${r.ortVersion} against graphc (backend ${r.backend}), random inputs, symbolic dims at ${CHECK_SIZES.join(' and ')}:`);
    for (const run of r.runs) {
      const at = Object.entries(run.dims).map(([d, v]) => `${d}=${v}`).join(', ') || 'fixed dims';
      for (const o of run.outputs) log(`  ${at}  ${o.name}: ${o.dtype}[${o.shape.join(',')}]  max |Δ| ${o.maxAbsDiff.toExponential(2)}`);
    }
    if (!(r.maxAbsDiff <= atol)) {
      throw new CliError(`--check failed: max |Δ| ${r.maxAbsDiff.toExponential(2)} is over --atol ${atol} (the file is written: ${out})`, undefined,
        'rerun with --no-optimize to tell an optimizer difference from an export one, and report it with the model');
    }
    log(`check passed: max |Δ| ${r.maxAbsDiff.toExponential(2)} ≤ atol ${atol}`);
  }
}

/** --check's default tolerance on max |Δ|. */
export const DEFAULT_ATOL = 1e-4;
/**
 * With --fp16 (against graphc in float32): float16 keeps 11 significant bits, a relative error of
 * 2^-11 ≈ 4.9e-4 per rounding, and a layer adds up many; 1e-2 holds for outputs of magnitude ~1
 * (probabilities, normalised activations). Larger outputs need --atol.
 */
export const DEFAULT_ATOL_FP16 = 1e-2;

/** The export's ModelProto: `ex.model` where the exporter gives it (no bytes encoded), else its bytes decoded. */
function modelOf(ex: OnnxExport): onnx.IModelProto {
  return (ex as { model?: onnx.IModelProto }).model ?? onnx.ModelProto.decode(ex.bytes);
}

/**
 * Writes the exported model to `out`: one file, or with its weights in `<out>.data` when it would
 * pass protobuf's 2 GiB or `externalData` (writeOnnxModel). A device or FIFO (-o /dev/stdout) is
 * written in place, as one file.
 */
function writeModel(out: string, ex: OnnxExport | onnx.ModelProto, externalData: boolean): { files: string[]; bytes: number } {
  let special = false;
  try {
    const st = statSync(out);
    special = !st.isFile() && !st.isDirectory();
  } catch {
    // not there yet
  }
  if (special && !externalData) {
    const bytes = ex instanceof onnx.ModelProto ? onnx.ModelProto.encode(ex).finish() : ex.bytes;
    writeFileAtomic(out, bytes);
    return { files: [out], bytes: bytes.length };
  }
  return writeOnnxModel(ex instanceof onnx.ModelProto ? ex : modelOf(ex), out, { externalData: externalData ? true : 'auto' });
}

function megabytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} bytes`;
}

function dimsOf(t: onnx.ITypeProto | null | undefined): string {
  const tt = t?.tensorType;
  if (!tt) return '?';
  const elem = onnx.TensorProto.DataType[tt.elemType ?? 0] ?? String(tt.elemType);
  const dims = tt.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? String(d.dimValue) : '?')) ?? [];
  return `${elem.toLowerCase()}[${dims.join(',')}]`;
}

const ELEM_DTYPE: Record<string, string> = { FLOAT: 'float32', FLOAT16: 'float16', DOUBLE: 'float64', BFLOAT16: 'bfloat16' };

/** A value's type as JSON: dtype (float32, int64, …) and shape (numbers, dim names, null where unknown). */
function onnxTypeJson(t: onnx.ITypeProto | null | undefined): { dtype: string; shape: (number | string | null)[] | null } {
  const tt = t?.tensorType;
  if (!tt) return { dtype: '?', shape: null };
  const name = onnx.TensorProto.DataType[tt.elemType ?? 0] ?? String(tt.elemType);
  return {
    dtype: ELEM_DTYPE[name] ?? name.toLowerCase(),
    shape: tt.shape ? (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(String(d.dimValue)) : null)) : null,
  };
}

/**
 * `--input name=d0,d1` on an .onnx file: each dim_param of that input fixed to the size given,
 * wherever it appears (inputs, outputs, value_info), in place.
 */
function fixDimParams(file: string, model: onnx.ModelProto, shapes: readonly ShapeOverride[]): void {
  if (shapes.length === 0) return;
  const g = model.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name));
  const fixed = new Map<string, number>();
  for (const s of shapes) {
    const inp = inputs.find((i) => i.name === s.name);
    if (!inp) throw new UsageError(`--input ${s.text}: ${file} has no input named '${s.name}' (inputs: ${inputs.map((i) => i.name).join(', ')})`);
    const dims = inp.type?.tensorType?.shape?.dim ?? [];
    checkShape(s, dims.map((d) => (!d.dimParam && d.dimValue != null ? Number(String(d.dimValue)) : null)), dimsOf(inp.type));
    dims.forEach((d, k) => {
      if (!d.dimParam) return;
      const was = fixed.get(d.dimParam);
      if (was !== undefined && was !== s.shape[k]) throw new UsageError(`--input ${s.text}: dim '${d.dimParam}' is ${was} by another --input`);
      fixed.set(d.dimParam, s.shape[k]!);
    });
  }
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    for (const d of v.type?.tensorType?.shape?.dim ?? []) {
      const n = d.dimParam ? fixed.get(d.dimParam) : undefined;
      if (n !== undefined) { d.dimValue = n; d.dimParam = ''; }
    }
  }
}

export interface InspectOptions { input?: string[]; fn?: string; dot?: boolean }

export async function inspectCommand(file: string, opts: InspectOptions, io: Io): Promise<void> {
  const log = io.out;
  const shapes = parseShapeOverrides(opts.input);
  if (opts.dot && io.json) throw new UsageError('options --dot and --json cannot be used together (choose one output format)');
  if (file.endsWith('.onnx')) {
    if (opts.fn !== undefined) throw new UsageError('option --fn is for a module; an .onnx file has one graph');
    const { model } = readOnnxFile(file);
    fixDimParams(file, model, shapes);
    if (opts.dot) { log((await dotOf(model)).trimEnd()); return; }
    const g = model.graph!;
    const inits = new Set((g.initializer ?? []).map((t) => t.name));
    const hist = new Map<string, number>();
    for (const n of g.node ?? []) hist.set(n.opType ?? '?', (hist.get(n.opType ?? '?') ?? 0) + 1);
    let params = 0, bytes = 0;
    for (const t of g.initializer ?? []) {
      const n = (t.dims ?? []).reduce((a: number, b) => a * Number(b), 1);
      params += n;
      bytes += t.rawData?.length || n * 4;
    }
    const ops = [...hist].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (io.json) {
      log(JSON.stringify({
        file, format: 'onnx', irVersion: Number(String(model.irVersion)),
        opsets: Object.fromEntries((model.opsetImport ?? []).map((o) => [o.domain || 'ai.onnx', Number(String(o.version))])),
        producer: { name: model.producerName || null, version: model.producerVersion || null }, graph: g.name || null,
        inputs: (g.input ?? []).filter((i) => !inits.has(i.name)).map((i) => ({ name: i.name, ...onnxTypeJson(i.type) })),
        outputs: (g.output ?? []).map((o) => ({ name: o.name, ...onnxTypeJson(o.type) })),
        nodes: (g.node ?? []).length, ops: Object.fromEntries(ops),
        parameters: { count: params, tensors: (g.initializer ?? []).length, bytes },
      }, null, 2));
      return;
    }
    log(`${file}: ONNX IR version ${model.irVersion}, opset ${(model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}, producer ${model.producerName || '?'} ${model.producerVersion || ''}`.trim());
    log('inputs:');
    for (const i of g.input ?? []) if (!inits.has(i.name)) log(`  ${i.name}: ${dimsOf(i.type)}`);
    log('outputs:');
    for (const o of g.output ?? []) log(`  ${o.name}: ${dimsOf(o.type)}`);
    log(`ops (${(g.node ?? []).length} nodes):`);
    for (const [op, n] of ops) log(`  ${op.padEnd(24)} ${n}`);
    log(`parameters: ${params} in ${(g.initializer ?? []).length} initializers, ${bytes} bytes`);
    return;
  }
  const { graph } = await traceTarget(file, { fn: opts.fn, shapes }, io);
  if (opts.dot) {
    log((await dotOf(await exportedModel(graph.clone(), true, io))).trimEnd());
    return;
  }
  const hist = new Map<string, number>();
  for (const n of graph.nodes) hist.set(n.op, (hist.get(n.op) ?? 0) + 1);
  const ops = [...hist].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const params = graph.states.reduce((a, s) => a + s.init.data.length, 0);
  const bytes = graph.states.reduce((a, s) => a + s.init.data.byteLength, 0);
  if (io.json) {
    const typeJson = (t: { dtype: string; shape: readonly (number | object)[] }) => ({ dtype: t.dtype, shape: t.shape.map((d) => (typeof d === 'number' ? d : dimToString(d as never))) });
    log(JSON.stringify({
      file, format: 'graphc', graph: graph.name,
      inputs: graph.inputs.map((v) => ({ name: v.name ?? null, ...typeJson(v.type) })),
      outputs: graph.outputs.map((o) => ({ name: o.name, ...typeJson(o.value.type) })),
      nodes: graph.nodes.length, ops: Object.fromEntries(ops),
      parameters: { count: params, tensors: graph.states.length, bytes },
    }, null, 2));
    return;
  }
  log(`${file}: graph @${graph.name}`);
  log('inputs:');
  for (const v of graph.inputs) log(`  ${v.name}: ${typeToString(v.type)}`);
  log('outputs:');
  for (const o of graph.outputs) log(`  ${o.name}: ${typeToString(o.value.type)}`);
  log(`ops (${graph.nodes.length} nodes):`);
  for (const [op, n] of ops) log(`  ${op.padEnd(24)} ${n}`);
  log(`parameters: ${params} in ${graph.states.length} variables, ${bytes} bytes`);
}

/** Graphviz DOT text of a model (src/cli/view.ts). */
async function dotOf(model: onnx.ModelProto): Promise<string> {
  return (await import('./view.js')).toDot(model);
}

/** The ONNX model `graphc export` writes for a traced graph (optimized unless --no-optimize), decoded. */
async function exportedModel(graph: Graph, optimize: boolean, io: Io): Promise<onnx.ModelProto> {
  if (optimize) await io.status.step('optimizing', () => optimizeInPlace(graph, { freeze: true }));
  const ex = await io.status.step('exporting ONNX', () => exportOnnx(graph, {}));
  return onnx.ModelProto.decode(ex.bytes);
}

export interface ViewOptions { output?: string; fn?: string; input?: string[]; force?: boolean; optimize: boolean; title?: string }

/** `graphc view`: the model as one self-contained HTML page (src/cli/view.ts's renderGraphHtml). */
export async function viewCommand(file: string, opts: ViewOptions, io: Io): Promise<void> {
  const stem = path.basename(file).replace(/\.(onnx|json|[cm]?[tj]s)$/i, '');
  const out = opts.output ?? `${stem === 'model' && file.endsWith('.json') ? path.basename(path.dirname(path.resolve(file))) : stem}.html`;
  checkOutput(out, { inputs: [file], ext: '.html', force: opts.force, flag: '-o' });
  let model: onnx.ModelProto;
  if (file.endsWith('.onnx')) {
    if (opts.fn !== undefined || opts.input !== undefined) throw new UsageError('options --fn and --input are for a module or model.json; an .onnx file is drawn as it is');
    model = readOnnxFile(file).model;
  } else {
    const { graph } = await traceTarget(file, { fn: opts.fn, input: opts.input }, io);
    model = await exportedModel(graph, opts.optimize, io);
  }
  const { renderGraphHtml } = await import('./view.js');
  const html = await io.status.step('drawing the page', () => renderGraphHtml(model, { title: opts.title ?? path.basename(file) }));
  checkOutput(out, { inputs: [file], ext: '.html', force: opts.force, flag: '-o' });
  await io.status.step(`writing ${out}`, () => writeFileAtomic(out, html));
  const g = model.graph!;
  io.out(`wrote ${out}: ${(g.node ?? []).length} nodes, ${(g.initializer ?? []).length} initializers (${Buffer.byteLength(html)} bytes; open it in a browser, it needs no network)`);
}

export async function optimizeCommand(file: string, opts: { output: string; verify?: boolean; force?: boolean; opset?: number; externalData?: boolean }, io: Io): Promise<void> {
  const log = io.out;
  checkOpset(opts.opset);
  checkOutput(opts.output, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  const { model } = readOnnxFile(file);
  // Weights in a data file beside the model are read in (checked: inside the model's folder).
  loadExternalData(model, file);
  // The model's opset, metadata, doc strings and names are kept (src/cli/optimize_model.ts).
  const r = await io.status.step('optimizing', (tick) => {
    let k = 0;
    return optimizeOnnxModel(model, { opset: opts.opset, verify: opts.verify, onPass: (pass) => tick(++k, 0, pass) });
  });
  for (const line of r.report) log(line);
  const written = await io.status.step(`writing ${opts.output}`, () => writeModel(opts.output, r.model, opts.externalData === true));
  log(`wrote ${opts.output} (${written.bytes} bytes${written.files.length > 1 ? `; weights in ${written.files.slice(1).join(', ')}` : ''})`);
}

export interface RunOptions { input?: string[]; backend: BackendName; fn?: string; save?: string; force?: boolean }

export async function runCommand(file: string, opts: RunOptions, io: Io): Promise<void> {
  // Each --input's form is checked before anything loads.
  const sources = parseRunInputs(opts.input);
  try {
    await runOn(file, opts, sources, io);
  } finally {
    // A live WebGPU device keeps Node running: release what was initialised, also after an error.
    await releaseAllBackends();
  }
}

type RunSource = { name: string; text: string } & ({ kind: 'random' } | { kind: 'file'; file: string } | { kind: 'shape'; shape: number[] });

function parseRunInputs(flags: string[] | undefined): RunSource[] {
  const out: RunSource[] = [];
  for (const s of flags ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(s);
    if (!m) throw new UsageError(`option '--input <name=file.npy|random|d0,d1,...>' argument '${s}' is invalid: expected name=file.npy, name=random or name=1,28,28`);
    const name = m[1]!, value = m[2]!;
    if (out.some((o) => o.name === name)) throw new UsageError(`option '--input': '${name}' is given twice`);
    if (value === 'random') out.push({ name, text: s, kind: 'random' });
    else {
      const shape = parseShapeOverrides([s], true)[0];
      out.push(shape ? { name, text: s, kind: 'shape', shape: shape.shape } : { name, text: s, kind: 'file', file: value });
    }
  }
  return out;
}

async function runOn(file: string, opts: RunOptions, sources: RunSource[], io: Io): Promise<void> {
  const log = io.json ? () => {} : io.out;
  let graph: Graph;
  if (file.endsWith('.onnx')) {
    const { model } = readOnnxFile(file);
    graph = await io.status.step('importing', () => {
      // Weights in a data file beside the model (export --external-data) are read in, checked.
      loadExternalData(model, file);
      return fromOnnxModel(model);
    });
  } else {
    graph = (await traceTarget(file, { fn: opts.fn }, io)).graph;
  }
  const given = new Map<string, RunSource>();
  for (const s of sources) {
    const v = graph.inputs.find((x) => x.name === s.name);
    if (!v) throw new UsageError(`--input ${s.text}: the model has no input '${s.name}' (inputs: ${graph.inputs.map((x) => x.name).join(', ')})`);
    if (s.kind === 'shape') {
      checkShape({ name: s.name, shape: s.shape, text: s.text }, v.type.shape.map((d) => (typeof d === 'number' ? d : null)), typeToString(v.type));
    }
    given.set(s.name, s);
  }
  // Where each output is saved: a file name made from the output's name (never a path), checked
  // to stay inside the folder and not to replace an input, before anything runs.
  const names = graph.outputs.map((o) => o.name);
  let saveAs: string[] | undefined;
  if (opts.save) {
    mkdirSync(opts.save, { recursive: true });
    const inputs = [file, ...[...given.values()].flatMap((s) => (s.kind === 'file' ? [s.file] : []))];
    saveAs = uniqueFileNames(names, '.npy').map((f) => pathInside(opts.save!, f, '--save'));
    for (const p of saveAs) checkOutput(p, { inputs, ext: '.npy', force: opts.force, flag: '--save' });
  }
  const session = await Session.create(graph, { backend: opts.backend });
  const json: { backend: string; inputs: unknown[]; outputs: unknown[] } = { backend: session.backend.reason, inputs: [], outputs: [] };
  try {
    log(`backend: ${session.backend.reason}`);
    const feeds: Record<string, tf.Tensor> = {};
    for (const v of graph.inputs) {
      const src = given.get(v.name!) ?? { kind: 'random' as const };
      if (src.kind !== 'file') {
        const shape = src.kind === 'shape' ? src.shape : v.type.shape.map((d) => (typeof d === 'number' ? d : 1));
        feeds[v.name!] = v.type.dtype === 'float32' ? tf.randomNormal(shape) : v.type.dtype === 'bool' ? tf.cast(tf.greater(tf.randomNormal(shape), 0), 'bool') : tf.randomUniform(shape, 0, 10, 'int32');
        log(`  ${v.name}: random ${v.type.dtype}[${shape.join(',')}]${src.kind === 'random' && v.type.shape.some((d) => typeof d !== 'number') ? ' (symbolic dims set to 1)' : ''}`);
        json.inputs.push({ name: v.name, dtype: v.type.dtype, shape, source: 'random' });
      } else {
        requireFile(src.file, '.npy file', `--input ${v.name}=${src.file}`);
        const a = readNpy(new Uint8Array(readFileSync(src.file)), src.file);
        feeds[v.name!] = tf.tensor(a.data, a.shape, tfDtype(a.dtype));
        log(`  ${v.name}: ${src.file} ${a.dtype}[${a.shape.join(',')}]`);
        json.inputs.push({ name: v.name, dtype: a.dtype, shape: a.shape, source: src.file });
      }
    }
    const outs = await io.status.step('running', () => session.run(names, feeds, { updates: false })) as tf.Tensor[];
    tf.dispose(Object.values(feeds));
    for (const [i, t] of outs.entries()) {
      // Read asynchronously: a webgpu tensor cannot be read synchronously in Node.
      const values = await t.data();
      const { min, max, mean } = summary(values as ArrayLike<number>);
      log(`${names[i]}: ${t.dtype}[${t.shape.join(',')}]  min ${min.toPrecision(5)}  max ${max.toPrecision(5)}  mean ${mean.toPrecision(5)}`);
      const entry: Record<string, unknown> = { name: names[i], dtype: t.dtype, shape: t.shape, min, max, mean };
      if (saveAs) {
        writeFileAtomic(saveAs[i]!, writeNpy({ dtype: t.dtype as 'float32', shape: t.shape, data: values as Float32Array }));
        log(`  saved to ${saveAs[i]}`);
        entry.saved = saveAs[i];
      }
      entry.values = Array.from(values as ArrayLike<number>, Number);
      json.outputs.push(entry);
    }
    tf.dispose(outs);
  } finally {
    session.dispose();
  }
  if (io.json) io.out(JSON.stringify(json));
}

/** min, max and mean of an output's values (NaN when it is empty or holds a NaN). */
function summary(values: ArrayLike<number>): { min: number; max: number; mean: number } {
  if (values.length === 0) return { min: NaN, max: NaN, mean: NaN };
  let min = Infinity, max = -Infinity, sum = 0;
  for (let i = 0; i < values.length; i++) {
    const x = Number(values[i]);
    min = Math.min(min, x); // NaN stays NaN
    max = Math.max(max, x);
    sum += x;
  }
  return { min, max, mean: sum / values.length };
}
