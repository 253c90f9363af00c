/**
 * Sizes a plan may allocate, checked once per binding of its symbolic dims, before any kernel
 * runs. Every result of a scheduled node has a shape known from the fed shapes (the IR has no
 * data-dependent shapes), so a 145-byte model that expands to [70368744177666, 3, 22] is
 * refused by name here instead of reaching an engine: tfjs-backend-wasm takes sizes as int32
 * and wrapped them into small allocations that its kernels then wrote past (heap corruption:
 * the next, unrelated op aborted the process).
 *
 * Two kinds of bound:
 * - the user's limit per tensor (`maxTensorBytes` of a Session or gc.compile, else the
 *   environment's GRAPHC_MAX_TENSOR_BYTES, else 2 GiB): GC0404, with how to raise it;
 * - what the engine can address whatever the limit: dims that are not safe integers, element
 *   counts past int32 on engines that index with int32 (wasm, webgpu), a tensor larger than
 *   the wasm heap can grow to, integer attributes the engine's kernels take as int32, and the
 *   workspace tfjs-backend-wasm's pooling and convolution kernels (XNNPACK) allocate per
 *   window tap and output position: GC0405 / GC0406.
 */
import type { Bindings } from '../ir/dim.js';
import { evalShape } from '../ir/dim.js';
import type { DType } from '../ir/dtype.js';
import { Codes, GcError } from '../ir/errors.js';
import type { Node, Value } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import { OPS } from '../ir/ops.js';

/** The per-tensor limit when neither the option nor the environment sets one: 2 GiB. */
export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 31;
/** The environment variable that sets the limit for sessions created without the option. */
export const MAX_TENSOR_BYTES_ENV = 'GRAPHC_MAX_TENSOR_BYTES';
/** The most bytes tfjs-backend-wasm 4.22's heap can grow to (its emscripten getHeapMax()). */
export const WASM_HEAP_MAX = 4294901760;
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

/** A per-tensor byte limit and where it came from (for the error's note). */
export interface TensorLimit {
  readonly bytes: number;
  readonly source: 'the maxTensorBytes option' | `${typeof MAX_TENSOR_BYTES_ENV}` | 'the default';
}

const UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tib: 2 ** 40,
};

