/**
 * AutoGraph's transform as golden text: source in, source out (reviewed as a diff when the
 * transform changes; edit the expected strings). Every output keeps
 * the input's line count, so stack traces keep pointing at the user's lines; what is refused is
 * left byte for byte as it was, with the reason reported.
 */
import { describe, expect, it } from 'vitest';
import { mayNeedTransform, transformSource } from '../../src/autograph/transform.js';

const SAME = Symbol('unchanged');

interface Case {
  name: string;
  input: string;
  output: string | typeof SAME;
  /** kind@line and the carried variables. */
  converted: string[];
  refused: string[];
}

const CASES: Case[] = [
  {
    name: "if/else assigning a variable",
    input: `function f(x) {
  let y = x;
  if (x.dataSync()[0] > 0) {
    y = tf.relu(x);
  } else {
    y = tf.neg(x);
  }
  return y;
}
`,
    output: `const __ag = globalThis[Symbol.for("graphc.autograph")]; function f(x) {
  let y = x;
  __ag.if_(__ag.op(">", __ag.read(x, 0), 0), () => {
    y = tf.relu(x);
  }, () => {
    y = tf.neg(x);
  }, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);
  return y;
}
`,
    converted: ["if@3 y"],
    refused: [],
  },
  {
    name: "else-if chain, gc.item, arraySync, && across lines",
    input: `import * as gc from 'graphc';
function f(x) {
  let y, z = 0;
  if (gc.item(tf.sum(x)) > 1 &&
      x.arraySync()[0][1] !== 0) y = x;
  else if (!(x.dataSync()[1] <= 0)) { y = tf.exp(x); }
  else { const t = tf.abs(x); y = t; }
  return y;
}
`,
    output: `const __ag = globalThis[Symbol.for("graphc.autograph")]; import * as gc from 'graphc';
function f(x) {
  let y, z = 0;
  __ag.if_(__ag.and(__ag.op(">", __ag.item(tf.sum(x)), 1), () =>
 __ag.op("!==", __ag.readArray(x, [0, 1]), 0)), () => { y = x; }, () =>
 { __ag.if_(__ag.not((__ag.op("<=", __ag.read(x, 1), 0))), () => { y = tf.exp(x); }, () =>
 { const t = tf.abs(x); y = t; }, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]); }, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);
  return y;
}
`,
    converted: ["if@4 y","if@6 y"],
    refused: [],
  },
  {
    name: "both branches return",
    input: `function f(x) {
  if (Math.abs(x.dataSync()[0]) < 1e-3) {
    return tf.zerosLike(x);
  } else if (x.dataSync()[0] > 0) return x;
  else throw new Error('negative');
}
`,
    output: `const __ag = globalThis[Symbol.for("graphc.autograph")]; function f(x) {
  return __ag.ifExp(__ag.op("<", __ag.math("abs", __ag.read(x, 0)), 1e-3), () => {
    return tf.zerosLike(x);
  }, () => { return __ag.ifExp(__ag.op(">", __ag.read(x, 0), 0), () => { return x; }, () =>
 { throw new Error('negative'); }); });
}
`,
    converted: ["if-return@2","if-return@4"],
    refused: [],
  },
  {
    name: "ternary",
    input: `const g = (x, y) => tf.sum(x).dataSync()[0] > y.dataSync()[0] ? x : { a: y };
`,
    output: `const __ag = globalThis[Symbol.for("graphc.autograph")]; const g = (x, y) => __ag.ifExp(__ag.op(">", __ag.read(tf.sum(x), 0), __ag.read(y, 0)), () => (x), () => ({ a: y }));
`,
    converted: ["ternary@1"],
    refused: [],
  },
  {
    name: "while, do-while and for with loop-carried values",
    input: `function newton(a) {
  let x = a, it = tf.scalar(0);
  while (Math.abs(tf.sub(tf.square(x), a).dataSync()[0]) > 1e-6) {
    x = tf.mul(0.5, tf.add(x, tf.div(a, x)));
    it = it.add(1);
  }
  do { x = x.sub(1); } while (x.dataSync()[0] > 10);
  for (let s = tf.scalar(1); s.arraySync() < 100; s = s.mul(2)) x = x.add(s);
  return [x, it];
}
`,
    output: `const __ag = globalThis[Symbol.for("graphc.autograph")]; function newton(a) {
  let x = a, it = tf.scalar(0);
  __ag.while_(() => __ag.op(">", __ag.math("abs", __ag.read(tf.sub(tf.square(x), a), 0)), 1e-6), undefined, () => {
    x = tf.mul(0.5, tf.add(x, tf.div(a, x)));
    it = it.add(1);
  }, () => [x, it], (__ag_v) => { [x, it] = __ag_v; }, ["x","it"]);
  __ag.doWhile_(() => { x = x.sub(1); }, () => __ag.op(">", __ag.read(x, 0), 10), () => [x], (__ag_v) => { [x] = __ag_v; }, ["x"]);
  { let s = tf.scalar(1); __ag.while_(() => __ag.op("<", __ag.readArray(s, []), 100), () => { s = s.mul(2); }, () => { x = x.add(s); }, () => [s, x], (__ag_v) => { [s, x] = __ag_v; }, ["s","x"]); }
  return [x, it];
}
`,
    converted: ["while@3 x,it","do@7 x","for@8 s,x"],
    refused: [],
  },
  {
    name: "refused: return, break, property assignment, user call",
    input: `function f(x, o) {
  if (x.dataSync()[0] > 0) return x; else x = x.abs();
  while (x.dataSync()[0] > 0) { if (o.stop) break; x = x.sub(1); }
  if (x.dataSync()[0] > 1) o.last = x;
  if (check(x.dataSync()[0])) x = x.neg();
  if (x.dataSync()[0] ?? 1) x = x.neg();
  const n = x.dataSync()[0] > 0 ? (o = 1) : 2;
  return x;
}
`,
    output: SAME,
    converted: [],
    refused: ["if@2: it contains a return (line 2)","while@3: it contains a break that leaves it (line 3)","if@4: it assigns a property (line 4: o.last = x); only variables can be cond outputs or loop-carried values","if@5: the tensor read in the condition is used by \"check(x.dataSync()[0])\", which AutoGraph does not convert","if@6: the tensor read in the condition is an operand of '??'","ternary@7: a branch assigns o"],
  },
  {
    name: "untouched: conditions on JS values",
    input: `function f(x, n) {
  let y = x;
  if (n > 0) y = x.mul(2);
  while (n-- > 0) y = y.add(1);
  let v = x.dataSync()[0];
  if (v > 0) y = y.neg();
  return y;
}
`,
    output: SAME,
    converted: [],
    refused: [],
  },
];

