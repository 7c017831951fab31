#!/usr/bin/env bash
# GET /fetch/<broadcast>/<track> through moqc-relay: an npm publisher writes 4 known groups (3
# frames of 200 bytes, the payload.mjs format) to a live npm viewer and holds the track open;
# `curl /fetch/anon/f/clock` must return the latest group's bytes exactly (X-Moq-Group 3) and
# `?group=1` group 1's. /stats and /metrics then count the latest fetch as a viewer with a
# subscription and one group, the numbered one as a fetch (no group), frames and bytes exact.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
need_interop
start_relay --stats-interval 600

WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" f 12 30 >"$WORK/sub.json" 2>"$WORK/sub.err" &
S=$!
PUB_HOLD_FILE="$WORK/hold" PUB_DELAY_MS=700 npm_peer pub.mjs "$URL/anon" f 4 3 200 30 \
  >"$WORK/pub.json" 2>"$WORK/pub.err" &
P=$!
# The viewer has read all 4 groups once /stats shows 12 frames out.
for _ in $(seq 1 300); do
  curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/f":{[^}]*"frames":12,' && break
  sleep 0.05
done
curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/f":{[^}]*"frames":12,' || fail "the viewer did not get 4 groups"

# Expected bodies: the frames' payloads back to back.
expect() {
  (cd "$INTEROP" && node --input-type=module -e '
    import { framePayload } from "./payload.mjs";
    const g = Number(process.argv[1]);
    for (let f = 0; f < 3; f++) process.stdout.write(framePayload(g, f, 200));' "$1")
}
expect 3 >"$WORK/want3.bin"
expect 1 >"$WORK/want1.bin"
curl -sf -D "$WORK/latest.hdr" -o "$WORK/latest.bin" "$URL/fetch/anon/f/clock" || fail "/fetch latest"
grep -qi '^X-Moq-Group: 3' "$WORK/latest.hdr" || fail "/fetch latest: $(cat "$WORK/latest.hdr")"
cmp "$WORK/latest.bin" "$WORK/want3.bin" || fail "/fetch latest: bytes differ"
curl -sf -D "$WORK/g1.hdr" -o "$WORK/g1.bin" "$URL/fetch/anon/f/clock?group=1" || fail "/fetch ?group=1"
grep -qi '^X-Moq-Group: 1' "$WORK/g1.hdr" || fail "/fetch ?group=1: $(cat "$WORK/g1.hdr")"
cmp "$WORK/g1.bin" "$WORK/want1.bin" || fail "/fetch ?group=1: bytes differ"

touch "$WORK/hold"
wait $P || { tail -20 "$WORK/pub.err"; fail "publisher failed"; }
wait $S || { tail -20 "$WORK/sub.err"; fail "subscriber failed"; }
expect_json() { grep -q "$2" "$1" || fail "$(basename "$1"): $(cat "$1")"; }
expect_json "$WORK/pub.json" '{"groups":4,"frames":12,"bytes":2400}'
expect_json "$WORK/sub.json" '{"groups":4,"frames":12,"bytes":2400}'
# What the two fetches read, as readers: the latest one a group, the numbered one none.
echo '{"groups":1,"frames":3,"bytes":600}' >"$WORK/fetch_latest.json"
echo '{"groups":0,"frames":3,"bytes":600}' >"$WORK/fetch_group.json"
sleep 0.3
# Viewers: the npm sub and the latest fetch; fetches: the numbered one; sessions: 2 WebSocket
# sessions under "anon" and one metering session per fetch under "".
npm_peer check_totals.mjs "http://127.0.0.1:$INTERNAL_PORT" anon/f "$WORK/pub.json" "$WORK/sub.json" \
  "$WORK/fetch_latest.json" "$WORK/fetch_group.json" --viewers 2 --subscriptions 2 --fetches 1 --sessions 4 ||
  fail "metering does not match the clients"
curl -sf "$STATS_URL" | grep -q '"sessions":{"":{"sessions":2,"sessions_closed":2}' || fail "fetch sessions not under \"\""
stop_relay
echo "ok: latest group 3 and group 1 fetched byte for byte, metered exactly"
