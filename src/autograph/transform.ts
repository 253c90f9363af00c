/**
 * AutoGraph for TypeScript: a source-to-source transform (ts-morph) that turns JavaScript control
 * flow on tensor data into calls of the AutoGraph runtime (./runtime.ts), which decides at run
 * time, as TensorFlow's AutoGraph does: a condition that is a plain JavaScript value runs as plain
 * JavaScript; a condition computed from a traced tensor becomes gc.cond / gc.whileLoop.
 *
 * Converted, inside any function or at the top level:
 *   - `if`/`else` (also `else if` chains), as a statement: the variables the branches assign that
 *     are declared outside them become the cond's outputs; when both branches return on every
 *     path, `return` of the cond's result;
 *   - ternaries `c ? a : b`;
 *   - `while`, `do … while` and `for (init; c; update)`: the variables the body, condition and
 *     update assign become the loop-carried values;
 * when the condition reads tensor data through one of the recognized reads:
 *   `t.dataSync()[k]`, `t.arraySync()` (optionally indexed: `t.arraySync()[i][j]`) and `gc.item(t)`
 *   (the namespace or named import of 'graphc'), combined with comparisons, arithmetic, `!`, `&&`,
 *   `||`, parentheses, `as`/`!` assertions and Math.abs/sqrt/exp/log/min/max/floor/ceil/round.
 *
 * Everything else is left exactly as it was (the transform is sound by refusing): a condition with
 * no recognized read, or with a read under anything else (a call of the user's, `??`, a property
 * of the read); a body that contains `return` (other than both branches returning), `break` or
 * `continue` leaving it, `await`, `yield`, `var`, or an assignment to a property (`o.x = …`,
 * `a[i] = …`); a ternary whose branches assign. Each refusal is reported with its line and reason.
 *
 * Lines are kept: every construct is rewritten on the lines it occupied (newlines inside are kept
 * in place, comments between tokens of a converted header are dropped), and the runtime import
 * goes on the line of the module's first statement. Stack traces through tsx or Node point at the
 * user's original file:line.
 */
import { Node, Project, SyntaxKind, ts } from 'ts-morph';
import type { Expression, SourceFile, Statement } from 'ts-morph';
import { READ_HINT, RUNTIME_KEY } from './key.js';

/** The identifier the transformed module binds the runtime to. */
export const RUNTIME_NAME = '__ag';

export type ConversionKind = 'if' | 'if-return' | 'ternary' | 'while' | 'do' | 'for' | 'async' | 'const';

export interface Conversion {
  kind: ConversionKind;
  /** 1-based line of the statement or expression in the original text. */
  line: number;
  /** Loop-carried values or cond outputs, by name. */
  vars: string[];
}

export interface Refusal {
  kind: ConversionKind;
  line: number;
  /** Why the construct stays plain JavaScript. */
  reason: string;
}

export interface TransformResult {
  /** The transformed text, or the original text unchanged when nothing was converted. */
  code: string;
  converted: Conversion[];
  refused: Refusal[];
}

export interface TransformOptions {
  /** File name (its extension picks TypeScript or JavaScript parsing). */
  fileName?: string;
}


const PRELUDE = `const ${RUNTIME_NAME} = globalThis[Symbol.for(${JSON.stringify(RUNTIME_KEY)})]; `;

/** Cheap test: false means the text has nothing the transform could convert. */
export function mayNeedTransform(text: string): boolean {
  return READ_HINT.test(text);
}

const MATH_FNS = new Set(['abs', 'sqrt', 'exp', 'log', 'min', 'max', 'floor', 'ceil', 'round']);

const BINARY_OPS: Partial<Record<SyntaxKind, string>> = {
  [SyntaxKind.PlusToken]: '+',
  [SyntaxKind.MinusToken]: '-',
  [SyntaxKind.AsteriskToken]: '*',
  [SyntaxKind.SlashToken]: '/',
  [SyntaxKind.PercentToken]: '%',
  [SyntaxKind.LessThanToken]: '<',
  [SyntaxKind.LessThanEqualsToken]: '<=',
  [SyntaxKind.GreaterThanToken]: '>',
  [SyntaxKind.GreaterThanEqualsToken]: '>=',
  [SyntaxKind.EqualsEqualsToken]: '==',
  [SyntaxKind.EqualsEqualsEqualsToken]: '===',
  [SyntaxKind.ExclamationEqualsToken]: '!=',
  [SyntaxKind.ExclamationEqualsEqualsToken]: '!==',
};

const ASSIGN_OPS = new Set<SyntaxKind>([
  SyntaxKind.EqualsToken, SyntaxKind.PlusEqualsToken, SyntaxKind.MinusEqualsToken, SyntaxKind.AsteriskEqualsToken,
  SyntaxKind.AsteriskAsteriskEqualsToken, SyntaxKind.SlashEqualsToken, SyntaxKind.PercentEqualsToken,
  SyntaxKind.LessThanLessThanEqualsToken, SyntaxKind.GreaterThanGreaterThanEqualsToken,
  SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken, SyntaxKind.AmpersandEqualsToken, SyntaxKind.BarEqualsToken,
  SyntaxKind.CaretEqualsToken, SyntaxKind.BarBarEqualsToken, SyntaxKind.AmpersandAmpersandEqualsToken,
  SyntaxKind.QuestionQuestionEqualsToken,
]);