describe('autograph transform (golden)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = transformSource(c.input, { fileName: 'm.js' });
    expect(r.code).toBe(c.output === SAME ? c.input : c.output);
    expect(r.code.split('\n').length).toBe(c.input.split('\n').length);
    expect(r.converted.map((x) => `${x.kind}@${x.line}${x.vars.length ? ` ${x.vars.join(',')}` : ''}`)).toEqual(c.converted);
    expect(r.refused.map((x) => `${x.kind}@${x.line}: ${x.reason}`)).toEqual(c.refused);
  });

  it('parses TypeScript by file name (type annotations, non-null and as in the condition)', () => {
    const input = `export function f(x: tf.Tensor): tf.Tensor {\n  let y: tf.Tensor = x;\n  if ((x.dataSync()[0]! as number) > 0) y = tf.neg(x);\n  return y;\n}\n`;
    const r = transformSource(input, { fileName: 'm.ts' });
    expect(r.code).toBe(`const __ag = globalThis[Symbol.for("graphc.autograph")]; export function f(x: tf.Tensor): tf.Tensor {\n  let y: tf.Tensor = x;\n  __ag.if_(__ag.op(">", (__ag.read(x, 0)), 0), () => { y = tf.neg(x); }, undefined, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);\n  return y;\n}\n`);
  });

  it('a variable declared inside the branch is not an output; one shadowed in a nested block is', () => {
    const input = `function f(x) {\n  let y = x;\n  if (x.dataSync()[0] > 0) { let z = x; { let y = 1; } y = z; z = y; }\n  return y;\n}\n`;
    expect(transformSource(input).converted).toEqual([{ kind: 'if', line: 3, vars: ['y'] }]);
  });

  it('an async function whose awaits are all tensor reads in conditions runs its body through async_ (one with other awaits stays as it was)', () => {
    const input = `export async function f(x) {
  let y = x;
  if ((await x.data())[0] > 0) {
    y = tf.neg(y);
  }
  while ((await tf.sum(y).array()) < 10) y = y.mul(2);
  return y;
}
const g = async (x) => (await x.array())[0] > 1 ? x : tf.neg(x);
async function h(x) {
  if ((await x.data())[0] > 0) y = x;
  await sleep(1);
  return x;
}
`;
    const r = transformSource(input, { fileName: 'm.js' });
    expect(r.code).toBe(`const __ag = globalThis[Symbol.for("graphc.autograph")]; export function f(x) { return __ag.async_(() => {
  let y = x;
  __ag.if_(__ag.op(">", __ag.read(x, 0), 0), () => {
    y = tf.neg(y);
  }, undefined, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);
  __ag.while_(() => __ag.op("<", (__ag.readArray(tf.sum(y), [])), 10), undefined, () => { y = y.mul(2); }, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);
  return y;
}); }
const g = (x) => __ag.async_(() => (__ag.ifExp(__ag.op(">", __ag.readArray(x, [0]), 1), () => (x), () => (tf.neg(x)))));
async function h(x) {
  if ((await x.data())[0] > 0) y = x;
  await sleep(1);
  return x;
}
`);
    expect(r.converted.map((c) => `${c.kind}@${c.line}`)).toEqual(['async@1', 'if@3', 'while@6', 'ternary@9', 'async@9']);
  });

  it('an early return: the statements after the if become its else branch when they return on every path', () => {
    const input = `function relu(x) {
  if (x.dataSync()[0] > 0) return x;
  const y = tf.mul(x, 0.1);
  if (y.dataSync()[0] < -1) {
    return tf.scalar(-1);
  }
  return y;
}
function g(x) {
  if (x.dataSync()[0] > 0) return x;
  console.log('no');
}
`;
    const r = transformSource(input, { fileName: 'm.js' });
    expect(r.code).toBe(`const __ag = globalThis[Symbol.for("graphc.autograph")]; function relu(x) {
  return __ag.ifExp(__ag.op(">", __ag.read(x, 0), 0), () => { return x; }, () => {
 const y = tf.mul(x, 0.1);
  return __ag.ifExp(__ag.op("<", __ag.read(y, 0), -1), () => {
    return tf.scalar(-1);
  }, () => {
 return y; }); });
}
function g(x) {
  if (x.dataSync()[0] > 0) return x;
  console.log('no');
}
`);
    expect(r.refused).toEqual([{ kind: 'if', line: 10, reason: 'its branch returns, it has no else, and the statements after it do not return on every path' }]);
  });

  it("the runtime goes after a 'use strict' prologue; a module that already uses __ag is left alone", () => {
    const input = `'use strict';\n"another";\nlet y;\nif (t.dataSync()[0] > 0) y = t;\n`;
    expect(transformSource(input, { fileName: 'm.js' }).code).toBe(`'use strict';\n"another";\nconst __ag = globalThis[Symbol.for("graphc.autograph")]; let y;\n__ag.if_(__ag.op(">", __ag.read(t, 0), 0), () => { y = t; }, undefined, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);\n`);
    const taken = `const __ag = 1;\nlet y;\nif (t.dataSync()[0] > 0) y = t;\n`;
    const r = transformSource(taken);
    expect(r.code).toBe(taken);
    expect(r.refused[0]!.reason).toMatch(/already uses the name __ag/);
  });

  it('const v = <a read> is a read where every use of v is a converted condition; one used elsewhere stays a number', () => {
    const input = `function f(x) {
  const v = tf.sum(x).dataSync()[0];
  let y = x;
  if (v > 0) y = tf.neg(x);
  const w = x.dataSync()[1];
  if (w > 0) y = tf.exp(y);
  console.log(w);
  const u = x.dataSync()[2], z = 3;
  return u > 1 ? y : tf.add(y, z);
}
`;
    const r = transformSource(input, { fileName: 'm.js' });
    expect(r.code).toBe(`const __ag = globalThis[Symbol.for("graphc.autograph")]; function f(x) {
  const v = __ag.read(tf.sum(x), 0);
  let y = x;
  __ag.if_(__ag.op(">", v, 0), () => { y = tf.neg(x); }, undefined, () => [y], (__ag_v) => { [y] = __ag_v; }, ["y"]);
  const w = x.dataSync()[1];
  if (w > 0) y = tf.exp(y);
  console.log(w);
  const u = __ag.read(x, 2), z = 3;
  return __ag.ifExp(__ag.op(">", u, 1), () => (y), () => (tf.add(y, z)));
}
`);
    expect(r.converted.map((c) => `${c.kind}@${c.line}`)).toEqual(['const@2', 'if@4', 'const@8', 'ternary@9']);
  });

  it('skips text with no tensor read before parsing', () => {
    expect(mayNeedTransform('if (a > 0) b();')).toBe(false);
    expect(mayNeedTransform('if (t.dataSync()[0] > 0) b();')).toBe(true);
    expect(mayNeedTransform('if (gc.item(t) > 0) b();')).toBe(true);
    const r = transformSource('const item = 1;\nif (item > 0) f();\n');
    expect(r.code).toBe('const item = 1;\nif (item > 0) f();\n');
  });

  it('gc.item is recognized only as graphc\'s (namespace or named import, aliased)', () => {
    const named = transformSource(`import { item as it } from 'graphc';\nlet y;\nif (it(t) > 0) y = t;\n`);
    expect(named.converted).toHaveLength(1);
    expect(named.code).toContain('__ag.item(t)');
    const other = transformSource(`import * as gc from 'other';\nlet y;\nif (gc.item(t) > 0) y = t;\n`);
    expect(other.converted).toHaveLength(0);
  });
});
