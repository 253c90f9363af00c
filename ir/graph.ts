import type { DType } from './dtype.js';
import { dtypeShort } from './dtype.js';
import type { Shape } from './dim.js';
import { shapeToString } from './dim.js';
import type { SourceLoc } from './errors.js';
import type { TensorData } from './tensor_data.js';
import type { Attrs, OpName } from './ops.js';
import type { RegionType } from './control_flow.js';
import { inferTypes } from './ops.js';

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export function typeToString(t: TensorType): string {
  return `${dtypeShort(t.dtype)}${shapeToString(t.shape)}`;
}

export type ValueKind = 'input' | 'state' | 'node';

/** One use of a value: operand `index` of `node`. */
export interface Use {
  node: Node;
  index: number;
}

export class Value {
  constructor(
    readonly id: number,
    public type: TensorType,
    readonly kind: ValueKind,
    public producer: Node | null,
    public index: number,
    public name: string | undefined,
    /** Uses as (node, operand index) pairs; kept exact by Graph. */
    readonly uses: Use[] = [],
  ) {}
  get dtype(): DType { return this.type.dtype; }
  get shape(): Shape { return this.type.shape; }
}

/** The regions of a node without any (shared: never pushed to). */
export const NO_REGIONS: readonly Graph[] = Object.freeze([]);

export class Node {
  constructor(
    readonly id: number,
    readonly op: OpName,
    public inputs: Value[],
    public attrs: Attrs,
    public outputs: Value[],
    public loc: SourceLoc | undefined,
    /**
     * The nested graphs of a control-flow op (cond, while_loop, scan: ir/control_flow.ts), in the
     * order of OpDef.regions; empty for every other op. Each region is isolated from above: its
     * inputs are its block arguments, its outputs what it yields, and it reads no outer value.
     */
    public regions: readonly Graph[] = NO_REGIONS,
  ) {}
}

