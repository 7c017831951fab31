// attack.mjs: misbehaving WebSocket clients for the relay's defenses. Each mode connects to the
// relay, misbehaves once, watches what comes back and prints one JSON line on stdout:
// {mode, ws_close (WebSocket close code), qmux_close (code of a received QMux CONNECTION_CLOSE,
// or null), qmux_frame_type, stop_code (bigframe: code of the STOP_SENDING on the group stream)}.
// Exit 0 when the relay reacted as expected for the mode, 1 otherwise, 3 on timeout.
//
// usage: node attack.mjs <relay-url> <mode> [broadcast=evil]
//   garbage-tcp   after the upgrade, bytes that are not WebSocket framing: the socket is dropped
//   garbage-qmux  a binary message holding no valid QMux frame: CONNECTION_CLOSE
//                 FRAME_ENCODING_ERROR (0x07), WebSocket 1002
//   flood         1100 uni streams against the relay's limit of 1000: CONNECTION_CLOSE
//                 STREAM_LIMIT_ERROR (0x04), WebSocket 1002
//   text          a text message: CONNECTION_CLOSE PROTOCOL_VIOLATION (0x0a), WebSocket 1003
//   bigframe      an @moq/net publisher of <broadcast> whose first frame header declares 32 MiB + 1
//                 (rewritten on the wire from 20000): the relay stops that group stream with
//                 moq-lite code 27 (frame too large); the connection stays up
//   slowloris     an HTTP request head sent one byte per second: the relay closes the socket
//                 (prints {mode, closed_after_ms, bytes_sent, answered})
//   slowloris-keepalive  the same as the second request of a keep-alive connection (after a good
//                 one): closed_after_ms counts from the slow head's first byte
import "./node20-polyfill.mjs";
import WebSocket from "ws";
import net from "node:net";

const [url, mode, name = "evil"] = process.argv.slice(2);
if (!url || !mode) {
  console.error("usage: node attack.mjs <relay-url> <mode> [broadcast]");
  process.exit(2);
}
console.debug = console.info = console.log = (...args) => console.error(...args);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const timer = setTimeout(() => {
  console.error(`attack ${mode}: timeout`);
  process.exit(3);
}, 20_000);
const wsUrl = url.replace(/^http/, "ws");

// QUIC varint helpers.
function varint(buf, pos) {
  if (pos >= buf.length) throw new Error("truncated");
  const first = buf[pos];
  if (pos + (1 << (first >> 6)) > buf.length) throw new Error("truncated");
  const len = 1 << (first >> 6);
  let v = BigInt(first & 0x3f);
  for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(buf[pos + i]);
  return [v, pos + len];
}
function encVarint(v) {
  v = BigInt(v);
  if (v < 64n) return [Number(v)];
  if (v < 16384n) return [0x40 | Number(v >> 8n), Number(v & 0xffn)];
  const b = [];
  for (let i = 3; i >= 0; i--) b.push(Number((v >> BigInt(i * 8)) & 0xffn));
  b[0] |= 0x80;
  return b;
}
const TP = [0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a];

