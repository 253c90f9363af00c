/**
 * Reading external data (exporters/onnx/import/external_data.ts) from hostile models: locations
 * that leave the model's folder (.., absolute, symlinks out, NUL), files that are not regular
 * files, ranges outside the file, overlapping or of the wrong length, malformed offsets, and the
 * byte budget. Each is GC0535 naming the tensor and reads nothing; the well-formed model reads
 * the right bytes (also through a symlink that stays inside the folder).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { readOnnxModelFile } from '../../../../exporters/onnx/import/external_data.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { fromOnnxModel } from '../../../../src/onnx_import.js';

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
let root: string;
let n = 0;

// W: f32[4,4] (64 bytes) at 0, B: f32[4] (16 bytes) at 64 of data.bin; y = x·W + B.
const W = Float32Array.from({ length: 16 }, (_, i) => i + 0.5);
const B = Float32Array.from([10, 20, 30, 40]);
const DATA = new Uint8Array(96);
DATA.set(new Uint8Array(W.buffer), 0);
DATA.set(new Uint8Array(B.buffer), 64);

type Ext = Record<string, string>;
const ext = (location: string, offset: number | string, length: number | string): Ext => ({ location, offset: String(offset), length: String(length) });

/** Writes a model folder (data.bin beside model.onnx unless told) and returns the model's path. */
function model(w: Ext, b: Ext = ext('data.bin', 64, 16), setup?: (dir: string) => void): string {
  const dir = join(root, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'data.bin'), DATA);
  setup?.(dir);
  const tensor = (name: string, dims: number[], e: Ext): onnx.ITensorProto => ({
    name, dataType: 1, dims, dataLocation: EXTERNAL, externalData: Object.entries(e).map(([key, value]) => ({ key, value })),
  });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [{ opType: 'MatMul', input: ['x', 'W'], output: ['h'], name: 'mm' }, { opType: 'Add', input: ['h', 'B'], output: ['y'], name: 'add' }],
      initializer: [tensor('W', [4, 4], w), tensor('B', [4], b)],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } }],
    },
  }).finish();
  const p = join(dir, 'model.onnx');
  writeFileSync(p, bytes);
  return p;
}

beforeAll(async () => {
  await gc.ensureBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'graphc-extread-'));
  // A file outside every model folder that a hostile location tries to reach.
  writeFileSync(join(root, 'secret.bin'), new Uint8Array(4096).fill(7));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const floats = (t: onnx.ITensorProto) => Array.from(new Float32Array(t.rawData!.slice().buffer));

