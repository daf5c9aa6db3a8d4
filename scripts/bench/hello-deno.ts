/**
 * The Deno baseline: a hello-world JSON handler on Deno.serve, bound like the service (127.0.0.1, PORT).
 */
declare const Deno: {
  env: { get(name: string): string | undefined }
  serve(options: { port: number; hostname: string; onListen?: () => void }, handler: () => Response): unknown
}

Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 0), hostname: "127.0.0.1", onListen: () => {} },
  () => Response.json({ hello: "world" })
)
console.log("hello (Deno) listening")
