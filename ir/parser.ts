/**
 * Reads the text form written by printer.ts back into a Graph. Output types are
 * re-inferred by `Graph.addNode` and must equal the declared ones; every failure is a
 * GcError GC0302 located at line:col of the text. `// comments` are skipped.
 */
import type { DType, TypedArray } from './dtype.js';
import { dtypeFromShort, dtypeShort, isDType, typedArrayFor } from './dtype.js';
import type { Dim } from './dim.js';
import { parseDim, shapeEq } from './dim.js';
import type { SourceLoc } from './errors.js';
import { Codes, GcError } from './errors.js';
import type { StateVar, TensorType, Value } from './graph.js';
import { Graph, typeToString } from './graph.js';
import type { AttrKind, AttrValue, OpDef, OpName } from './ops.js';
import { isOpName, OPS } from './ops.js';
import { quoteName } from './printer.js';
import type { TensorData } from './tensor_data.js';
import { sizeOf } from './tensor_data.js';
import { base64Decode, tensorFromBytes } from './tensor_bytes.js';

export function parseGraph(text: string, file = '<ir>'): Graph {
  return new Parser(text, file).graph();
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:NaN|-?Infinity|-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z0-9_.])/y;
const INTEGER = /-?\d+(?![A-Za-z0-9_.])/y;
const DIM = /[A-Za-z0-9_*+-]+/y;
const DIGITS = /\d+(?![A-Za-z_])/y;
const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;

/** A `%ref`: its lookup key and, for named values, the name. */
interface Ref { key: string; name: string | undefined; text: string; at: number }

class Parser {
  private pos = 0;
  private readonly lineStarts: number[] = [0];
  /** The values, graph and inits of the graph being read (a region's while one is: see region()). */
  private values = new Map<string, Value>();
  private g = new Graph();
  private inits = new Map<StateVar, TensorData>();
  /** Whether the graph being read is a region (it may not see the values outside). */
  private inRegion = false;

