// Webhooks are not here: they are tested over real stores.
import { Layer } from "effect"
import { Auth } from "../../services/auth.js"
import { EventLog } from "../../services/event-log.js"
import { Idempotency } from "../../services/idempotency.js"
import { PhonePolicies } from "../../services/phone-policy.js"
import { PhoneVerificationStore } from "../../services/phone-verification.js"
import { UserLookup } from "../../services/user-lookup.js"
import { UserRepo } from "../../services/user-repo.js"
import { MaskerLast4 } from "../masker.js"
import { memoryAuth } from "./auth.js"
import { memoryIdempotency } from "./idempotency.js"
import { memoryPhonePolicies } from "./phone-policy.js"
import { makeMemoryStore, memoryEventLog, memoryPhoneVerification, memoryRepo, type MemoryStore } from "./store.js"
import { memoryUserLookup } from "./user-lookup.js"

export { memoryAuth, putCredentials } from "./auth.js"
export { memoryIdempotency } from "./idempotency.js"
export { memoryPhonePolicies } from "./phone-policy.js"
export * from "./store.js"
export { memoryUserLookup } from "./user-lookup.js"

export const MemoryServices = (store: MemoryStore = makeMemoryStore()) =>
  Layer.mergeAll(
    Layer.succeed(Auth, memoryAuth(store)),
    Layer.succeed(UserRepo, memoryRepo(store)),
    Layer.succeed(EventLog, memoryEventLog(store)),
    Layer.succeed(Idempotency, memoryIdempotency(store)),
    Layer.succeed(PhoneVerificationStore, memoryPhoneVerification(store)),
    Layer.sync(PhonePolicies, memoryPhonePolicies),
    Layer.sync(UserLookup, () => memoryUserLookup(store)),
    MaskerLast4
  )
