// Backend selection: which tfjs backend runs a graph, and making sure it is ready.
//
//   selectBackend(requested, opts)  decides (and says why), or throws saying what is missing;
//   ensureBackend(name)             registers and initialises that tfjs backend.
//
// No side effects on the user's eager tfjs. tfjs's implicit default backend (what tfjs picks
// on the first op when nobody called `tf.setBackend`) is the registered backend with the
// highest priority, and importing @tensorflow/tfjs-backend-wasm (priority 2) or -webgpu
// (priority 3) registers one. When graphc is the one that imports such a package (the user had
// not registered that backend), the registration is hidden from tfjs's choice: the entry in
// tfjs's factory registry is made non-enumerable, so `tf.engine().backendNames()`,
// `tf.ready()` and the first op see exactly the backends the user registered, while
// `tf.setBackend(name)` and graphc's Sessions, which name a backend, still find it. A user who
// wants wasm or webgpu for their own eager code imports the package themselves (before graphc
// loads it) or calls `tf.setBackend`. Emscripten's process-wide 'uncaughtException' and
// 'unhandledRejection' handlers, which the wasm module installs when it starts (they rethrow,
// printing a minified line of the module), are removed again.
//
// `auto` picks, in order:
//   1. tensorflow  when @tensorflow/tfjs-node-gpu is installed (and loads);
//   2. webgpu      when Dawn (npm package `webgpu`) finds a hardware adapter;
//   3. tensorflow  when @tensorflow/tfjs-node is installed (and loads);
//   4. wasm;
//   5. cpu.
// A software WebGPU adapter (SwiftShader, llvmpipe) is never picked by `auto`; an explicit
// 'webgpu' request accepts one only when asked: `allowSoftwareWebgpu: true`, or, when that
// option is left undefined, the environment variable GRAPHC_ALLOW_SOFTWARE_WEBGPU=1 (the test
// suite sets it; `allowSoftwareWebgpu: false` refuses regardless).
//
// @tensorflow/tfjs-node(-gpu) is never a dependency of graphc; it is found at run time.
//
// WebGPU in Node without a hardware GPU (SwiftShader). Dawn talks to Vulkan through the
// Vulkan loader (libvulkan.so.1), which reads its environment when Dawn creates its Vulkan
// instance: once per process, during the first adapter request. graphc sets these variables
// only for that moment (the Dawn instance and its first adapter request) and then puts the
// environment back as it was, on Linux:
//   - unless the user already chose Vulkan drivers (VK_ICD_FILENAMES, VK_DRIVER_FILES or
//     VK_ADD_DRIVER_FILES is set) and when /usr/lib/chromium/vk_swiftshader_icd.json exists
//     (Debian's `chromium` ships SwiftShader), VK_ADD_DRIVER_FILES is set to that file.
//     VK_ADD_DRIVER_FILES *adds* SwiftShader to the system's drivers, so a hardware GPU stays
//     visible (and Dawn prefers it); VK_ICD_FILENAMES would have hidden it.
//   - quiet (GRAPHC_LOG not debug/verbose): in that same case, and unless the user set
//     VK_LOADER_DRIVERS_DISABLE or VK_LOADER_DRIVERS_SELECT, Mesa's lavapipe (a CPU driver,
//     `*lvp*`) is disabled: SwiftShader is the software adapter graphc uses, and Dawn rejects
//     Mesa 22's lavapipe with a "Warning: Vulkan shaderUniform*ArrayDynamicIndexing required"
//     on stderr. And when XDG_RUNTIME_DIR is unset or not absolute (no Wayland session, so
//     libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment."
//     when Mesa's device-select layer probes for one) and neither NODEVICE_SELECT nor
//     MESA_VK_DEVICE_SELECT is set, NODEVICE_SELECT=1 (the layer's documented switch) turns
//     that layer off; Dawn orders adapters by powerPreference itself. Anything else Dawn or a
//     driver prints (errors, warnings about other drivers) stays visible.
//   - when no system Vulkan loader is installed (Debian package libvulkan1), the loader that
//     chromium ships (/usr/lib/chromium/libvulkan.so.1) is loaded into the process
//     (RTLD_GLOBAL | RTLD_NODELETE), so that Dawn's dlopen("libvulkan.so.1") finds it.
// To choose drivers yourself, set VK_ICD_FILENAMES (or LD_LIBRARY_PATH for the loader)
// before graphc first touches WebGPU.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, type BackendName, type ConcreteBackendName, isBackendName } from './names.js';
import { engineInternals } from './tfjs_engine.js';
import { logLevel } from './log.js';
import { bundledProviders, cudaLibrariesPresent, EXECUTION_PROVIDERS, loadOrt, ORT_INSTALL_HINT, probeProvider } from './onnxruntime.js';
import type { ExecutionProvider, Ort } from './onnxruntime.js';

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
  /** Backend 'onnxruntime': ONNX Runtime's execution providers, in order of preference. */
  executionProviders?: readonly ExecutionProvider[];
  /**
   * Backend 'auto' with onnxruntime-node installed: ONNX Runtime with these providers is measured
   * against this tfjs backend per plan and feed shapes, and the faster runs it (Session.engineChoices).
   */
  autoOrt?: readonly ExecutionProvider[];
}

