// Devices: the CPU path (always), the CUDA path (only where a GPU is visible: otherwise each "on cuda"
// test is skipped with the reason in the output), device resolution, amp's CUDA-only rule and the
// addon's libtorch detection (fake directory layouts, no CUDA needed).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import {
  conv2d,
  cudaInfo,
  cudaMemoryAllocated,
  defaultDevice,
  liveTensors,
  ones,
  rand,
  resolveDevice,
  setAmp,
  setDefaultDevice,
  tensor,
  tidy,
  zeros,
  type Device,
} from "../src/engine/index.js";
import { loadCheckpoint, saveCheckpoint } from "../src/engine/checkpoint.js";
import { SGD } from "../src/engine/optim.js";
import { loadTensors } from "../src/engine/serialize.js";
import { Conv2d } from "../src/nn/layers.js";
import { ConfigError, validateConfig } from "../src/util/config.js";

const cuda = cudaInfo();
const NO_CUDA = cuda.built ? "no CUDA device: no GPU visible" : "no CUDA device: libtorch built without CUDA";

for (const device of ["cpu", "cuda"] as const) {
  const skip = device === "cuda" && !cuda.available ? NO_CUDA : false;
  const dev: Device = device === "cuda" ? "cuda:0" : "cpu";
  describe(`engine on ${device}`, () => {
    it(`creates tensors on ${device} and copies them back explicitly`, { skip }, () => {
      const before = liveTensors();
      tidy(() => {
        const a = tensor(Float32Array.of(1, 2, 3, 4), [2, 2], "float32", dev);
        assert.equal(a.device, dev);
        assert.equal(zeros([3], "float32", dev).device, dev);
        assert.equal(rand([3], "float32", dev).device, dev);
        const b = a.mul(2).add(ones([2, 2], "float32", dev));
        assert.equal(b.device, dev);
        assert.deepEqual(Array.from(b.toArray() as Float32Array), [3, 5, 7, 9]);
        assert.equal(b.sum().item(), 24);
        const host = b.to("cpu");
        assert.equal(host.device, "cpu");
        assert.deepEqual(Array.from(host.toArray() as Float32Array), [3, 5, 7, 9]);
      });
      assert.equal(liveTensors(), before);
    });

    it(`computes a convolution and its gradient on ${device} as on the CPU`, { skip }, () => {
      tidy(() => {
        const x = rand([2, 3, 8, 8]);
        const w = rand([4, 3, 3, 3]).requiresGrad_(true);
        conv2d(x, w, null, { padding: 1 }).square().sum().backward();
        const wd = w.detach().to(dev).requiresGrad_(true);
        const y = conv2d(x.to(dev), wd, null, { padding: 1 });
        assert.equal(y.device, dev);
        y.square().sum().backward();
        const g0 = w.grad!.toArray() as Float32Array;
        const g1 = wd.grad!.toArray() as Float32Array;
        for (let i = 0; i < g0.length; i++)
          assert.ok(Math.abs(g0[i] - g1[i]) <= 1e-3 * Math.abs(g0[i]) + 1e-3);
      });
    });

    it(`moves a module with Module.to and trains it with SGD on ${device}`, { skip }, () => {
      const m = new Conv2d(3, 2, 3, { padding: 1 }).to(dev);
      const weight = m.weight;
      try {
        for (const p of m.parameters()) assert.equal(p.device, dev);
        assert.equal(m.weight, weight, "the same Tensor objects, re-pointed");
        assert.ok(m.weight.requiresGrad);
        const opt = new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
        const loss0 = tidy(() =>
          m
            .forward(rand([1, 3, 6, 6], "float32", dev))
            .square()
            .mean()
            .item(),
        );
        for (let i = 0; i < 3; i++)
          tidy(() => {
            opt.zeroGrad();
            m.forward(ones([1, 3, 6, 6], "float32", dev))
              .square()
              .mean()
              .backward();
            opt.step();
          });
        for (const t of opt.stateTensors().values()) assert.equal(t.device, dev);
        assert.ok(Number.isFinite(loss0));
        opt.dispose();
      } finally {
        m.dispose();
      }
    });

    it(`frees ${device} memory when a scope ends`, { skip }, () => {
      const live = liveTensors();
      const bytes = cudaMemoryAllocated();
      tidy(() => {
        for (let i = 0; i < 10; i++) zeros([256, 1024], "float32", dev).add(1);
        if (device === "cuda") assert.ok(cudaMemoryAllocated() > bytes);
      });
      assert.equal(liveTensors(), live);
      assert.equal(cudaMemoryAllocated(), bytes, "device memory back to where it was");
    });
  });
}

