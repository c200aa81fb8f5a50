// The test's driver for verify.mjs (not part of the example): one long-lived verifier, so a
// key rotation is picked up without a restart. Reads one JSON request a line on stdin:
//   {"kind": "access" | "id" | "logout" | "introspect", "token": "…", …options}
// and answers one line each: {"ok": true, "claims": {…}} or {"ok": false, "error": "…"}.
// Environment: ISSUER, AUDIENCE, CLIENT_ID, CLIENT_SECRET, COOLDOWN_MS.

import { createInterface } from 'node:readline'
import { verifier } from './verify.mjs'

const v = await verifier(process.env.ISSUER, {
  audience: process.env.AUDIENCE,
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
  cooldownMs: Number(process.env.COOLDOWN_MS ?? 1000),
})
const run = {
  access: (r) => v.accessToken(r.token, r),
  id: (r) => v.idToken(r.token, r),
  logout: (r) => v.logoutToken(r.token, r),
  introspect: (r) => v.introspect(r.token),
}

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line)
  let answer
  try {
    answer = { ok: true, claims: await run[request.kind](request) }
  } catch (err) {
    answer = { ok: false, error: err.code ?? err.constructor.name, message: err.message }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
