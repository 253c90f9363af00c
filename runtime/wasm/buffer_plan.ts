/**
 * Buffer planning of a wasm program: where each value of the plan lives in the wasm heap.
 * Reshapes and identities are views of their operand; sources are written once; a kernel output
 * handed back is written straight into the result's buffer; intermediates share buffers by
 * liveness (one free list per dtype and size), and an elementwise step may write over an
 * operand that dies with it. Each step is built here (its direct call, or its tfjs kernel).
 */
import type { Built } from './direct_calls.js';
import { direct, fillSource, NoDirect, SOURCES } from './direct_calls.js';
import type { HeapBuffer, WasmProgram } from './program.js';
import type { Dt } from './tfjs_wasm.js';

/** Ops whose tfjs-wasm kernel keeps an XNNPACK operator per id of its operands after the first (weights, filter, bias). */
const CACHES_OPERANDS = new Set(['matmul', 'fused_matmul', 'conv2d', 'fused_conv2d']);

/** Plans the buffers of every slot of `p` and builds its run steps (p.runSteps). */
export function planBuffers(p: WasmProgram): void {
  const { steps, exports, extSlots } = p.spec;
  for (const s of extSlots) p.kind[s] = 'ext';
  // Roots: views share their operand's storage.
  for (const st of steps) {
    const op = st.node.op;
    if (st.kind === 'const') {
      const t = p.spec.constTensor(st.node.outputs[0]!);
      const rec = p.be.dataIdMap.get(t.dataId);
      if (!rec) throw new Error('graphc: a constant is not on the wasm backend');
      p.kind[st.outs[0]!] = 'const';
      p.setRoot(st.outs[0]!, { dataId: t.dataId, id: rec.id, offset: rec.memoryOffset });
    } else if ((op === 'reshape' || op === 'identity') && st.kind === 'kernel') {
      p.root[st.outs[0]!] = p.root[st.ins[0]!]!;
    } else if (st.kind === 'kernel' && SOURCES.has(op)) {
      const o = st.outs[0]!;
      p.kind[o] = 'const';
      const b = p.newBuffer(p.dt(o), p.size(o));
      p.setRoot(o, b);
      fillSource(p, st, o, b);
    }
  }
  // Exports: a kernel output handed back is written straight into the result's buffer.
  for (const e of exports) {
    const r = p.root[e]!;
    if (p.kind[r] === 'arena' && p.size(r) === p.size(e)) {
      p.kind[r] = 'out';
      p.outRoots.push(r);
      p.exportMode.push('own');
    } else {
      p.exportMode.push('copy');
    }
  }
  // Liveness of arena roots.
  const last = new Map<number, number>();
  steps.forEach((st, i) => { for (const s of st.ins) last.set(p.root[s]!, i); });
  const free = new Map<string, HeapBuffer[]>();
  const take = (dt: Dt, size: number): HeapBuffer => {
    const l = free.get(`${dt}:${size}`);
    return l !== undefined && l.length > 0 ? l.pop()! : p.newBuffer(dt, size);
  };
  const release = (b: HeapBuffer): void => {
    let l = free.get(b.key);
    if (!l) { l = []; free.set(b.key, l); }
    l.push(b);
  };
  const bufOf = new Map<number, HeapBuffer>();
  steps.forEach((st, i) => {
    if (st.kind !== 'kernel') return;
    const op = st.node.op;
    if (op === 'reshape' || op === 'identity' || SOURCES.has(op)) return;
    let built: Built | undefined;
    try {
      built = direct(p, st);
    } catch (e) {
      if (!(e instanceof NoDirect)) throw e;
      built = undefined;
      p.stepTemps = [];
    }
    const dying = [...new Set(st.ins.map((s) => p.root[s]!))].filter((r) => p.kind[r] === 'arena' && last.get(r) === i && bufOf.has(r));
    const reused = new Set<number>();
    // Temporaries are taken while the operands are still held, so they overlap neither operands nor results.
    const temps = p.stepTemps.map(([idx, dt, size]) => { const b = take(dt, size); p.setRoot(idx, b); return b; });
    p.stepTemps = [];
    for (const o of st.outs) {
      const r = p.root[o]!;
      if (p.kind[r] !== 'arena' || r !== o) continue;
      let b: HeapBuffer | undefined;
      if (built?.inPlace) {
        const d = dying.find((x) => !reused.has(x) && p.keyOf(x) === p.keyOf(o));
        if (d !== undefined) { b = bufOf.get(d)!; reused.add(d); p.stats.inPlace++; }
      }
      b ??= take(p.dt(o), p.size(o));
      bufOf.set(r, b);
      p.setRoot(r, b);
    }
    for (const d of dying) if (!reused.has(d)) release(bufOf.get(d)!);
    for (const t of temps) release(t);
    for (const o of st.outs) {
      const r = p.root[o]!;
      if (p.kind[r] === 'arena' && !last.has(r) && bufOf.has(r)) release(bufOf.get(r)!);
    }
    // tfjs-wasm keeps XNNPACK operators per tensor id with a matmul's right operand and bias, a
    // conv's filter and bias packed inside: a buffer whose content changes between calls (any
    // arena or result buffer) is re-registered before such a call, which drops those operators.
    const cachedBy = built ? (CACHES_OPERANDS.has(op) ? st.ins.slice(1) : []) : st.ins;
    const mutable = [...new Set(cachedBy.map((s) => p.root[s]!))].filter((r) => p.kind[r] === 'arena' || p.kind[r] === 'out');
    const body = built ? built.run : () => p.fallback(st);
    const run = mutable.length === 0 ? body : () => { for (const r of mutable) p.refresh(r); body(); };
    if (built) p.stats.direct++; else {
      p.stats.fallback++;
      if (!p.stats.fallbackOps.includes(st.node.op)) p.stats.fallbackOps.push(st.node.op);
    }
    p.runSteps.push({ step: st, run, fallback: !built });
  });
}
