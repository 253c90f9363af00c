/**
 * Finds the user's call site on the current stack: the first frame that is neither graphc's
 * own library code, a package under node_modules (tfjs), nor Node internals. Every traced node
 * and every trace error carries it.
 *
 * Frames are read as V8 CallSites, not as the formatted `err.stack` text, for two reasons:
 *
 * - Under source maps (tsx, `node --enable-source-maps`, vitest) the text names the *original*
 *   sources, and tfjs's bundles map to paths such as `<root>/tfjs-core/src/engine.ts` that lie
 *   outside node_modules. A CallSite names the file that actually runs (tfjs's
 *   `node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js`), so a frame is classified by what
 *   it is, never by a name a source map gave it.
 * - Formatting (and, under source maps, mapping) every frame of a 200-frame stack was the cost
 *   of tracing. Here only the one chosen frame is mapped, once per distinct position, and each
 *   file is classified once.
 *
 * The chosen frame is mapped through the stack formatter the process has installed
 * (`Error.prepareStackTrace`: Node's source-map support, vitest's, source-map-support's), so a
 * location reads as the line the user's own stack traces show: their .ts line under tsx, a
 * source-mapped build or vitest, the .js line in a plain build run without source maps.
 */
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import type { SourceLoc } from '../../ir/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The package root: src/trace → ../.. (or dist/src/trace → ../../..). */
const root = path.basename(path.resolve(here, '../..')) === 'dist' ? path.resolve(here, '../../..') : path.resolve(here, '../..');
const LIB_DIRS = ['src', 'ir', 'runtime', 'exporters'].flatMap((d) => [path.join(root, d) + path.sep, path.join(root, 'dist', d) + path.sep]);

/**
 * Frames captured by each try, until one holds a user frame. V8 spends about 1 µs per frame
 * walked, whatever is done with the frames later, so the first try is small: a tfjs op called
 * from user code puts its caller at frame 9 below the tracer's kernel; a tfjs-layers model's
 * ops are 20 to 50 frames below the user's `predict`.
 */
const LIMITS = [10, 64, 400] as const;
const DEEP_LIMIT = LIMITS[LIMITS.length - 1]!;
/** Bounds on the caches (a long-running process that traces from ever new positions). */
const CACHE_LIMIT = 100_000;

function isLibrary(file: string): boolean {
  if (file.startsWith('node:') || file.includes(`${path.sep}node_modules${path.sep}`) || file.includes('/node_modules/')) return true;
  return LIB_DIRS.some((d) => file.startsWith(d));
}

const urlPaths = new Map<string, string | undefined>();

function toPath(file: string): string | undefined {
  if (!file.startsWith('file://')) return file;
  if (urlPaths.has(file)) return urlPaths.get(file);
  let p: string | undefined;
  try {
    p = fileURLToPath(file);
  } catch {
    p = undefined;
  }
  return remember(urlPaths, file, p);
}

/**
 * One formatted stack line ("    at fn (file:line:col)", "    at file:line:col") as a location.
 * The file part may hold spaces and parentheses; a function name comes first and holds no " (".
 */
function parseFrame(text: string): SourceLoc | undefined {
  let s = text.trim();
  if (!s.startsWith('at ')) return undefined;
  s = s.slice(3);
  if (s.startsWith('async ')) s = s.slice(6);
  if (s.endsWith(')')) {
    const open = s.indexOf(' (');
    if (open >= 0) s = s.slice(open + 2, -1);
    else if (s.startsWith('(')) s = s.slice(1, -1);
  }
  if (s.startsWith('eval at ')) return undefined; // code run by eval: no file of its own
  const m = /^(.*):(\d+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const file = toPath(m[1]!);
  if (file === undefined || file === '' || file === 'native') return undefined;
  return { file, line: Number(m[2]), col: Number(m[3]) };
}

/** The located frames of a formatted stack (`err.stack`), first line (the message) skipped. */
export function parseFrames(stack: string): SourceLoc[] {
  const out: SourceLoc[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const f = parseFrame(line);
    if (f) out.push(f);
  }
  return out;
}

function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

/** "cwd\0file" → the file as shown: relative to the working directory when inside it. */
const shown = new Map<string, string>();

function display(file: string): string {
  const cwd = process.cwd();
  const key = `${cwd}\0${file}`;
  const known = shown.get(key);
  if (known !== undefined) return known;
  const rel = path.relative(cwd, file);
  return remember(shown, key, rel.startsWith('..') || path.isAbsolute(rel) ? file : rel);
}

// ---------------------------------------------------------------------------------------------
// Capturing CallSites

type CallSite = NodeJS.CallSite;
type Prepare = (err: Error, sites: CallSite[]) => unknown;

/** The current stack as V8 CallSites, with the formatter that was installed when it was taken. */
export interface CapturedStack {
  readonly sites: readonly CallSite[];
  readonly format: Prepare | undefined;
}

const returnSites: Prepare = (_err, sites) => sites;

function sitesBelow(limit: number, below: Function): CapturedStack {
  const format = Error.prepareStackTrace as Prepare | undefined;
  const prevLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = returnSites;
  Error.stackTraceLimit = limit;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below);
    const sites = holder.stack;
    return { sites: Array.isArray(sites) ? (sites as CallSite[]) : [], format };
  } finally {
    (Error as { prepareStackTrace?: Prepare }).prepareStackTrace = format;
    Error.stackTraceLimit = prevLimit;
  }
}

/**
 * The stack below `below` down to (at least) its first user frame: a shallow capture first,
 * a deep one when that held no user frame.
 */
function capture(below: Function): CapturedStack {
  let stack: CapturedStack | undefined;
  for (const limit of LIMITS) {
    stack = sitesBelow(limit, below);
    if (stack.sites.length < limit || stack.sites.some((s) => userFileOf(s) !== null)) return stack;
  }
  return stack!;
}