/** The signature of a region graph: its block argument types and the types it yields. */
export function regionType(r: Graph): RegionType {
  return { inputs: r.inputs.map((v) => v.type), outputs: r.outputs.map((o) => o.value.type) };
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

/** Graph.flags bits, per node id. */
const REMOVED_EVER = 1;     // removed from this graph at some time (hasNode)
const REMOVED_PENDING = 2;  // removed since the last sweep: still in `list` or among the moved
const MOVED_AWAY = 4;       // moved since the last sweep: skipped at its old slot of `list`

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
   *
   * The edit records are arrays indexed by node id (ids are dense, see idBound) rather than
   * Sets and Maps keyed by Node: on a 100k-node graph, hash tables of that many objects cost
   * more in cache misses and garbage than the edits themselves.
   */
  private list: Node[] = [];
  /** Per node id: REMOVED_EVER | REMOVED_PENDING | MOVED_AWAY (defined above the class). */
  private flags = new Uint8Array(0);
  /** Whether edits await the next sweep. */
  private dirty = false;
  /** Ids of the nodes removed or moved since the last sweep (whose flags it clears). */
  private readonly edited: number[] = [];
  /** How many nodes of `list` the next sweep drops (the new list is allocated at its length). */
  private pendingRemovals = 0;
  /** Moved nodes to emit just before list[i], in order, by i. */
  private readonly movedBefore = new Map<number, Node[]>();
  /** Per node id: where a moved node now waits (the key of its movedBefore list), else -1. */
  private moverSlot = new Int32Array(0);
  /**
   * Per node id: its index in `list`, kept by the sweep and addNode. A caller may edit the
   * array `nodes` returns, so a slot counts only where list[slot] is that node (else the slots
   * are built again).
   */
  private slotOf = new Int32Array(0);
  private slotsValid = false;
  /** Collectors of the nodes added while Graph.track runs. */
  private readonly trackers: Node[][] = [];

  constructor(public name = 'f') {}

  /** The nodes in topological order. Reading applies pending removals and moves (O(n) once). */
  get nodes(): Node[] {
    this.flushEdits();
    return this.list;
  }

  set nodes(ns: Node[]) {
    this.flushEdits();
    this.slotsValid = false;
    this.list = ns;
  }

  /**
   * Every node and value id of this graph is below this bound, and ids are dense from 0
   * (nodes and values share one counter; a clone keeps them): a pass may keep per-node or
   * per-value data in arrays of this length instead of Maps.
   */
  get idBound(): number {
    return this.nextId;
  }

  /** Whether `n`, a node of this graph, has not been removed. O(1). */
  hasNode(n: Node): boolean {
    return n.id >= this.flags.length || (this.flags[n.id]! & REMOVED_EVER) === 0;
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

  /** Makes the per-id edit arrays long enough for id `id`. */
  private reserve(id: number): void {
    if (id < this.flags.length) return;
    const n = Math.max(id + 1, this.nextId, this.flags.length * 2, 64);
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    this.flags = flags;
    const mover = new Int32Array(n).fill(-1);
    mover.set(this.moverSlot);
    this.moverSlot = mover;
    const slot = new Int32Array(n);
    slot.set(this.slotOf);
    this.slotOf = slot;
  }

  private flushEdits(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.nextId > 0) this.reserve(this.nextId - 1);
    const list = this.list, flags = this.flags, movedBefore = this.movedBefore;
    // The slots that moved nodes wait before, in order (a Map lookup per slot cost more).
    const slots = [...movedBefore.keys()].sort((a, b) => a - b);
    const len = list.length;
    const out: Node[] = new Array(Math.max(0, len - this.pendingRemovals));
    // The new slots are noted on the way (moveBefore would otherwise read every node again).
    const slotOf = this.slotOf;
    let k = 0;
    for (let i = 0, j = 0; i < len; i++) {
      if (j < slots.length && slots[j] === i) {
        for (const m of movedBefore.get(i)!) if ((flags[m.id]! & REMOVED_PENDING) === 0) { slotOf[m.id] = k; out[k++] = m; }
        j++;
      }
      const n = list[i]!;
      const id = n.id;
      if (id >= flags.length) out[k++] = n;
      else if ((flags[id]! & (MOVED_AWAY | REMOVED_PENDING)) === 0) { slotOf[id] = k; out[k++] = n; }
    }
    // Only a node removed twice, or one not in the list, makes the count differ.
    if (k !== out.length) out.length = k;
    this.pendingRemovals = 0;
    // Cleared only now: a node moved to a later slot is read again after its old one.
    for (const id of this.edited) {
      flags[id] = flags[id]! & REMOVED_EVER;
      this.moverSlot[id] = -1;
    }
    this.edited.length = 0;
    this.list = out;
    movedBefore.clear();
    this.slotsValid = true;
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
    const nodes = this.nodes;
    // Copies by id (ids are dense): arrays, not a Map of 100k+ values. Each copy's use list
    // is allocated at its final length, the original's (a first push would reserve 17 slots
    // for the one or two uses most values have: on a 100k-node graph, megabytes of work for
    // the garbage collector).
    const map: Array<Value | undefined> = new Array(this.nextId);
    const filled = new Int32Array(this.nextId);
    let reserved = 0, used = 0, overflow = false;
    const copy = (v: Value, producer: Node | null): Value => {
      const n = v.uses.length;
      reserved += n;
      const w = new Value(v.id, v.type, v.kind, producer, v.index, v.name, n > 0 ? new Array<Use>(n) : []);
      map[v.id] = w;
      return w;
    };
    for (const v of this.inputs) c.inputs.push(copy(v, null));
    for (const s of this.states) c.states.push(new StateVar(s.name, copy(s.value, null), s.initSource, s.trainable));
    const list = c.list;
    let unmapped = false;
    for (let k = 0; k < nodes.length; k++) {
      const n = nodes[k]!;
      const ins = n.inputs, outs = n.outputs;
      const inputs: Value[] = new Array(ins.length);
      const m = new Node(n.id, n.op, inputs, n.attrs, new Array(outs.length), n.loc,
        n.regions.length === 0 ? NO_REGIONS : n.regions.map((r) => r.clone()));
      for (let i = 0; i < ins.length; i++) {
        const mine = map[ins[i]!.id];
        if (mine === undefined) {
          // Not a value of this graph, or not defined before this use: kept as it is.
          inputs[i] = ins[i]!;
          ins[i]!.uses.push({ node: m, index: i });
          unmapped = true;
          continue;
        }
        inputs[i] = mine;
        const at = filled[mine.id]!;
        filled[mine.id] = at + 1;
        if (at >= mine.uses.length) overflow = true;
        mine.uses[at] = { node: m, index: i };
        used++;
      }
      for (let i = 0; i < outs.length; i++) m.outputs[i] = copy(outs[i]!, m);
      list.push(m);
    }
    // Where the original's use lists were not exact (or a use was left with an original
    // value), a reserved slot stayed empty: trim to what was filled.
    if (unmapped || overflow || used !== reserved) {
      for (const w of map) if (w !== undefined && filled[w.id]! < w.uses.length) w.uses.length = filled[w.id]!;
    }
    c.outputs = this.outputs.map((o) => ({ name: o.name, value: map[o.value.id] ?? o.value }));
    c.nextId = this.nextId;
    for (const n of this.names) c.names.add(n);
    return c;
  }

  addInput(name: string, type: TensorType): Value {
    const v = this.newValue(type, 'input', null, this.inputs.length, name);
    this.inputs.push(v);
    return v;
  }

  /** Removes an input nobody uses (a region's block argument that no node reads). */
  removeInput(v: Value): void {
    const i = this.inputs.indexOf(v);
    if (i < 0) throw new Error(`removeInput: %${v.name ?? v.id} is not an input of graph @${this.name}`);
    if (v.uses.length > 0 || this.isOutput(v)) throw new Error(`removeInput: %${v.name ?? v.id} is still used`);
    this.inputs.splice(i, 1);
    if (v.name !== undefined) this.names.delete(v.name);
    this.inputs.forEach((w, k) => { w.index = k; });
  }

  addState(varName: string, type: TensorType, init: InitSource, trainable = true, valueName?: string): Value {
    const v = this.newValue(type, 'state', null, this.states.length, valueName ?? this.freshName(varName));
    this.states.push(new StateVar(varName, v, init, trainable));
    return v;
  }

  stateByName(varName: string): StateVar | undefined {
    return this.states.find((s) => s.name === varName);
  }

  /**
   * Creates a node at the end; output types are inferred unless given. A control-flow op takes
   * its region graphs (ir/regions.ts builds them), which the node owns from then on.
   */
  addNode(op: OpName, inputs: Value[], attrs: Attrs = {}, loc?: SourceLoc, types?: TensorType[], regions: readonly Graph[] = NO_REGIONS): Node {
    const outTypes = types ?? inferTypes(op, inputs.map((v) => v.type), attrs, loc, regions.map(regionType));
    const node = new Node(this.nextId++, op, inputs, attrs, [], loc, regions.length === 0 ? NO_REGIONS : regions);
    node.outputs = outTypes.map((t, i) => this.newValue(t, 'node', node, i));
    inputs.forEach((v, i) => v.uses.push({ node, index: i }));
    if (this.slotsValid) {
      this.reserve(node.id);
      this.slotOf[node.id] = this.list.length;
    }
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
    removeUse(old, node, index);
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
    // The use records move over as they are (same node, same operand): no new objects.
    const uses = from.uses, toUses = to.uses;
    for (let i = 0, len = uses.length; i < len; i++) {
      const u = uses[i]!;
      u.node.inputs[u.index] = to;
      toUses.push(u);
    }
    from.uses.length = 0;
  }

  /** Removes a node whose outputs are unused. */
  removeNode(node: Node): void {
    for (const o of node.outputs) {
      if (o.uses.length > 0 || this.isOutput(o)) throw new Error(`removeNode: ${node.op} output still used`);
      if (o.name !== undefined) this.names.delete(o.name);
    }
    for (const v of node.inputs) removeUse(v, node, -1);
    // Recorded; applied when `nodes` is next read (O(1) here, O(n) once per sweep).
    this.reserve(node.id);
    const flags = this.flags[node.id]!; // reserve(node.id) sized flags past it
    if ((flags & REMOVED_PENDING) === 0) this.pendingRemovals++;
    this.flags[node.id] = flags | REMOVED_EVER | REMOVED_PENDING;
    this.edited.push(node.id);
    this.dirty = true;
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
    this.reserve(Math.max(node.id, before.id));
    if (!this.slotsValid) this.buildSlots();
    const mover = this.moverSlot;
    // Take `node` out of where it is now.
    const from = mover[node.id]!;
    if (from >= 0) {
      const l = this.movedBefore.get(from)!;
      l.splice(l.indexOf(node), 1);
    } else {
      if (this.slotIn(node) < 0) throw new Error(`moveBefore: ${node.op} is not a node of graph @${this.name}`);
      this.flags[node.id] = this.flags[node.id]! | MOVED_AWAY;
      this.edited.push(node.id);
    }
    this.dirty = true;
    // Put it just before `before`: its slot in the list, or its place among the moved.
    const to = mover[before.id]!;
    if (to >= 0) {
      const l = this.movedBefore.get(to)!;
      l.splice(l.indexOf(before), 0, node);
      mover[node.id] = to;
      return;
    }
    const k = this.slotIn(before);
    if (k < 0) throw new Error(`moveBefore: ${before.op} is not a node of graph @${this.name}`);
    const l = this.movedBefore.get(k);
    if (l) l.push(node); else this.movedBefore.set(k, [node]);
    mover[node.id] = k;
  }

  private buildSlots(): void {
    const list = this.list;
    for (let i = 0, len = list.length; i < len; i++) {
      const id = list[i]!.id;
      if (id >= this.slotOf.length) this.reserve(id);
      this.slotOf[id] = i;
    }
    this.slotsValid = true;
  }

  /** `n`'s index in `list`, or -1 when it is not there. */
  private slotIn(n: Node): number {
    const k = this.slotAt(n);
    if (k >= 0) return k;
    // A stale slot (the caller edited the node array): build them again.
    this.buildSlots();
    return this.slotAt(n);
  }

  private slotAt(n: Node): number {
    const k = n.id < this.slotOf.length ? this.slotOf[n.id]! : -1;
    return k >= 0 && k < this.list.length && this.list[k] === n ? k : -1;
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
 * Removes the first use of `v` by `node` (at operand `index`, or at any when -1), searching
 * from both ends at once: passes walk the graph in order, so a value read by many nodes (a
 * shared weight) loses its oldest use first while new uses are appended; one-ended scans made
 * rewriting every reader of such a value quadratic. A node removed right after it was added
 * (or dce removing users last-first) finds its use at once. Among several matches (x op x)
 * any may go, only one.
 */
function removeUse(v: Value, node: Node, index: number): void {
  const uses = v.uses;
  for (let lo = 0, hi = uses.length - 1; lo <= hi; lo++, hi--) {
    const h = uses[hi]!;
    if (h.node === node && (index < 0 || h.index === index)) {
      if (hi === uses.length - 1) uses.pop(); else uses.splice(hi, 1);
      return;
    }
    const l = uses[lo]!;
    if (l.node === node && (index < 0 || l.index === index)) {
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
