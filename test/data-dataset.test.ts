import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  buildPalette,
  formatClassesTxt,
  NOT_A_MASK_VALUE,
  parseClassesTxt,
  VOC_CLASS_NAMES,
  vocClasses,
  vocColor,
} from "../src/data/classes.js";
import {
  foregroundMultiHot,
  openDataset,
  parseLabelsCsv,
  parseVocAnnotation,
  validateDataset,
  type DatasetProblem,
} from "../src/data/dataset.js";
import { saveJpeg, savePng } from "../src/data/image.js";
import { maskValuesToClasses, readGroundTruthMask } from "../src/data/mask.js";
import { writeIndexedPng } from "../src/data/png.js";
import { InputError, ValidationError } from "../src/util/errors.js";

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "aepsl dataset ü-"));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function findUp(rel: string): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, rel))) return join(d, rel);
    if (dirname(d) === d) throw new Error(`${rel} not found above the tests`);
  }
}

const solid = (width: number, height: number, v = 120) => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(v),
});

/** A mask of `width`×`height` filled with 0, with a block of `value` in the middle. */
async function mask(path: string, width: number, height: number, value: number) {
  const m = new Uint8Array(width * height);
  m[Math.floor(height / 2) * width + Math.floor(width / 2)] = value;
  await writeIndexedPng(path, m, width, height, buildPalette());
}

async function write(path: string, text: string) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

async function vocFixture(name: string) {
  const root = join(tmp, name);
  for (const id of ["a", "b", "c"]) await saveJpeg(join(root, "JPEGImages", `${id}.jpg`), solid(8, 6));
  await mask(join(root, "SegmentationClass", "a.png"), 8, 6, 8); // cat
  await mask(join(root, "SegmentationClass", "b.png"), 8, 6, 15); // person
  await write(join(root, "ImageSets/Segmentation/train.txt"), "a\nb\n");
  await write(join(root, "ImageSets/Segmentation/val.txt"), "c\n\n");
  return root;
}

function problemsOf(err: unknown): string[] {
  assert.ok(err instanceof ValidationError, `expected ValidationError, got ${err}`);
  return err.problems.map((p) => p.message);
}

