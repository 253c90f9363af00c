// How much graphc lets through to the user's terminal. By default graphc is quiet: the
// noise that tfjs and Dawn/Vulkan print on their own when graphc loads them (tfjs-backend-cpu's
// "Hi, looks like you are running TensorFlow.js in Node.js" banner; Mesa's device-select
// layer's "XDG_RUNTIME_DIR is invalid" and Dawn's warnings about Vulkan drivers it cannot use)
// is avoided (see runtime/backends/select.ts for how, and what stays visible).
//
//   GRAPHC_LOG=debug (or =verbose)   lets all of it through; the CLI's --verbose sets it.
//
// Read at the moment it matters (when a backend or Dawn is first set up), not at import.

export type LogLevel = 'quiet' | 'verbose';

export function logLevel(): LogLevel {
  const v = process.env.GRAPHC_LOG?.trim().toLowerCase();
  return v === 'debug' || v === 'verbose' ? 'verbose' : 'quiet';
}
