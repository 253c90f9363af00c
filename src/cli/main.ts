#!/usr/bin/env node
// The `graphc` command: export, inspect, optimize, run. Results go to stdout, the status of long
// steps to stderr (--quiet: none). A usage error (an unknown option, a bad value, a missing
// argument, flags that do not go together) is one line and exit code 2; any other failure is
// one line and exit code 1; --verbose adds the stack.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES } from '../../runtime/backends/names.js';
import type { BackendName } from '../../runtime/backends/names.js';
import { GcError } from '../../ir/errors.js';
import { CliError, UsageError } from './cli_error.js';
import { makeStatus } from './progress.js';

/** graphc's package.json version, found by walking up from this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'graphc' && pkg.version) return pkg.version;
    } catch {
      // no package.json here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('graphc: cannot find its own package.json');
    dir = parent;
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number, got '${value}'`);
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

let verbose = false;
let quiet = false;
let program: Command;

function report(command: string, e: unknown): void {
  if (e instanceof UsageError) {
    // Worded and numbered as commander's own usage errors.
    if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
    program.error(`error: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''} (see 'graphc ${command} --help')`, { exitCode: 2, code: 'graphc.usage' });
  }
  if (e instanceof GcError) {
    // A compiler diagnostic about the user's code: what, where, and a hint, on a few lines.
    process.stderr.write(`graphc ${command}: ${e.message}\n`);
  } else if (e instanceof CliError) {
    process.stderr.write(`graphc ${command}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}\n`);
  } else if (e instanceof Error && e.name === 'BackendUnavailableError') {
    // runtime/backends/select.ts's error (not imported here: it loads tfjs): what, why, and its help line as the hint.
    const [what, ...rest] = e.message.split('\n');
    const hint = rest.join(' ').replace(/^\s*help:\s*/, '').trim();
    process.stderr.write(`graphc ${command}: ${what}${hint ? ` (hint: ${hint})` : ''}\n`);
  } else {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`graphc ${command}: ${msg.split('\n')[0]}\n`);
  }
  if (verbose && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}

function action<A extends unknown[]>(command: string, f: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await f(...args);
    } catch (e) {
      report(command, e);
    }
  };
}

/** Where a command writes: results on stdout, status on stderr; `json` for --json. */
function io(json = false) {
  return { out: (line: string) => { process.stdout.write(`${line}\n`); }, status: makeStatus({ quiet }), json };
}

async function commands() {
  // Loaded on demand: `graphc --help` stays fast.
  return import('./commands.js');
}

