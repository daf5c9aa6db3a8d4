/**
 * `npm run dev:codes`: the verification codes local dev mode sent to its console lately (newest first: user, masked
 * number, code, until when), read from data/dev-codes.json, which the server writes. Local use only.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { DATA_DIR } from "../src/dev/state.js"
import { DEV_CODES_FILE, type DevCode } from "../src/layers/code-sender-dev.js"

const file = join(DATA_DIR, DEV_CODES_FILE)
const codes: ReadonlyArray<DevCode> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : []
if (codes.length === 0) {
  console.log('no verification code yet: request one with UpdatePhoneNumber and "verification": "send-code"')
}
for (const code of codes) {
  console.log(`${code.code}  ${code.userId}  ${code.maskedPhoneNumber}  until ${code.expiresAt}`)
}
