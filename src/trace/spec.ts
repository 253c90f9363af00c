import type { DType } from '../../ir/dtype.js';
import { isDType } from '../../ir/dtype.js';
import { Codes, GcError } from '../../ir/errors.js';

/** The declared type of a compiled function's input. null = anonymous dynamic dim; a string = named symbolic dim. */
export interface TensorSpec {
  readonly shape: readonly (number | string | null)[];
  readonly dtype: DType;
  readonly name: string | undefined;
}

export function spec(shape: readonly (number | string | null)[], dtype: DType = 'float32', name?: string): TensorSpec {
  if (!Array.isArray(shape)) throw new GcError({ code: Codes.inputMismatch, message: `gc.spec: shape must be an array, got ${typeof shape}`, help: "e.g. gc.spec(['batch', 784])" });
  if (!isDType(dtype)) throw new GcError({ code: Codes.inputMismatch, message: `gc.spec: unsupported dtype '${String(dtype)}'`, help: 'use float32, int32, bool or int64' });
  for (const d of shape) {
    const ok = d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 0) || (typeof d === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d));
    if (!ok) throw new GcError({ code: Codes.inputMismatch, message: `gc.spec: bad dim ${JSON.stringify(d)} in [${shape.map((x) => JSON.stringify(x)).join(', ')}]`, help: 'dims are non-negative integers, null, or identifiers such as "batch"' });
  }
  return { shape: [...shape], dtype, name };
}

export function specToString(s: TensorSpec): string {
  return `${s.dtype}[${s.shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

/** Parameter names of a function, read from its source; undefined where not a plain identifier. */
export function paramNames(fn: Function): (string | undefined)[] {
  const src = Function.prototype.toString.call(fn);
  const m = /^(?:async\s*)?(?:function\b[^(]*)?\(([^)]*)\)/.exec(src) ?? /^(?:async\s*)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (!m) return [];
  return m[1]!.split(',').map((p) => {
    const name = p.trim().replace(/=.*$/, '').replace(/:.*$/, '').trim();
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : undefined;
  });
}
