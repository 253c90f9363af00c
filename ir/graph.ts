import type { DType } from './dtype.js';
import { dtypeShort } from './dtype.js';
import type { Shape } from './dim.js';
import { shapeToString } from './dim.js';
import type { SourceLoc } from './errors.js';
import type { TensorData } from './tensor_data.js';
import type { Attrs, OpName } from './ops.js';
import { inferTypes } from './ops.js';

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export function typeToString(t: TensorType): string {
  return `${dtypeShort(t.dtype)}${shapeToString(t.shape)}`;
}

export type ValueKind = 'input' | 'state' | 'node';

export class Value {
  /** Uses as (node, operand index) pairs; kept exact by Graph. */
  readonly uses: Array<{ node: Node; index: number }> = [];
  constructor(
    readonly id: number,
    public type: TensorType,
    readonly kind: ValueKind,
    public producer: Node | null,
    public index: number,
    public name: string | undefined,
  ) {}
  get dtype(): DType { return this.type.dtype; }
  get shape(): Shape { return this.type.shape; }
}

export class Node {
  constructor(
    readonly id: number,
    readonly op: OpName,
    public inputs: Value[],
    public attrs: Attrs,
    public outputs: Value[],
    public loc: SourceLoc | undefined,
  ) {}
}

/** Initial contents of a variable: the data, or a loader called the first time it is needed. */
export type InitSource = TensorData | (() => TensorData);

/** A variable of the program: read as a graph value, written by `assign` nodes. */
export class StateVar {
  private source: InitSource;
  constructor(
    /** The tf.Variable's name. */
    readonly name: string,
    readonly value: Value,
    init: InitSource,
    public trainable: boolean,
  ) {
    this.source = init;
  }

  /** Initial contents; a Session starts from these unless state is supplied. Loaded on first use. */
  get init(): TensorData {
    if (typeof this.source === 'function') this.source = this.source();
    return this.source;
  }

  set init(d: TensorData) {
    this.source = d;
  }

  /** The init as given (possibly a loader not yet called), to pass on without loading it. */
  get initSource(): InitSource {
    return this.source;
  }
}

export interface GraphOutput {
  name: string;
  value: Value;
}

/** An SSA graph: inputs and state, nodes in topological order, named outputs. */
export class Graph {
  readonly inputs: Value[] = [];
  readonly states: StateVar[] = [];
  outputs: GraphOutput[] = [];
  private nextId = 0;
  private readonly names = new Set<string>();

  /*
   * The node list is edited lazily so that a pass removing or moving many nodes stays linear:
   * removeNode and moveBefore only record the edit, and reading `nodes` applies all recorded
   * edits in one O(n) sweep (with exactly the order eager array edits would give).
   */
  private list: Node[] = [];
  /** Nodes removed since the last sweep (still in `list`, or among the moved). */
  private readonly pendingRemoved = new Set<Node>();
  /** Nodes of `list` moved since the last sweep: skipped at their old slot. */
  private readonly movedAway = new Set<Node>();
  /** Moved nodes to emit just before list[i], in order, by i. */
  private readonly movedBefore = new Map<number, Node[]>();
  /** Where a moved node now waits: the key of its movedBefore list. */
  private readonly moverSlot = new Map<Node, number>();
  /** list index of each node of `list`; built on the first moveBefore after a sweep. */
  private slotOf: Map<Node, number> | undefined;
  /** Every node ever removed from this graph (for hasNode). */
  private readonly removedEver = new WeakSet<Node>();
  /** Collectors of the nodes added while Graph.track runs. */
  private readonly trackers: Node[][] = [];

  constructor(public name = 'f') {}

  /** The nodes in topological order. Reading applies pending removals and moves (O(n) once). */
  get nodes(): Node[] {
    this.flushEdits();
    // The caller may edit the array itself: positions recorded for moveBefore are stale.
    this.slotOf = undefined;
    return this.list;
  }

  set nodes(ns: Node[]) {
    this.flushEdits();
    this.slotOf = undefined;
    this.list = ns;
  }

  /** Whether `n`, a node of this graph, has not been removed. O(1). */
  hasNode(n: Node): boolean {
    return !this.removedEver.has(n);
  }

  /** Runs `build` and returns its result with the nodes it added, in order. */
  track<T>(build: () => T): { result: T; added: Node[] } {
    const added: Node[] = [];
    this.trackers.push(added);
    try {
      return { result: build(), added };
    } finally {
      this.trackers.splice(this.trackers.lastIndexOf(added), 1);
    }
  }

  private flushEdits(): void {
    if (this.pendingRemoved.size === 0 && this.movedAway.size === 0 && this.moverSlot.size === 0) return;
    const out: Node[] = [];
    const emit = (n: Node) => { if (!this.pendingRemoved.has(n)) out.push(n); };
    this.list.forEach((n, i) => {
      const before = this.movedBefore.get(i);
      if (before) for (const m of before) emit(m);
      if (!this.movedAway.has(n)) emit(n);
    });
    this.list = out;
    this.pendingRemoved.clear();
    this.movedAway.clear();
    this.movedBefore.clear();
    this.moverSlot.clear();
    this.slotOf = undefined;
  }

