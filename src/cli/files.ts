/**
 * The files the CLI reads and writes, treated as hostile: a path given where a file is expected
 * must be a regular file; every write goes to a temporary file in the same folder, is synced and
 * renamed over the target (a failure part way leaves the old file as it was and no temporary
 * file behind); an output never replaces the command's input or a source file unless --force.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, fchmodSync } from 'node:fs';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { Codes, GcError } from '../../ir/errors.js';
import { CliError } from './cli_error.js';

function errno(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : String(err.message ?? e);
}

/**
 * `file` as a file to read (following symlinks): a CliError naming it when it is missing, a
 * GcError when it is a directory, a device (/dev/zero would be read forever) or a socket. A pipe
 * is read (`--input x=<(python make_x.py)`). `label` is how messages name it (by default the path).
 */
export function requireFile(file: string, what = 'file', label = file): Stats {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    // The CLI's one-line wording for a missing file (a dangling symlink, a path through a file: also named).
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${label}: no such file` : `${label}: cannot read it (${errno(e)})`);
  }
  if (st.isDirectory()) {
    throw new GcError({ code: Codes.cliNotAFile, message: `${label}: is a directory, not a ${what}`, help: `give the path of the ${what} itself` });
  }
  if (!st.isFile() && !st.isFIFO()) throw new GcError({ code: Codes.cliNotAFile, message: `${label}: not a regular file (a device or socket)`, help: `give the path of the ${what} itself` });
  return st;
}

/** Extensions of files the CLI reads (sources, models, data): a refusal to overwrite one says so. */
const SOURCE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx', '.json', '.onnx', '.npy']);

export interface OutputCheck {
  /** The command's input files (an output that is one of them, by device and inode, is refused). */
  inputs: string[];
  /** The extension this output is written with ('.onnx', '.npy', '.ir'). */
  ext: string;
  force?: boolean | undefined;
  /** The flag that named the output, for the message ('-o', '--save'). */
  flag: string;
}

/**
 * Refuses to write `out` over the command's input (same file: also through a symlink or a hard
 * link) or over an existing file whose extension is not the output's (a source file such as
 * self.ts), unless --force. A directory is refused always.
 */
export function checkOutput(out: string, c: OutputCheck): void {
  let st: Stats;
  try {
    st = statSync(out);
  } catch {
    return; // not there yet (a dangling symlink is replaced by the rename)
  }
  if (st.isDirectory()) throw new GcError({ code: Codes.cliOverwrite, message: `${c.flag} ${out}: is a directory`, help: `give a file name such as ${path.join(out, `model${c.ext}`)}` });
  if (!st.isFile()) return; // a device or FIFO such as /dev/null: written in place, nothing is replaced
  for (const input of c.inputs) {
    let ist: Stats;
    try {
      ist = statSync(input);
    } catch {
      continue;
    }
    if (ist.dev === st.dev && ist.ino === st.ino && !c.force) {
      throw new GcError({
        code: Codes.cliOverwrite,
        message: `${c.flag} ${out}: is the input ${input}${path.resolve(out) === path.resolve(input) ? '' : ' (the same file through a link)'}; refusing to overwrite it`,
        help: 'write to another file, or pass --force to replace the input (it is read completely first; the write is atomic)',
      });
    }
  }
  const ext = path.extname(out).toLowerCase();
  if (ext !== c.ext && !c.force) {
    const what = SOURCE_EXTENSIONS.has(ext) ? `a source file (${ext})` : `a file that is not ${c.ext}`;
    throw new GcError({
      code: Codes.cliOverwrite,
      message: `${c.flag} ${out}: exists and is ${what}; refusing to overwrite it with ${c.ext} bytes`,
      help: `write to a ${c.ext} file, or pass --force to replace it`,
    });
  }
}

/** A seam for tests: writes one chunk of the temporary file (the default is fs.writeSync). */
export type ChunkWriter = (fd: number, data: Uint8Array, offset: number, length: number) => number;

const CHUNK = 1 << 20;

/**
 * Writes `data` to `file` atomically: a temporary file in the same folder (created exclusively),
 * written, fsync'd and renamed over `file`; an existing file keeps its permission bits, and a
 * symlink at `file` is written through (its target is replaced). On any failure the temporary file
 * is removed, `file` is left as it was, and a GcError names `file` and the cause. A device or FIFO
 * (/dev/null, /dev/stdout) is written in place: there is no file to keep, and it must not be replaced.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, opts: { writeChunk?: ChunkWriter } = {}): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let target = path.resolve(file);
  let mode: number | undefined;
  let special = false;
  try {
    target = realpathSync(target); // write through a symlink, as writeFileSync would
    const st = statSync(target);
    mode = st.mode & 0o7777;
    special = !st.isFile() && !st.isDirectory();
  } catch {
    // not there yet
  }
  const write = opts.writeChunk ?? ((fd, d, off, len) => writeSync(fd, d, off, len));
  const writeAll = (fd: number) => {
    for (let off = 0; off < bytes.length;) {
      const n = write(fd, bytes, off, Math.min(CHUNK, bytes.length - off));
      if (!(n > 0)) throw new Error(`the write made no progress at byte ${off} of ${bytes.length}`);
      off += n;
    }
  };
  const failed = (e: unknown, kept: string) => new GcError({
    code: Codes.cliWrite,
    message: `${file}: the write failed (${errno(e)})${kept}`,
    help: 'check the free space and the permissions of the folder',
  });
  if (special) {
    try {
      const fd = openSync(target, 'w');
      try { writeAll(fd); } finally { closeSync(fd); }
    } catch (e) {
      throw failed(e, '');
    }
    return;
  }
  const dir = path.dirname(target);
  // Hidden, unique, and short enough for any name the target may have.
  const tmp = path.join(dir, `.${[...path.basename(target)].slice(0, 64).join('')}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o666);
    if (mode !== undefined) fchmodSync(fd, mode);
    writeAll(fd);
    fsyncSync(fd);
    if (fstatSync(fd).size !== bytes.length) throw new Error(`wrote ${fstatSync(fd).size} of ${bytes.length} bytes`);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already failing */ }
    }
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw failed(e, '; the file was left as it was');
  }
  try {
    // The rename itself is durable once the folder is synced (best effort: not every platform can).
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // ignore
  }
}