export interface SelectOptions {
  /**
   * Accept a software WebGPU adapter for an explicit 'webgpu' request. Never affects 'auto'.
   * Undefined: accepted only when the environment has GRAPHC_ALLOW_SOFTWARE_WEBGPU=1.
   */
  allowSoftwareWebgpu?: boolean;
  /**
   * Backend 'onnxruntime': its execution providers ('cpu', 'webgpu', 'cuda'), in order of
   * preference. Default: cuda where it works, then cpu (webgpu only when asked for).
   */
  executionProviders?: readonly ExecutionProvider[];
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
    case 'auto': {
      const c = await selectAuto();
      // GRAPHC_AUTO_ORT=0 keeps 'auto' on the tfjs engine alone.
      if (process.env.GRAPHC_AUTO_ORT === '0') return c;
      const loaded = await loadOrt();
      if (!loaded.ok) return { ...c, reason: `${c.reason}; onnxruntime not measured: ${loaded.why}` };
      defaultProviders ??= chooseProviders(loaded.ort, bundledProviders(loaded.ort), opts);
      const { providers } = await defaultProviders;
      return { ...c, autoOrt: providers, reason: `${c.reason}; measured per plan against onnxruntime (${providers.join(', ')})` };
    }
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
    case 'onnxruntime':
      return selectOnnxruntime(opts);
    case 'webgpu': {
      const gpu = await probeWebgpu();
      if (gpu.kind === 'hardware') {
        return { name: 'webgpu', tfjsName: 'webgpu', reason: `webgpu: requested; adapter ${gpu.label}` };
      }
      if (gpu.kind === 'software') {
        const allowed = softwareWebgpuAllowed(opts);
        if (allowed !== undefined) {
          return {
            name: 'webgpu',
            tfjsName: 'webgpu',
            reason: `webgpu: requested; software adapter ${gpu.label} allowed by ${allowed}`,
            software: true,
          };
        }
        throw new BackendUnavailableError(
          'webgpu',
          `only a software adapter was found (${gpu.label}), no hardware GPU`,
          `to run on it anyway (slow; meant for tests) pass { allowSoftwareWebgpu: true } to ` +
            `gc.compile / Session.create, or set ${ALLOW_SOFTWARE_ENV}=1 in the environment; or use 'auto'`,
        );
      }
      throw new BackendUnavailableError('webgpu', gpu.why, WEBGPU_HINT);
    }
  }
}

/** The environment variable that allows a software WebGPU adapter when the option is undefined. */
export const ALLOW_SOFTWARE_ENV = 'GRAPHC_ALLOW_SOFTWARE_WEBGPU';

