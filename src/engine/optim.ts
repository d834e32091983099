// Optimisers (PyTorch semantics) and learning-rate schedules. State lives in tensors so checkpoints can
// save and restore it exactly.
import { keep, noGrad, tidy, type Tensor } from "./tensor.js";
import { zeros } from "./ops.js";

export interface ParamGroup {
  params: Tensor[];
  /** Learning rate at schedule position 0; the current rate is baseLr × the schedule's factor. */
  lr: number;
  weightDecay?: number;
  name?: string;
}

interface GroupState {
  params: Tensor[];
  baseLr: number;
  lr: number;
  weightDecay: number;
  name: string;
}

export abstract class Optimizer {
  readonly groups: GroupState[];
  /** Number of step() calls so far. */
  stepCount = 0;

  constructor(groups: ParamGroup[] | Tensor[], defaults: { lr: number; weightDecay?: number }) {
    const list: ParamGroup[] =
      groups.length > 0 && !("params" in groups[0])
        ? [{ params: groups as Tensor[], lr: defaults.lr }]
        : (groups as ParamGroup[]);
    this.groups = list.map((g, i) => ({
      params: g.params,
      baseLr: g.lr,
      lr: g.lr,
      weightDecay: g.weightDecay ?? defaults.weightDecay ?? 0,
      name: g.name ?? `group${i}`,
    }));
  }

  /** Sets every group's rate to baseLr × factor (what LR schedules call). */
  setLrFactor(factor: number): void {
    for (const g of this.groups) g.lr = g.baseLr * factor;
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.clearGrad();
  }

  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const g of this.groups) {
        g.params.forEach((p, i) => {
          tidy(() => {
            const grad = p.grad;
            if (grad) this.update(g, p, grad, `${g.name}.${i}`);
          });
        });
      }
    });
  }

  protected abstract update(g: GroupState, p: Tensor, grad: Tensor, key: string): void;

  /** Optimiser state tensors by key (for checkpoints), plus the step count. */
  abstract stateTensors(): Map<string, Tensor>;
  abstract loadStateTensors(state: Map<string, Tensor>): void;

  dispose(): void {
    for (const t of this.stateTensors().values()) t.dispose();
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** Stochastic gradient descent with momentum, as torch.optim.SGD. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  #buffers = new Map<string, Tensor>();

  constructor(groups: ParamGroup[] | Tensor[], o: SGDOptions) {
    super(groups, o);
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.nesterov = o.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new Error("SGD: nesterov momentum needs momentum > 0 and dampening 0");
  }

  protected update(g: GroupState, p: Tensor, grad: Tensor, key: string): void {
    let d = g.weightDecay ? grad.add(p.mul(g.weightDecay)) : grad;
    if (this.momentum) {
      let buf = this.#buffers.get(key);
      if (!buf) {
        buf = keep(d.clone());
        this.#buffers.set(key, buf);
      } else {
        buf.mul_(this.momentum).add_(d, 1 - this.dampening);
      }
      d = this.nesterov ? d.add(buf.mul(this.momentum)) : buf;
    }
    p.add_(d, -g.lr);
  }

  stateTensors(): Map<string, Tensor> {
    return new Map(this.#buffers);
  }

  loadStateTensors(state: Map<string, Tensor>): void {
    for (const t of this.#buffers.values()) t.dispose();
    this.#buffers = new Map([...state].map(([k, v]) => [k, keep(v.clone())]));
  }
}

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Decoupled weight decay (AdamW) instead of L2 added to the gradient (Adam). */
  decoupled?: boolean;
}

/** Adam / AdamW, as torch.optim.Adam and torch.optim.AdamW. */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly decoupled: boolean;
  #m = new Map<string, Tensor>();
  #v = new Map<string, Tensor>();
  #t = new Map<string, number>();

  constructor(groups: ParamGroup[] | Tensor[], o: AdamOptions) {
    super(groups, o);
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.decoupled = o.decoupled ?? false;
  }

  protected update(g: GroupState, p: Tensor, grad: Tensor, key: string): void {
    const [b1, b2] = this.betas;
    if (g.weightDecay && this.decoupled) p.mul_(1 - g.lr * g.weightDecay);
    const d = g.weightDecay && !this.decoupled ? grad.add(p.mul(g.weightDecay)) : grad;
    let m = this.#m.get(key);
    let v = this.#v.get(key);
    if (!m || !v) {
      m = keep(zeros(p.shape, p.dtype));
      v = keep(zeros(p.shape, p.dtype));
      this.#m.set(key, m);
      this.#v.set(key, v);
    }
    const t = (this.#t.get(key) ?? 0) + 1;
    this.#t.set(key, t);
    m.mul_(b1).add_(d, 1 - b1);
    v.mul_(b2).addcmul_(d, d, 1 - b2);
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const denom = v.sqrt().div(Math.sqrt(bc2)).add(this.eps);
    p.addcdiv_(m, denom, -g.lr / bc1);
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, t] of this.#m) out.set(`${k}.exp_avg`, t);
    for (const [k, t] of this.#v) out.set(`${k}.exp_avg_sq`, t);
    return out;
  }

  loadStateTensors(state: Map<string, Tensor>): void {
    this.dispose();
    this.#m.clear();
    this.#v.clear();
    this.#t.clear();
    for (const [k, t] of state) {
      const m = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(k);
      if (!m) throw new Error(`Adam: unexpected state key '${k}'`);
      (m[2] === "exp_avg" ? this.#m : this.#v).set(m[1], keep(t.clone()));
      this.#t.set(m[1], this.stepCount);
    }
  }
}

/** A learning-rate schedule: factor(step) multiplies every group's base rate. */
export interface LrSchedule {
  factor(step: number): number;
}

/** DeepLab's poly schedule: (1 − step/total)^power, with optional linear warm-up. */
export function polyLr(totalSteps: number, power = 0.9, warmupSteps = 0): LrSchedule {
  return {
    factor(step) {
      if (step < warmupSteps) return (step + 1) / warmupSteps;
      return Math.max(0, 1 - step / totalSteps) ** power;
    },
  };
}

/** Cosine decay from 1 to minFactor over totalSteps, with optional linear warm-up. */
export function cosineLr(totalSteps: number, minFactor = 0, warmupSteps = 0): LrSchedule {
  return {
    factor(step) {
      if (step < warmupSteps) return (step + 1) / warmupSteps;
      const t = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
      return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * t));
    },
  };
}
