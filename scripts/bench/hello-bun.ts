/**
 * The Bun baseline: a hello-world JSON handler on Bun.serve, bound like the service (127.0.0.1, PORT).
 */
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  fetch: () => Response.json({ hello: "world" })
})
console.log(`hello (Bun) listening on http://127.0.0.1:${server.port}`)
