// A double for the program's logic: it reads the users map; the index itself is tested on SQLite and D1.
import { Effect } from "effect"
import type { LookupRecord } from "../../services/user-lookup.js"
import type { UserLookup } from "../../services/user-lookup.js"
import type { MemoryStore } from "./store.js"

export const memoryUserLookup = (store: MemoryStore): UserLookup["Type"] => {
  const records: Array<LookupRecord & { readonly organizationId: string }> = []
  return {
    find: (organizationId, numbers) =>
      Effect.sync(() => {
        const asked = new Set<string>(numbers)
        return [...store.users.values()].filter((user) =>
          user.organizationId === organizationId && user.erasedAt === null && user.phoneNumber !== null &&
          asked.has(user.phoneNumber)
        ).map((user) => ({
          phoneNumber: user.phoneNumber!,
          userId: user.id,
          phoneNumberVerified: user.phoneNumberVerified
        }))
      }),
    record: (organizationId, record) =>
      Effect.sync(() => {
        const sequence = records.filter((r) => r.organizationId === organizationId).length + 1
        records.push({ ...record, organizationId, sequence })
      }),
    records: (organizationId, afterSequence, limit) =>
      Effect.sync(() =>
        records.filter((r) => r.organizationId === organizationId && r.sequence > afterSequence).slice(0, limit)
          .map(({ organizationId: _, ...record }) => record)
      )
  }
}
