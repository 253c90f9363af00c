/** What the import rules make: the types of the per-family lists and of IMPORTED_BY (rules.ts). */
import type { OpName } from '../../../ir/ops.js';

/** A family's IR ops, each with the family's rules (keys of `Table`, its ONNX op types) that make it. */
export type MadeBy<Table> = Partial<Record<OpName, readonly (keyof Table & string)[]>>;
/** An IR op no ONNX import rule makes, and why. */
export interface NotImported { readonly notImported: string }
/** An IR op many rules make as a step of their decompositions: test/ir/op_coverage checks that one does. */
export interface ImportedInMany { readonly many: string }
