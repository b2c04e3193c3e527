// A real OpenID Connect provider on loopback for the single sign-on tests (tests/accounts/test_sso*.py).
// Usage: node provider.mjs <port> <client_id> <client_secret> <redirect_uri>
// Any login name is accepted on its development login page; the account's claims are derived from that name.
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "preferred_username"],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@sso.example.org`,
          email_verified: true,
          preferred_username: id,
          name: `${id} Example`,
          given_name: id,
          family_name: "Example",
        };
      },
    };
  },
  cookies: { keys: ["corral-test-provider-cookie-key"] },
  features: { devInteractions: { enabled: true } },
});

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
