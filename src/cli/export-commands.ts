// `aepsl export` (a run's segmentation network as ONNX, or as a static web page) and `aepsl serve` (that
// page on localhost). The engine is imported inside run(), as everywhere in the CLI.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { registerCommand } from "./commands.js";

function describeVerification(
  v: { images: number; maxAbsDiff: number; argmaxAgreement: number } | null,
): string {
  if (!v) return "not checked against the engine (onnxruntime-node is not installed)";
  return (
    `checked against the engine on ${v.images} sample photos: max |Δlogit| ${v.maxAbsDiff.toExponential(1)}, ` +
    `argmax agreement ${(100 * v.argmaxAgreement).toFixed(3)} %`
  );
}

registerCommand({
  name: "export",
  summary: "Export a run's segmentation model to ONNX, or as a web page that segments photos in the browser",
  description:
    '--format onnx (default) writes one .onnx file (opset 17, any image size; input "image" float32 ' +
    '[N,3,H,W] RGB 0..255, output "logits" [N,C,H,W]; class names, colours and the convention in its ' +
    'metadata). It runs in onnxruntime-node (loadSegmenter("model.onnx"), `aepsl predict --run model.onnx`) ' +
    "and onnxruntime-web. --format web writes a static folder: index.html, the model and onnxruntime-web's wasm; " +
    "open it with `aepsl serve <folder>` (browsers do not run it from disk). Every export is checked against " +
    "the engine on the bundled sample photos before it is written.",
  options: [
    {
      name: "run",
      type: "string",
      valueName: "dir",
      description: "Run folder with a trained segmentation model",
      required: true,
    },
    {
      name: "out",
      type: "string",
      valueName: "path",
      description: "Output file (onnx) or folder (web)",
      required: true,
    },
    {
      name: "format",
      type: "string",
      valueName: "format",
      description: "onnx or web",
      default: "onnx",
      choices: ["onnx", "web"],
    },
  ],
  examples: [
    "aepsl export --run runs/my-run --out my-model.onnx",
    "aepsl export --run runs/my-run --format web --out site/ && aepsl serve site/",
  ],
  async run({ options }, ctx) {
    const runDir = resolve(options.run);
    if (!existsSync(join(runDir, "segmentation", "model.json")) && !existsSync(join(runDir, "model.json")))
      throw new Error(`${runDir}: no trained segmentation model (missing segmentation/model.json)`);
    const { exportOnnx, exportWebSite } = await import("../export.js");
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    if (options.format === "web") {
      const site = await exportWebSite(runDir, options.out);
      ctx.out(
        `wrote ${site.dir} (${site.files.length} files; model ${mb(site.bytes)}, ${site.classes.length} classes)\n` +
          `${describeVerification(site.verification)}\n` +
          `open it with: aepsl serve ${options.out}\n`,
      );
      return;
    }
    if (!options.out.toLowerCase().endsWith(".onnx"))
      throw new Error(`--out ${options.out}: an ONNX export needs a file name ending in .onnx`);
    const r = await exportOnnx(runDir, options.out);
    ctx.out(
      `wrote ${r.file} (${mb(r.bytes)}, ${r.classes.length} classes)\n${describeVerification(r.verification)}\n`,
    );
  },
});

registerCommand({
  name: "serve",
  summary: "Serve an exported web page (or any folder) on localhost",
  description:
    "A static server with the cross-origin isolation headers that let the page run onnxruntime-web on " +
    "several threads. Stop it with Ctrl-C.",
  options: [
    { name: "port", type: "number", valueName: "n", description: "Port (0: any free one)", default: 8080 },
    {
      name: "host",
      type: "string",
      valueName: "addr",
      description: "Address to listen on",
      default: "127.0.0.1",
    },
  ],
  positionals: [
    {
      name: "folder",
      description: "The folder to serve (aepsl export --format web --out …)",
      required: true,
    },
  ],
  examples: ["aepsl serve site/", "aepsl serve site/ --port 9000"],
  async run({ options, positionals }, ctx) {
    const { serveStatic } = await import("../web/serve.js");
    const s = await serveStatic(positionals[0]!, { port: options.port, host: options.host });
    ctx.out(`serving ${resolve(positionals[0]!)} at ${s.url} (Ctrl-C to stop)\n`);
    await new Promise<void>((done) => {
      const stop = () => void s.close().then(done);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  },
});
