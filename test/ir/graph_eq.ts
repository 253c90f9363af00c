/** Structural equality of graphs for round-trip tests: ops, attrs, types, names, outputs, states, locs. */
import { isTensorData } from '../../ir/printer.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor_data.js';

function bytes(t: TensorData): number[] {
  return [...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)];
}

/** Deep equality where numbers compare with Object.is (so -0 ≠ 0, NaN = NaN) and tensors by bytes. */
export function same(a: unknown, b: unknown): boolean {
  if (isTensorData(a) || isTensorData(b)) {
    return isTensorData(a) && isTensorData(b) && a.dtype === b.dtype && same(a.shape, b.shape) && same(bytes(a), bytes(b));
  }
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return same(ka, kb) && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** The differences between two graphs (empty when structurally equal). */
export function graphDiff(a: Graph, b: Graph): string[] {
  const diffs: string[] = [];
  const pos = (g: Graph): Map<Value, number> => new Map([...g.values()].map((v, i) => [v, i]));
  const pa = pos(a), pb = pos(b);
  const check = (what: string, x: unknown, y: unknown): void => {
    if (!same(x, y)) diffs.push(`${what}: ${JSON.stringify(x, big)} vs ${JSON.stringify(y, big)}`);
  };
  const val = (v: Value, p: Map<Value, number>) => ({ at: p.get(v), name: v.name ?? null, kind: v.kind, dtype: v.dtype, shape: v.shape });
  check('name', a.name, b.name);
  check('inputs', a.inputs.map((v) => val(v, pa)), b.inputs.map((v) => val(v, pb)));
  check('states', a.states.map((s) => ({ name: s.name, trainable: s.trainable, init: s.init, value: val(s.value, pa) })),
    b.states.map((s) => ({ name: s.name, trainable: s.trainable, init: s.init, value: val(s.value, pb) })));
  check('node count', a.nodes.length, b.nodes.length);
  a.nodes.forEach((n, i) => {
    const m = b.nodes[i];
    if (!m) return;
    check(`node ${i} op`, n.op, m.op);
    check(`node ${i} attrs`, n.attrs, m.attrs);
    check(`node ${i} loc`, n.loc ?? null, m.loc ?? null);
    check(`node ${i} inputs`, n.inputs.map((v) => val(v, pa)), m.inputs.map((v) => val(v, pb)));
    check(`node ${i} outputs`, n.outputs.map((v) => val(v, pa)), m.outputs.map((v) => val(v, pb)));
    check(`node ${i} region count`, n.regions.length, m.regions.length);
    n.regions.forEach((r, k) => {
      const q = m.regions[k];
      if (q) for (const d of graphDiff(r, q)) diffs.push(`node ${i} region ${k}: ${d}`);
    });
  });
  check('outputs', a.outputs.map((o) => ({ name: o.name, value: val(o.value, pa) })), b.outputs.map((o) => ({ name: o.name, value: val(o.value, pb) })));
  return diffs;
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}
