/** A source location in the user's code: file:line:col of the call that built a node. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function locToString(l: SourceLoc): string {
  return `${l.file}:${l.line}:${l.col}`;
}

export interface GcErrorInfo {
  code: string;
  message: string;
  loc?: SourceLoc | undefined;
  node?: string | undefined;
  help?: string | undefined;
  notes?: string[] | undefined;
}

/**
 * A compiler-style error: what, where (the user's file:line), the node, and a hint.
 *
 *   error[GC0203]: matmul: inner dimensions differ (lhs f32[batch,3], rhs f32[4,5]: 3 ≠ 4)
 *     --> examples/mlp.ts:14:10
 *     node: %7 = matmul %x, %w
 *     help: transpose the right operand or check the weight shape
 */
export class GcError extends Error {
  readonly code: string;
  readonly loc: SourceLoc | undefined;
  readonly help: string | undefined;
  readonly summary: string;
  /** What it was built from (to re-raise it with context, as the pass manager does). */
  readonly info: GcErrorInfo;
  constructor(info: GcErrorInfo) {
    const lines = [`error[${info.code}]: ${info.message}`];
    if (info.loc) lines.push(`  --> ${locToString(info.loc)}`);
    if (info.node) lines.push(`  node: ${info.node}`);
    for (const n of info.notes ?? []) lines.push(`  note: ${n}`);
    if (info.help) lines.push(`  help: ${info.help}`);
    super(lines.join('\n'));
    this.name = 'GcError';
    this.code = info.code;
    this.loc = info.loc;
    this.help = info.help;
    this.summary = info.message;
    this.info = info;
  }
}

/** Error codes, one family per layer. */
export const Codes = {
  shape: 'GC0201',
  dtype: 'GC0202',
  matmul: 'GC0203',
  attr: 'GC0204',
  verify: 'GC0301',
  parse: 'GC0302',
  pass: 'GC0303',
  traceRead: 'GC0101',
  traceUnsupported: 'GC0102',
  tracePolymorphic: 'GC0103',
  traceRandom: 'GC0104',
  traceVariable: 'GC0105',
  inputMismatch: 'GC0401',
  sessionName: 'GC0402',
  runtime: 'GC0403',
} as const;
