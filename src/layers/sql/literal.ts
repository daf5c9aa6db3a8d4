// For SQL written to run elsewhere (wrangler d1 execute, a seed file); the service itself binds parameters.
export const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`
