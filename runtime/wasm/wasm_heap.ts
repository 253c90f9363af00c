/**
 * The wasm heap's last line of defence. tfjs-backend-wasm 4.22 allocates every tensor with
 * `wasm._malloc(bytes)` and uses the pointer without a check: a size past 2^32 wraps (the
 * argument is an i32) into a small block that kernels then write past; a request that brings
 * the heap's end past 4 GiB wraps the allocator's 32-bit sbrk and returns memory in use; and
 * a failed allocation (0) registers the tensor at address 0, over the module's own data. Either corrupts the heap: the run that caused it may "succeed", and a
 * later, unrelated op aborts the process. The plan checks (tensor_limits.ts) refuse sizes
 * before any kernel runs; this guard turns whatever still reaches the allocator (a raised
 * limit, several large tensors at once, a user's eager op) into a GcError before a byte is
 * written.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import { WASM_HEAP_MAX, formatBytes } from '../tensor_limits.js';

interface WasmHeapModule {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
  /** The module's raw exports (emscripten's `_malloc` is a stub that replaces itself with asm.malloc on its first call). */
  asm?: Record<string, unknown>;
}

const guarded = new WeakSet<object>();

/**
 * What dlmalloc adds to a request when it grows the heap (chunk header, page rounding, top pad),
 * with room to spare: a request with the heap's size and this below 2^32 cannot wrap the
 * 32-bit sbrk (measured: malloc(4294901760) with a 20 MiB heap returned 96960, a block
 * overlapping live tensors, instead of 0).
 */
const GROWTH_SLACK = 16 * 2 ** 20;

/** Installs the guard on tfjs-backend-wasm's module, once per module (a no-op when wasm is not initialised). */
export function guardWasmHeap(): void {
  const be = tf.engine().registry['wasm'] as unknown as { wasm?: WasmHeapModule } | undefined;
  const wasm = be?.wasm;
  if (wasm === undefined || guarded.has(wasm) || typeof wasm._malloc !== 'function') return;
  // emscripten's `_malloc` starts as a stub that, on its first call (from tfjs or from the module's
  // own JavaScript), assigns the raw export over Module._malloc: an accessor keeps the guard in
  // place and takes whatever is assigned as the allocator it calls.
  let malloc: (n: number) => number = wasm._malloc.bind(wasm);
  const raw = wasm.asm?.['malloc'];
  if (typeof raw === 'function') malloc = raw as (n: number) => number;
  const guard = (n: number): number => {
    if (!Number.isInteger(n) || n < 0 || n > WASM_HEAP_MAX) {
      throw new GcError({ code: Codes.wasmAlloc, message: `the wasm engine was asked for ${Number.isFinite(n) ? formatBytes(n) : String(n)} in one block; its heap grows to ${formatBytes(WASM_HEAP_MAX)} at most`,
        help: `nothing was allocated or written; run it on backend 'cpu' if the machine has the memory, or check the shapes` });
    }
    if (n + wasm.HEAPU8.length + GROWTH_SLACK > 2 ** 32) {
      throw new GcError({ code: Codes.wasmAlloc, message: `the wasm engine cannot allocate ${formatBytes(n)} safely while its heap holds ${formatBytes(wasm.HEAPU8.length)}: its allocator computes the heap's new end in 32 bits, and past 4 GiB it wraps and hands back memory in use`,
        help: `nothing was allocated or written; free tensors (tf.dispose, tf.tidy), lower maxTensorBytes, or run it on backend 'cpu'` });
    }
    const p = canaries ? canaries.malloc(malloc, n) : malloc(n);
    if (p === 0 && n > 0) {
      throw new GcError({ code: Codes.wasmAlloc, message: `the wasm heap is out of memory: ${formatBytes(n)} requested, the heap holds ${formatBytes(wasm.HEAPU8.length)} of at most ${formatBytes(WASM_HEAP_MAX)}`,
        help: `nothing was written; free tensors (tf.dispose, tf.tidy), lower maxTensorBytes, or run it on backend 'cpu'` });
    }
    return p;
  };
  Object.defineProperty(wasm, '_malloc', {
    configurable: true,
    enumerable: true,
    get: () => guard,
    set: (f: unknown) => { if (typeof f === 'function' && f !== guard) malloc = f as (n: number) => number; },
  });
  const canaries = process.env[CANARY_ENV] ? new Canaries(wasm, process.env[CANARY_ENV] === 'sweep') : undefined;
  if (canaries) {
    let free: (p: number) => void = wasm._free.bind(wasm);
    const rawFree = wasm.asm?.['free'];
    if (typeof rawFree === 'function') free = rawFree as (p: number) => void;
    const guardFree = (p: number): void => { canaries.free(p); free(p); };
    Object.defineProperty(wasm, '_free', {
      configurable: true,
      enumerable: true,
      get: () => guardFree,
      set: (f: unknown) => { if (typeof f === 'function' && f !== guardFree) free = f as (p: number) => void; },
    });
    activeCanaries = canaries;
  }
  guarded.add(wasm);
}