/** What allows a software adapter (for the reason), or undefined when it is not allowed. */
function softwareWebgpuAllowed(opts: SelectOptions): string | undefined {
  if (opts.allowSoftwareWebgpu !== undefined) return opts.allowSoftwareWebgpu ? 'allowSoftwareWebgpu' : undefined;
  return process.env[ALLOW_SOFTWARE_ENV] === '1' ? `${ALLOW_SOFTWARE_ENV}=1` : undefined;
}

/**
 * Backend 'onnxruntime': ONNX Runtime with the providers asked for (each checked on a probe
 * model; one that fails is an error naming why), or the best that works here. Its tensors on
 * the tfjs side (feeds adopted, results) live on tfjs-cpu, which holds JavaScript arrays as given.
 */
async function selectOnnxruntime(opts: SelectOptions): Promise<BackendChoice> {
  const loaded = await loadOrt();
  if (!loaded.ok) throw new BackendUnavailableError('onnxruntime', loaded.why, ORT_INSTALL_HINT);
  const ort = loaded.ort;
  await loadCpu();
  const bundled = bundledProviders(ort);
  if (opts.executionProviders !== undefined) {
    const asked = [...opts.executionProviders];
    if (asked.length === 0) throw new BackendUnavailableError('onnxruntime', 'executionProviders is empty', `list one or more of ${EXECUTION_PROVIDERS.join(', ')}`);
    for (const p of asked) {
      if (!(EXECUTION_PROVIDERS as readonly string[]).includes(p)) {
        throw new BackendUnavailableError('onnxruntime', `unknown execution provider '${String(p)}'`, `use ${EXECUTION_PROVIDERS.join(', ')}`);
      }
      if (p === 'webgpu') {
        const gpu = await probeWebgpu();
        if (gpu.kind === 'software' && softwareWebgpuAllowed(opts) === undefined) {
          throw new BackendUnavailableError('onnxruntime', `execution provider 'webgpu': only a software adapter was found (${gpu.label}), no hardware GPU`,
            `to run on it anyway (slow; meant for tests) pass { allowSoftwareWebgpu: true }, or set ${ALLOW_SOFTWARE_ENV}=1`);
        }
      }
      if (p === 'cpu') continue;
      const why = p === 'cuda' && !cudaLibrariesPresent() ? 'its libraries are not installed (onnxruntime-node was installed without them)' : await probeOrtProvider(ort, p);
      if (why !== undefined) {
        throw new BackendUnavailableError('onnxruntime', `execution provider '${p}' does not work here: ${why}`,
          p === 'cuda' ? 'cuda needs CUDA 12 and cuDNN 9, and onnxruntime-node installed without ONNXRUNTIME_NODE_INSTALL=skip; or use cpu'
            : 'webgpu needs a Vulkan loader (Debian: libvulkan1) and a GPU driver; or use cpu');
      }
    }
    return { name: 'onnxruntime', tfjsName: 'cpu', reason: `onnxruntime: requested; providers ${asked.join(', ')}`, executionProviders: asked };
  }
  defaultProviders ??= chooseProviders(ort, bundled, opts);
  const { providers, notes } = await defaultProviders;
  return { name: 'onnxruntime', tfjsName: 'cpu', reason: `onnxruntime: providers ${providers.join(', ')} (${notes.join('; ')})`, executionProviders: providers };
}

/** The default providers, chosen once per process. */
let defaultProviders: Promise<{ providers: ExecutionProvider[]; notes: string[] }> | undefined;

async function chooseProviders(ort: Ort, bundled: readonly ExecutionProvider[], opts: SelectOptions): Promise<{ providers: ExecutionProvider[]; notes: string[] }> {
  void opts;
  const notes: string[] = [];
  const providers: ExecutionProvider[] = [];
  // Probed only where its libraries were installed (ORT logs a failed load to stderr whatever its log level).
  const cudaWhy = cudaLibrariesPresent() ? await probeProvider(ort, 'cuda') : 'not installed (onnxruntime-node was installed without its CUDA libraries)';
  if (cudaWhy === undefined) providers.push('cuda');
  else notes.push(`cuda: ${cudaWhy}`);
  // WebGPU only when asked for (executionProviders: ['webgpu', 'cpu']): ORT 1.30's WebGPU Conv is
  // wrong for some channel counts (6→8, 9→12 on SwiftShader, test/runtime/executors/onnxruntime_webgpu.test.ts)
  // and its MaxPool has no Indices output, so it is not a default that could give wrong numbers.
  if (bundled.includes('webgpu')) notes.push("webgpu: only when asked for (ORT 1.30's WebGPU Conv is wrong for some channel counts)");
  providers.push('cpu');
  return { providers, notes };
}

