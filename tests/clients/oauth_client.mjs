// The official TypeScript MCP client's own OAuth support, driven headlessly from tests/auth/test_official_client.py:
// StreamableHTTPClientTransport with an OAuthClientProvider meets the server's 401, discovers the protected
// resource's metadata and the authorization server's, starts the authorization code flow with PKCE and the
// resource indicator, and redeems the code; only the person's part (the provider's login and consent pages)
// is played here, as a browser would post them.
//
//   node oauth_client.mjs '<target JSON>'   target: {url, client_id, redirect_uri, user, mode, tool, arguments}
// Prints one JSON line: {authorizationUrl, tokenScope, result} or {thrown}.
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";

const target = JSON.parse(process.argv[2]);
let verifier;
let tokens;
let callback;
let authorizationUrl;

// The person in a browser: follow redirects with the provider's cookies, sign in, consent.
async function browse(start) {
  const cookies = new Map();
  const jar = () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  let url = start;
  let body;
  for (let step = 0; step < 14; step++) {
    const answer = await fetch(url, {
      method: body ? "POST" : "GET",
      redirect: "manual",
      headers: { cookie: jar(), ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body,
    });
    for (const line of answer.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
    body = undefined;
    const location = answer.headers.get("location");
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(target.redirect_uri)) return next.searchParams;
      url = next;
      continue;
    }
    const page = await answer.text();
    const uid = new URL(url).pathname.split("/").filter(Boolean).pop();
    const login = page.includes('name="login"');
    url = new URL(`/interaction/${uid}`, url);
    body = new URLSearchParams(login ? { prompt: "login", login: target.user, password: "any" } : { prompt: "consent" });
  }
  throw new Error("the sign-in never came back to the redirect URI");
}

const provider = {
  get redirectUrl() {
    return target.redirect_uri;
  },
  get clientMetadata() {
    return {
      client_name: "wiro-mcp tests (official client)",
      redirect_uris: [target.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  },
  clientInformation: () => ({ client_id: target.client_id }),
  tokens: () => tokens,
  saveTokens: (saved) => {
    tokens = saved;
  },
  saveCodeVerifier: (saved) => {
    verifier = saved;
  },
  codeVerifier: () => verifier,
  redirectToAuthorization: async (url) => {
    authorizationUrl = url.href;
    callback = await browse(url);
  },
};

const versions = target.mode === "legacy" ? { prior: { kind: "legacy" } } : undefined;
const client = new Client({ name: "wiro-mcp-oauth-test", version: "1.0.0" });
try {
  let transport = new StreamableHTTPClientTransport(new URL(target.url), { authProvider: provider });
  try {
    await client.connect(transport, versions);
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || !callback) throw error;
    await transport.finishAuth(callback);
    transport = new StreamableHTTPClientTransport(new URL(target.url), { authProvider: provider });
    await client.connect(transport, versions);
  }
  const result = await client.callTool({ name: target.tool, arguments: target.arguments });
  console.log(JSON.stringify({ authorizationUrl, tokenScope: tokens?.scope, result }));
  await client.close();
} catch (error) {
  console.log(JSON.stringify({ authorizationUrl, thrown: String(error?.stack || error) }));
}
