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

/** Clears a received stop request (tests that interrupt and then resume in one process). */
export function resetInterruptForTests(): void {
  requested = false;
}
