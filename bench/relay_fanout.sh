#!/usr/bin/env bash
# relay_fanout.sh: moqc-relay fan-out on loopback, driven by `moqc bench`.
#
# One 2.5 Mbps broadcast (30 fps, 10416-byte frames, groups of 60 frames) to S viewers, over raw
# QUIC (moql://), over WebTransport (https://) and over WebSocket (ws://), for each S in $FANOUT_S. A fresh relay per run; for
# each run: delivered fraction, delivered Gbps, relay CPU seconds per delivered GB (utime+stime
# from /proc/<pid>/stat), relay peak RSS, latency p50/p99 (publisher write -> subscriber read),
# and the CPU of both processes: over the whole run, and while publishing only (the relay's from
# /proc samples every 0.2 s interpolated at the publishing window `moqc bench` reports; the load
# generator's from its own run_cpu_s).
# Then bench_quic_bulk in the same run, and the ratio delivered Gbps / raw QUIC Gbps.
# Prints Markdown; never asserts times.
#
# usage: bench/relay_fanout.sh [BUILD_DIR (default build)]
#   FANOUT_S="10 100 500 1000"  FANOUT_SECONDS=10  FANOUT_TRANSPORTS="quic wt ws"
#   (quic: moql://, wt: WebTransport over https://, ws: WebSocket)
#   RELAY_FLAGS="--server-workers 1": extra relay flags (bench/lib.sh)
#   FANOUT_BENCH_THREADS=1: event loops of the load generator (moqc bench --threads)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
BIN=$build/bin
S_LIST=${FANOUT_S:-10 100 500 1000}
SECONDS_RUN=${FANOUT_SECONDS:-10}
TRANSPORTS=${FANOUT_TRANSPORTS:-quic wt ws}
BENCH_THREADS=${FANOUT_BENCH_THREADS:-1}
source "$top/bench/lib.sh"
source "$top/bench/fanout_rate.sh"

echo "### Relay fan-out: one 2.5 Mbps broadcast (30 fps x 10416 B, groups of 60) to S viewers, ${SECONDS_RUN} s${RELAY_FLAGS:+, relay $RELAY_FLAGS}, load generator on $BENCH_THREADS loop(s)"
echo
echo "| transport | S | delivered | lost groups | delivered Gbps | relay CPU s / delivered GB | delivered MB per relay CPU s | relay CPU % | relay peak RSS MiB | p50 ms | p99 ms | bench CPU % | relay CPU % publishing | bench CPU % publishing |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
best_quic_gbps=0
best_quic_s=0
best_quic_eff=0
for tr in $TRANSPORTS; do
  for S in $S_LIST; do
    start_relay
    if [ "$tr" = quic ]; then
      url="moql://127.0.0.1:$QPORT/"
      tls=(--tls-fingerprint "$FP")
    elif [ "$tr" = wt ]; then
      url="https://127.0.0.1:$QPORT/"
      tls=(--tls-fingerprint "$FP")
    else
      url="ws://127.0.0.1:$WPORT/"
      tls=()
    fi
    start_sampler 0.2
    c0=$(cpu_ticks "$RELAY_PID")
    t0=$(date +%s.%N)
    rc=0
    /usr/bin/time -f "%U %S %e" -o "$WORK/btime" "$BIN/moqc" bench "$url" "${tls[@]}" \
      --publishers 1 --subscribers "$S" --fps "$FANOUT_FPS" --frame-size "$FANOUT_FRAME" --group-frames 60 \
      --duration "$SECONDS_RUN" --startup-timeout 60 --drain 5 --connect-rate 500 --quiet \
      --threads "$BENCH_THREADS" \
      >"$WORK/out.json" 2>"$WORK/bench.err" || rc=$?
    c1=$(cpu_ticks "$RELAY_PID")
    stop_sampler
    stop_relay
    if [ ! -s "$WORK/out.json" ]; then
      echo "| $tr | $S | failed (exit $rc): $(tail -1 "$WORK/bench.err") | | | | | | | | | | | |"
      continue
    fi
    read -r bu bs be <"$WORK/btime"
    python3 - "$WORK/out.json" "$tr" "$S" "$c0" "$c1" "$CLK" "$WORK/rss" "$bu" "$bs" "$be" "$rc" >"$WORK/row" <<'PY'