function isFunctionBoundary(n: Node): boolean {
  return Node.isFunctionDeclaration(n) || Node.isFunctionExpression(n) || Node.isArrowFunction(n) || Node.isMethodDeclaration(n)
    || Node.isConstructorDeclaration(n) || Node.isGetAccessorDeclaration(n) || Node.isSetAccessorDeclaration(n)
    || Node.isClassDeclaration(n) || Node.isClassExpression(n);
}

/** Newlines of text[a, b), so that replacing that range keeps the line count. */
function newlines(text: string, a: number, b: number): string {
  let s = '';
  for (let i = a; i < b; i++) if (text.charCodeAt(i) === 10) s += '\n';
  return s;
}

interface Edit {
  start: number;
  end: number;
  render: () => string;
}

class Transformer {
  readonly text: string;
  readonly edits: Edit[] = [];
  readonly converted: Conversion[] = [];
  readonly refused: Refusal[] = [];
  /** Local names bound to graphc's `item` (named imports) and to the graphc namespace. */
  private readonly itemNames = new Set<string>();
  private readonly graphcNamespaces = new Set<string>();
  private readonly checker: ts.TypeChecker;

  /** Ranges of the conditions of converted constructs. */
  readonly conditions: [number, number][] = [];

  /**
   * `syncable`: async functions whose every await is a read of tensor data in the condition of a
   * construct (`(await t.data())[0] > 0`): they become functions whose body runs synchronously
   * (eagerly they still return a Promise), with those reads made as the synchronous ones.
   */
  constructor(private readonly sf: SourceFile, checker: ts.TypeChecker, private readonly syncable: ReadonlySet<Node> = new Set(),
    /** `const v = <a read>` whose every use is in a converted condition: v is a read too. */
    private readonly bound: ReadonlySet<ts.Symbol> = new Set()) {
    this.text = sf.getFullText();
    this.checker = checker;
    for (const imp of sf.getImportDeclarations()) {
      if (imp.getModuleSpecifierValue() !== 'graphc') continue;
      const ns = imp.getNamespaceImport();
      if (ns) this.graphcNamespaces.add(ns.getText());
      const def = imp.getDefaultImport();
      if (def) this.graphcNamespaces.add(def.getText());
      for (const n of imp.getNamedImports()) {
        if (n.getName() === 'item') this.itemNames.add(n.getAliasNode()?.getText() ?? 'item');
      }
    }
  }

  line(n: Node): number {
    return n.getStartLineNumber();
  }

  // ---- reads -------------------------------------------------------------------------------

