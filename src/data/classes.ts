/** Class names and colour palettes: the VOC defaults and `classes.txt` files (`index name r,g,b`). */
import { readFile } from "node:fs/promises";
import { InputError, ValidationError } from "../util/errors.js";
import { IGNORE_INDEX } from "./types.js";

export interface ClassSet {
  /** names[0] is the background class; foreground classes are 1..names.length-1. */
  names: string[];
  /** 256 RGB triplets (768 bytes), ready for an indexed PNG; entry 255 is the void colour. */
  palette: Uint8Array;
  /**
   * How the values stored in ground-truth masks are read (readGroundTruthMask): entry v is the class
   * index of stored value v, IGNORE_INDEX (255) for a value read as "ignore", or NOT_A_MASK_VALUE for a
   * value that is neither, which is an error. By default a class's index is its stored value and 255 is
   * void; classes.txt can declare `v name ignore` and `v -> name` lines.
   */
  maskValues: Int16Array;
}

/** maskValues entry of a stored mask value that classes.txt does not declare. */
export const NOT_A_MASK_VALUE = -1;

/** The default reading of mask values: class c is stored as c, 255 is void, nothing else is valid. */
export function identityMaskValues(numClasses: number): Int16Array {
  const table = new Int16Array(256).fill(NOT_A_MASK_VALUE);
  for (let c = 0; c < numClasses; c++) table[c] = c;
  table[IGNORE_INDEX] = IGNORE_INDEX;
  return table;
}

/** The class count of a default table (no ignore or `->` lines), or null when the table is not one. */
export function identityClassCount(table: Int16Array): number | null {
  let n = 0;
  while (n < IGNORE_INDEX && table[n] === n) n++;
  const identity = identityMaskValues(n);
  return table.every((v, i) => v === identity[i]) ? n : null;
}

/** The stored values a table accepts, as compact ranges: "0..6, 9, 255". */
export function describeMaskValues(table: Int16Array): string {
  const ranges: string[] = [];
  for (let v = 0; v < 256; v++) {
    if (table[v] === NOT_A_MASK_VALUE) continue;
    let end = v;
    while (end + 1 < 256 && table[end + 1] !== NOT_A_MASK_VALUE) end++;
    ranges.push(end === v ? `${v}` : end === v + 1 ? `${v}, ${end}` : `${v}..${end}`);
    v = end;
  }
  return ranges.join(", ");
}

export const VOC_CLASS_NAMES: readonly string[] = [
  "background",
  "aeroplane",
  "bicycle",
  "bird",
  "boat",
  "bottle",
  "bus",
  "car",
  "cat",
  "chair",
  "cow",
  "diningtable",
  "dog",
  "horse",
  "motorbike",
  "person",
  "pottedplant",
  "sheep",
  "sofa",
  "train",
  "tvmonitor",
];

/** The VOC colour map: bits of the index spread over the high bits of r, g, b (255 gives 224,224,192). */
export function vocColor(index: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  let c = index;
  for (let shift = 7; shift >= 0; shift--) {
    r |= (c & 1) << shift;
    g |= ((c >> 1) & 1) << shift;
    b |= ((c >> 2) & 1) << shift;
    c >>= 3;
  }
  return [r, g, b];
}

/**
 * A full 256-entry palette: the given colours first, the VOC colour map for every other index
 * (so 255 is VOC's void colour 224,224,192 unless overridden).
 */
export function buildPalette(
  colors: ReadonlyArray<readonly [number, number, number] | undefined> = [],
): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) palette.set(colors[i] ?? vocColor(i), i * 3);
  return palette;
}

export function vocClasses(): ClassSet {
  return {
    names: [...VOC_CLASS_NAMES],
    palette: buildPalette(),
    maskValues: identityMaskValues(VOC_CLASS_NAMES.length),
  };
}

/** Name → index, case-insensitive (names are unique ignoring case: parseClassesTxt checks it). */
export function classIndex(classes: ClassSet): Map<string, number> {
  return new Map(classes.names.map((n, i) => [n.toLowerCase(), i]));
}

function isColour(text: string): boolean {
  const rgb = text.split(",").map(Number);
  return rgb.length === 3 && rgb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
}

/** The name class 0 gets when classes.txt gives stored value 0 another meaning and names no class 0. */
export const IMPLICIT_BACKGROUND_NAME = "background";

/**
 * Parses classes.txt (blank lines and `#` comments skipped), three kinds of line:
 *  - `index name [r,g,b]`: a class; masks store it as `index`. Indices must run 0..n-1 with 0 the
 *    background, at most 255 classes (255 is void).
 *  - `value name [r,g,b] ignore`: masks store unlabelled pixels as `value`; they are read as 255
 *    (ignored). Name and colour only document it (e.g. `0 void ignore`, `0 void 0,0,0 ignore`).
 *  - `value -> name`: masks store class `name` (defined on its own line) as `value`. This wins over the
 *    class whose index is `value`, so datasets with gaps or merged classes need no conversion.
 * When stored value 0 is ignored or mapped and no line defines class 0, class 0 is the pipeline's
 * background, named "background", which then never occurs in the ground truth.
 * Every problem is collected into one ValidationError.
 */
