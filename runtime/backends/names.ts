// The backend names, without importing tfjs: the CLI validates `--backend` with these
// before anything heavy is loaded. runtime/backends/select.ts re-exports them.

export type BackendName = 'auto' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu' | 'onnxruntime';
export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'webgpu', 'tensorflow', 'wasm', 'cpu', 'onnxruntime'];

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}