  /** `t.dataSync()[k]`, `t.arraySync()[i]...`, `t.arraySync()`, `gc.item(t)`: the replacement, or undefined. */
  readOf(e: Node): (() => string) | undefined {
    if (Node.isIdentifier(e) && this.bound.size > 0) {
      const sym = this.checker.getSymbolAtLocation(e.compilerNode);
      if (sym !== undefined && this.bound.has(sym) && !Node.isShorthandPropertyAssignment(e.getParent())) return () => e.getText();
    }
    if (Node.isElementAccessExpression(e)) {
      // t.dataSync()[k]
      const obj = e.getExpression();
      const arg = e.getArgumentExpression();
      if (arg && Node.isCallExpression(obj) && obj.getArguments().length === 0) {
        const callee = obj.getExpression();
        if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'dataSync' && !callee.hasQuestionDotToken() && !obj.hasQuestionDotToken?.()) {
          const recv = callee.getExpression();
          return () => `${RUNTIME_NAME}.read(${this.render(recv.getStart(), recv.getEnd())}, ${this.render(arg.getStart(), arg.getEnd())})`;
        }
      }
      // t.arraySync()[i][j]
      const idx: Expression[] = [];
      let cur: Node = e;
      while (Node.isElementAccessExpression(cur)) {
        const a = cur.getArgumentExpression();
        if (!a || cur.hasQuestionDotToken()) return undefined;
        idx.unshift(a);
        cur = cur.getExpression();
      }
      const aw = this.awaitRead(cur);
      if (aw && (aw.kind === 'array' || idx.length === 1)) {
        const recv = aw.recv;
        return aw.kind === 'data'
          ? () => `${RUNTIME_NAME}.read(${this.render(recv.getStart(), recv.getEnd())}, ${this.render(idx[0]!.getStart(), idx[0]!.getEnd())})`
          : () => `${RUNTIME_NAME}.readArray(${this.render(recv.getStart(), recv.getEnd())}, [${idx.map((i) => this.render(i.getStart(), i.getEnd())).join(', ')}])`;
      }
      const base = this.arraySyncReceiver(cur);
      if (base) {
        return () => `${RUNTIME_NAME}.readArray(${this.render(base.getStart(), base.getEnd())}, [${idx.map((i) => this.render(i.getStart(), i.getEnd())).join(', ')}])`;
      }
      return undefined;
    }
    const base = this.arraySyncReceiver(e) ?? (Node.isAwaitExpression(e) && this.awaitRead(e)?.kind === 'array' ? this.awaitRead(e)!.recv : undefined);
    if (base) return () => `${RUNTIME_NAME}.readArray(${this.render(base.getStart(), base.getEnd())}, [])`;
    if (Node.isCallExpression(e) && e.getArguments().length === 1) {
      const callee = e.getExpression();
      const isItem = (Node.isIdentifier(callee) && this.itemNames.has(callee.getText()))
        || (Node.isPropertyAccessExpression(callee) && callee.getName() === 'item' && Node.isIdentifier(callee.getExpression())
          && this.graphcNamespaces.has(callee.getExpression().getText()));
      const arg = e.getArguments()[0]!;
      if (isItem && !Node.isSpreadElement(arg)) return () => `${RUNTIME_NAME}.item(${this.render(arg.getStart(), arg.getEnd())})`;
    }
    return undefined;
  }

  /** `await t.data()` / `await t.array()` (in parentheses or not) in a function made synchronous. */
  private awaitRead(e: Node): { recv: Node; kind: 'data' | 'array' } | undefined {
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (!Node.isAwaitExpression(e)) return undefined;
    const r = awaitedTensorRead(e);
    if (!r) return undefined;
    const f = enclosingFunction(e);
    return f !== undefined && this.syncable.has(f) ? r : undefined;
  }

  private arraySyncReceiver(e: Node): Node | undefined {
    if (!Node.isCallExpression(e) || e.getArguments().length !== 0) return undefined;
    const callee = e.getExpression();
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'arraySync' && !callee.hasQuestionDotToken()) return callee.getExpression();
    return undefined;
  }

  /** Whether `e` contains a recognized read outside nested functions. */
  hasRead(e: Node): boolean {
    if (this.readOf(e)) return true;
    let found = false;
    e.forEachChild((c) => {
      if (found || isFunctionBoundary(c)) return;
      if (this.hasRead(c)) found = true;
    });
    return found;
  }

  /**
   * A condition the runtime can evaluate on tensors: every node between a read and the root is an
   * operator the runtime implements. Returns the renderer, or a reason.
   */
  condition(e: Node): { render: () => string } | { reason: string } {
    if (!this.hasRead(e)) return { reason: 'the condition reads no tensor data' };
    const bad = this.unsupportedPath(e);
    if (bad) return { reason: bad };
    return { render: () => this.renderCond(e) };
  }

  private unsupportedPath(e: Node): string | undefined {
    if (!this.hasRead(e) || this.readOf(e)) return undefined;
    if (Node.isParenthesizedExpression(e) || Node.isAsExpression(e) || Node.isNonNullExpression(e) || Node.isTypeAssertion(e) || Node.isSatisfiesExpression(e)) {
      return this.unsupportedPath(e.getExpression());
    }
    if (Node.isBinaryExpression(e)) {
      const k = e.getOperatorToken().getKind();
      if (BINARY_OPS[k] === undefined && k !== SyntaxKind.AmpersandAmpersandToken && k !== SyntaxKind.BarBarToken) {
        return `the tensor read in the condition is an operand of '${e.getOperatorToken().getText()}'`;
      }
      return this.unsupportedPath(e.getLeft()) ?? this.unsupportedPath(e.getRight());
    }
    if (Node.isPrefixUnaryExpression(e)) {
      const k = e.getOperatorToken();
      if (k !== SyntaxKind.ExclamationToken && k !== SyntaxKind.MinusToken && k !== SyntaxKind.PlusToken) return 'the tensor read in the condition is an operand of a unary operator other than !, - and +';
      return this.unsupportedPath(e.getOperand());
    }
    if (this.mathCall(e)) {
      for (const a of (e as import('ts-morph').CallExpression).getArguments()) {
        const r = this.unsupportedPath(a);
        if (r) return r;
      }
      return undefined;
    }
    return `the tensor read in the condition is used by ${JSON.stringify(e.getText().slice(0, 40))}, which AutoGraph does not convert`;
  }

  private mathCall(e: Node): string | undefined {
    if (!Node.isCallExpression(e)) return undefined;
    const c = e.getExpression();
    if (Node.isPropertyAccessExpression(c) && Node.isIdentifier(c.getExpression()) && c.getExpression().getText() === 'Math' && MATH_FNS.has(c.getName())
      && !e.getArguments().some((a) => Node.isSpreadElement(a))) return c.getName();
    return undefined;
  }

  private renderCond(e: Node): string {
    const t = this.text;
    if (!this.hasRead(e)) return this.render(e.getStart(), e.getEnd());
    const read = this.readOf(e);
    if (read) return read();
    if (Node.isParenthesizedExpression(e)) {
      const inner = e.getExpression();
      return `(${newlines(t, e.getStart(), inner.getStart())}${this.renderCond(inner)}${newlines(t, inner.getEnd(), e.getEnd())})`;
    }
    if (Node.isAsExpression(e) || Node.isNonNullExpression(e) || Node.isTypeAssertion(e) || Node.isSatisfiesExpression(e)) {
      const inner = e.getExpression();
      return `${newlines(t, e.getStart(), inner.getStart())}${this.renderCond(inner)}${newlines(t, inner.getEnd(), e.getEnd())}`;
    }
    if (Node.isBinaryExpression(e)) {
      const l = e.getLeft(), r = e.getRight();
      const k = e.getOperatorToken().getKind();
      const gap = newlines(t, l.getEnd(), r.getStart());
      if (k === SyntaxKind.AmpersandAmpersandToken || k === SyntaxKind.BarBarToken) {
        const fn = k === SyntaxKind.AmpersandAmpersandToken ? 'and' : 'or';
        return `${RUNTIME_NAME}.${fn}(${this.renderCond(l)}, () =>${gap} ${this.renderCond(r)})`;
      }
      return `${RUNTIME_NAME}.op(${JSON.stringify(BINARY_OPS[k])}, ${this.renderCond(l)},${gap} ${this.renderCond(r)})`;
    }
    if (Node.isPrefixUnaryExpression(e)) {
      const o = e.getOperand();
      const fn = e.getOperatorToken() === SyntaxKind.ExclamationToken ? 'not' : e.getOperatorToken() === SyntaxKind.MinusToken ? 'neg' : 'pos';
      return `${RUNTIME_NAME}.${fn}(${newlines(t, e.getStart(), o.getStart())}${this.renderCond(o)})`;
    }
    const m = this.mathCall(e);
    if (m !== undefined && Node.isCallExpression(e)) {
      const args = e.getArguments();
      let out = `${RUNTIME_NAME}.math(${JSON.stringify(m)}`;
      let prev = e.getExpression().getEnd();
      for (const a of args) {
        out += `,${newlines(t, prev, a.getStart())} ${this.renderCond(a)}`;
        prev = a.getEnd();
      }
      return `${out}${newlines(t, prev, e.getEnd())})`;
    }
    /* c8 ignore next */
    throw new Error(`autograph: unsupported condition node ${e.getKindName()}`);
  }

  // ---- bodies ------------------------------------------------------------------------------

  /**
   * Why a branch or loop body cannot run inside a closure, or undefined when it can.
   * `allowReturn`: returns are allowed (both branches of an if return on every path).
   */
  bodyProblem(body: Node, allowReturn: boolean): string | undefined {
    let problem: string | undefined;
    const visit = (n: Node, inFn: boolean): void => {
      if (problem) return;
      if (!inFn) {
        if (Node.isReturnStatement(n) && !allowReturn) problem = `it contains a return (line ${this.line(n)})`;
        else if ((Node.isBreakStatement(n) || Node.isContinueStatement(n)) && !this.targetInside(n, body)) {
          problem = `it contains a ${Node.isBreakStatement(n) ? 'break' : 'continue'} that leaves it (line ${this.line(n)})`;
        } else if ((Node.isAwaitExpression(n) && !this.awaitRead(n)) || (Node.isForOfStatement(n) && n.isAwaited())) problem = `it contains await (line ${this.line(n)})`;
        else if (Node.isYieldExpression(n)) problem = `it contains yield (line ${this.line(n)})`;
        else if (Node.isVariableDeclarationList(n) && n.getDeclarationKind() === 'var') problem = `it declares a var (line ${this.line(n)}); use let or const`;
      }
      if (this.assignsProperty(n)) problem = `it assigns a property (line ${this.line(n)}: ${n.getText().slice(0, 40)}); only variables can be cond outputs or loop-carried values`;
      n.forEachChild((c) => visit(c, inFn || isFunctionBoundary(c)));
    };
    visit(body, false);
    return problem;
  }

  private assignsProperty(n: Node): boolean {
    const targets: Node[] = [];
    if (Node.isBinaryExpression(n) && ASSIGN_OPS.has(n.getOperatorToken().getKind())) targets.push(n.getLeft());
    if ((Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n))
      && (n.getOperatorToken() === SyntaxKind.PlusPlusToken || n.getOperatorToken() === SyntaxKind.MinusMinusToken)) targets.push(n.getOperand());
    return targets.some((t) => this.patternLeaves(t).some((l) => !Node.isIdentifier(l)));
  }

  /** The assignment targets of a destructuring pattern (or the target itself). */
  private patternLeaves(t: Node): Node[] {
    while (Node.isParenthesizedExpression(t) || Node.isAsExpression(t) || Node.isNonNullExpression(t)) t = t.getExpression();
    if (Node.isArrayLiteralExpression(t)) return t.getElements().flatMap((e) => this.patternLeaves(Node.isSpreadElement(e) ? e.getExpression() : e));
    if (Node.isObjectLiteralExpression(t)) {
      return t.getProperties().flatMap((p) => {
        if (Node.isShorthandPropertyAssignment(p)) return [p.getNameNode()];
        if (Node.isPropertyAssignment(p)) return this.patternLeaves(p.getInitializerOrThrow());
        if (Node.isSpreadAssignment(p)) return this.patternLeaves(p.getExpression());
        return [p];
      });
    }
    if (Node.isBinaryExpression(t) && t.getOperatorToken().getKind() === SyntaxKind.EqualsToken) return this.patternLeaves(t.getLeft()); // default value
    if (Node.isOmittedExpression(t)) return [];
    return [t];
  }

  /** Whether a break/continue's target statement lies inside `body`. */
  private targetInside(n: Node, body: Node): boolean {
    const label = (n as import('ts-morph').BreakStatement).getLabel?.()?.getText();
    for (let p = n.getParent(); p && p !== body.getParent(); p = p.getParent()) {
      if (isFunctionBoundary(p)) return true;
      if (label !== undefined) {
        if (Node.isLabeledStatement(p) && p.getLabel().getText() === label) return p.getStart() >= body.getStart() && p !== body;
      } else if (Node.isIterationStatement(p) || (Node.isBreakStatement(n) && Node.isSwitchStatement(p))) {
        return p !== body && p.getStart() >= body.getStart() && p.getEnd() <= body.getEnd();
      }
    }
    return false;
  }

  /** Variables assigned in `nodes` that are declared outside `scope`, in order of first assignment. */
  modifiedVars(nodes: Node[], scope: Node): string[] {
    const names: string[] = [];
    const consider = (id: Node): void => {
      if (!Node.isIdentifier(id)) return;
      const sym = Node.isShorthandPropertyAssignment(id.getParent())
        ? this.checker.getShorthandAssignmentValueSymbol(id.getParent()!.compilerNode)
        : this.checker.getSymbolAtLocation(id.compilerNode);
      const decls = sym?.getDeclarations() ?? [];
      const inside = decls.length > 0 && decls.every((d) => d.getSourceFile() === this.sf.compilerNode && d.getStart() >= scope.getStart() && d.getEnd() <= scope.getEnd());
      if (!inside && !names.includes(id.getText())) names.push(id.getText());
    };
    const visit = (n: Node): void => {
      if (Node.isBinaryExpression(n) && ASSIGN_OPS.has(n.getOperatorToken().getKind())) this.patternLeaves(n.getLeft()).forEach(consider);
      if ((Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n))
        && (n.getOperatorToken() === SyntaxKind.PlusPlusToken || n.getOperatorToken() === SyntaxKind.MinusMinusToken)) this.patternLeaves(n.getOperand()).forEach(consider);
      n.forEachChild(visit);
    };
    nodes.forEach(visit);
    return names;
  }

  // ---- constructs --------------------------------------------------------------------------

  private stateArgs(vars: string[]): string {
    const list = vars.join(', ');
    const set = vars.length === 0 ? '() => {}' : `(${RUNTIME_NAME}_v) => { [${list}] = ${RUNTIME_NAME}_v; }`;
    return `() => [${list}], ${set}, ${JSON.stringify(vars)}`;
  }

  /** A statement as an arrow function body (a block as it is, anything else in braces). */
  private asBlock(s: Statement): string {
    const body = this.render(s.getStart(), s.getEnd());
    return Node.isBlock(s) ? body : `{ ${body} }`;
  }

  visitIf(n: import('ts-morph').IfStatement): void {
    // The else-if of a converted chain is rendered through its parent; it is also a construct of its own.
    const line = this.line(n);
    const cond = this.condition(n.getExpression());
    if ('reason' in cond) {
      if (this.hasRead(n.getExpression())) this.refused.push({ kind: 'if', line, reason: cond.reason });
      return;
    }
    const thenS = n.getThenStatement(), elseS = n.getElseStatement();
    if (elseS === undefined && definitelyReturns(thenS)) {
      this.earlyReturn(n, cond.render, line);
      return;
    }
    const returns = elseS !== undefined && definitelyReturns(thenS) && definitelyReturns(elseS);
    const branches = elseS ? [thenS, elseS] : [thenS];
    for (const b of branches) {
      const p = this.bodyProblem(b, returns);
      if (p) { this.refused.push({ kind: 'if', line, reason: p }); return; }
    }
    const t = this.text;
    const c = n.getExpression();
    if (returns) {
      this.conditions.push([c.getStart(), c.getEnd()]);
      this.converted.push({ kind: 'if-return', line, vars: [] });
      this.edits.push({
        start: n.getStart(), end: n.getEnd(),
        render: () => `return ${RUNTIME_NAME}.ifExp(${newlines(t, n.getStart(), c.getStart())}${cond.render()}, () =>${newlines(t, c.getEnd(), thenS.getStart())} ${this.asBlock(thenS)}, () =>${newlines(t, thenS.getEnd(), elseS.getStart())} ${this.asBlock(elseS)});`,
      });
      return;
    }
    const vars = this.modifiedVars(branches, n);
    this.conditions.push([c.getStart(), c.getEnd()]);
    this.converted.push({ kind: 'if', line, vars });
    this.edits.push({
      start: n.getStart(), end: n.getEnd(),
      render: () => {
        let s = `${RUNTIME_NAME}.if_(${newlines(t, n.getStart(), c.getStart())}${cond.render()}, () =>${newlines(t, c.getEnd(), thenS.getStart())} ${this.asBlock(thenS)}, `;
        s += elseS ? `() =>${newlines(t, thenS.getEnd(), elseS.getStart())} ${this.asBlock(elseS)}` : 'undefined';
        return `${s}, ${this.stateArgs(vars)});`;
      },
    });
  }

  /**
   * `if (c) { …return a; } rest…` where the rest of the block returns on every path: the rest
   * becomes the else branch (`return ifExp(c, () => {…}, () => { rest… })`), as AutoGraph does.
   */
  private earlyReturn(n: import('ts-morph').IfStatement, renderCond: () => string, line: number): void {
    const parent = n.getParent();
    const thenS = n.getThenStatement();
    if (!Node.isBlock(parent)) {
      this.refused.push({ kind: 'if', line, reason: 'its branch returns and it has no else, outside a block' });
      return;
    }
    const rest = parent.getStatements().slice(parent.getStatements().indexOf(n) + 1);
    if (!rest.some(definitelyReturns)) {
      this.refused.push({ kind: 'if', line, reason: 'its branch returns, it has no else, and the statements after it do not return on every path' });
      return;
    }
    const p = this.bodyProblem(thenS, true) ?? rest.map((r) => (Node.isFunctionDeclaration(r) ? `a function is declared after it (line ${this.line(r)})` : this.bodyProblem(r, true))).find((x) => x !== undefined);
    if (p) { this.refused.push({ kind: 'if', line, reason: p }); return; }
    const t = this.text;
    const c = n.getExpression();
    const first = rest[0]!, last = rest[rest.length - 1]!;
    this.conditions.push([c.getStart(), c.getEnd()]);
    this.converted.push({ kind: 'if-return', line, vars: [] });
    this.edits.push({
      start: n.getStart(), end: last.getEnd(),
      render: () => `return ${RUNTIME_NAME}.ifExp(${newlines(t, n.getStart(), c.getStart())}${renderCond()}, () =>${newlines(t, c.getEnd(), thenS.getStart())} ${this.asBlock(thenS)}, () => {${newlines(t, thenS.getEnd(), first.getStart())} ${this.render(first.getStart(), last.getEnd())} });`,
    });
  }

  visitTernary(n: import('ts-morph').ConditionalExpression): void {
    const line = this.line(n);
    const cond = this.condition(n.getCondition());
    if ('reason' in cond) {
      if (this.hasRead(n.getCondition())) this.refused.push({ kind: 'ternary', line, reason: cond.reason });
      return;
    }
    const a = n.getWhenTrue(), b = n.getWhenFalse();
    for (const x of [a, b]) {
      const p = this.bodyProblem(x, false) ?? (this.modifiedVars([x], x).length > 0 ? `a branch assigns ${this.modifiedVars([x], x).join(', ')}` : undefined);
      if (p) { this.refused.push({ kind: 'ternary', line, reason: p }); return; }
    }
    const t = this.text;
    const c = n.getCondition();
    this.conditions.push([c.getStart(), c.getEnd()]);
    this.converted.push({ kind: 'ternary', line, vars: [] });
    this.edits.push({
      start: n.getStart(), end: n.getEnd(),
      render: () => `${RUNTIME_NAME}.ifExp(${cond.render()}, () =>${newlines(t, c.getEnd(), a.getStart())} (${this.render(a.getStart(), a.getEnd())}), () =>${newlines(t, a.getEnd(), b.getStart())} (${this.render(b.getStart(), b.getEnd())}))`,
    });
  }

  visitLoop(n: import('ts-morph').WhileStatement | import('ts-morph').DoStatement | import('ts-morph').ForStatement): void {
    const kind: ConversionKind = Node.isWhileStatement(n) ? 'while' : Node.isDoStatement(n) ? 'do' : 'for';
    const line = this.line(n);
    const c = Node.isForStatement(n) ? n.getCondition() : n.getExpression();
    if (!c) return;
    const cond = this.condition(c);
    if ('reason' in cond) {
      if (this.hasRead(c)) this.refused.push({ kind, line, reason: cond.reason });
      return;
    }
    const body = n.getStatement();
    const update = Node.isForStatement(n) ? n.getIncrementor() : undefined;
    const p = this.bodyProblem(body, false) ?? (update && this.bodyProblem(update, false)) ?? this.bodyProblem(c, false);
    if (p) { this.refused.push({ kind, line, reason: p }); return; }
    const scope = Node.isForStatement(n) ? body : n;
    const vars = this.modifiedVars([c, ...(update ? [update] : []), body], scope);
    // Variables the for's initializer declares live outside the loop closures: carried too.
    this.conditions.push([c.getStart(), c.getEnd()]);
    this.converted.push({ kind, line, vars });
    const t = this.text;
    if (Node.isWhileStatement(n)) {
      this.edits.push({
        start: n.getStart(), end: n.getEnd(),
        render: () => `${RUNTIME_NAME}.while_(${newlines(t, n.getStart(), c.getStart())}() => ${cond.render()}, undefined, () =>${newlines(t, c.getEnd(), body.getStart())} ${this.asBlock(body)}, ${this.stateArgs(vars)});`,
      });
    } else if (Node.isDoStatement(n)) {
      this.edits.push({
        start: n.getStart(), end: n.getEnd(),
        render: () => `${RUNTIME_NAME}.doWhile_(() =>${newlines(t, n.getStart(), body.getStart())} ${this.asBlock(body)}, () =>${newlines(t, body.getEnd(), c.getStart())} ${cond.render()}, ${this.stateArgs(vars)});`,
      });
    } else {
      const init = n.getInitializer();
      this.edits.push({
        start: n.getStart(), end: n.getEnd(),
        render: () => {
          let s = '{ ';
          let prev = n.getStart();
          if (init) {
            s += `${newlines(t, prev, init.getStart())}${this.render(init.getStart(), init.getEnd())}; `;
            prev = init.getEnd();
          }
          s += `${RUNTIME_NAME}.while_(${newlines(t, prev, c.getStart())}() => ${cond.render()}, `;
          prev = c.getEnd();
          if (update) {
            s += `() =>${newlines(t, prev, update.getStart())} { ${this.render(update.getStart(), update.getEnd())}; }, `;
            prev = update.getEnd();
          } else s += 'undefined, ';
          s += `() =>${newlines(t, prev, body.getStart())} ${this.asBlock(body)}, ${this.stateArgs(vars)}); }`;
          return s;
        },
      });
    }
  }

  /** `const v = <a read>` whose uses are all converted conditions: the initializer is rendered as one. */
  bindRead(d: import('ts-morph').VariableDeclaration): void {
    const init = d.getInitializerOrThrow();
    const c = this.condition(init);
    if (!('render' in c)) return;
    this.converted.push({ kind: 'const', line: this.line(d), vars: [d.getName()] });
    this.edits.push({ start: init.getStart(), end: init.getEnd(), render: c.render });
  }

  /** An async function made synchronous: its body runs through the runtime's async_ (a Promise eagerly, the value when traced). */
  wrapAsync(f: Node): void {
    this.converted.push({ kind: 'async', line: this.line(f), vars: [] });
    const kw = (f as import('ts-morph').FunctionDeclaration).getModifiers().find((m) => m.getKind() === SyntaxKind.AsyncKeyword)!;
    const body = (f as import('ts-morph').FunctionDeclaration | import('ts-morph').ArrowFunction).getBody()!;
    this.edits.push({
      start: f.getStart(), end: f.getEnd(),
      render: () => {
        const head = this.render(f.getStart(), kw.getStart()) + this.render(kw.getEnd(), body.getStart()).replace(/^ /, '');
        const inner = this.render(body.getStart(), body.getEnd());
        const wrapped = Node.isBlock(body) ? `{ return ${RUNTIME_NAME}.async_(() => ${inner}); }` : `${RUNTIME_NAME}.async_(() => (${inner}))`;
        return head + wrapped + this.render(body.getEnd(), f.getEnd());
      },
    });
  }

  // ---- rendering ---------------------------------------------------------------------------

  /** text[start, end) with every outermost edit inside it applied. */
  render(start: number, end: number): string {
    let out = '';
    let pos = start;
    for (const e of this.edits) {
      if (e.start < pos || e.end > end) continue;
      out += this.text.slice(pos, e.start) + e.render();
      pos = e.end;
    }
    return out + this.text.slice(pos, end);
  }
}

