// Backend selection: which tfjs backend runs a graph, and making sure it is ready.
//
//   selectBackend(requested, opts)  decides (and says why), or throws saying what is missing;
//   ensureBackend(name)             registers and initialises that tfjs backend.
//
// Neither leaves tfjs's global backend (`tf.getBackend()`) changed. Note that tfjs's
// *implicit* default (what tfjs picks when nobody ever called `tf.setBackend`) is the
// registered backend with the highest priority, so once `webgpu` (priority 3) or `wasm`
// (priority 2) is registered, code that never set a backend sees that one. A Session
// always names its backend explicitly.
//
// `auto` picks, in order:
//   1. tensorflow  when @tensorflow/tfjs-node-gpu is installed (and loads);
//   2. webgpu      when Dawn (npm package `webgpu`) finds a hardware adapter;
//   3. tensorflow  when @tensorflow/tfjs-node is installed (and loads);
//   4. wasm;
//   5. cpu.
// A software WebGPU adapter (SwiftShader, llvmpipe) is never picked by `auto`; an explicit
// 'webgpu' request accepts one only with `allowSoftwareWebgpu: true` (tests).
//
// @tensorflow/tfjs-node(-gpu) is never a dependency of graphc; it is found at run time.
//
// WebGPU in Node without a hardware GPU (SwiftShader). Dawn talks to Vulkan through the
// Vulkan loader (libvulkan.so.1). Before the Dawn instance is created (once per process),
// on Linux:
//   - unless the user already chose Vulkan drivers (VK_ICD_FILENAMES, VK_DRIVER_FILES or
//     VK_ADD_DRIVER_FILES is set) and when /usr/lib/chromium/vk_swiftshader_icd.json exists
//     (Debian's `chromium` ships SwiftShader), VK_ADD_DRIVER_FILES is set to that file.
//     VK_ADD_DRIVER_FILES *adds* SwiftShader to the system's drivers, so a hardware GPU stays
//     visible (and Dawn prefers it); VK_ICD_FILENAMES would have hidden it.
//   - when no system Vulkan loader is installed (Debian package libvulkan1), the loader that
//     chromium ships (/usr/lib/chromium/libvulkan.so.1) is loaded into the process
//     (RTLD_GLOBAL | RTLD_NODELETE), so that Dawn's dlopen("libvulkan.so.1") finds it.
// To choose drivers yourself, set VK_ICD_FILENAMES (or LD_LIBRARY_PATH for the loader)
// before graphc first touches WebGPU.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, type BackendName, type ConcreteBackendName, isBackendName } from './backend_names.js';

export { BACKEND_NAMES, isBackendName };
export type { BackendName, ConcreteBackendName };

export interface BackendChoice {
  name: ConcreteBackendName;
  /** The name tfjs knows the backend by (`tf.setBackend(tfjsName)`). */
  tfjsName: string;
  /** What was picked and why, for logs and `graphc run`. */
  reason: string;
  /** True for a software WebGPU adapter (SwiftShader): correct but slow. */
  software?: boolean;
}

export interface SelectOptions {
  /** Accept a software WebGPU adapter for an explicit 'webgpu' request. Never affects 'auto'. */
  allowSoftwareWebgpu?: boolean;
}

