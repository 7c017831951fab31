// lite_pub.mjs: publish broadcast NAME with track "clock" through a relay using the legacy
// @moq/lite 0.2.2 client (bare qmux-00, SETUP negotiation to moq-lite-02). Frames carry the
// deterministic payload of payload.mjs. @moq/lite serves each subscription from its own Track
// (Broadcast.requested()), so the script waits for the relay's first subscription, then writes
// GROUPS groups of FRAMES frames into every track requested so far. Prints one JSON line on
// stdout: {groups, frames, bytes, requests, version} (counts summed over requested tracks).
//
// usage: node lite_pub.mjs <relay-url> [name=lite-test] [groups=5] [frames=3] [size=100] [interval-ms=50]
//   PUB_DELAY_MS (default 300): wait after the first subscription before the first group.
//   PUB_START_FILE=<file>: after the first subscription, wait until <file> exists instead.
import "./node20-polyfill.mjs";
import WebSocket from "ws";
import * as Moq from "@moq/lite";
import { framePayload } from "./payload.mjs";

if (typeof globalThis.WebSocket === "undefined") globalThis.WebSocket = WebSocket;
console.debug = console.info = console.log = (...args) => console.error(...args);
const out = (s) => process.stdout.write(s + "\n");

const [url, name = "lite-test", groupsArg = "5", framesArg = "3", sizeArg = "100", intervalArg = "50"] =
  process.argv.slice(2);
if (!url) {
  console.error("usage: node lite_pub.mjs <relay-url> [name] [groups] [frames] [size] [interval-ms]");
  process.exit(2);
}
const groups = Number(groupsArg), frames = Number(framesArg), size = Number(sizeArg);
const interval = Number(intervalArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const timer = setTimeout(() => {
  console.error("lite_pub: timeout waiting for a subscription");
  process.exit(3);
}, Number(process.env.PUB_TIMEOUT_S ?? 30) * 1000);

async function main() {
  const connection = await Moq.Connection.connect(new URL(url), { websocket: { delay: 0 } });
  console.error(`lite_pub: connected version=${connection.version}`);
  const broadcast = new Moq.Broadcast();
  const tracks = [];
  let first;
  const gotFirst = new Promise((r) => (first = r));
  void (async () => {
    for (;;) {
      const req = await broadcast.requested().catch(() => undefined);
      if (!req) break;
      if (req.track.name !== "clock") {
        req.track.close(new Error("track not found"));
        continue;
      }
      console.error(`lite_pub: subscription ${tracks.length + 1} for ${req.track.name}`);
      tracks.push(req.track);
      first();
    }
  })();
  connection.publish(Moq.Path.from(name), broadcast);
  await gotFirst;
  clearTimeout(timer);
  if (process.env.PUB_START_FILE) {
    const { existsSync } = await import("node:fs");
    for (let i = 0; i < 1500 && !existsSync(process.env.PUB_START_FILE); i++) await sleep(20);
  } else {
    await sleep(Number(process.env.PUB_DELAY_MS ?? 300));
  }
  let bytes = 0, sentFrames = 0, sentGroups = 0;
  for (let g = 0; g < groups; g++) {
    for (const track of tracks) {
      const group = track.appendGroup();
      for (let f = 0; f < frames; f++) {
        const payload = framePayload(group.sequence, f, size);
        group.writeFrame(payload);
        bytes += payload.length;
        sentFrames++;
      }
      group.close();
      sentGroups++;
    }
    await sleep(interval);
  }
  for (const track of tracks) track.close();
  await sleep(300);
  broadcast.close();
  await sleep(300);
  connection.close();
  await sleep(300);
  out(JSON.stringify({ groups: sentGroups, frames: sentFrames, bytes, requests: tracks.length, version: connection.version }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error("lite_pub: error", err);
    process.exit(1);
  },
);
