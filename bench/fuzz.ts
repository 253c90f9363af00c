/**
 * `npm run fuzz` — differential fuzzing of graphc: random tfjs programs run eagerly, compiled
 * (optimized and not) on cpu and wasm (and, with --backends, on the onnxruntime engine and under
 * 'auto'), and exported to onnxruntime-node; every disagreement is minimised and printed as tfjs
 * source with its feeds.
 *
 *   npm run fuzz -- --cases N --seed S [--backends cpu,wasm,onnxruntime,auto] [--variables] [--sync] [--no-ort] [--no-unify]
 *                   [--steps K] [--no-minimize] [--reports M] [--no-verify] [--verbose]
 *
 * --sync calls each compiled function with f.sync (after f.ready()) instead of awaiting it (under
 * 'auto': ONNX Runtime measured synchronously); the onnxruntime backend is still awaited.
 * --variables turns some inputs into tf.Variables the compiled function reads (runner.ts
 * variableInputs: static shape, odd place or the only input), assigned each feed set's values.
 * Case i runs the program of seed S+i (bench/fuzz/program.ts generate), so `--seed S+i --cases 1`
 * reruns one case. --no-unify keeps anonymous dims that the program would force equal apart.
 * --reports M minimises at most M distinct failures (default 10). Passes verify the graph after
 * each pass (GRAPHC_VERIFY=1) unless --no-verify. Exit status 1 when anything disagreed.
 */
import type { Backend, CaseResult, Finding, RunOptions } from './fuzz/runner.js';
import { BACKENDS, runProgram } from './fuzz/runner.js';
import type { Program } from './fuzz/program.js';
import { analyze, functionSource, generate, reproSource } from './fuzz/program.js';
import { minimize } from './fuzz/minimize.js';

interface Args {
  cases: number;
  seed: number;
  backends: Backend[];
  ort: boolean;
  variables: boolean;
  unify: boolean;
  steps: number;
  minimize: boolean;
  reports: number;
  verify: boolean;
  verbose: boolean;
  sync: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { cases: 200, seed: 1, backends: ['cpu', 'wasm'], ort: true, variables: false, unify: true, steps: 7, minimize: true, reports: 10, verify: true, verbose: false, sync: false };
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k]!;
    const value = () => {
      const v = argv[++k];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = () => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new Error(`${flag}: expected a non-negative integer, got '${v}'`);
      return Number(v);
    };
    switch (flag) {
      case '--cases': a.cases = int(); break;
      case '--seed': a.seed = int(); break;
      case '--steps': a.steps = Math.max(1, int()); break;
      case '--reports': a.reports = int(); break;
      case '--backends': {
        const bs = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const b of bs) if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`--backends: '${b}' is not one of ${BACKENDS.join(', ')}`);
        a.backends = bs as Backend[];
        break;
      }
      case '--no-ort': a.ort = false; break;
      case '--variables': a.variables = true; break;
      case '--sync': a.sync = true; break;
      case '--no-unify': a.unify = false; break;
      case '--no-minimize': a.minimize = false; break;
      case '--no-verify': a.verify = false; break;
      case '--verbose': a.verbose = true; break;
      case '--help': case '-h':
        console.log('npm run fuzz -- --cases N --seed S [--backends cpu,wasm,onnxruntime,auto] [--variables] [--no-ort] [--no-unify] [--steps K] [--no-minimize] [--reports M] [--no-verify] [--verbose]');
        process.exit(0);
      default: throw new Error(`unknown flag '${flag}' (see --help)`);
    }
  }
  return a;
}