  private newValue(type: TensorType, kind: ValueKind, producer: Node | null, index: number, name?: string): Value {
    if (name !== undefined) this.claimName(name);
    return new Value(this.nextId++, type, kind, producer, index, name);
  }

  claimName(name: string): void {
    if (this.names.has(name)) throw new Error(`graph @${this.name}: the name '${name}' is already used`);
    this.names.add(name);
  }

  hasName(name: string): boolean {
    return this.names.has(name);
  }

  /** A name not yet used, derived from `base`. */
  freshName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=\d)/, '_') || 'v';
    if (!this.names.has(clean)) return clean;
    for (let i = 1; ; i++) if (!this.names.has(`${clean}_${i}`)) return `${clean}_${i}`;
  }

  setName(v: Value, name: string): void {
    if (v.name === name) return;
    this.claimName(name);
    if (v.name !== undefined) this.names.delete(v.name);
    v.name = name;
  }

  /**
   * Moves `from`'s name to `to` (an unnamed value), so that a pass replacing `from` by `to`
   * keeps the name fetchable. A no-op when `from` is unnamed.
   */
  transferName(from: Value, to: Value): void {
    if (from === to || from.name === undefined) return;
    if (to.name !== undefined) throw new Error(`transferName: %${to.name} already has a name (moving '${from.name}')`);
    to.name = from.name;
    from.name = undefined;
  }

  /**
   * A deep copy: new Node and Value objects with the same ids, names, types, attrs and
   * locations (attrs and tensors are immutable and shared). Node ids are kept because a
   * Session derives the seeds of unseeded random ops from them.
   */
  clone(): Graph {
    const c = new Graph(this.name);
    const map = new Map<Value, Value>();
    const copy = (v: Value, producer: Node | null): Value => {
      const w = new Value(v.id, v.type, v.kind, producer, v.index, v.name);
      map.set(v, w);
      return w;
    };
    for (const v of this.inputs) c.inputs.push(copy(v, null));
    for (const s of this.states) c.states.push(new StateVar(s.name, copy(s.value, null), s.initSource, s.trainable));
    for (const n of this.nodes) {
      const m = new Node(n.id, n.op, n.inputs.map((v) => map.get(v) ?? v), n.attrs, [], n.loc);
      m.outputs = n.outputs.map((v) => copy(v, m));
      m.inputs.forEach((v, i) => v.uses.push({ node: m, index: i }));
      c.list.push(m);
    }
    c.outputs = this.outputs.map((o) => ({ name: o.name, value: map.get(o.value) ?? o.value }));
    c.nextId = this.nextId;
    for (const n of this.names) c.names.add(n);
    return c;
  }

  addInput(name: string, type: TensorType): Value {
    const v = this.newValue(type, 'input', null, this.inputs.length, name);
    this.inputs.push(v);
    return v;
  }

  addState(varName: string, type: TensorType, init: InitSource, trainable = true, valueName?: string): Value {
    const v = this.newValue(type, 'state', null, this.states.length, valueName ?? this.freshName(varName));
    this.states.push(new StateVar(varName, v, init, trainable));
    return v;
  }

  stateByName(varName: string): StateVar | undefined {
    return this.states.find((s) => s.name === varName);
  }

  /** Creates a node at the end; output types are inferred unless given. */
  addNode(op: OpName, inputs: Value[], attrs: Attrs = {}, loc?: SourceLoc, types?: TensorType[]): Node {
    const outTypes = types ?? inferTypes(op, inputs.map((v) => v.type), attrs, loc);
    const node = new Node(this.nextId++, op, inputs, attrs, [], loc);
    node.outputs = outTypes.map((t, i) => this.newValue(t, 'node', node, i));
    inputs.forEach((v, i) => v.uses.push({ node, index: i }));
    this.slotOf?.set(node, this.list.length);
    this.list.push(node);
    for (const t of this.trackers) t.push(node);
    return node;
  }

  /** Convenience: a single-output node's value. */
  add(op: OpName, inputs: Value[], attrs: Attrs = {}, loc?: SourceLoc): Value {
    const n = this.addNode(op, inputs, attrs, loc);
    if (n.outputs.length !== 1) throw new Error(`${op} has ${n.outputs.length} outputs; use addNode`);
    return n.outputs[0]!;
  }

  setOutput(name: string, value: Value): void {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`graph @${this.name}: output '${name}' defined twice`);
    this.outputs.push({ name, value });
  }

  isOutput(v: Value): boolean {
    return this.outputs.some((o) => o.value === v);
  }

  setInput(node: Node, index: number, v: Value): void {
    const old = node.inputs[index]!;
    removeUse(old, (u) => u.node === node && u.index === index);
    node.inputs[index] = v;
    v.uses.push({ node, index });
  }

  /**
   * Points every use of `from` at `to`. Graph outputs are rewritten only with
   * `{ outputs: true }`, so that a pass never changes what a graph returns by accident.
   */
  replaceAllUsesWith(from: Value, to: Value, opts: { outputs?: boolean } = {}): void {
    if (from === to) return;
    if (this.isOutput(from)) {
      if (!opts.outputs) throw new Error(`replaceAllUsesWith: %${from.name ?? from.id} is a graph output; pass {outputs: true}`);
      for (const o of this.outputs) if (o.value === from) o.value = to;
    }
    // All at once (the same end state as setInput per use, without a splice per use).
    for (const u of from.uses) {
      u.node.inputs[u.index] = to;
      to.uses.push({ node: u.node, index: u.index });
    }
    from.uses.length = 0;
  }

  /** Removes a node whose outputs are unused. */
  removeNode(node: Node): void {
    for (const o of node.outputs) {
      if (o.uses.length > 0 || this.isOutput(o)) throw new Error(`removeNode: ${node.op} output still used`);
      if (o.name !== undefined) this.names.delete(o.name);
    }
    node.inputs.forEach((v) => removeUse(v, (u) => u.node === node));
    // Recorded; applied when `nodes` is next read (O(1) here, O(n) once per sweep).
    this.pendingRemoved.add(node);
    this.removedEver.add(node);
  }

  /** Removes a variable that no node reads. */
  removeState(varName: string): void {
    const i = this.states.findIndex((s) => s.name === varName);
    if (i < 0) return;
    const v = this.states[i]!.value;
    if (v.uses.length > 0 || this.isOutput(v)) throw new Error(`removeState: variable '${varName}' is still read`);
    this.states.splice(i, 1);
    if (v.name !== undefined) this.names.delete(v.name);
    this.states.forEach((s, k) => { s.value.index = k; });
  }

  /** Moves the last-added node to just before `before` (explicit insertion point). */
  moveBefore(node: Node, before: Node): void {
    if (node === before) return;
    // Recorded as "just before `before`'s slot"; applied when `nodes` is next read.
    const slots = this.slotOf ??= new Map(this.list.map((n, i) => [n, i]));
    // Take `node` out of where it is now.
    const from = this.moverSlot.get(node);
    if (from !== undefined) {
      const l = this.movedBefore.get(from)!;
      l.splice(l.indexOf(node), 1);
    } else {
      if (!slots.has(node)) throw new Error(`moveBefore: ${node.op} is not a node of graph @${this.name}`);
      this.movedAway.add(node);
    }
    // Put it just before `before`: its slot in the list, or its place among the moved.
    const to = this.moverSlot.get(before);
    if (to !== undefined) {
      const l = this.movedBefore.get(to)!;
      l.splice(l.indexOf(before), 0, node);
      this.moverSlot.set(node, to);
      return;
    }
    const k = slots.get(before);
    if (k === undefined) throw new Error(`moveBefore: ${before.op} is not a node of graph @${this.name}`);
    const l = this.movedBefore.get(k);
    if (l) l.push(node); else this.movedBefore.set(k, [node]);
    this.moverSlot.set(node, k);
  }

  /** All values: inputs, states, node outputs. */
  *values(): Iterable<Value> {
    yield* this.inputs;
    for (const s of this.states) yield s.value;
    for (const n of this.nodes) yield* n.outputs;
  }

  toString(): string {
    return printGraphHook(this);
  }
}

