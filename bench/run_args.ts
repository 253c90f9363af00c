/** Command-line flags of `npm run bench` (bench/run.ts). */
import type { BenchOptions } from './harness.js';

export const HELP = `usage: npm run bench -- [--quick] [--only NAME[,NAME...]] [--backends wasm,cpu,onnxruntime,auto,webgpu] [--json out.json] [--no-ort] [--no-scaling] [--rounds N] [--budget MS] [--verbose]`;

export function parseArgs(argv: string[]): BenchOptions & { json: string; verbose: boolean } {
  const o: BenchOptions & { json: string; verbose: boolean } = { json: '', verbose: false };
  const list = (s: string | undefined, flag: string) => {
    if (!s) throw new Error(`${flag} needs a value\n${HELP}`);
    return s.split(',').map((x) => x.trim()).filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--only': o.only = [...(o.only ?? []), ...list(value(), flag)]; break;
      case '--backends': o.backends = list(value(), flag); break;
      case '--json': o.json = value() ?? ''; break;
      case '--no-ort': o.ort = false; break;
      case '--no-scaling': o.scaling = false; break;
      case '--rounds': { const n = Number(value()); o.minRounds = n; o.maxRounds = n; break; }
      case '--budget': o.budgetMs = Number(value()); break;
      case '--verbose': case '-v': o.verbose = true; break;
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      default: throw new Error(`unknown flag '${a}'\n${HELP}`);
    }
  }
  for (const b of o.backends ?? []) {
    if (!['cpu', 'wasm', 'webgpu', 'onnxruntime', 'auto'].includes(b)) throw new Error(`--backends: '${b}' is not one of cpu, wasm, webgpu, onnxruntime, auto`);
  }
  return o;
}
