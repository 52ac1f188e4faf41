// panva's oidc-provider (a certified OpenID Provider) as the tests' authorization server, on loopback.
// One public client with PKCE; resource indicators (RFC 8707) with JWT access tokens for any resource
// whose URL matches the config's pattern; its development login and consent pages (any name signs
// in), which the tests post to headlessly.
//
//   node oidc_provider.mjs '<config JSON>'   → prints "ready <issuer>" once it listens
//   config: { port, client_id, redirect_uri, resources: { pattern, scope }, jwks?, ttl?, claims? }
//   claims: { "<account>": { ...extra access token claims } }
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const resources = new RegExp(config.resources.pattern);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      application_type: "native",
      token_endpoint_auth_method: "none",
      redirect_uris: [config.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  ...(config.jwks ? { jwks: config.jwks } : {}),
  scopes: ["openid", ...config.resources.scope.split(" ")],
  extraTokenClaims: async (_ctx, token) => (config.claims || {})[token.accountId],
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (!resources.test(indicator)) throw new Error(`unknown resource ${indicator}`);
        return {
          scope: config.resources.scope,
          audience: indicator,
          accessTokenTTL: config.ttl || 600,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "RS256" } },
        };
      },
    },
  },
  pkce: { required: () => true },
});
provider.on("server_error", (_ctx, error) => console.error("server_error", error));

provider.listen(config.port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
