/** Loading what the CLI is pointed at: TypeScript modules (through tsx) and saved tfjs LayersModels. */
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Codes, GcError } from '../../ir/errors.js';
import { CliError } from './cli_error.js';
import { isInside, requireFile } from './files.js';

/**
 * Imports a user's module. A module that calls process.exit while it loads would end graphc
 * silently with the module's exit code: process.exit is replaced while the module loads, and a
 * call is reported as a GcError naming the module (also when the module catches what the
 * replacement throws).
 */
export async function loadTsModule(file: string): Promise<Record<string, unknown>> {
  requireFile(file, 'module');
  const abs = path.resolve(file);
  // AutoGraph: if/while/for and ternaries on tensor data in the module become gc.cond / gc.whileLoop.
  (await import('../autograph/enable.js')).enableAutograph();
  const { tsImport } = await import('tsx/esm/api');
  const realExit = process.exit;
  const exits: unknown[] = [];
  const exited = (): GcError => new GcError({
    code: Codes.cliProcessExit,
    message: `${file}: the module called process.exit(${exits[0] === undefined ? '' : JSON.stringify(exits[0])}) while it was loading`,
    help: 'a module given to graphc must not exit when imported: move the call into a main function, or guard it with `if (import.meta.url === pathToFileURL(process.argv[1]).href)`',
  });
  process.exit = ((code?: unknown) => {
    exits.push(code);
    throw exited();
  }) as typeof process.exit;
  let mod: Record<string, unknown>;
  try {
    mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  } catch (e) {
    if (exits.length > 0) throw exited();
    throw new CliError(`${file}: the module failed to load: ${String((e as Error).message).split('\n')[0]}`, e);
  } finally {
    process.exit = realExit;
  }
  if (exits.length > 0) throw exited();
  return mod;
}

interface WeightsGroup { paths: string[]; weights: tf.io.WeightsManifestEntry[] }

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

function manifestError(file: string, what: string): GcError {
  return new GcError({ code: Codes.cliManifest, message: `${file}: malformed weightsManifest: ${what}`, help: 'save the model again with model.save("file://...") from tfjs-layers' });
}

/** The bytes one manifest entry takes in its shard (checked: a shape of non-negative integers, a known dtype). */
export function entryBytes(file: string, w: tf.io.WeightsManifestEntry, where: string): number {
  if (typeof w !== 'object' || w === null || typeof w.name !== 'string') throw manifestError(file, `${where} is not {name, shape, dtype}`);
  if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw manifestError(file, `weight '${w.name}' has shape ${JSON.stringify(w.shape)}, not a list of non-negative integers`);
  const per = w.quantization ? QUANT_BYTES[w.quantization.dtype] : DTYPE_BYTES[w.dtype];
  if (per === undefined) throw manifestError(file, `weight '${w.name}' has dtype ${JSON.stringify(w.quantization ? w.quantization.dtype : w.dtype)} (expected float32, int32, bool or complex64${w.quantization ? '; quantized as uint8, uint16 or float16' : ''})`);
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n * per)) throw manifestError(file, `weight '${w.name}' of shape [${w.shape.join(',')}] is too large`);
  return n * per;
}

/**
 * A weight shard path from the manifest, resolved inside `dir` (the model's folder, real path):
 * no URL or scheme, no absolute path, no `..`, and no symlink that resolves outside the folder.
 */