describe("classes", () => {
  test("VOC colour map and 256-entry palette", () => {
    assert.equal(VOC_CLASS_NAMES.length, 21);
    assert.equal(VOC_CLASS_NAMES[15], "person");
    assert.deepEqual(vocColor(0), [0, 0, 0]);
    assert.deepEqual(vocColor(1), [128, 0, 0]);
    assert.deepEqual(vocColor(15), [192, 128, 128]);
    assert.deepEqual(vocColor(20), [0, 64, 128]);
    assert.deepEqual(vocColor(255), [224, 224, 192]);
    const p = vocClasses().palette;
    assert.equal(p.length, 768);
    assert.deepEqual([...p.subarray(765)], [224, 224, 192]);
  });

  test("classes.txt parses names and colours, and reports every bad line at once", () => {
    const ok = parseClassesTxt("# mine\n0 background 0,0,0\n1 apple 10,20,30\n\n2 pear\n", "c.txt");
    assert.deepEqual(ok.names, ["background", "apple", "pear"]);
    assert.deepEqual([...ok.palette.subarray(3, 9)], [10, 20, 30, ...vocColor(2)]);
    assert.throws(
      () => parseClassesTxt("0 bg\n1 a 1,2\n1 b\n3 A\n4 d\n255 void\nzzz\n", "bad.txt"),
      (err: unknown) => {
        const msgs = problemsOf(err).join("\n");
        for (const f of [
          /bad colour "1,2"/,
          /index 1 defined twice/,
          /"A" already used/,
          /255 is reserved/,
          /bad\.txt:7: expected/,
          /index 2 missing/,
          /index 3 missing/,
        ]) {
          assert.match(msgs, f);
        }
        return true;
      },
    );
  });

  test("by default a class's index is its mask value and 255 is void; nothing else is a mask value", () => {
    const { maskValues } = parseClassesTxt("0 background\n1 cat\n2 dog\n", "c.txt");
    assert.deepEqual([...maskValues.subarray(0, 4)], [0, 1, 2, NOT_A_MASK_VALUE]);
    assert.equal(maskValues[255], 255);
    assert.deepEqual(
      vocClasses().maskValues,
      parseClassesTxt(formatClassesTxt(vocClasses()), "v").maskValues,
    );
  });

  test('"0 void ignore": mask value 0 is read as ignore and class 0 is the implicit background', () => {
    const c = parseClassesTxt("0 void ignore\n1 building 128,0,0\n2 grass 0,128,0\n", "msrc.txt");
    assert.deepEqual(c.names, ["background", "building", "grass"]);
    assert.deepEqual([...c.maskValues.subarray(0, 4)], [255, 1, 2, NOT_A_MASK_VALUE]);
    assert.deepEqual([...c.palette.subarray(3, 6)], [128, 0, 0]);
    const stored = Uint8Array.from([0, 1, 2, 255, 0]);
    assert.deepEqual([...maskValuesToClasses(stored, c.maskValues, "m.png")], [255, 1, 2, 255, 255]);
    // Values it does not declare keep a clear error naming the file and what is accepted.
    assert.throws(
      () => maskValuesToClasses(Uint8Array.from([1, 3, 9, 3]), c.maskValues, "m.png"),
      /^InputError: m\.png: mask values 3, 9 are not declared in classes\.txt \(it accepts 0\.\.2, 255\)$/,
    );
    // Without ignore or -> lines the message is the familiar one.
    const plain = parseClassesTxt("0 background\n1 cat\n", "c.txt");
    assert.throws(
      () => maskValuesToClasses(Uint8Array.from([7]), plain.maskValues, "m.png"),
      /m\.png: mask values 7 are not class indices \(0\.\.1\) or 255/,
    );
  });

  test('"value -> name" reads a stored value as a class: gaps, merged classes, a background stored elsewhere', () => {
    // Stored: 0 void, 1 cow, 3 sheep (2 unused), 4 and 5 both "tree", 21 background.
    const c = parseClassesTxt(
      "0 background\n1 cow\n2 sheep\n3 tree\n0 void ignore\n3 -> sheep\n4 -> tree\n5 -> Tree\n21 -> background\n",
      "c.txt",
    );
    assert.deepEqual(c.names, ["background", "cow", "sheep", "tree"]);
    const stored = Uint8Array.from([0, 1, 2, 3, 4, 5, 21, 255]);
    assert.deepEqual([...maskValuesToClasses(stored, c.maskValues, "m.png")], [255, 1, 2, 2, 3, 3, 0, 255]);
    // A stored value listed by a -> line is read as that class (here 3 is sheep, not tree).
    assert.equal(c.maskValues[3], 2);
    // formatClassesTxt writes the same reading back.
    const again = parseClassesTxt(formatClassesTxt(c), "again.txt");
    assert.deepEqual(again.names, c.names);
    assert.deepEqual(again.maskValues, c.maskValues);
  });

  test("the README's CamVid classes.txt parses as the README says", async () => {
    const readme = await (await import("node:fs/promises")).readFile(findUp("README.md"), "utf8");
    const text = /cat > camvid\/classes\.txt <<'END'\n([\s\S]*?)\nEND\n/.exec(readme)?.[1];
    assert.ok(text, "README has the CamVid classes.txt");
    const c = parseClassesTxt(text, "README.md");
    assert.equal(c.names.length, 12);
    assert.deepEqual(c.names.slice(0, 3), ["background", "sky", "building"]);
    // Stored 0..10 are sky..bicyclist (classes 1..11), 11 is unlabelled, and nothing stores background.
    assert.deepEqual(
      [...c.maskValues.subarray(0, 13)],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255, NOT_A_MASK_VALUE],
    );
  });

  test("an ignore line may carry the void colour (for scripts/colour-masks.ts)", () => {
    const c = parseClassesTxt("0 void 0,0,0 ignore\n1 cat 64,0,0\n", "c.txt");
    assert.deepEqual([c.maskValues[0], c.maskValues[1]], [255, 1]);
    assert.throws(() => parseClassesTxt("0 void 0,0 ignore\n1 cat\n", "c.txt"), /c\.txt:1: bad colour "0,0"/);
  });

  test("ignore and -> lines: every mistake is reported at once", () => {
    assert.throws(
      () =>
        parseClassesTxt(
          "0 ignore\n1 cat\n2 dog\n3 -> zebra\n4 void ignore\n4 -> cat\n255 void ignore\n300 -> cat\n3 void skip\n",
          "bad.txt",
        ),
      (err: unknown) => {
        const msgs = problemsOf(err);
        const all = msgs.join("\n");
        const expected = [
          /bad\.txt:1: "ignore" cannot be a class name; to ignore mask value 0 write "0 void ignore"/,
          /bad\.txt:4: "3 -> zebra": no class named "zebra"/,
          /bad\.txt:6: mask value 4 already declared at bad\.txt:5/,
          /bad\.txt:7: mask value 255 out of range/,
          /bad\.txt:8: mask value 300 out of range/,
          /bad\.txt:9: bad colour "skip"/,
          /class index 0 missing \(0 is the background; if your masks store unlabelled pixels as 0, write "0 void ignore"\)/,
        ];
        for (const f of expected) assert.match(all, f);
        assert.equal(msgs.length, expected.length, all);
        return true;
      },
    );
    assert.throws(
      () => parseClassesTxt("0 void ignore\n1 cat\n2 background\n", "bg.txt"),
      /class 0 is the implicit "background", but index 2 already has that name/,
    );
  });

  test("multi-hot over the foreground classes", () => {
    assert.deepEqual(Array.from(foregroundMultiHot([1, 3], 4)), [1, 0, 1]);
    assert.throws(() => foregroundMultiHot([0], 4), RangeError);
    assert.throws(() => foregroundMultiHot([4], 4), RangeError);
  });
});