describe("engine devices on a CPU-only machine", () => {
  it("to('cpu') of a CPU tensor copies nothing (the result shares its data)", () => {
    tidy(() => {
      const a = zeros([4]);
      const b = a.to("cpu");
      b.fill_(5);
      assert.deepEqual(Array.from(a.toArray() as Float32Array), [5, 5, 5, 5]);
      const c = new Conv2d(1, 1, 1);
      const w = c.weight.toArray();
      c.to("cpu");
      assert.deepEqual(c.weight.toArray(), w);
      c.dispose();
    });
  });

  it(
    "a device libtorch cannot use gives a JS error, not a crash",
    { skip: cuda.available && "CUDA is present" },
    () => {
      tidy(() => {
        const a = zeros([2]);
        assert.throws(() => a.to("cuda:0"), /not available: (libtorch built without CUDA|no CUDA GPU)/);
        assert.throws(() => zeros([2], "float32", "cuda:0"), Error);
        assert.throws(() => tensor(Float32Array.of(1), [1], "float32", "cuda:0"), Error);
        assert.throws(() => a.moveTo_("cuda:0"), /not available/);
        assert.equal(a.device, "cpu", "a failed move leaves the tensor where it was");
        assert.throws(() => setDefaultDevice("cuda"), /not available/);
        assert.equal(defaultDevice(), "cpu");
      });
    },
  );

  it(
    "tensors on two devices meeting in one op give libtorch's message",
    { skip: !cuda.available && NO_CUDA },
    () => {
      tidy(() => {
        assert.throws(() => zeros([2]).add(zeros([2], "float32", "cuda:0")), /same device|device/i);
      });
    },
  );

  it(
    "resolves 'auto' to the CPU and says why; an explicit CUDA device is an error",
    { skip: cuda.available && "CUDA is present" },
    () => {
      const auto = resolveDevice("auto");
      assert.equal(auto.device, "cpu");
      assert.equal(auto.reason, cuda.built ? "no GPU visible" : "CPU only: libtorch built without CUDA");
      assert.equal(resolveDevice("cpu").device, "cpu");
      assert.throws(() => resolveDevice("cuda:1"), /device 'cuda:1' is not available/);
    },
  );

  it("amp needs CUDA: an error on a CPU device", () => {
    assert.throws(() => setAmp(true), /amp: true needs a CUDA device/);
    setAmp(false);
  });
});

describe("device and amp configuration", () => {
  it("defaults to auto without amp, accepts cpu / cuda / cuda:N", () => {
    const c = validateConfig({});
    assert.equal(c.device, "auto");
    assert.equal(c.amp, false);
    for (const d of ["cpu", "cuda", "cuda:1"]) assert.equal(validateConfig({ device: d }).device, d);
  });

  it("rejects an unknown device and amp on the CPU, naming the key", () => {
    assert.throws(
      () => validateConfig({ device: "gpu" }),
      (e: Error) =>
        e instanceof ConfigError &&
        /device: expected "auto", "cpu", "cuda" or "cuda:N", got "gpu"/.test(e.message),
    );
    assert.throws(() => validateConfig({ device: "cpu", amp: true }), /amp: true needs a CUDA device/);
  });
});

describe("device-neutral checkpoints", () => {
  const tmp = mkdtempSync(join(tmpdir(), "aepsl-device-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("saves host copies in the same format and resumes training on the CPU", async () => {
    const m = new Conv2d(2, 2, 1).to(defaultDevice());
    const opt = new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
    tidy(() => {
      opt.zeroGrad();
      m.forward(ones([1, 2, 3, 3]))
        .sum()
        .backward();
      opt.step();
    });
    await saveCheckpoint(tmp, m, opt, { epoch: 1, step: opt.stepCount });
    const { tensors } = loadTensors(join(tmp, "checkpoint-e1.safetensors"));
    assert.deepEqual([...tensors.keys()].sort(), [
      "model.bias",
      "model.weight",
      "optim.group0.0",
      "optim.group0.1",
      "rng",
    ]);
    for (const t of tensors.values()) assert.equal(t.device, "cpu");
    for (const t of tensors.values()) t.dispose();

    const m2 = new Conv2d(2, 2, 1);
    const opt2 = new SGD(m2.parameters(), { lr: 0.1, momentum: 0.9 });
    const state = loadCheckpoint(tmp, m2, opt2);
    assert.equal(state?.epoch, 1);
    assert.deepEqual(m2.weight.toArray(), m.weight.toArray());
    const step = (mod: Conv2d, o: SGD) =>
      tidy(() => {
        o.zeroGrad();
        mod
          .forward(ones([1, 2, 3, 3]))
          .sum()
          .backward();
        o.step();
      });
    step(m, opt);
    step(m2, opt2);
    assert.deepEqual(m2.weight.toArray(), m.weight.toArray(), "the resumed run continues exactly");
    for (const x of [m, m2, opt, opt2]) x.dispose();
  });
});

