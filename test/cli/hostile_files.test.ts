// Hostile files given to the graphc CLI (issue 9, "Files"): weight paths in a model.json that
// leave the model's folder, output names that are paths, writes that fail part way, outputs that
// are the input or a source file, bad .npy files, directories given as files, too many --input
// specs, and a module that calls process.exit while it loads. The CLI runs as a user runs it
// (`tsx src/cli/main.ts` in a child process); the file helpers are also checked in-process with
// generated inputs.
import { spawnSync } from 'node:child_process';
import {
  chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcError } from '../../ir/errors.js';
import { onnx } from '../../exporters/onnx/proto.js';
import { checkOutput, fileStem, pathInside, uniqueFileNames, writeFileAtomic } from '../../src/cli/files.js';
import { loadLayersModelFile } from '../../src/cli/load.js';
import { readNpy, writeNpy } from '../../src/cli/npy.js';
import { model, node, T, tensor, valueInfo } from '../exporters/onnx/test_util.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsxCli = path.join(root, 'node_modules/.bin/tsx');
const mainTs = path.join(root, 'src/cli/main.ts');
// Inside the repo (modules written here resolve @tensorflow/*); *.tmp.* is git-ignored.
const dir = mkdtempSync(path.join(root, 'test/cli/hostile.tmp.'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GRAPHC_')) delete env[k];
  return env;
}

/** `graphc ...args` through tsx; `shell` wraps the command (for ulimit). */
function graphc(args: string[], opts: { shellPrefix?: string } = {}) {
  const r = opts.shellPrefix
    ? spawnSync('bash', ['-c', `${opts.shellPrefix}; exec "$0" "$@"`, tsxCli, mainTs, ...args], { cwd: dir, env: userEnv(), encoding: 'utf8', timeout: 90_000 })
    : spawnSync(tsxCli, [mainTs, ...args], { cwd: dir, env: userEnv(), encoding: 'utf8', timeout: 90_000 });
  // The status lines of long steps ('[graphc] tracing f … 0.2 s') left out: what is checked is the rest.
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.replace(/^\[graphc\] .*\n/gm, '') };
}

/** The GcError `f` throws (fails the test when it throws something else or nothing). */
function gcErrorOf(f: () => unknown): GcError {
  try {
    f();
  } catch (e) {
    if (e instanceof GcError) return e;
    throw new Error(`expected a GcError, got ${String(e)}`);
  }
  throw new Error('expected a GcError, nothing was thrown');
}

async function gcErrorOfAsync(f: () => Promise<unknown>): Promise<GcError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof GcError) return e;
    throw new Error(`expected a GcError, got ${String(e)}`);
  }
  throw new Error('expected a GcError, nothing was thrown');
}

/** A .npy file as NumPy writes it, for any descr and raw little-endian data. */
function npyBytes(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

function int64Npy(values: bigint[]): Uint8Array {
  const data = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(data.buffer).setBigInt64(8 * i, v, true));
  return npyBytes('<i8', [values.length], data);
}

