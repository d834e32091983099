// What an exported aepsl model says about itself in its metadata_props: class names, colours and the
// input/output convention. Plain JavaScript, so readers need neither libtorch nor the addon.
import type { OnnxModel } from "./proto.js";

/** Metadata keys (`metadata_props`) an exported model carries. */
export const METADATA = {
  classes: "aepsl.classes",
  palette: "aepsl.palette",
  input: "aepsl.input",
  output: "aepsl.output",
  architecture: "aepsl.architecture",
  outputStride: "aepsl.output_stride",
} as const;

export const INPUT_CONVENTION =
  "image: float32 [N, 3, H, W], RGB values 0..255 in channel-first order, any H and W; " +
  "the graph normalises (x / 127.5 - 1) itself";
export const OUTPUT_CONVENTION =
  "logits: float32 [N, C, H, W] class scores at the input size; argmax over C is the class index, " +
  "softmax over C the class probabilities";

/** What an exported model says about itself (from its metadata_props). */
export interface ExportedModelInfo {
  classNames: string[];
  /** One RGB triple per class. */
  colours: [number, number, number][];
}

export function readExportMetadata(model: OnnxModel, source: string): ExportedModelInfo {
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  const classes = props.get(METADATA.classes);
  const palette = props.get(METADATA.palette);
  if (!classes || !palette)
    throw new Error(
      `${source}: not an aepsl segmentation model (no ${METADATA.classes} / ${METADATA.palette} metadata)`,
    );
  try {
    const classNames = JSON.parse(classes) as string[];
    const colours = JSON.parse(palette) as [number, number, number][];
    if (
      !Array.isArray(classNames) ||
      !classNames.every((n) => typeof n === "string") ||
      !Array.isArray(colours) ||
      colours.length !== classNames.length
    )
      throw new Error("classes and palette disagree");
    return { classNames, colours };
  } catch (err) {
    throw new Error(`${source}: unreadable aepsl metadata (${(err as Error).message})`);
  }
}