/** Where a finding happened, coarsely: the backend ('onnxruntime' the engine), or 'onnx export' (f.toOnnx() run in onnxruntime-node). */
const site = (f: Finding) => (f.where === 'onnxruntime' || f.where.startsWith('onnxruntime ') ? 'onnx export' : f.where.split('/')[0]!);
/** Groups findings that are likely one bug: kind, site and the message with numbers and names blanked. */
const signature = (f: Finding) => `${f.kind} ${site(f)}: ${f.message.replace(/\d+(\.\d+)?(e[-+]?\d+)?/g, '#').replace(/%\w+/g, '%_').slice(0, 90)}`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.verify) process.env['GRAPHC_VERIFY'] = '1';
  const opts: RunOptions = { backends: a.backends, ort: a.ort, optimize: [true, false], variables: a.variables, sync: a.sync };
  const t0 = performance.now();
  let lastLog = t0, checks = 0, failing = 0;
  const skipped = new Map<string, number>();
  const groups = new Map<string, { count: number; seed: number; program: Program; finding: Finding }>();
  const tfjsNotes = new Map<string, number>();
  const autoChoices = new Map<string, number>();
  console.error(`fuzz: ${a.cases} cases from seed ${a.seed} on ${a.backends.join(',')}${a.ort ? ' + the onnx export in onnxruntime' : ''}${a.variables ? ' (some inputs as variables)' : ''}${a.unify ? '' : ' (no unification of anonymous dims)'}`);
  for (let i = 0; i < a.cases; i++) {
    const seed = a.seed + i;
    const p = generate(seed, { unify: a.unify, maxSteps: a.steps });
    let r: CaseResult;
    try {
      r = await runProgram(p, opts);
    } catch (e) {
      r = { findings: [{ kind: 'run', where: 'fuzz harness', message: e instanceof Error ? e.message : String(e) }], checks: 0 };
    }
    checks += r.checks;
    if (r.skipped) {
      const why = r.skipped.replace(/\d+/g, '#').slice(0, 100);
      skipped.set(why, (skipped.get(why) ?? 0) + 1);
      if (a.verbose) console.error(`seed ${seed}: skipped: ${r.skipped}`);
    }
    for (const c of r.autoChoices ?? []) autoChoices.set(c, (autoChoices.get(c) ?? 0) + 1);
    for (const n of r.notes ?? []) {
      const k = n.replace(/\d+(\.\d+)?(e[-+]?\d+)?/g, '#').replace(/output v#/, 'output').slice(0, 70);
      tfjsNotes.set(k, (tfjsNotes.get(k) ?? 0) + 1);
    }
    if (r.findings.length) {
      failing++;
      for (const f of r.findings) {
        const sig = signature(f);
        const g = groups.get(sig);
        if (g) g.count++;
        else groups.set(sig, { count: 1, seed, program: p, finding: f });
      }
      if (a.verbose) console.error(`seed ${seed}: ${r.findings.length} findings, first: ${r.findings[0]!.kind} ${r.findings[0]!.where}: ${r.findings[0]!.message}`);
    }
    const now = performance.now();
    if (now - lastLog > 5000 || i === a.cases - 1) {
      lastLog = now;
      console.error(`[${i + 1}/${a.cases}] ${((now - t0) / 1000).toFixed(0)} s, ${failing} failing programs, ${groups.size} distinct findings`);
    }
  }
  const secs = (performance.now() - t0) / 1000;

  // One program per distinct finding is minimised and printed.
  let reported = 0;
  const seen = new Set<number>();
  for (const [sig, g] of groups) {
    console.log(`\n== ${sig}\n   ${g.count}× first at seed ${g.seed}: ${g.finding.where}: ${g.finding.message}`);
    if (!a.minimize || reported >= a.reports || seen.has(g.seed)) continue;
    reported++;
    seen.add(g.seed);
    const same = (r: CaseResult) => r.findings.some((f) => f.kind === g.finding.kind && site(f) === site(g.finding));
    const small = await minimize(g.program, async (q) => same(await runProgram(q, opts)), 250, a.verbose ? (s) => console.error(s) : undefined);
    const r = await runProgram(small, opts);
    const an = analyze(small);
    const f = r.findings.find((x) => x.kind === g.finding.kind && site(x) === site(g.finding)) ?? g.finding;
    const backend = site(f) === 'onnx export' ? '' : `, backend: '${site(f)}'${f.where.includes('no-optimize') ? ', optimize: false' : ''}`;
    console.log(`   minimal (${small.steps.length} steps): ${f.where}: ${f.message}`);
    console.log(typeof an === 'string' ? functionSource(small) : reproSource(small, an.syms, backend).replace(/^/gm, '   '));
    const vs = / vars (\S+)/.exec(f.where);
    if (vs) console.log(`   // compiled with ${vs[1]} as tf.variable()s the function reads (not inputs), assigned each feed set's values before its call`);
  }

  console.log(`\n${a.cases} cases (seeds ${a.seed}..${a.seed + a.cases - 1}) in ${secs.toFixed(1)} s (${((secs * 1000) / Math.max(a.cases, 1)).toFixed(0)} ms/case), ${checks} comparisons`);
  console.log(`${failing} programs disagreed; ${groups.size} distinct findings`);
  const nSkipped = [...skipped.values()].reduce((x, y) => x + y, 0);
  if (nSkipped) {
    console.log(`${nSkipped} skipped:`);
    for (const [why, n] of skipped) console.log(`  ${n}× ${why}`);
  }
  if (autoChoices.size) console.log(`auto chose, per program, optimize setting and feed shapes: ${[...autoChoices].map(([c, n]) => `${c} ${n}×`).join(', ')}`);
  if (tfjsNotes.size) {
    console.log(`eager tfjs backends disagreeing with eager cpu (tfjs's own bugs; compiled results were held to either):`);
    for (const [k, n] of [...tfjsNotes].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`  ${n}× ${k}`);
  }
  if (failing) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exitCode = 2;
});
