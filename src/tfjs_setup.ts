/**
 * tfjs-core alone registers no gradients and no chained ops (`t.sum()`); the
 * @tensorflow/tfjs bundle does, against the same tfjs-core instance. Importing graphc
 * loads it so that tf.grad, optimizer.minimize and gc.GradientTape work for a user who
 * imports only @tensorflow/tfjs-core and @tensorflow/tfjs-layers.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
