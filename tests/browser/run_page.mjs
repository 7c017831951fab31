// run_page.mjs: opens a page in Debian's headless Chromium through puppeteer-core (never a
// downloaded browser), prints the page's console and errors to stderr, waits until the page's
// #log element holds a line starting with OK or ERR (or the timeout), prints that line on
// stdout and exits 0 for OK, 1 otherwise. For manual runs and shell-driven end-to-end tests;
// the C test test_transport_wt_browser starts Chromium directly.
//
// usage: node tests/browser/run_page.mjs <url> [timeout-ms=30000]
//   (run from anywhere; modules resolve from tests/interop/node_modules)
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../interop/package.json"));
const puppeteer = require("puppeteer-core");

const [url, timeoutArg = "30000"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node run_page.mjs <url> [timeout-ms]");
  process.exit(2);
}
const executablePath = process.env.MOQC_CHROMIUM ?? "/usr/lib/chromium/chromium";
const profile = mkdtempSync(join(tmpdir(), "moqc-chromium-"));
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  userDataDir: profile,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
let line = "";
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`[page ${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(
    () => /^(OK|ERR)/m.test(document.getElementById("log")?.textContent ?? ""),
    { timeout: Number(timeoutArg) });
  line = (await page.$eval("#log", (e) => e.textContent)).split("\n").find((l) => /^(OK|ERR)/.test(l));
} catch (e) {
  line = `ERR runner: ${e.message}`;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(line);
process.exit(line.startsWith("OK") ? 0 : 1);
