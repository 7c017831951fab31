// check_stats.mjs: compares the relay's /stats JSON with what the clients counted.
//
// usage: node check_stats.mjs <stats-url> <path> <pub.json> <sub.json>... 
//   Each JSON file holds the one line pub.mjs or sub.mjs printed: {groups, frames, bytes}.
//   Exits 0 when ingress equals the publisher's totals, egress equals the sum of the
//   subscribers', viewers opened and closed equal the subscriber count, and every session closed.
import { readFileSync } from "node:fs";

const [statsUrl, path, pubFile, ...subFiles] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(f, "utf8").trim().split("\n").pop());
const pub = read(pubFile);
const subs = subFiles.map(read);
const sum = (k) => subs.reduce((a, s) => a + s[k], 0);

const res = await fetch(statsUrl);
const stats = await res.json();
const tier = stats.tiers?.[""];
const fail = (msg) => {
  console.error(`check_stats: ${msg}\n${JSON.stringify(stats)}`);
  process.exit(1);
};
if (!tier) fail("no default tier");
const ingress = tier.subscriber?.[path];
const egress = tier.publisher?.[path];
if (!ingress) fail(`no ingress entry for ${path}`);
if (!egress) fail(`no egress entry for ${path}`);
const expect = (what, got, want) => {
  if (got !== want) fail(`${what}: relay counted ${got}, clients ${want}`);
};
for (const k of ["groups", "frames", "bytes"]) expect(`ingress ${k}`, ingress[k], pub[k]);
for (const k of ["frames", "bytes"]) expect(`egress ${k}`, egress[k], sum(k));
expect("egress groups", egress.groups, sum("groups"));
expect("viewers opened", egress.broadcasts, subs.length);
expect("viewers closed", egress.broadcasts_closed, subs.length);
for (const [root, s] of Object.entries(tier.sessions ?? {})) {
  expect(`sessions closed under "${root}"`, s.sessions_closed, s.sessions);
}
console.error(`check_stats: exact (ingress ${pub.frames} frames, egress ${sum("frames")} frames to ${subs.length} subscribers)`);
