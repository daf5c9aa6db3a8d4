// Judges the shared URL and address table in whichever runtime runs it, and prints the cases that disagree as JSON.
import { checkWebhookUrl, isPublicAddress } from "../../../src/domain/webhook-url.js"
import { IPV4_REGISTRY, IPV6_REGISTRY, PRODUCTION_URLS } from "../../support/address-table.js"

const production = { allowLoopback: false }
const wrong = [
  ...[...IPV4_REGISTRY, ...IPV6_REGISTRY].filter(([address, isPublic]) => isPublicAddress(address) !== isPublic),
  ...PRODUCTION_URLS.filter(([url, expected]) => {
    const checked = checkWebhookUrl(url, production)
    return (checked.ok ? "accepted" : checked.refusal) !== expected
  })
]
console.log(JSON.stringify({ cases: IPV4_REGISTRY.length + IPV6_REGISTRY.length + PRODUCTION_URLS.length, wrong }))
