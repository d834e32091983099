// Training checkpoints: model, optimiser state and RNG state in ONE safetensors file per epoch, then a
// small state.json naming it. Each write is atomic and state.json is written last, so a run killed at
// any moment resumes from a complete, consistent checkpoint.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.js";
import { getRngState, setRngState } from "./ops.js";
import type { Optimizer } from "./optim.js";
import { loadTensors, saveTensors } from "./serialize.js";
import { dispose, type Tensor } from "./tensor.js";

/** What a checkpoint needs of a model (src/nn's Module has it); the engine knows no modules. */
export interface StatefulModel {
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>): void;
}
type Module = StatefulModel;

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  /** Batches completed in the next epoch (non-zero only for a checkpoint taken mid-epoch, e.g. on Ctrl-C). */
  batch?: number;
  /** Optimiser steps taken. */
  step: number;
  file: string;
  [extra: string]: unknown;
}

export async function saveCheckpoint(
  dir: string,
  model: Module,
  optimizer: Optimizer,
  state: Omit<CheckpointState, "file">,
): Promise<void> {
  const file = `checkpoint-e${state.epoch}${state.batch ? `-b${state.batch}` : ""}.safetensors`;
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) tensors.set(`model.${k}`, t);
  for (const [k, t] of optimizer.stateTensors()) tensors.set(`optim.${k}`, t);
  const rng = getRngState();
  tensors.set("rng", rng);
  try {
    await saveTensors(join(dir, file), tensors, { step: String(optimizer.stepCount) });
  } finally {
    rng.dispose();
  }
  const previous = readCheckpointState(dir);
  await writeFileAtomic(join(dir, "state.json"), JSON.stringify({ ...state, file }, null, 2));
  if (previous && previous.file !== file) rmSync(join(dir, previous.file), { force: true });
}

export function readCheckpointState(dir: string): CheckpointState | null {
  const p = join(dir, "state.json");
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, "utf8")) as CheckpointState;
  } catch (err) {
    throw new Error(`${p}: unreadable checkpoint state (${(err as Error).message})`);
  }
}

/** Restores model, optimiser and RNG from the directory's last checkpoint; returns its state or null. */
export function loadCheckpoint(dir: string, model: Module, optimizer?: Optimizer): CheckpointState | null {
  const state = readCheckpointState(dir);
  if (!state) return null;
  const { tensors, metadata } = loadTensors(join(dir, state.file));
  try {
    const modelState = new Map<string, Tensor>();
    const optimState = new Map<string, Tensor>();
    for (const [k, t] of tensors) {
      if (k.startsWith("model.")) modelState.set(k.slice(6), t);
      else if (k.startsWith("optim.")) optimState.set(k.slice(6), t);
    }
    model.loadStateDict(modelState);
    if (optimizer) {
      optimizer.stepCount = Number(metadata.step ?? state.step);
      optimizer.loadStateTensors(optimState);
      const rng = tensors.get("rng");
      if (rng) setRngState(rng);
    }
  } finally {
    dispose(tensors);
  }
  return state;
}

/** Loads only the model weights of a checkpoint directory (e.g. to fine-tune or run inference). */
export function loadModelWeights(dir: string, model: Module): void {
  if (!loadCheckpoint(dir, model)) throw new Error(`${dir}: no checkpoint (state.json missing)`);
}
