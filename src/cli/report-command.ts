// `aepsl report`: the HTML report of a run folder (written by `aepsl demo` too). Works at any stage of a
// run: sections whose files are missing say so. The report module is loaded inside run().
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { registerCommand } from "./commands.js";

registerCommand({
  name: "report",
  summary: "HTML report of a run: images step by step, charts, metrics",
  description:
    "The report is a static page that opens from disk: for a few images, the photo, the CAM of each labelled " +
    "class at every erasing step, the erased images, the mined regions and their union, the pseudo-label, the " +
    "prediction with and without CRF and the ground truth; training curves, per-class IoU, the confusion matrix, " +
    "mining precision/recall per step, timings and the configuration. It can be written while a run is still going.",
  options: [
    { name: "run", type: "string", valueName: "dir", description: "Run folder", required: true },
    {
      name: "sample",
      type: "number",
      valueName: "n",
      description: "Images shown in detail (from the eval split when there is one)",
      default: 8,
    },
  ],
  examples: ["aepsl report --run runs/demo", "aepsl report --run runs/voc --sample 16"],
  async run({ options }, ctx) {
    const runDir = resolve(options.run);
    if (!existsSync(join(runDir, "config.json")) && !existsSync(join(runDir, "steps")))
      throw new Error(`${runDir}: not an aepsl run folder (no config.json)`);
    if (!Number.isInteger(options.sample) || options.sample < 0)
      throw new Error(`--sample must be a whole number ≥ 0, got ${options.sample}`);
    const { writeReport } = await import("../report/report.js");
    const page = await writeReport(runDir, { sample: options.sample });
    ctx.out(`report: ${page}\n`);
  },
});
