/**
 * The pass manager: runs a list of passes in rounds until a round changes nothing (or a
 * bound is hit), verifying after each pass when `ctx.verify`, and re-raises a failure as
 * "in pass 'cse' (after fold-constants, simplify): <what went wrong>".
 */
import { Codes, GcError } from '../errors.js';
import type { Graph } from '../graph.js';
import { verifyGraph } from '../verify.js';
import type { Pass, PassContext, PassReport } from './pass.js';

export interface RunPassesOptions {
  /** Rounds over the whole list before giving up on a fixed point (default 8). */
  maxIterations?: number;
  /** Sees the graph after every pass run (the CLI's --dump-ir). */
  onPass?: (name: string, g: Graph, info: { round: number; changed: boolean }) => void;
}

export const DEFAULT_MAX_ITERATIONS = 8;

/** Where a failing pass ran: "after fold-constants, simplify" / "round 2, after …". */
function whereText(round: number, before: readonly string[]): string {
  const parts: string[] = [];
  if (round > 1) parts.push(`round ${round}`);
  parts.push(before.length > 0 ? `after ${before.join(', ')}` : 'first pass');
  return parts.join(', ');
}

function wrap(e: unknown, pass: string, where: string): GcError {
  const prefix = `in pass '${pass}' (${where})`;
  if (e instanceof GcError) {
    const err = new GcError({ ...e.info, message: `${prefix}: ${e.info.message}` });
    err.cause = e;
    return err;
  }
  const msg = e instanceof Error ? e.message : String(e);
  const err = new GcError({ code: Codes.pass, message: `${prefix}: ${msg}`, help: 'this is a bug in the pass; run without optimization (--no-optimize / optimize: false) to work around it' });
  err.cause = e;
  return err;
}

/**
 * Runs a pass on every region of `g` (each region optimized as a graph of its own: they are
 * isolated from above, ir/control_flow.ts), innermost first, then on `g` itself; a pass with
 * `topLevelOnly` runs on `g` alone.
 */
export function runWithRegions(p: Pass, g: Graph, ctx: PassContext): boolean {
  let changed = false;
  if (!p.topLevelOnly) {
    for (const n of g.nodes) for (const r of n.regions) if (runWithRegions(p, r, ctx)) changed = true;
  }
  return p.run(g, ctx) || changed;
}

/**
 * Runs `passes` over `g` (in place) to a fixed point, at most `maxIterations` rounds.
 * Returns one report per distinct pass name, aggregated over its runs.
 */
export function runPasses(g: Graph, passes: readonly Pass[], ctx: PassContext, opts: RunPassesOptions = {}): PassReport[] {
  const maxIterations = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const reports = new Map<string, PassReport>();
  for (const p of passes) {
    if (!reports.has(p.name)) reports.set(p.name, { name: p.name, nodesBefore: g.nodes.length, nodesAfter: g.nodes.length, ms: 0, changed: false, runs: 0 });
  }
  if (ctx.verify) {
    try { verifyGraph(g); } catch (e) { throw wrap(e, passes[0]?.name ?? '(none)', 'the input graph, before any pass'); }
  }
  for (let round = 1; round <= maxIterations; round++) {
    let any = false;
    const before: string[] = [];
    for (const p of passes) {
      const r = reports.get(p.name)!;
      if (r.runs === 0) r.nodesBefore = g.nodes.length;
      const t = performance.now();
      let changed: boolean;
      try {
        changed = runWithRegions(p, g, ctx);
        if (ctx.verify) verifyGraph(g);
      } catch (e) {
        throw wrap(e, p.name, whereText(round, before));
      }
      r.ms += performance.now() - t;
      r.runs++;
      r.changed ||= changed;
      r.nodesAfter = g.nodes.length;
      any ||= changed;
      before.push(p.name);
      opts.onPass?.(p.name, g, { round, changed });
    }
    if (!any) return [...reports.values()];
  }
  if (ctx.verify) {
    throw new GcError({ code: Codes.pass, message: `the passes ${passes.map((p) => p.name).join(', ')} did not reach a fixed point in ${maxIterations} rounds`,
      help: 'two rules undo each other, or a pass reports a change it did not make' });
  }
  return [...reports.values()];
}

/**
 * The report on one line: "fold-constants 12→9, simplify unchanged, …" (node counts before
 * the pass's first run and after its last).
 */
export function formatReport(report: readonly PassReport[]): string {
  return report.map((r) => `${r.name} ${r.changed ? `${r.nodesBefore}→${r.nodesAfter}` : 'unchanged'}`).join(', ');
}