/** The Vulkan driver manifest of SwiftShader as shipped by Debian's `chromium` package. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM_VULKAN_LOADER = '/usr/lib/chromium/libvulkan.so.1';

/** A backend that was asked for and cannot be used: what, why, and how to fix it. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    readonly why: string,
    readonly hint: string,
  ) {
    super(`backend '${backend}' is not available: ${why}\n  help: ${hint}`);
    this.name = 'BackendUnavailableError';
  }
}

// ---------------------------------------------------------------------------------------
// Selection

export async function selectBackend(
  requested: BackendName = 'auto',
  opts: SelectOptions = {},
): Promise<BackendChoice> {
  if (!isBackendName(requested)) {
    throw new Error(
      `unknown backend '${String(requested)}'\n  help: use one of ${BACKEND_NAMES.join(', ')}`,
    );
  }
  switch (requested) {
    case 'auto':
      return selectAuto();
    case 'cpu':
      await loadCpu();
      return { name: 'cpu', tfjsName: 'cpu', reason: 'cpu: requested' };
    case 'wasm': {
      const wasm = await loadWasm();
      if (!wasm.ok) {
        throw new BackendUnavailableError(
          'wasm',
          `@tensorflow/tfjs-backend-wasm failed to load: ${wasm.why}`,
          `reinstall dependencies (npm ci), or ask for backend 'cpu'`,
        );
      }
      return { name: 'wasm', tfjsName: 'wasm', reason: 'wasm: requested' };
    }
    case 'tensorflow': {
      for (const variant of TFJS_NODE_VARIANTS) {
        const probe = await loadTfjsNode(variant);
        if (probe.ok) {
          return { name: 'tensorflow', tfjsName: 'tensorflow', reason: `tensorflow: requested; using ${variant}` };
        }
      }
      throw tensorflowUnavailable();
    }
    case 'webgpu': {
      const gpu = await probeWebgpu();
      if (gpu.kind === 'hardware') {
        return { name: 'webgpu', tfjsName: 'webgpu', reason: `webgpu: requested; adapter ${gpu.label}` };
      }
      if (gpu.kind === 'software') {
        if (opts.allowSoftwareWebgpu) {
          return {
            name: 'webgpu',
            tfjsName: 'webgpu',
            reason: `webgpu: requested; software adapter ${gpu.label} allowed by allowSoftwareWebgpu`,
            software: true,
          };
        }
        throw new BackendUnavailableError(
          'webgpu',
          `only a software adapter was found (${gpu.label}), no hardware GPU`,
          `pass { allowSoftwareWebgpu: true } to run on it anyway (slow; meant for tests), or use 'auto'`,
        );
      }
      throw new BackendUnavailableError('webgpu', gpu.why, WEBGPU_HINT);
    }
  }
}

async function selectAuto(): Promise<BackendChoice> {
  const gpuNode = await loadTfjsNode('@tensorflow/tfjs-node-gpu');
  if (gpuNode.ok) {
    return { name: 'tensorflow', tfjsName: 'tensorflow', reason: 'tensorflow: @tensorflow/tfjs-node-gpu is installed' };
  }
  const gpu = await probeWebgpu();
  if (gpu.kind === 'hardware') {
    return {
      name: 'webgpu',
      tfjsName: 'webgpu',
      reason: `webgpu: hardware adapter ${gpu.label} (${describeMissing(gpuNode)})`,
    };
  }
  const noGpuWhy =
    gpu.kind === 'software'
      ? `no hardware WebGPU adapter (found software adapter ${gpu.label})`
      : `no hardware WebGPU adapter (${gpu.why})`;
  const cpuNode = await loadTfjsNode('@tensorflow/tfjs-node');
  if (cpuNode.ok) {
    return {
      name: 'tensorflow',
      tfjsName: 'tensorflow',
      reason: `tensorflow: @tensorflow/tfjs-node is installed (${describeMissing(gpuNode)}; ${noGpuWhy})`,
    };
  }
  const nodeWhy =
    !gpuNode.installed && !cpuNode.installed
      ? 'no @tensorflow/tfjs-node(-gpu) installed'
      : `${describeMissing(gpuNode)}; ${describeMissing(cpuNode)}`;
  const wasm = await loadWasm();
  if (wasm.ok) {
    return { name: 'wasm', tfjsName: 'wasm', reason: `wasm: ${nodeWhy} and ${noGpuWhy}` };
  }
  await loadCpu();
  return {
    name: 'cpu',
    tfjsName: 'cpu',
    reason: `cpu: ${nodeWhy}, ${noGpuWhy}, and @tensorflow/tfjs-backend-wasm failed to load (${wasm.why})`,
  };
}

// ---------------------------------------------------------------------------------------
// Initialisation

const initialised = new Map<ConcreteBackendName, Promise<string>>();

/**
 * Registers and initialises the tfjs backend for `name` and returns its tfjs name.
 * Leaves the global backend (`tf.getBackend()`) as it was. Idempotent; concurrent calls
 * share one initialisation. Does not refuse a software WebGPU adapter: that is
 * selectBackend's decision.
 */
export function ensureBackend(name: ConcreteBackendName): Promise<string> {
  let p = initialised.get(name);
  if (p === undefined) {
    p = initialise(name);
    initialised.set(name, p);
    // A failed attempt may be retried (e.g. after installing a package).
    p.catch(() => initialised.delete(name));
  }
  return p;
}

