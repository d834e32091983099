// Pipeline commands: run (everything, resumable), demo, eval, predict. The engine is imported inside
// run() so that `aepsl --help` works before the native addon is built.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { registerCommand } from "./commands.js";
import { lockRunDir, openRun } from "./run-folder.js";

const RUN_OPTIONS = [
  {
    name: "out",
    type: "string",
    valueName: "dir",
    description: "Run folder (created, or resumed when it exists)",
    required: true,
  },
  {
    name: "data",
    type: "string",
    valueName: "dir",
    description: "Dataset folder (VOC layout or generic layout); same as --set data.dir=…",
  },
  { name: "force", type: "boolean", description: "Delete an existing run folder and start over" },
] as const;

registerCommand({
  name: "run",
  summary: "Run every stage: classifier, adversarial erasing, pseudo-labels, segmentation (PSL), evaluation",
  description:
    "Stages communicate through the run folder and each marks itself finished, so running the same command " +
    "again resumes where a previous run stopped (also after a crash or Ctrl-C). Evaluation runs when " +
    "data.evalSplit is set and its images have masks.",
  options: RUN_OPTIONS,
  examples: [
    "aepsl run --data my-data --out runs/my-run --set data.evalSplit=val",
    "aepsl run --config my-run.yaml --out runs/mine",
    "aepsl run --out runs/voc   # resume",
  ],
  async run({ options }, ctx) {
    const { runDir, config } = await openRun({ ...options, create: true }, ctx);
    const { runPipeline } = await import("../pipeline.js");
    const result = await runPipeline(runDir, config, ctx.log);
    const { writeReport } = await import("../report/report.js");
    const report = await writeReport(runDir);
    ctx.out(
      `run finished: ${result.runDir} (erasing steps used: ${result.steps.join(", ")})\nreport: ${report}\n`,
    );
  },
});

registerCommand({
  name: "eval",
  summary: "Evaluate a run's segmentation model on a split with ground-truth masks",
  options: [
    { name: "run", type: "string", valueName: "dir", description: "Run folder", required: true },
    { name: "data", type: "string", valueName: "dir", description: "Dataset folder (default: the run's)" },
    { name: "split", type: "string", valueName: "name", description: "Split to evaluate", required: true },
    { name: "crf", type: "boolean", description: "Dense CRF post-processing" },
    { name: "flip", type: "boolean", description: "Average with the flipped image" },
  ],
  examples: ["aepsl eval --run runs/my-run --split val --crf"],
  async run({ options }, ctx) {
    const runDir = resolve(options.run);
    lockRunDir(runDir); // eval writes eval/ and predictions/ into the run folder
    const { readJson, writeJson } = await import("../stages/run-dir.js");
    const { validateConfig } = await import("../util/config.js");
    const config = validateConfig(readJson(join(runDir, "config.json")), join(runDir, "config.json"));
    const { openDataset, validateDataset } = await import("../data/dataset.js");
    const ds = await openDataset(options.data ? resolve(options.data) : config.data.dir, {
      split: options.split,
    });
    const { items } = await validateDataset(ds, { skipBad: config.data.skipBad });
    const { Segmenter } = await import("../segmenter.js");
    const { evaluateSegmenter } = await import("../stages/evaluate.js");
    const { crfOptions, stageProgress } = await import("../pipeline.js");
    await (await import("../stages/device.js")).useConfiguredDevice(null, config);
    const seg = await Segmenter.load(runDir);
    try {
      const onStep = stageProgress(ctx.log);
      const r = await evaluateSegmenter(seg, items, {
        crf: options.crf ? crfOptions(config) : false,
        flip: options.flip,
        headlineClasses: config.eval.headlineClasses,
        onImage: (d, n) => onStep(`eval ${options.split}`, d, n),
      });
      const name = `${options.split}${options.crf ? "-crf" : ""}${options.flip ? "-flip" : ""}`;
      await writeJson(join(runDir, "eval", `${name}.json`), { split: options.split, ...r });
      const rows = Object.entries(r.per_class)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `  ${k.padEnd(14)} ${(v! * 100).toFixed(1).padStart(5)}`);
      ctx.out(
        [
          `split ${options.split}: ${r.images} images${options.crf ? ", with CRF" : ""}`,
          ...rows,
          `  ${"mIoU".padEnd(14)} ${(r.miou * 100).toFixed(1).padStart(5)}`,
          ...(r.headline
            ? [
                `  ${`mIoU (${r.headline.classes.length}-class)`.padEnd(14)} ${(r.headline.miou * 100).toFixed(1).padStart(5)}`,
              ]
            : []),
          `  ${"pixel acc.".padEnd(14)} ${(r.pixel_acc * 100).toFixed(1).padStart(5)}`,
          `wrote ${join(runDir, "eval", `${name}.json`)}`,
          "",
        ].join("\n"),
      );
    } finally {
      seg.dispose();
    }
  },
});

