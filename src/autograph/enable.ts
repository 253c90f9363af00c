/**
 * Turns AutoGraph on for modules loaded from now on in this process: installs this graphc's
 * runtime where transformed modules look for it, and registers the loader hooks (./hooks.ts)
 * that transform them. Used by `graphc export` (src/cli/load.ts) and by
 * `node --import graphc/autograph` (./register.ts).
 */
import { register } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as runtime from './runtime.js';
import { RUNTIME_KEY } from './key.js';
import type { HookData } from './hooks.js';

let enabled = false;

/** Makes this graphc's runtime the one transformed modules call (without registering hooks). */
export function installRuntime(): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for(RUNTIME_KEY)] = runtime;
}

export function enableAutograph(): void {
  installRuntime();
  if (enabled) return;
  enabled = true;
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/autograph → the package root (dist/src/autograph → its root too).
  const up = path.resolve(here, '../..');
  const root = path.basename(up) === 'dist' ? path.dirname(up) : up;
  const exclude = ['src', 'ir', 'runtime', 'exporters', 'dist'].map((d) => path.join(root, d) + path.sep);
  const hooks = new URL(import.meta.url.endsWith('.ts') ? './hooks.ts' : './hooks.js', import.meta.url);
  register<HookData>(hooks, { data: { exclude } });
}
