/**
 * Writes an ONNX model to disk, its large initializers in a data file beside it when the model
 * would pass protobuf's 2 GiB limit (or when asked): the ONNX external-data convention, which
 * ONNX Runtime, onnx.load and onnx.checker read.
 *
 *   writeOnnxModel(model, 'out/model.onnx')                        // one file unless over 2 GiB
 *   writeOnnxModel(model, 'out/model.onnx', { externalData: true }) // model.onnx + model.onnx.data
 *
 * In the data file each initializer of at least `sizeThreshold` bytes (default 1024) takes its
 * raw_data bytes at an offset that is a multiple of 64 (of 4096, a page, for tensors of 64 KiB or
 * more, so that a runtime can map them), and its TensorProto says data_location EXTERNAL with
 * external_data {location: 'model.onnx.data', offset, length}. The bytes are written straight
 * from the tensors' arrays, in one file or two: the weights are never assembled into one buffer.
 *
 * Both files are written to temporary files in outPath's folder, synced, then renamed into place
 * (the data file first): a failure part way leaves the old files as they were. Nothing is written
 * outside outPath's folder: the location is a bare file name, and a symlink at outPath or at the
 * data file's path is replaced, never followed.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, fstatSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { Codes, GcError } from '../../../ir/errors.js';
import { onnx } from '../proto.js';

/** The largest message protobuf reads (ONNX Runtime, onnx.load): 2 GiB − 1 bytes. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Initializers of at least this many bytes go to the data file (onnx.save_model's size_threshold). */
export const DEFAULT_SIZE_THRESHOLD = 1024;

export interface WriteOnnxOptions {
  /**
   * 'auto' (the default): one file, unless the model would pass protobuf's 2 GiB limit; true: the
   * large initializers in `<outPath>.data` whatever the size; false: one file (a model over
   * 2 GiB is then an error).
   */
  externalData?: boolean | 'auto';
  /** The smallest initializer (in bytes of raw_data) that goes to the data file. Default 1024. */
  sizeThreshold?: number;
}

export interface WrittenOnnx {
  /** The files written: outPath, then the data file when there is one. */
  files: string[];
  /** Bytes written in all. */
  bytes: number;
}

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
const PAGE = 4096;
const PAGE_ALIGNED_FROM = 64 * 1024;
const ALIGN = 64;

/** A piece of the data file: `bytes` at `offset`. */
interface Chunk { offset: number; bytes: Uint8Array }

function writeError(file: string, e: unknown): GcError {
  const err = e as NodeJS.ErrnoException;
  return new GcError({
    code: Codes.cliWrite,
    message: `${file}: the write failed (${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}); the old files were left as they were`,
    help: 'check the free space and the permissions of the folder',
  });
}

function isExternal(t: onnx.ITensorProto): boolean {
  return t.dataLocation === EXTERNAL || (t.externalData?.length ?? 0) > 0;
}

/**
 * The graph with each initializer of at least `threshold` raw bytes moved to `chunks` (new
 * objects; the caller's protos are not changed), in its subgraphs too.
 */
function externalize(g: onnx.IGraphProto, threshold: number, location: string, chunks: Chunk[], end: { at: number }): onnx.IGraphProto {
  const initializer = (g.initializer ?? []).map((t) => {
    const raw = t.rawData;
    if (!raw || raw.length < threshold || raw.length === 0 || isExternal(t)) return t;
    const align = raw.length >= PAGE_ALIGNED_FROM ? PAGE : ALIGN;
    const offset = Math.ceil(end.at / align) * align;
    chunks.push({ offset, bytes: raw });
    end.at = offset + raw.length;
    const { rawData: _dropped, ...rest } = t as onnx.ITensorProto & { rawData?: Uint8Array | null };
    return {
      ...rest,
      dataLocation: EXTERNAL,
      externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) }],
    };
  });
  const sub = (x: onnx.IGraphProto) => externalize(x, threshold, location, chunks, end);
  const node = (g.node ?? []).map((n) => {
    if (!(n.attribute ?? []).some((a) => a.g || (a.graphs?.length ?? 0) > 0)) return n;
    return { ...n, attribute: (n.attribute ?? []).map((a) => (a.g || (a.graphs?.length ?? 0) > 0 ? { ...a, ...(a.g ? { g: sub(a.g) } : {}), ...(a.graphs?.length ? { graphs: a.graphs.map(sub) } : {}) } : a)) };
  });
  return { ...g, initializer, node };
}

