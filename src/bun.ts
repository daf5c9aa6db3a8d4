import { ConfigProvider } from "effect"
import { SqliteBunServices } from "./layers/sqlite/bun.js"
import { runServer } from "./server.js"

await runServer({
  name: "Bun",
  config: ConfigProvider.fromEnv(),
  variables: Object.keys(process.env),
  cwd: process.cwd(),
  defaultPort: 8787,
  database: "users.sqlite",
  services: SqliteBunServices,
  listen: (fetch, { hostname, port }) => {
    const server = Bun.serve({ port, hostname, fetch })
    return { port: server.port ?? port, stop: () => server.stop(), kill: () => server.stop(true) }
  },
  onSignal: (signal, stop) => process.on(signal, stop),
  exit: (code) => process.exit(code),
  credentialsCommand: "npm run dev:credentials"
})