/**
 * A debugging aid for kernels that write past their output (tfjs-wasm's C kernels check
 * nothing): with GRAPHC_WASM_CANARY=1 every block allocated through `_malloc` gets 64 guard
 * bytes after it, checked when the block is freed; with GRAPHC_WASM_CANARY=sweep every live
 * block is checked at each allocation and free as well (slow: it finds the first op that
 * wrote out of bounds). A damaged guard throws an Error (not a GcError: it is a bug) naming the
 * block's size and where it was allocated. Off by default; the fuzzer's hunt for heap
 * corruption turns it on.
 */
export const CANARY_ENV = 'GRAPHC_WASM_CANARY';
const CANARY_BYTES = 64;
let activeCanaries: Canaries | undefined;

/** Checks every live block's guard now (a no-op unless GRAPHC_WASM_CANARY is set). */
export function checkWasmCanaries(where: string): void {
  activeCanaries?.sweep(where);
}

class Canaries {
  private readonly live = new Map<number, { n: number; stack: string }>();
  constructor(private readonly wasm: WasmHeapModule, private readonly sweepAlways: boolean) {}

  private static byte(i: number): number { return (0xa5 ^ (i * 29)) & 0xff; }

  malloc(malloc: (n: number) => number, n: number): number {
    if (this.sweepAlways) this.sweep(`before malloc(${n})`);
    const p = malloc(n + CANARY_BYTES) >>> 0;
    if (p === 0) return 0;
    const h = this.wasm.HEAPU8;
    for (let i = 0; i < CANARY_BYTES; i++) h[p + n + i] = Canaries.byte(i);
    this.live.set(p, { n, stack: (new Error().stack ?? '').split('\n').slice(2, 9).join('\n') });
    return p;
  }

  free(p: number): void {
    const at = p >>> 0;
    if (this.sweepAlways) this.sweep(`before free(${at})`);
    const b = this.live.get(at);
    if (b === undefined) return;
    this.check(at, b, `free(${at})`);
    this.live.delete(at);
  }

  sweep(where: string): void {
    for (const [p, b] of this.live) this.check(p, b, where);
  }

  private check(p: number, b: { n: number; stack: string }, where: string): void {
    const h = this.wasm.HEAPU8;
    for (let i = 0; i < CANARY_BYTES; i++) {
      if (h[p + b.n + i] !== Canaries.byte(i)) {
        const bytes = Array.from(h.subarray(p + b.n, p + b.n + 16), (x) => x.toString(16).padStart(2, '0')).join(' ');
        this.live.delete(p);
        throw new Error(`graphc wasm canary: the ${b.n}-byte block at ${p} was written past its end (guard byte ${i} of ${CANARY_BYTES}; first guard bytes now ${bytes}), found at ${where}; allocated at\n${b.stack}`);
      }
    }
  }
}
