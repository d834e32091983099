/**
 * Dataset discovery and validation for two layouts:
 *  - "voc": JPEGImages/<id>.jpg, SegmentationClass/<id>.png, ImageSets/Segmentation/<split>.txt,
 *    labels from Annotations/<id>.xml, else image_labels.csv, else the masks; classes.txt or the VOC 21.
 *  - "generic": classes.txt, images/<id>.{jpg,jpeg,png,webp}, masks/<id>.png, labels.csv, splits/<name>.txt.
 * openDataset only reads the index files and records problems; validateDataset adds the per-file
 * checks and reports every problem at once.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { InputError, ValidationError } from "../util/errors.js";
import { classIndex, readClassesTxt, vocClasses, type ClassSet } from "./classes.js";
import { loadRgb } from "./image.js";
import { maskValuesToClasses } from "./mask.js";
import { readIndexedPng } from "./png.js";
import { IGNORE_INDEX } from "./types.js";

export type DatasetLayout = "voc" | "generic";

export interface DatasetItem {
  id: string;
  imagePath: string;
  maskPath?: string;
  /** How the mask's stored values are read (the dataset's ClassSet.maskValues; see readGroundTruthMask). */
  maskValues?: Int16Array;
  /** Foreground class indices present in the image, ascending; background (0) is never listed. */
  labels: number[];
}

/** A problem found in the dataset; `id` ties it to one item (skippable), otherwise it is dataset-wide. */
export interface DatasetProblem {
  id?: string;
  error: InputError;
}

export interface Dataset {
  root: string;
  layout: DatasetLayout;
  classes: ClassSet;
  /** The split read, or null when every image in the image folder is used. */
  split: string | null;
  items: DatasetItem[];
  /** Problems found while reading index files; validateDataset reports them with its own. */
  problems: DatasetProblem[];
}

export interface OpenDatasetOptions {
  /** Split name. Default: "train" for the VOC layout, every image for the generic layout. */
  split?: string;
  /**
   * The generic layout's training split may be absent (README: "default: every image"): with this set,
   * a missing splits/<split>.txt means every image instead of an error. Evaluation splits stay required.
   */
  splitOptional?: boolean;
}

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".webp"]);

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function readTextIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new InputError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/** Lists `dir` as id → file name for files with one of `extensions`; ids seen twice go to `clashes`. */
async function listById(
  dir: string,
  extensions: Set<string>,
): Promise<{ files: Map<string, string>; clashes: Map<string, string[]> }> {
  const files = new Map<string, string>();
  const clashes = new Map<string, string[]>();
  if (!(await isDir(dir))) return { files, clashes };
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const ext = extname(entry.name);
    if (!entry.isFile() || !extensions.has(ext.toLowerCase())) continue;
    const id = entry.name.slice(0, -ext.length);
    const previous = files.get(id);
    if (previous !== undefined) clashes.set(id, [...(clashes.get(id) ?? [previous]), entry.name]);
    else files.set(id, entry.name);
  }
  return { files, clashes };
}

function idProblem(id: string): string | null {
  if (id.length === 0) return "empty id";
  if (/[/\\]/.test(id) || id === "." || id === "..") return `id "${id}" must be a plain file name`;
  return null;
}

/** Splits one CSV line, honouring double quotes (spreadsheets quote fields with commas or spaces). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"'; // "" inside quotes is a literal quote
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => c.trim());
}

/**
 * Parses `id,labels` / `id,width,height,labels` (header optional; a header may name the columns in
 * any order) into id → class names. Labels are separated by spaces (or ; or |).
 */
