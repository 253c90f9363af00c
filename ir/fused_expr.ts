/**
 * The expression language of `fused_elementwise`: a small program over the node's operands,
 * held as the string attr `expr` so that it prints and parses with the graph.
 *
 *   program := (tmp '=' expr ';')* expr          tmp := 't' digits (t0, t1, … in order)
 *   expr    := op attrs? '(' expr (',' expr)* ')' | '$' digits | tmp | number
 *   attrs   := '{' name '=' number (',' name '=' number)* '}'
 *
 *   "mul($0, sigmoid($0))"                               swish
 *   "t0 = tanh(add(mul($0, 0.5), $1)); mul(t0, t0)"    a shared subexpression
 *   "leaky_relu{alpha=0.2}(add($0, $1))"               an op with a float attr
 *
 * `$i` is operand i of the node; `tK` names the value of the K-th statement (a subexpression
 * used more than once); numbers are float32 literals (NaN, Infinity and -Infinity included);
 * attr values are doubles, as the op's own float attrs are.
 * Ops are IR op names (EXPR_OPS: the ops whose OpDef says `expr`, see exprOp in ir/ops.ts:
 * elementwise float32 ops whose attrs are all floats) with IR semantics, broadcasting included;
 * every value is float32. The canonical text (printExpr) writes `, ` between arguments, attrs
 * sorted by name, numbers as the printer writes float32.
 */
import type { ExprOp } from './ops.js';
import { EXPR_OPS, EXPR_SIGNATURES, isExprOp } from './ops.js';

// The expression ops and their signatures are read off the op table (OpDef.expr): ops.ts owns them.
export { EXPR_OPS, EXPR_SIGNATURES, isExprOp };
export type { ExprOp };

export type Expr =
  | { readonly kind: 'in'; readonly index: number }
  | { readonly kind: 'tmp'; readonly index: number }
  | { readonly kind: 'lit'; readonly value: number }
  | { readonly kind: 'op'; readonly op: ExprOp; readonly args: readonly Expr[]; readonly attrs: Readonly<Record<string, number>> };

export interface ExprProgram {
  /** Statement K defines `tK`; it may use `$i` and earlier temps. */
  readonly temps: readonly Expr[];
  readonly result: Expr;
}

export class ExprError extends Error {
  constructor(message: string, readonly at: number, readonly text: string) {
    super(`${message} at column ${at + 1} of "${text}"`);
    this.name = 'ExprError';
  }
}

// ---- printing --------------------------------------------------------------------------

/** Shortest decimal that reads back, rounded to float32, as the float32 `x`. */
export function formatLiteral(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (Object.is(x, -0)) return '-0';
  if (!Number.isFinite(x) || x === 0) return String(x);
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return String(d);
  }
  return String(x);
}

