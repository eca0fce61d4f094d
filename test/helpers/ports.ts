import { createServer, type AddressInfo, type Server } from "node:net";

/** Ports this process has handed out: never twice, so two agents (or two ports of one) never meet. */
const handedOut = new Set<number>();

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * `count` distinct TCP ports that were free on 127.0.0.1 a moment ago. All are held open until
 * every one is chosen: asked one at a time, the kernel may give a port it just took back again
 * (an agent once got the same port for HTTP and Serf, and would not start).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      server.unref();
      servers.push(server);
      const port = await listen(server);
      if (handedOut.has(port)) continue;
      handedOut.add(port);
      ports.push(port);
    }
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
  return ports;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (and not handed out before by this process). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}
