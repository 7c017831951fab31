// announced.mjs: follows the relay's announcements with @moq/net (conn.announced(prefix)) and
// prints each one on stdout as "active <path>" or "ended <path>". Exits 0 once every expected
// event was seen (in order per path), 1 on error, 3 on timeout.
//
// usage: node announced.mjs <relay-url> <timeout-seconds> [prefix=""] [event...]
//   event: active:<path> or ended:<path>, e.g. active:a active:b ended:a ended:b
import "./node20-polyfill.mjs";
import WebSocket from "ws";
import * as Moq from "@moq/net";

if (typeof globalThis.WebSocket === "undefined") globalThis.WebSocket = WebSocket;
console.debug = console.info = console.log = (...args) => console.error(...args);

const [url, timeoutArg = "30", prefix = "", ...events] = process.argv.slice(2);
if (!url) {
  console.error("usage: node announced.mjs <relay-url> <timeout-seconds> [prefix] [event...]");
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error(`announced: timeout, still waiting for ${JSON.stringify(pending)}`);
  process.exit(3);
}, Number(timeoutArg) * 1000);
const pending = events.slice();

async function main() {
  const connection = await Moq.Connection.connect(new URL(url), { signal: AbortSignal.timeout(10_000) });
  console.error(`announced: connected version=${connection.version}`);
  const announced = connection.announced(prefix === "" ? undefined : Moq.Path.from(prefix));
  while (pending.length > 0) {
    const ev = await announced.next();
    if (!ev) throw new Error("announcement stream ended");
    const line = `${ev.active ? "active" : "ended"} ${ev.path}`;
    process.stdout.write(line + "\n");
    const key = `${ev.active ? "active" : "ended"}:${ev.path}`;
    // Per path, events must come in the listed order: drop the first pending one for this path.
    const i = pending.findIndex((p) => p.slice(p.indexOf(":") + 1) === String(ev.path));
    if (i < 0) throw new Error(`unexpected announcement: ${line}`);
    if (pending[i] !== key) throw new Error(`out of order: ${line}, want ${pending[i]}`);
    pending.splice(i, 1);
  }
  announced.close();
  connection.close();
  await new Promise((r) => setTimeout(r, 300));
}

main().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (err) => {
    console.error("announced: error", err);
    process.exit(1);
  },
);
