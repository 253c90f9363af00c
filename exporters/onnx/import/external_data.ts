/**
 * Reading an ONNX model from a path with its external data (tensors whose bytes live in files
 * beside the model: data_location EXTERNAL, external_data {location, offset, length}), treating
 * the model as hostile:
 *
 * - a location is a relative path inside the model's folder: absolute paths, `..` parts, NUL
 *   bytes and symlinks that resolve outside the folder are refused, and so is anything that is
 *   not a regular file (a FIFO, /dev/zero);
 * - offset and length are decimal integers, the range lies inside the file, its length is the
 *   tensor's size (element type × dims), and no two tensors' ranges overlap (a 1 GiB file named
 *   by a thousand tensors would be read a thousand times);
 * - the bytes read stay within the import's byte budget (ImportBudget.bytes, 4 GiB by default),
 *   counted before anything is read.
 *
 * Each problem is a GcError GC0535 naming the tensor, the location and the model's folder. The
 * bytes are read once into fresh buffers (aligned, so the importer keeps them as views), and
 * each tensor is turned into an ordinary raw_data tensor of the decoded model.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Codes, GcError } from '../../../ir/errors.js';
import { DEFAULT_IMPORT_BUDGET } from './budget.js';
import type { ImportBudget } from './budget.js';
import { int64ToNumber, onnx } from '../proto.js';
import type { LongLike } from '../proto.js';

const T = onnx.TensorProto.DataType;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/** Bytes per element by ONNX element type (the types whose data raw_data can hold). */
const WIDTH: Readonly<Record<number, number>> = {
  [T.FLOAT]: 4, [T.UINT8]: 1, [T.INT8]: 1, [T.UINT16]: 2, [T.INT16]: 2, [T.INT32]: 4, [T.INT64]: 8, [T.BOOL]: 1,
  [T.FLOAT16]: 2, [T.DOUBLE]: 8, [T.UINT32]: 4, [T.UINT64]: 8, [T.COMPLEX64]: 8, [T.COMPLEX128]: 16, [T.BFLOAT16]: 2,
};

/** Distinct data files one model may name. */
export const MAX_EXTERNAL_FILES = 1024;

export interface ExternalDataOptions {
  /** budget.bytes bounds the external bytes read (default ImportBudget's 4 GiB). */
  budget?: Partial<ImportBudget>;
}

interface Ref {
  tensor: onnx.ITensorProto;
  what: string;
  location: string;
  offset: number;
  length: number;
}

function refError(modelPath: string, what: string, message: string, help = "external data locations are file names relative to the model's folder, such as \"model.onnx.data\""): GcError {
  return new GcError({ code: Codes.onnxExternalData, message: `${modelPath}: ${what}: ${message}`, help });
}

function isInside(root: string, p: string): boolean {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return p.startsWith(prefix) && p.length > prefix.length;
}

/** Every TensorProto of a graph (initializers, Constant values and other tensor attributes), subgraphs included. */
function* tensorsOf(g: onnx.IGraphProto, where: string): Generator<[onnx.ITensorProto, string]> {
  for (const t of g.initializer ?? []) yield [t, `initializer '${t.name ?? ''}'`];
  for (const s of g.sparseInitializer ?? []) {
    if (s.values) yield [s.values, `sparse initializer '${s.values.name ?? ''}' (values)`];
    if (s.indices) yield [s.indices, `sparse initializer '${s.values?.name ?? ''}' (indices)`];
  }
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      const at = `attribute '${a.name ?? ''}' of node '${n.name ?? ''}' (${n.opType ?? ''})${where}`;
      if (a.t) yield [a.t, at];
      for (const t of a.tensors ?? []) yield [t, at];
      if (a.g) yield* tensorsOf(a.g, ` in a subgraph of '${n.name ?? ''}'`);
      for (const sg of a.graphs ?? []) yield* tensorsOf(sg, ` in a subgraph of '${n.name ?? ''}'`);
    }
  }
}