function shardPath(file: string, dir: string, p: unknown): string {
  const bad = (why: string) => new GcError({
    code: Codes.cliWeightPath,
    message: `${file}: weight path ${JSON.stringify(p)} ${why}; weight files must be inside the model's folder (${dir})`,
    help: 'weightsManifest paths are file names relative to model.json, such as "group1-shard1of1.bin"',
  });
  if (typeof p !== 'string' || p === '') throw bad('is not a file name');
  if (p.includes('\0')) throw bad('contains a NUL character');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(p)) throw bad('is a URL or has a drive or scheme prefix');
  if (path.posix.isAbsolute(p) || path.win32.isAbsolute(p)) throw bad('is an absolute path');
  if (p.split(/[\\/]/).includes('..')) throw bad("goes up a folder ('..')");
  const joined = path.resolve(dir, p);
  let real: string;
  try {
    real = realpathSync(joined);
  } catch (e) {
    throw new GcError({ code: Codes.cliWeightFile, message: `${file}: weight file ${p} is missing (looked for ${joined}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
  }
  if (!isInside(dir, real)) throw bad(`resolves to ${real} (through a symlink)`);
  return real;
}

/** The largest weight data graphc reads in one piece (Node's Buffer limit, 4 GiB). */
export const MAX_WEIGHT_BYTES = 2 ** 32;

/**
 * The weights a model.json's weightsManifest declares, read from the shard files next to it with
 * the hostile-file rules: every path stays inside the model's folder (no URL, absolute path, '..'
 * or symlink out), every entry has a known dtype and a shape of non-negative integers, each group's
 * files hold exactly the bytes its entries declare, and the total is within MAX_WEIGHT_BYTES — all
 * checked before a byte is read. `hint` is the help of a malformed-manifest error.
 */
export function readWeightsManifest(file: string, manifest: unknown, hint = 'save the model again with model.save("file://...") from tfjs-layers'): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const malformed = (what: string) => new GcError({ code: Codes.cliManifest, message: `${file}: malformed weightsManifest: ${what}`, help: hint });
  if (!Array.isArray(manifest)) throw malformed('not a list of {paths, weights} groups');
  const abs = path.resolve(file);
  const dir = realpathSync(path.dirname(abs));
  // Every shard is checked, and the sizes summed, before any byte is read.
  const specs: tf.io.WeightsManifestEntry[] = [];
  const shards: { p: string; real: string; size: number }[] = [];
  for (const [gi, group] of (manifest as WeightsGroup[]).entries()) {
    if (typeof group !== 'object' || group === null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw malformed(`group ${gi} is not {paths: [...], weights: [...]}`);
    let want = 0;
    for (const [wi, w] of group.weights.entries()) {
      try {
        want += entryBytes(file, w, `group ${gi} weight ${wi}`);
      } catch (e) {
        throw e instanceof GcError && e.code === Codes.cliManifest ? new GcError({ code: Codes.cliManifest, message: e.message, help: hint }) : e;
      }
    }
    specs.push(...group.weights);
    let have = 0;
    const mine: typeof shards = [];
    for (const p of group.paths) {
      const real = shardPath(file, dir, p);
      let st;
      try {
        st = statSync(real);
      } catch (e) {
        throw new GcError({ code: Codes.cliWeightFile, message: `${file}: weight file ${p} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      }
      if (st.isDirectory()) throw new GcError({ code: Codes.cliWeightFile, message: `${file}: weight file ${p} is a directory (${real})` });
      if (!st.isFile()) throw new GcError({ code: Codes.cliWeightFile, message: `${file}: weight file ${p} is not a regular file (${real})` });
      have += st.size;
      mine.push({ p: p as string, real, size: st.size });
    }
    if (have !== want) {
      throw new GcError({
        code: Codes.cliWeightSize,
        message: `${file}: weight group ${gi} declares ${want} bytes (${group.weights.length} weights) but its files ${group.paths.map((p) => JSON.stringify(p)).join(', ')} hold ${have} bytes`,
        help: 'the weight files do not belong to this model.json, or one was truncated',
      });
    }
    shards.push(...mine);
  }
  const total = shards.reduce((n, s) => n + s.size, 0);
  if (total > MAX_WEIGHT_BYTES) {
    throw new GcError({ code: Codes.cliWeightSize, message: `${file}: the weights take ${total} bytes, over graphc's limit of ${MAX_WEIGHT_BYTES} bytes (4 GiB) for one model`, help: 'export a smaller model, or split it' });
  }
  const data = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    const fd = openSync(s.real, 'r');
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size !== s.size) throw new GcError({ code: Codes.cliWeightFile, message: `${file}: weight file ${s.p} changed while it was read` });
      for (let got = 0; got < s.size;) {
        const n = readSync(fd, data, off + got, s.size - got, got);
        if (n === 0) throw new GcError({ code: Codes.cliWeightFile, message: `${file}: weight file ${s.p} ended after ${got} of ${s.size} bytes` });
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    off += s.size;
  }
  return { specs, data: data.buffer };
}

/** The largest model.json graphc parses (a topology of a few MB is usual; weights live in the shards). */
export const MAX_MODEL_JSON_BYTES = 512 * 2 ** 20;

/** model.json parsed: a CliError when it is not JSON, a GcError when it is over MAX_MODEL_JSON_BYTES. */
export function readModelJson(file: string): unknown {
  const st = requireFile(file, 'model.json');
  if (st.isFile() && st.size > MAX_MODEL_JSON_BYTES) {
    throw new GcError({ code: Codes.cliManifest, message: `${file}: ${st.size} bytes, over graphc's limit of ${MAX_MODEL_JSON_BYTES} bytes for a model.json`, help: 'a model.json holds the topology; its weights belong in the weight files of weightsManifest' });
  }
  try {
    return JSON.parse(readFileSync(path.resolve(file), 'utf8'));
  } catch (e) {
    throw new CliError(`${file}: not a JSON file (${(e as Error).message})`);
  }
}

/** A tfjs LayersModel saved as model.json plus weight files next to it. */
export async function loadLayersModelFile(file: string): Promise<tfl.LayersModel> {
  const json = readModelJson(file) as { modelTopology?: unknown; weightsManifest?: unknown; format?: string } | null;
  if (typeof json !== 'object' || json === null || !json.modelTopology) throw new CliError(`${file}: not a tfjs LayersModel (no modelTopology)`, undefined, 'save the model with model.save("file://...") from tfjs-layers');
  const { specs, data } = readWeightsManifest(file, json.weightsManifest ?? []);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData: data }));
}
