/**
 * `node --import graphc/autograph app.js`: runs the app with AutoGraph — `if`/`while`/`for` and
 * ternaries on tensor data in the app's own modules (not node_modules) become gc.cond /
 * gc.whileLoop inside compiled functions, and stay plain JavaScript everywhere else.
 */
import { enableAutograph } from './enable.js';

enableAutograph();
