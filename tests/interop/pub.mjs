// pub.mjs: publish broadcast NAME with track "clock" through a relay using @moq/net.
// Each group holds F frames; frame payloads are deterministic so a subscriber can check every
// byte: "g<group>f<frame>:" followed by filler bytes (group*31 + frame*7 + i) & 0xff, SIZE bytes in
// all. Prints one JSON line with what it sent on stdout.
// PUB_START_FILE=<file>: instead of waiting PUB_DELAY_MS before the first group, wait until <file>
// exists (at most 30 s), so a test can start the groups once every subscriber is in.
// PUB_HOLD_FILE=<file>: after the last group, keep the track open until <file> exists (at most
// 30 s), so a test can read the cached groups (e.g. /fetch) from a live broadcast.
//
// usage: node pub.mjs <relay-url> [name=clock-test] [groups=10] [frames=2] [size=64] [interval-ms=100]
import "./node20-polyfill.mjs";
import WebSocket from "ws";
import * as Moq from "@moq/net";
import { framePayload } from "./payload.mjs";

if (typeof globalThis.WebSocket === "undefined") globalThis.WebSocket = WebSocket;
console.debug = console.info = console.log = (...args) => console.error(...args);
const out = (s) => process.stdout.write(s + "\n");

const [url, name = "clock-test", groupsArg = "10", framesArg = "2", sizeArg = "64", intervalArg = "100"] =
  process.argv.slice(2);
if (!url) {
  console.error("usage: node pub.mjs <relay-url> [name] [groups] [frames] [size] [interval-ms]");
  process.exit(2);
}
const groups = Number(groupsArg), frames = Number(framesArg), size = Number(sizeArg);
const interval = Number(intervalArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const connection = await Moq.Connection.connect(new URL(url), { signal: AbortSignal.timeout(10_000) });
  console.error(`pub: connected version=${connection.version}`);
  const broadcast = new Moq.Broadcast.Producer();
  const track = broadcast.createTrack("clock");
  void (async () => {
    for (;;) {
      const request = await broadcast.requested().catch(() => undefined);
      if (!request) break;
      request.reject(new Error("track not found"));
    }
  })();
  connection.publish(Moq.Path.from(name), broadcast);
  // Give subscribers time to join before the first group.
  if (process.env.PUB_START_FILE) {
    const { existsSync } = await import("node:fs");
    for (let i = 0; i < 1500 && !existsSync(process.env.PUB_START_FILE); i++) await sleep(20);
  } else {
    await sleep(Number(process.env.PUB_DELAY_MS ?? 1500));
  }
  let bytes = 0;
  for (let g = 0; g < groups; g++) {
    const group = track.appendGroup();
    for (let f = 0; f < frames; f++) {
      const payload = framePayload(group.sequence, f, size);
      group.writeFrame({ payload, timestamp: Moq.Time.Timestamp.now() });
      bytes += payload.length;
    }
    group.close();
    await sleep(interval);
  }
  if (process.env.PUB_HOLD_FILE) {
    const { existsSync } = await import("node:fs");
    for (let i = 0; i < 1500 && !existsSync(process.env.PUB_HOLD_FILE); i++) await sleep(20);
  }
  track.close();
  broadcast.close();
  await sleep(300);
  connection.close();
  await sleep(300);
  out(JSON.stringify({ groups, frames: groups * frames, bytes }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error("pub: error", err);
    process.exit(1);
  },
);