describe("labels CSV", () => {
  test("quotes, a BOM, header columns in any order, 2- and 4-column rows", () => {
    const problems: DatasetProblem[] = [];
    const quoted = parseLabelsCsv('\uFEFFlabels,id\n"cat dog","a, ""b"""\n', "q.csv", problems);
    assert.deepEqual([...quoted], [['a, "b"', ["cat", "dog"]]]);
    const plain = parseLabelsCsv("x,cat;dog\ny,10,20,horse\nz\n", "p.csv", problems);
    assert.deepEqual(
      [...plain],
      [
        ["x", ["cat", "dog"]],
        ["y", ["horse"]],
      ],
    );
    assert.deepEqual(
      problems.map((p) => [p.id, p.error.message]),
      [["z", 'p.csv:3: expected "id,labels" or "id,width,height,labels"']],
    );
  });
});

describe("openDataset: VOC layout", () => {
  test("labels come from image_labels.csv, masks are optional, default split is train", async () => {
    const root = await vocFixture("voc csv");
    await write(
      join(root, "image_labels.csv"),
      "id,width,height,labels\na,8,6,cat\nb,8,6,person dog\nc,8,6,horse\n",
    );
    const ds = await openDataset(root);
    assert.equal(ds.layout, "voc");
    assert.equal(ds.split, "train");
    assert.deepEqual(ds.classes.names, [...VOC_CLASS_NAMES]);
    assert.deepEqual(
      ds.items.map((i) => [i.id, i.labels, Boolean(i.maskPath)]),
      [
        ["a", [8], true],
        ["b", [12, 15], true],
      ],
    );
    assert.deepEqual(await validateDataset(ds), { items: ds.items, skipped: [] });
    const val = await openDataset(root, { split: "val" });
    assert.deepEqual(
      val.items.map((i) => [i.id, i.labels, i.maskPath]),
      [["c", [13], undefined]],
    );
  });

  test("Annotations XML wins over the CSV; part names are not objects", async () => {
    const root = await vocFixture("voc xml");
    const xml = (...names: string[]) =>
      `<annotation><filename>x.jpg</filename>${names
        .map(
          (n) => `<object><name>${n}</name><part><name>head</name></part><difficult>0</difficult></object>`,
        )
        .join("")}</annotation>`;
    await write(join(root, "Annotations/a.xml"), xml("person", "person", "bottle"));
    await write(join(root, "image_labels.csv"), "a,cat\nb,sheep\n");
    assert.deepEqual(parseVocAnnotation(xml("dog")), ["dog"]);
    const ds = await openDataset(root);
    assert.deepEqual(
      ds.items.map((i) => i.labels),
      [[5, 15], [17]],
    );
    assert.deepEqual(ds.problems, []);
  });

  test("without Annotations or a CSV, labels are derived from the masks", async () => {
    const root = await vocFixture("voc masks");
    const ds = await openDataset(root);
    assert.deepEqual(
      ds.items.map((i) => i.labels),
      [[8], [15]],
    );
    const val = await openDataset(root, { split: "val" });
    await assert.rejects(validateDataset(val), (err: unknown) => {
      assert.match(problemsOf(err).join("\n"), /no image-level labels/);
      return true;
    });
  });

  test("a missing split file and an empty split are reported; skipBad cannot skip them", async () => {
    const root = await vocFixture("voc splits");
    await write(join(root, "ImageSets/Segmentation/empty.txt"), "\n  \n");
    for (const [split, message] of [
      ["nosuch", /split file for "nosuch" not found/],
      ["empty", /split is empty/],
    ] as const) {
      const ds = await openDataset(root, { split });
      await assert.rejects(validateDataset(ds), (err: unknown) => {
        assert.match(problemsOf(err).join("\n"), message);
        return true;
      });
      await assert.rejects(validateDataset(ds, { skipBad: true }), ValidationError);
    }
  });

  test("a folder that is no dataset is an InputError", async () => {
    await assert.rejects(openDataset(join(tmp, "does not exist")), InputError);
    await mkdir(join(tmp, "plain"), { recursive: true });
    await assert.rejects(openDataset(join(tmp, "plain")), /expected JPEGImages\/ \(VOC layout\) or images\//);
  });
});

describe("openDataset: generic layout", () => {
  test("classes.txt, mixed image formats, names with spaces and non-ASCII, labels.csv without header", async () => {
    const root = join(tmp, "generic ü");
    await write(join(root, "classes.txt"), "0 background 0,0,0\n1 apple 255,0,0\n2 pear 0,255,0\n");
    await savePng(join(root, "images", "pomme ü.png"), solid(5, 4));
    await saveJpeg(join(root, "images", "b 2.JPEG"), solid(5, 4));
    await savePng(join(root, "images", "c.webp.png"), solid(5, 4));
    await mask(join(root, "masks", "pomme ü.png"), 5, 4, 1);
    await write(join(root, "labels.csv"), "pomme ü,apple\nb 2,apple pear\n");
    await write(join(root, "splits", "train.txt"), "b 2\npomme ü\n");

    const all = await openDataset(root);
    assert.equal(all.layout, "generic");
    assert.equal(all.split, null);
    assert.deepEqual(
      all.items.map((i) => i.id),
      ["b 2", "c.webp", "pomme ü"],
    );
    await assert.rejects(validateDataset(all), /c\.webp\.png: no image-level labels/);

    const train = await openDataset(root, { split: "train" });
    assert.deepEqual(train.classes.names, ["background", "apple", "pear"]);
    assert.deepEqual(
      train.items.map((i) => [i.id, i.labels, i.maskPath !== undefined]),
      [
        ["b 2", [1, 2], false],
        ["pomme ü", [1], true],
      ],
    );
    assert.match(train.items[1].imagePath, /images\/pomme ü\.png$/);
    assert.deepEqual((await validateDataset(train)).skipped, []);
  });

  test("the generic layout needs classes.txt", async () => {
    const root = join(tmp, "generic no classes");
    await savePng(join(root, "images", "a.png"), solid(2, 2));
    await assert.rejects(openDataset(root), /classes\.txt: missing/);
  });
});

describe("classes.txt ignore and -> lines through the dataset", () => {
  test("labels derived from masks, validation and readGroundTruthMask all read mask values alike", async () => {
    const root = join(tmp, "void zero");
    await write(join(root, "classes.txt"), "0 void ignore\n1 cat\n2 dog\n9 -> dog\n");
    for (const id of ["a", "b", "c"]) await saveJpeg(join(root, "images", `${id}.jpg`), solid(8, 6));
    await mask(join(root, "masks", "a.png"), 8, 6, 1); // void around one cat pixel
    await mask(join(root, "masks", "b.png"), 8, 6, 9); // dog, stored as 9
    await mask(join(root, "masks", "c.png"), 8, 6, 4); // 4 is not declared
    const ds = await openDataset(root); // no labels.csv: labels come from the masks
    assert.deepEqual(ds.classes.names, ["background", "cat", "dog"]);
    assert.deepEqual(
      ds.items.map((it) => [it.id, it.labels]),
      [
        ["a", [1]],
        ["b", [2]],
        ["c", []],
      ],
    );
    await assert.rejects(validateDataset(ds), (err: unknown) => {
      const msgs = problemsOf(err);
      assert.equal(msgs.length, 1, msgs.join("\n"));
      assert.match(
        msgs[0],
        /c\.png: mask values 4 are not declared in classes\.txt \(it accepts 0\.\.2, 9, 255\)/,
      );
      return true;
    });
    const b = await readGroundTruthMask(ds.items[1]);
    const counts = new Map<number, number>();
    for (const v of b.indices) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.deepEqual([...counts].sort(), [
      [2, 1],
      [255, 47],
    ]);
    await assert.rejects(readGroundTruthMask(ds.items[2]), /c\.png: mask values 4 are not declared/);
  });
});

describe("validateDataset", () => {
  async function brokenFixture() {
    const root = join(tmp, "broken ü");
    await write(join(root, "classes.txt"), "0 background\n1 cat\n2 dog\n");
    for (const id of ["good", "sized", "values", "rgbmask", "unknown", "dup", "good2"]) {
      await saveJpeg(join(root, "images", `${id}.jpg`), solid(8, 6));
    }
    await writeFile(join(root, "images", "corrupt.jpg"), "not a jpeg");
    await mask(join(root, "masks", "good.png"), 8, 6, 1);
    await mask(join(root, "masks", "sized.png"), 6, 8, 1);
    await mask(join(root, "masks", "values.png"), 8, 6, 7);
    await savePng(join(root, "masks", "rgbmask.png"), solid(8, 6, 0));
    await write(
      join(root, "labels.csv"),
      "id,labels\ngood,cat\nsized,cat\nvalues,cat\nrgbmask,dog\nunknown,cat zebra\ndup,dog\ncorrupt,cat\n,cat\ngood2,dog\n",
    );
    await write(
      join(root, "splits", "train.txt"),
      "good\nsized\nvalues\nrgbmask\nunknown\ndup\ndup\nmissing\ncorrupt\ngood2\n",
    );
    return root;
  }

  test("collects every problem into one ValidationError", async () => {
    const ds = await openDataset(await brokenFixture(), { split: "train" });
    await assert.rejects(validateDataset(ds), (err: unknown) => {
      const msgs = problemsOf(err);
      const all = msgs.join("\n");
      const expected = [
        /sized\.png: mask is 6×8 but the image is 8×6/,
        /values\.png: mask values 7 are not class indices \(0\.\.2\) or 255/,
        /rgbmask\.png: is an RGB PNG, not indexed/,
        /unknown class "zebra"/,
        /duplicate id "dup" in split/,
        /missing\.jpg: image not found/,
        /corrupt\.jpg: not a readable image/,
        /labels\.csv:9: empty id/,
      ];
      for (const f of expected) assert.match(all, f);
      assert.equal(msgs.length, expected.length, all);
      assert.match((err as Error).message, /has 8 problem\(s\)/);
      return true;
    });
  });

  test("checkImages: false reports only the index problems", async () => {
    const ds = await openDataset(await brokenFixture(), { split: "train" });
    await assert.rejects(validateDataset(ds, { checkImages: false }), (err: unknown) => {
      assert.equal(problemsOf(err).length, 4);
      return true;
    });
  });

  test("skipBad returns the good items and why the others were skipped", async () => {
    const ds = await openDataset(await brokenFixture(), { split: "train" });
    const { items, skipped } = await validateDataset(ds, { skipBad: true });
    assert.deepEqual(
      items.map((i) => i.id),
      ["good", "good2"],
    );
    assert.deepEqual(skipped.map((s) => s.id).sort(), [
      "",
      "corrupt",
      "dup",
      "missing",
      "rgbmask",
      "sized",
      "unknown",
      "values",
    ]);
    assert.match(skipped.find((s) => s.id === "values")!.reason, /mask values 7/);
  });
});

test("samples/voc-mini opens and validates: 45 train, 15 val, VOC classes", async () => {
  const root = findUp("samples/voc-mini");
  const train = await openDataset(root, { split: "train" });
  const val = await openDataset(root, { split: "val" });
  assert.equal(train.items.length, 45);
  assert.equal(val.items.length, 15);
  assert.deepEqual(train.classes.names, [...VOC_CLASS_NAMES]);
  assert.deepEqual(train.classes.palette, vocClasses().palette);
  for (const ds of [train, val]) assert.deepEqual((await validateDataset(ds)).skipped, []);
  const all = [...train.items, ...val.items];
  for (const name of ["person", "cat", "dog", "horse", "cow", "sheep"]) {
    const c = VOC_CLASS_NAMES.indexOf(name);
    assert.ok(all.filter((i) => i.labels.includes(c)).length >= 8, name);
  }
  assert.ok(all.every((i) => i.maskPath && i.labels.length > 0));
});
