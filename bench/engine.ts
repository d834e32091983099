// npm run bench:engine — MobileNetV2 (torchvision architecture, width 1.0, 20-way multi-label head),
// batch 8, 256×256: training step and inference batch in aepsl, then the same model in PyTorch in the
// same run, so the ratio compares like with like on this machine. BENCH_DEVICE=cuda (or cuda:N) runs both
// on that GPU (aepsl built against a CUDA libtorch; BENCH_PYTHON names a python with a CUDA PyTorch and
// torchvision); the default, cpu, is the benchmark as it always was.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { isDevice, resolveDevice, setDefaultDevice, synchronize, type Device } from "../src/engine/device.js";
import { bceWithLogits, engineInfo, manualSeed, rand, randn } from "../src/engine/ops.js";
import { packageRoot } from "../src/engine/native.js";
import { SGD } from "../src/engine/optim.js";
import { noGrad, tidy } from "../src/engine/tensor.js";
import { Conv2d } from "../src/nn/layers.js";
import { MobileNetV2, type OutputStride } from "../src/nn/mobilenetv2.js";
import { median, writeBenchResults } from "./common.js";

const BATCH = 8;
const SIZE = 256;
const CLASSES = 20;
const WARMUP = 3;
const REPS = Number(process.env.BENCH_REPS ?? 15);
const THREADS = Number(process.env.AEPSL_THREADS ?? availableParallelism());
const DEVICE = (process.env.BENCH_DEVICE ?? "cpu") as Device;
if (!isDevice(DEVICE)) throw new Error(`BENCH_DEVICE=${DEVICE}: expected cpu, cuda or cuda:N`);
const ON_GPU = DEVICE !== "cpu";
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";