function decimal(modelPath: string, what: string, key: string, v: string | null | undefined): number {
  if (typeof v !== 'string' || !/^[0-9]{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw refError(modelPath, what, `external_data '${key}' is ${JSON.stringify(v)}, not a non-negative integer`);
  }
  return Number(v);
}

/** The tensor's size in bytes from its element type and dims, or undefined for a type without a fixed width. */
function expectedBytes(modelPath: string, t: onnx.ITensorProto, what: string): number | undefined {
  const w = WIDTH[t.dataType ?? 0];
  let n = 1;
  for (const d of t.dims ?? []) {
    const k = int64ToNumber(d as number | LongLike);
    if (!Number.isSafeInteger(k) || k < 0) throw refError(modelPath, what, `dim ${String(k)} is not a non-negative integer`);
    n *= k;
    if (!Number.isSafeInteger(n)) throw refError(modelPath, what, `${(t.dims ?? []).join('×')} elements is too many`);
  }
  return w === undefined ? undefined : n * w;
}

/** The external-data references of `model`, checked for form (no file is touched). */
function collect(model: onnx.IModelProto, modelPath: string): Ref[] {
  const refs: Ref[] = [];
  if (!model.graph) return refs;
  for (const [t, what] of tensorsOf(model.graph, '')) {
    if (t.dataLocation !== EXTERNAL && (t.externalData?.length ?? 0) === 0) continue;
    if (t.dataLocation !== EXTERNAL) throw refError(modelPath, what, 'has external_data entries but data_location is not EXTERNAL');
    const kv = new Map<string, string>();
    for (const e of t.externalData ?? []) {
      const k = e.key ?? '';
      if (kv.has(k)) throw refError(modelPath, what, `external_data names '${k}' twice`);
      kv.set(k, e.value ?? '');
    }
    const location = kv.get('location');
    if (location === undefined || location === '') throw refError(modelPath, what, 'external data without a location');
    if (location.includes('\0')) throw refError(modelPath, what, `location ${JSON.stringify(location)} holds a NUL byte`);
    if (path.isAbsolute(location) || path.win32.isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
      throw refError(modelPath, what, `location ${JSON.stringify(location)} is an absolute path; external data must be inside the model's folder`);
    }
    if (location.split(/[\\/]/).includes('..')) {
      throw refError(modelPath, what, `location ${JSON.stringify(location)} leaves the model's folder ('..')`);
    }
    const offset = kv.has('offset') ? decimal(modelPath, what, 'offset', kv.get('offset')) : 0;
    const want = expectedBytes(modelPath, t, what);
    const length = kv.has('length') ? decimal(modelPath, what, 'length', kv.get('length')) : want;
    if (length === undefined) throw refError(modelPath, what, 'external data of an element type without a fixed size needs a length');
    if (want !== undefined && length !== want) {
      throw refError(modelPath, what, `external data of ${length} bytes for ${onnx.TensorProto.DataType[t.dataType ?? 0] ?? t.dataType}[${(t.dims ?? []).join(',')}] (needs ${want})`, 'the data file does not belong to this model');
    }
    refs.push({ tensor: t, what, location, offset, length });
  }
  return refs;
}

/**
 * Reads the external data of `model` (decoded from the file at `modelPath`) into its tensors'
 * raw_data, in place, checked as the file comment says. A model without external data is left as it is.
 */
export function loadExternalData(model: onnx.IModelProto, modelPath: string, opts: ExternalDataOptions = {}): void {
  const refs = collect(model, modelPath);
  if (refs.length === 0) return;
  const budget = opts.budget?.bytes ?? DEFAULT_IMPORT_BUDGET.bytes;
  const total = refs.reduce((s, r) => s + r.length, 0);
  if (total > budget) {
    throw new GcError({ code: Codes.onnxExternalData, message: `${modelPath}: the tensors' external data takes ${total} bytes, over the import's budget of ${budget} bytes`,
      help: 'raise ImportOptions.budget.bytes if the model is trusted' });
  }
  let root: string;
  try {
    root = realpathSync(path.dirname(path.resolve(modelPath)));
  } catch (e) {
    throw refError(modelPath, 'the model', `its folder cannot be read (${(e as Error).message})`);
  }
  // Each location resolved (symlinks too) and checked once; ranges grouped by the real file.
  const real = new Map<string, string>();
  const byFile = new Map<string, Ref[]>();
  for (const r of refs) {
    let file = real.get(r.location);
    if (file === undefined) {
      const joined = path.resolve(root, r.location);
      try {
        file = realpathSync(joined);
      } catch (e) {
        throw refError(modelPath, r.what, `its data file ${JSON.stringify(r.location)} cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; looked in ${root})`);
      }
      if (!isInside(root, file)) {
        throw refError(modelPath, r.what, `location ${JSON.stringify(r.location)} resolves to ${file}, outside the model's folder (${root})`);
      }
      real.set(r.location, file);
    }
    const list = byFile.get(file) ?? [];
    list.push(r);
    byFile.set(file, list);
  }
  if (byFile.size > MAX_EXTERNAL_FILES) throw refError(modelPath, 'the model', `names ${byFile.size} external data files (at most ${MAX_EXTERNAL_FILES})`);
  // Ranges: inside the file, none overlapping another (checked for every file before reading any).
  const sizes = new Map<string, number>();
  for (const [file, list] of byFile) {
    let st;
    try {
      st = statSync(file);
    } catch (e) {
      throw refError(modelPath, list[0]!.what, `its data file ${JSON.stringify(list[0]!.location)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (!st.isFile()) throw refError(modelPath, list[0]!.what, `its data file ${JSON.stringify(list[0]!.location)} is not a regular file`);
    sizes.set(file, st.size);
    const sorted = [...list].sort((a, b) => a.offset - b.offset || a.length - b.length);
    for (const [i, r] of sorted.entries()) {
      if (r.offset + r.length > st.size) {
        throw refError(modelPath, r.what, `bytes ${r.offset} to ${r.offset + r.length} of ${JSON.stringify(r.location)}, which has ${st.size}`, 'the data file was truncated or does not belong to this model');
      }
      const next = sorted[i + 1];
      if (next !== undefined && r.length > 0 && next.length > 0 && next.offset < r.offset + r.length) {
        throw refError(modelPath, next.what, `its bytes ${next.offset} to ${next.offset + next.length} of ${JSON.stringify(r.location)} overlap those of ${r.what} (${r.offset} to ${r.offset + r.length})`,
          'each tensor keeps its own range of the data file');
      }
    }
  }
  for (const [file, list] of byFile) {
    const fd = openSync(file, 'r');
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size !== sizes.get(file)) throw refError(modelPath, list[0]!.what, `its data file ${JSON.stringify(list[0]!.location)} changed while it was read`);
      for (const r of list) {
        const bytes = new Uint8Array(r.length);
        for (let got = 0; got < r.length;) {
          const n = readSync(fd, bytes, got, Math.min(r.length - got, 1 << 30), r.offset + got);
          if (n <= 0) throw refError(modelPath, r.what, `its data file ${JSON.stringify(r.location)} ended at byte ${r.offset + got} while it was read`);
          got += n;
        }
        r.tensor.rawData = bytes;
        r.tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
        r.tensor.externalData = [];
      }
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The ModelProto in the file at `modelPath`, with its external data read (loadExternalData).
 * Errors: GC0535 for external data, GC0501 for bytes that are not a ModelProto.
 */
export function readOnnxModelFile(modelPath: string, opts: ExternalDataOptions = {}): onnx.ModelProto {
  let bytes: Uint8Array;
  try {
    if (!statSync(modelPath).isFile()) throw new Error('not a regular file');
    bytes = readFileSync(modelPath);
  } catch (e) {
    throw new GcError({ code: Codes.onnxImport, message: `onnx import: ${modelPath}: cannot read the model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new GcError({ code: Codes.onnxImport, message: `onnx import: ${modelPath}: not an ONNX ModelProto (${(e as Error).message})` });
  }
  loadExternalData(model, modelPath, opts);
  return model;
}
