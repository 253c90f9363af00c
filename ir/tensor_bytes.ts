/**
 * Raw little-endian bytes of TensorData and their base64 form, as used by the IR text
 * (`dense<f32[784,10]> b64"..."`). bool is one byte per element, int64 eight. Written
 * without Buffer so that ir/ stays platform-neutral.
 */
import type { DType, TypedArray } from './dtype.js';
import type { TensorData } from './tensor_data.js';
import { sizeOf } from './tensor_data.js';

const BYTES: Record<DType, number> = { float32: 4, int32: 4, bool: 1, int64: 8 };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** The elements as little-endian bytes (a copy). */
export function tensorBytes(t: TensorData): Uint8Array {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  if (!LITTLE_ENDIAN) swapInPlace(bytes, BYTES[t.dtype]);
  return bytes;
}

/** TensorData from little-endian bytes; a string says what is wrong. */
export function tensorFromBytes(dtype: DType, shape: readonly number[], bytes: Uint8Array): TensorData | string {
  const n = sizeOf(shape);
  const want = n * BYTES[dtype];
  if (bytes.length !== want) return `${bytes.length} bytes for ${n} elements of ${dtype} (needs ${want})`;
  const copy = bytes.slice();
  if (!LITTLE_ENDIAN) swapInPlace(copy, BYTES[dtype]);
  let data: TypedArray;
  switch (dtype) {
    case 'float32': data = new Float32Array(copy.buffer, 0, n); break;
    case 'int32': data = new Int32Array(copy.buffer, 0, n); break;
    case 'bool': data = copy; break;
    case 'int64': data = new BigInt64Array(copy.buffer, 0, n); break;
  }
  return { dtype, shape: [...shape], data };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INDEX = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!, b = bytes[i + 1], c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += b === undefined ? '=' : ALPHABET[(n >> 6) & 63]!;
    out += c === undefined ? '=' : ALPHABET[n & 63]!;
  }
  return out;
}

/** Decodes padded standard base64; undefined when malformed. */
export function base64Decode(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const ch = s[i + j]!;
      const last = i + 4 === s.length;
      const v = ch === '=' && last && j >= 4 - pad ? 0 : INDEX.get(ch);
      if (v === undefined) return undefined;
      n = (n << 6) | v;
    }
    for (const shift of [16, 8, 0]) if (o < out.length) out[o++] = (n >> shift) & 255;
  }
  return out;
}
