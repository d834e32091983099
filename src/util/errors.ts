/** An input problem tied to one file: the message always names the file and the reason. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "InputError";
  }
}

/** Several input problems found in one validation pass, reported together rather than only the first. */
export class ValidationError extends Error {
  constructor(
    readonly problems: InputError[],
    what = "dataset",
  ) {
    const shown = problems.slice(0, 50).map((p) => `  - ${p.message}`);
    const more = problems.length > 50 ? [`  … and ${problems.length - 50} more`] : [];
    super(`${what} has ${problems.length} problem(s):\n${[...shown, ...more].join("\n")}`);
    this.name = "ValidationError";
  }
}
