/**
 * Ground-truth masks as class indices: every reader of a dataset's masks (validation, evaluation,
 * pseudo-label and mining scores, the report) goes through readGroundTruthMask, so classes.txt's
 * `ignore` and `->` lines apply everywhere alike.
 */
import { InputError } from "../util/errors.js";
import { describeMaskValues, identityClassCount, NOT_A_MASK_VALUE } from "./classes.js";
import { readIndexedPng, type IndexedPng } from "./png.js";

export interface MaskSource {
  maskPath?: string;
  /** ClassSet.maskValues of the item's dataset; absent: stored values are class indices as they are. */
  maskValues?: Int16Array;
}

/**
 * Stored mask values → class indices (255 = ignore) through a ClassSet.maskValues table. Values the
 * table does not declare are an InputError naming the file, all of them in one message.
 */
export function maskValuesToClasses(stored: Uint8Array, table: Int16Array, file: string): Uint8Array {
  const out = new Uint8Array(stored.length);
  const bad = new Set<number>();
  for (let i = 0; i < stored.length; i++) {
    const c = table[stored[i]];
    if (c === NOT_A_MASK_VALUE) bad.add(stored[i]);
    else out[i] = c;
  }
  if (bad.size > 0) {
    const values = [...bad].sort((a, b) => a - b).join(", ");
    const numClasses = identityClassCount(table);
    throw new InputError(
      file,
      numClasses !== null
        ? `mask values ${values} are not class indices (0..${numClasses - 1}) or 255`
        : `mask values ${values} are not declared in classes.txt (it accepts ${describeMaskValues(table)})`,
    );
  }
  return out;
}

/** Reads an item's ground-truth mask as class indices (255 = ignore). */
export async function readGroundTruthMask(item: MaskSource): Promise<IndexedPng> {
  if (!item.maskPath) throw new Error("readGroundTruthMask: the item has no mask");
  const png = await readIndexedPng(item.maskPath);
  if (!item.maskValues) return png;
  return { ...png, indices: maskValuesToClasses(png.indices, item.maskValues, item.maskPath) };
}
