/** The graphc commands: export, inspect, optimize, run. */
// First: tfjs's gradients and chained ops, registered before any user module loads (a module
// that uses graphc only in types does not load graphc itself), and the quiet cpu backend.
import '../tfjs_setup.js';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { onnx } from '../../exporters/onnx/proto.js';
import type { Graph } from '../../ir/graph.js';
import { typeToString } from '../../ir/graph.js';
import { printGraph } from '../../ir/printer.js';
import { formatReport } from '../../ir/passes/manager.js';
import { exportOnnx, initialStateModel, toOnnx } from '../../exporters/onnx/export/export.js';
import { fromOnnx } from '../onnx_import.js';
import type { BackendName } from '../../runtime/backends/select.js';
import { releaseAllBackends } from '../../runtime/backends/select.js';
import { Session } from '../../runtime/session.js';
import { tfDtype } from '../../runtime/tensor_data.js';
import { Codes, GcError } from '../../ir/errors.js';
import { materializeCreated } from '../compile.js';
import { optimizeInPlace } from '../optimize.js';
import type { TensorSpec } from '../trace/spec.js';
import { traceFunction } from '../trace/trace_function.js';
import { CliError } from './cli_error.js';
import { checkOutput, pathInside, requireFile, uniqueFileNames, writeFileAtomic } from './files.js';
import { loadLayersModelFile, loadTsModule } from './load.js';
import { readNpy, writeNpy } from './npy.js';
import { parseInputFlag, readExports } from './signature.js';

type Log = (line: string) => void;

/** Runs `f`, printing how long it took when it took over a second. */
async function step<T>(log: Log, what: string, f: () => T | Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await f();
  const s = (performance.now() - t) / 1000;
  if (s >= 1) log(`${what} took ${s.toFixed(1)} s`);
  return r;
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
  inputs: Array<{ shape: (number | null)[]; dtype?: string }>;
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
    name: (model.inputNames?.[i] ?? `input_${i}`).replace(/[^A-Za-z0-9_]/g, '_'),
  }));
  return { name, fn: (...xs) => model.predict(xs.length === 1 ? xs[0]! : xs), specs };
}

