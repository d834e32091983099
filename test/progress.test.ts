import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { createLogger } from "../src/util/log.js";
import {
  formatDuration,
  formatMetrics,
  formatRate,
  progress,
  type ProgressStream,
} from "../src/util/progress.js";

/** A stream that records what is written, and a clock the test moves by hand. */
function fakes(opts: { isTTY?: boolean; columns?: number } = {}) {
  const chunks: string[] = [];
  const stream: ProgressStream & { chunks: string[]; text(): string } = {
    isTTY: opts.isTTY ?? false,
    columns: opts.columns,
    chunks,
    write(s: string) {
      chunks.push(s);
      return true;
    },
    text: () => chunks.join(""),
  };
  const clock = { t: 0, now: () => clock.t };
  return { stream, clock };
}

describe("formatting", () => {
  it("formats durations", () => {
    const cases: [number, string][] = [
      [0, "0.0s"],
      [400, "0.4s"],
      [9_949, "9.9s"],
      [9_960, "10s"],
      [42_000, "42s"],
      [65_000, "1m 05s"],
      [3_599_000, "59m 59s"],
      [3_725_000, "1h 02m"],
      [90_000_000, "1d 01h"],
      [NaN, "?"],
      [-1, "?"],
      [Infinity, "?"],
    ];
    for (const [ms, s] of cases) assert.equal(formatDuration(ms), s, `formatDuration(${ms})`);
  });

  it("formats rates, as time per unit when below one a second", () => {
    assert.equal(formatRate(23.14, "img"), "23.1 img/s");
    assert.equal(formatRate(2.5, "img"), "2.50 img/s");
    assert.equal(formatRate(150.4, "img"), "150 img/s");
    assert.equal(formatRate(0.4, "img"), "2.5s/img");
    assert.equal(formatRate(0, "img"), "- img/s");
  });

  it("formats metrics compactly", () => {
    assert.equal(
      formatMetrics({ loss: 0.312456, acc: 0.9, step: 3, lr: 1e-7, big: 12345.6, tag: "x" }),
      "loss=0.3125 acc=0.9 step=3 lr=1e-7 big=12346 tag=x",
    );
  });
});

describe("progress on a terminal", () => {
  it("redraws in place with percentage, bar, count, rate, ETA and metrics", () => {
    const { stream, clock } = fakes({ isTTY: true });
    const bar = progress({ label: "train", total: 100, unit: "img", stream, now: clock.now });
    assert.deepEqual(stream.chunks, [
      "\rtrain    0%  [--------------------]    0/100 img  - img/s  ETA ?\x1b[K",
    ]);
    clock.t = 1000;
    bar.tick(10, { loss: 0.5 });
    assert.equal(stream.chunks.length, 2);
    assert.equal(
      stream.chunks[1],
      "\rtrain   10%  [##------------------]   10/100 img  10.0 img/s  ETA 9.0s  loss=0.5\x1b[K",
    );
    assert.equal(bar.rate(), 10);
    assert.equal(bar.current, 10);
  });

  it("redraws at most every 100 ms", () => {
    const { stream, clock } = fakes({ isTTY: true });
    const bar = progress({ label: "x", total: 1000, stream, now: clock.now });
    for (let i = 0; i < 100; i++) {
      clock.t += 10;
      bar.tick();
    }
    // 1 s of ticks every 10 ms: the first draw plus one every 100 ms.
    assert.equal(stream.chunks.length, 1 + 10);
  });

  it("ends with the summary line in place of the bar", () => {
    const { stream, clock } = fakes({ isTTY: true });
    const bar = progress({ label: "train", total: 100, unit: "img", stream, now: clock.now });
    clock.t = 4000;
    bar.update(100, { loss: 0.25 });
    clock.t = 5000;
    const summary = bar.done();
    assert.equal(summary, "train: done, 100 img in 5.0s (20.0 img/s), loss=0.25");
    assert.deepEqual(stream.chunks.slice(-2), ["\r\x1b[K", `${summary}\n`]);
    bar.tick();
    assert.equal(bar.done(), summary, "done is idempotent and ticks after it are ignored");
    assert.equal(bar.current, 100);
  });

  it("follows speed changes within the rate window", () => {
    const { stream, clock } = fakes({ isTTY: true });
    const bar = progress({ label: "x", total: 10_000, stream, now: clock.now });
    for (let s = 1; s <= 20; s++) {
      clock.t = s * 1000;
      bar.tick(10);
    }
    assert.equal(bar.rate(), 10);
    for (let s = 21; s <= 30; s++) {
      clock.t = s * 1000;
      bar.tick(100);
    }
    assert.equal(bar.rate(), 100);
    // 1200 done, 8800 left at 100/s.
    assert.match(bar.render(), /1200\/10000 it {2}100 it\/s {2}ETA 1m 28s$/);
  });

  it("leaves out bar, percentage and ETA when the total is unknown", () => {
    const { stream, clock } = fakes({ isTTY: true });
    const bar = progress({ label: "scan", unit: "file", stream, now: clock.now });
    clock.t = 2000;
    bar.tick(5);
    assert.equal(bar.render(), "scan  5 file  2.50 file/s");
  });

  it("fits the line to the terminal width", () => {
    const { stream, clock } = fakes({ isTTY: true, columns: 40 });
    const bar = progress({ label: "a long label for a narrow terminal", total: 10, stream, now: clock.now });
    clock.t = 500;
    bar.tick(1, { loss: 1.5 });
    for (const c of stream.chunks) assert.ok(c.replace("\r", "").replace("\x1b[K", "").length <= 39);
  });
});