/** A saved tfjs LayersModel (Dense 2→2, 24 weight bytes) in `folder`, with the given shard paths. */
async function savedModel(folder: string, paths: string[] = ['weights.bin']): Promise<{ weights: Uint8Array }> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const tfl = await import('@tensorflow/tfjs-layers');
  await tf.setBackend('cpu');
  const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 2 })] });
  let weights = new Uint8Array();
  await m.save(tf.io.withSaveHandler(async (a) => {
    mkdirSync(folder, { recursive: true });
    weights = new Uint8Array(a.weightData as ArrayBuffer);
    writeFileSync(path.join(folder, 'weights.bin'), weights);
    writeFileSync(path.join(folder, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, format: 'layers-model', weightsManifest: [{ paths, weights: a.weightSpecs }] }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return { weights };
}

function setPaths(folder: string, paths: unknown[]): void {
  const file = path.join(folder, 'model.json');
  const j = JSON.parse(readFileSync(file, 'utf8')) as { weightsManifest: { paths: unknown[] }[] };
  j.weightsManifest[0]!.paths = paths;
  writeFileSync(file, JSON.stringify(j));
}

describe('model.json weight paths stay inside the model folder', () => {
  // Outside the model folder: 24 bytes, the size of the model's weights, so that only the path check stops it.
  const secret = path.join(dir, 'secret.bin');
  const folder = path.join(dir, 'deep', 'a', 'model');
  let weights: Uint8Array;
  beforeAll(async () => {
    ({ weights } = await savedModel(folder));
    writeFileSync(secret, Uint8Array.from({ length: 24 }, (_, i) => 0x40 + i));
    mkdirSync(path.join(folder, 'sub'));
  });

  // Ways to name ../../../secret.bin (or the absolute path) from the model folder.
  const up = fc.array(fc.constantFrom('..', './..', 'sub/../..', '..//'), { minLength: 3, maxLength: 6 });
  const sep = fc.constantFrom('/', '\\');
  const escaping = fc.oneof(
    fc.tuple(up, sep).map(([ups, s]) => `${ups.join(s)}${s}secret.bin`),
    fc.constant(secret),
    fc.constant(`file://${secret}`),
    fc.constantFrom('http://localhost/secret.bin', 'C:\\secret.bin', 'c:secret.bin', '\\\\host\\share\\secret.bin', 'data:application/octet-stream;base64,AAAA'),
    fc.tuple(fc.constantFrom('sub/', './', ''), fc.constant('../')).map(([a, b]) => `${a}${b}weights.bin`),
  );

  it('refuses every escaping path with GC0601 naming model.json and the path (generated)', async () => {
    await fc.assert(fc.asyncProperty(escaping, async (p) => {
      setPaths(folder, [p]);
      const e = await gcErrorOfAsync(() => loadLayersModelFile(path.join(folder, 'model.json')));
      expect(e.code).toBe('GC0601');
      expect(e.message).toContain('model.json');
      expect(e.message).toContain(JSON.stringify(p));
    }), { numRuns: 60, seed: 9 });
  });

  it('refuses a symlink (file or folder) that resolves outside, and accepts one that stays inside', async () => {
    symlinkSync(secret, path.join(folder, 'link.bin'));
    symlinkSync(path.dirname(secret), path.join(folder, 'linkdir'));
    symlinkSync(path.join(folder, 'weights.bin'), path.join(folder, 'inside.bin'));
    for (const p of ['link.bin', 'linkdir/secret.bin']) {
      setPaths(folder, [p]);
      const e = await gcErrorOfAsync(() => loadLayersModelFile(path.join(folder, 'model.json')));
      expect(e.code).toBe('GC0601');
      expect(e.message).toMatch(new RegExp(`model\\.json: weight path "${p}" resolves to .*secret\\.bin \\(through a symlink\\)`));
    }
    setPaths(folder, ['inside.bin']);
    const m = await loadLayersModelFile(path.join(folder, 'model.json'));
    const read = await (await import('@tensorflow/tfjs-core')).concat(m.getWeights().map((w) => w.flatten())).data<'float32'>();
    const got = new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
    expect(Array.from(got)).toEqual(Array.from(weights));
  });

  it('a missing shard, a directory, and bytes that differ from the manifest are errors naming the file', async () => {
    const cases: [unknown[], string, RegExp][] = [
      [['nope.bin'], 'GC0602', /model\.json: weight file nope\.bin is missing/],
      [['sub'], 'GC0602', /model\.json: weight file sub is a directory/],
      [['weights.bin', 'weights.bin'], 'GC0603', /model\.json: weight group 0 declares 24 bytes .* hold 48 bytes/],
    ];
    writeFileSync(path.join(folder, 'short.bin'), weights.subarray(0, 20));
    cases.push([['short.bin'], 'GC0603', /declares 24 bytes \(2 weights\) but its files "short\.bin" hold 20 bytes/]);
    for (const [paths, code, message] of cases) {
      setPaths(folder, paths);
      const e = await gcErrorOfAsync(() => loadLayersModelFile(path.join(folder, 'model.json')));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    }
  });

  it('graphc export refuses ../ weight paths: the outside file never reaches the ONNX file', () => {
    setPaths(folder, ['../../../secret.bin']);
    const out = path.join(dir, 'leak.onnx');
    const r = graphc(['export', path.join(folder, 'model.json'), '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: error\[GC0601\]: .*model\.json: weight path "\.\.\/\.\.\/\.\.\/secret\.bin" goes up a folder/);
    expect(existsSync(out)).toBe(false);
    setPaths(folder, ['weights.bin']);
  });
});

describe('run --save: output names are file names inside the folder', () => {
  it('names made safe are never paths, hidden, reserved or empty, and are unique (generated)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('..', '.', '', '../x', 'CON', 'con.txt', 'a/b', 'A/B', 'x'.repeat(400))), { maxLength: 12 }), (names) => {
      const files = uniqueFileNames(names, '.npy');
      expect(new Set(files.map((f) => f.toLowerCase())).size).toBe(names.length);
      for (const f of files) {
        expect(f.endsWith('.npy')).toBe(true);
        expect(f).not.toMatch(/[/\\\u0000-\u001f<>:"|?*]/);
        expect(f.startsWith('.')).toBe(false);
        expect(f.split('.')[0]).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)$/i);
        expect([...f].length).toBeLessThanOrEqual(130);
        expect(path.dirname(path.resolve('/d', f))).toBe('/d');
      }
    }), { numRuns: 300, seed: 9 });
    // Readable: a plain name is kept as it is.
    expect(fileStem('output_0')).toBe('output_0');
    expect(fileStem('dense/BiasAdd:0')).toBe('dense_BiasAdd_0');
  });

  it('a file in the folder that is a symlink leading out is refused', () => {
    const save = path.join(dir, 'savelink');
    mkdirSync(save);
    writeFileSync(path.join(dir, 'victim.npy'), 'victim');
    symlinkSync(path.join(dir, 'victim.npy'), path.join(save, 'y.npy'));
    const e = gcErrorOf(() => pathInside(save, 'y.npy', '--save'));
    expect(e.code).toBe('GC0607');
    expect(e.message).toMatch(/--save .*savelink: the output file "y\.npy" would be written outside the folder/);
    expect(readFileSync(path.join(dir, 'victim.npy'), 'utf8')).toBe('victim');
    // A dangling symlink out of the folder is replaced by the file, never followed.
    symlinkSync(path.join(dir, 'created.npy'), path.join(save, 'z.npy'));
    const p = pathInside(save, 'z.npy', '--save');
    expect(p).toBe(path.join(save, 'z.npy'));
    writeFileAtomic(p, 'data');
    expect(existsSync(path.join(dir, 'created.npy'))).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe('data');
  });

  it('graphc run --save writes every output inside DIR, whatever its name, with its own values', () => {
    const names = ['../../escape_out', '.hidden', 'a/b\\c', 'CON', 'Same', 'same', '..', 'plain'];
    const bytes = model({
      opset: 17,
      inputs: [valueInfo('x', T.INT32, [3])],
      outputs: names.map((n) => valueInfo(n, T.INT32, [3])),
      initializers: names.map((_, i) => tensor(`k${i}`, T.INT32, [], [i + 1])),
      nodes: names.map((n, i) => node('Add', ['x', `k${i}`], [n])),
    });
    const file = path.join(dir, 'names.onnx');
    writeFileSync(file, bytes);
    writeFileSync(path.join(dir, 'x.npy'), writeNpy({ dtype: 'int32', shape: [3], data: Int32Array.from([10, 20, 30]) }));
    const save = path.join(dir, 'save', 'out');
    const r = graphc(['run', file, '--backend', 'cpu', '--input', 'x=x.npy', '--save', save]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Each output's line, then where it was saved.
    const saved = [...r.stdout.matchAll(/^(.*): int32\[3\] .*\n {2}saved to (.*)$/gm)].map((m) => [m[1], m[2]] as const);
    expect(saved.map((s) => s[0])).toEqual(names);
    const files = readdirSync(save).sort();
    expect(files).toHaveLength(names.length);
    expect(saved.map((s) => path.basename(s[1]!)).sort()).toEqual(files);
    for (const [i, [, p]] of saved.entries()) {
      expect(path.dirname(p!)).toBe(save);
      expect(Array.from(readNpy(readFileSync(p!)).data)).toEqual([11 + i, 21 + i, 31 + i]);
    }
    expect(existsSync(path.resolve(save, '../../escape_out.npy'))).toBe(false);
    expect(readdirSync(path.join(dir, 'save'))).toEqual(['out']);
  });
});

/** An ONNX model of ~`floats`·4 bytes: y = x + w (w an initializer). */
function bigModel(floats: number): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'big', node: [node('Add', ['x', 'w'], ['y'])],
      input: [valueInfo('x', T.FLOAT, [floats])], output: [valueInfo('y', T.FLOAT, [floats])],
      initializer: [{ name: 'w', dataType: T.FLOAT, dims: [floats], rawData: new Uint8Array(Float32Array.from({ length: floats }, (_, i) => i % 7).buffer) }],
    },
  })).finish();
}

