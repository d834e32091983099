import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import {
  applyOverrides,
  ConfigError,
  configKeys,
  defaultConfig,
  loadConfig,
  parseYaml,
  requireDataDir,
  resolveConfig,
  saveResolvedConfig,
  validateConfig,
  YamlError,
} from "../src/util/config.js";
import { InputError } from "../src/util/errors.js";
import { didYouMean, editDistance } from "../src/util/suggest.js";

const tmp = mkdtempSync(join(tmpdir(), "aepsl-config-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The problems a ConfigError lists for obj (fails if it doesn't throw one). */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("suggest", () => {
  it("measures edits, swaps included", () => {
    assert.equal(editDistance("epoch", "epochs"), 1);
    assert.equal(editDistance("classifer", "classifier"), 1);
    assert.equal(editDistance("ab", "ba"), 1);
    assert.equal(editDistance("", "abc"), 3);
  });
  it("suggests only plausible names", () => {
    assert.equal(didYouMean("epoch", ["epochs", "cropSize"]), "epochs");
    assert.equal(didYouMean("cropsize", ["epochs", "cropSize"]), "cropSize");
    assert.equal(didYouMean("zzz", ["epochs", "cropSize"]), undefined);
  });
});

describe("validateConfig", () => {
  it("fills every default from an empty object", () => {
    const c = validateConfig({});
    assert.deepEqual(c, defaultConfig());
    assert.equal(c.classifier.outputStride, 16);
    assert.deepEqual(c.cam.scales, [1, 0.5, 1.5]);
    assert.equal(c.erasing.topPercent, null);
    assert.equal("evalSplit" in c.data, false);
  });

  it("merges partial sections over the defaults and does not share arrays with them", () => {
    const c = validateConfig({ classifier: { epochs: 2 }, data: { dir: "/d", evalSplit: "val" } });
    assert.equal(c.classifier.epochs, 2);
    assert.equal(c.classifier.cropSize, 256);
    assert.equal(c.data.evalSplit, "val");
    c.cam.scales.push(9);
    assert.deepEqual(validateConfig({}).cam.scales, [1, 0.5, 1.5]);
  });

  it("applies the quick profile, with explicit values still winning", () => {
    const q = validateConfig({ profile: "quick" });
    assert.equal(q.classifier.epochs, 1);
    assert.equal(q.classifier.cropSize, 160);
    assert.equal(q.erasing.steps, 2);
    assert.equal(q.erasing.epochsPerStep, 1);
    assert.deepEqual(q.cam.scales, [1]);
    assert.equal(q.segmentation.epochs, 1);
    const q2 = validateConfig({ profile: "quick", classifier: { epochs: 3 } });
    assert.equal(q2.classifier.epochs, 3);
    assert.equal(q2.classifier.cropSize, 160);
  });

  it("names every bad key with its path, what it expected and what it got", () => {
    const problems = problemsOf(() =>
      validateConfig({
        seed: -1,
        classifier: { epochs: "five", outputStride: 12, scaleRange: [1.3, 0.7], momentum: 1, epoch: 3 },
        cam: { scales: [], flip: "yes" },
        erasing: { retrain: "scratch", topPercent: 0 },
        pseudoLabels: { background: "none" },
        crf: 5,
        colour: "red",
      }),
    );
    assert.deepEqual(problems, [
      "colour: unknown key",
      "seed: expected a non-negative integer, got -1",
      'classifier.epoch: unknown key (did you mean "epochs"?)',
      "classifier.outputStride: expected one of 8, 16, 32, got 12",
      "classifier.scaleRange: expected a pair [min, max] of positive numbers with min <= max, got [1.3,0.7]",
      'classifier.epochs: expected a positive integer, got "five"',
      "classifier.momentum: expected a number in [0, 1), got 1",
      "cam.scales: expected a non-empty list of positive numbers, got []",
      'cam.flip: expected true or false, got "yes"',
      "erasing.topPercent: expected null or a percentage in (0, 100], got 0",
      'erasing.retrain: expected one of "imagenet", "fine-tune", got "scratch"',
      'pseudoLabels.background: expected one of "cam", "saliency", "both", "both-multiclass", got "none"',
      "crf: expected a section of keys, got 5",
    ]);
  });

  it("puts every problem in the error message", () => {
    assert.throws(
      () => validateConfig({ classifier: { epochs: "five" }, erasing: { retrain: "scratch" } }, "run.json"),
      (err: Error) => {
        assert.equal(
          err.message,
          "invalid configuration (run.json):\n" +
            '  - classifier.epochs: expected a positive integer, got "five"\n' +
            '  - erasing.retrain: expected one of "imagenet", "fine-tune", got "scratch"',
        );
        return true;
      },
    );
  });

  it("rejects non-integers, non-finite numbers and a non-object root", () => {
    assert.deepEqual(
      problemsOf(() => validateConfig({ classifier: { batchSize: 2.5 }, threads: null })),
      [
        "threads: expected a non-negative integer, got null",
        "classifier.batchSize: expected a positive integer, got 2.5",
      ],
    );
    assert.deepEqual(
      problemsOf(() => validateConfig([1, 2])),
      ["configuration: expected a section of keys, got [1,2]"],
    );
    assert.deepEqual(
      problemsOf(() => validateConfig({ profile: "fast" })),
      ['profile: expected one of "default", "quick", got "fast"'],
    );
  });

  it("checks that the background threshold is below the mining threshold", () => {
    assert.deepEqual(
      problemsOf(() => validateConfig({ pseudoLabels: { bgThreshold: 0.5 }, erasing: { threshold: 0.4 } })),
      ["pseudoLabels.bgThreshold: must be below erasing.threshold (0.4), got 0.5"],
    );
  });

  it("reports a __proto__ key instead of following it", () => {
    const raw = JSON.parse('{"__proto__": {"seed": 5}, "classifier": {"__proto__": 1}}');
    assert.deepEqual(
      problemsOf(() => validateConfig(raw)),
      ["__proto__: unknown key", "classifier.__proto__: unknown key"],
    );
  });

  it("lists every key for help", () => {
    const keys = configKeys();
    assert.equal(keys.length, 63);
    assert.ok(keys.some((k) => k.key === "device" && k.default === "auto"));
    assert.ok(keys.some((k) => k.key === "pseudoLabels.camBgThreshold" && k.default === null));
    assert.ok(keys.some((k) => k.key === "saliency.detector" && k.default === "u2netp"));
    assert.deepEqual(
      keys.find((k) => k.key === "classifier.epochs"),
      {
        key: "classifier.epochs",
        expected: "a positive integer",
        default: 5,
      },
    );
  });
});

