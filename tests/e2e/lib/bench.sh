# moqc bench in the end-to-end tests: one flag set and the check of its summary against the
# relay's /stats. Source after relay.sh and cli.sh.

# 2 broadcasts x 3 subscribers for 1.5 s at a low rate: an idle loopback delivers every frame.
BENCH_FLAGS=(--publishers 2 --subscribers 3 --fps 40 --duration 1.5 --frame-size 500 --group-frames 6
  --startup-timeout 10 --drain 5)

# check_bench FILE PREFIX: a BENCH_FLAGS run is whole (every frame, no lost group) and /stats
# (STATS_URL) agrees with it per broadcast: ingress = what the publishers sent, egress = what the
# subscribers received, one viewer per subscriber.
check_bench() {
  local file=$1 prefix=$2
  expect_json "$file" publishers 2 subscribers 6 connected 8 subscribed 6 sent_groups 20 \
    sent_frames 120 sent_bytes 60000 expected_frames 360 received_frames 360 received_groups 60 \
    complete_groups 60 bad_frames 0 delivered_fraction 1 lost_groups 0
  curl -sf "$STATS_URL" >"$WORK/stats-$prefix.json" || fail "no /stats"
  node -e '
    const fs = require("fs");
    const [benchFile, statsFile, prefix] = process.argv.slice(1);
    const b = JSON.parse(fs.readFileSync(benchFile, "utf8").trim().split("\n").pop());
    const t = JSON.parse(fs.readFileSync(statsFile, "utf8")).tiers[""];
    const bad = (m) => { console.error(`${prefix}: ${m}\n${JSON.stringify(t)}`); process.exit(1); };
    if (!(b.latency_p50_ms > 0 && b.latency_p99_ms >= b.latency_p50_ms)) bad("latency not measured");
    if (!(b.egress_mbps > 0 && Math.abs(b.egress_mbps - 3 * b.ingress_mbps) < 1e-3 * b.egress_mbps + 0.002))
      bad(`egress ${b.egress_mbps} Mbps is not 3 x ingress ${b.ingress_mbps}`);
    if (b.broadcasts.length !== 2) bad("want 2 broadcasts");
    for (const x of b.broadcasts) {
      if (!x.path.startsWith(prefix + "/")) bad(`path ${x.path}`);
      const ing = t.subscriber?.[x.path], eg = t.publisher?.[x.path];
      if (!ing || !eg) bad(`no stats for ${x.path}`);
      for (const k of ["groups", "frames", "bytes"]) {
        if (ing[k] !== x["sent_" + k]) bad(`${x.path} ingress ${k}: relay ${ing[k]}, bench ${x["sent_" + k]}`);
        if (eg[k] !== x["received_" + k]) bad(`${x.path} egress ${k}: relay ${eg[k]}, bench ${x["received_" + k]}`);
      }
      if (eg.broadcasts !== 3 || eg.subscriptions !== 3) bad(`${x.path}: ${eg.broadcasts} viewers, want 3`);
    }
    console.error(`${prefix}: /stats equals bench (${b.received_frames} frames delivered, p99 ${b.latency_p99_ms} ms)`);
  ' "$file" "$WORK/stats-$prefix.json" "$prefix" || fail "/stats differs from bench ($prefix)"
}