function tmpFilesIn(folder: string): string[] {
  return readdirSync(folder).filter((f) => f.endsWith('.tmp'));
}

describe('atomic writes', () => {
  it('a write that fails part way leaves the old file and no temporary file (fault at a generated byte)', () => {
    const folder = path.join(dir, 'atomic');
    mkdirSync(folder);
    const file = path.join(folder, 'out.onnx');
    const old = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    writeFileSync(file, old);
    chmodSync(file, 0o640);
    fc.assert(fc.property(fc.integer({ min: 1, max: 3_000_000 }), fc.nat(), (size, at) => {
      const failAt = at % size;
      const data = new Uint8Array(size).fill(7);
      let written = 0;
      const e = gcErrorOf(() => writeFileAtomic(file, data, {
        writeChunk: (fd, d, off, len) => {
          if (written + len > failAt) {
            const n = failAt - written;
            if (n > 0) { written += n; return writeSync(fd, d, off, n); }
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          }
          written += len;
          return writeSync(fd, d, off, len);
        },
      }));
      expect(e.code).toBe('GC0606');
      expect(e.message).toContain(file);
      expect(e.message).toContain('ENOSPC');
      expect(Array.from(readFileSync(file))).toEqual(Array.from(old));
      expect(tmpFilesIn(folder)).toEqual([]);
    }), { numRuns: 25, seed: 9 });
    // And a write that succeeds replaces the file, keeping its permission bits.
    writeFileAtomic(file, Uint8Array.from([1, 2, 3]));
    expect(Array.from(readFileSync(file))).toEqual([1, 2, 3]);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(tmpFilesIn(folder)).toEqual([]);
  });

  it('graphc optimize m.onnx -o m.onnx --force whose write fails part way (file size limit) leaves m.onnx whole', () => {
    const file = path.join(dir, 'big.onnx');
    const bytes = bigModel(200_000); // ~800 KB; the limit below is 256 KB
    writeFileSync(file, bytes);
    const r = graphc(['optimize', 'big.onnx', '-o', 'big.onnx', '--force'], { shellPrefix: 'trap "" XFSZ; ulimit -f 256' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc optimize: error\[GC0606\]: big\.onnx: the write failed \(EFBIG/);
    expect(Buffer.compare(readFileSync(file), Buffer.from(bytes))).toBe(0);
    expect(tmpFilesIn(dir)).toEqual([]);
  });

  it('/dev/null is written in place, never replaced', () => {
    expect(() => checkOutput('/dev/null', { inputs: [], ext: '.onnx', flag: '-o' })).not.toThrow();
    writeFileAtomic('/dev/null', new Uint8Array(3000));
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(readdirSync('/dev').filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('a folder made read-only: the write fails, the old file stays', () => {
    const folder = path.join(dir, 'ro');
    mkdirSync(folder);
    const file = path.join(folder, 'out.npy');
    writeFileSync(file, 'old');
    chmodSync(folder, 0o555);
    try {
      const e = gcErrorOf(() => writeFileAtomic(file, new Uint8Array(10)));
      expect(e.code).toBe('GC0606');
      expect(readFileSync(file, 'utf8')).toBe('old');
      expect(tmpFilesIn(folder)).toEqual([]);
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it('an output that is the input (same path, symlink, hard link) or a source file is refused without --force', () => {
    const m = path.join(dir, 'in.onnx');
    const bytes = bigModel(4);
    writeFileSync(m, bytes);
    symlinkSync(m, path.join(dir, 'in-sym.onnx'));
    linkSync(m, path.join(dir, 'in-hard.onnx'));
    for (const out of ['in.onnx', 'in-sym.onnx', 'in-hard.onnx']) {
      const e = gcErrorOf(() => checkOutput(path.join(dir, out), { inputs: [m], ext: '.onnx', flag: '-o' }));
      expect(e.code).toBe('GC0605');
      expect(e.message).toMatch(new RegExp(`-o .*${out}: is the input .*in\\.onnx.*refusing to overwrite it`));
      expect(() => checkOutput(path.join(dir, out), { inputs: [m], ext: '.onnx', flag: '-o', force: true })).not.toThrow();
    }
    // Through the CLI: optimize in place is refused and leaves the file; with --force it is replaced.
    const r = graphc(['optimize', 'in.onnx', '-o', 'in-sym.onnx']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc optimize: error\[GC0605\]: -o in-sym\.onnx: is the input in\.onnx \(the same file through a link\)/);
    expect(Buffer.compare(readFileSync(m), Buffer.from(bytes))).toBe(0);
    const f = graphc(['optimize', 'in.onnx', '-o', 'in.onnx', '--force']);
    expect(f.code).toBe(0);
    expect(onnx.ModelProto.decode(readFileSync(m)).graph!.node!.map((n) => n.opType)).toEqual(['Add']);
  });

  it('graphc export self.ts -o self.ts exits 1 and leaves the source', () => {
    const src = "import * as tf from '@tensorflow/tfjs-core';\nexport function f(x) { return tf.add(x, 1); }\n";
    writeFileSync(path.join(dir, 'self.ts'), src);
    writeFileSync(path.join(dir, 'other.ts'), src);
    const r = graphc(['export', 'self.ts', '--input', 'x:float32[2]', '-o', 'self.ts']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: error\[GC0605\]: -o self\.ts: is the input self\.ts; refusing to overwrite it/);
    expect(readFileSync(path.join(dir, 'self.ts'), 'utf8')).toBe(src);
    // An IR dump that would land on the input (a symlink in the dump folder) is refused the same way.
    mkdirSync(path.join(dir, 'irdump'));
    symlinkSync(path.join(dir, 'self.ts'), path.join(dir, 'irdump', '00-traced.ir'));
    const d = graphc(['export', 'self.ts', '--input', 'x:float32[2]', '-o', 'self.onnx', '--dump-ir', 'irdump']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^graphc export: error\[GC0605\]: --dump-ir irdump\/00-traced\.ir: is the input self\.ts \(the same file through a link\)/);
    expect(readFileSync(path.join(dir, 'self.ts'), 'utf8')).toBe(src);
    expect(existsSync(path.join(dir, 'self.onnx'))).toBe(false);
    // Another source file (not the input) is refused too.
    const e = gcErrorOf(() => checkOutput(path.join(dir, 'other.ts'), { inputs: [path.join(dir, 'self.ts')], ext: '.onnx', flag: '-o' }));
    expect(e.message).toMatch(/other\.ts: exists and is a source file \(\.ts\); refusing to overwrite it with \.onnx bytes/);
  });
});

describe('.npy inputs', () => {
  it('int64 values that fit int32 are read exactly; the first that does not is an error naming the file and the value (generated)', () => {
    const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(BigInt);
    const big = fc.oneof(fc.bigInt({ min: 2n ** 31n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 31n) - 1n }));
    fc.assert(fc.property(fc.array(i32, { maxLength: 20 }), fc.array(fc.oneof(i32, big), { maxLength: 20 }), (fits, mixed) => {
      const a = readNpy(int64Npy(fits), 'x.npy');
      expect(a.dtype).toBe('int32');
      expect(Array.from(a.data)).toEqual(fits.map(Number));
      const firstBad = mixed.findIndex((v) => v < -(2n ** 31n) || v >= 2n ** 31n);
      if (firstBad < 0) return;
      const e = gcErrorOf(() => readNpy(int64Npy(mixed), 'x.npy'));
      expect(e.code).toBe('GC0609');
      expect(e.message).toContain(`x.npy: value ${mixed[firstBad]} at index ${firstBad} `);
      expect(e.message).toContain('does not fit int32');
    }), { numRuns: 200, seed: 9 });
  });

  it('uint64, uint32 and float64 are converted honestly', () => {
    const u64 = new Uint8Array(16);
    new DataView(u64.buffer).setBigUint64(0, 5n, true);
    new DataView(u64.buffer).setBigUint64(8, 2n ** 64n - 1n, true);
    expect(gcErrorOf(() => readNpy(npyBytes('<u8', [2], u64), 'u.npy')).message).toMatch(/u\.npy: value 18446744073709551615 at index 1 .*does not fit int32/);
    const u32 = new Uint8Array(new Uint32Array([7, 2 ** 32 - 1]).buffer);
    expect(gcErrorOf(() => readNpy(npyBytes('<u4', [2], u32), 'u.npy')).message).toMatch(/value 4294967295 at index 1/);
    const f64 = new Uint8Array(new Float64Array([0.1, -Infinity, NaN, 1e300]).buffer);
    expect(gcErrorOf(() => readNpy(npyBytes('<f8', [4], f64), 'f.npy')).message).toMatch(/f\.npy: value 1e\+300 at index 3 .*does not fit float32/);
    const ok = readNpy(npyBytes('<f8', [3], f64.subarray(0, 24)), 'f.npy');
    expect(ok.dtype).toBe('float32');
    expect(Array.from(ok.data)).toEqual([Math.fround(0.1), -Infinity, NaN]);
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]).buffer);
    expect(Array.from(readNpy(npyBytes('<f2', [4], f16)).data)).toEqual([1, -2, Infinity, 2 ** -24]);
  });

  it('every truncation of a valid file, and malformed headers, are GcErrors naming the file', () => {
    const good = writeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    for (let n = 0; n < good.length; n++) {
      const e = gcErrorOf(() => readNpy(good.subarray(0, n), 'cut.npy'));
      expect(e.code).toBe('GC0608');
      expect(e.message).toMatch(/^error\[GC0608\]: cut\.npy: /);
    }
    const h = (header: string) => {
      const b = new Uint8Array(10 + header.length);
      b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      new DataView(b.buffer).setUint16(8, header.length, true);
      b.set(new TextEncoder().encode(header), 10);
      return b;
    };
    const cases: [Uint8Array, RegExp][] = [
      [h("{'descr': '<c8', 'fortran_order': False, 'shape': (0,), }\n"), /unsupported dtype '<c8'/],
      [h("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"), /the shape \(-1,\) is not a tuple of non-negative integers/],
      [h("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }\n"), /the data is truncated: '<f4' of shape \(100000000000\) needs 400000000000 bytes, the file holds 0/],
      [h("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n"), /cannot parse the \.npy header/],
      [h("{'descr': '>f4', 'fortran_order': False, 'shape': (0,), }\n"), /big-endian/],
      [h("{'descr': '<f4', 'fortran_order': True, 'shape': (0,), }\n"), /Fortran-order/],
      [Uint8Array.from([...good, 0, 0, 0, 0]), /4 bytes follow the data/],
      [Uint8Array.from([...good.subarray(0, 6), 9, 0, ...good.subarray(8)]), /format version 9\.0 is not supported/],
    ];
    for (const [bytes, message] of cases) {
      const e = gcErrorOf(() => readNpy(bytes, 'bad.npy'));
      expect(e.message).toMatch(/bad\.npy: /);
      expect(e.message).toMatch(message);
    }
  });

  it('graphc run: an int64 .npy beyond int32 is an error (not [2, 0]); values that fit run; a directory is named', () => {
    const file = path.join(dir, 'add.onnx');
    writeFileSync(file, model({ opset: 17, inputs: [valueInfo('x', T.INT32, [2])], outputs: [valueInfo('y', T.INT32, [2])], nodes: [node('Add', ['x', 'x'], ['y'])] }));
    writeFileSync(path.join(dir, 'big.npy'), int64Npy([2n ** 32n + 1n, -(2n ** 40n)]));
    const r = graphc(['run', 'add.onnx', '--backend', 'cpu', '--input', 'x=big.npy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc run: error\[GC0609\]: big\.npy: value 4294967297 at index 0 \(flat\) of the <i8 array does not fit int32/);
    writeFileSync(path.join(dir, 'fit.npy'), int64Npy([123456789n, -1000n]));
    mkdirSync(path.join(dir, 'out_fit'));
    const ok = graphc(['run', 'add.onnx', '--backend', 'cpu', '--input', 'x=fit.npy', '--save', 'out_fit']);
    expect(ok.code).toBe(0);
    expect(Array.from(readNpy(readFileSync(path.join(dir, 'out_fit/y.npy'))).data)).toEqual([246913578, -2000]);
    mkdirSync(path.join(dir, 'adir.npy'));
    const d = graphc(['run', 'add.onnx', '--backend', 'cpu', '--input', 'x=adir.npy']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^graphc run: error\[GC0610\]: --input x=adir\.npy: is a directory, not a \.npy file/);
  });
});

describe('directories, --input counts and process.exit', () => {
  it('a directory given as the model names it', () => {
    mkdirSync(path.join(dir, 'dir.onnx'));
    mkdirSync(path.join(dir, 'dirmodel'));
    mkdirSync(path.join(dir, 'dirmodel', 'model.json'));
    const r = graphc(['inspect', 'dir.onnx']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc inspect: error\[GC0610\]: dir\.onnx: is a directory, not a model/);
    return gcErrorOfAsync(() => loadLayersModelFile(path.join(dir, 'dirmodel', 'model.json'))).then((e) => {
      expect(e.message).toMatch(/dirmodel\/model\.json: is a directory, not a model\.json/);
    });
  });

  it('more --input specs than parameters is an error that says how many the function takes', () => {
    writeFileSync(path.join(dir, 'two.ts'), "import * as tf from '@tensorflow/tfjs-core';\nexport function g(a, b = a) { return tf.add(a, b); }\n");
    const r = graphc(['export', 'two.ts', '--input', 'a:float32[2]', '--input', 'b:float32[2]', '--input', 'c:float32[2]', '-o', 'two.onnx']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: error\[GC0611\]: two\.ts:2: 'g' takes 1 to 2 parameters, but 3 --input specs were given/);
    expect(existsSync(path.join(dir, 'two.onnx'))).toBe(false);
  });

  it('a module that calls process.exit while loading is reported, graphc exits 1', () => {
    writeFileSync(path.join(dir, 'quits.ts'), "import * as tf from '@tensorflow/tfjs-core';\nexport function f(x) { return tf.add(x, 1); }\nprocess.exit(0);\n");
    const r = graphc(['export', 'quits.ts', '--input', 'x:float32[2]', '-o', 'quits.onnx']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: error\[GC0612\]: quits\.ts: the module called process\.exit\(0\) while it was loading/);
    // Also when the module catches what the replaced process.exit throws.
    writeFileSync(path.join(dir, 'sneaky.ts'), "import * as tf from '@tensorflow/tfjs-core';\nexport function f(x) { return tf.add(x, 1); }\ntry { process.exit(3); } catch {}\n");
    const s = graphc(['run', 'sneaky.ts']);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^graphc run: error\[GC0612\]: sneaky\.ts: the module called process\.exit\(3\)/);
  });
});