/** Writes all of `chunks` (and the zero padding between them) to fd; returns the bytes written. */
function writeChunks(fd: number, chunks: readonly Chunk[]): number {
  let pos = 0;
  const zeros = new Uint8Array(PAGE);
  const put = (b: Uint8Array) => {
    for (let off = 0; off < b.length;) {
      const n = writeSync(fd, b, off, Math.min(b.length - off, 1 << 30));
      if (!(n > 0)) throw new Error(`the write made no progress at byte ${pos + off}`);
      off += n;
    }
    pos += b.length;
  };
  for (const c of chunks) {
    while (pos < c.offset) put(zeros.subarray(0, Math.min(PAGE, c.offset - pos)));
    put(c.bytes);
  }
  return pos;
}

/** protobufjs 7's Writer: a list of operations, each writing `len` bytes of `val` with `fn` (see finish()). */
interface EncoderOp { fn: (val: unknown, buf: Uint8Array, pos: number) => void; len: number; next: EncoderOp | undefined; val: unknown }

/** A bytes field this large is written from its own array rather than through the staging buffer. */
const DIRECT_FROM = 64 * 1024;
const STAGE = 1 << 20;

/**
 * Writes what `w` encodes to fd without assembling it in one buffer (finish() would allocate the
 * model's size and copy every weight into it): the small fields go through a 1 MiB staging
 * buffer, each large bytes field (a tensor's raw_data) straight from its array. The bytes are
 * those finish() gives. A writer that does not look as protobufjs 7 builds it is finish()ed.
 */
function writeEncoded(fd: number, w: ReturnType<typeof onnx.ModelProto.encode>): number {
  const head = (w as unknown as { head?: EncoderOp }).head;
  const looksRight = (op: unknown): op is EncoderOp => typeof op === 'object' && op !== null && typeof (op as EncoderOp).fn === 'function' && typeof (op as EncoderOp).len === 'number';
  if (!looksRight(head)) return writeChunks(fd, [{ offset: 0, bytes: w.finish() }]);
  let stage = Buffer.allocUnsafe(STAGE);
  let at = 0, written = 0;
  const flush = () => {
    if (at > 0) written += writeChunks(fd, [{ offset: 0, bytes: stage.subarray(0, at) }]);
    at = 0;
  };
  for (let op = head.next; op !== undefined; op = op.next) {
    if (!looksRight(op)) throw new Error('unexpected protobuf writer state');
    if (op.len >= DIRECT_FROM && op.val instanceof Uint8Array && op.val.length === op.len) {
      flush();
      written += writeChunks(fd, [{ offset: 0, bytes: op.val }]);
      continue;
    }
    if (at + op.len > stage.length) {
      flush();
      if (op.len > stage.length) stage = Buffer.allocUnsafe(op.len);
    }
    op.fn(op.val, stage, at);
    at += op.len;
  }
  flush();
  if (written !== w.len) throw new Error(`wrote ${written} bytes of an encoding of ${w.len}`);
  return written;
}

