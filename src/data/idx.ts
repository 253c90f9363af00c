/**
 * Reading IDX files (the MNIST / Fashion-MNIST format), gzipped or not.
 * Debian's `dataset-fashion-mnist` installs the real data set under
 * /usr/share/datasets/fashion-mnist.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export function readIdx(file: string): IdxArray {
  let buf = readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const magic = buf.readUInt32BE(0);
  const type = (magic >> 8) & 0xff;
  const rank = magic & 0xff;
  if ((magic >>> 16) !== 0 || type !== 0x08) {
    throw new Error(`${file}: not an IDX file of unsigned bytes (magic 0x${magic.toString(16)})`);
  }
  const shape = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const size = shape.reduce((a, b) => a * b, 1);
  if (buf.length - offset !== size) throw new Error(`${file}: ${buf.length - offset} bytes of data for shape [${shape.join(',')}]`);
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, size) };
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface Split {
  /** Images scaled to [0, 1], shape [n, 28, 28]. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

/** Loads Fashion-MNIST; throws with an install hint when the files are missing. */
export function loadFashionMnist(dir = FASHION_MNIST_DIR): { train: Split; test: Split } {
  const file = (name: string) => {
    const p = path.join(dir, name);
    if (!existsSync(p)) throw new Error(`Fashion-MNIST not found: ${p} is missing (on Debian: apt-get install dataset-fashion-mnist)`);
    return p;
  };
  const split = (images: string, labels: string): Split => {
    const x = readIdx(file(images));
    const y = readIdx(file(labels));
    if (x.shape[0] !== y.shape[0]) throw new Error(`Fashion-MNIST: ${x.shape[0]} images but ${y.shape[0]} labels`);
    const imgs = new Float32Array(x.data.length);
    for (let i = 0; i < imgs.length; i++) imgs[i] = x.data[i]! / 255;
    return { images: imgs, labels: Int32Array.from(y.data), count: x.shape[0]! };
  };
  return {
    train: split('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    test: split('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
  };
}