async function initialise(name: ConcreteBackendName): Promise<string> {
  switch (name) {
    case 'cpu':
      await loadCpu();
      break;
    case 'wasm': {
      const wasm = await loadWasm();
      if (!wasm.ok) {
        throw new BackendUnavailableError('wasm', `@tensorflow/tfjs-backend-wasm failed to load: ${wasm.why}`, 'reinstall dependencies (npm ci)');
      }
      break;
    }
    case 'tensorflow': {
      let ok = false;
      for (const variant of TFJS_NODE_VARIANTS) {
        if ((await loadTfjsNode(variant)).ok) {
          ok = true;
          break;
        }
      }
      if (!ok) throw tensorflowUnavailable();
      break;
    }
    case 'webgpu': {
      const gpu = await probeWebgpu();
      if (gpu.kind === 'none') throw new BackendUnavailableError('webgpu', gpu.why, WEBGPU_HINT);
      await loadTfjsWebgpu(gpu.dawn);
      break;
    }
    default: {
      const never: never = name;
      throw new Error(`unknown backend '${String(never)}'\n  help: use one of ${BACKEND_NAMES.join(', ')}`);
    }
  }
  const tfjsName = name;
  await initialiseTfjsBackend(name, tfjsName);
  return tfjsName;
}

/**
 * Frees a backend initialised by ensureBackend; a later ensureBackend creates it afresh.
 * For 'webgpu' this destroys the GPUDevice, which Node needs before it can exit: a live
 * Dawn device keeps the event loop running (https://issues.chromium.org/issues/387965810).
 * Tensors that lived on the backend are invalid afterwards. If it was tfjs's global
 * backend, the global backend is unset (as tf.removeBackend does).
 */
export async function releaseBackend(name: ConcreteBackendName): Promise<void> {
  const pending = initialised.get(name);
  if (pending === undefined) return;
  initialised.delete(name);
  const tfjsName = await pending.catch(() => undefined);
  if (tfjsName === undefined) return;
  const engine = engineInternals();
  const instance = engine.registry[tfjsName];
  const registration = engine.registryFactory[tfjsName];
  if (instance == null || registration == null) return;
  const device = (instance as { device?: { destroy(): void } }).device;
  // tf.removeBackend disposes the instance and its kernels but also forgets the factory,
  // which is registered only when the backend package is first imported: register it again.
  const wasCurrent = tf.getBackend() === tfjsName;
  tf.removeBackend(tfjsName);
  tf.registerBackend(tfjsName, registration.factory, registration.priority);
  device?.destroy();
  // Without this, tfjs's next op would pick the highest-priority backend again (webgpu),
  // re-creating what was just released.
  if (wasCurrent) await tf.setBackend(await ensureBackend('cpu'));
}

/** The parts of tfjs's Engine used here; `registry` holds initialised backend instances. */
interface EngineInternals {
  backendName: string | null;
  registry: Record<string, tf.KernelBackend | undefined>;
  registryFactory: Record<string, { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number } | undefined>;
  backendInstance: tf.KernelBackend | null;
}

