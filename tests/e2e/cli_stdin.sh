#!/usr/bin/env bash
# moqc pub --stdin -> moqc-relay -> moqc sub --output: a file and a pipe go through the relay
# byte for byte (each read chunk a frame, a group per --frames-per-group frames), with the
# relay's /stats equal to the clients' counts; a waiting subscriber stops cleanly on SIGINT.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
start_relay --server-bind "127.0.0.1:$(free_port)" --stats-interval 600

head -c 300000 /dev/urandom >"$WORK/in.bin"

# 1. A regular file: reads of exactly --frame-size bytes.
"$BIN/moqc" sub "$URL/anon" file --no-check --json --output "$WORK/out.bin" --timeout 20 \
  >"$WORK/sub.json" 2>"$WORK/sub.err" &
S=$!
"$BIN/moqc" pub "$URL/anon" file --stdin --frame-size 10000 --frames-per-group 4 \
  --wait-subscriber --delay 200 <"$WORK/in.bin" >"$WORK/pub.json" 2>"$WORK/pub.err" ||
  { cat "$WORK/pub.err"; fail "publisher failed"; }
wait $S || { cat "$WORK/sub.err"; fail "subscriber failed"; }
expect_json "$WORK/pub.json" groups 8 frames 30 bytes 300000
expect_json "$WORK/sub.json" groups 8 frames 30 bytes 300000 aborted_groups 0
cmp "$WORK/in.bin" "$WORK/out.bin" || fail "the file changed on its way"
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" anon/file "$WORK/pub.json" "$WORK/sub.json" ||
  fail "metering does not match the clients"

# 2. A pipe, written in bursts, to a subscriber writing to its stdout.
"$BIN/moqc" sub "$URL/anon" pipe --no-check --json --output - --timeout 20 \
  >"$WORK/out2.bin" 2>"$WORK/sub2.err" &
S=$!
{ sleep 0.4; printf 'hello '; sleep 0.05; printf 'world\n'; sleep 0.05; cat "$WORK/in.bin"; } |
  "$BIN/moqc" pub "$URL/anon" pipe --stdin --frames-per-group 10 --wait-subscriber \
    >"$WORK/pub2.json" 2>"$WORK/pub2.err" || { cat "$WORK/pub2.err"; fail "publisher 2 failed"; }
wait $S || { cat "$WORK/sub2.err"; fail "subscriber 2 failed"; }
{ printf 'hello world\n'; cat "$WORK/in.bin"; } | cmp - "$WORK/out2.bin" ||
  fail "the piped bytes changed on their way"
expect_json "$WORK/pub2.json" bytes 300012
tail -1 "$WORK/sub2.err" >"$WORK/sub2.json" # the summary goes to stderr with --output -
expect_json "$WORK/sub2.json" bytes 300012 aborted_groups 0
node -e 'const [a,b]=process.argv.slice(1).map(f=>JSON.parse(require("fs").readFileSync(f,"utf8").trim().split("\n").pop()));
  if (a.frames !== b.frames || a.groups !== b.groups) process.exit(1)' "$WORK/pub2.json" "$WORK/sub2.json" ||
  fail "pipe: published $(cat "$WORK/pub2.json"), received $(cat "$WORK/sub2.json")"

# 3. SIGINT while waiting for an announce: a clean exit 0 with an empty summary.
"$BIN/moqc" sub "$URL/anon" nobody --json >"$WORK/sub3.json" 2>"$WORK/sub3.err" &
S=$!
sleep 0.3
kill -INT $S
wait $S || { cat "$WORK/sub3.err"; fail "subscriber did not exit 0 on SIGINT"; }
expect_json "$WORK/sub3.json" frames 0 groups 0
stop_relay
echo "ok: file $(cat "$WORK/pub.json"), pipe $(cat "$WORK/pub2.json")"
