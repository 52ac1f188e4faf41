// A host for the 360° viewer built on the official MCP Apps host library: AppBridge and
// PostMessageTransport from @modelcontextprotocol/ext-apps/app-bridge (bundled for the page with
// esbuild by tests/browser/bridge.py). The view runs in a sandboxed iframe under the spec's default
// CSP; the bridge's callbacks proxy tools/call and resources/read to a real wiro-mcp server (the
// test's /rpc), and everything the view asks of the host is kept in window.host for the test.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; media-src 'self' data:; connect-src 'none';";

async function rpc(method, params) {
  const answer = await (await fetch("/rpc", { method: "POST", body: JSON.stringify({ method, params }) })).json();
  if (answer.error) throw new Error(answer.error.message);
  return answer.result;
}

window.startHost = async ({ width, height, caps }) => {
  const host = (window.host = { logs: [], sizes: [], displayModes: [], requests: [], downloads: [], links: [],
    ready: false });
  const frame = document.getElementById("view");
  frame.width = width;
  frame.height = height;
  frame.setAttribute("sandbox", "allow-scripts");
  const call = await (await fetch("/call")).json();
  const html = await (await fetch("/view")).text();
  const bridge = new AppBridge(null, { name: "wiro-mcp AppBridge test host", version: "1" }, caps, {
    hostContext: {
      theme: "dark", displayMode: "inline", availableDisplayModes: ["inline", "fullscreen"],
      containerDimensions: { width, height }, platform: "desktop",
    },
  });
  bridge.oncalltool = async (params) => { host.requests.push("tools/call"); return rpc("tools/call", params); };
  bridge.onreadresource = async (params) => { host.requests.push("resources/read"); return rpc("resources/read", params); };
  bridge.ondownloadfile = async (params) => { host.downloads.push(params); return {}; };
  bridge.onopenlink = async (params) => { host.links.push(params); return {}; };
  bridge.onrequestdisplaymode = async (params) => {
    host.displayModes.push(params.mode);
    bridge.setHostContext({ displayMode: params.mode });
    return { mode: params.mode };
  };
  bridge.onsizechange = (params) => host.sizes.push(params);
  bridge.onloggingmessage = (params) => host.logs.push(params.data);
  bridge.oninitialized = async () => {
    host.ready = true;
    await bridge.sendToolInput({ arguments: call.arguments });
    await bridge.sendToolResult(call.result);
  };
  // Listening before the view loads: its ui/initialize comes as soon as its script runs.
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  host.bridge = bridge;
  frame.srcdoc = html.replace("<head>", `<head><meta http-equiv="Content-Security-Policy" content="${CSP}">`);
};
