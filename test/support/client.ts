/**
 * A tiny HTTP client for tests: builds requests with credentials and returns status, headers and JSON.
 */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly text: string
}

export type Fetch = (request: Request) => Promise<Response>

export interface Credentials {
  readonly token?: string | undefined
  readonly apiKey?: string | undefined
}

export const call = async (
  fetch: Fetch,
  method: string,
  path: string,
  options: Credentials & { body?: unknown; raw?: string; headers?: Record<string, string> } = {}
): Promise<Answer> => {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.apiKey !== undefined) headers["x-api-key"] = options.apiKey
  let body: string | undefined
  if (options.raw !== undefined) body = options.raw
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers["content-type"] = "application/json"
  }
  const response = await fetch(
    new Request(`http://127.0.0.1${path}`, { method, headers: { ...headers, ...options.headers }, body })
  )
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = text === "" ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, body: parsed, text }
}

/** Asserts the shape every error shares: problem+json with a code, the request id, success false. */
export const expectProblem = (answer: Answer, status: number, code: string) => {
  const problem = answer.body
  const ok = answer.status === status &&
    answer.headers.get("content-type")?.startsWith("application/problem+json") === true &&
    problem?.code === code && problem?.status === status && problem?.success === false &&
    typeof problem?.title === "string" && typeof problem?.detail === "string" &&
    problem?.type === `urn:users-api:problem:${code}` &&
    problem?.requestId === answer.headers.get("x-request-id")
  if (!ok) {
    throw new Error(
      `expected ${status} ${code}, got ${answer.status} ${answer.headers.get("content-type")} ${answer.text}`
    )
  }
}
