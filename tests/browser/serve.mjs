// serve.mjs: the static server of the shell-driven browser tests. Serves the files of DIR on
// http://127.0.0.1:PORT (a secure context for Chromium), /go (200 once GO_FILE exists, else
// 404), and /result?MESSAGE (appended as one line to RESULT_FILE). Prints "listening PORT" on
// stdout once ready (port 0 picks a free one).
//
// usage: node tests/browser/serve.mjs <dir> <go-file> <result-file> [port=0]
import { createServer } from "node:http";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join, normalize, extname } from "node:path";

const [dir, goFile, resultFile, portArg = "0"] = process.argv.slice(2);
if (!resultFile) {
  console.error("usage: node serve.mjs <dir> <go-file> <result-file> [port]");
  process.exit(2);
}
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript" };
const server = createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  if (u.pathname === "/go") {
    res.writeHead(existsSync(goFile) ? 200 : 404).end();
    return;
  }
  if (u.pathname === "/result") {
    appendFileSync(resultFile, decodeURIComponent(u.search.slice(1)) + "\n");
    res.writeHead(200).end();
    return;
  }
  const file = normalize(join(dir, u.pathname));
  if (!file.startsWith(normalize(dir)) || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
  res.end(readFileSync(file));
});
server.listen(Number(portArg), "127.0.0.1", () => console.log(`listening ${server.address().port}`));
