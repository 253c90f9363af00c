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
  nodes: Node[] = [];
  outputs: GraphOutput[] = [];
  private nextId = 0;
  private readonly names = new Set<string>();

  constructor(public name = 'f') {}

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
      c.nodes.push(m);
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
    this.nodes.push(node);
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
    const k = old.uses.findIndex((u) => u.node === node && u.index === index);
    if (k >= 0) old.uses.splice(k, 1);
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
    for (const u of [...from.uses]) this.setInput(u.node, u.index, to);
  }

  /** Removes a node whose outputs are unused. */
  removeNode(node: Node): void {
    for (const o of node.outputs) {
      if (o.uses.length > 0 || this.isOutput(o)) throw new Error(`removeNode: ${node.op} output still used`);
      if (o.name !== undefined) this.names.delete(o.name);
    }
    node.inputs.forEach((v) => {
      const k = v.uses.findIndex((u) => u.node === node);
      if (k >= 0) v.uses.splice(k, 1);
    });
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
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
    const i = this.nodes.indexOf(node);
    this.nodes.splice(i, 1);
    this.nodes.splice(this.nodes.indexOf(before), 0, node);
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

let printGraphHook: (g: Graph) => string = (g) => `graph @${g.name} (${g.nodes.length} nodes)`;

/** The printer registers itself here so Graph.toString prints the text IR. */
export function setGraphPrinter(p: (g: Graph) => string): void {
  printGraphHook = p;
}

export function describeValue(v: Value): string {
  return `%${v.name ?? v.id}: ${typeToString(v.type)}`;
}
