// Interruption and resume: a training stage killed with SIGKILL mid-run resumes from its last checkpoint
// and ends with exactly the weights of an uninterrupted run; SIGINT stops gracefully with a checkpoint.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { packageRoot } from "../src/engine/native.js";
import { decodeSafetensors } from "../src/engine/safetensors.js";

const tmp = mkdtempSync(join(tmpdir(), "aepsl-resume-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CLI = [
  join(packageRoot, "node_modules", "tsx", "dist", "cli.mjs"),
  join(packageRoot, "src", "cli", "main.ts"),
];
const ARGS = [
  "train-cls",
  "--data",
  join(packageRoot, "samples", "voc-mini"),
  "--quiet",
  "--set",
  "classifier.epochs=3",
  "--set",
  "classifier.cropSize=128",
  "--set",
  "classifier.batchSize=4",
  "--set",
  "seed=7",
];
// The CLI runs as a user would run it: not as a child of the test runner (NODE_TEST_CONTEXT makes node
// install the runner's own signal handling).
const { NODE_TEST_CONTEXT: _runner, ...userEnv } = process.env;
const ENV = { ...userEnv, AEPSL_THREADS: "1" };

function finalModel(runDir: string): Map<string, Buffer> {
  const dir = join(runDir, "steps", "1", "classifier");
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  assert.equal(state.epoch, 3);
  const { tensors } = decodeSafetensors(readFileSync(join(dir, state.file)), state.file);
  const out = new Map<string, Buffer>();
  for (const [k, t] of Object.entries(tensors))
    if (k.startsWith("model.")) out.set(k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return out;
}

function run(out: string): void {
  const r = spawnSync(process.execPath, [...CLI, ...ARGS, "--out", out], {
    env: ENV,
    encoding: "utf8",
    cwd: packageRoot,
  });
  assert.equal(r.status, 0, r.stderr);
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("SIGKILL mid-training, then resume: same weights as an uninterrupted run, no truncated files", async () => {
  const a = join(tmp, "a");
  run(a);
  const b = join(tmp, "b");
  // Own process group: tsx's CLI runs main.ts in a child node process, and killing only tsx would leave
  // that worker running (and holding the run folder's lock).
  const child = spawn(process.execPath, [...CLI, ...ARGS, "--out", b], {
    env: ENV,
    stdio: "ignore",
    cwd: packageRoot,
    detached: true,
  });
  const state = join(b, "steps", "1", "classifier", "state.json");
  await waitFor(() => existsSync(state), 60_000);
  await new Promise((r) => setTimeout(r, 150)); // into the next epoch
  const exited = new Promise((r) => child.on("exit", r));
  process.kill(-child.pid!, "SIGKILL");
  await exited;
  await waitFor(() => {
    try {
      process.kill(-child.pid!, 0); // the group is gone once its last process is
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  const epochAtKill = JSON.parse(readFileSync(state, "utf8")).epoch as number;
  assert.ok(epochAtKill >= 1 && epochAtKill < 3, `killed mid-run (after epoch ${epochAtKill})`);
  run(b);
  const wa = finalModel(a);
  const wb = finalModel(b);
  assert.deepEqual([...wb.keys()], [...wa.keys()]);
  for (const [k, buf] of wa) assert.ok(buf.equals(wb.get(k)!), `${k} differs after resume`);
  // No temp files left behind, only the last checkpoint kept.
  const files = readdirSync(join(b, "steps", "1", "classifier"));
  assert.deepEqual(
    files.filter((f) => f.includes(".tmp-")),
    [],
  );
  assert.deepEqual(
    files.filter((f) => f.endsWith(".safetensors")),
    ["checkpoint-e3.safetensors"],
  );
});

test("SIGINT mid-epoch saves a checkpoint at that batch; resuming gives the uninterrupted weights", async () => {
  // In-process, so the test controls exactly when the signal lands (the CLI installs the same handler).
  const { installInterruptHandler } = await import("../src/util/interrupt.js");
  const { runTrainingLoop, TrainingInterrupted } = await import("../src/stages/training-loop.js");
  const { Linear } = await import("../src/nn/layers.js");
  const { mseLoss, tensor, manualSeed } = await import("../src/engine/ops.js");
  const { readCheckpointState } = await import("../src/engine/checkpoint.js");
  installInterruptHandler();
  class Net extends Linear {
    paramGroups(lrBackbone: number, lrHead: number) {
      return [{ params: this.parameters(), lr: (lrBackbone + lrHead) / 2 }];
    }
  }
  const items = Array.from({ length: 24 }, (_, i) => i);
  const train = async (dir: string, signalAtStep?: number) => {
    manualSeed(3);
    const net = new Net(4, 2);
    let steps = 0;
    try {
      return await runTrainingLoop<number, Float32Array>({
        name: "toy",
        dir,
        model: net,
        items,
        hyper: { batchSize: 4, epochs: 2, lrBackbone: 0.05, lrHead: 0.05, momentum: 0.9, weightDecay: 1e-4 },
        seed: 5,
        prepare: async (i, rng) => Float32Array.from({ length: 4 }, () => rng() + i / 24),
        step: (samples) => {
          if (++steps === signalAtStep) process.emit("SIGINT", "SIGINT"); // delivered synchronously
          const x = tensor(Float32Array.from(samples.flatMap((s) => Array.from(s))), [samples.length, 4]);
          const loss = mseLoss(net.forward(x), x.slice(1, 0, 2));
          loss.backward();
          return { loss: loss.item() };
        },
      });
    } finally {
      net.dispose();
    }
  };
  const ref = join(tmp, "toy-ref");
  await train(ref);
  const d = join(tmp, "toy-int");
  await assert.rejects(train(d, 3), TrainingInterrupted);
  await new Promise((r) => setImmediate(r));
  const state = readCheckpointState(d)!;
  assert.equal(state.epoch, 0);
  assert.equal(state.batch, 3, "checkpoint right after the interrupted step");
  // The flag stays set for this process (as for a CLI run that then exits): clear it for the resume.
  (await import("../src/util/interrupt.js")).resetInterruptForTests();
  await train(d);
  const final = (dir: string) => {
    const st = readCheckpointState(dir)!;
    return decodeSafetensors(readFileSync(join(dir, st.file)), st.file).tensors;
  };
  const a = final(ref);
  const b = final(d);
  for (const k of Object.keys(a).filter((k) => k.startsWith("model."))) {
    assert.deepEqual(b[k].data, a[k].data, `${k} differs after interrupt + resume`);
  }
});

test("SIGINT during CAM extraction stops between images; resuming writes the rest, as one pass would", async () => {
  const { installInterruptHandler, resetInterruptForTests, StageInterrupted } =
    await import("../src/util/interrupt.js");
  const { extractCams } = await import("../src/stages/cam.js");
  const { CamClassifier } = await import("../src/nn/cam-classifier.js");
  const { manualSeed } = await import("../src/engine/ops.js");
  const { writeFileSync } = await import("node:fs");
  const sharp = (await import("sharp")).default;
  installInterruptHandler();
  manualSeed(4);
  const model = new CamClassifier(2, { imagenet: false, outputStride: 32 });
  try {
    const items = [];
    for (let k = 0; k < 4; k++) {
      const width = 40 + 8 * k;
      const data = Uint8Array.from({ length: width * 32 * 3 }, (_, i) => (i * 7 + k * 53) & 255);
      const imagePath = join(tmp, `cam-${k}.png`);
      writeFileSync(
        imagePath,
        await sharp(data, { raw: { width, height: 32, channels: 3 } })
          .png()
          .toBuffer(),
      );
      items.push({ id: `i${k}`, imagePath, labels: [1 + (k % 2)] });
    }
    const o = { scales: [1], flip: false, model, items };
    const ref = await extractCams({ ...o, dir: join(tmp, "cams-ref") });
    const dir = join(tmp, "cams-int");
    const interrupted = extractCams({
      ...o,
      dir,
      onImage: (done) => {
        if (done === 2) process.emit("SIGINT", "SIGINT");
      },
    });
    await assert.rejects(interrupted, (e) => e instanceof StageInterrupted && e.message.includes(dir));
    const files = readdirSync(dir).filter((f) => f.endsWith(".png"));
    assert.deepEqual(files.sort(), ["i0.png", "i1.png"], "the two finished images are kept");
    resetInterruptForTests();
    const resumed = await extractCams({ ...o, dir });
    for (const it of items) {
      const [a, b] = [await ref.get(it.id), await resumed.get(it.id)];
      assert.deepEqual(b.record, a.record, it.id);
      assert.deepEqual([...b.cams], [...a.cams], it.id);
    }
  } finally {
    resetInterruptForTests();
    model.dispose();
  }
});
