// sub.mjs: subscribe to NAME/clock through a relay using @moq/net, check every frame's bytes,
// and exit 0 after FRAMES frames (1 on error or a bad frame, 3 on timeout). Prints one JSON line
// with what it received on stdout.
//
// usage: node sub.mjs <relay-url> [name=clock-test] [frames=5] [timeout-seconds=30]
//   WAIT_ANNOUNCE=1 waits for the broadcast's announcement before subscribing.
import "./node20-polyfill.mjs";
import WebSocket from "ws";
import * as Moq from "@moq/net";
import { checkPayload } from "./payload.mjs";

if (typeof globalThis.WebSocket === "undefined") globalThis.WebSocket = WebSocket;
console.debug = console.info = console.log = (...args) => console.error(...args);
const out = (s) => process.stdout.write(s + "\n");

const [url, name = "clock-test", framesArg = "5", timeoutArg = "30"] = process.argv.slice(2);
// frames = 0 reads until the publisher ends the track.
if (!url) {
  console.error("usage: node sub.mjs <relay-url> [name] [frames] [timeout-seconds]");
  process.exit(2);
}
const want = Number(framesArg);
const timer = setTimeout(() => {
  console.error(`sub: timeout after ${timeoutArg}s`);
  process.exit(3);
}, Number(timeoutArg) * 1000);

async function waitAnnounced(connection, path) {
  const announced = connection.announced();
  for (;;) {
    const ev = await announced.next();
    if (!ev) throw new Error("announcement stream ended");
    console.error(`sub: announce ${ev.active ? "active" : "ended"} ${ev.path}`);
    if (ev.active && ev.path === path) {
      announced.close();
      return;
    }
  }
}

async function main() {
  const connection = await Moq.Connection.connect(new URL(url), { signal: AbortSignal.timeout(10_000) });
  console.error(`sub: connected version=${connection.version}`);
  const path = Moq.Path.from(name);
  if (process.env.WAIT_ANNOUNCE) await waitAnnounced(connection, path);
  const broadcast = connection.consume(path);
  // Max latency 0 would ask for the latest group only (spec 5.1); a test wants every group.
  const track = broadcast.track("clock").subscribe({ priority: 0, latencyMax: Number(process.env.LATENCY_MAX_MS ?? 10000) });
  let got = 0, bytes = 0;
  const groups = new Set();
  while (want === 0 || got < want) {
    const group = await track.recvGroup();
    if (!group) {
      if (want === 0) break;
      throw new Error("track ended before enough frames");
    }
    groups.add(group.sequence);
    for (;;) {
      const frame = await group.readFrame();
      if (!frame) break;
      const info = checkPayload(frame.payload);
      if (!info || info.group !== group.sequence) throw new Error(`bad frame in group ${group.sequence}`);
      got++;
      bytes += frame.payload.length;
      if (want !== 0 && got >= want) break;
    }
  }
  track.close();
  broadcast.close();
  connection.close();
  await new Promise((r) => setTimeout(r, 300));
  out(JSON.stringify({ groups: groups.size, frames: got, bytes }));
}

main().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (err) => {
    console.error("sub: error", err);
    process.exit(1);
  },
);
