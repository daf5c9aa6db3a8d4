// The Worker's webhook queue. Outside the entry because workerd takes every value the entry exports for a handler and
// refuses to start with a constant among them.

/** Asks for a relay round; D1 knows the work. */
export interface RelayMessage {
  readonly kind: "relay"
}

/** Ends the dead-letter queue's name (wrangler.toml); its consumer only reports. */
export const DEAD_LETTER_SUFFIX = "-dlq"

// "None" is trusted only seconds, so a subscription made on another isolate is woken for within seconds.
export const SUBSCRIBED_TTL_MS = 60_000
export const NOT_SUBSCRIBED_TTL_MS = 5_000
