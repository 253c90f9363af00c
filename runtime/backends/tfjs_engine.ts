/**
 * tfjs's engine, as graphc uses it beyond its public API: the fields it reads or sets (private
 * in tfjs-core 4.22's typings), switching the global backend for a run (withBackend), and which
 * backend instance holds a tensor's data now.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs's Engine graphc reads or sets; `registry` holds initialised backend instances. */
export interface EngineInternals {
  backendName: string | null;
  backendInstance: tf.KernelBackend | null;
  pendingBackendInit: Promise<boolean> | null | undefined;
  registry: Record<string, tf.KernelBackend | undefined>;
  registryFactory: Record<string, { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number } | undefined>;
  profiler: unknown;
  /** The global backend's instance (initialising it when needed). */
  readonly backend: tf.KernelBackend;
  state: {
    gradientDepth: number;
    profiling: boolean;
    tensorInfo: { has(dataId: object): boolean; get(dataId: object): { backend: tf.KernelBackend } | undefined };
  };
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: unknown): tf.Tensor;
  removeDataId?(dataId: object, backend: unknown): void;
}

export function engineInternals(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/**
 * Whether kernels may be called past tfjs's engine (graphc's direct wasm calls): not while
 * gradients are recorded, the profiler runs or tfjs's debug mode is on (they need the engine).
 */
export function directCallsAllowed(): boolean {
  const state = engineInternals().state;
  return state.gradientDepth === 0 && !state.profiling && !tf.env().getBool('DEBUG');
}

/** The tfjs backend instance that holds a tensor's data now (tfjs moves data between backends lazily). */
export function holderOf(t: tf.Tensor): tf.KernelBackend | undefined {
  return engineInternals().state.tensorInfo.get(t.dataId)?.backend;
}

/** The registered name of a backend instance ('unknown' when it is not registered). */
export function backendNameOf(b: tf.KernelBackend | undefined): string {
  const reg = engineInternals().registry;
  return Object.keys(reg).find((k) => reg[k] === b) ?? 'unknown';
}

/**
 * A second reference to a tensor's data (freed with dispose), made on the backend that holds it:
 * the data stays alive while a call awaits, even if the caller frees its tensor meanwhile.
 */
export function holdTensor(t: tf.Tensor): tf.Tensor {
  const reg = engineInternals().registry;
  const holder = holderOf(t);
  const name = Object.keys(reg).find((k) => reg[k] === holder);
  return name === undefined ? t.clone() : withBackend(name, () => t.clone());
}

/** Backend instances whose kernels tf.setBackend set up (setupFunc), with the profiler it made for them. */
const setUp = new Map<string, { instance: tf.KernelBackend; profiler: unknown }>();

/**
 * Makes `name` tfjs's global backend. tf.setBackend re-runs every registered kernel's
 * setupFunc (about 90 µs on wasm); once it did so for the backend's current instance, the
 * engine's backend fields are switched directly (what setBackend sets besides the setup).
 */
function switchBackend(name: string): void {
  const engine = engineInternals();
  const instance = engine.registry[name];
  const known = setUp.get(name);
  if (instance != null && known !== undefined && known.instance === instance) {
    engine.backendName = name;
    engine.backendInstance = instance;
    engine.profiler = known.profiler;
    return;
  }
  void tf.setBackend(name);
  if (engine.backendName === name && engine.backendInstance != null && engine.backendInstance === engine.registry[name]) {
    setUp.set(name, { instance: engine.backendInstance, profiler: engine.profiler });
  }
}

/** Runs `f` with tfjs's global backend switched to `name`, restoring it afterwards. */
export function withBackend<T>(name: string, f: () => T): T {
  const prev = tf.getBackend();
  if (prev === name) return f();
  const engine = engineInternals();
  // The backend active now had its kernels set up when it became active.
  if (prev && engine.backendInstance != null && engine.registry[prev] === engine.backendInstance && !setUp.has(prev)) {
    setUp.set(prev, { instance: engine.backendInstance, profiler: engine.profiler });
  }
  switchBackend(name);
  if (tf.getBackend() !== name) throw new Error(`graphc: backend '${name}' is not initialised`);
  try {
    return f();
  } finally {
    if (prev) switchBackend(prev);
    else {
      // No global backend before: leave none (tfjs picks the user's own default on their first op).
      engine.backendName = null;
      engine.backendInstance = null;
    }
  }
}
