/**
 * The Worker's webhook queue (wrangler.toml, src/worker.ts): what its messages say and how its dead-letter queue is
 * told apart. Outside the entry because workerd takes every value the entry module exports for a handler, and refuses
 * to start with a constant among them.
 */

/** The message that asks the consumer for a relay round; its content is not needed (D1 knows the work). */
export interface RelayMessage {
  readonly kind: "relay"
}

/** The dead-letter queue's name ends so (wrangler.toml); its consumer only reports what reached it. */
export const DEAD_LETTER_SUFFIX = "-dlq"

/**
 * How long an isolate trusts what it read about an organization's subscriptions: a minute that it has one, a few
 * seconds that it has none, so a subscription made on another isolate is woken for within seconds too.
 */
export const SUBSCRIBED_TTL_MS = 60_000
export const NOT_SUBSCRIBED_TTL_MS = 5_000
