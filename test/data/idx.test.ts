import { mkdtempSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DIR, loadFashionMnist, readIdx } from '../../src/data/idx.js';

function idx(shape: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.writeUInt32BE(0x0800 | shape.length, 0);
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

describe('IDX reader', () => {
  it('reads plain and gzipped IDX files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'idx-'));
    writeFileSync(path.join(dir, 'a.idx'), idx([2, 3], [1, 2, 3, 4, 5, 255]));
    writeFileSync(path.join(dir, 'a.idx.gz'), gzipSync(idx([3], [7, 8, 9])));
    const a = readIdx(path.join(dir, 'a.idx'));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 255]);
    expect(Array.from(readIdx(path.join(dir, 'a.idx.gz')).data)).toEqual([7, 8, 9]);
    writeFileSync(path.join(dir, 'bad.idx'), Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    expect(() => readIdx(path.join(dir, 'bad.idx'))).toThrow(/not an IDX file of unsigned bytes/);
  });

  it('says how to install Fashion-MNIST when it is missing', () => {
    expect(() => loadFashionMnist('/nonexistent')).toThrow(/apt-get install dataset-fashion-mnist/);
  });

  const have = existsSync(path.join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
  if (!have) console.warn(`skipping the real Fashion-MNIST check: ${FASHION_MNIST_DIR} is absent`);
  it.skipIf(!have)('loads the real Fashion-MNIST (60000 + 10000 images, 10 balanced classes)', () => {
    const { train, test } = loadFashionMnist();
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    const counts = new Array(10).fill(0);
    for (const l of test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    expect(Math.max(...train.images.subarray(0, 784))).toBeLessThanOrEqual(1);
  });
});