/** Windows' reserved device names (also with an extension): a file named so cannot be opened there. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;
const MAX_STEM = 120;

/**
 * A file stem made from a graph's value name: readable (letters, digits, `_`, `-`, `.` and other
 * printable characters kept), never a path (separators, control characters and characters that
 * Windows refuses become `_`), never hidden or `..` (leading dots become `_`), never a reserved
 * device name, at most 120 characters (a long name keeps its start and a hash of the whole).
 */
export function fileStem(name: string): string {
  let s = name.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f/\\<>:"|?*\u2028\u2029]/g, '_');
  s = s.replace(/^\.+/, (dots) => '_'.repeat(dots.length)).replace(/[. ]+$/, (t) => '_'.repeat(t.length));
  if (s === '') s = '_';
  if (RESERVED.test(s.split('.')[0]!)) s = `_${s}`;
  if ([...s].length > MAX_STEM) {
    let h = 0x811c9dc5;
    for (const ch of name) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193) >>> 0;
    s = `${[...s].slice(0, MAX_STEM - 9).join('')}_${h.toString(16).padStart(8, '0')}`;
  }
  return s;
}

/**
 * File names `<stem><ext>` for each name in `names`, sanitised by fileStem and unique (also on a
 * case-insensitive file system: a later collision gets `_2`, `_3`, …).
 */
export function uniqueFileNames(names: string[], ext: string): string[] {
  const taken = new Set<string>();
  return names.map((n) => {
    const stem = fileStem(n);
    let candidate = `${stem}${ext}`;
    for (let k = 2; taken.has(candidate.toLowerCase()); k++) candidate = `${stem}_${k}${ext}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

/** Whether `p` (an absolute, resolved path) lies under the folder `root` (also when root is `/`). */
export function isInside(root: string, p: string): boolean {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return p.startsWith(prefix) && p.length > prefix.length;
}

/**
 * `dir/name`, checked to stay inside `dir` once symlinks are resolved (a file there that is a
 * symlink out of `dir` is refused): a GcError otherwise.
 */
export function pathInside(dir: string, name: string, flag: string): string {
  const root = realpathSync(dir);
  const joined = path.resolve(root, name);
  const inside = (p: string) => isInside(root, p);
  let resolved = joined;
  try {
    resolved = realpathSync(joined);
  } catch {
    // not there yet
  }
  if (path.dirname(joined) !== root || !inside(resolved)) {
    throw new GcError({
      code: Codes.cliOutputPath,
      message: `${flag} ${dir}: the output file ${JSON.stringify(name)} would be written outside the folder (${resolved})`,
      help: 'remove the symlink from the folder or choose another folder',
    });
  }
  return path.join(dir, name);
}