/** An attr: a double, in its shortest exact form. */
export function formatAttr(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

export function printExprNode(e: Expr): string {
  switch (e.kind) {
    case 'in': return `$${e.index}`;
    case 'tmp': return `t${e.index}`;
    case 'lit': return formatLiteral(e.value);
    case 'op': {
      const keys = Object.keys(e.attrs).sort();
      const attrs = keys.length ? `{${keys.map((k) => `${k}=${formatAttr(e.attrs[k]!)}`).join(', ')}}` : '';
      return `${e.op}${attrs}(${e.args.map(printExprNode).join(', ')})`;
    }
  }
}

export function printExpr(p: ExprProgram): string {
  return [...p.temps.map((t, k) => `t${k} = ${printExprNode(t)}`), printExprNode(p.result)].join('; ');
}

// ---- parsing ---------------------------------------------------------------------------

const NUM = /(?:NaN|-?Infinity|-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const DIGITS = /\d+/y;

class ExprParser {
  private pos = 0;
  private temps = 0;
  private maxInput = -1;
  constructor(private readonly s: string) {}

  private fail(msg: string, at = this.pos): never {
    throw new ExprError(msg, at, this.s);
  }
  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }
  private eat(c: string): boolean {
    this.ws();
    if (this.s.startsWith(c, this.pos)) { this.pos += c.length; return true; }
    return false;
  }
  private expect(c: string): void {
    if (!this.eat(c)) this.fail(`expected '${c}'`);
  }
  private re(r: RegExp): string | undefined {
    this.ws();
    r.lastIndex = this.pos;
    const m = r.exec(this.s);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  /** A literal (float32) or, with `exact`, an attr (a double, like the op's own attr). */
  private number(exact = false): number {
    const t = this.re(NUM);
    if (t === undefined) this.fail('expected a number');
    return exact ? Number(t) : Math.fround(Number(t));
  }

  program(): { program: ExprProgram; inputs: number } {
    const temps: Expr[] = [];
    for (;;) {
      this.ws();
      const at = this.pos;
      const m = /t(\d+)\s*=/y;
      m.lastIndex = at;
      const hit = m.exec(this.s);
      if (!hit) break;
      if (Number(hit[1]) !== temps.length) this.fail(`expected t${temps.length} (temps are numbered in order)`, at);
      this.pos += hit[0].length;
      temps.push(this.expr());
      this.temps = temps.length;
      this.expect(';');
    }
    const result = this.expr();
    this.ws();
    if (this.pos < this.s.length) this.fail(`unexpected '${this.s.slice(this.pos, this.pos + 8)}'`);
    return { program: { temps, result }, inputs: this.maxInput + 1 };
  }

  private expr(): Expr {
    this.ws();
    const at = this.pos;
    if (this.eat('$')) {
      const d = this.re(DIGITS) ?? this.fail('expected an operand number after $');
      const index = Number(d);
      this.maxInput = Math.max(this.maxInput, index);
      return { kind: 'in', index };
    }
    const tm = /t(\d+)(?![A-Za-z0-9_({])/y;
    tm.lastIndex = at;
    const t = tm.exec(this.s);
    if (t) {
      const index = Number(t[1]);
      if (index >= this.temps) this.fail(`t${index} is used before it is defined`, at);
      this.pos += t[0].length;
      return { kind: 'tmp', index };
    }
    NAME.lastIndex = at;
    const nm = NAME.exec(this.s);
    if (nm && nm[0] !== 'NaN' && nm[0] !== 'Infinity') {
      this.pos += nm[0].length;
      const op = nm[0];
      if (!isExprOp(op)) this.fail(`'${op}' is not an expression op (one of ${EXPR_OPS.join(', ')})`, at);
      const sig = EXPR_SIGNATURES[op];
      const attrs: Record<string, number> = {};
      if (this.eat('{')) {
        do {
          const aAt = this.pos;
          const name = this.re(NAME) ?? this.fail('expected an attr name');
          if (!sig.attrs.includes(name)) this.fail(`${op} has no attr '${name}'`, aAt);
          if (name in attrs) this.fail(`attr '${name}' given twice`, aAt);
          this.expect('=');
          attrs[name] = this.number(true);
        } while (this.eat(','));
        this.expect('}');
      }
      for (const a of sig.attrs) if (!(a in attrs)) this.fail(`${op} needs attr '${a}'`, at);
      this.expect('(');
      const args: Expr[] = [];
      do args.push(this.expr()); while (this.eat(','));
      this.expect(')');
      if (args.length !== sig.arity) this.fail(`${op} takes ${sig.arity} operand${sig.arity === 1 ? '' : 's'}, got ${args.length}`, at);
      return { kind: 'op', op, args, attrs };
    }
    return { kind: 'lit', value: this.number() };
  }
}

const cache = new Map<string, { program: ExprProgram; inputs: number }>();

/**
 * Parses a program (cached by text). `inputs` is one more than the highest `$i` used.
 * Throws ExprError (with the column) on malformed text.
 */
export function parseExpr(text: string): { program: ExprProgram; inputs: number } {
  let r = cache.get(text);
  if (!r) {
    r = new ExprParser(text).program();
    if (cache.size > 4096) cache.clear();
    cache.set(text, r);
  }
  return r;
}
