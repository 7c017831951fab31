// Entry of the browser bundle: exposes @moq/net 0.3.4 (from tests/interop/node_modules) as
// window.Moq. Built by tests/browser/build-bundle.sh or by test_transport_wt_browser.c with
// esbuild (NODE_PATH=tests/interop/node_modules).
import * as Moq from "@moq/net";
window.Moq = Moq;
