// Benchmark helpers: results files keep their old rows when rows would be lost (keepSupersededResults),
// and bench:quality's segmentation settings (benchSegmentation).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { benchSegmentation, keepSupersededResults } from "../bench/common.js";

function resultsDir(rows: string[], date = "2026-12-04T10:00:00.000Z"): string {
  const dir = mkdtempSync(join(tmpdir(), "aepsl-history-"));
  writeFileSync(join(dir, "quality-x.json"), JSON.stringify({ date, rows: rows.map((name) => ({ name })) }));
  writeFileSync(join(dir, "quality-x.md"), "# old table\n");
  return dir;
}

test("keepSupersededResults: rows that would be lost → the old files are copied to history/", () => {
  const dir = resultsDir(["ae-psl", "ae-1"]);
  try {
    const kept = keepSupersededResults(dir, "quality-x", (row) => row === "ae-1");
    assert.equal(kept, join(dir, "history", "quality-x-2026-12-04.json"));
    assert.deepEqual(JSON.parse(readFileSync(kept!, "utf8")).rows, [{ name: "ae-psl" }, { name: "ae-1" }]);
    assert.equal(readFileSync(join(dir, "history", "quality-x-2026-12-04.md"), "utf8"), "# old table\n");
    assert.ok(
      existsSync(join(dir, "quality-x.json")),
      "the results file itself is left for the benchmark to rewrite",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("keepSupersededResults: nothing lost, or no file yet → nothing copied", () => {
  const dir = resultsDir(["ae-1"]);
  try {
    assert.equal(
      keepSupersededResults(dir, "quality-x", () => true),
      null,
    );
    assert.equal(
      keepSupersededResults(dir, "quality-missing", () => false),
      null,
    );
    assert.ok(!existsSync(join(dir, "history")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("keepSupersededResults: an earlier history copy is never overwritten", () => {
  const dir = resultsDir(["ae-psl"]);
  try {
    keepSupersededResults(dir, "quality-x", () => false);
    writeFileSync(join(dir, "quality-x.md"), "# newer table, same date\n");
    keepSupersededResults(dir, "quality-x", () => false);
    assert.equal(readFileSync(join(dir, "history", "quality-x-2026-12-04.md"), "utf8"), "# old table\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("benchSegmentation: 2 epochs unless BENCH_SEG names epochs; other keys on top; bad keys refused", () => {
  assert.equal(benchSegmentation("").epochs, 2);
  assert.equal(benchSegmentation("").psl, false);
  const conf = benchSegmentation("pslMinConfidence=0.5");
  assert.equal(conf.epochs, 2);
  assert.equal(conf.pslMinConfidence, 0.5);
  const longer = benchSegmentation(" epochs = 4 ,pslLambda=0.5");
  assert.equal(longer.epochs, 4);
  assert.equal(longer.pslLambda, 0.5);
  assert.throws(() => benchSegmentation("noSuchKey=1"), /noSuchKey/);
  assert.throws(() => benchSegmentation("epochs=zero"), /epochs/);
});
