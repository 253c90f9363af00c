/**
 * onnxruntime-node, graphc's optional engine (backend 'onnxruntime'): loaded on first use, and
 * its execution providers chosen. The engine itself is runtime/executors/onnxruntime.ts.
 *
 * Execution providers: 'cpu' (always), 'webgpu' (Dawn over Vulkan/Metal/D3D12; bundled in the
 * Linux x64, macOS and Windows binaries), 'cuda' (needs CUDA 12 and cuDNN 9 on the machine and
 * onnxruntime-node's CUDA libraries, which its install script downloads unless skipped).
 * The default: cuda where it works, then cpu; webgpu only when asked for (ORT 1.30's WebGPU Conv
 * is wrong for some channel counts: test/runtime/executors/onnxruntime_webgpu.test.ts).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as ortNs from 'onnxruntime-node';

export type Ort = typeof ortNs;
export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu', 'cuda'];

export const ORT_INSTALL_HINT = 'install it beside graphc: `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` '
  + '(the variable skips its CUDA download; leave it out on a machine with CUDA 12 for the cuda provider), or use another backend';

/**
 * Threads of ORT's CPU provider when the user gives none: one on machines with two logical CPUs
 * or fewer, ORT's own default (one per physical core) otherwise. Measured on the 2-vCPU build
 * machine (scratch runs interleaved in one process): one thread ran the MLP at batch 1024 in
 * 5.2–7.4 ms against 16.7–21.0 ms with ORT's default of two, and the MLP Adam step in 4.5–8.2 ms
 * against 14.8–23.8 ms: the pool's second thread spins for a core that the JavaScript thread and
 * the rest of the machine need.
 */
export function defaultIntraOpThreads(): number | undefined {
  return os.availableParallelism() <= 2 ? 1 : undefined;
}

let loading: Promise<{ ok: true; ort: Ort } | { ok: false; why: string }> | undefined;
let loaded: Ort | undefined;

/** onnxruntime-node once loadOrt() succeeded (Sessions are made synchronously after the backend was selected). */
export function loadedOrt(): Ort | undefined {
  return loaded;
}

/** onnxruntime-node, loaded once (a failed load may be retried after installing it). */
export function loadOrt(): Promise<{ ok: true; ort: Ort } | { ok: false; why: string }> {
  loading ??= import('onnxruntime-node').then(
    (m) => {
      loaded = ((m as unknown as { default?: Ort }).default ?? m) as Ort;
      return { ok: true as const, ort: loaded };
    },
    (e: unknown) => {
      loading = undefined;
      return { ok: false as const, why: `onnxruntime-node could not be loaded (${String((e as Error).message ?? e).split('\n')[0]})` };
    });
  return loading;
}

/**
 * An ORT session as the engine uses it. Where onnxruntime-node's native binding is reachable
 * (its dist/binding.js, as in 1.20–1.30), the session is the binding's own and `run` returns
 * synchronously: the public InferenceSession.run defers the same native call to a setImmediate
 * and validates and re-wraps what it returns, about 10 µs per run on a 0.4 ms model here
 * (scratch runs interleaved in one process). Elsewhere (another layout, GRAPHC_ORT_NATIVE=0) it
 * is the public InferenceSession.
 */
export interface OrtModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Whether run() returns synchronously (the native binding). */
  readonly native: boolean;
  run(feeds: Record<string, ortNs.Tensor>): Record<string, ortNs.Tensor> | Promise<Record<string, ortNs.Tensor>>;
  release(): void;
}

type SessionOptions = ortNs.InferenceSession.SessionOptions;

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: SessionOptions): void;
  readonly inputMetadata: readonly { name: string }[];
  readonly outputMetadata: readonly { name: string }[];
  run(feeds: Record<string, ortNs.Tensor>, fetches: Record<string, null>, options: object): Record<string, ortNs.Tensor>;
  dispose(): void;
}

let nativeCtor: (new () => NativeSession) | null | undefined;

