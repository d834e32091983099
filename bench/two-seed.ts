// bench:quality's two-seed fields (issue #11): a row's seed-0 and seed-1 results are averaged only when
// both files measured the same setup, so a seed rerun after a default changed never mixes two methods.

export interface SeedResult {
  rows: ReadonlyArray<{ name: string; miou7: number }>;
  /** What was trained and how: equal setups may be averaged. Absent fields compare as absent. */
  segmentation?: unknown;
  pseudo_labels?: unknown;
  saliency?: unknown;
  erasing_steps?: unknown;
  erasing?: unknown;
  psl_score_step?: unknown;
}

export interface TwoSeedFields {
  /** mean(AE + PSL + CRF) ÷ mean(fully supervised + CRF), 7-class mIoU. */
  ws_fs_ratio_crf?: number;
  /** mean(AE-3 + CRF) ÷ mean(fully supervised + CRF): the same ratio without PSL (the default). */
  ae3_fs_ratio_crf?: number;
  /** mean(AE-3) − mean(AE-1), 7-class mIoU. */
  ae3_minus_ae1?: number;
  /** mean(AE-3 + PSL) − mean(AE-3): what PSL adds on the same pseudo-labels, 7-class mIoU. */
  psl_gain?: number;
  /** The same with dense CRF on both: mean(AE + PSL + CRF) − mean(AE-3 + CRF). */
  psl_gain_crf?: number;
}

/** The two-seed field names, so a re-run can drop stale ones before writing the new ones. */
export const TWO_SEED_FIELDS = [
  "ws_fs_ratio_crf",
  "ae3_fs_ratio_crf",
  "ae3_minus_ae1",
  "psl_gain",
  "psl_gain_crf",
] as const;

/** JSON with object keys sorted, so key order does not make two equal setups differ. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

const SETUP_FIELDS = [
  "segmentation",
  "pseudo_labels",
  "saliency",
  "erasing_steps",
  "erasing",
  "psl_score_step",
] as const;

/** The setup fields on which `a` and `b` differ (empty: the two seeds may be averaged). */
export function setupDifferences(a: SeedResult, b: SeedResult): string[] {
  return SETUP_FIELDS.filter((f) => canonical(a[f]) !== canonical(b[f]));
}

/**
 * The two-seed fields from one seed's result and the other's; a field is absent while either seed lacks
 * one of its rows, and all are absent when the two setups differ.
 */
export function twoSeedFields(a: SeedResult, b: SeedResult): TwoSeedFields {
  if (setupDifferences(a, b).length) return {};
  const mean = (name: string): number | null => {
    const x = a.rows.find((r) => r.name === name);
    const y = b.rows.find((r) => r.name === name);
    return x && y ? (x.miou7 + y.miou7) / 2 : null;
  };
  const ws = mean("ae-psl-crf");
  const fs = mean("fully-supervised-crf");
  const ae3 = mean("ae-3");
  const ae1 = mean("ae-1");
  const psl = mean("ae-psl");
  const ae3crf = mean("ae-3-crf");
  return {
    ...(ws !== null && fs ? { ws_fs_ratio_crf: ws / fs } : {}),
    ...(ae3crf !== null && fs ? { ae3_fs_ratio_crf: ae3crf / fs } : {}),
    ...(ae3 !== null && ae1 !== null ? { ae3_minus_ae1: ae3 - ae1 } : {}),
    ...(psl !== null && ae3 !== null ? { psl_gain: psl - ae3 } : {}),
    ...(ws !== null && ae3crf !== null ? { psl_gain_crf: ws - ae3crf } : {}),
  };
}
