// Converts colour-coded masks (one RGB colour per class, as MSRC-21 or CamVid ship them) into the
// masks/ folder of a dataset: <id>.png indexed masks whose values are the indices of classes.txt.
// Each colour is read from a classes.txt line: `index name r,g,b` (a class) or `value name r,g,b ignore`
// (unlabelled pixels, written as `value`). A colour that is in no line stops the conversion, naming
// the file, the pixel and the colour. "<id>_GT.png" (MSRC's naming) becomes <id>.png.
// Usage: node --import tsx scripts/colour-masks.ts <colour-mask-folder> <dataset-folder>
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, parse, resolve } from "node:path";
import { readClassesTxt } from "../src/data/classes.js";
import { loadRgb } from "../src/data/image.js";
import { writeIndexedPng } from "../src/data/png.js";
import { InputError } from "../src/util/errors.js";

const [colourDir, dataDir] = process.argv.slice(2).map((p) => resolve(p));
if (!colourDir || !dataDir) {
  console.error("usage: node --import tsx scripts/colour-masks.ts <colour-mask-folder> <dataset-folder>");
  process.exit(2);
}

/** Colour "r,g,b" → the value its classes.txt line stands for. */
function storedValueOfColour(classesPath: string): Map<string, number> {
  const valueOf = new Map<string, number>();
  readFileSync(classesPath, "utf8")
    .split(/\r?\n/)
    .forEach((raw, n) => {
      const parts = raw.replace(/#.*/, "").trim().split(/\s+/);
      const colour = parts[2];
      if (parts[1] === "->" || !colour?.includes(",")) return;
      const previous = valueOf.get(colour);
      if (previous !== undefined && previous !== Number(parts[0]))
        throw new InputError(`${classesPath}:${n + 1}`, `colour ${colour} already stands for ${previous}`);
      valueOf.set(colour, Number(parts[0]));
    });
  return valueOf;
}

try {
  const classesPath = join(dataDir, "classes.txt");
  const classes = await readClassesTxt(classesPath); // refuses a bad classes.txt with every problem
  const valueOf = storedValueOfColour(classesPath);
  const files = readdirSync(colourDir).filter((f) =>
    [".png", ".jpg", ".jpeg", ".webp"].includes(extname(f).toLowerCase()),
  );
  if (files.length === 0) throw new InputError(colourDir, "no PNG, JPEG or WebP masks found");
  for (const file of files) {
    const { width, height, data } = await loadRgb(join(colourDir, file));
    const mask = new Uint8Array(width * height);
    for (let p = 0; p < mask.length; p++) {
      const colour = `${data[3 * p]},${data[3 * p + 1]},${data[3 * p + 2]}`;
      const value = valueOf.get(colour);
      if (value === undefined)
        throw new InputError(
          join(colourDir, file),
          `pixel (${p % width}, ${Math.floor(p / width)}) has colour ${colour}, which no line of ${classesPath} gives`,
        );
      mask[p] = value;
    }
    const id = parse(file).name.replace(/_GT$/, "");
    await writeIndexedPng(join(dataDir, "masks", `${id}.png`), mask, width, height, classes.palette);
  }
  console.log(`wrote ${files.length} mask(s) to ${join(dataDir, "masks")}`);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}
