// A certified third-party relying party (panva's openid-client v6) against the gateway.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// USERNAME, PASSWORD; DEBUG_RP=1 traces the browser's requests on stderr.
//
// The person's part (the login page) is driven over plain HTTP with a hand-kept cookie jar;
// everything a relying party does is openid-client's own code: discovery, the authorization
// URL (PKCE S256, state, nonce), the code grant with its checks (state, nonce, iss per
// RFC 9207, ID token signature and claims), userinfo, refresh, introspection, revocation
// and RP-initiated logout.
//
// Prints one JSON object to stdout; exits 1 with a message on stderr at the first failure.
// The redirect URI is never fetched: nothing listens there, the code is read from Location.

import * as client from 'openid-client'

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback
  if (!value) throw new Error(`missing environment variable ${name}`)
  return value
}

const ISSUER = env('ISSUER')
const CLIENT_ID = env('CLIENT_ID')
const CLIENT_SECRET = env('CLIENT_SECRET')
const REDIRECT_URI = env('REDIRECT_URI')
const POST_LOGOUT_REDIRECT_URI = env('POST_LOGOUT_REDIRECT_URI', `${ISSUER}/`)
const USERNAME = env('USERNAME')
const PASSWORD = env('PASSWORD')
const HOPS = 10

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`)
}

// --- a browser's part: cookies and redirects by hand --------------------------------------

const jar = new Map()

function keepCookies(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';')
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const expired = attributes.some((a) => {
      const [key, v = ''] = a.trim().split('=')
      const k = key.toLowerCase()
      return (k === 'max-age' && Number(v) <= 0) || (k === 'expires' && Date.parse(v) < Date.now())
    })
    if (expired || value === '') jar.delete(name)
    else jar.set(name, value)
  }
}

function cookieHeader() {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
}

async function browse(url, init = {}) {
  const response = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers ?? {}), cookie: cookieHeader(), accept: 'text/html' },
  })
  keepCookies(response)
  if (process.env.DEBUG_RP) {
    process.stderr.write(`${init.method ?? 'GET'} ${url} -> ${response.status}\n`)
  }
  return response
}

function locationOf(response, base) {
  check(response.status === 302, `expected a 302 from ${base}, got ${response.status}`)
  const location = response.headers.get('location')
  check(location, `302 without Location from ${base}`)
  return new URL(location, base).href
}

function hiddenInput(html, name) {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`))
  check(match, `login page has no hidden input ${name}`)
  return match[1].replaceAll('&amp;', '&').replaceAll('&#34;', '"').replaceAll('&#39;', "'")
}

/** GET the authorization URL, sign in on the login page, return the redirect_uri Location. */
async function signIn(authorizationUrl) {
  let url = authorizationUrl.href
  let response = await browse(url)
  url = locationOf(response, url)
  check(new URL(url).pathname === '/login' && new URL(url).searchParams.get('flow'),
    `/authorize should send a signed-out browser to /login?flow=..., got ${url}`)
  response = await browse(url)
  check(response.status === 200, `login page answered ${response.status}`)
  const html = await response.text()
  const form = new URLSearchParams({
    csrf_token: hiddenInput(html, 'csrf_token'),
    flow: hiddenInput(html, 'flow'),
    username: USERNAME,
    password: PASSWORD,
  })
  response = await browse(new URL('/login', url).href, {
    method: 'POST',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  check(response.status === 302, `login POST answered ${response.status}: ${await response.text()}`)
  for (let hop = 0; hop < HOPS; hop++) {
    const next = locationOf(response, url)
    if (next.startsWith(REDIRECT_URI)) return next
    check(next.startsWith(ISSUER), `redirected off the gateway to ${next}`)
    url = next
    response = await browse(url)
  }
  throw new Error(`no redirect to ${REDIRECT_URI} after ${HOPS} hops`)
}

// --- the relying party: openid-client ------------------------------------------------------

async function main() {
  const result = {}
  const config = await client.discovery(
    new URL(ISSUER), CLIENT_ID, { client_secret: CLIENT_SECRET },
    client.ClientSecretBasic(CLIENT_SECRET), { execute: [client.allowInsecureRequests] },
  )
  const metadata = config.serverMetadata()
  check(metadata.issuer === ISSUER, `discovered issuer ${metadata.issuer}`)
  check(metadata.supportsPKCE(), 'discovery does not advertise PKCE S256')
  result.discovery = {
    issuer: metadata.issuer,
    authorization_response_iss_parameter_supported:
      metadata.authorization_response_iss_parameter_supported === true,
  }

  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  const callback = new URL(await signIn(authorizationUrl))
  result.authorization_response = {
    has_code: Boolean(callback.searchParams.get('code')),
    state_matches: callback.searchParams.get('state') === state,
    iss: callback.searchParams.get('iss'),
  }

  // Validates state, iss (RFC 9207), the ID token (signature with the JWKS, iss, aud,
  // exp, iat, nonce) and sends the PKCE verifier.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  check(claims && claims.nonce === nonce, 'ID token nonce')
  check(tokens.refresh_token, 'no refresh token for offline_access')
  result.id_token = { sub: claims.sub, aud: claims.aud, nonce_matches: claims.nonce === nonce,
    iss: claims.iss, sid: claims.sid, acr: claims.acr, amr: claims.amr }
  result.token = { token_type: tokens.token_type, expires_in: tokens.expiresIn(),
    scope: tokens.scope }

  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  result.userinfo = userinfo

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  check(refreshed.refresh_token, 'refresh response has no refresh token')
  result.refresh = {
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    new_access_token: refreshed.access_token !== tokens.access_token,
    id_token_sub: refreshed.claims()?.sub ?? null,
  }

  const live = await client.tokenIntrospection(config, refreshed.access_token)
  result.introspection_before = { active: live.active, sub: live.sub, client_id: live.client_id,
    token_type: live.token_type, scope: live.scope }

  await client.tokenRevocation(config, refreshed.refresh_token,
    { token_type_hint: 'refresh_token' })
  const deadRefresh = await client.tokenIntrospection(config, refreshed.refresh_token,
    { token_type_hint: 'refresh_token' })
  const deadAccess = await client.tokenIntrospection(config, refreshed.access_token)
  result.introspection_after = {
    refresh_token_active: deadRefresh.active,
    access_token_active: deadAccess.active,
  }

  const logoutState = client.randomState()
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state: logoutState,
  })
  const handle = jar.get('vssid_sso')
  const logout = await browse(endSession.href)
  const landed = new URL(locationOf(logout, endSession.href))
  result.logout = {
    had_session_cookie: Boolean(handle),
    redirect: landed.origin + landed.pathname,
    state_matches: landed.searchParams.get('state') === logoutState,
    session_cookie_cleared: !jar.has('vssid_sso'),
  }

  // The session ended on the server, not only in the cookie jar: replaying the old
  // session cookie with prompt=none must answer login_required.
  jar.set('vssid_sso', handle)
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    prompt: 'none',
  })
  const after = new URL(locationOf(await browse(silent.href), silent.href))
  result.after_logout = { error: after.searchParams.get('error') }
  return result
}

try {
  process.stdout.write(JSON.stringify(await main()) + '\n')
} catch (error) {
  const cause = error?.cause
  const detail = cause instanceof Error ? ` (cause: ${cause.code ?? cause.name}: ${cause.message})`
    : cause ? ` (cause: ${JSON.stringify(cause)})` : ''
  process.stderr.write(`rp.mjs: ${error?.code ?? error?.name}: ${error?.message}${detail}\n`)
  process.exit(1)
}