  constructor(private readonly text: string, private readonly file: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  // ---- diagnostics --------------------------------------------------------------

  private locAt(at: number): SourceLoc {
    let lo = 0, hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= at) lo = mid; else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: at - this.lineStarts[lo]! + 1 };
  }

  private fail(message: string, at = this.pos, help?: string): never {
    const loc = this.locAt(at);
    const start = this.lineStarts[loc.line - 1]!;
    const end = this.text.indexOf('\n', start);
    const line = this.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
    throw new GcError({ code: Codes.parse, message, loc, notes: [`${loc.line} | ${line}`], help });
  }

  // ---- lexing ---------------------------------------------------------------------

  /** Skips whitespace and `//` comments; with `sameLine`, stops at a newline. */
  private skip(sameLine = false): void {
    const s = this.text;
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (c === ' ' || c === '\t' || c === '\r' || (c === '\n' && !sameLine)) this.pos++;
      else if (c === '/' && s[this.pos + 1] === '/') {
        const nl = s.indexOf('\n', this.pos);
        this.pos = nl < 0 ? s.length : sameLine ? nl : nl + 1;
      } else break;
    }
  }

  private peek(str: string): boolean {
    this.skip();
    return this.text.startsWith(str, this.pos);
  }

  private eat(str: string): boolean {
    if (!this.peek(str)) return false;
    this.pos += str.length;
    return true;
  }

  private expect(str: string, what = `'${str}'`): void {
    if (!this.eat(str)) this.fail(`expected ${what}, found ${this.found()}`);
  }

  private found(): string {
    this.skip();
    if (this.pos >= this.text.length) return 'end of input';
    const m = /\S+/y;
    m.lastIndex = this.pos;
    return `'${m.exec(this.text)?.[0].slice(0, 24) ?? this.text[this.pos]}'`;
  }

  private match(re: RegExp): string | undefined {
    this.skip();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private peekKeyword(word: string): boolean {
    this.skip();
    IDENT.lastIndex = this.pos;
    return IDENT.exec(this.text)?.[0] === word;
  }

  private eatKeyword(word: string): boolean {
    if (!this.peekKeyword(word)) return false;
    this.pos += word.length;
    return true;
  }

  private ident(what: string): string {
    return this.match(IDENT) ?? this.fail(`expected ${what}, found ${this.found()}`);
  }

  private string(what: string): string {
    this.skip();
    const start = this.pos;
    if (this.text[start] !== '"') this.fail(`expected ${what} (a "string"), found ${this.found()}`);
    let i = start + 1;
    while (i < this.text.length && this.text[i] !== '"') {
      if (this.text[i] === '\n') break;
      i += this.text[i] === '\\' ? 2 : 1;
    }
    if (this.text[i] !== '"') this.fail('unterminated string', start);
    try {
      const v: unknown = JSON.parse(this.text.slice(start, i + 1));
      this.pos = i + 1;
      return v as string;
    } catch {
      return this.fail('malformed string literal', start);
    }
  }

  /** An identifier or a quoted string (names that are not identifiers print quoted). */
  private name(what: string): string {
    return this.peek('"') ? this.string(what) : this.ident(what);
  }

  private number(what: string): number {
    const t = this.match(NUMBER);
    if (t === undefined) this.fail(`expected ${what}, found ${this.found()}`);
    return Number(t);
  }

  private integer(what: string): number {
    this.skip();
    const at = this.pos;
    const x = this.number(what);
    if (!Number.isInteger(x)) this.fail(`expected ${what}, found ${x}`, at);
    return x;
  }

  private dim(): Dim {
    this.skip();
    const at = this.pos;
    const t = this.match(DIM);
    if (t === undefined) this.fail(`expected a dimension, found ${this.found()}`);
    try {
      return parseDim(t);
    } catch (e) {
      return this.fail((e as Error).message, at);
    }
  }

  /** `[a, b, …]` with `item` for each element. */
  private list<T>(item: () => T): T[] {
    this.expect('[');
    const out: T[] = [];
    if (this.eat(']')) return out;
    do out.push(item()); while (this.eat(','));
    this.expect(']', "',' or ']'");
    return out;
  }

  private dtype(): DType {
    this.skip();
    const at = this.pos;
    const t = this.ident('a dtype');
    const d = dtypeFromShort(t) ?? (isDType(t) ? t : undefined);
    if (d === undefined) this.fail(`unknown dtype '${t}' (expected f32, i32, i64 or bool)`, at);
    return d;
  }

  private type(): TensorType {
    const dtype = this.dtype();
    this.skip();
    if (this.text[this.pos] !== '[') this.fail(`expected '[' after dtype ${dtypeShort(dtype)}`);
    return { dtype, shape: this.list(() => this.dim()) };
  }

  // ---- values -----------------------------------------------------------------------

  private ref(): Ref {
    this.skip();
    const at = this.pos;
    this.expect('%', 'a value (%name)');
    if (this.text[this.pos] === '"') {
      const name = this.string('a value name');
      return { key: `s:${name}`, name, text: `%${quoteName(name)}`, at };
    }
    IDENT.lastIndex = DIGITS.lastIndex = this.pos;
    const id = IDENT.exec(this.text)?.[0];
    if (id !== undefined) {
      this.pos += id.length;
      return { key: `s:${id}`, name: id, text: `%${id}`, at };
    }
    const num = DIGITS.exec(this.text)?.[0];
    if (num === undefined) this.fail(`expected a value name or number after '%'`);
    this.pos += num.length;
    return { key: `n:${Number(num)}`, name: undefined, text: `%${num}`, at };
  }

  private use(): Value {
    const r = this.ref();
    const v = this.values.get(r.key);
    if (v === undefined) {
      this.fail(`unknown value ${r.text}`, r.at, this.inRegion
        ? 'a region sees only its block arguments and its own values: pass an outer value in as an operand of the node (a capture)'
        : 'values must be defined before they are used');
    }
    return v;
  }

  private checkFresh(r: Ref): void {
    if (this.values.has(r.key)) this.fail(`${r.text} is defined twice`, r.at);
  }

  private define(r: Ref, v: Value): void {
    this.checkFresh(r);
    if (r.name !== undefined && v.name !== r.name) this.g.setName(v, r.name);
    this.values.set(r.key, v);
  }

  // ---- tensors and attrs -----------------------------------------------------------------

  private tensor(): TensorData {
    this.expect('dense<', "a tensor ('dense<')");
    const dtype = this.dtype();
    this.skip();
    const shape = this.list(() => this.integer('a static dimension'));
    if (shape.some((d) => d < 0)) this.fail(`tensor shape [${shape.join(',')}] has a negative dimension`);
    this.expect('>');
    const n = sizeOf(shape);
    this.skip();
    const at = this.pos;
    if (this.text.startsWith('b64"', at)) {
      this.pos += 3;
      const bytes = base64Decode(this.string('base64 data'));
      if (bytes === undefined) this.fail('malformed base64 data', at);
      const t = tensorFromBytes(dtype, shape, bytes);
      if (typeof t === 'string') this.fail(`tensor data: ${t}`, at);
      return t;
    }
    const data: TypedArray = typedArrayFor(dtype, n);
    const elems = this.list(() => this.element(dtype));
    if (elems.length !== n) this.fail(`tensor of shape [${shape.join(',')}] needs ${n} elements, found ${elems.length}`, at);
    elems.forEach((x, i) => { data[i] = x as never; });
    return { dtype, shape, data };
  }

  private element(dtype: DType): number | bigint {
    this.skip();
    const at = this.pos;
    switch (dtype) {
      case 'float32': return this.number('a number');
      case 'bool': {
        const w = this.ident('true or false');
        if (w !== 'true' && w !== 'false') this.fail(`expected true or false, found '${w}'`, at);
        return w === 'true' ? 1 : 0;
      }
      case 'int32': {
        const x = this.integer('an integer');
        if (x !== (x | 0)) this.fail(`${x} is out of range for i32`, at);
        return x;
      }
      case 'int64': {
        const t = this.match(INTEGER) ?? this.fail(`expected an integer, found ${this.found()}`);
        const x = BigInt(t);
        if (x < INT64_MIN || x > INT64_MAX) this.fail(`${t} is out of range for i64`, at);
        return x;
      }
    }
  }

  private bool(): boolean {
    this.skip();
    const at = this.pos;
    const w = this.match(IDENT);
    if (w !== 'true' && w !== 'false') this.fail(`expected true or false, found ${w === undefined ? this.found() : `'${w}'`}`, at);
    return w === 'true';
  }

  private attrValue(kind: AttrKind): AttrValue {
    switch (kind) {
      case 'int': return this.integer('an integer');
      case 'float': return this.number('a number');
      case 'bool': return this.bool();
      case 'string': return this.string('a string');
      case 'dim': return this.dim();
      case 'ints': return this.list(() => this.integer('an integer'));
      case 'dims': return this.list(() => this.dim());
      case 'dtype': return this.dtype();
      case 'tensor': return this.tensor();
    }
  }

  private attrs(op: OpName, opAt: number): Record<string, AttrValue> {
    const schema: Readonly<Record<string, AttrKind>> = OPS[op].attrs;
    const attrs: Record<string, AttrValue> = {};
    if (this.eat('{') && !this.eat('}')) {
      do {
        this.skip();
        const at = this.pos;
        const name = this.name('an attr name');
        const kind = schema[name];
        if (kind === undefined) {
          const known = Object.keys(schema);
          this.fail(`${op} has no attr '${name}'`, at, known.length ? `${op} takes ${known.join(', ')}` : `${op} takes no attrs`);
        }
        if (Object.prototype.hasOwnProperty.call(attrs, name)) this.fail(`attr '${name}' given twice`, at);
        this.expect('=');
        this.skip();
        const valueAt = this.pos;
        try {
          attrs[name] = this.attrValue(kind);
        } catch (e) {
          if (!(e instanceof GcError)) throw e;
          this.fail(`attr '${name}' of ${op} must be ${kind}: ${e.summary}`, valueAt);
        }
      } while (this.eat(','));
      this.expect('}', "',' or '}'");
    }
    const optional: readonly string[] = (OPS[op] as OpDef).optional ?? [];
    for (const [name, kind] of Object.entries(schema)) {
      if (!(name in attrs) && !optional.includes(name)) this.fail(`${op}: missing attr '${name}' (${kind})`, opAt);
    }
    return attrs;
  }

  private loc(): SourceLoc | undefined {
    if (!this.eat('@')) return undefined;
    const file = this.string('a file name');
    this.expect(':');
    const line = this.integer('a line number');
    this.expect(':');
    const col = this.integer('a column number');
    return { file, line, col };
  }

  // ---- statements ---------------------------------------------------------------------

  private node(): void {
    const defs: Array<{ ref: Ref; type: TensorType }> = [];
    if (this.peek('%')) {
      do {
        const ref = this.ref();
        this.checkFresh(ref);
        if (defs.some((d) => d.ref.key === ref.key)) this.fail(`${ref.text} is defined twice`, ref.at);
        this.expect(':');
        defs.push({ ref, type: this.type() });
      } while (this.eat(','));
      this.expect('=', "'=' or ','");
    }
    this.skip();
    const opAt = this.pos;
    const op = this.ident('an op name');
    if (!isOpName(op)) this.fail(`unknown op '${op}'`, opAt);
    const inputs: Value[] = [];
    this.skip(true);
    if (this.text[this.pos] === '%') {
      do inputs.push(this.use()); while (this.eat(','));
    }
    const attrs = this.attrs(op, opAt);
    const loc = this.loc();
    const regions = (OPS[op] as OpDef).regions?.map((role) => this.region(op, role)) ?? [];
    let outputs: readonly Value[];
    try {
      outputs = this.g.addNode(op, inputs, attrs, loc, undefined, regions).outputs;
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      return this.fail(e instanceof GcError ? e.summary : e.message, opAt, e instanceof GcError ? e.help : undefined);
    }
    if (outputs.length !== defs.length) {
      this.fail(`${op} produces ${outputs.length} value${outputs.length === 1 ? '' : 's'}, but ${defs.length} ${defs.length === 1 ? 'is' : 'are'} declared`, opAt);
    }
    defs.forEach(({ ref, type }, i) => {
      const v = outputs[i]!;
      if (v.dtype !== type.dtype || !shapeEq(v.shape, type.shape)) {
        this.fail(`${ref.text} is declared ${typeToString(type)}, but ${op} infers ${typeToString(v.type)}`, ref.at);
      }
      this.define(ref, v);
    });
  }

  private init(): void {
    const r = this.ref();
    const v = this.values.get(r.key);
    const state = this.g.states.find((s) => s.value === v);
    if (state === undefined) this.fail(`init: ${r.text} is not a state`, r.at);
    if (this.inits.has(state)) this.fail(`init: ${r.text} is initialized twice`, r.at);
    this.expect('=');
    this.inits.set(state, this.tensor());
  }

  private returns(): void {
    if (this.peek('}')) return;
    do {
      this.skip();
      const at = this.pos;
      const name = this.name('an output name');
      if (this.g.outputs.some((o) => o.name === name)) this.fail(`output '${name}' is returned twice`, at);
      this.expect('=');
      this.g.setOutput(name, this.use());
    } while (this.eat(','));
  }

  /**
   * `region <role>(%a: type, ...) { nodes; return %v, ... }`: a region of an `op` node, read as
   * a graph of its own with its own value names (it sees no outer value).
   */
  private region(op: string, role: string): Graph {
    this.skip();
    const at = this.pos;
    if (!this.eatKeyword('region')) this.fail(`${op} needs its region '${role}' here, found ${this.found()}`, at, `write 'region ${role}(%arg: type, ...) { ... return %v }' after the node`);
    this.skip();
    const roleAt = this.pos;
    const got = this.ident('a region role');
    if (got !== role) this.fail(`${op}: expected region '${role}', found '${got}'`, roleAt, `${op}'s regions are, in order: ${(OPS[op as OpName] as OpDef).regions!.join(', ')}`);
    const saved = { values: this.values, g: this.g, inits: this.inits, inRegion: this.inRegion };
    this.values = new Map();
    this.g = new Graph(role);
    this.inits = new Map();
    this.inRegion = true;
    try {
      this.inputsDecl();
      if (this.peekKeyword('state')) this.fail('a region has no state', undefined, 'read a variable in a region through a capture (an operand of the node)');
      this.expect('{');
      for (;;) {
        if (this.eatKeyword('return')) break;
        if (this.peekKeyword('init')) this.fail('a region has no state to initialize');
        if (this.peek('}')) this.fail("expected 'return' before '}'");
        if (this.pos >= this.text.length) this.fail("unexpected end of input (missing 'return' and '}')");
        this.node();
      }
      // Values yielded by position (named 0, 1, … in the region's Graph).
      if (!this.peek('}')) {
        let i = 0;
        do this.g.setOutput(String(i++), this.use()); while (this.eat(','));
      }
      this.expect('}', "',' or '}'");
      return this.g;
    } finally {
      Object.assign(this, saved);
    }
  }

  /** `(%a: type, ...)`: the graph's inputs (a region's block arguments). */
  private inputsDecl(): void {
    const g = this.g;
    this.expect('(');
    if (!this.eat(')')) {
      do {
        const r = this.ref();
        if (r.name === undefined) this.fail(`inputs must be named (${r.text})`, r.at);
        this.checkFresh(r);
        this.expect(':');
        this.define(r, g.addInput(r.name, this.type()));
      } while (this.eat(','));
      this.expect(')', "',' or ')'");
    }
  }

  graph(): Graph {
    const g = this.g;
    if (!this.eatKeyword('graph')) this.fail(`expected 'graph', found ${this.found()}`);
    this.expect('@');
    g.name = this.name('a graph name');
    this.inputsDecl();
    const stateAt = new Map<StateVar, number>();
    if (this.eatKeyword('state')) {
      this.expect('(');
      do {
        const r = this.ref();
        if (r.name === undefined) this.fail(`states must be named (${r.text})`, r.at);
        this.checkFresh(r);
        this.expect(':');
        const type = this.type();
        this.expect('=');
        this.skip();
        const varAt = this.pos;
        const varName = this.string('the variable name');
        if (g.stateByName(varName)) this.fail(`variable "${varName}" is declared twice`, varAt);
        const trainable = this.eatKeyword('trainable');
        const placeholder: TensorData = { dtype: type.dtype, shape: [], data: typedArrayFor(type.dtype, 1) };
        this.define(r, g.addState(varName, type, placeholder, trainable, r.name));
        stateAt.set(g.states[g.states.length - 1]!, r.at);
      } while (this.eat(','));
      this.expect(')', "',' or ')'");
    }
    this.expect('{');
    for (;;) {
      if (this.eatKeyword('return')) { this.returns(); break; }
      if (this.eatKeyword('init')) { this.init(); continue; }
      if (this.peek('}')) this.fail("expected 'return' before '}'");
      if (this.pos >= this.text.length) this.fail("unexpected end of input (missing 'return' and '}')");
      this.node();
    }
    this.expect('}', "',' or '}'");
    this.skip();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.found()} after the graph`);
    for (const s of g.states) {
      const init = this.inits.get(s);
      if (init === undefined) this.fail(`state %${quoteName(s.value.name!)} ("${s.name}") has no init line`, stateAt.get(s)!, `add 'init %${quoteName(s.value.name!)} = dense<...> [...]' before 'return'`);
      s.init = init;
    }
    return g;
  }
}
