// Converts the U²-Netp ONNX file in ../shared/weights/u2netp into weights/u2netp/u2netp.safetensors
// (names of src/nn/u2netp.ts) and writes the Apache-2.0 licence and a notice beside it.
// Usage: node --import tsx scripts/convert-u2netp.ts [u2netp.onnx] [out-dir]
import { copyFileSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { saveSafetensors } from "../src/engine/safetensors.js";
import { Conv2d } from "../src/nn/layers.js";
import type { Module } from "../src/nn/module.js";
import { U2NetP } from "../src/nn/u2netp.js";
import { convertU2NetPOnnx } from "../src/nn/u2netp-weights.js";
import { writeFileAtomic } from "../src/util/fs.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const source = resolve(process.argv[2] ?? join(repoRoot, "..", "shared", "weights", "u2netp", "u2netp.onnx"));
const outDir = resolve(process.argv[3] ?? join(repoRoot, "weights", "u2netp"));

const notice = (sha256: string) => `U²-Netp salient-object detection weights
========================================

u2netp.safetensors in this folder is derived from u2netp.onnx (sha256 ${sha256}),
the widely used ONNX export of the U-2-Net authors' u2netp.pth (Xuebin Qin et al., "U²-Net: Going
deeper with nested U-structure for salient object detection", Pattern Recognition 2020;
https://github.com/xuebinqin/U-2-Net), distributed under the Apache License, Version 2.0
(LICENSE-Apache-2.0.txt in this folder).

Modifications: the weights were converted from the ONNX file by scripts/convert-u2netp.ts in this
project: the float32 convolution weights and biases (batch norm already folded into them by the
export) were read from the ONNX initializers, renamed to the U-2-Net module names
(stage1.rebnconvin.conv_s1.weight, ..., side1.weight, outconv.weight) and stored in the
safetensors format. No retraining was done.

The original files are licensed under the Apache License, Version 2.0 (the "License"); you may not
use these files except in compliance with the License. You may obtain a copy of the License at
http://www.apache.org/licenses/LICENSE-2.0. Unless required by applicable law or agreed to in
writing, software distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
`;

async function main(): Promise<void> {
  const bytes = readFileSync(source);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const model = new U2NetP();
  const isConv = (m: Module): m is Conv2d => m instanceof Conv2d;
  const tensors = convertU2NetPOnnx(bytes, model, isConv, source);
  const outFile = join(outDir, "u2netp.safetensors");
  await saveSafetensors(outFile, tensors, {
    source: "u2netp.onnx",
    source_sha256: sha256,
    license: "Apache-2.0",
  });
  copyFileSync(join(dirname(source), "LICENSE-Apache-2.0.txt"), join(outDir, "LICENSE-Apache-2.0.txt"));
  await writeFileAtomic(join(outDir, "NOTICE"), notice(sha256));
  console.log(`wrote ${outFile} (${Object.keys(tensors).length} tensors) and its licence notice`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
