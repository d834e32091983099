// A small module system in the spirit of torch.nn.Module: named parameters, buffers and children,
// train/eval mode, state dicts by dotted parameter name.
import type { Device } from "../engine/device.js";
import { keep, noGrad, type Tensor } from "../engine/tensor.js";

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  /** Registers a trainable tensor (kept out of tidy scopes, requires grad). */
  protected param(name: string, t: Tensor): Tensor {
    this.#params.set(name, keep(t).requiresGrad_(true));
    return t;
  }

  /** Registers a non-trainable state tensor (e.g. batch-norm running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.#buffers.set(name, keep(t));
    return t;
  }

  protected module<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  children(): [string, Module][] {
    return [...this.#children];
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#params].map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.#children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#buffers].map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.#children) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Parameters and buffers by dotted name (references, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into this module's tensors. Lists every missing, unexpected and mis-shaped key in one
   * error. With strict false, missing and unexpected keys are allowed (shape mismatches never are).
   */
  loadStateDict(
    state: Map<string, Tensor>,
    o: { strict?: boolean } = {},
  ): { missing: string[]; unexpected: string[] } {
    const strict = o.strict ?? true;
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    const misShaped: string[] = [];
    for (const [k, t] of state) {
      const target = own.get(k);
      if (target && target.shape.join("x") !== t.shape.join("x"))
        misShaped.push(`${k}: expected [${target.shape}] but got [${t.shape}]`);
    }
    const problems = [
      ...misShaped.map((m) => `shape mismatch ${m}`),
      ...(strict ? missing.map((k) => `missing key ${k}`) : []),
      ...(strict ? unexpected.map((k) => `unexpected key ${k}`) : []),
    ];
    if (problems.length)
      throw new Error(`loadStateDict: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
    noGrad(() => {
      for (const [k, t] of state) own.get(k)?.copy_(t);
    });
    return { missing, unexpected };
  }

  /**
   * Moves every parameter and buffer to a device in place (optimisers built afterwards, or before, see the
   * same tensors); a no-op for tensors already there, so model.to("cpu") on CPU copies nothing.
   */
  to(device: Device): this {
    for (const [, t] of this.namedParameters()) t.moveTo_(device);
    for (const [, t] of this.namedBuffers()) t.moveTo_(device);
    return this;
  }

  train(on = true): this {
    this.training = on;
    for (const child of this.#children.values()) child.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer of this module and its children. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, t] of this.namedBuffers()) t.dispose();
  }

  abstract forward(x: Tensor): Tensor;
}
