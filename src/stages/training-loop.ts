// The epoch loop shared by the classifier and segmentation stages: seeded resumable batches, poly LR,
// SGD with parameter groups, a checkpoint after every epoch, resume from the last one.
import { mkdir } from "node:fs/promises";
import type { Rng } from "../data/augment.js";
import { BatchLoader } from "../data/loader.js";
import { loadCheckpoint, saveCheckpoint } from "../engine/checkpoint.js";
import { defaultDevice } from "../engine/device.js";
import { SGD, polyLr, type ParamGroup } from "../engine/optim.js";
import { tidy } from "../engine/tensor.js";
import type { Module } from "../nn/module.js";
import { StageInterrupted, stopRequested } from "../util/interrupt.js";

export interface EpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  /** Share of the epoch spent waiting for decoded batches (0 = loading fully hidden behind compute). */
  dataWaitFraction: number;
  [metric: string]: number;
}

export interface TrainingLoopOptions<I, S> {
  dir: string;
  model: Module & { paramGroups(lrBackbone: number, lrHead: number): ParamGroup[] };
  items: I[];
  prepare: (item: I, rng: Rng) => Promise<S>;
  /** Batch size, epochs and SGD settings (a stage's config section has all of them). */
  hyper: {
    batchSize: number;
    epochs: number;
    lrBackbone: number;
    lrHead: number;
    momentum: number;
    weightDecay: number;
  };
  seed: number;
  /** One optimisation step on a batch: builds the loss (inside a tidy scope) and returns it as a number. */
  step: (samples: S[], items: I[]) => { loss: number; extra?: Record<string, number> };
  /** Extra per-epoch metrics from the values collected by step(). */
  epochMetrics?: () => Record<string, number>;
  name: string;
  log?: (line: string) => void;
  onStep?: (done: number, total: number, metrics: Record<string, number>) => void;
}

/** Thrown when a run stops on SIGINT/SIGTERM after saving a checkpoint; rerunning resumes from it. */
export class TrainingInterrupted extends StageInterrupted {
  constructor(readonly dir: string) {
    super(`stopped on request after saving a checkpoint in ${dir}; run the same command again to resume`);
    this.name = "TrainingInterrupted";
  }
}

export interface TrainingResult {
  epochs: EpochRecord[];
  imagesPerSecond: number;
  seconds: number;
}

export async function runTrainingLoop<I, S>(o: TrainingLoopOptions<I, S>): Promise<TrainingResult> {
  const { batchSize, epochs, lrBackbone, lrHead, momentum, weightDecay } = o.hyper;
  const log = o.log ?? (() => {});
  if (o.items.length < batchSize)
    throw new Error(`${o.name}: ${o.items.length} image(s), fewer than one batch of ${batchSize}`);
  await mkdir(o.dir, { recursive: true });
  // The model and (so) its gradients and SGD buffers live on the run's device; a no-op on CPU.
  o.model.to(defaultDevice());
  const optimizer = new SGD(o.model.paramGroups(lrBackbone, lrHead), {
    lr: lrHead,
    momentum,
    weightDecay,
  });
  const stepsPerEpoch = Math.floor(o.items.length / batchSize);
  const schedule = polyLr(stepsPerEpoch * epochs, 0.9);
  let records: EpochRecord[] = [];
  const resumed = loadCheckpoint(o.dir, o.model, optimizer);
  const startEpoch = resumed?.epoch ?? 0;
  const startBatch = resumed?.batch ?? 0;
  if (resumed) {
    records = (resumed.metrics as EpochRecord[]) ?? [];
    log(
      `${o.name}: resuming after epoch ${startEpoch}${startBatch ? ` batch ${startBatch}` : ""} (step ${resumed.step})`,
    );
  }
  const loader = new BatchLoader<I, S>({
    items: o.items,
    prepare: o.prepare,
    batchSize,
    seed: o.seed,
    epochs: epochs,
    start: { epoch: startEpoch, batch: startBatch },
  });
  let images = 0;
  let trainMs = 0;
  // Ctrl-C / SIGTERM (see util/interrupt.ts): finish the current step, save a checkpoint, stop; the next
  // run resumes there.
  o.model.train();
  try {
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const t0 = performance.now();
      const wait0 = loader.stats().waitMs;
      const first = epoch === startEpoch ? startBatch : 0;
      let lossSum = epoch === startEpoch && startBatch ? Number(resumed?.partialLoss ?? 0) : 0;
      for (let b = first; b < stepsPerEpoch; b++) {
        const batch = await loader.next();
        if (!batch) break;
        optimizer.setLrFactor(schedule.factor(optimizer.stepCount));
        const { loss } = tidy(() => {
          optimizer.zeroGrad();
          const r = o.step(batch.samples, batch.items);
          optimizer.step();
          return r;
        });
        if (!Number.isFinite(loss))
          throw new Error(`${o.name}: loss became ${loss} at step ${optimizer.stepCount}`);
        lossSum += loss;
        images += batch.samples.length;
        o.onStep?.(epoch * stepsPerEpoch + b + 1, epochs * stepsPerEpoch, { loss });
        if (stopRequested() && b + 1 < stepsPerEpoch) {
          await saveCheckpoint(o.dir, o.model, optimizer, {
            epoch,
            batch: b + 1,
            step: optimizer.stepCount,
            metrics: records,
            partialLoss: lossSum,
          });
          throw new TrainingInterrupted(o.dir);
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      trainMs += seconds * 1000;
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / stepsPerEpoch,
        seconds,
        dataWaitFraction: (loader.stats().waitMs - wait0) / (seconds * 1000),
        ...o.epochMetrics?.(),
      };
      records.push(record);
      log(
        `${o.name} epoch ${record.epoch}/${epochs}: ` +
          Object.entries(record)
            .filter(([k]) => k !== "epoch" && k !== "seconds" && k !== "dataWaitFraction")
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join(", ") +
          `, ${seconds.toFixed(0)} s, waiting for data ${(record.dataWaitFraction * 100).toFixed(1)}%`,
      );
      await saveCheckpoint(o.dir, o.model, optimizer, {
        epoch: epoch + 1,
        step: optimizer.stepCount,
        metrics: records,
      });
      if (stopRequested() && epoch + 1 < epochs) throw new TrainingInterrupted(o.dir);
    }
  } finally {
    loader.close();
    optimizer.dispose();
  }
  return {
    epochs: records,
    seconds: records.reduce((a, e) => a + e.seconds, 0),
    imagesPerSecond: trainMs > 0 ? images / (trainMs / 1000) : 0,
  };
}
