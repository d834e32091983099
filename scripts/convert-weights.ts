// Converts the ImageNet MobileNetV2 TFLite model in ../shared/weights into a float32 safetensors file
// with torchvision-style names, and writes the labels and the Apache-2.0 notice beside it.
// Usage: node --import tsx scripts/convert-weights.ts [source.tflite] [out-dir]
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { saveSafetensors, type SafeTensor } from "../src/engine/safetensors.js";
import { convertMobileNetV2Tflite } from "../src/nn/mobilenetv2-weights.js";
import { writeFileAtomic } from "../src/util/fs.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const sharedWeights = resolve(repoRoot, "..", "shared", "weights");
const source = resolve(process.argv[2] ?? join(sharedWeights, "mobilenet_v2_1.0_224_quant.tflite"));
const outDir = resolve(process.argv[3] ?? join(repoRoot, "weights"));
const labels = join(dirname(source), "imagenet_labels.txt");
const outFile = join(outDir, "mobilenet_v2_1.0_imagenet.safetensors");

const NOTICE = `MobileNetV2 ImageNet weights
============================

mobilenet_v2_1.0_imagenet.safetensors and imagenet_labels.txt in this folder are derived from
files in the google-coral/test_data repository (https://github.com/google-coral/test_data),
distributed under the Apache License, Version 2.0 (see LICENSE-APACHE-2.0 in this folder):

  - mobilenet_v2_1.0_224_quant.tflite (MobileNetV2 width 1.0, 224x224, 1001 classes,
    uint8 quantization-aware trained, batch norm folded into conv biases, ReLU6)
  - imagenet_labels.txt (copied unchanged)

Modifications: the weights were converted from the TFLite file by scripts/convert-weights.ts in
this project: the uint8 weights and int32 biases were dequantized to float32
(real = scale x (q - zero_point)), the convolution kernels were transposed from TFLite's OHWI
(depthwise 1HWC) layout to PyTorch's OIHW ([C,1,H,W]) layout, and the tensors were renamed to
torchvision's MobileNetV2 parameter names and stored in the safetensors format. No retraining
was done.

The companion model tf2_mobilenet_v2_1.0_224_ptq.tflite (int8 per-channel post-training
quantized) comes from the same repository under the same licence; it is used only in tests and
is not redistributed here.

The original files are licensed under the Apache License, Version 2.0 (the "License"); you
may not use these files except in compliance with the License. You may obtain a copy of the
License at http://www.apache.org/licenses/LICENSE-2.0. Unless required by applicable law or
agreed to in writing, software distributed under the License is distributed on an "AS IS"
BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
`;

/** Full licence text; Debian ships a verbatim copy, which avoids retyping 200 lines here. */
function apacheLicenseText(): string {
  for (const p of [
    "/usr/share/common-licenses/Apache-2.0",
    join(repoRoot, "weights", "LICENSE-APACHE-2.0"),
  ]) {
    if (existsSync(p)) return readFileSync(p, "utf8");
  }
  throw new Error("Apache-2.0 licence text not found (expected /usr/share/common-licenses/Apache-2.0)");
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const params = convertMobileNetV2Tflite(source);
  const tensors: Record<string, SafeTensor> = {};
  let count = 0;
  for (const [name, t] of Object.entries(params)) {
    tensors[name] = { dtype: "F32", shape: t.shape, data: t.data };
    count += t.data.length;
  }
  await saveSafetensors(outFile, tensors, {
    format: "pt",
    architecture: "mobilenet_v2",
    source: basename(source),
    origin: "google-coral/test_data",
    licence: "Apache-2.0",
    note: "dequantized from TFLite; batch norm folded into conv biases; ReLU6; TFLite SAME padding",
    num_classes: "1001",
  });
  // Rewritten rather than copied so the read-only mode of the shared folder is not inherited.
  await writeFileAtomic(join(outDir, "imagenet_labels.txt"), readFileSync(labels));
  await writeFileAtomic(join(outDir, "NOTICE"), NOTICE);
  await writeFileAtomic(join(outDir, "LICENSE-APACHE-2.0"), apacheLicenseText());
  const mb = (readFileSync(outFile).length / 2 ** 20).toFixed(1);
  console.log(
    `wrote ${outFile}: ${Object.keys(tensors).length} tensors, ${count} parameters, ${mb} MiB (${Date.now() - t0} ms)`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
