/**
 * Shrinks a failing fuzz program while it keeps failing the same way: fewer outputs, steps
 * bypassed (their uses take one of their operands), dead steps and inputs dropped, one feed set,
 * symbolic sizes and static dims made smaller, feeds made plain (same backend, no NaN/Inf, grid
 * values). Every candidate is re-analysed (abstract.ts), so a shrunk program is still one the
 * generator could have made: valid, and free of the excluded undefined behaviours.
 */
import { isSym } from './abstract.js';
import type { InputDecl, Program, Step, ValueKind } from './program.js';
import { analyze } from './program.js';

const clone = (p: Program): Program => structuredClone(p);

/** Removes steps no output needs and inputs nothing uses. */
export function deadCode(p: Program): Program {
  const live = new Set(p.outputs);
  for (let k = p.steps.length - 1; k >= 0; k--) {
    const s = p.steps[k]!;
    if (live.has(s.name)) for (const a of s.args) live.add(a);
  }
  return { ...p, steps: p.steps.filter((s) => live.has(s.name)), inputs: p.inputs.filter((i) => live.has(i.name)) };
}

/** Renames inputs x0.. and steps v0.. in order (sym classes keep their names). */
export function renumber(p: Program): Program {
  const map = new Map<string, string>();
  p.inputs.forEach((i, k) => map.set(i.name, `x${k}`));
  p.steps.forEach((s, k) => map.set(s.name, `v${k}`));
  const m = (n: string) => map.get(n) ?? n;
  return {
    ...p,
    inputs: p.inputs.map((i) => ({ ...i, name: m(i.name) })),
    steps: p.steps.map((s) => ({ ...s, name: m(s.name), args: s.args.map(m) })),
    outputs: p.outputs.map(m),
  };
}

function replaceUses(p: Program, from: string, to: string): Program {
  const q = clone(p);
  const at = q.steps.findIndex((s) => s.name === from);
  q.steps = q.steps.filter((s) => s.name !== from).map((s, k) => (k >= at ? { ...s, args: s.args.map((a) => (a === from ? to : a)) } : s));
  q.outputs = [...new Set(q.outputs.map((o) => (o === from ? to : o)))];
  return q;
}

function* candidates(p: Program): Generator<Program> {
  if (p.outputs.length > 1) for (const o of p.outputs) yield { ...clone(p), outputs: [o] };
  if (p.feeds.length > 1) for (const f of p.feeds) yield { ...clone(p), feeds: [structuredClone(f)] };
  // Bypass a step: its uses take one of its operands (or an output moves to an operand).
  for (let k = p.steps.length - 1; k >= 0; k--) {
    const s: Step = p.steps[k]!;
    for (const a of new Set(s.args)) yield deadCode(replaceUses(p, s.name, a));
  }
  // Plainer feeds.
  const plainer: Partial<Record<ValueKind, ValueKind>> = { special: 'grid', cont: 'grid', pos: 'grid', intpos: 'int' };
  for (let k = 0; k < p.inputs.length; k++) {
    const i: InputDecl = p.inputs[k]!;
    if (i.store !== 'same') {
      const q = clone(p);
      q.inputs[k]!.store = 'same';
      yield q;
    }
    const v = plainer[i.values];
    if (v) {
      const q = clone(p);
      q.inputs[k]!.values = v;
      yield q;
    }
  }
  // Smaller symbolic sizes.
  for (let f = 0; f < p.feeds.length; f++) {
    for (const [c, n] of Object.entries(p.feeds[f]!.sizes)) {
      for (const m of [0, 1, 2, n - 1]) {
        if (m >= n || m < 0) continue;
        const q = clone(p);
        q.feeds[f]!.sizes[c] = m;
        yield q;
      }
    }
  }
  // Smaller static dims (programs whose attributes no longer fit fail analysis and are skipped).
  for (let k = 0; k < p.inputs.length; k++) {
    for (let j = 0; j < p.inputs[k]!.dims.length; j++) {
      const d = p.inputs[k]!.dims[j]!;
      if (isSym(d) || d <= 1) continue;
      for (const m of [1, d - 1]) {
        const q = clone(p);
        q.inputs[k]!.dims[j] = m;
        q.inputs[k]!.spec[j] = m;
        yield q;
      }
    }
  }
  // A symbolic dim made static (1).
  for (let k = 0; k < p.inputs.length; k++) {
    for (let j = 0; j < p.inputs[k]!.dims.length; j++) {
      if (!isSym(p.inputs[k]!.dims[j]!)) continue;
      const q = clone(p);
      q.inputs[k]!.dims[j] = 1;
      q.inputs[k]!.spec[j] = 1;
      yield q;
    }
  }
}

/**
 * The smallest variant of `p` found for which `fails` still holds (p itself fails). At most
 * `budget` candidates are run.
 */
export async function minimize(p: Program, fails: (q: Program) => Promise<boolean>, budget = 250, log?: (s: string) => void): Promise<Program> {
  let best = deadCode(p);
  if (typeof analyze(best) === 'string' || !(await fails(best))) best = p;
  let tried = 0;
  for (let progress = true; progress && tried < budget;) {
    progress = false;
    for (const q of candidates(best)) {
      if (tried >= budget) break;
      if (typeof analyze(q) === 'string') continue;
      tried++;
      if (await fails(q)) {
        best = q;
        progress = true;
        log?.(`  minimise: ${best.steps.length} steps, ${best.inputs.length} inputs (${tried} tried)`);
        break;
      }
    }
  }
  return renumber(best);
}
