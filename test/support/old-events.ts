// An event as code before migration 0007 wrote it, for the tests that migrate such a store (SQLite and D1).
import type { UserEvent } from "../../src/domain/events.js"

export const OLD_AT = "2026-03-01T00:00:00.000Z"

export const oldEventOf = (organizationId: string, userId: string, version: number, n: number): UserEvent =>
  ({
    id: `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`,
    type: version === 1 ? "UserCreated" : "UserPhoneNumberUpdated",
    aggregateType: "User",
    aggregateId: userId,
    version,
    occurredAt: OLD_AT,
    data: version === 1
      ? { maskedPhoneNumber: null }
      : { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: null, phoneNumberVerified: false },
    metadata: { organizationId, actor: { type: "service", id: "svc_old" }, requestId: `old-${n}` }
  }) as UserEvent
