// <run>/timings.json: stage times add up over resumed runs, a stage stopped on request keeps the
// time it spent, and the report lists the erasing stage's parts under it without counting them twice.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { RunData } from "../src/report/run-data.js";
import { timingsSection } from "../src/report/sections.js";
import { ERASING_PARTS, stageTimer, type RunTimings } from "../src/stages/run-dir.js";
import { StageInterrupted } from "../src/util/interrupt.js";

const tmp = mkdtempSync(join(tmpdir(), "aepsl-timings-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("stageTimer: records seconds, adds up repeated runs, and writes the file each time", async () => {
  const path = join(tmp, "a.json");
  const timings: RunTimings = { prepare: 1 };
  const timed = stageTimer(path, timings, timings as Record<string, number>);
  assert.equal(await timed("train", async () => (await sleep(30), 7)), 7);
  const first = JSON.parse(readFileSync(path, "utf8"));
  assert.equal(first.prepare, 1);
  assert.ok(first.train >= 0.025 && first.train < 5, `first run ${first.train} s`);
  await timed("train", () => sleep(30));
  const second = JSON.parse(readFileSync(path, "utf8"));
  assert.ok(second.train >= first.train + 0.025, `${second.train} after ${first.train}`);
});

test("stageTimer: a stage that fails writes nothing; the error passes through unchanged", async () => {
  const path = join(tmp, "c.json");
  const timings: RunTimings = {};
  const bad = new Error("a.jpg: corrupt image");
  await assert.rejects(
    stageTimer(
      path,
      timings,
      timings as Record<string, number>,
    )("prepare", async () => {
      throw bad;
    }),
    (e) => e === bad,
  );
  assert.equal(existsSync(path), false);
  assert.deepEqual(timings, {});
});

test("stageTimer: a stage stopped on request keeps its time and the error passes through unchanged", async () => {
  const path = join(tmp, "b.json");
  const timings: RunTimings = {};
  const parts = (timings[ERASING_PARTS] ??= {}) as Record<string, number>;
  const timedPart = stageTimer(path, timings, parts);
  const stop = new StageInterrupted("stopped on request");
  await assert.rejects(
    timedPart("step 1 train-cls", async () => {
      await sleep(30);
      throw stop;
    }),
    (e) => e === stop,
  );
  const written = JSON.parse(readFileSync(path, "utf8"));
  assert.ok(written[ERASING_PARTS]["step 1 train-cls"] >= 0.025, JSON.stringify(written));
});

test("report: erasing parts are indented under erasing and left out of the total", () => {
  const t = {
    prepare: 10,
    erasing: 100,
    [ERASING_PARTS]: { "step 1 train-cls": 60, "step 1 cams": 30 },
    "train-seg": 90,
  };
  const html = timingsSection({ json: () => t } as unknown as RunData);
  const rows = [...html.matchAll(/<tr[^>]*><td>(.*?)<\/td><td class="num">(.*?)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(rows, [
    "prepare",
    "erasing",
    "&emsp;step 1 train-cls",
    "&emsp;step 1 cams",
    "train-seg",
    "total",
  ]);
  // Shares are of the stages' total, 200 s: train-cls's 60 s is 30 %, and the total row says 3m 20s.
  assert.match(html, /step 1 train-cls<\/td><td class="num">[^<]*<\/td><td class="num">30%/);
  const total = html.match(/<tr class="total"><td>total<\/td><td class="num">(.*?)<\/td>/)![1];
  assert.equal(
    total,
    timingsSection({ json: () => ({ a: 200 }) } as unknown as RunData).match(
      /<tr class="total"><td>total<\/td><td class="num">(.*?)<\/td>/,
    )![1],
  );
});
