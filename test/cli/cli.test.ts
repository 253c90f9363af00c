// Runs the built CLI (dist/src/cli/main.js): `npm test` compiles with tsc before vitest.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}dist/src/cli/main.js`;
const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;

function graphc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('graphc CLI (built)', () => {
  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run 'npm run build' first (npm test does)`);
  });

  it('--version prints the package.json version', () => {
    const r = graphc('--version');
    expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help lists every command with its flags', () => {
    const r = graphc('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const cmd of ['export', 'inspect', 'view', 'optimize', 'run']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    for (const flag of ['--fn <name>', '-o, --output <out.onnx>', '--opset <n>', '--input <name:dtype[dims]>', '--no-optimize', '--dump-ir <dir>', '--input <name=file.npy|random|d0,d1,...>', '--backend <name>', '--check', '--atol <x>', '--output-names <names>', '--json', '--quiet', '--input <name=d0,d1,...>']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('"auto", "webgpu", "tensorflow", "wasm", "cpu"');
  });

  it.each([
    ['export', ['export', 'missing.ts'], /^graphc export: missing\.ts: no such file$/],
    ['inspect', ['inspect', 'missing.onnx'], /^graphc inspect: missing\.onnx: no such file$/],
    ['inspect', ['inspect', 'package.json'], /^graphc inspect: package\.json: not a tfjs LayersModel/],
    ['run', ['run', 'README.md'], /^graphc run: README\.md: expected a TypeScript module/],
    ['optimize', ['optimize', 'README.md', '-o', '/tmp/x.onnx'], /^graphc optimize: README\.md: not an ONNX model/],
    ['export', ['export', 'examples/fashion_mlp.ts', '--fn', 'nope'], /^graphc export: examples\/fashion_mlp\.ts: no exported function or model named 'nope' \(found: model, predict\)$/],
  ])('%s with bad input exits 1 with a one-line error', (_name, args, message) => {
    const r = spawnSync(process.execPath, [cli, ...(args as string[])], { encoding: 'utf8', cwd: root });
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^=+$|Hi, looks like|tfjs-node|^\[graphc\] /.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    // The stack appears only under --verbose.
    const v = spawnSync(process.execPath, [cli, '--verbose', ...(args as string[])], { encoding: 'utf8', cwd: root });
    expect(v.stderr).toMatch(/\n\s+at /);
  });

  it.each([
    [[], /^graphc: error: missing command \(export, inspect, view, optimize, run\)/],
    [['frobnicate'], /^graphc: error: unknown command 'frobnicate'/],
    [['expor'], /^graphc: error: unknown command 'expor' \(Did you mean export\?\)/],
    [['--bogus'], /^graphc: error: unknown option '--bogus'/],
    [['export'], /^graphc: error: missing required argument/],
    [['export', 'm.ts', '--opset', 'x'], /^graphc: error: .*--opset.*expected a positive integer, got 'x'/],
    [['optimize', 'in.onnx'], /^graphc: error: required option '-o, --output <out.onnx>' not specified/],
    [['run', 'm.onnx', '--backend', 'gpu'], /^graphc: error: .*'gpu' is invalid. Allowed choices are auto, webgpu, tensorflow, wasm, cpu/],
    [['export', 'm.ts', '--opset', '19'], /^graphc: error: option '--opset <n>' argument '19' is invalid: graphc exports opsets 13 to 18/],
  ])('bad usage %j exits 2 with a one-line error', (args, message) => {
    const r = graphc(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
