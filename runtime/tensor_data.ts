/**
 * IR data on the tfjs engines. int64 does not exist in tfjs: an int64 value is an int32 tensor
 * at run time (tfDtype), and int64 data is narrowed to int32 where it becomes a tensor, each
 * value checked (narrowInt64). Every place that maps an IR dtype to a tfjs one calls tfDtype.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DType } from '../ir/dtype.js';
import { Codes, GcError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor_data.js';

/** The dtypes tfjs computes in. */
export type TfDtype = 'float32' | 'int32' | 'bool';

/** The tfjs dtype that carries an IR dtype (int64 → int32). */
export function tfDtype(d: DType): TfDtype {
  return d === 'int64' ? 'int32' : d;
}

/**
 * A tfjs tensor holding a TensorData (the typed array is not copied). int64 data is narrowed to
 * int32, as the tfjs engines compute int64: a value int32 cannot hold is a GcError (GC0408)
 * naming it (`what` says whose data it is), never a wrapped value (an index 2^32+1 read element 1).
 */
export function tensorFromData(v: TensorData, what?: () => string): tf.Tensor {
  return tf.tensor(v.data instanceof BigInt64Array ? narrowInt64(v.data, what) : v.data, [...v.shape], tfDtype(v.dtype));
}

/** int64 values as int32, each checked. */
function narrowInt64(src: BigInt64Array | BigUint64Array, what: () => string = () => 'an int64 constant'): Int32Array {
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    if (x > 2147483647n || x < -2147483648n) {
      throw new GcError({ code: Codes.int64Range, message: `${what()}: element ${i} is ${x}, outside the int32 range in which graphc's tfjs engines compute int64`,
        help: 'keep int64 values within ±2^31 (indices and shapes are); ONNX Runtime computes int64 exactly' });
    }
    out[i] = Number(x);
  }
  return out;
}
