/**
 * The graph linter: SSA and topological order, exact use lists, outputs and states that
 * belong to the graph, known ops with the right arity and attr kinds, and recorded output
 * types equal to re-inferred ones. Problems name the offending node in IR text.
 */
import { isDType } from './dtype.js';
import type { Dim } from './dim.js';
import { dimEq, isStaticShape, shapeEq } from './dim.js';
import type { SourceLoc } from './errors.js';
import { Codes, GcError } from './errors.js';
import type { Graph, Node, Value } from './graph.js';
import { regionType, typeToString } from './graph.js';
import type { AttrKind, AttrValue, OpDef } from './ops.js';
import { inferTypes, isOpName, OPS } from './ops.js';
import { isTensorData, printNode, ValueNames } from './printer.js';
import { sizeOf } from './tensor_data.js';

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}

function isDim(x: unknown): x is Dim {
  if (isInt(x)) return true;
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Record<string, unknown>;
  return typeof d.sym === 'string' && isInt(d.k) && isInt(d.c);
}

const ARRAY_TYPES = { float32: Float32Array, int32: Int32Array, bool: Uint8Array, int64: BigInt64Array } as const;

/** Whether `v` is a well-formed value of attr kind `kind`. */
export function attrMatchesKind(kind: AttrKind, v: AttrValue | undefined): boolean {
  switch (kind) {
    case 'int': return isInt(v);
    case 'float': return typeof v === 'number';
    case 'bool': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'dim': return isDim(v);
    case 'ints': return Array.isArray(v) && v.every(isInt);
    case 'dims': return Array.isArray(v) && v.every(isDim);
    case 'dtype': return isDType(v);
    case 'tensor':
      return isTensorData(v) && isDType(v.dtype) && v.data instanceof ARRAY_TYPES[v.dtype]
        && v.shape.every((d) => isInt(d) && d >= 0) && v.data.length === sizeOf(v.shape);
  }
}

interface Issue { message: string; loc: SourceLoc | undefined }

