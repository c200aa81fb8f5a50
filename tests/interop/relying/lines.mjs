// The test's driver for verify.mjs (not part of the example): one long-lived verifier, so a
// key rotation is picked up without a restart (one more per other `audience` asked for).
// Reads one JSON request a line on stdin:
//   {"kind": "access" | "id" | "logout" | "introspect", "token": "…", "audience"?, …options}
// and answers one line each: {"ok": true, "claims": {…}} or {"ok": false, "error": "…"}.
// Environment: ISSUER, AUDIENCE, CLIENT_ID, CLIENT_SECRET, COOLDOWN_MS.

import { createInterface } from 'node:readline'
import { verifier } from './verify.mjs'

const verifiers = new Map() // audience → verifier, each made once
const forAudience = async (audience) => {
  if (!verifiers.has(audience)) {
    verifiers.set(audience, await verifier(process.env.ISSUER, {
      audience,
      clientId: process.env.CLIENT_ID,
      clientSecret: process.env.CLIENT_SECRET,
      cooldownMs: Number(process.env.COOLDOWN_MS ?? 1000),
    }))
  }
  return verifiers.get(audience)
}
const run = {
  access: (v, r) => v.accessToken(r.token, r),
  id: (v, r) => v.idToken(r.token, r),
  logout: (v, r) => v.logoutToken(r.token, r),
  introspect: (v, r) => v.introspect(r.token),
}

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line)
  let answer
  try {
    const v = await forAudience(request.audience ?? process.env.AUDIENCE)
    answer = { ok: true, claims: await run[request.kind](v, request) }
  } catch (err) {
    answer = { ok: false, error: err.code ?? err.constructor.name, message: err.message }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
