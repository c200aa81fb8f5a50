// Verify the gateway's tokens with Node's `jose`: access tokens (RFC 9068, DPoP-bound per
// RFC 9449), ID tokens and back-channel logout tokens; introspection (RFC 7662) for revocation.

import { createHash } from 'node:crypto'
import {
  EmbeddedJWK, calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify,
} from 'jose'

const ALGORITHMS = ['ES256', 'RS256'] // what the gateway signs with
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

export class Refused extends Error {}

// clientId, clientSecret: this service's own client (type `service`), for introspection.
export async function verifier(issuer, { audience, clientId, clientSecret, cooldownMs = 1000 }) {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()
  // Keys cached for 10 minutes; an unknown kid (a rotation) fetches them again, at most once
  // per cooldown (jose's default, 30 s, refuses new tokens for up to 30 s after a rotation).
  const keys = createRemoteJWKSet(new URL(meta.jwks_uri), { cooldownDuration: cooldownMs })
  const seen = new Map() // DPoP proof jti → expiry in ms (several processes: use Redis)

  async function checkProof(proof, { jkt, token, method, url }) {
    if (typeof proof !== 'string') throw new Refused('no DPoP proof')
    if ('d' in (decodeProtectedHeader(proof).jwk ?? {})) throw new Refused('private jwk')
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt', algorithms: meta.dpop_signing_alg_values_supported,
      maxTokenAge: '60s', clockTolerance: '5s', requiredClaims: ['jti', 'htm', 'htu', 'iat'],
    })
    const htu = (u) => { const p = new URL(u); return p.origin + p.pathname }
    const ath = createHash('sha256').update(token).digest('base64url')
    if (await calculateJwkThumbprint(protectedHeader.jwk) !== jkt) throw new Refused('other key')
    if (payload.htm !== method || htu(payload.htu) !== htu(url)) throw new Refused('other request')
    if (payload.ath !== ath) throw new Refused('other token')
    const now = Date.now()
    for (const [jti, until] of seen) if (until <= now) seen.delete(jti)
    if (seen.has(payload.jti)) throw new Refused('replayed proof')
    seen.set(payload.jti, now + 65_000)
  }

  return {
    async accessToken(token, { scheme = 'Bearer', proof, method = 'GET', url } = {}) {
      const { payload } = await jwtVerify(token, keys, {
        issuer, audience, typ: 'at+jwt', algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      })
      const jkt = payload.cnf?.jkt
      if (scheme.toLowerCase() === 'dpop' && jkt) {
        await checkProof(proof, { jkt, token, method, url })
      } else if (scheme.toLowerCase() !== 'bearer' || jkt) { // RFC 9449 §7.2
        throw new Refused(jkt ? 'DPoP-bound token without a DPoP proof' : 'bad scheme')
      }
      return payload
    },

    async idToken(token, { clientId: rp, nonce }) { // rp: the client the ID token is for
      const { payload } = await jwtVerify(token, keys, {
        issuer, audience: rp, algorithms: ALGORITHMS, requiredClaims: ['sub', 'iat'],
      })
      if (payload.nonce !== nonce) throw new Refused('nonce')
      return payload
    },

    // OIDC Back-Channel Logout 1.0 §2.6: then end the sessions with this sid (or sub).
    async logoutToken(token, { clientId: rp }) {
      const { payload } = await jwtVerify(token, keys, {
        issuer, audience: rp, typ: 'logout+jwt', algorithms: ALGORITHMS,
        requiredClaims: ['iat', 'exp', 'jti', 'events'],
      })
      const event = payload.events?.[LOGOUT_EVENT]
      if (typeof event !== 'object' || event === null) throw new Refused('not a logout event')
      if ('nonce' in payload || !(payload.sid || payload.sub)) throw new Refused('nonce/sid/sub')
      return payload
    },

    // Is the token still good? {active: false} once the person signed out or it was revoked.
    async introspect(token) {
      const response = await fetch(meta.introspection_endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`${clientId}:${clientSecret}`)}` },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      })
      if (!response.ok) throw new Error(`introspection: HTTP ${response.status}`)
      return response.json()
    },
  }
}