function collectIssues(g: Graph, region = false): Issue[] {
  const issues: Issue[] = [];
  const names = new ValueNames(g);
  const ref = (v: Value): string => names.ref(v);
  const graphIssue = (message: string): void => { issues.push({ message, loc: undefined }); };
  const nodeIssue = (n: Node, message: string): void => {
    issues.push({ message: `${message}, at \`${printNode(n, names)}\``, loc: n.loc });
  };

  // Every value the graph defines, and how often.
  const defs = new Map<Value, number>();
  for (const v of g.values()) defs.set(v, (defs.get(v) ?? 0) + 1);
  for (const [v, count] of defs) if (count > 1) graphIssue(`${ref(v)} is defined ${count} times`);

  const seenNames = new Map<string, Value>();
  for (const v of defs.keys()) {
    if (v.name === undefined) continue;
    const other = seenNames.get(v.name);
    if (other !== undefined && other !== v) graphIssue(`two values are named '${v.name}'`);
    seenNames.set(v.name, v);
  }

  g.inputs.forEach((v, i) => {
    if (v.kind !== 'input' || v.producer !== null || v.index !== i) {
      graphIssue(`input ${i} (${ref(v)}) is recorded as kind '${v.kind}', index ${v.index}${v.producer ? ', with a producer' : ''}`);
    }
  });

  if (region && g.states.length > 0) graphIssue(`a region has no variables, this one declares ${g.states.map((s) => `"${s.name}"`).join(', ')} (read a variable through a capture)`);
  const varNames = new Set<string>();
  g.states.forEach((s, i) => {
    const v = s.value;
    if (varNames.has(s.name)) graphIssue(`variable "${s.name}" is declared twice`);
    varNames.add(s.name);
    if (v.kind !== 'state' || v.producer !== null || v.index !== i) {
      graphIssue(`state ${i} (${ref(v)}) is recorded as kind '${v.kind}', index ${v.index}${v.producer ? ', with a producer' : ''}`);
    }
    if (!attrMatchesKind('tensor', s.init)) {
      graphIssue(`state ${ref(v)} ("${s.name}") has a malformed init tensor`);
    } else if (s.init.dtype !== v.dtype || (isStaticShape(v.shape) && !shapeEq(s.init.shape, v.shape))) {
      graphIssue(`state ${ref(v)} ("${s.name}") is ${typeToString(v.type)}, but its init is ${typeToString(s.init)}`);
    }
  });

  // Nodes in order: operands defined earlier, outputs owned, attrs, re-inferred types.
  const defined = new Set<Value>([...g.inputs, ...g.states.map((s) => s.value)]);
  const nodeSet = new Set<Node>();
  for (const n of g.nodes) {
    if (nodeSet.has(n)) { nodeIssue(n, 'node appears twice in the node list'); continue; }
    nodeSet.add(n);
    n.inputs.forEach((v, i) => {
      if (defined.has(v)) return;
      nodeIssue(n, defs.has(v)
        ? `operand ${i} (${ref(v)}) is used before its definition`
        : `operand ${i} (${ref(v)}) is not a value of this graph`);
    });
    n.outputs.forEach((v, i) => {
      if (v.producer !== n || v.index !== i || v.kind !== 'node') {
        nodeIssue(n, `output ${i} (${ref(v)}) records producer ${v.producer === n ? 'this node' : 'another node'}, index ${v.index}, kind '${v.kind}'`);
      }
      defined.add(v);
    });
    if (!isOpName(n.op)) { nodeIssue(n, `unknown op '${String(n.op)}'`); continue; }
    const d: OpDef = OPS[n.op];
    let ok = true;
    const [lo, hi] = typeof d.arity === 'number' ? [d.arity, d.arity] : d.arity;
    if (n.inputs.length < lo || n.inputs.length > hi) {
      nodeIssue(n, `${n.op} takes ${lo === hi ? lo : `${lo}..${hi}`} operands, got ${n.inputs.length}`);
      ok = false;
    }
    const roles = d.regions ?? [];
    if (n.regions.length !== roles.length) {
      nodeIssue(n, `${n.op} has ${roles.length} region${roles.length === 1 ? '' : 's'}${roles.length ? ` (${roles.join(', ')})` : ''}, the node has ${n.regions.length}`);
      ok = false;
    }
    n.regions.forEach((r, k) => {
      const where = `in region '${roles[k] ?? k}' of \`${printNode(n, names)}\``;
      for (const i of collectIssues(r, true)) issues.push({ message: `${where}: ${i.message}`, loc: i.loc ?? n.loc });
    });
    if (region && d.effect === 'stateful') {
      nodeIssue(n, `${n.op} inside a region: regions assign no variable (yield the new value as a result of the control-flow node and assign it outside)`);
    }
    for (const [name, kind] of Object.entries(d.attrs)) {
      const v = n.attrs[name];
      if (v === undefined && d.optional?.includes(name)) continue;
      if (v === undefined) { nodeIssue(n, `missing attr '${name}' (${kind})`); ok = false; }
      else if (!attrMatchesKind(kind, v)) { nodeIssue(n, `attr '${name}' is not a well-formed ${kind}`); ok = false; }
    }
    for (const name of Object.keys(n.attrs)) {
      if (!(name in d.attrs) && n.attrs[name] !== undefined) nodeIssue(n, `${n.op} has no attr '${name}'`);
    }
    if (!ok) continue;
    let inferred;
    try {
      inferred = inferTypes(n.op, n.inputs.map((v) => v.type), n.attrs, undefined, n.regions.map(regionType));
    } catch (e) {
      nodeIssue(n, `type inference fails: ${e instanceof GcError ? e.summary : (e as Error).message}`);
      continue;
    }
    if (inferred.length !== n.outputs.length) {
      nodeIssue(n, `${n.op} infers ${inferred.length} outputs, the node has ${n.outputs.length}`);
      continue;
    }
    inferred.forEach((t, i) => {
      const v = n.outputs[i]!;
      const sameShape = t.shape.length === v.shape.length && t.shape.every((dim, k) => dimEq(dim, v.shape[k]!));
      if (t.dtype !== v.dtype || !sameShape) {
        nodeIssue(n, `${ref(v)} is recorded as ${typeToString(v.type)}, but ${n.op} infers ${typeToString(t)}`);
      }
    });
  }

  // Use lists: exactly the operand occurrences of the graph's nodes.
  const expected = new Map<Value, Array<{ node: Node; index: number }>>();
  for (const n of nodeSet) {
    n.inputs.forEach((v, index) => {
      const list = expected.get(v) ?? [];
      list.push({ node: n, index });
      expected.set(v, list);
    });
  }
  const withUses = new Set<Value>([...defs.keys(), ...expected.keys()]);
  for (const v of withUses) {
    // Operand indices recorded per node. A value of another graph has uses there; only
    // this graph's uses are checked.
    const recorded = new Map<Node, Set<number>>();
    for (const u of defs.has(v) ? v.uses : v.uses.filter((x) => nodeSet.has(x.node))) {
      const indices = recorded.get(u.node) ?? new Set<number>();
      recorded.set(u.node, indices);
      if (!nodeSet.has(u.node)) {
        graphIssue(`use list of ${ref(v)} has a use by a node not in the graph (${u.node.op}, operand ${u.index})`);
      } else if (u.node.inputs[u.index] !== v) {
        const actual = u.node.inputs[u.index];
        nodeIssue(u.node, `use list of ${ref(v)} records operand ${u.index}, which is ${actual ? ref(actual) : 'absent'}`);
      } else if (indices.has(u.index)) {
        nodeIssue(u.node, `use list of ${ref(v)} records operand ${u.index} twice`);
      }
      indices.add(u.index);
    }
    for (const w of expected.get(v) ?? []) {
      if (!recorded.get(w.node)?.has(w.index)) nodeIssue(w.node, `use list of ${ref(v)} lacks operand ${w.index}`);
    }
  }

  const outNames = new Set<string>();
  for (const o of g.outputs) {
    if (outNames.has(o.name)) graphIssue(`output '${o.name}' is returned twice`);
    outNames.add(o.name);
    if (!defs.has(o.value)) graphIssue(`output '${o.name}' (${ref(o.value)}) is not a value of this graph`);
  }
  return issues;
}

/** The problems of `g`, one line each (empty when the graph is well formed). */
export function verifyIssues(g: Graph): string[] {
  return collectIssues(g).map((i) => i.message);
}

/** Throws GcError GC0301 listing every problem of `g`. */
export function verifyGraph(g: Graph): void {
  const issues = collectIssues(g);
  if (issues.length === 0) return;
  throw new GcError({
    code: Codes.verify,
    message: `graph @${g.name} is malformed (${issues.length} problem${issues.length === 1 ? '' : 's'})`,
    loc: issues.find((i) => i.loc !== undefined)?.loc,
    notes: issues.map((i) => i.message),
    help: 'a pass or builder left the graph inconsistent; the graph verifies before it runs',
  });
}
