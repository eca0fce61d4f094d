import { createServer, type Server } from "node:http";
import type { ConsulClient } from "../consul/client.js";
import type { Registrator } from "../registrator/registrator.js";
import type { Runner } from "../runner/runner.js";
import type { RecentEvent } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { statusPage } from "./status-page.js";

export interface StatusSources {
  runner(): Runner | undefined;
  registrator(): Registrator | undefined;
  readonly client: ConsulClient;
  readonly metrics: Metrics;
  recent(): RecentEvent[];
}

/** Why the process is not healthy, or undefined when it is. */
export function unhealthyReason(sources: StatusSources): string | undefined {
  const runner = sources.runner();
  if (runner?.watcher.reachable === false) return `Consul at ${sources.client.address} is unreachable`;
  const waiting = runner?.status().filter((t) => !t.rendered) ?? [];
  if (waiting.length > 0) return `not rendered yet: ${waiting.map((t) => t.destination).join(", ")}`;
  return undefined;
}

/**
 * `--listen`: / (status page), /metrics (Prometheus), /healthz (200, or 503 with the reason), /readyz, /status (JSON).
 */
export async function startStatusServer(listen: string, sources: StatusSources): Promise<Server> {
  const at = listen.lastIndexOf(":");
  const host = listen.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(listen.slice(at + 1));
  const server = createServer((req, res) => {
    void (async () => {
      const runner = sources.runner();
      sources.metrics.watches.set(runner?.watcher.size ?? 0);
      sources.metrics.connections.set(sources.client.connectionCount);
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/metrics") {
        res.writeHead(200, { "content-type": sources.metrics.registry.contentType });
        res.end(await sources.metrics.registry.metrics());
      } else if (path === "/healthz" || path === "/readyz") {
        const reason = unhealthyReason(sources);
        res.writeHead(reason ? 503 : 200, { "content-type": "text/plain" });
        res.end(reason ? `unhealthy: ${reason}\n` : "ok\n");
      } else if (path === "/status") {
        const registered = sources.registrator()?.registered();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({
          consul: { address: sources.client.address, reachable: runner?.watcher.reachable ?? null, connections: sources.client.connectionCount },
          templates: runner?.status() ?? [],
          events: sources.recent(),
          registrator: registered ? [...registered].map(([container, services]) => ({ container, services: services.map((s) => ({ ID: s.ID, Name: s.Name, Address: s.Address, Port: s.Port })) })) : null,
        }, null, 2));
      } else if (path === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(statusPage);
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found: try /, /metrics, /healthz, /readyz or /status\n");
      }
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