// Walks the QMux frames of one record; calls fn(type, fields) for those it knows. Returns false
// at an unknown frame type (the rest of the record is skipped).
function walk(buf, fn) {
  try {
    return walkFrames(buf, fn);
  } catch (e) {
    console.error(`attack: undecodable record (${e.message}): ${Buffer.from(buf.subarray(0, 64)).toString("hex")}`);
    return false;
  }
}
function walkFrames(buf, fn) {
  let p = 0;
  while (p < buf.length) {
    const start = p;
    let t;
    [t, p] = varint(buf, p);
    const n = () => {
      let v;
      [v, p] = varint(buf, p);
      return v;
    };
    if (t === 0n) continue;
    if (t >= 0x08n && t <= 0x0fn) {
      const id = n();
      if (t & 4n) n();
      let len = BigInt(buf.length - p);
      if (t & 2n) len = n();
      fn("stream", { id, data: buf.subarray(p, p + Number(len)), at: p });
      p += Number(len);
    } else if (t === 0x04n) fn("reset", { id: n(), code: n(), size: n() });
    else if (t === 0x05n) fn("stop", { id: n(), code: n() });
    else if (t === 0x10n || t === 0x12n || t === 0x13n || t === 0x14n || t === 0x16n || t === 0x17n) n();
    else if (t === 0x11n || t === 0x15n) (n(), n());
    else if (t === 0x1cn) {
      const code = n(), ftype = n(), len = n();
      fn("close", { code, ftype, reason: Buffer.from(buf.subarray(p, p + Number(len))).toString() });
      p += Number(len);
    } else if (t === 0x1dn) {
      const code = n(), len = n();
      fn("appclose", { code });
      p += Number(len);
    } else if (t === 0x3f5153300d0a0d0an) {
      const len = Number(n());
      p += len;
    }
    else if (t === 0x348c67529ef8c7bdn || t === 0x348c67529ef8c7ben) n();
    else if (t === 0x30n) p = buf.length;
    else if (t === 0x31n) {
      const len = Number(n());
      p += len;
    }
    else {
      console.error(`attack: unknown frame type ${t} at ${start}`);
      return false;
    }
  }
  return true;
}

// A raw QMux client: records what the relay sends and how the socket ends.
function rawClient() {
  const ws = new WebSocket(wsUrl + "/anon", ["qmux-01.moq-lite-05"]);
  const res = { mode, ws_close: null, qmux_close: null, qmux_frame_type: null, reason: null };
  ws.on("message", (data, isBinary) => {
    if (!isBinary) return;
    walk(new Uint8Array(data), (kind, f) => {
      if (kind === "close") {
        res.qmux_close = Number(f.code);
        res.qmux_frame_type = Number(f.ftype);
        res.reason = f.reason;
      }
    });
  });
  ws.on("error", (e) => console.error(`attack: socket error ${e.message}`));
  const closed = new Promise((r) => ws.on("close", (code) => ((res.ws_close = code), r())));
  const opened = new Promise((r, j) => (ws.on("open", r), ws.on("error", j)));
  return { ws, res, closed, opened };
}

async function runRaw() {
  const { ws, res, closed, opened } = rawClient();
  await opened;
  if (ws.protocol !== "qmux-01.moq-lite-05") throw new Error(`relay chose ${ws.protocol}`);
  let want;
  if (mode === "garbage-tcp") {
    ws._socket.write("GARBAGE\r\n\r\nthis is not a websocket frame at all");
    want = (r) => r.ws_close === 1006 || r.ws_close === 1002;
  } else if (mode === "garbage-qmux") {
    ws.send(Uint8Array.from([...TP, 0x00]));
    // Type 0x0e STREAM whose length runs past the message: undecodable.
    ws.send(Uint8Array.from([0x0e, 0x02, 0x00, 0x7f, 0xde, 0xad, 0xbe, 0xef]));
    want = (r) => r.qmux_close === 0x07 && r.ws_close === 1002;
  } else if (mode === "flood") {
    ws.send(Uint8Array.from([...TP, 0x00]));
    for (let i = 0; i < 1100; i++) ws.send(Uint8Array.from([0x0e, ...encVarint(i * 4 + 2), 0x00, 0x01, 0xaa]));
    want = (r) => r.qmux_close === 0x04 && r.ws_close === 1002;
  } else if (mode === "text") {
    ws.send(Uint8Array.from([...TP, 0x00]));
    ws.send("hello");
    want = (r) => r.qmux_close === 0x0a && r.ws_close === 1003;
  }
  await closed;
  out(res);
  return want(res);
}

