/** Class names and colour palettes: the VOC defaults and `classes.txt` files (`index name r,g,b`). */
import { readFile } from "node:fs/promises";
import { InputError, ValidationError } from "../util/errors.js";
import { IGNORE_INDEX } from "./types.js";

export interface ClassSet {
  /** names[0] is the background class; foreground classes are 1..names.length-1. */
  names: string[];
  /** 256 RGB triplets (768 bytes), ready for an indexed PNG; entry 255 is the void colour. */
  palette: Uint8Array;
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
  return { names: [...VOC_CLASS_NAMES], palette: buildPalette() };
}

/** Name → index, case-insensitive (names are unique ignoring case: parseClassesTxt checks it). */
export function classIndex(classes: ClassSet): Map<string, number> {
  return new Map(classes.names.map((n, i) => [n.toLowerCase(), i]));
}

/**
 * Parses `index name r,g,b` lines (colour optional; blank lines and `#` comments skipped).
 * Indices must run 0..n-1 with 0 the background, at most 255 classes (255 is void). Every problem
 * is collected into one ValidationError.
 */
export function parseClassesTxt(text: string, file: string): ClassSet {
  const problems: InputError[] = [];
  const names: string[] = [];
  const colors: Array<[number, number, number] | undefined> = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((rawLine, lineNo) => {
    const line = rawLine.replace(/#.*/, "").trim();
    if (!line) return;
    const where = `${file}:${lineNo + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 3 || !/^\d+$/.test(parts[0])) {
      problems.push(new InputError(where, `expected "index name r,g,b", got "${line}"`));
      return;
    }
    const index = Number(parts[0]);
    const name = parts[1];
    if (index >= IGNORE_INDEX) {
      problems.push(new InputError(where, `class index ${index} too large (255 is reserved for void)`));
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
      const rgb = parts[2].split(",").map(Number);
      if (rgb.length !== 3 || !rgb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
        problems.push(new InputError(where, `bad colour "${parts[2]}", expected r,g,b with values 0..255`));
      } else {
        colors[index] = rgb as [number, number, number];
      }
    }
  });
  if (names.length === 0) problems.push(new InputError(file, "no classes defined"));
  for (let i = 0; i < names.length; i++) {
    if (names[i] === undefined)
      problems.push(new InputError(file, `class index ${i} missing (indices must be 0..n-1)`));
  }
  if (problems.length > 0) throw new ValidationError(problems, file);
  return { names, palette: buildPalette(colors) };
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

/** Serialises a ClassSet in the same `index name r,g,b` format. */
export function formatClassesTxt(classes: ClassSet): string {
  return classes.names
    .map((n, i) => `${i} ${n} ${Array.from(classes.palette.subarray(i * 3, i * 3 + 3)).join(",")}\n`)
    .join("");
}
