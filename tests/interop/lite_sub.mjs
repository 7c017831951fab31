// lite_sub.mjs: subscribe to NAME/clock through a relay using the legacy @moq/lite 0.2.2 client
// (bare qmux-00, moq-lite-02), check every frame's bytes against payload.mjs, and read until the
// track ends (or FRAMES frames). Exit 0 done, 1 error or bad frame, 3 timeout. Prints one JSON
// line on stdout: {groups, frames, bytes, version}.
//
// usage: node lite_sub.mjs <relay-url> [name=lite-test] [frames=0] [timeout-seconds=30]
//   WAIT_ANNOUNCE=1 waits for the broadcast's announcement before subscribing.
import "./node20-polyfill.mjs";
import WebSocket from "ws";
import * as Moq from "@moq/lite";
import { checkPayload } from "./payload.mjs";

if (typeof globalThis.WebSocket === "undefined") globalThis.WebSocket = WebSocket;
console.debug = console.info = console.log = (...args) => console.error(...args);
const out = (s) => process.stdout.write(s + "\n");

const [url, name = "lite-test", framesArg = "0", timeoutArg = "30"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node lite_sub.mjs <relay-url> [name] [frames] [timeout-seconds]");
  process.exit(2);
}
const want = Number(framesArg);
const timer = setTimeout(() => {
  console.error(`lite_sub: timeout after ${timeoutArg}s`);
  process.exit(3);
}, Number(timeoutArg) * 1000);

async function main() {
  const connection = await Moq.Connection.connect(new URL(url), { websocket: { delay: 0 } });
  console.error(`lite_sub: connected version=${connection.version}`);
  const path = Moq.Path.from(name);
  if (process.env.WAIT_ANNOUNCE) {
    const announced = connection.announced();
    for (;;) {
      const ev = await announced.next();
      if (!ev) throw new Error("announcement stream ended");
      console.error(`lite_sub: announce ${ev.active ? "active" : "ended"} ${ev.path}`);
      if (ev.active && ev.path === path) break;
    }
    announced.close();
  }
  const broadcast = connection.consume(path);
  const track = broadcast.subscribe("clock", 0);
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
      const info = checkPayload(frame);
      if (!info || info.group !== group.sequence) throw new Error(`bad frame in group ${group.sequence}`);
      got++;
      bytes += frame.length;
      if (want !== 0 && got >= want) break;
    }
  }
  // Every frame is counted and checked: report now. @moq/qmux 0.0.6 (the QMux layer of
  // @moq/lite 0.2.2) can throw "Controller is already closed" from its frame handler when a
  // group's bytes still in flight arrive after it closed the stream locally; that happens only
  // after this point, so from here such an error is logged and ignored.
  out(JSON.stringify({ groups: groups.size, frames: got, bytes, version: connection.version }));
  process.on("uncaughtException", (err) => {
    console.error("lite_sub: client error after the run completed (ignored):", err?.message ?? err);
    process.exit(0);
  });
  track.close();
  broadcast.close();
  connection.close();
  await new Promise((r) => setTimeout(r, 300));
}

main().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (err) => {
    console.error("lite_sub: error", err);
    process.exit(1);
  },
);
