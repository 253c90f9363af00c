/**
 * tfjs-core alone registers no gradients and no chained ops (`t.sum()`). Importing graphc
 * registers both against the user's tfjs-core, so that tf.grad, optimizer.minimize and
 * gc.GradientTape work for a user who imports only @tensorflow/tfjs-core and
 * @tensorflow/tfjs-layers: '#tfjs-registrations' is tfjs-core's own registration modules,
 * bundled at build time (src/tfjs_registrations.build.mjs), as the @tensorflow/tfjs bundle
 * does. A user who imports '@tensorflow/tfjs' too gets the same registrations again.
 *
 * A module that uses graphc only in types (`import * as gc from 'graphc'` used only as
 * `gc.Input<...>`, or `import type`) does not load graphc at run time: TypeScript and tsx drop
 * the import. `graphc export/inspect/run` import this file before the user's module; code run
 * outside the CLI that needs gradients or chained ops imports 'graphc' (or '@tensorflow/tfjs').
 *
 * It also drops tfjs-backend-cpu's "running TensorFlow.js in Node.js" banner (see
 * quietTfjsBanner; GRAPHC_LOG=debug keeps it).
 */
import '@tensorflow/tfjs-backend-cpu';
import '#tfjs-registrations';
import { quietTfjsBanner } from '../runtime/backends/select.js';

quietTfjsBanner();
