// Headless Debian Chromium through playwright-core, for the tests that open pages (the report, the exported
// web page). Where Chromium or playwright-core is missing the test is skipped, saying so.
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { BrowserContext } from "playwright-core";

export async function launchChromium(t: TestContext, tmp: string): Promise<BrowserContext | null> {
  const chromiumPath = process.env.AEPSL_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(chromiumPath)) {
    t.skip(
      `Chromium is not installed (${chromiumPath}): browser check skipped (scripts/test.sh installs it)`,
    );
    return null;
  }
  let chromium: typeof import("playwright-core").chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch {
    t.skip("playwright-core is not installed: browser check skipped (npm install)");
    return null;
  }
  return chromium.launchPersistentContext(await mkdtemp(join(tmp, "chromium-")), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