function buildProgram(): Command {
  const program = new Command('graphc')
    // Usage errors exit 2 (POSIX utilities' and argparse's convention), help and --version 0.
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    })
    .description('graphc: trace TensorFlow.js code into a graph, optimize it, run it, export ONNX')
    .version(packageVersion(), '-V, --version', 'print the graphc version')
    .helpOption('-h, --help', 'show help')
    .configureOutput({
      // Commander's messages start with "error: "; prefix the program name and keep the
      // message (and a "Did you mean ...?" suggestion) on one line.
      outputError: (str, write) => write(`graphc: ${str.trim().replace(/\s*\n\s*/g, ' ')}\n`),
    })
    .showSuggestionAfterError(true)
    .option('--verbose', 'print the stack trace of errors, and what tfjs and Dawn print (GRAPHC_LOG=verbose)')
    .option('-q, --quiet', 'print no status or progress on stderr (results and errors only)')
    .hook('preAction', (cmd) => {
      verbose = Boolean(cmd.opts().verbose);
      quiet = Boolean(cmd.opts().quiet);
      // Read by runtime/backends/log.ts when backends are set up (after this hook: commands load lazily).
      if (verbose && process.env.GRAPHC_LOG !== 'debug') process.env.GRAPHC_LOG = 'verbose';
    });

  program
    .command('export')
    .description('trace a TS module or a saved tfjs LayersModel and write ONNX')
    .argument('<module.ts | model.json>', 'a TypeScript module, or a tfjs LayersModel model.json')
    .option('--fn <name>', 'the exported function or model to export')
    .option('-o, --output <out.onnx>', 'where to write the ONNX model')
    .option('--opset <n>', 'ONNX opset (default 17)', positiveInt)
    .option('--input <name:dtype[dims]>', 'an input signature, e.g. x:float32[batch,784] (repeatable)', collect)
    .option('--no-optimize', 'skip the optimization passes')
    .option('--dump-ir <dir>', 'write the IR text as traced and after each pass that changes it into <dir>')
    .option('--verify', 'verify the graph after every optimization pass (names the pass that broke it)')
    .option('--force', 'write even over the input or an existing file that is not .onnx / .ir')
    .option('--output-names <names>', 'name the graph outputs, in order, e.g. logits,probs')
    .option('--check', 'run the written file in onnxruntime-node against graphc on random inputs (symbolic dims at 1 and 3); exit 1 when max |Δ| > --atol')
    .option('--atol <x>', 'with --check: the largest |Δ| allowed (default 1e-4; 1e-2 with --fp16)', nonNegativeNumber)
    .addOption(new Option('--backend <name>', 'with --check: the backend graphc runs on (default auto)').choices(BACKEND_NAMES))
    .option('--external-data', 'write the weights to <out>.data beside the model (done by itself over protobuf\'s 2 GiB)')
    .option('--fp16', 'weights and compute in float16, inputs and outputs float32 (with --check: against graphc in float32, --atol default 1e-2)')
    .action(action('export', async (file: string, o: import('./commands.js').ExportOptions) => {
      await (await commands()).exportCommand(file, o, io());
    }));

  program
    .command('inspect')
    .description('show inputs, outputs, op histogram and parameters')
    .argument('<model.onnx | module.ts>', 'an ONNX model or a TypeScript module')
    .option('--input <name=d0,d1,...>', 'fix an input\'s shape: the dim_params of an .onnx input, the spec of a module\'s input (repeatable)', collect)
    .option('--fn <name>', 'for a module: the exported function or model to inspect')
    .option('--json', 'print one JSON document on stdout (inputs, outputs, ops, parameters)')
    .option('--dot', 'print the graph as Graphviz DOT on stdout')
    .action(action('inspect', async (file: string, o: import('./commands.js').InspectOptions & { json?: boolean }) => {
      await (await commands()).inspectCommand(file, o, io(o.json));
    }));

  program
    .command('view')
    .description('draw a model as one self-contained HTML page (works offline)')
    .argument('<model.onnx | module.ts | model.json>', 'an ONNX model, a TypeScript module, or a tfjs model.json')
    .option('-o, --output <graph.html>', 'where to write the page (default <name>.html)')
    .option('--fn <name>', 'for a module: the exported function or model to draw')
    .option('--input <name:dtype[dims]>', 'for a module: an input signature, as for export (repeatable)', collect)
    .option('--no-optimize', 'draw the graph as traced, without the optimization passes')
    .option('--title <text>', 'the page title (default the file name)')
    .option('--force', 'write even over the input or an existing file that is not .html')
    .action(action('view', async (file: string, o: import('./commands.js').ViewOptions) => {
      await (await commands()).viewCommand(file, o, io());
    }));

  program
    .command('optimize')
    .description('import an ONNX model, run the passes, export it again')
    .argument('<in.onnx>', 'the ONNX model to optimize')
    .requiredOption('-o, --output <out.onnx>', 'where to write the optimized model')
    .option('--verify', 'verify the graph after every optimization pass (names the pass that broke it)')
    .option('--force', 'write even over the input (read first; the write is atomic) or an existing file that is not .onnx')
    .option('--opset <n>', 'write this ONNX opset (default: the model\'s own)', positiveInt)
    .option('--external-data', 'write the weights to <out>.data beside the model (done by itself over protobuf\'s 2 GiB)')
    .action(action('optimize', async (file: string, o: { output: string; verify?: boolean; force?: boolean; opset?: number; externalData?: boolean }) => { await (await commands()).optimizeCommand(file, o, io()); }));

  program
    .command('run')
    .description('run a model or module on a backend and print its outputs')
    .argument('<model.onnx | module.ts>', 'an ONNX model or a TypeScript module')
    .option('--input <name=file.npy|random|d0,d1,...>', 'feed an input from a .npy file, or random values (of the shape given, e.g. x=1,28,28; symbolic dims 1 by default) (repeatable; float64 is rounded to float32, int64/uint64 must fit int32)', collect)
    .addOption(new Option('--backend <name>', 'the backend to run on').choices(BACKEND_NAMES).default('auto'))
    .option('--fn <name>', 'for a module: the exported function or model to run')
    .option('--save <dir>', 'write each output to <dir>/<name>.npy (the name made safe as a file name)')
    .option('--force', 'with --save: write even over an input file')
    .option('--json', 'print one JSON document on stdout: the backend, the inputs fed, each output\'s dtype, shape, min, max, mean and values')
    .action(action('run', async (file: string, o: { input?: string[]; backend: BackendName; fn?: string; save?: string; force?: boolean; json?: boolean }) => {
      await (await commands()).runCommand(file, o, io(o.json));
    }));

  program.addHelpText('after', () => commandSynopses(program));
  return program;
}

/** Each command's full synopsis and flags, appended to `graphc --help`. */
function commandSynopses(program: Command): string {
  const help = program.createHelp();
  const lines: string[] = ['', 'Command options:'];
  for (const cmd of program.commands) {
    lines.push(`  graphc ${cmd.name()} ${help.commandUsage(cmd).replace(/^graphc \S+ /, '')}`);
    const options = help.visibleOptions(cmd).filter((o) => o.long !== '--help');
    const width = Math.max(0, ...options.map((o) => help.optionTerm(o).length));
    for (const o of options) {
      lines.push(`    ${help.optionTerm(o).padEnd(width)}  ${help.optionDescription(o)}`);
    }
  }
  lines.push('', 'Example: graphc export examples/fashion_mlp.ts --fn predict -o mlp.onnx && graphc inspect mlp.onnx');
  return lines.join('\n');
}

// `graphc inspect m.onnx --dot | head`: a reader that stops early ends graphc quietly, as it does other tools.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

program = buildProgram();
if (process.argv.length <= 2) {
  // `graphc` alone: a one-line usage error rather than the whole help text.
  const names = program.commands.map((c) => c.name()).join(', ');
  program.error(`error: missing command (${names}); see 'graphc --help'`);
}
await program.parseAsync(process.argv);
