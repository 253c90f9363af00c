/** NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order): read as graphc feeds them, and written. */
import type { DType } from '../../ir/dtype.js';
import { Codes, GcError } from '../../ir/errors.js';
import { float16BitsToNumber } from '../../exporters/onnx/export/fp16.js';

export interface NpyArray {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** What each .npy element type becomes: the bytes it takes, graphc's dtype, and how to read element i. */
interface Kind { bytes: number; dtype: DType; read: (v: DataView, i: number) => number | bigint }
const KINDS: Record<string, Kind> = {
  f2: { bytes: 2, dtype: 'float32', read: (v, i) => float16BitsToNumber(v.getUint16(2 * i, true)) },
  f4: { bytes: 4, dtype: 'float32', read: (v, i) => v.getFloat32(4 * i, true) },
  f8: { bytes: 8, dtype: 'float32', read: (v, i) => v.getFloat64(8 * i, true) },
  i1: { bytes: 1, dtype: 'int32', read: (v, i) => v.getInt8(i) },
  i2: { bytes: 2, dtype: 'int32', read: (v, i) => v.getInt16(2 * i, true) },
  i4: { bytes: 4, dtype: 'int32', read: (v, i) => v.getInt32(4 * i, true) },
  i8: { bytes: 8, dtype: 'int32', read: (v, i) => v.getBigInt64(8 * i, true) },
  u1: { bytes: 1, dtype: 'int32', read: (v, i) => v.getUint8(i) },
  u2: { bytes: 2, dtype: 'int32', read: (v, i) => v.getUint16(2 * i, true) },
  u4: { bytes: 4, dtype: 'int32', read: (v, i) => v.getUint32(4 * i, true) },
  u8: { bytes: 8, dtype: 'int32', read: (v, i) => v.getBigUint64(8 * i, true) },
  b1: { bytes: 1, dtype: 'bool', read: (v, i) => v.getUint8(i) },
};

/**
 * Reads a NumPy .npy file (format 1.0, 2.0 or 3.0; little-endian; C order). `what` names the file
 * in errors. Every failure is a GcError naming the file and what is wrong: a bad magic or version,
 * a header that is cut off or cannot be parsed, a data part shorter or longer than the header's
 * shape and dtype say, an unsupported dtype, or a value that does not fit.
 *
 * What graphc feeds: float16, float32 and float64 as float32 (float64 is rounded to the nearest
 * float32; a finite value beyond float32's range is an error, not Infinity); int8/16/32 and
 * uint8/16 as int32 exactly; int64, uint32 and uint64 as int32 when every value fits, otherwise an
 * error naming the first value that does not (never a silent wrap); bool as bool (any non-zero
 * byte is true).
 */
export function readNpy(buf: Uint8Array, what = 'npy'): NpyArray {
  const bad = (message: string, help?: string) => new GcError({ code: Codes.cliNpy, message: `${what}: ${message}`, help });
  if (buf.length < 10 || !MAGIC.every((b, i) => buf[i] === b)) {
    throw bad(`not a .npy file (bad magic: the file ${buf.length < 6 ? `has only ${buf.length} bytes` : 'does not start with \\x93NUMPY'})`, 'write the array with numpy.save');
  }
  const major = buf[6]!;
  if (major < 1 || major > 3) throw bad(`.npy format version ${major}.${buf[7]} is not supported (1.0, 2.0 and 3.0 are)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const start = major === 1 ? 10 : 12;
  if (buf.length < start) throw bad(`the file ends inside the header (${buf.length} bytes)`);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (start + headerLen > buf.length) throw bad(`the header says it is ${headerLen} bytes long but the file ends after ${buf.length - start}: the file is truncated`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!/^\s*\{/.test(header) || descr === undefined || !fortran || shapeText === undefined) {
    throw bad(`cannot parse the .npy header: ${JSON.stringify(header.trim().slice(0, 200))}`, "a .npy header is a dict {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }; structured dtypes are not supported");
  }
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported', 'save with numpy.ascontiguousarray(a)');
  const dimTexts = shapeText.split(',').map((t) => t.trim());
  if (dimTexts.length > 1 && dimTexts[dimTexts.length - 1] === '') dimTexts.pop();
  if (dimTexts.length === 1 && dimTexts[0] === '') dimTexts.pop();
  if (!dimTexts.every((t) => /^\d+L?$/.test(t))) throw bad(`the shape (${shapeText}) is not a tuple of non-negative integers`);
  const shape = dimTexts.map((t) => Number(t.replace(/L$/, '')));
  const n = shape.reduce((a, b) => a * b, 1);
  if (!shape.every(Number.isSafeInteger) || !Number.isSafeInteger(n)) throw bad(`the shape (${shapeText}) has too many elements`);
  if (descr.startsWith('>') && !/^>[iu]1$|^>b1$/.test(descr)) throw bad(`big-endian arrays (dtype '${descr}') are not supported`, "convert with a.astype(a.dtype.newbyteorder('<'))");
  const kind = KINDS[descr.replace(/^[<|=>]/, '')];
  if (!kind) throw bad(`unsupported dtype '${descr}' (supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool)`);
  const off = start + headerLen;
  const need = n * kind.bytes;
  const have = buf.length - off;
  const typeText = `'${descr}' of shape (${shape.join(', ')})`;
  if (have < need) throw bad(`the data is truncated: ${typeText} needs ${need} bytes, the file holds ${have}`);
  if (have > need) throw bad(`${have - need} bytes follow the data of ${typeText} (several arrays saved to one file?)`, 'save one array a file with numpy.save');
  const view = new DataView(buf.buffer, buf.byteOffset + off, need);
  const tooBig = (i: number, v: number | bigint, range: string) => new GcError({
    code: Codes.cliNpyRange,
    message: `${what}: value ${String(v)} at index ${i} (flat) of the ${descr} array does not fit ${range}`,
    help: kind.dtype === 'int32'
      ? 'graphc feeds integers as int32 (values from -2147483648 to 2147483647); bring the values into that range before saving'
      : 'graphc feeds floats as float32 (largest finite value 3.4028235e38); scale the values before saving',
  });
  if (kind.dtype === 'float32') {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = kind.read(view, i) as number;
      data[i] = v;
      if (Number.isFinite(v) && !Number.isFinite(data[i]!)) throw tooBig(i, v, 'float32');
    }
    return { dtype: 'float32', shape, data };
  }
  if (kind.dtype === 'bool') {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getUint8(i) !== 0 ? 1 : 0;
    return { dtype: 'bool', shape, data };
  }
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = kind.read(view, i);
    const x = typeof v === 'bigint' ? (v >= -0x80000000n && v <= 0x7fffffffn ? Number(v) : NaN) : v;
    if (!(x >= -0x80000000 && x <= 0x7fffffff)) throw tooBig(i, v, 'int32');
    data[i] = x;
  }
  return { dtype: 'int32', shape, data };
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
