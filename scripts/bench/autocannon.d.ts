/** The part of autocannon's programmatic API the bench uses (autocannon ships no types). */
declare module "autocannon" {
  interface Result {
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
  }
  interface Instance extends PromiseLike<Result> {
    on(
      event: "response",
      listener: (client: unknown, status: number, bytes: number, responseTime: number) => void
    ): this
    on(event: "reqError", listener: (error: unknown) => void): this
    stop(): void
  }
  function autocannon(options: Record<string, unknown>): Instance
  export default autocannon
}