const STAGE_COMMANDS: Array<[string, string, string]> = [
  ["train-cls", "Train the multi-label classifier on image-level labels (erasing step 1)", "train-cls"],
  ["cam", "Class activation maps of step 1 (multi-scale + flip) and, with masks, the CAM seed mIoU", "cam"],
  ["mine", "Adversarial erasing: retrain on erased images and mine new regions, step by step", "mine"],
  ["saliency", "Salient-object maps of every image (U²-Netp, or MB+) for the background cue", "saliency"],
  ["pseudo-labels", "Pseudo-labels from the mined regions and the background cue", "pseudo-labels"],
  ["train-seg", "Train the segmentation network on the pseudo-labels (with PSL)", "train-seg"],
];

for (const [name, summary, stage] of STAGE_COMMANDS) {
  registerCommand({
    name,
    summary,
    description:
      "Runs the pipeline up to and including this stage in the run folder, skipping stages already " +
      "finished there; `aepsl run` on the same folder continues from it.",
    options: RUN_OPTIONS,
    examples: [`aepsl ${name} --data my-data --out runs/my-run`],
    async run({ options }, ctx) {
      const { runDir, config } = await openRun({ ...options, create: true }, ctx);
      const { runPipeline } = await import("../pipeline.js");
      const r = await runPipeline(runDir, config, ctx.log, stage as import("../pipeline.js").Stage);
      ctx.out(`${name} finished: ${r.runDir}\n`);
    },
  });
}

const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

registerCommand({
  name: "predict",
  summary: "Segment images with a run's model: indexed PNG masks (dataset palette) and colour overlays",
  options: [
    {
      name: "run",
      type: "string",
      valueName: "dir",
      description: "Run folder (or its segmentation folder), or a model.onnx from aepsl export",
      required: true,
    },
    { name: "out", type: "string", valueName: "dir", description: "Output folder", required: true },
    { name: "crf", type: "boolean", description: "Dense CRF post-processing" },
    { name: "flip", type: "boolean", description: "Average with the flipped image" },
  ],
  positionals: [{ name: "images", description: "Image files or folders", variadic: true, required: true }],
  examples: [
    "aepsl predict --run runs/voc --out predictions photos/ extra.jpg --crf",
    "aepsl predict --run my-model.onnx --out predictions photos/",
  ],
  async run({ options, positionals }, ctx) {
    const files: string[] = [];
    for (const p of positionals) {
      if (!existsSync(p)) throw new Error(`${p}: no such file or folder`);
      if (statSync(p).isDirectory())
        files.push(
          ...readdirSync(p)
            .filter((f) => IMAGE_EXT.test(f))
            .sort()
            .map((f) => join(p, f)),
        );
      else files.push(p);
    }
    if (!files.length) throw new Error("predict: no images found (jpg, jpeg, png, webp)");
    const { predictFiles } = await import("../stages/evaluate.js");
    const { crfOptions, stageProgress } = await import("../pipeline.js");
    const { validateConfig } = await import("../util/config.js");
    const { readJson } = await import("../stages/run-dir.js");
    const modelPath = resolve(options.run);
    const cfgPath = join(modelPath, "config.json");
    const config = existsSync(cfgPath) ? validateConfig(readJson(cfgPath), cfgPath) : ctx.config;
    let seg: import("../segment-result.js").ImageSegmentationModel;
    if (modelPath.toLowerCase().endsWith(".onnx")) {
      // An exported model runs on onnxruntime-node (aepsl export).
      seg = await (await import("../onnx/segmenter.js")).OnnxSegmenter.load(modelPath);
    } else {
      await (await import("../stages/device.js")).useConfiguredDevice(null, config);
      seg = await (await import("../segmenter.js")).Segmenter.load(modelPath);
    }
    try {
      const onStep = stageProgress(ctx.log);
      const bad: string[] = [];
      const written = await predictFiles(seg, files, resolve(options.out), {
        crf: options.crf ? crfOptions(config) : false,
        flip: options.flip,
        onImage: (d, n) => onStep("predict", d, n),
        onBadImage: (err) => bad.push(err.message),
      });
      const badList = bad.map((m) => `  - ${m}\n`).join("");
      // A folder of a user's photos may hold a few broken files: segment the rest, name each bad one.
      if (!written.length) throw new Error(`predict: no image could be read:\n${badList}`);
      ctx.out(
        `wrote ${written.length} mask(s) and overlays to ${resolve(options.out)}\n` +
          (bad.length ? `skipped ${bad.length} unreadable image(s):\n${badList}` : ""),
      );
    } finally {
      seg.dispose();
    }
  },
});

