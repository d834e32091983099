// Placeholder until the report generator lands: writes a minimal index.html.
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.js";
export async function writeReport(runDir: string): Promise<string> {
  const path = join(runDir, "report", "index.html");
  await writeFileAtomic(path, "<!doctype html><title>aepsl report</title>");
  return path;
}
