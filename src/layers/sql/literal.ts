/**
 * SQL text literals, for the few places that write SQL to run elsewhere (wrangler d1 execute, a seed file).
 * Everything that runs in the service binds parameters instead.
 */
export const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`
