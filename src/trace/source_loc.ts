/**
 * Finds the user's call site in a stack trace: the first frame that is neither graphc's
 * own library code, tfjs, nor Node internals.
 */
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import type { SourceLoc } from '../../ir/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The package root: src/trace → ../.. (or dist/src/trace → ../../..). */
const root = path.basename(path.resolve(here, '../..')) === 'dist' ? path.resolve(here, '../../..') : path.resolve(here, '../..');
const LIB_DIRS = ['src', 'ir', 'runtime', 'exporters'].flatMap((d) => [path.join(root, d) + path.sep, path.join(root, 'dist', d) + path.sep]);

const FRAME = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/;

function isLibrary(file: string): boolean {
  if (file.startsWith('node:') || file.includes(`${path.sep}node_modules${path.sep}`) || file.includes('/node_modules/')) return true;
  return LIB_DIRS.some((d) => file.startsWith(d));
}

export function parseFrames(stack: string): SourceLoc[] {
  const out: SourceLoc[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file://')) {
      try { file = fileURLToPath(file); } catch { continue; }
    }
    out.push({ file, line: Number(m[2]), col: Number(m[3]) });
  }
  return out;
}

function display(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** The first user frame of the current stack, relative to the working directory. */
export function userLocation(stack?: string): SourceLoc | undefined {
  let s = stack;
  if (s === undefined) {
    const prev = Error.stackTraceLimit;
    Error.stackTraceLimit = 200;
    s = new Error().stack ?? '';
    Error.stackTraceLimit = prev;
  }
  for (const f of parseFrames(s)) {
    if (!isLibrary(f.file)) return { ...f, file: display(f.file) };
  }
  return undefined;
}

/** True when the current stack passes through a function of this name (tfjs op internals). */
export function stackHasFunction(stack: string, names: readonly string[]): string | undefined {
  for (const line of stack.split('\n')) {
    const m = /^\s*at (?:new )?([\w$.]+)/.exec(line);
    if (!m) continue;
    const fn = m[1]!.split('.').pop()!;
    if (names.includes(fn)) return fn;
  }
  return undefined;
}