/** onnxruntime-node's native InferenceSession class, initialised; null where it is not where 1.20–1.30 keep it. */
function nativeSessionClass(): (new () => NativeSession) | null {
  if (nativeCtor !== undefined) return nativeCtor;
  nativeCtor = null;
  if (process.env.GRAPHC_ORT_NATIVE === '0') return null;
  try {
    const req = createRequire(import.meta.url);
    const m = req(path.join(path.dirname(req.resolve('onnxruntime-node')), 'binding.js')) as { binding?: { InferenceSession?: unknown }; initOrt?: () => void };
    if (typeof m.initOrt === 'function' && typeof m.binding?.InferenceSession === 'function') {
      m.initOrt();
      nativeCtor = m.binding.InferenceSession as new () => NativeSession;
    }
  } catch {
    nativeCtor = null;
  }
  return nativeCtor;
}

/** Whether sessions of the engine run synchronously (onnxruntime-node's native binding found; see OrtModelSession). */
export function ortRunsSynchronously(): boolean {
  return nativeSessionClass() !== null;
}

/** Makes an ORT session of a model (see OrtModelSession). */
export async function openModel(ort: Ort, bytes: Uint8Array, options: SessionOptions): Promise<OrtModelSession> {
  const now = openModelNow(bytes, options);
  if (now !== undefined) return now;
  const s = await ort.InferenceSession.create(bytes, options);
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    native: false,
    run: (feeds) => s.run(feeds) as Promise<Record<string, ortNs.Tensor>>,
    release: () => { void s.release().catch(() => undefined); },
  };
}

/**
 * openModel(), synchronously, where onnxruntime-node's native binding is reachable (its
 * loadModel is synchronous); undefined elsewhere. Errors (a model ORT refuses) are thrown.
 */
export function openModelNow(bytes: Uint8Array, options: SessionOptions): OrtModelSession | undefined {
  const Native = nativeSessionClass();
  if (Native !== null) {
    const n = new Native();
    n.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
    const fetches: Record<string, null> = {};
    const outputNames = n.outputMetadata.map((m) => m.name);
    for (const k of outputNames) fetches[k] = null;
    const runOptions = {};
    return {
      inputNames: n.inputMetadata.map((m) => m.name),
      outputNames,
      native: true,
      run: (feeds) => n.run(feeds, fetches, runOptions),
      release: () => n.dispose(),
    };
  }
  return undefined;
}

/** The providers this onnxruntime-node binary carries (bundled: usable without further downloads). */
export function bundledProviders(ort: Ort): ExecutionProvider[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return list.filter((b) => b.bundled && (EXECUTION_PROVIDERS as readonly string[]).includes(b.name)).map((b) => b.name as ExecutionProvider);
}

/** A one-node model (c = Add(a, b), float32 [2]; written by the repo's ONNX bindings) to check that a provider initialises and computes. */
const PROBE_MODEL = Uint8Array.from(Buffer.from(
  'CAgSBmdyYXBoYzpPChMKAWEKAWISAWMaA2FkZCIDQWRkEgVwcm9iZVoPCgFhEgoKCAgBEgQKAggCWg8KAWISCgoICAESBAoCCAJiDwoBYxIKCggIARIECgIIAkIECgAQEQ==', 'base64'));

/** Whether `provider` runs the probe model correctly here (the reason when it does not). */
export async function probeProvider(ort: Ort, provider: ExecutionProvider): Promise<string | undefined> {
  try {
    const s = await ort.InferenceSession.create(PROBE_MODEL, { executionProviders: [provider], logSeverityLevel: 4 });
    const out = await s.run({ a: new ort.Tensor('float32', Float32Array.of(1, 2), [2]), b: new ort.Tensor('float32', Float32Array.of(10, 20), [2]) });
    const c = Array.from(out.c!.data as Float32Array);
    await s.release();
    return c[0] === 11 && c[1] === 22 ? undefined : `the probe computed [${c.join(', ')}], not [11, 22]`;
  } catch (e) {
    return String((e as Error).message ?? e).split('\n')[0];
  }
}

/** Whether onnxruntime-node's CUDA provider library is installed beside its binding (its install script downloads it). */
export function cudaLibrariesPresent(): boolean {
  try {
    const root = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(path.join(root, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}