export function parseLabelsCsv(
  text: string,
  file: string,
  problems: DatasetProblem[],
): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let idCol = 0;
  let labelsCol = -1; // -1: decided by the column count of each row
  let first = 0;
  const head = splitCsvLine(lines[0] ?? "").map((c) => c.toLowerCase());
  if (head[0] === "id" || head.includes("labels")) {
    idCol = head.indexOf("id");
    labelsCol = head.indexOf("labels");
    first = 1;
    if (idCol < 0 || labelsCol < 0) {
      problems.push({ error: new InputError(`${file}:1`, 'header must name an "id" and a "labels" column') });
      return rows;
    }
  }
  for (let n = first; n < lines.length; n++) {
    if (!lines[n].trim()) continue;
    const where = `${file}:${n + 1}`;
    const cells = splitCsvLine(lines[n]);
    const col = labelsCol >= 0 ? labelsCol : cells.length === 2 ? 1 : cells.length === 4 ? 3 : -1;
    if (col < 0 || cells.length <= Math.max(col, idCol)) {
      problems.push({
        id: cells[0],
        error: new InputError(where, `expected "id,labels" or "id,width,height,labels"`),
      });
      continue;
    }
    const id = cells[idCol];
    const bad = idProblem(id);
    if (bad) {
      problems.push({ id, error: new InputError(where, bad) }); // skipBad drops the row
      continue;
    }
    if (rows.has(id)) {
      problems.push({ id, error: new InputError(where, `duplicate id "${id}"`) });
      continue;
    }
    rows.set(id, cells[col].split(/[\s;|]+/).filter(Boolean));
  }
  return rows;
}