describe("applyOverrides", () => {
  const base = validateConfig({});

  it("coerces each string by the type at its key", () => {
    const c = applyOverrides(base, {
      "classifier.epochs": "3",
      "classifier.outputStride": "8",
      "classifier.scaleRange": "[0.5, 2]",
      "cam.scales": "1,0.75",
      "cam.flip": "no",
      "erasing.topPercent": "20",
      "erasing.retrain": "imagenet",
      "data.dir": "/data/voc",
      "data.evalSplit": "val",
      "segmentation.psl": "true",
      seed: "42",
    });
    assert.equal(c.classifier.epochs, 3);
    assert.equal(c.classifier.outputStride, 8);
    assert.deepEqual(c.classifier.scaleRange, [0.5, 2]);
    assert.deepEqual(c.cam.scales, [1, 0.75]);
    assert.equal(c.cam.flip, false);
    assert.equal(c.erasing.topPercent, 20);
    assert.equal(c.erasing.retrain, "imagenet");
    assert.equal(c.data.dir, "/data/voc");
    assert.equal(c.data.evalSplit, "val");
    assert.equal(c.segmentation.psl, true);
    assert.equal(c.seed, 42);
    assert.equal(base.classifier.epochs, 5, "the input config is not changed");
  });

  it("takes pairs in order (last wins), null for nullable keys and empty to unset optional ones", () => {
    const withTop = applyOverrides(base, [["erasing.topPercent", "10"]]);
    const c = applyOverrides({ ...withTop, data: { ...withTop.data, evalSplit: "val" } }, [
      ["classifier.epochs", "2"],
      ["classifier.epochs", "7"],
      ["erasing.topPercent", "null"],
      ["data.evalSplit", ""],
    ]);
    assert.equal(c.classifier.epochs, 7);
    assert.equal(c.erasing.topPercent, null);
    assert.equal(c.data.evalSplit, undefined);
  });

  it("reports every bad override, showing the string it could not convert", () => {
    assert.deepEqual(
      problemsOf(() =>
        applyOverrides(base, {
          "classifier.epochs": "five",
          "classifier.epoch": "3",
          "classifer.lrHead": "1",
          "cam.scales": "1,x",
          "seed.value": "1",
          classifier: "3",
          "a..b": "1",
          "classifier.outputStride": "12",
        }),
      ),
      [
        "seed.value: seed is a single value, not a section",
        "classifier: is a section; set one of its keys instead, e.g. classifier.outputStride=...",
        "a..b: not a valid key (expected a dotted path such as classifier.epochs)",
        'classifer: unknown key (did you mean "classifier"?)',
        'classifier.epoch: unknown key (did you mean "epochs"?)',
        "classifier.outputStride: expected one of 8, 16, 32, got 12",
        'classifier.epochs: expected a positive integer, got "five"',
        'cam.scales: expected a non-empty list of positive numbers, got [1,"x"]',
      ],
    );
  });

  it("lays a profile's preset over the config when profile is overridden", () => {
    const q = applyOverrides(base, { profile: "quick", "classifier.epochs": "2" });
    assert.equal(q.profile, "quick");
    assert.equal(q.classifier.cropSize, 160);
    assert.equal(q.classifier.epochs, 2);
  });
});