function engineInternals(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

async function initialiseTfjsBackend(name: ConcreteBackendName, tfjsName: string): Promise<void> {
  const engine = engineInternals();
  if (engine.registry[tfjsName] != null) return;
  const factory = tf.findBackendFactory(tfjsName);
  if (factory == null) {
    throw new BackendUnavailableError(name, `tfjs has no backend registered as '${tfjsName}'`, 'this is a graphc bug: please report it');
  }
  // tfjs's own initialisation (`tf.setBackend`, `findBackend`) logs failures as warnings and
  // returns false; calling the factory here keeps the error, and leaves the global backend.
  let instance: tf.KernelBackend;
  try {
    instance = await factory();
  } catch (e) {
    throw new BackendUnavailableError(name, `initialising the tfjs '${tfjsName}' backend failed: ${message(e)}`, hintFor(name));
  }
  if (engine.registry[tfjsName] == null) engine.registry[tfjsName] = instance;
}

/** Restores tfjs's global backend after a package import that switched it (tfjs-node does). */
async function restoreGlobalBackend(previous: string | null | undefined): Promise<void> {
  const engine = engineInternals();
  if ((engine.backendName ?? null) === (previous ?? null)) return;
  if (previous) {
    await tf.setBackend(previous);
  } else {
    engine.backendName = null;
    engine.backendInstance = null;
  }
}

// ---------------------------------------------------------------------------------------
// Loading packages

type Loaded = { ok: true } | { ok: false; why: string };

let cpuLoaded: Promise<void> | undefined;
function loadCpu(): Promise<void> {
  cpuLoaded ??= import('@tensorflow/tfjs-backend-cpu').then(() => undefined);
  return cpuLoaded;
}

let wasmLoaded: Promise<Loaded> | undefined;
function loadWasm(): Promise<Loaded> {
  // In Node the package finds its .wasm files next to its own bundle; no setWasmPaths needed.
  wasmLoaded ??= import('@tensorflow/tfjs-backend-wasm').then(
    (): Loaded => ({ ok: true }),
    (e: unknown): Loaded => ({ ok: false, why: message(e) }),
  );
  return wasmLoaded;
}

const TFJS_NODE_VARIANTS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
type TfjsNodeVariant = (typeof TFJS_NODE_VARIANTS)[number];
type TfjsNodeProbe = { ok: true; installed: true } | { ok: false; installed: boolean; why: string };

const tfjsNodeProbes = new Map<TfjsNodeVariant, Promise<TfjsNodeProbe>>();
const requireHere = createRequire(import.meta.url);

function loadTfjsNode(variant: TfjsNodeVariant): Promise<TfjsNodeProbe> {
  let p = tfjsNodeProbes.get(variant);
  if (p === undefined) {
    p = probeTfjsNode(variant);
    tfjsNodeProbes.set(variant, p);
  }
  return p;
}

async function probeTfjsNode(variant: TfjsNodeVariant): Promise<TfjsNodeProbe> {
  try {
    requireHere.resolve(variant);
  } catch {
    return { ok: false, installed: false, why: `${variant} is not installed` };
  }
  // tfjs-node calls tf.setBackend('tensorflow') when imported; undo that.
  const previous = tf.getBackend();
  try {
    // A variable specifier: the package is optional and must not be resolved at compile time.
    const specifier: string = variant;
    await import(specifier);
  } catch (e) {
    return { ok: false, installed: true, why: `${variant} is installed but failed to load: ${message(e)}` };
  } finally {
    await restoreGlobalBackend(previous);
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    return { ok: false, installed: true, why: `${variant} loaded but registered no 'tensorflow' backend` };
  }
  return { ok: true, installed: true };
}

function describeMissing(p: TfjsNodeProbe): string {
  return p.ok ? '' : p.why;
}

function tensorflowUnavailable(): BackendUnavailableError {
  return new BackendUnavailableError(
    'tensorflow',
    'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (or they failed to load)',
    `npm install @tensorflow/tfjs-node@${tf.version_core} (or @tensorflow/tfjs-node-gpu@${tf.version_core} ` +
      `for CUDA); graphc does not depend on them. Or ask for backend 'auto'`,
  );
}

// ---------------------------------------------------------------------------------------
// WebGPU through Dawn

const WEBGPU_HINT =
  'install a GPU driver with Vulkan support, or, for tests, Debian\'s chromium package (SwiftShader at ' +
  `${SWIFTSHADER_ICD}); or use 'auto'`;

type WebgpuProbe =
  | { kind: 'hardware'; dawn: Dawn; label: string }
  | { kind: 'software'; dawn: Dawn; label: string }
  | { kind: 'none'; why: string };

let webgpuProbe: Promise<WebgpuProbe> | undefined;
function probeWebgpu(): Promise<WebgpuProbe> {
  webgpuProbe ??= doProbeWebgpu();
  return webgpuProbe;
}

async function doProbeWebgpu(): Promise<WebgpuProbe> {
  let dawn: Dawn;
  try {
    dawn = await dawnGpu();
  } catch (e) {
    return { kind: 'none', why: `the webgpu (Dawn) package failed to load: ${message(e)}` };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await dawn.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { kind: 'none', why: `requesting a WebGPU adapter failed: ${message(e)}` };
  }
  if (adapter === null) return { kind: 'none', why: 'Dawn found no WebGPU adapter' };
  const { software, label } = describeAdapter(adapter);
  return software ? { kind: 'software', dawn, label } : { kind: 'hardware', dawn, label };
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|basic render/i;

function describeAdapter(adapter: GPUAdapter): { software: boolean; label: string } {
  // `isFallbackAdapter` moved from GPUAdapter to GPUAdapterInfo in the spec; read both.
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = adapter as GPUAdapter & { isFallbackAdapter?: boolean };
  const fields = [info.vendor, info.architecture, info.device, info.description].filter((s) => !!s);
  const software =
    info.isFallbackAdapter === true || legacy.isFallbackAdapter === true || fields.some((f) => SOFTWARE_ADAPTER.test(f));
  const label = info.description ? `'${info.description}' (${info.vendor}/${info.architecture})` : `${info.vendor}/${info.architecture}`;
  return { software, label };
}

interface Dawn {
  gpu: GPU;
  /** The GPU* constructors and constants (GPUBufferUsage...) when the GPU is Dawn's. */
  globals?: object;
}

let dawnInstance: Promise<Dawn> | undefined;

/** The process's one Dawn GPU object (or the host's navigator.gpu when one exists). */
function dawnGpu(): Promise<Dawn> {
  dawnInstance ??= (async () => {
    const existing = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (existing) return { gpu: existing };
    prepareVulkan();
    const { create, globals } = await import('webgpu');
    return { gpu: create([]), globals };
  })();
  return dawnInstance;
}

/** Lets Dawn find SwiftShader on a machine without a GPU; see the comment at the top. */
function prepareVulkan(): void {
  if (process.platform !== 'linux') return;
  const env = process.env;
  const userChoseDrivers = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES;
  if (!userChoseDrivers && existsSync(SWIFTSHADER_ICD)) {
    env.VK_ADD_DRIVER_FILES = SWIFTSHADER_ICD;
  }
  if (!canLoad('libvulkan.so.1') && existsSync(CHROMIUM_VULKAN_LOADER)) {
    canLoad(CHROMIUM_VULKAN_LOADER);
  }
}

/** glibc's RTLD_NODELETE (absent from os.constants.dlopen): keep the library after dlclose. */
const RTLD_NODELETE = 0x1000;

/**
 * dlopen()s a shared library into the process and keeps it there. process.dlopen is meant
 * for Node addons, so for a plain library it throws "did not self-register" after dlopen
 * succeeded; RTLD_NODELETE keeps the library loaded past Node's dlclose, and RTLD_GLOBAL
 * lets a later dlopen of the same soname (Dawn's) find it.
 */
function canLoad(library: string): boolean {
  const flags = (os.constants.dlopen.RTLD_NOW ?? 2) | (os.constants.dlopen.RTLD_GLOBAL ?? 0x100) | RTLD_NODELETE;
  try {
    process.dlopen({ exports: {} }, library, flags);
    return true;
  } catch (e) {
    return /did not self-register/.test(message(e));
  }
}

let tfjsWebgpuLoaded: Promise<void> | undefined;

function loadTfjsWebgpu(dawn: Dawn): Promise<void> {
  tfjsWebgpuLoaded ??= (async () => {
    installNavigatorGpu(dawn);
    // Registers 'webgpu' only when navigator.gpu exists at import time.
    await import('@tensorflow/tfjs-backend-webgpu');
  })();
  return tfjsWebgpuLoaded;
}

/** tfjs-backend-webgpu reads navigator.gpu and the GPU* constants (GPUBufferUsage...) from globals. */
function installNavigatorGpu({ gpu, globals }: Dawn): void {
  const g = globalThis as Record<string, unknown> & { navigator?: { gpu?: GPU } };
  for (const [k, v] of Object.entries(globals ?? {})) if (!(k in g)) g[k] = v;
  if (g.navigator?.gpu) return;
  if (g.navigator) {
    // Node 21+ has a global `navigator` (a getter on globalThis) without `gpu`.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, enumerable: true });
  } else {
    Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
}

// ---------------------------------------------------------------------------------------

function hintFor(name: ConcreteBackendName): string {
  switch (name) {
    case 'webgpu':
      return WEBGPU_HINT;
    case 'tensorflow':
      return `reinstall @tensorflow/tfjs-node(-gpu) at version ${tf.version_core}, or ask for backend 'auto'`;
    case 'wasm':
    case 'cpu':
      return `reinstall dependencies (npm ci), or ask for backend 'auto'`;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
