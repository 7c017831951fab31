# Helpers for the moqc CLI end-to-end tests. Source after relay.sh.

# expect_json FILE KEY VALUE [KEY VALUE...]: the last line of FILE is a JSON object whose keys
# have exactly these (numeric) values.
expect_json() {
  local file=$1
  shift
  node -e '
    const fs = require("fs");
    const [file, ...kv] = process.argv.slice(1);
    const line = fs.readFileSync(file, "utf8").trim().split("\n").pop();
    const o = JSON.parse(line);
    for (let i = 0; i < kv.length; i += 2) {
      if (String(o[kv[i]]) !== kv[i + 1]) {
        console.error(`${file}: ${kv[i]} is ${o[kv[i]]}, want ${kv[i + 1]}: ${line}`);
        process.exit(1);
      }
    }' "$file" "$@" || fail "unexpected counts in $(basename "$file")"
}