/**
 * Captures the current stack once, for callers that ask it several questions
 * (`userLocation(s)`, `stackHasFunction(s, names)`): the frames below the caller, down to at
 * least the first user frame (what tfjs calls on the way from the user's line to the caller,
 * random ops included, lies above it).
 */
export function captureStack(): CapturedStack {
  return capture(captureStack);
}

/** Raw file name of a CallSite (a path, a file:// URL under tsx, `node:…`) → its path when user code. */
const userFiles = new Map<string, string | null>();

function userFile(raw: string): string | null {
  const known = userFiles.get(raw);
  if (known !== undefined) return known;
  const file = toPath(raw);
  return remember(userFiles, raw, file === undefined || isLibrary(file) ? null : file);
}

function rawFile(site: CallSite): string | undefined {
  return site.getFileName() ?? site.getScriptNameOrSourceURL() ?? undefined;
}

function userFileOf(site: CallSite): string | null {
  const raw = rawFile(site);
  return raw ? userFile(raw) : null;
}

/** Raw position ("line:col:rawFile") → the position the process's stack traces show. */
const mapped = new Map<string, SourceLoc>();

function locate(site: CallSite, raw: string, file: string, format: Prepare | undefined): SourceLoc {
  const line = site.getLineNumber() ?? 0;
  const col = site.getColumnNumber() ?? 0;
  const key = `${line}:${col}:${raw}`;
  const loc = mapped.get(key) ?? remember(mapped, key, mapPosition(site, file, line, col, format) ?? { file, line, col });
  return { file: display(loc.file), line: loc.line, col: loc.col };
}

/** An Error handed to the installed formatter to format one frame (its message is not read). */
const FORMAT_ERROR = new Error('graphc source location');

/** The position the process's stack traces show for this frame (source-mapped where they are). */
function mapPosition(site: CallSite, file: string, line: number, col: number, format: Prepare | undefined): SourceLoc | undefined {
  if (format !== undefined) {
    try {
      const text = format(FORMAT_ERROR, [site]);
      if (typeof text === 'string') {
        const lines = text.split('\n');
        const loc = parseFrame(lines[lines.length - 1]!);
        if (loc) return loc;
      }
    } catch {
      // A formatter that cannot take a lone frame: fall back to Node's own source maps.
    }
  }
  // Node versions without a default Error.prepareStackTrace: its source maps directly.
  try {
    const entry = findSourceMap(file)?.findEntry(line - 1, col - 1) as
      { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined && entry.originalColumn !== undefined) {
      const src = toPath(entry.originalSource);
      if (src !== undefined) return { file: src, line: entry.originalLine + 1, col: entry.originalColumn + 1 };
    }
  } catch {
    // No usable source map: the raw position.
  }
  return undefined;
}

function firstUserSite(stack: CapturedStack): SourceLoc | undefined {
  for (const site of stack.sites) {
    const raw = rawFile(site);
    if (!raw) continue;
    const file = userFile(raw);
    if (file !== null) return locate(site, raw, file, stack.format);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Formatted stacks (err.stack text)

/**
 * Files named in formatted stacks that are library code under another name: the sources that
 * tfjs's (or graphc's) bundles map to. Learned from the library frames of the current stack
 * the first time an unknown file is met (see `isLibraryText`).
 */
const textFiles = new Map<string, boolean>();

/**
 * Whether a file named in a formatted stack is library code. A name that is neither under
 * node_modules nor graphc's may still be a library source reached through a source map; to
 * tell, the library frames of the current stack are formatted once with the installed
 * formatter and the names they show are remembered. This relies on `stack` having been
 * captured on the current call chain, as every caller does (the trace backend, synchronously).
 */
function isLibraryText(file: string, stack: { seeded: boolean }): boolean {
  if (isLibrary(file)) return true;
  const known = textFiles.get(file);
  if (known !== undefined) return known;
  if (!stack.seeded) {
    stack.seeded = true;
    const now = sitesBelow(DEEP_LIMIT, userLocation);
    for (const site of now.sites) {
      const raw = rawFile(site);
      if (!raw || userFile(raw) !== null) continue;
      const shown = mapPosition(site, raw, site.getLineNumber() ?? 0, site.getColumnNumber() ?? 0, now.format);
      if (shown && !isLibrary(shown.file)) remember(textFiles, shown.file, true);
    }
    const learned = textFiles.get(file);
    if (learned !== undefined) return learned;
  }
  return remember(textFiles, file, false);
}

// ---------------------------------------------------------------------------------------------

/**
 * The first user frame of the current stack (or of `stack`, captured on the current call
 * chain by `captureStack()` or as `new Error().stack`), its file relative to the working
 * directory.
 */
export function userLocation(stack?: string | CapturedStack): SourceLoc | undefined {
  if (typeof stack === 'string') {
    const state = { seeded: false };
    for (const f of parseFrames(stack)) {
      if (!isLibraryText(f.file, state)) return { ...f, file: display(f.file) };
    }
    return undefined;
  }
  return firstUserSite(stack ?? capture(userLocation));
}

/** True when the stack passes through a function of one of these names (tfjs op internals). */
export function stackHasFunction(stack: string | CapturedStack, names: readonly string[]): string | undefined {
  if (typeof stack !== 'string') {
    for (const site of stack.sites) {
      const fn = site.getFunctionName();
      if (fn && names.includes(fn)) return fn;
    }
    return undefined;
  }
  for (const line of stack.split('\n')) {
    const m = /^\s*at (?:new )?([\w$.]+)/.exec(line);
    if (!m) continue;
    const fn = m[1]!.split('.').pop()!;
    if (names.includes(fn)) return fn;
  }
  return undefined;
}