describe("config files", () => {
  it("loads defaults without a path, and JSON files", () => {
    assert.deepEqual(loadConfig(), defaultConfig());
    const file = join(tmp, "a.json");
    writeFileSync(file, JSON.stringify({ seed: 7, classifier: { epochs: 2 } }));
    const c = loadConfig(file);
    assert.equal(c.seed, 7);
    assert.equal(c.classifier.epochs, 2);
  });

  it("names the file on a missing file, bad JSON and bad values", () => {
    const missing = join(tmp, "missing.json");
    assert.throws(
      () => loadConfig(missing),
      (e: Error) => e instanceof InputError && /config file not found/.test(e.message),
    );
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, "{ seed: 1 }");
    assert.throws(
      () => loadConfig(bad),
      (e: Error) => e instanceof InputError && e.message.startsWith(`${bad}: invalid JSON`),
    );
    const wrong = join(tmp, "wrong.json");
    writeFileSync(wrong, '{"seed": "x"}');
    assert.throws(
      () => loadConfig(wrong),
      (e: Error) => e.message.startsWith(`invalid configuration (${wrong}):`),
    );
  });

  it("applies overrides over the file (profile included) and names both sources", () => {
    const file = join(tmp, "b.json");
    writeFileSync(file, JSON.stringify({ classifier: { epochs: 2, cropSize: 320 } }));
    const c = resolveConfig({ path: file, overrides: { profile: "quick", "classifier.epochs": "4" } });
    assert.equal(c.classifier.epochs, 4);
    assert.equal(c.classifier.cropSize, 320, "the file's explicit value beats the profile");
    assert.equal(c.erasing.steps, 2);
    assert.throws(
      () => resolveConfig({ path: file, overrides: { seed: "-3" } }),
      (e: Error) => e.message.startsWith(`invalid configuration (${file}, --set):`),
    );
  });

  it("resolves a relative data.dir against the config file's folder", () => {
    const file = join(tmp, "c.json");
    writeFileSync(file, JSON.stringify({ data: { dir: "voc" } }));
    assert.equal(loadConfig(file).data.dir, join(tmp, "voc"));
    assert.equal(resolveConfig({ overrides: { "data.dir": "voc" } }).data.dir, "voc");
    assert.throws(() => requireDataDir(loadConfig()), /data\.dir/);
    assert.equal(requireDataDir(loadConfig(file)), join(tmp, "voc"));
  });

  it("saves the resolved config atomically, and it loads back to the same config", async () => {
    const run = join(tmp, "run1");
    const c = applyOverrides(validateConfig({ profile: "quick" }), { "classifier.epochs": "3" });
    const path = await saveResolvedConfig(run, c);
    assert.equal(path, join(run, "config.json"));
    assert.deepEqual(readdirSync(run), ["config.json"]);
    const text = readFileSync(path, "utf8");
    assert.match(text, /"scales": \[1\]/);
    assert.match(text, /"scaleRange": \[0\.7, 1\.3\]/);
    assert.deepEqual(loadConfig(path), c);
  });

  it("loads YAML files", () => {
    const file = join(tmp, "run.yaml");
    writeFileSync(
      file,
      [
        "# a quick run",
        "profile: quick",
        "data:",
        "  dir: /data/voc   # absolute",
        "  evalSplit: val",
        "classifier:",
        "  epochs: 2",
        "  scaleRange: [0.5, 1.5]",
        "erasing:",
        "  retrain: imagenet",
        "  topPercent: ~",
        "",
      ].join("\n"),
    );
    const c = loadConfig(file);
    assert.equal(c.profile, "quick");
    assert.equal(c.data.dir, "/data/voc");
    assert.equal(c.data.evalSplit, "val");
    assert.equal(c.classifier.epochs, 2);
    assert.deepEqual(c.classifier.scaleRange, [0.5, 1.5]);
    assert.equal(c.erasing.retrain, "imagenet");
    assert.equal(c.erasing.topPercent, null);
    assert.deepEqual(c.cam.scales, [1]);
    const bad = join(tmp, "bad.yml");
    writeFileSync(bad, "classifier:\n  epochs: 2\n   cropSize: 3\n");
    assert.throws(
      () => loadConfig(bad),
      (e: Error) =>
        e.message ===
        `${bad}: line 2: Nested mappings are not allowed in compact mappings (check the indentation of this line and the next)`,
    );
  });
});