/** Object class names from a VOC annotation XML (part names such as "head" are not objects). */
export function parseVocAnnotation(xml: string): string[] {
  const names: string[] = [];
  for (const [, body] of xml.matchAll(/<object\b[^>]*>([\s\S]*?)<\/object>/g)) {
    const withoutParts = body.replace(/<part\b[^>]*>[\s\S]*?<\/part>/g, "");
    const name = /<name>\s*([^<]*?)\s*<\/name>/.exec(withoutParts)?.[1];
    if (name) names.push(name);
  }
  return names;
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping result order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Distinct foreground classes in a mask's stored values, read through the classes' maskValues table
 * (not background 0, not ignored; undeclared values are left for validateDataset to report).
 */
function maskClasses(stored: Uint8Array, maskValues: Int16Array): number[] {
  const seen = new Uint8Array(256);
  for (let i = 0; i < stored.length; i++) seen[stored[i]] = 1;
  const found = new Set<number>();
  for (let v = 0; v < 256; v++) {
    const c = maskValues[v];
    if (seen[v] && c > 0 && c !== IGNORE_INDEX) found.add(c);
  }
  return [...found].sort((a, b) => a - b);
}

export async function openDataset(dir: string, opts: OpenDatasetOptions = {}): Promise<Dataset> {
  const root = resolve(dir);
  if (!(await isDir(root))) throw new InputError(root, "dataset folder not found (or not a folder)");
  let layout: DatasetLayout;
  if (await isDir(join(root, "JPEGImages"))) layout = "voc";
  else if (await isDir(join(root, "images"))) layout = "generic";
  else
    throw new InputError(
      root,
      "not a dataset: expected JPEGImages/ (VOC layout) or images/ (generic layout)",
    );
  const voc = layout === "voc";

  const classesPath = join(root, "classes.txt");
  let classes: ClassSet;
  let classesOrigin = classesPath;
  if ((await stat(classesPath).catch(() => null))?.isFile()) classes = await readClassesTxt(classesPath);
  else if (voc) {
    classes = vocClasses();
    classesOrigin = "the 21 VOC classes";
  } else
    throw new InputError(
      classesPath,
      "missing: the generic layout needs classes.txt (`index name r,g,b` lines)",
    );

  const problems: DatasetProblem[] = [];
  const imageDir = join(root, voc ? "JPEGImages" : "images");
  const maskDir = join(root, voc ? "SegmentationClass" : "masks");
  const images = await listById(imageDir, IMAGE_EXTENSIONS);
  const masks = await listById(maskDir, new Set([".png"]));

  // Which ids: the split file, or every image.
  let split = opts.split ?? (voc ? "train" : null);
  if (split !== null && !voc && opts.splitOptional && !existsSync(join(root, "splits", `${split}.txt`)))
    split = null;
  let ids: string[];
  if (split !== null) {
    const splitPath = voc
      ? join(root, "ImageSets", "Segmentation", `${split}.txt`)
      : join(root, "splits", `${split}.txt`);
    const text = await readTextIfExists(splitPath);
    if (text === null)
      problems.push({ error: new InputError(splitPath, `split file for "${split}" not found`) });
    ids = (text ?? "").split(/\r?\n/).map((l) => l.trim());
    ids = ids.filter(Boolean);
    if (text !== null && ids.length === 0)
      problems.push({ error: new InputError(splitPath, "split is empty") });
  } else {
    ids = [...images.files.keys()].sort();
    if (ids.length === 0) problems.push({ error: new InputError(imageDir, "no images found") });
  }

  // Label sources, most specific first.
  const annotationDir = join(root, "Annotations");
  const hasAnnotations = voc && (await isDir(annotationDir));
  const csvPath = join(root, voc ? "image_labels.csv" : "labels.csv");
  const csvText = await readTextIfExists(csvPath);
  const csvRows = csvText === null ? null : parseLabelsCsv(csvText, csvPath, problems);
  const nameToIndex = classIndex(classes);

  const seen = new Set<string>();
  const unique: string[] = [];
  for (const id of ids) {
    const bad = idProblem(id);
    if (bad) problems.push({ id, error: new InputError(join(imageDir, id), bad) });
    else if (seen.has(id))
      problems.push({ id, error: new InputError(join(imageDir, id), `duplicate id "${id}" in split`) });
    else {
      seen.add(id);
      unique.push(id);
    }
  }

  const items = await mapLimit(unique, 8, async (id): Promise<DatasetItem | null> => {
    const problem = (file: string, reason: string) =>
      problems.push({ id, error: new InputError(file, reason) });
    const imageName = images.files.get(id);
    if (imageName === undefined) {
      problem(join(imageDir, `${id}.jpg`), "image not found");
      return null;
    }
    if (images.clashes.has(id))
      problem(join(imageDir, id), `several images for one id: ${images.clashes.get(id)!.join(", ")}`);
    const maskName = masks.files.get(id);
    const maskPath = maskName === undefined ? undefined : join(maskDir, maskName);

    let names: string[] | null = null;
    let source = "";
    if (hasAnnotations) {
      const xmlPath = join(annotationDir, `${id}.xml`);
      const xml = await readTextIfExists(xmlPath);
      if (xml !== null) {
        names = parseVocAnnotation(xml);
        source = xmlPath;
        if (names.length === 0) problem(xmlPath, "annotation lists no <object>");
      }
    }
    if (names === null && csvRows?.has(id)) {
      names = csvRows.get(id)!;
      source = csvPath;
    }
    let labels: number[] = [];
    if (names !== null) {
      const found = new Set<number>();
      for (const name of names) {
        const index = nameToIndex.get(name.toLowerCase());
        if (index === undefined)
          problem(source, `unknown class "${name}" for id "${id}" (not in ${classesOrigin})`);
        else if (index !== 0) found.add(index);
      }
      labels = [...found].sort((a, b) => a - b);
    } else if (maskPath !== undefined) {
      try {
        labels = maskClasses((await readIndexedPng(maskPath)).indices, classes.maskValues);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        problems.push({ id, error: err });
      }
    } else {
      const where = csvRows ? `${csvPath} has no row for "${id}"` : "no Annotations/, no labels file";
      problem(join(imageDir, imageName), `no image-level labels (${where}, and no mask to derive them from)`);
    }
    return {
      id,
      imagePath: join(imageDir, imageName),
      ...(maskPath ? { maskPath, maskValues: classes.maskValues } : {}),
      labels,
    };
  });

  return {
    root,
    layout,
    classes,
    split,
    items: items.filter((it): it is DatasetItem => it !== null),
    problems,
  };
}

export interface ValidateOptions {
  /**
   * Decode every image in full (a header can be fine while the data is truncated or corrupt, which
   * would otherwise only fail mid-training) and every mask (sizes, mask values). Default true.
   */
  checkImages?: boolean;
  /** Drop items with problems instead of throwing; dataset-wide problems still throw. */
  skipBad?: boolean;
  /** Files checked at once. Default 8. */
  concurrency?: number;
}

export interface ValidationResult {
  items: DatasetItem[];
  skipped: Array<{ id: string; reason: string }>;
}

/**
 * Checks the dataset and reports every problem in one ValidationError: problems from openDataset,
 * unreadable images, masks that are RGB / not the image's size / hold values that classes.txt does not
 * declare (class indices, 255, its ignore and -> lines). With skipBad, returns the good items and the
 * skipped ones with reasons.
 */
export async function validateDataset(ds: Dataset, opts: ValidateOptions = {}): Promise<ValidationResult> {
  const problems: DatasetProblem[] = [...ds.problems];
  const order = new Map(ds.items.map((it, i) => [it.id, i]));
  if (opts.checkImages ?? true) {
    const undecodable: DatasetItem[] = [];
    await mapLimit(ds.items, opts.concurrency ?? 8, async (item) => {
      const add = (error: InputError) => problems.push({ id: item.id, error });
      let size: { width: number; height: number } | null = null;
      try {
        const { width, height } = await loadRgb(item.imagePath);
        size = { width, height };
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        undecodable.push(item);
      }
      if (!item.maskPath) return;
      try {
        const mask = await readIndexedPng(item.maskPath);
        if (size && (mask.width !== size.width || mask.height !== size.height)) {
          add(
            new InputError(
              item.maskPath,
              `mask is ${mask.width}×${mask.height} but the image is ${size.width}×${size.height}`,
            ),
          );
        }
        // The readers' own mapping (readGroundTruthMask), so validation refuses exactly what they would.
        maskValuesToClasses(mask.indices, item.maskValues ?? ds.classes.maskValues, item.maskPath);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        add(err);
      }
    });
    // libvips keeps one global error log, so a decode failing while others run can report "Unknown
    // error" or another file's message: decode the failures again one at a time for their own reason.
    for (const item of undecodable) {
      try {
        await loadRgb(item.imagePath);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        problems.push({ id: item.id, error: err });
      }
    }
  }

  if (problems.length === 0) return { items: ds.items, skipped: [] };
  // Checks run concurrently: report dataset-wide problems first, then in item order.
  const rank = (p: DatasetProblem) => (p.id === undefined ? -1 : (order.get(p.id) ?? ds.items.length));
  problems.sort((a, b) => rank(a) - rank(b));
  if (!opts.skipBad)
    throw new ValidationError(
      problems.map((p) => p.error),
      `dataset ${ds.root}`,
    );

  const global = problems.filter((p) => p.id === undefined);
  if (global.length > 0)
    throw new ValidationError(
      global.map((p) => p.error),
      `dataset ${ds.root}`,
    );
  const reasons = new Map<string, string[]>();
  for (const p of problems) reasons.set(p.id!, [...(reasons.get(p.id!) ?? []), p.error.message]);
  const items = ds.items.filter((it) => !reasons.has(it.id));
  if (items.length === 0) {
    const errors = [
      ...problems.map((p) => p.error),
      new InputError(ds.root, "no usable items left after skipping"),
    ];
    throw new ValidationError(errors, `dataset ${ds.root}`);
  }
  return { items, skipped: [...reasons].map(([id, r]) => ({ id, reason: r.join("; ") })) };
}

/** Multi-hot vector over the foreground classes: entry c-1 is 1 when class c is present. */
export function foregroundMultiHot(labels: readonly number[], numClasses: number): Float32Array {
  const out = new Float32Array(numClasses - 1);
  for (const c of labels) {
    if (!Number.isInteger(c) || c < 1 || c >= numClasses)
      throw new RangeError(`label ${c} not a foreground class`);
    out[c - 1] = 1;
  }
  return out;
}
