/**
 * Builds samples/voc-mini (VOC layout, ~60 images) from ../shared/data/voc12-subset.
 * Deterministic: ids are ordered by a hash, preferring VOC's hand-annotated `train` list.
 * Usage: node --import tsx scripts/make-voc-mini.ts [sourceDir] [outDir]
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";

const source = resolve(process.argv[2] ?? "../shared/data/voc12-subset");
const out = resolve(process.argv[3] ?? "samples/voc-mini");
const FOCUS = ["cow", "sheep", "horse", "person", "dog", "cat"]; // rarest first
const PER_CLASS = 10;
const TOTAL = 60;
const VAL = 15;

const hash = (id: string) => createHash("sha1").update(`voc-mini:${id}`).digest("hex");

const csv = (await readFile(join(source, "image_labels.csv"), "utf8")).trim().split("\n");
const rows = new Map(
  csv.slice(1).map((line) => {
    const [id, , , labels] = line.split(",");
    return [id, { line, labels: labels.split(" ") }] as const;
  }),
);
const handMade = new Set(
  (await readFile(join(source, "ImageSets/Segmentation/train.txt"), "utf8")).split(/\s+/),
);
const candidates = [...rows.keys()].sort(
  (a, b) => Number(handMade.has(b)) - Number(handMade.has(a)) || hash(a).localeCompare(hash(b)),
);

const chosen: string[] = [];
const count = (c: string) => chosen.filter((id) => rows.get(id)!.labels.includes(c)).length;
for (const c of FOCUS) {
  for (const id of candidates) {
    if (count(c) >= PER_CLASS) break;
    if (!chosen.includes(id) && rows.get(id)!.labels.includes(c)) chosen.push(id);
  }
}
for (const id of candidates) if (chosen.length < TOTAL && !chosen.includes(id)) chosen.push(id);

// Every 4th id (in hash order) goes to val, so both splits cover the focus classes.
const ordered = [...chosen].sort((a, b) => hash(a).localeCompare(hash(b)));
const val = ordered.filter((_, i) => i % 4 === 3).slice(0, VAL);
const train = ordered.filter((id) => !val.includes(id));

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "JPEGImages"), { recursive: true });
await mkdir(join(out, "SegmentationClass"), { recursive: true });
await mkdir(join(out, "ImageSets/Segmentation"), { recursive: true });
let bytes = 0;
for (const id of ordered) {
  for (const [dir, ext] of [
    ["JPEGImages", "jpg"],
    ["SegmentationClass", "png"],
  ]) {
    await copyFile(join(source, dir, `${id}.${ext}`), join(out, dir, `${id}.${ext}`));
    bytes += (await stat(join(out, dir, `${id}.${ext}`))).size;
  }
}
await copyFile(join(source, "classes.txt"), join(out, "classes.txt"));
await writeFile(
  join(out, "image_labels.csv"),
  [csv[0], ...ordered.map((id) => rows.get(id)!.line)].join("\n") + "\n",
);
await writeFile(join(out, "ImageSets/Segmentation/train.txt"), train.join("\n") + "\n");
await writeFile(join(out, "ImageSets/Segmentation/val.txt"), val.join("\n") + "\n");

const inSplit = (ids: string[], c: string) => ids.filter((id) => rows.get(id)!.labels.includes(c)).length;
console.log(
  `${ordered.length} images (${train.length} train, ${val.length} val), ${(bytes / 1e6).toFixed(2)} MB`,
);
for (const c of FOCUS)
  console.log(`  ${c}: ${inSplit(ordered, c)} (train ${inSplit(train, c)}, val ${inSplit(val, c)})`);
