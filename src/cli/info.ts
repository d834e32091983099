// `aepsl info`: the engine (libtorch version, threads, SIMD level) and the resolved configuration.
import { configKeys, formatConfigJson } from "../util/config.js";
import { formatTable } from "./args.js";
import { registerCommand } from "./commands.js";

registerCommand({
  name: "info",
  summary: "Show the engine (libtorch version, threads, SIMD) and the resolved configuration",
  description:
    "The configuration shown is what a pipeline command would run with: the defaults, then the profile, " +
    "then the --config file, then the --set overrides. Its JSON can be saved and used as a config file.",
  options: [
    { name: "json", type: "boolean", description: "Print one JSON object: version, node, engine, config" },
    {
      name: "keys",
      type: "boolean",
      description: "List every configuration key with what it accepts and its default",
    },
    { name: "torch-config", type: "boolean", description: "Also print libtorch's build configuration" },
  ],
  examples: [
    "aepsl info",
    "aepsl info --config run.yaml --set classifier.epochs=3",
    "aepsl info --set profile=quick --json",
    "aepsl info --keys",
  ],
  async run({ options }, ctx) {
    if (options.keys) {
      const rows = configKeys().map(({ key, expected, default: d }): [string, string] => [
        key,
        `${expected}${d === undefined ? "" : ` (default: ${JSON.stringify(d)})`}`,
      ]);
      ctx.out(`${formatTable(rows, 32)}\n`);
      return;
    }

    // Loaded here rather than at the top so `aepsl --help` works before the native addon is built.
    let engine: import("../engine/ops.js").EngineInfo | undefined;
    let device: import("../engine/device.js").DeviceResolution | undefined;
    let deviceError: string | undefined;
    let engineError: string | undefined;
    try {
      const ops = await import("../engine/ops.js");
      engine = ops.engineInfo();
      const { resolveDevice } = await import("../engine/device.js");
      try {
        device = resolveDevice(ctx.config.device);
      } catch (err) {
        deviceError = (err as Error).message;
      }
    } catch (err) {
      engineError = (err as Error).message;
    }
    const cudaLine = (d: NonNullable<typeof device>): string =>
      d.cuda.available
        ? `CUDA: available, ${d.cuda.devices.map((g) => `cuda:${g.index} ${g.name} ${(g.totalMemory / 2 ** 30).toFixed(1)} GiB`).join("; ") || `${d.cuda.deviceCount} GPU(s)`}`
        : `CUDA: not available (${d.cuda.built ? "no GPU visible" : "CPU only: libtorch built without CUDA"})`;

    const source =
      [ctx.configPath, ctx.overrides.length > 0 ? "--set" : undefined].filter(Boolean).join(" + ") ||
      "defaults";
    if (options.json) {
      const eng = engine
        ? { torchVersion: engine.torchVersion, threads: engine.threads, simd: engine.simd }
        : { error: engineError };
      const obj = {
        version: ctx.version,
        node: process.version,
        engine: options.torchConfig && engine ? { ...eng, config: engine.config } : eng,
        device: device
          ? { setting: device.setting, device: device.device, reason: device.reason, cuda: device.cuda }
          : { setting: ctx.config.device, error: deviceError ?? engineError },
        configSource: source,
        config: ctx.config,
      };
      ctx.out(`${JSON.stringify(obj, null, 2)}\n`);
    } else {
      const lines = [
        `${ctx.program} ${ctx.version} (node ${process.version}, ${process.platform} ${process.arch})`,
      ];
      lines.push(
        engine
          ? `engine: libtorch ${engine.torchVersion}, ${engine.threads} thread${engine.threads === 1 ? "" : "s"}, SIMD ${engine.simd}`
          : `engine: unavailable`,
      );
      if (device) {
        lines.push(`device: ${device.device} (${device.setting}: ${device.reason})`);
        lines.push(cudaLine(device));
      } else if (deviceError) lines.push(`device: ${deviceError}`);
      if (engine && options.torchConfig)
        lines.push(`libtorch build configuration:\n${engine.config.trimEnd()}`);
      lines.push(`config (${source}, profile "${ctx.config.profile}"):`);
      lines.push(formatConfigJson(ctx.config));
      ctx.out(`${lines.join("\n")}\n`);
    }
    if (engineError !== undefined) throw new Error(`the libtorch engine is unavailable: ${engineError}`);
    if (deviceError !== undefined) throw new Error(deviceError);
  },
});
