/**
 * Waiting for an outcome in a test: polls `check` until it returns a value other than undefined, at most `withinMs`,
 * a bound and never a timed claim. Imports nothing, so the Workers tests (inside workerd) use it too.
 */
export const eventually = async <A>(
  what: string,
  check: () => A | undefined | Promise<A | undefined>,
  withinMs = 15_000
): Promise<A> => {
  const deadline = Date.now() + withinMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
