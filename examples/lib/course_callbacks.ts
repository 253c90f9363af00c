/**
 * Callbacks the course uses that tfjs-layers lacks or that the example wants on stderr:
 * a per-epoch learning-rate schedule, early stopping that restores the best weights
 * (tfjs's `tf.callbacks.earlyStopping` has no `restoreBestWeights`), and a progress bar.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import cliProgress from 'cli-progress';

type Logs = Parameters<tfl.Callback['onEpochEnd']>[1];

/** A log entry as a number (fit passes batch logs as scalar tensors, epoch logs as numbers). */
function logValue(logs: Logs, key: string): number | undefined {
  const v = logs?.[key];
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : (v as tf.Tensor).dataSync()[0];
}

/**
 * Sets `optimizer.learningRate` at the start of each epoch: `rate(epoch)` (Keras's
 * `LearningRateScheduler`). `rates[e]` is the rate epoch `e` ran with, read back from the optimizer.
 */
export class LearningRateSchedule extends tfl.Callback {
  readonly rates: number[] = [];
  constructor(private readonly rate: (epoch: number) => number) { super(); }

  override async onEpochBegin(epoch: number): Promise<void> {
    // `learningRate` is protected in tfjs's typings; bracket access is how TS users reach it.
    const opt = this.model.optimizer as unknown as { learningRate: number };
    opt.learningRate = this.rate(epoch);
    this.rates[epoch] = opt.learningRate;
  }
}

/** `lr0 · decay^epoch` (exponential decay per epoch). */
export const exponentialDecay = (lr0: number, decay: number) => (epoch: number) => lr0 * decay ** epoch;

export interface EarlyStoppingArgs {
  monitor?: string;
  /** Epochs without improvement before stopping (default 3). */
  patience?: number;
  /** Smallest decrease that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the weights of the best epoch when training ends (default true). */
  restoreBestWeights?: boolean;
}

/**
 * Early stopping on a monitored quantity to minimise (default `val_loss`), with Keras's
 * `restore_best_weights`: the weights after the best epoch are kept (copies) and set back on the
 * model when training ends, whether it stopped early or ran all its epochs.
 */
export class EarlyStoppingRestoreBest extends tfl.Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly restore: boolean;
  best = Infinity;
  /** The epoch whose weights were kept (-1 before the first). */
  bestEpoch = -1;
  /** The epoch training stopped after, or -1 when it ran all epochs. */
  stoppedEpoch = -1;
  restored = false;
  private wait = 0;
  private bestWeights: tf.Tensor[] | null = null;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.patience = args.patience ?? 3;
    this.minDelta = args.minDelta ?? 0;
    this.restore = args.restoreBestWeights ?? true;
  }

  override async onTrainBegin(): Promise<void> {
    this.best = Infinity; this.bestEpoch = -1; this.stoppedEpoch = -1; this.wait = 0; this.restored = false;
    this.dropBest();
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const v = logValue(logs, this.monitor);
    if (v === undefined) throw new Error(`EarlyStoppingRestoreBest: no '${this.monitor}' in the epoch's logs (${Object.keys(logs ?? {}).join(', ')}); pass validation data`);
    if (v < this.best - this.minDelta) { // NaN never improves
      this.best = v; this.bestEpoch = epoch; this.wait = 0;
      if (this.restore) { this.dropBest(); this.bestWeights = this.model.getWeights().map((w) => w.clone()); }
    } else if (++this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }

  override async onTrainEnd(): Promise<void> {
    if (this.restore && this.bestWeights) {
      this.model.setWeights(this.bestWeights);
      this.restored = true;
    }
    this.dropBest();
  }

  private dropBest(): void {
    this.bestWeights?.forEach((w) => w.dispose());
    this.bestWeights = null;
  }
}

/**
 * A cli-progress bar per epoch on stderr (results stay on stdout): the batch, loss and
 * accuracy (read every `every` batches: reading a loss waits for the step), then one summary
 * line per epoch with the validation figures and the learning rate.
 */
export class ProgressBar extends tfl.Callback {
  private bar: cliProgress.SingleBar | null = null;
  private epochStart = 0;
  private epochs = 0;
  constructor(private readonly stepsPerEpoch: number, private readonly opts: { every?: number; stream?: NodeJS.WriteStream } = {}) { super(); }

  override async onTrainBegin(): Promise<void> {
    this.epochs = Number(this.params?.['epochs'] ?? 0);
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epochStart = performance.now();
    this.bar = new cliProgress.SingleBar({
      format: `epoch ${String(epoch + 1).padStart(2)}/${this.epochs} [{bar}] {value}/{total} loss {loss} acc {acc} {ms} ms/step`,
      barCompleteChar: '=', barIncompleteChar: ' ', barsize: 24, hideCursor: false,
      stream: this.opts.stream ?? process.stderr, clearOnComplete: true, etaBuffer: 50,
      noTTYOutput: false,
    });
    this.bar.start(this.stepsPerEpoch, 0, { loss: '-', acc: '-', ms: '-' });
  }

  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    const every = this.opts.every ?? 20;
    if ((batch + 1) % every !== 0 && batch + 1 !== this.stepsPerEpoch) return;
    const loss = logValue(logs, 'loss'), acc = logValue(logs, 'acc');
    this.bar?.update(batch + 1, {
      loss: loss?.toFixed(4) ?? '-', acc: acc?.toFixed(4) ?? '-',
      ms: ((performance.now() - this.epochStart) / (batch + 1)).toFixed(1),
    });
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    this.bar?.stop();
    this.bar = null;
    const f = (k: string) => logValue(logs, k)?.toFixed(4) ?? '-';
    const lr = (this.model.optimizer as unknown as { learningRate: number }).learningRate;
    const s = (performance.now() - this.epochStart) / 1000;
    (this.opts.stream ?? process.stderr).write(
      `epoch ${String(epoch + 1).padStart(2)}/${this.epochs}  loss ${f('loss')} acc ${f('acc')}  val_loss ${f('val_loss')} val_acc ${f('val_acc')}  lr ${lr.toExponential(2)}  ${s.toFixed(1)} s\n`);
  }
}
