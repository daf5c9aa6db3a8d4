// Every entry passes its request here so runtimes answer alike (test/conformance): workerd drops empty well-known
// headers and Bun/workerd resolve dot segments. So an empty header is no header; the path is the parsed URL's.
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
    // A streamed body must flow while the answer is produced.
    ...(request.body !== null ? { duplex: "half" } : {})
  } as RequestInit)
}
