// Graceful stop: the CLI installs this at start-up; long loops poll stopRequested() and, when set, save
// a checkpoint and stop. A second Ctrl-C quits at once (every file the project writes is atomic).
let requested = false;
let installed = false;

export function installInterruptHandler(onFirst?: (signal: string) => void): void {
  if (installed) return;
  installed = true;
  const handler = (signal: NodeJS.Signals) => {
    if (requested) process.exit(130);
    requested = true;
    onFirst?.(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

export function stopRequested(): boolean {
  return requested;
}

/**
 * Thrown by a long stage that stopped on SIGINT/SIGTERM with what it had done saved (a checkpoint, or the
 * per-image files written so far); running the same command again resumes.
 */
export class StageInterrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StageInterrupted";
  }
}

/** Per-image stages (CAMs, saliency maps, pseudo-labels) keep every finished image: stop between two. */
export function stopIfRequested(dir: string): void {
  if (requested)
    throw new StageInterrupted(
      `stopped on request; the finished images are saved in ${dir}: run the same command again to resume`,
    );
}

/** Clears a received stop request (tests that interrupt and then resume in one process). */
export function resetInterruptForTests(): void {
  requested = false;
}