export function parseClassesTxt(text: string, file: string): ClassSet {
  const problems: InputError[] = [];
  const names: string[] = [];
  const colors: Array<[number, number, number] | undefined> = [];
  const seen = new Map<string, number>();
  const ignored = new Map<number, string>(); // stored value → where it was declared
  const mapped: Array<{ value: number; target: string; where: string }> = [];
  const declaredValues = new Map<number, string>(); // ignore and -> lines, to refuse a value twice
  const declareValue = (value: number, where: string): boolean => {
    if (value >= IGNORE_INDEX) {
      problems.push(
        new InputError(where, `mask value ${value} out of range (0..254; 255 is already ignored)`),
      );
      return false;
    }
    const previous = declaredValues.get(value);
    if (previous !== undefined) {
      problems.push(new InputError(where, `mask value ${value} already declared at ${previous}`));
      return false;
    }
    declaredValues.set(value, where);
    return true;
  };
  text.split(/\r?\n/).forEach((rawLine, lineNo) => {
    const line = rawLine.replace(/#.*/, "").trim();
    if (!line) return;
    const where = `${file}:${lineNo + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length === 3 && parts[1] === "->" && /^\d+$/.test(parts[0])) {
      if (declareValue(Number(parts[0]), where))
        mapped.push({ value: Number(parts[0]), target: parts[2], where });
      return;
    }
    const last = parts[parts.length - 1].toLowerCase();
    if ((parts.length === 3 || parts.length === 4) && last === "ignore" && /^\d+$/.test(parts[0])) {
      if (parts.length === 4 && !isColour(parts[2]))
        problems.push(new InputError(where, `bad colour "${parts[2]}", expected r,g,b with values 0..255`));
      else if (declareValue(Number(parts[0]), where)) ignored.set(Number(parts[0]), where);
      return;
    }
    if (parts.length < 2 || parts.length > 3 || !/^\d+$/.test(parts[0])) {
      problems.push(
        new InputError(
          where,
          `expected "index name r,g,b", "value name [r,g,b] ignore" or "value -> class-name", got "${line}"`,
        ),
      );
      return;
    }
    const index = Number(parts[0]);
    const name = parts[1];
    if (index >= IGNORE_INDEX) {
      problems.push(new InputError(where, `class index ${index} too large (255 is reserved for void)`));
      return;
    }
    if (name.toLowerCase() === "ignore") {
      problems.push(
        new InputError(
          where,
          `"ignore" cannot be a class name; to ignore mask value ${index} write "${index} void ignore"`,
        ),
      );
      return;
    }
    if (names[index] !== undefined) {
      problems.push(new InputError(where, `class index ${index} defined twice`));
      return;
    }
    const key = name.toLowerCase();
    if (seen.has(key)) {
      problems.push(new InputError(where, `class name "${name}" already used by index ${seen.get(key)}`));
      return;
    }
    seen.set(key, index);
    names[index] = name;
    if (parts.length === 3) {
      if (!isColour(parts[2]))
        problems.push(new InputError(where, `bad colour "${parts[2]}", expected r,g,b with values 0..255`));
      else colors[index] = parts[2].split(",").map(Number) as [number, number, number];
    }
  });
  if (names[0] === undefined && declaredValues.has(0) && names.length > 0) {
    if (seen.has(IMPLICIT_BACKGROUND_NAME))
      problems.push(
        new InputError(
          file,
          `no class 0, so class 0 is the implicit "${IMPLICIT_BACKGROUND_NAME}", but index ${seen.get(IMPLICIT_BACKGROUND_NAME)} already has that name`,
        ),
      );
    names[0] = IMPLICIT_BACKGROUND_NAME;
    seen.set(IMPLICIT_BACKGROUND_NAME, 0);
  }
  if (names.length === 0) problems.push(new InputError(file, "no classes defined"));
  for (let i = 0; i < names.length; i++) {
    if (names[i] === undefined)
      problems.push(
        new InputError(
          file,
          i === 0
            ? 'class index 0 missing (0 is the background; if your masks store unlabelled pixels as 0, write "0 void ignore")'
            : `class index ${i} missing (indices must be 0..n-1)`,
        ),
      );
  }
  const maskValues = identityMaskValues(names.length);
  for (const value of ignored.keys()) maskValues[value] = IGNORE_INDEX;
  for (const { value, target, where } of mapped) {
    const index = seen.get(target.toLowerCase());
    if (index === undefined)
      problems.push(
        new InputError(where, `"${value} -> ${target}": no class named "${target}" in this file`),
      );
    else maskValues[value] = index;
  }
  if (problems.length > 0) throw new ValidationError(problems, file);
  return { names, palette: buildPalette(colors), maskValues };
}

export async function readClassesTxt(path: string): Promise<ClassSet> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(path, code === "ENOENT" ? "file not found" : `cannot read (${code ?? err})`);
  }
  return parseClassesTxt(text, path);
}

/** Serialises a ClassSet in the same format: class lines, then the mask values read differently. */
export function formatClassesTxt(classes: ClassSet): string {
  const lines = classes.names.map(
    (n, i) => `${i} ${n} ${Array.from(classes.palette.subarray(i * 3, i * 3 + 3)).join(",")}\n`,
  );
  const identity = identityMaskValues(classes.names.length);
  for (let v = 0; v < IGNORE_INDEX; v++) {
    const c = classes.maskValues[v];
    if (c === identity[v]) continue;
    if (c === IGNORE_INDEX) lines.push(`${v} void ignore\n`);
    else if (c !== NOT_A_MASK_VALUE) lines.push(`${v} -> ${classes.names[c]}\n`);
  }
  return lines.join("");
}
