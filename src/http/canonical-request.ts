/**
 * The request every entry hands to the handler, whatever its runtime did to it on the way in. Runtimes differ in
 * two ways that change answers (both found by test/conformance): workerd drops the well-known header fields
 * (If-Match, Authorization, Content-Type, ...) whose value is empty but keeps other empty ones (Idempotency-Key,
 * X-API-Key), while Bun and Deno keep them all, so `If-Match:` with nothing after the colon was a 400 on Bun and
 * Deno and no precondition on Workers; and Bun and workerd resolve dot segments in the path (`/users/../healthz`,
 * `/users/%2e%2e`) the way URL parsing does, while Deno passed the raw path on. Every entry calls this, so all
 * answer alike: a header with an empty value is no header, and the path is the parsed URL's.
 */
export const canonicalRequest = (request: Request): Request => {
  const url = new URL(request.url).href
  let hasEmptyHeader = false
  request.headers.forEach((value) => {
    if (value === "") hasEmptyHeader = true
  })
  if (url === request.url && !hasEmptyHeader) return request
  const headers = new Headers()
  request.headers.forEach((value, name) => {
    if (value !== "") headers.append(name, value)
  })
  return new Request(url, {
    method: request.method,
    headers,
    body: request.body,
    signal: request.signal,
    // A streamed body (a chunked upload) must be allowed to flow while the answer is being produced.
    ...(request.body !== null ? { duplex: "half" } : {})
  } as RequestInit)
}
