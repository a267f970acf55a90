// A real OpenID Connect provider (npm oidc-provider) for Facteur's OIDC tests and for trying
// OIDC on one machine. Development only: it accepts any login with any password.
//
//   node server.mjs PORT [RP_BASE_URL ...]
//
// Listens on http://127.0.0.1:PORT (the issuer). One client:
//   client_id     facteur
//   client_secret facteur-test-secret   (client_secret_post, as mozilla-django-oidc sends it)
//   grants        authorization_code (PKCE S256 required) + refresh_token
//   redirect URIs <RP_BASE_URL>/oidc/callback/, post-logout <RP_BASE_URL>/ for every
//                 RP_BASE_URL given (default: http://127.0.0.1:8000 and http://localhost:8000)
//
// Accounts: the login form (devInteractions) takes any login; the login becomes the `sub`,
// with email <login>@example.test (verified) and a name derived from the login. Tests change
// an account's claims with `PUT /_test/accounts/<login>` and a JSON body of claims (a claim
// set to null is left out); `DELETE /_test/accounts/<login>` restores the defaults.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const CLIENT_ID = 'facteur';
const CLIENT_SECRET = 'facteur-test-secret';

const [portArg, ...rpArgs] = process.argv.slice(2);
const port = Number.parseInt(portArg ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs PORT [RP_BASE_URL ...]');
  process.exit(2);
}
const rpBases = (rpArgs.length ? rpArgs : ['http://127.0.0.1:8000', 'http://localhost:8000'])
  .map((base) => base.replace(/\/+$/, ''));
const issuer = `http://127.0.0.1:${port}`;

// A fresh signing key at every start: nothing secret is stored on disk.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `facteur-test-${randomBytes(4).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

const overrides = new Map();

function defaultClaims(login) {
  const local = login.split('@')[0];
  const words = local.split(/[._-]+/).filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1));
  return {
    sub: login,
    email: login.includes('@') ? login : `${login}@example.test`,
    email_verified: true,
    name: words.join(' '),
    given_name: words[0] ?? '',
    family_name: words.slice(1).join(' '),
  };
}

function accountClaims(login) {
  const claims = { ...defaultClaims(login), ...(overrides.get(login) ?? {}) };
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null));
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'Facteur (tests)',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    redirect_uris: rpBases.map((base) => `${base}/oidc/callback/`),
    post_logout_redirect_uris: rpBases.map((base) => `${base}/`),
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        // `sub` may be overridden (or removed) by a test, never the account id itself.
        return accountClaims(id);
      },
    };
  },
});

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

// Test-only account control, before the provider's own routes.
provider.use(async (ctx, next) => {
  const match = /^\/_test\/accounts\/([^/]+)$/.exec(ctx.path);
  if (!match) {
    await next();
    return;
  }
  const login = decodeURIComponent(match[1]);
  if (ctx.method === 'PUT') {
    overrides.set(login, await readJson(ctx.req));
  } else if (ctx.method === 'DELETE') {
    overrides.delete(login);
  } else if (ctx.method !== 'GET') {
    ctx.status = 405;
    return;
  }
  ctx.body = accountClaims(login);
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer} (client ${CLIENT_ID}, RPs ${rpBases.join(' ')})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