/** What `graphc export`/`inspect`/`run` works on: a traced graph from a module or model.json. */
async function traceTarget(file: string, opts: { fn?: string; input?: string[] }, log: Log): Promise<{ graph: Graph; name: string }> {
  let target: Target;
  if (file.endsWith('.json')) {
    const model = await step(log, 'loading the LayersModel', () => loadLayersModelFile(file));
    target = modelTarget(path.basename(file, '.json'), model as unknown as LayersLike);
  } else if (/\.(ts|mts|js|mjs)$/.test(file)) {
    requireFile(file, 'module');
    const exported = readExports(file);
    const candidates = exported.filter((e) => e.kind === 'function' || e.kind === 'value');
    const mod = await step(log, `loading ${file}`, () => loadTsModule(file));
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
    if (isLayersModel(value)) target = modelTarget(pick.name, value);
    else {
      let specs: TensorSpec[] | undefined;
      if (opts.input && opts.input.length > 0) {
        checkInputCount(file, pick, opts.input.length);
        specs = opts.input.map((s) => parseInputFlag(s));
      }
      else if (isCompiled(value) && value.specs) specs = [...value.specs];
      else specs = pick.specs;
      if (!specs) {
        throw new CliError(`${file}:${pick.line}: cannot tell the input signature of '${pick.name}': ${pick.why ?? 'it is not typed'}`, undefined,
          "pass --input name:dtype[dims] for each parameter, or type them gc.Input<'float32', ['batch', 784]>");
      }
      const graph = isCompiled(value) && value.specs && !(opts.input && opts.input.length > 0) ? value.graph : undefined;
      if (isCompiled(value) && !graph) throw new CliError(`${file}: '${pick.name}' is a compiled function without input specs`, undefined, 'give it {inputs: [...]} in gc.compile');
      target = { name: pick.name, fn: value as Target['fn'], specs, graph };
    }
  } else {
    throw new CliError(`${file}: expected a TypeScript module (.ts) or a tfjs model.json`);
  }
  if (target.graph) return { graph: target.graph, name: target.name };
  const traced = await step(log, 'tracing', () => traceFunction(target.fn, target.specs, materializeCreated, target.name.replace(/[^A-Za-z0-9_]/g, '_')));
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

export async function exportCommand(file: string, opts: { fn?: string; output?: string; opset?: number; input?: string[]; optimize: boolean; dumpIr?: string; verify?: boolean; force?: boolean }, log: Log): Promise<void> {
  // Refused before the (slow) trace when -o names the input or a source file.
  if (opts.output !== undefined) checkOutput(opts.output, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  const { graph, name } = await traceTarget(file, opts, log);
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
    const report = await step(log, 'optimizing', () => optimizeInPlace(graph, { freeze: true, verify: opts.verify }, dir === undefined ? {} : {
      onPass: (pass, g, { changed }) => { if (changed) dumpIr(dir, `${String(k++).padStart(2, '0')}-${pass}.ir`, printGraph(g)); },
    }));
    log(`passes: ${formatReport(report)}`);
  }
  const ex = await step(log, 'exporting', () => exportOnnx(graph, { opset: opts.opset }));
  const bytes = ex.bytes;
  const out = opts.output ?? `${name}.onnx`;
  checkOutput(out, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  // A training step: its state's starting values go beside it, as a model with no inputs (`<out>.init.onnx`).
  const initOut = ex.state.length > 0 ? `${out.replace(/\.onnx$/i, '')}.init.onnx` : undefined;
  if (initOut !== undefined) checkOutput(initOut, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  writeFileAtomic(out, bytes);
  const stateIn = new Set(ex.state.map((s) => s.input));
  const stateOut = new Set(ex.state.flatMap((s) => (s.output !== undefined ? [s.output] : [])));
  log(`wrote ${out}: ${ex.graph.inputs.filter((v) => !stateIn.has(v.name)).map((v) => `${v.name}: ${typeToString(v)}`).join(', ')} → ${ex.graph.outputs.filter((o) => !stateOut.has(o.name)).map((o) => `${o.name}: ${typeToString(o)}`).join(', ')} (opset ${opts.opset ?? 17}, ${bytes.length} bytes)`);
  if (initOut !== undefined) {
    writeFileAtomic(initOut, initialStateModel(graph, ex.state, { opset: opts.opset }));
    const assigned = ex.state.filter((s) => s.output !== undefined);
    log(`  state: ${ex.state.length} inputs (${assigned.length} with a new value as output '<input>.new'; metadata 'graphc.state' lists them): ${ex.state.slice(0, 6).map((s) => s.input).join(', ')}${ex.state.length > 6 ? ', …' : ''}`);
    log(`wrote ${initOut}: no inputs → the starting value of each state input (run it once, feed its outputs to the first step, then each step's '.new' outputs to the next)`);
  }
}

function dimsOf(t: onnx.ITypeProto | null | undefined): string {
  const tt = t?.tensorType;
  if (!tt) return '?';
  const elem = onnx.TensorProto.DataType[tt.elemType ?? 0] ?? String(tt.elemType);
  const dims = tt.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? String(d.dimValue) : '?')) ?? [];
  return `${elem.toLowerCase()}[${dims.join(',')}]`;
}

export async function inspectCommand(file: string, log: Log): Promise<void> {
  if (file.endsWith('.onnx')) {
    const { model } = readOnnxFile(file);
    const g = model.graph!;
    const inits = new Set((g.initializer ?? []).map((t) => t.name));
    log(`${file}: ONNX IR version ${model.irVersion}, opset ${(model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}, producer ${model.producerName || '?'} ${model.producerVersion || ''}`.trim());
    log('inputs:');
    for (const i of g.input ?? []) if (!inits.has(i.name)) log(`  ${i.name}: ${dimsOf(i.type)}`);
    log('outputs:');
    for (const o of g.output ?? []) log(`  ${o.name}: ${dimsOf(o.type)}`);
    const hist = new Map<string, number>();
    for (const n of g.node ?? []) hist.set(n.opType ?? '?', (hist.get(n.opType ?? '?') ?? 0) + 1);
    log(`ops (${(g.node ?? []).length} nodes):`);
    for (const [op, n] of [...hist].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) log(`  ${op.padEnd(24)} ${n}`);
    let params = 0, bytes = 0;
    for (const t of g.initializer ?? []) {
      const n = (t.dims ?? []).reduce((a: number, b) => a * Number(b), 1);
      params += n;
      bytes += t.rawData?.length || n * 4;
    }
    log(`parameters: ${params} in ${(g.initializer ?? []).length} initializers, ${bytes} bytes`);
    return;
  }
  const { graph } = await traceTarget(file, {}, log);
  log(`${file}: graph @${graph.name}`);
  log('inputs:');
  for (const v of graph.inputs) log(`  ${v.name}: ${typeToString(v.type)}`);
  log('outputs:');
  for (const o of graph.outputs) log(`  ${o.name}: ${typeToString(o.value.type)}`);
  const hist = new Map<string, number>();
  for (const n of graph.nodes) hist.set(n.op, (hist.get(n.op) ?? 0) + 1);
  log(`ops (${graph.nodes.length} nodes):`);
  for (const [op, n] of [...hist].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) log(`  ${op.padEnd(24)} ${n}`);
  const params = graph.states.reduce((a, s) => a + s.init.data.length, 0);
  const bytes = graph.states.reduce((a, s) => a + s.init.data.byteLength, 0);
  log(`parameters: ${params} in ${graph.states.length} variables, ${bytes} bytes`);
}

export async function optimizeCommand(file: string, opts: { output: string; verify?: boolean; force?: boolean }, log: Log): Promise<void> {
  checkOutput(opts.output, { inputs: [file], ext: '.onnx', force: opts.force, flag: '-o' });
  const { bytes } = readOnnxFile(file);
  const graph = await step(log, 'importing', () => fromOnnx(bytes));
  const report = await step(log, 'optimizing', () => optimizeInPlace(graph, { freeze: true, verify: opts.verify }));
  log(`passes: ${formatReport(report)}`);
  const out = await step(log, 'exporting', () => toOnnx(graph));
  writeFileAtomic(opts.output, out);
  log(`wrote ${opts.output} (${out.length} bytes)`);
}

export async function runCommand(file: string, opts: { input?: string[]; backend: BackendName; fn?: string; save?: string; force?: boolean }, log: Log): Promise<void> {
  try {
    await runOn(file, opts, log);
  } finally {
    // A live WebGPU device keeps Node running: release what was initialised, also after an error.
    await releaseAllBackends();
  }
}

async function runOn(file: string, opts: { input?: string[]; backend: BackendName; fn?: string; save?: string; force?: boolean }, log: Log): Promise<void> {
  let graph: Graph;
  if (file.endsWith('.onnx')) {
    const { bytes } = readOnnxFile(file);
    graph = await step(log, 'importing', () => fromOnnx(bytes));
  } else {
    graph = (await traceTarget(file, { fn: opts.fn }, log)).graph;
  }
  const given = new Map<string, string>();
  for (const s of opts.input ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(s);
    if (!m) throw new CliError(`--input '${s}': expected name=file.npy or name=random`);
    if (!graph.inputs.some((v) => v.name === m[1])) throw new CliError(`--input '${s}': the model has no input '${m[1]}' (inputs: ${graph.inputs.map((v) => v.name).join(', ')})`);
    given.set(m[1]!, m[2]!);
  }
  // Where each output is saved: a file name made from the output's name (never a path), checked
  // to stay inside the folder and not to replace an input, before anything runs.
  const names = graph.outputs.map((o) => o.name);
  let saveAs: string[] | undefined;
  if (opts.save) {
    mkdirSync(opts.save, { recursive: true });
    const inputs = [file, ...[...given.values()].filter((s) => s !== 'random')];
    saveAs = uniqueFileNames(names, '.npy').map((f) => pathInside(opts.save!, f, '--save'));
    for (const p of saveAs) checkOutput(p, { inputs, ext: '.npy', force: opts.force, flag: '--save' });
  }
  const session = await Session.create(graph, { backend: opts.backend });
  try {
    log(`backend: ${session.backend.reason}`);
    const feeds: Record<string, tf.Tensor> = {};
    for (const v of graph.inputs) {
      const src = given.get(v.name!) ?? 'random';
      if (src === 'random') {
        const shape = v.type.shape.map((d) => (typeof d === 'number' ? d : 1));
        feeds[v.name!] = v.type.dtype === 'float32' ? tf.randomNormal(shape) : v.type.dtype === 'bool' ? tf.cast(tf.greater(tf.randomNormal(shape), 0), 'bool') : tf.randomUniform(shape, 0, 10, 'int32');
        log(`  ${v.name}: random ${v.type.dtype}[${shape.join(',')}]${v.type.shape.some((d) => typeof d !== 'number') ? ' (symbolic dims set to 1)' : ''}`);
      } else {
        requireFile(src, '.npy file', `--input ${v.name}=${src}`);
        const a = readNpy(new Uint8Array(readFileSync(src)), src);
        feeds[v.name!] = tf.tensor(a.data, a.shape, tfDtype(a.dtype));
        log(`  ${v.name}: ${src} ${a.dtype}[${a.shape.join(',')}]`);
      }
    }
    const outs = await step(log, 'running', () => session.run(names, feeds, { updates: false })) as tf.Tensor[];
    tf.dispose(Object.values(feeds));
    for (const [i, t] of outs.entries()) {
      // Read asynchronously: a webgpu tensor cannot be read synchronously in Node.
      const values = await t.data();
      const { min, max, mean } = summary(values as ArrayLike<number>);
      log(`${names[i]}: ${t.dtype}[${t.shape.join(',')}]  min ${min.toPrecision(5)}  max ${max.toPrecision(5)}  mean ${mean.toPrecision(5)}`);
      if (saveAs) {
        writeFileAtomic(saveAs[i]!, writeNpy({ dtype: t.dtype as 'float32', shape: t.shape, data: values as Float32Array }));
        log(`  saved to ${saveAs[i]}`);
      }
    }
    tf.dispose(outs);
  } finally {
    session.dispose();
  }
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
