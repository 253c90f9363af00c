import type { Dim, Shape } from './dim.js';
import { dimEq, dimToString, isStatic, shapeToString } from './dim.js';
import { Codes } from './errors.js';
import type { ErrorCode } from './errors.js';

export class InferError extends Error {
  constructor(message: string, readonly help?: string, readonly code: ErrorCode = Codes.shape) {
    super(message);
  }
}

export function fail(message: string, help?: string, code?: ErrorCode): never {
  throw new InferError(message, help, code);
}

/** NumPy/tfjs broadcasting over dims (symbols broadcast only against 1 or themselves). */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (dimEq(da, db)) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else fail(`${op}: shapes ${shapeToString(a)} and ${shapeToString(b)} do not broadcast (${dimToString(da)} vs ${dimToString(db)})`,
      'make the dimensions equal or 1');
  }
  return out;
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function staticDim(d: Dim, op: string, what: string): number {
  if (!isStatic(d)) fail(`${op}: ${what} must be static, got ${dimToString(d)}`, 'graphc supports symbolic dims here only in batch-like positions');
  return d;
}