describe("libtorch detection (native/libtorch-paths.cjs)", () => {
  const require = createRequire(import.meta.url);
  const { detectLibtorch, buildSettings } = require("../native/libtorch-paths.cjs") as {
    detectLibtorch: (root?: string) => { include: string[]; lib: string[]; cuda: boolean };
    buildSettings: (root?: string) => {
      include: string[];
      lib: string[];
      libs: string[];
      defines: string[];
      std: string[];
      cuda: boolean;
    };
  };
  const tmp = mkdtempSync(join(tmpdir(), "aepsl-libtorch-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const fake = (root: string, libs: string[]) => {
    mkdirSync(join(root, "lib"), { recursive: true });
    mkdirSync(join(root, "include/torch/csrc/api/include/torch"), { recursive: true });
    writeFileSync(join(root, "include/torch/csrc/api/include/torch/torch.h"), "");
    for (const l of libs) writeFileSync(join(root, "lib", l), "");
    return root;
  };

  it("a CPU libtorch links torch, torch_cpu and c10 and defines nothing", () => {
    const root = fake(join(tmp, "libtorch-cpu"), ["libtorch.so", "libtorch_cpu.so", "libc10.so"]);
    const s = buildSettings(root);
    assert.equal(s.cuda, false);
    assert.deepEqual(s.libs, ["-ltorch", "-ltorch_cpu", "-lc10"]);
    assert.deepEqual(s.defines, []);
    assert.deepEqual(s.include, [join(root, "include"), join(root, "include/torch/csrc/api/include")]);
    assert.deepEqual(s.lib, [join(root, "lib")]);
  });

  it("a CUDA libtorch (libtorch_cuda.so beside libtorch_cpu.so) adds torch_cuda, c10_cuda and the macro", () => {
    const root = fake(join(tmp, "libtorch-cu121"), [
      "libtorch.so",
      "libtorch_cpu.so",
      "libc10.so",
      "libtorch_cuda.so",
      "libc10_cuda.so",
    ]);
    const s = buildSettings(root);
    assert.equal(s.cuda, true);
    assert.deepEqual(s.libs, ["-ltorch", "-ltorch_cpu", "-lc10", "-ltorch_cuda", "-lc10_cuda"]);
    assert.ok(s.defines.includes("AEPSL_WITH_CUDA"));
  });

  it("a pip PyTorch's torch/ folder works the same, CUDA runtime headers from the nvidia wheel", () => {
    const site = join(tmp, "site-packages");
    const root = fake(join(site, "torch"), [
      "libtorch.so",
      "libtorch_cpu.so",
      "libc10.so",
      "libtorch_cuda.so",
      "libc10_cuda.so",
    ]);
    mkdirSync(join(site, "nvidia/cuda_runtime/include"), { recursive: true });
    writeFileSync(join(site, "nvidia/cuda_runtime/include/cuda_runtime_api.h"), "");
    const saved = process.env.CUDA_HOME;
    delete process.env.CUDA_HOME;
    try {
      const s = buildSettings(root);
      assert.equal(s.cuda, true);
      assert.ok(s.include.includes(join(root, "../nvidia/cuda_runtime/include")));
    } finally {
      if (saved !== undefined) process.env.CUDA_HOME = saved;
    }
  });

  it("the C++ standard follows the libtorch version: C++20 for 2.x headers, C++17 for 1.x", () => {
    const v2 = fake(join(tmp, "libtorch-2"), ["libtorch_cpu.so"]);
    // 2.x: torch/version.h only includes torch/headeronly/version.h, where the defines are
    mkdirSync(join(v2, "include/torch/headeronly"), { recursive: true });
    writeFileSync(
      join(v2, "include/torch/csrc/api/include/torch/version.h"),
      "#include <torch/headeronly/version.h>\n",
    );
    writeFileSync(
      join(v2, "include/torch/headeronly/version.h"),
      "#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 13\n",
    );
    assert.deepEqual(buildSettings(v2).std, ["-std=c++20"]);
    const v1 = fake(join(tmp, "libtorch-1"), ["libtorch_cpu.so"]);
    writeFileSync(
      join(v1, "include/torch/csrc/api/include/torch/version.h"),
      "#define TORCH_VERSION_MAJOR 1\n",
    );
    assert.deepEqual(buildSettings(v1).std, ["-std=c++17"]);
    // Debian's libtorch-dev 1.13, which CI builds against
    assert.deepEqual(buildSettings(undefined).std, ["-std=c++17"]);
  });

  it("a folder that is not a libtorch is refused with the reason", () => {
    mkdirSync(join(tmp, "empty"), { recursive: true });
    assert.throws(() => detectLibtorch(join(tmp, "empty")), /no lib\/libtorch_cpu\.so there/);
    const noHeaders = join(tmp, "no-headers");
    mkdirSync(join(noHeaders, "lib"), { recursive: true });
    writeFileSync(join(noHeaders, "lib/libtorch_cpu.so"), "");
    assert.throws(() => detectLibtorch(noHeaders), /torch\.h/);
  });

  it("without LIBTORCH, Debian's libtorch-dev", () => {
    const d = detectLibtorch(undefined);
    assert.deepEqual(d.lib, ["/usr/lib/x86_64-linux-gnu"]);
  });
});