/** Bytes from '4294967296', '4GiB', '512 MiB', '1.5G', '3GB' or 'Infinity'; undefined when unreadable. */
export function parseBytes(s: string): number | undefined {
  const t = s.trim();
  if (/^infinity$/i.test(t)) return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(t);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/**
 * The limit a session uses: the option when given, else GRAPHC_MAX_TENSOR_BYTES, else 2 GiB.
 * Infinity lifts graphc's limit (the engines' own bounds stay).
 */
export function resolveTensorLimit(option: number | undefined, env: string | undefined = globalThis.process?.env?.[MAX_TENSOR_BYTES_ENV]): TensorLimit {
  if (option !== undefined) {
    if (typeof option !== 'number' || !(option >= 1) || (!Number.isInteger(option) && option !== Infinity)) {
      throw new GcError({ code: Codes.tensorLimitOption, message: `maxTensorBytes must be a whole number of bytes ≥ 1 (or Infinity), got ${String(option)}`,
        help: `e.g. { maxTensorBytes: 4 * 2 ** 30 } for 4 GiB per tensor` });
    }
    return { bytes: option, source: 'the maxTensorBytes option' };
  }
  if (env !== undefined && env.trim() !== '') {
    const b = parseBytes(env);
    if (b === undefined || !(b >= 1)) {
      throw new GcError({ code: Codes.tensorLimitOption, message: `${MAX_TENSOR_BYTES_ENV}=${JSON.stringify(env)} is not a number of bytes`,
        help: `set it to bytes, optionally with a unit: ${MAX_TENSOR_BYTES_ENV}=4294967296, =4GiB, =512MiB, or =Infinity` });
    }
    return { bytes: b, source: MAX_TENSOR_BYTES_ENV };
  }
  return { bytes: DEFAULT_MAX_TENSOR_BYTES, source: 'the default' };
}

/** What an engine can address, whatever the user's limit. */
interface EngineBounds {
  /** Element counts and integer kernel arguments are int32 (tfjs-backend-wasm's C kernels, WGSL shaders). */
  readonly int32: boolean;
  /** The most bytes one allocation can have. */
  readonly heapMax: number;
  /**
   * What pooling and convolution kernels spend per window tap and output position: 'pointer',
   * a 4-byte pointer allocated (XNNPACK's indirection buffers, sized in 32 bits); 'loop', an
   * iteration of an int32 loop (WGSL shaders, which walk the whole window, padding included:
   * a 2^30-row window over a 2×2 input hung the engine).
   */
  readonly window: 'pointer' | 'loop' | undefined;
}

function boundsOf(engine: string): EngineBounds {
  switch (engine) {
    case 'wasm': return { int32: true, heapMax: WASM_HEAP_MAX, window: 'pointer' };
    case 'webgpu': return { int32: true, heapMax: Infinity, window: 'loop' };
    default: return { int32: false, heapMax: Infinity, window: undefined };
  }
}

/** Bytes per element as the tfjs engines store a dtype (int64 is computed as int32). */
export function bytesPerElement(d: DType): number {
  return d === 'bool' ? 1 : 4;
}

export function valueLabel(v: Value): string {
  return `%${v.name ?? v.id}`;
}

export function describeNode(n: Node): string {
  return `${n.outputs.map(valueLabel).join(', ')}${n.outputs.length ? ' = ' : ''}${n.op} ${n.inputs.map(valueLabel).join(', ')}`;
}

/** 4.6e15, 18.6 PB, 2 GiB: sizes as a person reads them. */
export function formatBytes(b: number): string {
  if (b === Infinity) return 'no limit';
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let x = b, i = 0;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return i === 0 ? `${b} bytes` : `${Number(x.toPrecision(3))} ${units[i]}`;
}

function formatCount(n: number): string {
  return n < 1e6 ? String(n) : n.toExponential(2).replace('e+', 'e');
}

const HELP_RAISE = `if the machine has the memory, raise the limit: gc.Session.create(graph, { maxTensorBytes }), gc.compile(fn, { maxTensorBytes }) `
  + `or ${MAX_TENSOR_BYTES_ENV}=<bytes> (4GiB also reads); a shape this large in a small model usually comes from a corrupted or hostile file`;

/**
 * Checks what the scheduled nodes would allocate under a binding of the symbolic dims, on an
 * engine (a tfjs backend name), against the limit. Throws the first violation as a GcError that
 * names the node, its op, the shape and the bound. `shapeOf` gives an operand's concrete shape.
 */
export function checkPlanSizes(nodes: readonly Node[], bindings: Bindings, engine: string, limit: TensorLimit): void {
  const bounds = boundsOf(engine);
  const shapeOf = (v: Value): number[] | undefined => {
    try {
      return evalShape(v.type.shape, bindings);
    } catch {
      return undefined; // a symbol no feed binds: the kernel reports it
    }
  };
  const operandNotes = (n: Node): string[] => n.inputs.map((v) => `${valueLabel(v)}: ${typeToString(v.type)} = [${shapeOf(v)?.join(',') ?? '?'}]`);
  const engineError = (n: Node, what: string, help: string) => new GcError({ code: Codes.engineLimit, message: `while executing ${describeNode(n)}: ${what}`,
    loc: n.loc, notes: operandNotes(n), help });
  for (const n of nodes) {
    if (n.op === 'const' || n.op === 'assign') continue;
    for (const v of n.outputs) {
      const shape = shapeOf(v);
      if (shape === undefined) continue;
      const result = () => `its result ${valueLabel(v)}: ${typeToString(v.type)} = [${shape.join(',')}]`;
      let elements = 1;
      for (const d of shape) {
        if (!Number.isSafeInteger(d) || d < 0) {
          throw engineError(n, `${result()} has the dim ${d}, not a whole number ≥ 0`, 'check the model\'s shapes: no engine can hold such a tensor');
        }
        elements *= d;
      }
      if (!Number.isSafeInteger(elements)) {
        throw engineError(n, `${result()} would have ${formatCount(elements)} elements, past the integers a double holds exactly`, 'check the model\'s shapes: no engine can hold such a tensor');
      }
      const bytes = elements * bytesPerElement(v.dtype);
      if (bounds.int32 && elements > INT32_MAX) {
        throw engineError(n, `${result()} would have ${formatCount(elements)} elements; the ${engine} engine indexes tensors with int32 (at most ${INT32_MAX})`,
          `run it on backend 'cpu' if the machine has ${formatBytes(bytes)} to spare, or check the model's shapes`);
      }
      if (bytes > bounds.heapMax) {
        throw engineError(n, `${result()} would take ${formatBytes(bytes)}; the ${engine} engine's heap grows to ${formatBytes(bounds.heapMax)} at most`,
          `run it on backend 'cpu' if the machine has the memory, or check the model's shapes`);
      }
      if (bytes > limit.bytes) {
        throw new GcError({ code: Codes.tensorTooLarge, loc: n.loc,
          message: `while executing ${describeNode(n)}: ${result()} would take ${formatBytes(bytes)} (${formatCount(elements)} elements of ${bytesPerElement(v.dtype)} bytes), over the limit of ${formatBytes(limit.bytes)} per tensor`,
          notes: [...operandNotes(n), `limit: ${limit.bytes} bytes per tensor, from ${limit.source}`], help: HELP_RAISE });
      }
    }
    if (bounds.int32) checkInt32Attrs(n, bindings, engine, operandNotes);
    if (bounds.window !== undefined) checkWindows(n, shapeOf, engine, bounds.window, limit, engineError, operandNotes);
  }
}

/** Integer attributes (windows, strides, pads, axes, reps, shapes) must be int32 where the engine's kernels take int32. */
function checkInt32Attrs(n: Node, bindings: Bindings, engine: string, operandNotes: (n: Node) => string[]): void {
  const kinds = OPS[n.op].attrs;
  for (const [name, kind] of Object.entries(kinds)) {
    if (name === 'seed') continue; // random ops draw in JavaScript
    const raw = n.attrs[name];
    if (raw === undefined) continue;
    let values: readonly number[];
    if (kind === 'int') values = [raw as number];
    else if (kind === 'ints') values = raw as readonly number[];
    else if (kind === 'dim' || kind === 'dims') {
      try {
        values = evalShape((kind === 'dim' ? [raw] : raw) as Parameters<typeof evalShape>[0], bindings);
      } catch {
        continue;
      }
    } else continue;
    const bad = values.find((x) => !Number.isInteger(x) || x > INT32_MAX || x < INT32_MIN);
    if (bad !== undefined) {
      throw new GcError({ code: Codes.attrRange, loc: n.loc,
        message: `while executing ${describeNode(n)}: attribute ${name} = ${kind === 'int' || kind === 'dim' ? values[0] : `[${values.join(', ')}]`} holds ${bad}, outside the int32 range the ${engine} engine's kernels take`,
        notes: operandNotes(n), help: `run it on backend 'cpu', which computes with such values, or check the model: a real window, stride or pad is far smaller` });
    }
  }
}

/**
 * tfjs-backend-wasm's pooling and convolution kernels are XNNPACK operators that allocate an
 * indirection buffer of a pointer (4 bytes) per window tap and output position, sized in
 * 32-bit arithmetic: a window of 2^30 rows over a 2×2 input (pads make the result 2×2) wrapped
 * that size and the kernel wrote past it; bounded by the lower of the user's limit and int32.
 * tfjs-webgpu's shaders loop over every tap of the window for each output with int32 counters:
 * the same model never finished; taps × positions are bounded by int32. The padded input and
 * the dilated window must be int32 on both.
 */
function checkWindows(n: Node, shapeOf: (v: Value) => number[] | undefined, engine: string, per: 'pointer' | 'loop', limit: TensorLimit,
  engineError: (n: Node, what: string, help: string) => GcError, operandNotes: (n: Node) => string[]): void {
  const fusion = OPS[n.op].fusion;
  if (fusion !== 'conv' && fusion !== 'pool') return;
  let kh: number, kw: number;
  if (fusion === 'pool') {
    [kh, kw] = n.attrs.filter_size as [number, number];
  } else {
    // The filter is an operand (forward, gradient of the input) or the result (gradient of the filter).
    const f = 'filter_shape' in n.attrs ? shapeOf(n.outputs[0]!) : n.inputs[1] !== undefined ? shapeOf(n.inputs[1]) : undefined;
    if (f === undefined || f.length !== 4) return;
    [kh, kw] = f as [number, number];
  }
  const [dh, dw] = (n.attrs.dilations as readonly number[] | undefined) ?? [1, 1];
  const [pt, pb, pl, pr] = n.attrs.padding === 'explicit' ? (n.attrs.pads as readonly number[]) : [0, 0, 0, 0];
  const x = shapeOf(n.inputs[0]!);
  const effH = (kh - 1) * dh! + 1, effW = (kw - 1) * dw! + 1;
  const paddedH = x !== undefined && x.length === 4 ? x[1]! + pt! + pb! : 0, paddedW = x !== undefined && x.length === 4 ? x[2]! + pl! + pr! : 0;
  const help = `run it on backend 'cpu', or check the model: such a window or padding is not a real one`;
  if (Math.max(effH, effW, paddedH, paddedW) > INT32_MAX) {
    throw engineError(n, `a window of ${effH}×${effW} over a padded input of ${paddedH}×${paddedW} is past the int32 sizes the ${engine} engine's kernels compute with`, help);
  }
  let positions = 0;
  for (const v of [...n.inputs, ...n.outputs]) {
    const s = shapeOf(v);
    if (s !== undefined && s.length === 4) positions = Math.max(positions, s[0]! * s[1]! * s[2]!);
  }
  if (per === 'loop') {
    if (positions * kh * kw > INT32_MAX) {
      throw engineError(n, `the ${engine} engine's kernel would loop over ${formatCount(positions * kh * kw)} window taps (${formatCount(positions)} output positions × ${kh}×${kw}), past the int32 counts it computes with`, help);
    }
    return;
  }
  const workspace = positions * kh * kw * 4;
  if (workspace > INT32_MAX) {
    throw engineError(n, `the ${engine} engine's kernel would need ${formatBytes(workspace)} of workspace (a pointer per window tap and output position: ${formatCount(positions)} × ${kh}×${kw}), past the int32 sizes it computes with`, help);
  }
  if (workspace > limit.bytes) {
    throw new GcError({ code: Codes.tensorTooLarge, loc: n.loc,
      message: `while executing ${describeNode(n)}: the ${engine} engine's kernel would need ${formatBytes(workspace)} of workspace (a pointer per window tap and output position: ${formatCount(positions)} × ${kh}×${kw}), over the limit of ${formatBytes(limit.bytes)} per tensor`,
      notes: [...operandNotes(n), `limit: ${limit.bytes} bytes per tensor, from ${limit.source}`], help: HELP_RAISE });
  }
}

/**
 * A float value cast to int64 that int32 cannot hold (the engines compute int64 as int32: tfjs
 * wraps 1e10 to 1410065408). Thrown by the cast kernels; the Session names the node (GC0408).
 */
export class Int64Narrowing extends Error {}

/** Throws Int64Narrowing for the first value that truncates outside int32 (NaN is left: ONNX leaves it undefined). */
export function checkFitsInt64AsInt32(values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x >= 2147483648 || x <= -2147483649) {
      throw new Int64Narrowing(`element ${i} is ${x}, which int64 holds but int32, in which graphc's tfjs engines compute int64, does not`);
    }
  }
}