describe("progress in logs", () => {
  it("prints a plain line every 10% and the summary at the end", () => {
    const { stream, clock } = fakes();
    const lines: string[] = [];
    const bar = progress({
      label: "cam",
      total: 100,
      unit: "img",
      stream,
      now: clock.now,
      onLine: (l) => lines.push(l),
    });
    for (let i = 0; i < 100; i++) {
      clock.t += 100;
      bar.tick();
    }
    bar.done();
    const out = stream.text().trimEnd().split("\n");
    assert.equal(out.length, 10);
    assert.equal(out[0], "cam: 10% (10/100 img), 10.0 img/s, ETA 9.0s");
    assert.equal(out[8], "cam: 90% (90/100 img), 10.0 img/s, ETA 1.0s");
    assert.equal(out[9], "cam: done, 100 img in 10s (10.0 img/s)");
    assert.deepEqual(lines, out);
    assert.ok(!stream.text().includes("\r"));
  });

  it("also prints every 30 s when progress is slow, and after a jump only once", () => {
    const { stream, clock } = fakes();
    const bar = progress({ label: "mine", total: 1000, stream, now: clock.now });
    for (let i = 0; i < 9; i++) {
      clock.t += 10_000;
      bar.tick();
    }
    assert.equal(stream.chunks.length, 3, "at 30, 60 and 90 s");
    assert.match(stream.chunks[0]!, /^mine: 0% \(3\/1000 it\), 10s\/it, ETA 2h 46m\n$/);
    clock.t += 1000;
    bar.update(550);
    bar.update(560);
    assert.equal(stream.chunks.length, 4);
    assert.match(stream.chunks[3]!, /^mine: 55% /);
  });

  it("prints only the summary when quiet", () => {
    for (const isTTY of [true, false]) {
      const { stream, clock } = fakes({ isTTY });
      const bar = progress({ label: "q", total: 10, stream, now: clock.now, quiet: true });
      for (let i = 0; i < 10; i++) {
        clock.t += 1000;
        bar.tick(1, { loss: 0.1 });
      }
      bar.done();
      assert.deepEqual(stream.chunks, ["q: done, 10 it in 10s (1.00 it/s), loss=0.1\n"]);
    }
  });
});

describe("logger", () => {
  const tmp = mkdtempSync(join(tmpdir(), "aepsl-log-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const now = () => new Date("2024-05-01T12:00:00.000Z");

  it("writes human lines to the stream and timestamped lines to <runDir>/log.txt", () => {
    const { stream } = fakes();
    const runDir = join(tmp, "run");
    const log = createLogger({ runDir, stream, now });
    log.info("hello");
    log.warn("careful");
    log.error("broken\nsecond line");
    log.debug("details");
    assert.equal(stream.text(), "hello\nwarning: careful\nerror: broken\nsecond line\n");
    assert.equal(log.logFile, join(runDir, "log.txt"));
    assert.equal(
      readFileSync(join(runDir, "log.txt"), "utf8"),
      [
        "2024-05-01T12:00:00.000Z INFO  hello",
        "2024-05-01T12:00:00.000Z WARN  careful",
        "2024-05-01T12:00:00.000Z ERROR broken",
        "2024-05-01T12:00:00.000Z ERROR second line",
        "2024-05-01T12:00:00.000Z DEBUG details",
        "",
      ].join("\n"),
    );
  });

  it("honours quiet and verbose, and starts a file when given a run folder later", () => {
    const a = fakes();
    const quiet = createLogger({ quiet: true, stream: a.stream });
    quiet.info("no");
    quiet.debug("no");
    quiet.warn("yes");
    assert.equal(a.stream.text(), "warning: yes\n");
    assert.equal(quiet.logFile, undefined);

    const b = fakes();
    const verbose = createLogger({ verbose: true, stream: b.stream, now });
    verbose.debug("shown");
    verbose.setRunDir(join(tmp, "late"));
    verbose.info("into the file");
    assert.equal(b.stream.text(), "debug: shown\ninto the file\n");
    assert.equal(
      readFileSync(join(tmp, "late", "log.txt"), "utf8"),
      "2024-05-01T12:00:00.000Z INFO  into the file\n",
    );
  });

  it("clears a live bar before a message and redraws it after", () => {
    const { stream, clock } = fakes({ isTTY: true });
    const log = createLogger({ stream });
    const bar = log.progress({ label: "b", total: 10, now: clock.now });
    stream.chunks.length = 0;
    log.info("message");
    assert.equal(stream.chunks[0], "\r\x1b[K");
    assert.equal(stream.chunks[1], "message\n");
    assert.match(stream.chunks[2]!, /^\rb +0%/);
    bar.done();
    stream.chunks.length = 0;
    log.info("after");
    assert.deepEqual(stream.chunks, ["after\n"], "a finished bar is not redrawn");
  });

  it("copies progress lines and summaries into the log file", () => {
    const { stream, clock } = fakes();
    const runDir = join(tmp, "prog");
    const log = createLogger({ runDir, stream, now, quiet: true });
    const bar = log.progress({ label: "p", total: 2, now: clock.now });
    clock.t = 1000;
    bar.tick(2);
    bar.done();
    assert.equal(stream.text(), "p: done, 2 it in 1.0s (2.00 it/s)\n");
    assert.equal(
      readFileSync(join(runDir, "log.txt"), "utf8"),
      "2024-05-01T12:00:00.000Z INFO  p: done, 2 it in 1.0s (2.00 it/s)\n",
    );
  });
});
