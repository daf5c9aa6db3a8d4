/**
 * The pieces of pieces.ts inside a Worker: `GET /?piece=NAME&count=N` runs that piece N times in the request and
 * answers 200 (404 for a name it does not know). pieces-bench.ts reads workerd's CPU around such requests.
 */
import { PIECES, runPiece } from "./pieces.js"

export default {
  fetch: async (request: Request): Promise<Response> => {
    const params = new URL(request.url).searchParams
    const name = params.get("piece")
    if (name === null) return new Response("ok")
    if (!Object.hasOwn(PIECES, name)) return new Response("unknown piece", { status: 404 })
    await runPiece(name, Number(params.get("count") ?? 1))
    return new Response("ok")
  }
}