// An @moq/net publisher whose socket rewrites the first 20000-byte frame's size to 32 MiB + 1.
async function runBigFrame() {
  const Moq = await import("@moq/net");
  const res = { mode, stop_code: null, rewritten: 0, ws_close: null };
  const BIG = [0x80, 0x00, 0x4e, 0x20]; // varint 20000
  class Evil extends WebSocket {
    constructor(u, protocols) {
      super(u, protocols);
      this.on("message", (data, isBinary) => {
        if (!isBinary) return;
        walk(new Uint8Array(data), (kind, f) => {
          if (kind === "stop" && (f.id & 3n) === 2n && f.code !== 0n && res.stop_code === null) res.stop_code = Number(f.code);
        });
      });
      this.on("close", (code) => (res.ws_close = code));
    }
    send(chunk, ...rest) {
      const buf = new Uint8Array(chunk.buffer ? chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) : chunk);
      if (res.rewritten === 0) {
        walk(buf, (kind, f) => {
          if (kind !== "stream" || (f.id & 3n) !== 2n || res.rewritten > 0) return;
          // The frame's size varint, alone or at the start of a STREAM frame's data.
          for (let i = 0; i + 4 <= f.data.length; i++) {
            if (f.data[i] === BIG[0] && f.data[i + 1] === BIG[1] && f.data[i + 2] === BIG[2] && f.data[i + 3] === BIG[3]) {
              buf.set([0x82, 0x00, 0x00, 0x01], f.at + i);
              res.rewritten++;
              return;
            }
          }
        });
      }
      return super.send(buf, ...rest);
    }
  }
  globalThis.WebSocket = Evil;
  const connection = await Moq.Connection.connect(new URL(url + "/anon"), { signal: AbortSignal.timeout(10_000) });
  const broadcast = new Moq.Broadcast.Producer();
  const track = broadcast.createTrack("clock");
  connection.publish(Moq.Path.from(name), broadcast);
  // One 20000-byte frame per group until one went out rewritten (groups are sent only once the
  // relay subscribes), then no more: every frame the relay sees is the oversize one.
  for (let i = 0; i < 100 && res.rewritten === 0; i++) {
    const group = track.appendGroup();
    group.writeFrame({ payload: new Uint8Array(20000), timestamp: Moq.Time.Timestamp.now() });
    group.close();
    await sleep(100);
  }
  for (let i = 0; i < 50 && res.stop_code === null; i++) await sleep(100);
  await sleep(200);
  const alive = res.ws_close === null;
  track.close();
  broadcast.close();
  await sleep(200);
  connection.close();
  await sleep(300);
  res.alive_after_stop = alive;
  out(res);
  return res.stop_code === 27 && res.rewritten === 1 && alive;
}

async function runSlowloris() {
  const u = new URL(url);
  const head = `GET /health HTTP/1.1\r\nHost: ${u.host}\r\nX-Slow: ${"a".repeat(40)}\r\n\r\n`;
  const sock = net.connect(Number(u.port), u.hostname);
  let t0 = Date.now();
  let sent = 0, closedAt = null, answered = false;
  let first;
  const firstAnswer = new Promise((r) => (first = r));
  sock.on("data", (d) => (mode === "slowloris-keepalive" && !first.done ? ((first.done = true), first(d)) : (answered = true)));
  sock.on("error", () => {});
  const closed = new Promise((r) => sock.on("close", () => ((closedAt = Date.now() - t0), r())));
  await new Promise((r) => sock.on("connect", r));
  if (mode === "slowloris-keepalive") {
    // One good request first; the slow head is the keep-alive connection's second request.
    sock.write(`GET /health HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
    const d = await firstAnswer;
    if (!String(d).startsWith("HTTP/1.1 200")) throw new Error(`first answer: ${d}`);
    await sleep(200);
    t0 = Date.now();
  }
  while (closedAt === null && sent < head.length) {
    sock.write(head[sent++]);
    await Promise.race([sleep(1000), closed]);
  }
  await closed;
  out({ mode, closed_after_ms: closedAt, bytes_sent: sent, answered });
  return !answered && sent < head.length;
}

const run = mode === "bigframe" ? runBigFrame : mode.startsWith("slowloris") ? runSlowloris : runRaw;
run().then(
  (ok) => {
    clearTimeout(timer);
    process.exit(ok ? 0 : 1);
  },
  (err) => {
    console.error(`attack ${mode}: error`, err);
    process.exit(1);
  },
);
