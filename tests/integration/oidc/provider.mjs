// A real OpenID Connect provider (npm oidc-provider) for phigate's integration tests, on loopback.
//
//   node provider.mjs PORT KEY_FILE [ALG]
//
// Issuer http://127.0.0.1:PORT, or https://localhost:PORT when TLS_CERT and TLS_KEY (PEM files)
// are set in the environment. The signing key (RSA, private JWK) is read from KEY_FILE, or
// generated and written there with a fresh kid when the file does not exist: restarting with
// another KEY_FILE is a key rotation. ALG (default RS256) signs the JWT access tokens.
//
// Clients:
//   worker  client_credentials (secret "worker-secret"): JWT access tokens for resource
//           urn:phigate with aud "phigate" (resourceIndicators, accessTokenFormat 'jwt')
//   cli     public client, authorization code + PKCE (S256); the interaction logs in the account
//           named by login_hint (default "alice") and consents at once: no HTML to drive
//   login   public native client for `phigate login` (RFC 8252): authorization code + PKCE with
//           a loopback redirect on any port, and the device authorization grant (RFC 8628;
//           /device takes the user code, then the same auto-login interaction)
// Group membership rides in every access token as realm_access.roles (a nested claim path).
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const [port, keyFile, alg = 'RS256'] = process.argv.slice(2);
if (!port || !keyFile) {
  console.error('usage: node provider.mjs PORT KEY_FILE [ALG]');
  process.exit(2);
}

function loadKey() {
  if (fs.existsSync(keyFile)) return JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig' };
  fs.writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

const GROUPS = {
  // people
  alice: ['analysts'],
  bob: ['nobody-group'],
  // workers (client_credentials: the token's subject is the client id)
  worker: ['etl'],
};
const RESOURCE = 'urn:phigate';

const tls = process.env.TLS_CERT && process.env.TLS_KEY;
const issuer = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  jwks: { keys: [loadKey()] },
  cookies: { keys: ['phigate-test-cookie-key'] },
  clients: [
    {
      client_id: 'worker',
      client_secret: 'worker-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'cli',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    {
      client_id: 'login',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ],
  pkce: { methods: ['S256'], required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new Error('unknown resource');
        return {
          scope: 'db',
          audience: 'phigate',
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  extraTokenClaims: (ctx, token) => {
    const who = token.accountId || token.clientId;
    return { realm_access: { roles: GROUPS[who] || [] } };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

// Auto-completing interaction: log in as login_hint, grant what was asked.
provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!m) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: details.params.login_hint || 'alice' } };
  } else {
    const d = details.prompt.details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.redirect(redirectTo);
});

const ready = () => console.log(`ready ${issuer}`);
const server = tls
  ? https
      .createServer(
        { cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) },
        provider.callback(),
      )
      .listen(Number(port), '127.0.0.1', ready)
  : provider.listen(Number(port), '127.0.0.1', ready);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