function enclosingFunction(n: Node): Node | undefined {
  for (let p = n.getParent(); p; p = p.getParent()) if (isFunctionBoundary(p)) return p;
  return undefined;
}

/** `await t.data()` / `await t.array()`: the tensor and which read. */
function awaitedTensorRead(a: import('ts-morph').AwaitExpression): { recv: Node; kind: 'data' | 'array' } | undefined {
  const call = a.getExpression();
  if (!Node.isCallExpression(call) || call.getArguments().length !== 0 || call.hasQuestionDotToken()) return undefined;
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.hasQuestionDotToken()) return undefined;
  const name = callee.getName();
  return name === 'data' || name === 'array' ? { recv: callee.getExpression(), kind: name } : undefined;
}

/** The awaits of an async function's own body (not of functions nested in it); for-await counts as one that is not a read. */
function ownAwaits(f: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node): void => {
    if (Node.isAwaitExpression(n) || (Node.isForOfStatement(n) && n.isAwaited())) out.push(n);
    n.forEachChild((c) => { if (!isFunctionBoundary(c)) visit(c); });
  };
  f.forEachChild((c) => { if (!isFunctionBoundary(c)) visit(c); });
  return out;
}

function isConditionOf(n: Node): boolean {
  const p = n.getParent();
  if (!p) return false;
  if ((Node.isIfStatement(p) || Node.isWhileStatement(p) || Node.isDoStatement(p)) && p.getExpression() === n) return true;
  if (Node.isForStatement(p) && p.getCondition() === n) return true;
  return Node.isConditionalExpression(p) && p.getCondition() === n;
}