/**
 * Removes the first use matching `pred`, searching from the end: a node removed right after
 * it was added (or dce removing users last-first) finds its use at once.
 */
function removeUse(v: Value, pred: (u: { node: Node; index: number }) => boolean): void {
  const uses = v.uses;
  // Scanned from both ends at once: passes walk the graph in order, so a value read by many
  // nodes (a shared weight) loses its oldest use first while new uses are appended; one-ended
  // scans made rewriting every reader of such a value quadratic. Among several matches
  // (x op x) any may go, only one.
  for (let lo = 0, hi = uses.length - 1; lo <= hi; lo++, hi--) {
    if (pred(uses[hi]!)) {
      if (hi === uses.length - 1) uses.pop(); else uses.splice(hi, 1);
      return;
    }
    if (pred(uses[lo]!)) {
      if (lo === 0) uses.shift(); else uses.splice(lo, 1);
      return;
    }
  }
}

let printGraphHook: (g: Graph) => string = (g) => `graph @${g.name} (${g.nodes.length} nodes)`;

/** The printer registers itself here so Graph.toString prints the text IR. */
export function setGraphPrinter(p: (g: Graph) => string): void {
  printGraphHook = p;
}

export function describeValue(v: Value): string {
  return `%${v.name ?? v.id}: ${typeToString(v.type)}`;
}
