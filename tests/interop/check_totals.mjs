// check_totals.mjs: the relay's /stats and /metrics must equal exactly what the clients counted.
//
// usage: node check_totals.mjs <internal-base-url> <path> <pub.json> [<sub.json>...] [options]
//   Each JSON file holds the last line a peer printed: {groups, frames, bytes}. The publisher's
//   totals are the ingress of <path>; the subscribers' sums are its egress. Options:
//   --viewers N        viewers (broadcasts) opened and closed on egress (default: subscribers)
//   --subscriptions N  egress subscriptions opened and closed (default: subscribers)
//   --fetches N        egress fetches (default 0)
//   --sessions N       sessions opened and closed in all (default: not checked, only all closed)
//   --others 1         other paths may appear in /stats (e.g. an attacker's); /metrics must then
//                      equal the sum over every path of /stats
// Checks: /stats has <path> as its only path, both roles exact, every session closed; /metrics
// moq_relay_*_total lines equal the same numbers (so nothing was counted elsewhere).
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const opts = {};
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith("--")) opts[args[i].slice(2)] = Number(args[++i]);
  else files.push(args[i]);
}
const [base, path, pubFile, ...subFiles] = files;
if (!base || !path || !pubFile) {
  console.error("usage: node check_totals.mjs <internal-base-url> <path> <pub.json> [<sub.json>...] [options]");
  process.exit(2);
}
const read = (f) => JSON.parse(readFileSync(f, "utf8").trim().split("\n").pop());
const pub = read(pubFile);
const subs = subFiles.map(read);
const sum = (k) => subs.reduce((a, s) => a + s[k], 0);
const viewers = opts.viewers ?? subs.length;
const subscriptions = opts.subscriptions ?? subs.length;
const fetches = opts.fetches ?? 0;

const stats = await (await fetch(`${base}/stats`)).json();
const metricsText = await (await fetch(`${base}/metrics`)).text();
const fail = (msg) => {
  console.error(`check_totals: ${msg}\n${JSON.stringify(stats)}\n${metricsText}`);
  process.exit(1);
};
const expect = (what, got, want) => {
  if (got !== want) fail(`${what}: relay counted ${got}, clients ${want}`);
};
const tier = stats.tiers?.[""];
if (!tier) fail("no default tier");
for (const role of ["publisher", "subscriber"]) {
  const paths = Object.keys(tier[role] ?? {});
  if (!paths.includes(path)) fail(`${role} paths are ${JSON.stringify(paths)}, want ${path}`);
  if (!opts.others && paths.length !== 1) fail(`${role} paths are ${JSON.stringify(paths)}, want only ${path}`);
}
const want = {
  subscriber: { groups: pub.groups, frames: pub.frames, bytes: pub.bytes },
  publisher: {
    groups: sum("groups"), frames: sum("frames"), bytes: sum("bytes"),
    broadcasts: viewers, broadcasts_closed: viewers,
    subscriptions, subscriptions_closed: subscriptions, fetches, datagrams: 0,
  },
};
for (const [role, w] of Object.entries(want)) {
  for (const [k, v] of Object.entries(w)) expect(`/stats ${role} ${path} ${k}`, tier[role][path][k], v);
}
let sessions = 0, closed = 0;
for (const [root, s] of Object.entries(tier.sessions ?? {})) {
  expect(`sessions closed under "${root}"`, s.sessions_closed, s.sessions);
  sessions += s.sessions;
  closed += s.sessions_closed;
}
if (opts.sessions !== undefined) expect("sessions opened", sessions, opts.sessions);

// /metrics: every moq_relay_*_total of the default tier.
const metric = (name, role) => {
  const label = role ? `{tier="",role="${role}"}` : `{tier=""}`;
  const line = metricsText.split("\n").find((l) => l.startsWith(`moq_relay_${name}${label} `));
  if (!line) fail(`/metrics lacks moq_relay_${name}${label}`);
  return Number(line.split(" ").pop());
};
const names = {
  broadcasts: "viewers_opened_total", broadcasts_closed: "viewers_closed_total",
  subscriptions: "subscriptions_opened_total", subscriptions_closed: "subscriptions_closed_total",
  fetches: "fetches_total", bytes: "bytes_total", frames: "frames_total", groups: "groups_total",
  datagrams: "datagrams_total",
};
for (const role of ["publisher", "subscriber"]) {
  for (const [k, name] of Object.entries(names)) {
    let w = want[role][k] ?? tier[role][path][k];
    // Other paths add what /stats says they moved.
    for (const [p, e] of Object.entries(tier[role])) if (p !== path) w += e[k];
    expect(`/metrics ${name} ${role}`, metric(name, role), w);
  }
}
expect("/metrics sessions_opened_total", metric("sessions_opened_total"), sessions);
expect("/metrics sessions_closed_total", metric("sessions_closed_total"), closed);
console.error(
  `check_totals: exact (ingress ${pub.frames} frames ${pub.bytes} bytes, egress ${sum("frames")} frames ` +
    `${sum("bytes")} bytes to ${subs.length} readers, ${sessions} sessions)`,
);