describe('reading external data', () => {
  it('reads each tensor\'s range (through a symlink inside the folder too) and the model computes x·W + B', async () => {
    for (const p of [model(ext('data.bin', 0, 64)), model(ext('inner/w.bin', 0, 64), undefined, (d) => { mkdirSync(join(d, 'inner')); symlinkSync(join(d, 'data.bin'), join(d, 'inner', 'w.bin')); })]) {
      const m = readOnnxModelFile(p);
      const [w, b] = m.graph!.initializer!;
      expect(floats(w!)).toEqual(Array.from(W));
      expect(floats(b!)).toEqual(Array.from(B));
      expect(w!.dataLocation).not.toBe(EXTERNAL);
      const g = fromOnnxModel(m);
      const s = await gc.Session.create(g, { backend: 'cpu' });
      const y = (await s.run('y', { x: [1, 0, 0, 1] })) as { dataSync(): Float32Array };
      expect(Array.from(y.dataSync())).toEqual([0.5 + 12.5 + 10, 1.5 + 13.5 + 20, 2.5 + 14.5 + 30, 3.5 + 15.5 + 40]);
      s.dispose();
    }
  });

  it('without a path (bytes only) the importer says it does not read external files', () => {
    const p = model(ext('data.bin', 0, 64));
    const bytes = new Uint8Array(execFileSync('cat', [p]));
    expect(() => gc.fromOnnx(bytes)).toThrow(/tensor 'W' keeps its data in an external file, which graphc reads only with the model's path \(gc\.fromOnnxFile\(path\)/);
  });

  const cases: [string, () => string, RegExp][] = [
    ['../ out of the folder', () => model(ext('../secret.bin', 0, 64)), /location "\.\.\/secret\.bin" leaves the model's folder/],
    ['../../etc/passwd', () => model(ext('../../etc/passwd', 0, 64)), /leaves the model's folder/],
    ['a .. in the middle', () => model(ext('a/../../secret.bin', 0, 64)), /leaves the model's folder/],
    ['backslash ..', () => model(ext('..\\secret.bin', 0, 64)), /leaves the model's folder/],
    ['an absolute path', () => model(ext('/etc/passwd', 0, 64)), /"\/etc\/passwd" is an absolute path/],
    ['a Windows drive path', () => model(ext('C:\\Windows\\win.ini', 0, 64)), /is an absolute path/],
    ['a NUL byte', () => model(ext('data.bin\0.txt', 0, 64)), /NUL byte/],
    ['a symlink out of the folder', () => model(ext('link.bin', 0, 64), undefined, (d) => symlinkSync(join(root, 'secret.bin'), join(d, 'link.bin'))), /resolves to .*secret\.bin, outside the model's folder/],
    ['a symlinked folder out', () => model(ext('sub/secret.bin', 0, 64), undefined, (d) => symlinkSync(root, join(d, 'sub'))), /outside the model's folder/],
    ['/dev/zero through a symlink', () => model(ext('zero', 0, 64), undefined, (d) => symlinkSync('/dev/zero', join(d, 'zero'))), /outside the model's folder/],
    ['a FIFO', () => model(ext('fifo', 0, 64), undefined, (d) => execFileSync('mkfifo', [join(d, 'fifo')])), /"fifo" is not a regular file/],
    ['a directory', () => model(ext('inner', 0, 64), undefined, (d) => mkdirSync(join(d, 'inner'))), /"inner" is not a regular file/],
    ['a missing file', () => model(ext('nope.bin', 0, 64)), /"nope\.bin" cannot be opened \(ENOENT/],
    ['a range past the end', () => model(ext('data.bin', 64, 64), ext('data.bin', 0, 16)), /bytes 64 to 128 of "data\.bin", which has 96/],
    ['a huge offset', () => model(ext('data.bin', 2 ** 52, 64)), /bytes 4503599627370496 to .* which has 96/],
    ['overlapping ranges', () => model(ext('data.bin', 0, 64), ext('data.bin', 48, 16)), /initializer 'B': its bytes 48 to 64 of "data\.bin" overlap those of initializer 'W' \(0 to 64\)/],
    ['a length that is not the tensor\'s', () => model(ext('data.bin', 0, 32)), /external data of 32 bytes for FLOAT\[4,4\] \(needs 64\)/],
    ['a negative offset', () => model(ext('data.bin', -8, 64)), /'offset' is "-8", not a non-negative integer/],
    ['an offset in exponent form', () => model(ext('data.bin', '1e3', 64)), /'offset' is "1e3"/],
    ['no location', () => model({ offset: '0', length: '64' }), /external data without a location/],
  ];
  for (const [what, make, want] of cases) {
    it(`refuses ${what} (GC0535)`, () => {
      const p = make();
      expect(() => readOnnxModelFile(p)).toThrow(/GC0535/);
      expect(() => readOnnxModelFile(p)).toThrow(want);
    });
  }

  it('counts the bytes against the budget before reading', () => {
    const p = model(ext('data.bin', 0, 64));
    expect(() => readOnnxModelFile(p, { budget: { bytes: 79 } })).toThrow(/GC0535.*takes 80 bytes, over the import's budget of 79 bytes/);
    expect(readOnnxModelFile(p, { budget: { bytes: 80 } }).graph!.initializer![0]!.rawData!.length).toBe(64);
  });
});
