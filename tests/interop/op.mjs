// panva's oidc-provider (certified OpenID provider) playing VNeID for the gateway, on loopback.
//
// An implementation we did not write, configured as the national public-service portal is
// described: the portal's claim names (TechID, SoDinhDanh, HoVaTen, NgayThangNamSinh, GioiTinh,
// SoDienThoai, LoaiTaiKhoan, loAs) released with the openid scope, PKCE required, the iss
// authorization-response parameter (RFC 9207), and ID tokens that carry only what the spec
// says when an access token can fetch the rest (conformIdTokenClaims): the gateway must read
// userinfo. The login "interaction" is a tiny page of its own: choose an account, or cancel.
//
// Environment: PORT, GATEWAY_CALLBACK (the redirect URI), CLIENT_ID, and CLIENT_SECRET or
// CLIENT_JWKS (the gateway's public keys: private_key_jwt), ACCOUNTS (JSON {id: claims}),
// ID_TOKEN_ALG (RS256 by default). Prints "ready <issuer>" once it listens.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import Provider from 'oidc-provider'

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback
  if (value === undefined || value === '') throw new Error(`missing environment variable ${name}`)
  return value
}

const PORT = Number(env('PORT'))
const ISSUER = `http://127.0.0.1:${PORT}`
const ACCOUNTS = JSON.parse(env('ACCOUNTS'))
const PORTAL_CLAIMS = ['TechID', 'SoDinhDanh', 'HoVaTen', 'NgayThangNamSinh', 'GioiTinh',
  'SoDienThoai', 'LoaiTaiKhoan', 'loAs']

function signingKey (type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options)
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-${randomBytes(4).toString('hex')}` }
}

const client = {
  client_id: env('CLIENT_ID'),
  redirect_uris: [env('GATEWAY_CALLBACK')],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: env('ID_TOKEN_ALG', 'RS256')
}
if (process.env.CLIENT_JWKS) {
  client.token_endpoint_auth_method = 'private_key_jwt'
  client.jwks = JSON.parse(process.env.CLIENT_JWKS)
} else {
  client.token_endpoint_auth_method = 'client_secret_basic'
  client.client_secret = env('CLIENT_SECRET')
}

const provider = new Provider(ISSUER, {
  clients: [client],
  jwks: {
    keys: [signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256')]
  },
  claims: { openid: ['sub', ...PORTAL_CLAIMS] },
  scopes: ['openid'],
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount (_ctx, id) {
    if (!ACCOUNTS[id]) return undefined
    return { accountId: id, claims: async () => ({ sub: id, ...ACCOUNTS[id] }) }
  },
  // The person consented at VNeID long ago: every sign-in is granted the portal's claims.
  async loadExistingGrant (ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId ||
      ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
    if (grantId) return ctx.oidc.provider.Grant.find(grantId)
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId
    })
    grant.addOIDCScope('openid')
    grant.addOIDCClaims(['sub', ...PORTAL_CLAIMS])
    await grant.save()
    return grant
  }
})

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

async function form (req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

// The login page of this "VNeID": one form per account, and a cancel button.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login|\/abort)?$/)
  if (!match) return next()
  const [, uid, action] = match
  const details = await provider.interactionDetails(ctx.req, ctx.res)
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch')
  if (ctx.method === 'GET' && !action) {
    const rows = Object.entries(ACCOUNTS).map(([id, claims]) =>
      `<form method="post" action="/interaction/${uid}/login"><input type="hidden" name="account" value="${escape(id)}"><button data-account="${escape(id)}">${escape(claims.HoVaTen)}</button></form>`)
    ctx.type = 'html'
    ctx.body = `<!doctype html><title>VNeID (oidc-provider)</title>${rows.join('')}` +
      `<form method="post" action="/interaction/${uid}/abort"><button id="cancel">Huỷ</button></form>`
    return undefined
  }
  if (ctx.method !== 'POST') ctx.throw(405)
  const result = action === '/login'
    ? { login: { accountId: (await form(ctx.req)).get('account') } }
    : { error: 'access_denied', error_description: 'the person cancelled' }
  const location = await provider.interactionResult(ctx.req, ctx.res, result,
    { mergeWithLastSubmission: false })
  ctx.status = 303
  ctx.redirect(location)
  return undefined
})

provider.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`ready ${ISSUER}\n`)
})
