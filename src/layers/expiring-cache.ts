/**
 * Not Effect's `Cache`: its access list gains a node per lookup and sheds them only when the cache is full (10 live
 * keys held 60,000 nodes after 40,000 lookups), so refused credentials, which are never kept, would grow it unbounded.
 * This one has `Cache`'s shape (capacity, lookup, a lifetime per entry) over one `Map`, on Effect's `Clock`.
 */
import { Effect } from "effect"

export interface ExpiringCacheOptions<A> {
  /** Least recently used goes first. */
  readonly capacity: number
  /** Epoch ms (excluded), given the clock before the lookup; failures are never kept. */
  readonly keepUntil: (value: A, lookedUpAt: number) => number
}

export interface ExpiringCache<A> {
  readonly get: <E, R>(key: string, lookup: () => Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly invalidate: (key: string) => void
  readonly size: () => number
}

export const makeExpiringCache = <A>({ capacity, keepUntil }: ExpiringCacheOptions<A>): ExpiringCache<A> => {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be a positive integer")
  // A Map iterates in insertion order: re-inserting makes an entry the most recently used.
  const entries = new Map<string, { readonly value: A; readonly until: number }>()
  const keep = (key: string, value: A, until: number) => {
    entries.delete(key)
    entries.set(key, { value, until })
    if (entries.size > capacity) entries.delete(entries.keys().next().value!)
  }
  return {
    get: (key, lookup) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const hit = entries.get(key)
        if (hit !== undefined) {
          entries.delete(key)
          if (now < hit.until) {
            entries.set(key, hit)
            return Effect.succeed(hit.value)
          }
        }
        return Effect.map(lookup(), (value) => {
          const until = keepUntil(value, now)
          if (until > now) keep(key, value, until)
          return value
        })
      }),
    invalidate: (key) => void entries.delete(key),
    size: () => entries.size
  }
}
