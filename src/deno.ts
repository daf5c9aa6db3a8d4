// deno.json's task grants the whole environment (so a misspelt JWT* name can be reported) and the loopback;
// a remote JWKS_URL or another HOST needs a wider --allow-net.
import { ConfigProvider } from "effect"
import { SqliteDenoServices } from "./layers/sqlite/deno.js"
import { runServer } from "./server.js"

const wholeEnvironment = Deno.permissions.querySync({ name: "env" }).state === "granted"

await runServer({
  name: "Deno",
  // A narrower --allow-env must name every variable of docs/START.md's table.
  config: ConfigProvider.fromEnv(),
  variables: wholeEnvironment ? Object.keys(Deno.env.toObject()) : [],
  cwd: Deno.cwd(),
  defaultPort: 8788,
  database: "users-deno.sqlite",
  services: SqliteDenoServices,
  listen: (fetch, { hostname, port }) => {
    const controller = new AbortController()
    const server = Deno.serve({ port, hostname, onListen: () => {}, signal: controller.signal }, fetch)
    return { port: server.addr.port, stop: () => server.shutdown(), kill: async () => controller.abort() }
  },
  onSignal: (signal, stop) => Deno.addSignalListener(signal, stop),
  exit: (code) => Deno.exit(code),
  credentialsCommand: "npm run dev:credentials -- --runtime deno",
  ...(wholeEnvironment ? {} : { notice: "--allow-env names variables, so misspelt JWT* and JWKS* ones go unseen" })
})
