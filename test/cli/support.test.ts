import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/cli/npy.js';
import { parseInputFlag, readExports } from '../../src/cli/signature.js';

describe('npy files', () => {
  it('round-trips float32, int32 and bool arrays', () => {
    for (const a of [
      { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.from([1, -2.5, 3, 4, 5, 6.25]) },
      { dtype: 'int32' as const, shape: [4], data: Int32Array.from([1, -2, 3, 2 ** 30]) },
      { dtype: 'bool' as const, shape: [1, 2], data: Uint8Array.from([1, 0]) },
    ]) {
      const b = readNpy(writeNpy(a));
      expect(b.dtype).toBe(a.dtype);
      expect(b.shape).toEqual(a.shape);
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
    }
  });

  it('reads a float64 file as NumPy writes it (header padded to 64 bytes)', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    const padded = header + ' '.repeat(128 - 10 - header.length - 1) + '\n';
    const buf = new Uint8Array(10 + padded.length + 24);
    buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(buf.buffer).setUint16(8, padded.length, true);
    buf.set(new TextEncoder().encode(padded), 10);
    const dv = new DataView(buf.buffer, 10 + padded.length);
    [0.5, -1, 1e10].forEach((v, i) => dv.setFloat64(8 * i, v, true));
    const a = readNpy(buf);
    expect(a.dtype).toBe('float32');
    expect(Array.from(a.data)).toEqual([0.5, -1, Math.fround(1e10)]);
    expect(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toThrow(/not a \.npy file/);
  });
});

describe('input signatures', () => {
  it('reads gc.Input<dtype, shape> parameter types with ts-morph', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sig-'));
    const file = path.join(dir, 'm.ts');
    writeFileSync(file, `
      import * as gc from 'graphc';
      export function predict(x: gc.Input<'float32', ['batch', 784]>, ids: gc.Input<'int32', [null, 3]>) { return x; }
      export const score = (x: gc.Input<'float32', [2, 'n']>) => x;
      export function untyped(x: number) { return x; }
      export const model = { predict: 1 };
    `);
    const ex = readExports(file);
    const by = (n: string) => ex.find((e) => e.name === n)!;
    expect(by('predict').specs).toEqual([
      { shape: ['batch', 784], dtype: 'float32', name: 'x' },
      { shape: [null, 3], dtype: 'int32', name: 'ids' },
    ]);
    expect(by('score').specs).toEqual([{ shape: [2, 'n'], dtype: 'float32', name: 'x' }]);
    expect(by('untyped').specs).toBeUndefined();
    expect(by('untyped').why).toMatch(/parameter 'x' has type number/);
    expect(by('model').kind).toBe('value');
  });

  it('parses --input flags', () => {
    expect(parseInputFlag('x:float32[batch,784]')).toEqual({ shape: ['batch', 784], dtype: 'float32', name: 'x' });
    expect(parseInputFlag('ids:int32[?,3]')).toEqual({ shape: [null, 3], dtype: 'int32', name: 'ids' });
    expect(() => parseInputFlag('x:float16[2]')).toThrow(/dtype 'float16'/);
    expect(() => parseInputFlag('x[2]')).toThrow(/expected name:dtype\[dims\]/);
  });
});