/**
 * probeProvider, with the Vulkan environment of prepareVulkan for 'webgpu': ORT's WebGPU provider
 * has its own Dawn, which creates its Vulkan instance at ORT's first WebGPU session (this probe)
 * and keeps it for the process (without SwiftShader added, no adapter is found on a machine without a GPU).
 */
async function probeOrtProvider(ort: Ort, p: ExecutionProvider): Promise<string | undefined> {
  const restoreEnv = p === 'webgpu' ? prepareVulkan() : () => {};
  try {
    return await probeProvider(ort, p);
  } finally {
    restoreEnv();
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
 * Idempotent; concurrent calls share one initialisation. Does not refuse a software WebGPU
 * adapter: that is selectBackend's decision.
 *
 * The global backend (`tf.getBackend()`) stays as it was, with one exception: when the user has
 * not chosen one yet (no op ran, no `tf.setBackend`), tfjs's default is settled as the user's
 * first op would settle it (`tf.ready()`: the highest-priority backend the user registered,
 * never one graphc registered). A Session switches the global backend while it runs and puts
 * the previous one back; with none to put back, graphc's backend would stay the user's default.
 */
export async function ensureBackend(name: ConcreteBackendName): Promise<string> {
  let p = initialised.get(name);
  if (p !== undefined && live.has(name) && engineInternals().registry[name] == null) {
    // tf.engine().reset() (or tf.removeBackend) dropped the instance: initialise it again.
    initialised.delete(name);
    live.delete(name);
    p = undefined;
  }
  if (p === undefined) {
    const started = initialise(name);
    p = started;
    initialised.set(name, started);
    started.then(() => live.add(name), () => {
      // A failed attempt may be retried (e.g. after installing a package).
      if (initialised.get(name) === started) initialised.delete(name);
    });
  }
  const tfjsName = await p;
  await settleUserDefault();
  return tfjsName;
}

/** Backends whose initialisation finished (their instance is in tfjs's registry unless someone removed it). */
const live = new Set<ConcreteBackendName>();

/** Makes tfjs choose its default backend now, as the user's first op would, when none is chosen yet. */
async function settleUserDefault(): Promise<void> {
  const engine = engineInternals();
  if (engine.backendName != null || engine.pendingBackendInit != null) return;
  try {
    await tf.ready();
  } catch {
    // No backend of the user's initialises; their own first op reports that, not graphc.
  }
}

async function initialise(name: ConcreteBackendName): Promise<string> {
  switch (name) {
    case 'cpu':
      await loadCpu();
      break;
    case 'onnxruntime': {
      // ONNX Runtime runs the plans; tfjs-cpu holds the tensors on the tfjs side.
      const loaded = await loadOrt();
      if (!loaded.ok) throw new BackendUnavailableError('onnxruntime', loaded.why, ORT_INSTALL_HINT);
      await loadCpu();
      await initialiseTfjsBackend('cpu', 'cpu');
      return 'cpu';
    }
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
  // 'onnxruntime' holds tfjs-side tensors on tfjs-cpu, which is not its own to remove.
  if (tfjsName === undefined || name === 'onnxruntime') return;
  const engine = engineInternals();
  const instance = engine.registry[tfjsName];
  const registration = engine.registryFactory[tfjsName];
  if (instance == null || registration == null) return;
  const device = (instance as { device?: { destroy(): void } }).device;
  // tf.removeBackend disposes the instance and its kernels but also forgets the factory,
  // which is registered only when the backend package is first imported: register it again.
  const wasCurrent = tf.getBackend() === tfjsName;
  try {
    tf.removeBackend(tfjsName);
  } catch {
    // The instance's own dispose failed: a tfjs-wasm kernel that trapped can leave the wasm heap
    // corrupt, and freeing it then traps again ("memory access out of bounds"). Forget the
    // instance anyway, as tf.removeBackend would have: the next ensureBackend makes a fresh one.
    delete engine.registry[tfjsName];
    delete engine.registryFactory[tfjsName];
    if (engine.backendName === tfjsName) {
      engine.backendName = null;
      engine.backendInstance = null;
      engine.pendingBackendInit = null;
    }
  }
  tf.registerBackend(tfjsName, registration.factory, registration.priority);
  if (hiddenRegistrations.has(tfjsName)) hideRegistration(tfjsName);
  live.delete(name);
  device?.destroy();
  // Without this, tfjs's next op would pick the highest-priority backend again (webgpu),
  // re-creating what was just released.
  if (wasCurrent) await tf.setBackend(await ensureBackend('cpu'));
}

/** Releases every backend ensureBackend initialised (the CLI calls it before it exits). */
export async function releaseAllBackends(): Promise<void> {
  for (const name of [...initialised.keys()]) await releaseBackend(name);
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
  const listening = PROCESS_EVENTS.map((event) => new Set<unknown>(processEvents().listeners(event)));
  try {
    instance = await factory();
  } catch (e) {
    throw new BackendUnavailableError(name, `initialising the tfjs '${tfjsName}' backend failed: ${message(e)}`, hintFor(name));
  } finally {
    removeEmscriptenListeners(listening);
  }
  if (engine.registry[tfjsName] == null) engine.registry[tfjsName] = instance;
}

const PROCESS_EVENTS: readonly string[] = ['uncaughtException', 'unhandledRejection'];

/**
 * Emscripten's Node glue (tfjs-backend-wasm's module) installs process-wide handlers when the
 * module starts: `uncaughtException` → `if (!(ex instanceof ExitStatus)) throw ex` and
 * `unhandledRejection` → `throw reason`. They change how the user's own errors end the
 * process (the rethrow prints a line of the minified module). Those added during the
 * backend's initialisation and recognisably Emscripten's are removed.
 */
function removeEmscriptenListeners(before: Set<unknown>[]): void {
  PROCESS_EVENTS.forEach((event, i) => {
    for (const l of processEvents().listeners(event)) {
      if (before[i]!.has(l)) continue;
      const src = Function.prototype.toString.call(l).replace(/\s+/g, '');
      if (/ExitStatus/.test(src) || /^function\(reason\)\{throwreason;?\}$/.test(src)) processEvents().removeListener(event, l as (...args: unknown[]) => void);
    }
  });
}

function processEvents(): NodeJS.EventEmitter {
  return process as unknown as NodeJS.EventEmitter;
}

/** Backend registrations graphc made (by importing the package) and hid from tfjs's default choice. */
const hiddenRegistrations = new Set<string>();

/**
 * Imports a backend package that registers tfjs backend `tfjsName`; when the user had not
 * registered it before, hides the registration from tfjs's choice of a default (see the top).
 */
async function importBackendPackage<T>(tfjsName: string, load: () => Promise<T>): Promise<T> {
  const had = tfjsName in engineInternals().registryFactory;
  try {
    return await load();
  } finally {
    if (!had) hideRegistration(tfjsName);
  }
}

/**
 * Makes a factory registration non-enumerable: tfjs lists and sorts backends with
 * Object.keys(registryFactory) (backendNames, tf.ready, the first op's default) and looks one up
 * by name (`registryFactory[name]`, `name in registryFactory`) everywhere else.
 */
function hideRegistration(tfjsName: string): void {
  const factories = engineInternals().registryFactory;
  const entry = factories[tfjsName];
  if (entry === undefined) return;
  Object.defineProperty(factories, tfjsName, { value: entry, enumerable: false, configurable: true, writable: true });
  hiddenRegistrations.add(tfjsName);
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
  cpuLoaded ??= import('@tensorflow/tfjs-backend-cpu').then(() => quietTfjsBanner());
  return cpuLoaded;
}

const quietFactories = new WeakSet<object>();

/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in Node.js. To speed
 * things up dramatically, install our node backend..." (console.warn) the first time each cpu
 * backend instance stores a tensor. graphc runs the cpu backend itself (constant folding,
 * tracing, Sessions) and `auto` already picks tfjs-node when it is installed, so by default the
 * banner is dropped: instances of the registered 'cpu' backend are created with the banner
 * already shown (its `firstUse` flag off). This is all it changes; every other tfjs warning
 * stays. GRAPHC_LOG=debug (or =verbose) at the time the instance is created keeps the banner.
 */
export function quietTfjsBanner(): void {
  const engine = engineInternals();
  const quiet = (b: unknown) => {
    if (logLevel() === 'quiet' && typeof b === 'object' && b !== null && 'firstUse' in b) (b as { firstUse: boolean }).firstUse = false;
    return b;
  };
  const entry = engine.registryFactory.cpu;
  if (entry !== undefined && !quietFactories.has(entry.factory)) {
    const original = entry.factory;
    const wrapped = () => quiet(original()) as tf.KernelBackend;
    quietFactories.add(wrapped);
    entry.factory = wrapped;
  }
  const instance = engine.registry.cpu;
  if (instance != null) quiet(instance);
}

let wasmLoaded: Promise<Loaded> | undefined;
function loadWasm(): Promise<Loaded> {
  // In Node the package finds its .wasm files next to its own bundle; no setWasmPaths needed.
  wasmLoaded ??= importBackendPackage('wasm', () => import('@tensorflow/tfjs-backend-wasm')).then(
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
    await importBackendPackage('tensorflow', () => import(specifier));
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
  const existing = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  // Dawn creates its Vulkan instance (reading the loader's environment) at the first adapter request.
  const restoreEnv = existing ? () => {} : prepareVulkan();
  try {
    let dawn: Dawn;
    try {
      dawn = existing ? { gpu: existing } : await dawnGpu();
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
  } finally {
    restoreEnv();
  }
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

/** The process's one Dawn GPU object (the probe, which calls this, is done once per process). */
async function dawnGpu(): Promise<Dawn> {
  const { create, globals } = await import('webgpu');
  return { gpu: create([]), globals };
}

/**
 * Sets the Vulkan loader's environment for Dawn's instance (see the comment at the top) and
 * returns the function that puts every variable it set back as it was.
 */
function prepareVulkan(): () => void {
  if (process.platform !== 'linux') return () => {};
  const env = process.env;
  const set: Record<string, string> = {};
  const userChoseDrivers = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES;
  const quiet = logLevel() === 'quiet';
  if (!userChoseDrivers && existsSync(SWIFTSHADER_ICD)) {
    set.VK_ADD_DRIVER_FILES = SWIFTSHADER_ICD;
    if (quiet && env.VK_LOADER_DRIVERS_DISABLE === undefined && env.VK_LOADER_DRIVERS_SELECT === undefined) {
      set.VK_LOADER_DRIVERS_DISABLE = '*lvp*';
    }
  }
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (quiet && !runtimeDir?.startsWith('/') && env.NODEVICE_SELECT === undefined && env.MESA_VK_DEVICE_SELECT === undefined) {
    set.NODEVICE_SELECT = '1';
  }
  const before = Object.keys(set).map((k) => [k, env[k]] as const);
  Object.assign(env, set);
  if (!canLoad('libvulkan.so.1') && existsSync(CHROMIUM_VULKAN_LOADER)) {
    canLoad(CHROMIUM_VULKAN_LOADER);
  }
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  };
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
    await importBackendPackage('webgpu', () => import('@tensorflow/tfjs-backend-webgpu'));
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
    case 'onnxruntime':
      return ORT_INSTALL_HINT;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
