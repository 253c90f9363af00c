/**
 * The global symbol (Symbol.for) under which transformed modules find the AutoGraph runtime: the
 * graphc instance that transforms a module (the CLI, or the loader hook's) installs its runtime
 * there (./enable.ts), so the module's conditions reach the tracer that traces it, whichever copy
 * of graphc the module itself imports.
 */
export const RUNTIME_KEY = 'graphc.autograph';

/** Text that may hold a recognized tensor read (checked before parsing: most modules have none). */
export const READ_HINT = /\.\s*(dataSync|arraySync)\s*\(|\.\s*(data|array)\s*\(\s*\)|\bitem\s*\(|['"]graphc['"]/;
