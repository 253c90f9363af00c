/**
 * Node module loader hooks (registered by ./enable.ts through `register` from node:module): the
 * load hook runs AutoGraph's transform on user modules — ES modules loaded from file: URLs that
 * are neither under node_modules nor graphc's own code. It composes with tsx's hooks in either
 * order (the transform parses by file extension, TypeScript or the JavaScript tsx made of it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { READ_HINT } from './key.js';

export interface HookData {
  /** Folders (with a trailing separator) whose modules are never transformed: graphc's own. */
  exclude: string[];
}

let exclude: string[] = [];

export function initialize(data: HookData | undefined): void {
  exclude = data?.exclude ?? [];
}

interface LoadResult { format?: string | null; source?: string | ArrayBuffer | ArrayBufferView | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: Record<string, unknown>) => Promise<LoadResult>;

/** The file a URL names when AutoGraph should transform it, else undefined. */
export function userFile(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  let file: string;
  try {
    file = fileURLToPath(url.replace(/[?#].*$/, ''));
  } catch {
    return undefined;
  }
  if (file.split(path.sep).includes('node_modules')) return undefined;
  if (exclude.some((d) => file.startsWith(d))) return undefined;
  if (!/\.(m?[jt]s|tsx|jsx)$/.test(file)) return undefined;
  return file;
}

function text(source: LoadResult['source']): string | undefined {
  if (typeof source === 'string') return source;
  if (source instanceof ArrayBuffer) return new TextDecoder().decode(source);
  if (source && ArrayBuffer.isView(source)) return new TextDecoder().decode(source as Uint8Array);
  return undefined;
}

let transformer: typeof import('./transform.js') | undefined;

export async function load(url: string, context: Record<string, unknown>, nextLoad: NextLoad): Promise<LoadResult> {
  const r = await nextLoad(url, context);
  const file = userFile(url);
  if (file === undefined || r.format !== 'module') return r;
  let disk: string;
  try {
    disk = readFileSync(file, 'utf8');
  } catch {
    return r;
  }
  if (!READ_HINT.test(disk)) return r;
  const src = text(r.source) ?? disk;
  transformer ??= await import(new URL(import.meta.url.endsWith('.ts') ? './transform.ts' : './transform.js', import.meta.url).href) as typeof import('./transform.js');
  try {
    if (src !== disk) {
      // A hook that runs before this one (tsx, registered first) compiled the module already, its
      // lines joined: transform the file itself, and compile TypeScript here (a source map to the file).
      const out = transformer.transformSource(disk, { fileName: file });
      if (out.converted.length === 0) return r;
      return { format: 'module', source: /\.[mc]?tsx?$/.test(file) ? transformer.transpileTs(out.code, file) : out.code, shortCircuit: true };
    }
    const out = transformer.transformSource(src, { fileName: file });
    if (out.converted.length === 0) return r;
    return { ...r, source: out.code };
  } catch (e) {
    // A failure of the transform never stops a module from loading: it runs as written.
    console.warn(`graphc autograph: ${file}: the transform failed (${String((e as Error).message ?? e).split('\n')[0]}); the module runs as written`);
    return r;
  }
}