describe("parseYaml", () => {
  it("reads nested maps, scalars, inline lists and comments", () => {
    const doc = parseYaml(
      [
        "---",
        "a: 1",
        "b: -2.5e-1",
        "c: true",
        "d: False",
        "e: null",
        "f: plain text # comment",
        'g: "quoted # not a comment\\n"',
        "h: 'it''s'",
        "i: [1, 'two', \"th,ree\", 4.5]",
        "j: []",
        "k:",
        "    deep:",
        "        deeper: x",
        "    other: 3",
        "l:",
        "m: http://example.com/a#b",
        '"quoted key": 1',
        "   # indented comment line",
        "n: 0.5",
      ].join("\r\n"),
    );
    assert.deepEqual(doc, {
      a: 1,
      b: -0.25,
      c: true,
      d: false,
      e: null,
      f: "plain text",
      g: "quoted # not a comment\n",
      h: "it's",
      i: [1, "two", "th,ree", 4.5],
      j: [],
      k: { deep: { deeper: "x" }, other: 3 },
      l: null,
      m: "http://example.com/a#b",
      "quoted key": 1,
      n: 0.5,
    });
  });

  it("reads the rest of YAML 1.2 too: block lists, flow maps, nested lists, block strings, anchors", () => {
    const doc = parseYaml(
      [
        "eval:",
        "  headlineClasses:",
        "    - background",
        "    - cat",
        "inline: {b: 1, c: [2, [3]]}",
        "text: |",
        "  two",
        "  lines",
        "base: &scales [1, 0.5]",
        "again: *scales",
        "",
      ].join("\n"),
    );
    assert.deepEqual(doc, {
      eval: { headlineClasses: ["background", "cat"] },
      inline: { b: 1, c: [2, [3]] },
      text: "two\nlines\n",
      base: [1, 0.5],
      again: [1, 0.5],
    });
    assert.deepEqual(parseYaml(""), {});
    assert.deepEqual(parseYaml("# only a comment\n"), {});
  });

  it("names the line of every error", () => {
    const cases: [string, string][] = [
      ["a:\n\tb: 1\n", "line 2: Tabs are not allowed as indentation"],
      ["a: 1\na: 2\n", "line 2: Map keys must be unique"],
      ["a: [1, , 2]\n", "line 1: Unexpected , in flow sequence"],
      [
        "a: [1, 2\n",
        "line 2: Flow sequence in block collection must be sufficiently indented and end with a ] (check the indentation of this line and the next)",
      ],
      ['a: "open\n', 'line 2: Missing closing "quote'],
      [
        "a:\n    b: 1\n  c: 2\n",
        "line 3: All mapping items must start at the same column (check the indentation of this line and the next)",
      ],
      ["just text\n", 'line 1: expected "key: value" lines at the top level, got string "just text"'],
      ["- a\n", 'line 1: expected "key: value" lines at the top level, got a list'],
      ["x: 1\ny:\n  z: *ref\n", "line 3: Unresolved alias (the anchor must be set before the alias): ref"],
      ["a: !!binary aGk=\n", "line 1: Unresolved tag: tag:yaml.org,2002:binary"],
      ["a: 1\n---\nb: 2\n", 'line 2: a config file holds one YAML document; this "---" starts a second'],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseYaml(text),
        (e: Error) => e instanceof YamlError && e.message === message,
        `for ${JSON.stringify(text)}`,
      );
    }
  });
});