/** A temporary file beside `target` (hidden, unique), written by `fill`, synced and closed. */
function writeTemp(target: string, fill: (fd: number) => number): string {
  const tmp = path.join(path.dirname(target), `.${[...path.basename(target)].slice(0, 64).join('')}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o666);
    const n = fill(fd);
    fsyncSync(fd);
    const size = fstatSync(fd).size;
    if (size !== n) throw new Error(`wrote ${size} of ${n} bytes`);
    closeSync(fd);
    return tmp;
  } catch (e) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already failing */ }
    }
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw writeError(target, e);
  }
}

function refuseDirectory(p: string): void {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return; // not there yet
  }
  if (st.isDirectory()) throw new GcError({ code: Codes.cliNotAFile, message: `${p}: is a directory; the model is written to a file`, help: 'give the path of the .onnx file to write' });
}

/**
 * Writes `model` to `outPath` (and `<outPath>.data` with external data); see the file comment.
 * `model`'s protos are not changed.
 */
export function writeOnnxModel(model: onnx.IModelProto, outPath: string, opts: WriteOnnxOptions = {}): WrittenOnnx {
  const mode = opts.externalData ?? 'auto';
  const threshold = opts.sizeThreshold ?? DEFAULT_SIZE_THRESHOLD;
  if (!(mode === true || mode === false || mode === 'auto')) {
    throw new GcError({ code: Codes.exportOptions, message: `writeOnnxModel: externalData must be true, false or 'auto', not ${JSON.stringify(mode)}` });
  }
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new GcError({ code: Codes.exportOptions, message: `writeOnnxModel: sizeThreshold must be a non-negative integer (bytes), not ${String(threshold)}` });
  }
  if (!model.graph) throw new GcError({ code: Codes.exportInternal, message: 'writeOnnxModel: the model has no graph' });
  const dir = path.dirname(path.resolve(outPath));
  const base = path.basename(outPath);
  refuseDirectory(outPath);

  // The encoder's length is known before any byte is copied (it keeps references until finish()).
  const inline = onnx.ModelProto.encode(model);
  const external = mode === true || (mode === 'auto' && inline.len > PROTOBUF_LIMIT);
  if (!external) {
    if (inline.len > PROTOBUF_LIMIT) {
      throw new GcError({ code: Codes.onnxTooLarge, message: `${outPath}: the model takes ${inline.len} bytes, over protobuf's limit of ${PROTOBUF_LIMIT} (2 GiB) for one file`,
        help: "write it with external data (externalData: 'auto' or true; graphc export does so by itself)" });
    }
    const tmp = writeTemp(outPath, (fd) => writeEncoded(fd, inline));
    try {
      renameSync(tmp, path.join(dir, base));
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* gone */ }
      throw writeError(outPath, e);
    }
    syncDir(dir);
    return { files: [outPath], bytes: inline.len };
  }

  const location = `${base}.data`;
  const dataPath = path.join(path.dirname(outPath), location);
  refuseDirectory(dataPath);
  const chunks: Chunk[] = [];
  const end = { at: 0 };
  const skeleton: onnx.IModelProto = { ...model, graph: externalize(model.graph, threshold, location, chunks, end) };
  const encoded = onnx.ModelProto.encode(skeleton);
  if (encoded.len > PROTOBUF_LIMIT) {
    throw new GcError({ code: Codes.onnxTooLarge, message: `${outPath}: with its initializers of ${threshold} bytes or more in ${location}, the model still takes ${encoded.len} bytes, over protobuf's limit of ${PROTOBUF_LIMIT} (2 GiB)`,
      help: 'lower sizeThreshold, or keep large constants as initializers rather than Constant nodes' });
  }
  const dataTmp = writeTemp(dataPath, (fd) => writeChunks(fd, chunks));
  let modelTmp: string;
  try {
    modelTmp = writeTemp(outPath, (fd) => writeEncoded(fd, encoded));
  } catch (e) {
    try { unlinkSync(dataTmp); } catch { /* gone */ }
    throw e;
  }
  try {
    renameSync(dataTmp, path.join(dir, location));
    renameSync(modelTmp, path.join(dir, base));
  } catch (e) {
    for (const t of [dataTmp, modelTmp]) {
      try { unlinkSync(t); } catch { /* renamed or gone */ }
    }
    throw writeError(outPath, e);
  }
  syncDir(dir);
  return { files: [outPath, dataPath], bytes: encoded.len + end.at };
}

/** Makes the renames durable (best effort: not every platform can sync a folder). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // ignore
  }
}
