// The peer of `python -m bench --peer`: panva's oidc-provider (OpenID Certified), configured as
// the gateway is for the grants the benchmark compares, on loopback.
//
//   * ES256 JWT access tokens for the API resource (RFC 8707 resource indicators, RFC 9068),
//     as the gateway issues them; a second resource with opaque tokens, because the
//     provider does not store JWT access tokens and so cannot introspect them: the
//     introspection scenario introspects an opaque client_credentials token;
//   * client_credentials (the service client), authorization_code with PKCE + refresh_token
//     with rotation (the web client, offline_access), introspection (RFC 7662);
//   * the provider's own development login (devInteractions): any login name, NO password
//     check, so a login costs no password hash here (the benchmark reports our login with
//     and without the Argon2id floor). The grant is given without a consent page, as the
//     gateway gives it to a first-party client.
//   * the default in-memory adapter: no database at all (the gateway pays PostgreSQL/SQLite).
//
// Environment: PORT, WEB_CLIENT_ID, WEB_CLIENT_SECRET, REDIRECT_URI, SERVICE_CLIENT_ID,
// SERVICE_CLIENT_SECRET. Prints "ready <issuer>" once it listens.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import Provider from 'oidc-provider'

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`missing environment variable ${name}`)
  return value
}

const PORT = Number(env('PORT'))
const ISSUER = `http://127.0.0.1:${PORT}`
export const API = 'urn:vssid:bench:api'
export const OPAQUE_API = 'urn:vssid:bench:opaque'

function signingKey (type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options)
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-${randomBytes(4).toString('hex')}` }
}

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: env('WEB_CLIENT_ID'),
    client_secret: env('WEB_CLIENT_SECRET'),
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [env('REDIRECT_URI')],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES256'
  }, {
    client_id: env('SERVICE_CLIENT_ID'),
    client_secret: env('SERVICE_CLIENT_SECRET'),
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: []
  }],
  // RS256 is there because the provider insists on it for its defaults; nothing signs with it.
  jwks: {
    keys: [signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      signingKey('rsa', { modulusLength: 2048 }, 'RS256')]
  },
  scopes: ['openid', 'offline_access'], // 'api' is the resource's scope (getResourceServerInfo)
  claims: { openid: ['sub'], profile: ['name'] },
  pkce: { required: () => true },
  rotateRefreshToken: true, // as the gateway: every refresh returns a new refresh token
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf || API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource === API) {
          return { scope: 'api', audience: API, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }
        }
        if (resource === OPAQUE_API) {
          return { scope: 'api', audience: OPAQUE_API, accessTokenTTL: 300, accessTokenFormat: 'opaque' }
        }
        throw new Provider.errors.InvalidTarget()
      }
    }
  },
  async findAccount (_ctx, id) {
    return { accountId: id, claims: async () => ({ sub: id }) }
  },
  // A first-party client: the grant (openid, offline_access, the API) is given without a
  // consent page, as the gateway does; the login stays the provider's own page.
  async loadExistingGrant (ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId ||
      ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
    if (grantId) return ctx.oidc.provider.Grant.find(grantId)
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId
    })
    grant.addOIDCScope('openid offline_access')
    grant.addResourceScope(API, 'api')
    await grant.save()
    return grant
  },
  // The provider drops offline_access unless prompt=consent is asked; the gateway gives a
  // refresh token to a web client that asks for offline_access (the journey does): same here.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token')
})
provider.proxy = false

provider.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`ready ${ISSUER}\n`)
})
