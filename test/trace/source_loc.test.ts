// Every traced node and every trace error names the user's file:line:col, however the user's
// code runs: plain node, tsx (as `graphc export` loads modules), a source-mapped tsc build,
// vitest. The child-process modes run the built dist (`npm test` compiles with tsc first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import type { SourceLoc } from 'graphc';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = path.join(root, 'dist/src');
const tsxCli = path.join(root, 'node_modules/tsx/dist/cli.mjs');
const MARKERS = ['matmul', 'add', 'random', 'mul', 'predict', 'bad'] as const;
type Marker = (typeof MARKERS)[number];
/** The callee whose name V8 reports as the call's column, per marked line. */
const CALLEE: Record<Marker, string> = { matmul: 'matMul', add: 'add', random: 'randomUniform', mul: 'mul', predict: 'predict', bad: 'matMul' };

interface Traced {
  nodes: { op: string; loc?: SourceLoc }[];
  error: string;
}

/**
 * The user program: a function with tfjs ops, a random op (kept random by finding tfjs's
 * randomUniform_ on the stack) and a tfjs-layers predict, and one with a shape error. The TS
 * form has a type-only block and annotations on the marked lines, so its lines and columns
 * differ from the JavaScript that runs and only a correct source mapping finds them.
 */
function program(typescript: boolean): string {
  const T = typescript ? ': tf.Tensor' : '';
  return [
    "import * as tf from '@tensorflow/tfjs-core';",
    "import * as tfl from '@tensorflow/tfjs-layers';",
    "import * as gc from 'graphc';",
    ...(typescript ? ['', 'interface Traced {', '  nodes: { op: string; loc?: gc.SourceLoc }[];', '  error: string;', '}'] : []),
    '',
    "const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], activation: 'relu' })] });",
    '',
    `function f(x${T}, w${T})${T} {`,
    `  const y${T} = tf.matMul(x, w); // @loc:matmul`,
    `  const z${T} = tf.add(y, 1); // @loc:add`,
    `  const r${T} = tf.randomUniform([2, 4]); // @loc:random`,
    `  const m${T} = tf.mul(z, r); // @loc:mul`,
    `  return model.predict(m)${typescript ? ' as tf.Tensor' : ''}; // @loc:predict`,
    '}',
    '',
    `function bad(x${T})${T} {`,
    `  return tf.matMul(x, tf.ones([5, 2])); // @loc:bad`,
    '}',
    '',
    `const out${typescript ? ': Traced' : ''} = { nodes: gc.trace(f, [gc.spec([2, 3]), gc.spec([3, 4])]).nodes.map((n) => ({ op: n.op, loc: n.loc })), error: '' };`,
    'try {',
    '  gc.trace(bad, [gc.spec([2, 3])]);',
    '} catch (e) {',
    `  out.error = (e${typescript ? ' as Error' : ''}).message;`,
    '}',
    "console.log('RESULT ' + JSON.stringify(out));",
    '',
  ].join('\n');
}

/** Where each marked call is in `source` (1-based line, and the column of the callee's name). */
function positions(source: string, file: string, tag: string): Record<Marker, SourceLoc> {
  const lines = source.split('\n');
  const out = {} as Record<Marker, SourceLoc>;
  for (const m of MARKERS) {
    const i = lines.findIndex((l) => l.endsWith(`// ${tag}:${m}`));
    expect(i, `marker ${tag}:${m} in ${file}`).toBeGreaterThanOrEqual(0);
    const col = lines[i]!.indexOf(`.${CALLEE[m]}(`);
    expect(col, `call of ${CALLEE[m]} on the ${m} line of ${file}`).toBeGreaterThanOrEqual(0);
    out[m] = { file, line: i + 1, col: col + 2 };
  }
  return out;
}

const show = (l: SourceLoc | undefined): string => (l ? `${l.file}:${l.line}:${l.col}` : '(no location)');

function expectLocations(r: Traced, want: Record<Marker, SourceLoc>): void {
  const at = (m: Marker) => show(want[m]);
  const first = (op: string) => r.nodes.find((n) => n.op === op);
  expect(show(first('matmul')?.loc)).toBe(at('matmul'));
  expect(show(first('add')?.loc)).toBe(at('add'));
  expect(show(first('random_uniform')?.loc)).toBe(at('random'));
  expect(show(first('mul')?.loc)).toBe(at('mul'));
  expect(show(r.nodes[r.nodes.length - 1]?.loc)).toBe(at('predict'));
  // Every node (the constant 1, the dense layer's ops) is at one of the marked lines.
  const allowed = new Set(MARKERS.filter((m) => m !== 'bad').map(at));
  expect(r.nodes.map((n) => `${n.op} @ ${show(n.loc)}`).filter((s) => !allowed.has(s.split(' @ ')[1]!))).toEqual([]);
  expect(r.error).toMatch(/^error\[GC0203\]: matmul: inner dimensions differ/);
  expect(r.error.split('\n')).toContain(`  --> ${at('bad')}`);
}

