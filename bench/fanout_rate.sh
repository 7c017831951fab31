# bench/fanout_rate.sh: the fan-out broadcast of the relay benchmarks (sourced; no side
# effects): its frame rate and size, and how many viewers of it take a share of a capacity.
FANOUT_FPS=30
FANOUT_FRAME=10416 # bytes: 2.5 Mbit/s at 30 fps

# fanout_viewers_for SHARE GBPS: the viewers (rounded up to 100) whose copies of the broadcast
# add up to SHARE x GBPS; empty when GBPS is empty or not a number.
fanout_viewers_for() {
  python3 -c 'import math, sys
print(math.ceil(float(sys.argv[1]) * float(sys.argv[2]) / (int(sys.argv[3]) * int(sys.argv[4]) * 8 / 1e9) / 100) * 100)' \
    "$1" "$2" "$FANOUT_FPS" "$FANOUT_FRAME" 2>/dev/null || true
}
