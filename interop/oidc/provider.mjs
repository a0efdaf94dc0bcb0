// A real OpenID Connect provider (panva `oidc-provider`) on loopback, for the
// OIDC part of the interop suite. Client-credentials grant; resource
// indicators make the access tokens JWTs (RFC 9068, typ at+jwt) for the
// resource `urn:api` (one hour) and `urn:api:short` (one second).
//
// Usage: node oidc/provider.mjs PORT
// Generates a fresh RS256 key set at each start (kid printed), prints
// `ready <issuer> <kid>` when listening, and runs until stdin closes.
import * as jose from "jose";
import Provider from "oidc-provider";

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
const kid = `interop-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const signingKey = { ...(await jose.exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };

const RESOURCES = {
  "urn:api": { scope: "api", audience: "urn:api", accessTokenTTL: 3600 },
  "urn:api:short": { scope: "api", audience: "urn:api:short", accessTokenTTL: 1 },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "interop-client",
      client_secret: "interop-secret",
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ["interop-only-cookie-key"] },
  ttl: { ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:api",
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const resource = RESOURCES[resourceIndicator];
        if (!resource) throw new Provider.errors.InvalidTarget();
        return { ...resource, accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } };
      },
    },
  },
});
// Plain http on loopback is fine here; oidc-provider only warns about it.
provider.on("server_error", (ctx, error) => console.error("oidc-provider server_error:", error));
const server = provider.listen(port, "127.0.0.1");
await new Promise((resolve, reject) => {
  server.once("listening", resolve);
  server.once("error", reject);
});
console.log(`ready ${issuer} ${kid}`);
process.stdin.resume();
process.stdin.on("end", () => server.close(() => process.exit(0)));