/** An async function (not a generator) whose awaits are all `await t.data()`/`t.array()` inside conditions. */
function maySync(f: Node): boolean {
  if (!(Node.isFunctionDeclaration(f) || Node.isFunctionExpression(f) || Node.isArrowFunction(f) || Node.isMethodDeclaration(f))) return false;
  if (!f.isAsync() || (!Node.isArrowFunction(f) && f.isGenerator()) || f.getBody() === undefined) return false;
  const awaits = ownAwaits(f);
  return awaits.length > 0 && awaits.every((a) => {
    if (!Node.isAwaitExpression(a) || !awaitedTensorRead(a)) return false;
    for (let p: Node | undefined = a; p && p !== f; p = p.getParent()) if (isConditionOf(p)) return true;
    return false;
  });
}

/** Whether every path through `s` ends in a return or throw. */
function definitelyReturns(s: Node): boolean {
  if (Node.isReturnStatement(s) || Node.isThrowStatement(s)) return true;
  if (Node.isBlock(s)) return s.getStatements().some(definitelyReturns);
  if (Node.isIfStatement(s)) {
    const e = s.getElseStatement();
    return e !== undefined && definitelyReturns(s.getThenStatement()) && definitelyReturns(e);
  }
  return false;
}

/** Transforms one module's text. */
export function transformSource(text: string, opts: TransformOptions = {}): TransformResult {
  if (!mayNeedTransform(text)) return { code: text, converted: [], refused: [] };
  if (new RegExp(`\\b${RUNTIME_NAME}\\b`).test(text)) {
    return { code: text, converted: [], refused: [{ kind: 'if', line: 1, reason: `the module already uses the name ${RUNTIME_NAME}, which AutoGraph binds its runtime to` }] };
  }
  const fileName = opts.fileName ?? 'module.ts';
  const js = /\.(m|c)?jsx?$/.test(fileName);
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: { allowJs: true, noLib: true, noResolve: true, types: [] },
  });
  const sf = project.createSourceFile(js ? 'module.js' : fileName.endsWith('.tsx') ? 'module.tsx' : 'module.ts', text);
  const checker = project.getTypeChecker().compilerObject;
  const syncable = new Set<Node>();
  sf.forEachDescendant((n) => { if (maySync(n)) syncable.add(n); });
  // const v = <a read>: bound while every use of the name is in a converted condition.
  const probe = new Transformer(sf, checker, syncable);
  const bound = new Map<ts.Symbol, import('ts-morph').VariableDeclaration>();
  sf.forEachDescendant((n) => {
    if (!Node.isVariableDeclaration(n) || n.getVariableStatement()?.getDeclarationKind() !== 'const') return;
    const name = n.getNameNode(), init = n.getInitializer();
    if (!Node.isIdentifier(name) || init === undefined || !('render' in probe.condition(init))) return;
    const sym = checker.getSymbolAtLocation(name.compilerNode);
    if (sym !== undefined) bound.set(sym, n);
  });
  // The identifiers that may name the const: its symbol's, or the same name unresolved (counted, to be safe).
  const usesOf = (sym: ts.Symbol, d: import('ts-morph').VariableDeclaration): Node[] => {
    const name = d.getName();
    return sf.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => {
      if (id.getText() !== name || id === d.getNameNode()) return false;
      const p = id.getParent();
      const s = Node.isShorthandPropertyAssignment(p) ? checker.getShorthandAssignmentValueSymbol(p.compilerNode) : checker.getSymbolAtLocation(id.compilerNode);
      return s === undefined || s === sym;
    });
  };
  const dropped: Node[] = [];
  let tr: Transformer;
  for (;;) {
    tr = new Transformer(sf, checker, syncable, new Set(bound.keys()));
    const t = tr;
    sf.forEachDescendant((n) => {
      if (Node.isIfStatement(n)) t.visitIf(n);
      else if (Node.isConditionalExpression(n)) t.visitTernary(n);
      else if (Node.isWhileStatement(n) || Node.isDoStatement(n) || Node.isForStatement(n)) t.visitLoop(n);
    });
    // An async function stays as it was unless every await in it went into a converted condition.
    const inCondition = (a: Node): boolean => t.conditions.some(([s, e]) => a.getStart() >= s && a.getEnd() <= e);
    const keep = [...syncable].filter((f) => ownAwaits(f).some((a) => !inCondition(a)));
    const unbind = [...bound].filter(([sym, d]) => usesOf(sym, d).some((u) => !inCondition(u)));
    unbind.forEach(([sym]) => bound.delete(sym));
    if (keep.length === 0 && unbind.length === 0) break;
    keep.forEach((f) => syncable.delete(f));
    dropped.push(...keep);
  }
  for (const f of syncable) tr.wrapAsync(f);
  for (const d of bound.values()) tr.bindRead(d);
  for (const f of dropped) tr.refused.push({ kind: 'async', line: f.getStartLineNumber(), reason: 'an await in a condition it reads tensor data with is in a construct that stays plain JavaScript, so the function stays async' });
  if (tr.edits.length === 0) return { code: text, converted: [], refused: tr.refused };
  tr.edits.sort((a, b) => a.start - b.start || b.end - a.end);
  // After a directive prologue ('use strict'), which must stay first.
  const stmts = sf.getStatements();
  let k = 0;
  const directive = (st: Node): boolean => Node.isExpressionStatement(st) && Node.isStringLiteral(st.getExpression());
  while (k < stmts.length - 1 && directive(stmts[k]!)) k++;
  const at = stmts[k]!.getStart();
  const code = `${text.slice(0, at)}${PRELUDE}${tr.render(at, text.length)}`;
  tr.converted.sort((a, b) => a.line - b.line);
  tr.refused.sort((a, b) => a.line - b.line);
  return { code, converted: tr.converted, refused: tr.refused };
}

/**
 * TypeScript to JavaScript (types stripped, an inline source map to `fileName`): for the loader
 * hook when a hook registered before it (tsx under `node --import tsx --import graphc/autograph`)
 * has already compiled the module, so the transform runs on the original text and compiles it
 * itself.
 */
export function transpileTs(code: string, fileName: string): string {
  return ts.transpileModule(code, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, inlineSources: true,
      esModuleInterop: true, jsx: fileName.endsWith('x') ? ts.JsxEmit.React : ts.JsxEmit.None,
    },
  }).outputText;
}
