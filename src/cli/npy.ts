/** NumPy .npy files (format 1.0/2.0/3.0, little-endian f4/f8/i4/i8/u1/b1, C order). */
import type { DType } from '../../ir/dtype.js';

export interface NpyArray {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

export function readNpy(buf: Uint8Array, what = 'npy'): NpyArray {
  if (!MAGIC.every((b, i) => buf[i] === b)) throw new Error(`${what}: not a .npy file (bad magic)`);
  const major = buf[6]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${what}: cannot parse the .npy header: ${header.trim()}`);
  if (fortran === 'True') throw new Error(`${what}: Fortran-order arrays are not supported; save with np.ascontiguousarray`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const off = start + headerLen;
  const kind = descr.replace(/^[<|=]/, '');
  if (descr.startsWith('>')) throw new Error(`${what}: big-endian arrays are not supported`);
  const view = new DataView(buf.buffer, buf.byteOffset + off);
  switch (kind) {
    case 'f4': return { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true)) };
    case 'f8': return { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true)) };
    case 'i4': return { dtype: 'int32', shape, data: Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true)) };
    case 'i8': return { dtype: 'int32', shape, data: Int32Array.from({ length: n }, (_, i) => Number(view.getBigInt64(8 * i, true))) };
    case 'u1': return { dtype: 'int32', shape, data: Int32Array.from({ length: n }, (_, i) => view.getUint8(i)) };
    case 'b1': return { dtype: 'bool', shape, data: Uint8Array.from({ length: n }, (_, i) => view.getUint8(i)) };
    default: throw new Error(`${what}: unsupported dtype '${descr}' (use float32, float64, int32, int64, uint8 or bool)`);
  }
}

export function writeNpy(a: NpyArray): Uint8Array {
  const descr = a.dtype === 'float32' ? '<f4' : a.dtype === 'bool' ? '|b1' : '<i4';
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const bytes = a.dtype === 'bool' ? 1 : 4;
  const out = new Uint8Array(10 + header.length + a.data.length * bytes);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.length * bytes), 10 + header.length);
  return out;
}