describe('source locations name the user file:line:col', () => {
  let dir = '';

  beforeAll(() => {
    if (!existsSync(path.join(dist, 'index.js'))) throw new Error(`${dist}/index.js is missing: run 'npm run build' first (npm test does)`);
    const built = statSync(path.join(dist, 'trace/source_loc.js')).mtimeMs;
    if (built < statSync(path.join(root, 'src/trace/source_loc.ts')).mtimeMs) {
      throw new Error(`${dist}/trace/source_loc.js is older than src/trace/source_loc.ts: run 'npm run build' first (npm test does)`);
    }
    // A space and parentheses in the path: stack lines are `at fn (file:line:col)`.
    dir = mkdtempSync(path.join(os.tmpdir(), 'graphc source loc (test) '));
    mkdirSync(path.join(dir, 'node_modules/@tensorflow'), { recursive: true });
    for (const p of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', 'tsx']) symlinkSync(path.join(root, 'node_modules', p), path.join(dir, 'node_modules', p), 'dir');
    symlinkSync(root, path.join(dir, 'node_modules/graphc'), 'dir');
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function run(args: string[]): Traced {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (r.status !== 0 || line === undefined) throw new Error(`node ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(line.slice('RESULT '.length)) as Traced;
  }

  function write(file: string, text: string): string {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
    return text;
  }

  /** tsc's emit of src/user.ts into build/ (an ES module, as NodeNext emits in a "type": "module" package; a .map beside the .js). */
  function tscBuild(): string {
    const source = write('src/user.ts', program(true));
    const out = ts.transpileModule(source, {
      fileName: 'user.ts',
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, sourceMap: true },
    });
    const map = JSON.parse(out.sourceMapText!) as { sources: string[] };
    map.sources = ['../src/user.ts']; // as tsc writes it for rootDir src, outDir build
    write('build/user.js.map', JSON.stringify(map));
    return write('build/user.js', out.outputText);
  }

  it('plain node, a .mjs importing the built dist', () => {
    const src = write('user.mjs', program(false));
    expectLocations(run(['user.mjs']), positions(src, 'user.mjs', '@loc'));
  });

  it('npx tsx on a .ts', () => {
    const src = write('user.ts', program(true));
    expectLocations(run([tsxCli, 'user.ts']), positions(src, 'user.ts', '@loc'));
  });

  it("tsx's tsImport, as `graphc export module.ts` loads the module", () => {
    const src = write('user.ts', program(true));
    write('load.mjs', "import { pathToFileURL } from 'node:url';\nconst { tsImport } = await import('tsx/esm/api');\nawait tsImport(pathToFileURL('user.ts').href, import.meta.url);\n");
    expectLocations(run(['load.mjs']), positions(src, 'user.ts', '@loc'));
  });

  it('node --enable-source-maps on a tsc build: the .ts positions', () => {
    tscBuild();
    expectLocations(run(['--enable-source-maps', 'build/user.js']), positions(program(true), path.join('src', 'user.ts'), '@loc'));
  });

  it('node on the same build without source maps: the .js positions its own stack traces show', () => {
    const js = tscBuild();
    expectLocations(run(['build/user.js']), positions(js, path.join('build', 'user.js'), '@loc'));
  });
});

describe('source locations in-process under vitest', () => {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], activation: 'relu' })] });

  function f(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    const y: tf.Tensor = tf.matMul(x, w); // @here:matmul
    const z: tf.Tensor = tf.add(y, 1); // @here:add
    const r: tf.Tensor = tf.randomUniform([2, 4]); // @here:random
    const m: tf.Tensor = tf.mul(z, r); // @here:mul
    return model.predict(m) as tf.Tensor; // @here:predict
  }

  function bad(x: tf.Tensor): tf.Tensor {
    return tf.matMul(x, tf.ones([5, 2])); // @here:bad
  }

  it('nodes and errors name this test file (vitest maps its transformed code back)', () => {
    const self = fileURLToPath(import.meta.url);
    const want = positions(readFileSync(self, 'utf8'), path.relative(process.cwd(), self), '@here');
    const out: Traced = { nodes: gc.trace(f as (...a: tf.Tensor[]) => tf.Tensor, [gc.spec([2, 3]), gc.spec([3, 4])]).nodes.map((n) => ({ op: n.op, loc: n.loc })), error: '' };
    try {
      gc.trace(bad as (...a: tf.Tensor[]) => tf.Tensor, [gc.spec([2, 3])]);
    } catch (e) {
      out.error = (e as Error).message;
    }
    expectLocations(out, want);
  });
});