function timed(fn: () => void, warmup: number, reps: number): number {
  // On a GPU the work is queued: wait for it, or the time is only the launch cost.
  const run = ON_GPU
    ? () => {
        fn();
        synchronize();
      }
    : fn;
  for (let i = 0; i < warmup; i++) run();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** Multiply-adds of one forward pass per image, counted from the convolutions' real output shapes. */
function countMacs(model: MobileNetV2): number {
  let macs = 0;
  const original = Conv2d.prototype.forward;
  Conv2d.prototype.forward = function (this: Conv2d, x) {
    const y = original.call(this, x);
    const [, c, h, w] = y.shape;
    macs += c * h * w * (this.inChannels / this.groups) * this.kernel[0] * this.kernel[1];
    return y;
  };
  try {
    noGrad(() => tidy(() => model.extract(randn([1, 3, SIZE, SIZE]))));
  } finally {
    Conv2d.prototype.forward = original;
  }
  return macs + 1280 * CLASSES;
}

function benchAepsl(os: OutputStride) {
  manualSeed(0);
  const model = new MobileNetV2({ outputStride: os, norm: "batchnorm", numClasses: CLASSES });
  const macs = countMacs(model);
  const x = randn([BATCH, 3, SIZE, SIZE]);
  const y = rand([BATCH, CLASSES]).gt(0.5).to("float32");
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  model.train();
  const trainMs = timed(
    () =>
      tidy(() => {
        opt.zeroGrad();
        bceWithLogits(model.forward(x), y).backward();
        opt.step();
      }),
    WARMUP,
    REPS,
  );
  model.eval();
  const inferMs = timed(() => noGrad(() => tidy(() => void model.forward(x))), WARMUP, REPS);
  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
  return { trainMs, inferMs, macs };
}

function benchPytorch(os: OutputStride) {
  const cfg = {
    threads: THREADS,
    classes: CLASSES,
    batch: BATCH,
    size: SIZE,
    output_stride: os,
    warmup: WARMUP,
    reps: REPS,
    device: DEVICE,
  };
  const out = execFileSync(PYTHON, [join(packageRoot, "bench", "engine_pytorch.py"), JSON.stringify(cfg)], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_WAIT_POLICY: "PASSIVE", MKL_NUM_THREADS: "1" },
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as {
    train_ms: number;
    infer_ms: number;
    peak_rss_mb: number;
    torch: string;
  };
}

function main(): void {
  if (!existsSync(PYTHON))
    throw new Error(`bench:engine needs ${PYTHON} with python3-torch and python3-torchvision (apt)`);
  if (ON_GPU) setDefaultDevice(resolveDevice(DEVICE).device);
  const info = engineInfo();
  const rows = [];
  for (const os of [32, 16] as const) {
    console.error(`output stride ${os}: aepsl …`);
    const a = benchAepsl(os);
    console.error(`output stride ${os}: PyTorch …`);
    const p = benchPytorch(os);
    const flopsPerStepTrain = 3 * 2 * a.macs * BATCH; // backward ≈ 2× forward
    rows.push({
      output_stride: os,
      macs_per_image: a.macs,
      aepsl_train_ms: a.trainMs,
      aepsl_infer_ms: a.inferMs,
      pytorch_train_ms: p.train_ms,
      pytorch_infer_ms: p.infer_ms,
      train_ratio: p.train_ms / a.trainMs,
      infer_ratio: p.infer_ms / a.inferMs,
      aepsl_train_images_per_s: (BATCH * 1000) / a.trainMs,
      aepsl_infer_images_per_s: (BATCH * 1000) / a.inferMs,
      aepsl_train_gflops: flopsPerStepTrain / a.trainMs / 1e6,
      aepsl_infer_gflops: (2 * a.macs * BATCH) / a.inferMs / 1e6,
      pytorch_peak_rss_mb: p.peak_rss_mb,
    });
  }
  const main32 = rows[0];
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const result = {
    command: "npm run bench:engine",
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      threads: THREADS,
      torch: info.torchVersion,
      simd: info.simd,
      ...(ON_GPU ? { device: resolveDevice(DEVICE).reason } : {}),
    },
    setup: {
      model: "MobileNetV2 1.0 (torchvision, with batch norm), 20-way multi-label head",
      batch: BATCH,
      size: SIZE,
      reps: REPS,
      statistic: "median",
    },
    train_ms_per_step: main32.aepsl_train_ms,
    infer_ms_per_batch: main32.aepsl_infer_ms,
    train_ratio_vs_pytorch: main32.train_ratio,
    infer_ratio_vs_pytorch: main32.infer_ratio,
    peak_rss_mb: peakRssMb,
    rows,
  };
  const md = [
    "# Engine benchmark",
    "",
    `MobileNetV2 1.0 (torchvision architecture with batch norm), 20-way multi-label head, batch ${BATCH}, ${SIZE}×${SIZE},`,
    `SGD momentum step. Median of ${REPS} after ${WARMUP} warm-up steps; ${THREADS} threads; libtorch ${info.torchVersion} (${info.simd}).`,
    "aepsl and PyTorch (Debian python3-torch, same libtorch) run one after the other in the same command.",
    "Ratio = PyTorch time ÷ aepsl time (above 1: aepsl is faster).",
    "",
    "| output stride | aepsl train ms/step | PyTorch train ms/step | train ratio | aepsl infer ms/batch | PyTorch infer ms/batch | infer ratio | aepsl train img/s | aepsl infer img/s | train GFLOP/s | MMAC/image |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.output_stride} | ${r.aepsl_train_ms.toFixed(0)} | ${r.pytorch_train_ms.toFixed(0)} | ${r.train_ratio.toFixed(3)} | ${r.aepsl_infer_ms.toFixed(0)} | ${r.pytorch_infer_ms.toFixed(0)} | ${r.infer_ratio.toFixed(3)} | ${r.aepsl_train_images_per_s.toFixed(1)} | ${r.aepsl_infer_images_per_s.toFixed(1)} | ${r.aepsl_train_gflops.toFixed(1)} | ${(r.macs_per_image / 1e6).toFixed(0)} |`,
    ),
    "",
    `Peak RSS of the aepsl process: ${peakRssMb.toFixed(0)} MB (PyTorch process: ${rows.map((r) => r.pytorch_peak_rss_mb.toFixed(0)).join(" / ")} MB).`,
    "",
  ].join("\n");
  // A GPU run writes engine-<device>.* so it never replaces the CPU results.
  writeBenchResults(ON_GPU ? `engine-${DEVICE.replace(":", "")}` : "engine", result, md);
}

main();
