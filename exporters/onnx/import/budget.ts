/**
 * What one import may spend (ImportBudget) and what it has spent (ImportMeter): nodes built,
 * element operations of import-time folding, bytes of constants.
 */
import type { DType } from '../../../ir/dtype.js';
import { Codes, GcError } from '../../../ir/errors.js';

/**
 * What one import may spend: every fromOnnx call gets these (ImportOptions.budget raises or
 * lowers them). A hostile model of a few hundred bytes can ask for a loop unrolled millions
 * of times or a constant of billions of elements; the import stops with GC0520 naming the
 * node that went past the budget.
 */
export interface ImportBudget {
  /** IR nodes built, plus ONNX nodes read, counting each unrolled iteration of a loop body (nested too). */
  readonly nodes: number;
  /**
   * Element operations of import-time evaluation (constant folding): elements read and
   * written, multiply-adds of a matmul. Past it nothing more is folded (those nodes run at
   * run time); it never fails an import.
   */
  readonly elements: number;
  /** Bytes of constants the graph holds: initializers, Constant nodes and folded results. */
  readonly bytes: number;
}

/** Defaults: far above real models (a 2 GiB ONNX file, the protobuf limit, has fewer bytes and nodes). */
export const DEFAULT_IMPORT_BUDGET: ImportBudget = {
  nodes: 500_000,
  elements: 2 ** 32,
  bytes: 2 ** 32,
};

const BUDGET_OPTION: Record<keyof ImportBudget, string> = { nodes: 'nodes', elements: 'elements', bytes: 'bytes' };

/** Thrown when an import goes past its ImportBudget (the importer adds the node). */
export class ImportBudgetError extends GcError {}

/** What import has spent so far, against its budget. */
export class ImportMeter {
  readonly budget: ImportBudget;
  readonly spent: Record<keyof ImportBudget, number> = { nodes: 0, elements: 0, bytes: 0 };

  constructor(budget: Partial<ImportBudget> = {}) {
    this.budget = { ...DEFAULT_IMPORT_BUDGET, ...budget };
    for (const k of Object.keys(this.budget) as (keyof ImportBudget)[]) {
      const v = this.budget[k];
      if (typeof v !== 'number' || !(v >= 0)) {
        throw new GcError({ code: Codes.importBudget, message: `import budget: '${k}' must be a number ≥ 0, got ${String(v)}` });
      }
    }
  }

  /** Whether spending `n` more of `what` stays within the budget. */
  fits(what: keyof ImportBudget, n: number): boolean {
    return this.spent[what] + n <= this.budget[what];
  }

  /** Spends `n` of `what`; throws ImportBudgetError (GC0520) when it goes past the budget. */
  charge(what: keyof ImportBudget, n: number, doing: string): void {
    if (!this.fits(what, n)) {
      const unit = what === 'nodes' ? 'nodes' : what === 'elements' ? 'element operations' : 'bytes';
      throw new ImportBudgetError({
        code: Codes.importBudget,
        message: `${doing} goes past the import budget of ${this.budget[what]} ${unit} (${this.spent[what]} spent, ${n} more needed)`,
        help: `if the model is trusted, raise the budget: fromOnnx(bytes, { budget: { ${BUDGET_OPTION[what]}: ${suggest(this.spent[what] + n)} } })`,
      });
    }
    this.spent[what] += n;
  }
}

/** A round number at least 2·n, for the help line. */
function suggest(n: number): string {
  const p = 2 ** Math.ceil(Math.log2(Math.max(2 * n, 1)));
  return p >= 2 ** 30 ? `2 ** ${Math.log2(p)}` : String(p);
}

const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { float32: 4, int32: 4, bool: 1, int64: 8 };

/** Bytes of a tensor of `dtype` and `n` elements. */
export function bytesOf(dtype: DType, n: number): number {
  return BYTES_PER_ELEMENT[dtype] * n;
}