import json, sys
out, tr, S, c0, c1, clk, rssf, bu, bs, be, rc = sys.argv[1:]
j = json.loads(open(out).read().strip().splitlines()[-1])
cpu = (int(c1) - int(c0)) / int(clk)
gb = j["received_bytes"] / 1e9
samples = [tuple(map(float, l.split())) for l in open(rssf) if len(l.split()) == 3]
rss = max([x[1] for x in samples] or [0]) / 1024
def ticks_at(t):
    # The relay's CPU ticks at unix time t, interpolated between samples.
    for a, b in zip(samples, samples[1:]):
        if a[0] <= t <= b[0]:
            return a[2] + (b[2] - a[2]) * (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else a[2]
    return None
rs, re_ = j.get("run_start_unix", 0), j.get("run_end_unix", 0)
t0, t1 = (ticks_at(rs), ticks_at(re_)) if re_ > rs else (None, None)
relay_run = f"{100 * (t1 - t0) / int(clk) / (re_ - rs):.0f}" if t0 is not None and t1 is not None else "n/a"
bench_run = f"{100 * j['run_cpu_s'] / (re_ - rs):.0f}" if re_ > rs and "run_cpu_s" in j else "n/a"
gbps = j["egress_mbps"] / 1000
secs = float(be)
note = "" if rc == "0" else f" (exit {rc})"
print(f"| {tr} | {S} | {j['delivered_fraction']:.4f}{note} | {j['lost_groups']} | {gbps:.3f} | "
      f"{cpu / gb if gb > 0 else 0:.2f} | {1000 * gb / cpu if cpu > 0 else 0:.0f} | "
      f"{100 * cpu / secs:.0f} | {rss:.1f} | "
      f"{j['latency_p50_ms']:.2f} | {j['latency_p99_ms']:.2f} | "
      f"{100 * (float(bu) + float(bs)) / secs:.0f} | {relay_run} | {bench_run} |")
print(f"#GBPS {gbps} {j['delivered_fraction']} {j['latency_p99_ms']} {1000 * gb / cpu if cpu > 0 else 0}")
PY
    grep -v '^#GBPS' "$WORK/row"
    read -r _ g d p99 eff < <(grep '^#GBPS' "$WORK/row")
    if [ "$tr" = quic ] && python3 -c "import sys; sys.exit(0 if float('$g') > float('$best_quic_gbps') and float('$d') >= 0.999 else 1)"; then
      best_quic_gbps=$g
      best_quic_s=$S
      best_quic_eff=$eff
    fi
  done
done
echo
"$build/bench/bench_quic_bulk" 3 >"$WORK/bulk" 2>&1 || true
bulk_mbs=$(sed -n 's/.*throughput *\([0-9.]*\) MB\/s.*/\1/p' "$WORK/bulk")
bulk_gbps=$(sed -n 's/.*MB\/s (\([0-9.]*\) Gbit\/s).*/\1/p' "$WORK/bulk")
bulk_eff=$(sed -n 's/.*= *\([0-9.]*\) MB per CPU-second.*/\1/p' "$WORK/bulk")
bulk_send_eff=$(sed -n 's/.*= *\([0-9.]*\) MB per sender CPU-second.*/\1/p' "$WORK/bulk")
echo "Raw QUIC capacity (bench_quic_bulk, same run): ${bulk_mbs} MB/s = ${bulk_gbps} Gbit/s payload, one connection, ${bulk_eff} MB per CPU-second (sender and receiver), ${bulk_send_eff} MB per sender CPU-second."
max_s=0
for S in $S_LIST; do [ "$S" -gt "$max_s" ] && max_s=$S; done
need=$(fanout_viewers_for 0.6 "$bulk_gbps")
python3 - "$best_quic_gbps" "$best_quic_s" "$bulk_gbps" "$best_quic_eff" "${bulk_eff:-0}" "${bulk_send_eff:-0}" "$max_s" "${need:-0}" "$FANOUT_FPS" "$FANOUT_FRAME" <<'PY'
import sys
g, s, bulk = float(sys.argv[1]), sys.argv[2], float(sys.argv[3] or 0)
eff, bulk_eff, send_eff = float(sys.argv[4]), float(sys.argv[5] or 0), float(sys.argv[6] or 0)
max_s, need, fps, frame = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
if g > 0 and bulk > 0:
    print(f"Relay fan-out over raw QUIC, best run with >= 99.9% delivered (S = {s}): {g:.3f} Gbit/s "
          f"= **{g / bulk:.3f} x raw QUIC capacity** (target >= 0.6).")
    # What the S list can show at all: S viewers of the broadcast take S x its rate, whatever
    # the relay could do.
    offered = max_s * fps * frame * 8 / 1e9
    print(f"Ceiling of this S list: S = {max_s} offers {offered:.3f} Gbit/s = {offered / bulk:.3f} x raw QUIC "
          f"capacity; 0.6 x needs S >= {need} (FANOUT_S), with cores for the relay and for the load "
          f"generator (FANOUT_BENCH_THREADS).")
    if bulk_eff > 0:
        print(f"Per CPU second, the same run delivered {eff:.0f} MB per relay CPU-second = "
              f"{eff / bulk_eff:.3f} x bench_quic_bulk's {bulk_eff:.0f} MB per CPU-second.")
    if send_eff > 0:
        print(f"Per sending core: {eff:.0f} MB per relay CPU-second = **{eff / send_eff:.3f} x "
              f"bench_quic_bulk's sender** ({send_eff:.0f} MB per sender CPU-second); with one "
              f"relay worker per core this is the share of raw QUIC capacity each core delivers.")
else:
    print("Relay fan-out over raw QUIC: no run delivered >= 99.9%; ratio not computed.")
PY