/** The demo's settings: small enough for 2 CPU cores in a few minutes, big enough to show every stage. */
export const DEMO_OVERRIDES: [string, string][] = [
  ["data.trainSplit", "train"],
  ["data.evalSplit", "val"],
  ["classifier.epochs", "8"],
  ["classifier.cropSize", "224"],
  ["erasing.steps", "3"],
  ["erasing.epochsPerStep", "3"],
  ["erasing.stopMapRatio", "0.5"],
  ["segmentation.epochs", "15"],
  ["segmentation.cropSize", "224"],
  ["crf.enabled", "true"],
  ["eval.headlineClasses", "background,person,cat,dog,horse,cow,sheep"],
];

registerCommand({
  name: "demo",
  summary: "Run the whole pipeline on the bundled 60-image VOC sample and write the report (a few minutes)",
  description:
    "Uses samples/voc-mini (PASCAL VOC 2012 photos with masks, see its README for attribution): trains on " +
    "its 45 'train' images from image-level labels only and evaluates on its 15 'val' images. Ends by " +
    "printing where the HTML report is.",
  options: [
    { name: "out", type: "string", valueName: "dir", description: "Run folder", default: "runs/demo" },
    { name: "force", type: "boolean", description: "Start over instead of resuming an existing demo run" },
  ],
  examples: ["aepsl demo", "aepsl demo --out /tmp/demo --force"],
  async run({ options }, ctx) {
    const { packageRoot } = await import("../engine/native.js");
    const { applyOverrides } = await import("../util/config.js");
    const demoCtx = { ...ctx, config: applyOverrides(ctx.config, DEMO_OVERRIDES) };
    const { runDir, config } = await openRun(
      {
        out: options.out,
        data: join(packageRoot, "samples", "voc-mini"),
        force: options.force,
        create: true,
      },
      { ...demoCtx, configPath: undefined, overrides: [] },
    );
    const { runPipeline, headlineText } = await import("../pipeline.js");
    const t0 = performance.now();
    const result = await runPipeline(runDir, config, ctx.log);
    const ev = result.evaluation as
      | {
          miou: number;
          headline?: { classes: string[]; miou: number } | null;
          crf_result?: { miou: number } | null;
        }
      | undefined;
    const { writeReport } = await import("../report/report.js");
    const report = await writeReport(runDir);
    ctx.out(
      [
        `demo finished in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
        ev
          ? `val mIoU ${(ev.miou * 100).toFixed(1)}${headlineText(ev)}` +
            (ev.crf_result ? `, with CRF ${(ev.crf_result.miou * 100).toFixed(1)}` : "")
          : "",
        `report: ${report}`,
        "",
      ]
        .filter(Boolean)
        .join("\n"),
    );
  },
});
