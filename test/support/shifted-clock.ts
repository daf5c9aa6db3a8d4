/**
 * An Effect clock ahead of the wall clock by an offset the test may move, for expiry (locks, retention) without
 * waiting; it runs on Node, Bun, Deno and workerd.
 */
import { Clock, Duration, Effect } from "effect"

/** Wall-clock time plus `offset.millis`, read on every call, so a test can move it between requests. */
export const shiftedClock = (offset: { millis: number }): Clock.Clock => {
  const live = Clock.make()
  const millis = () => live.unsafeCurrentTimeMillis() + offset.millis
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
    sleep: (duration: Duration.DurationInput) => live.sleep(Duration.decode(duration))
  }
}
