import { createServer, type Server } from "node:http";
import { ConfigError } from "../errors.js";
import type { RecentEvent } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { statusPage } from "./status-page.js";
import { formatListen, type ConsulConnectionStatus, type ListenAddress, type RegistratorStatus, type RendererStatus } from "./status.js";

export interface StatusSources {
  runner(): RendererStatus | undefined;
  registrator(): RegistratorStatus | undefined;
  readonly client: ConsulConnectionStatus;
  readonly metrics: Metrics;
  recent(): RecentEvent[];
}

/** Why the process is not healthy, or undefined when it is. */
export function unhealthyReason(sources: StatusSources): string | undefined {
  const runner = sources.runner();
  if (runner?.reachable === false) return `Consul at ${sources.client.address} is unreachable`;
  const waiting = runner?.templates().filter((t) => !t.rendered) ?? [];
  if (waiting.length > 0) return `not rendered yet: ${waiting.map((t) => t.destination).join(", ")}`;
  return undefined;
}

/**
 * /readyz: not ready when unhealthy, when a file cannot be kept up to date (render, check or
 * write failing), or when the registrator lacks a permission. Values left out of a file are a
 * degradation, not a failure: the file still follows the catalog, so the answer stays 200, with
 * the refusals in its body (and in /status and consulate_refused_values for alerting).
 */
export function readiness(sources: StatusSources): { ready: boolean; text: string } {
  const unhealthy = unhealthyReason(sources);
  if (unhealthy) return { ready: false, text: `not ready: ${unhealthy}` };
  const templates = sources.runner()?.templates() ?? [];
  const stuck = templates.filter((t) => t.lastError !== undefined);
  if (stuck.length > 0) return { ready: false, text: `not ready: ${stuck.map((t) => `${t.destination}: ${t.lastError}`).join("; ")}` };
  const problem = sources.registrator()?.problem();
  if (problem) return { ready: false, text: `not ready: registrator: ${problem}` };
  const degraded = templates.flatMap((t) => [
    ...t.refused.map((r) => `${t.destination}: ${r.where}: ${r.field}: ${r.reason}`),
    ...t.notInCatalog.map((d) => `${t.destination}: ${d} is not in the catalog, or hidden from this token`),
  ]);
  if (degraded.length > 0) return { ready: true, text: `degraded: ${degraded.length} problem${degraded.length === 1 ? "" : "s"}, left out of the files:\n${degraded.map((d) => `- ${d}`).join("\n")}` };
  return { ready: true, text: "ok" };
}

/**
 * `--listen`: / (status page), /metrics (Prometheus), /healthz (200, or 503 with the reason), /readyz, /status (JSON).
 */
export async function startStatusServer({ host, port }: ListenAddress, sources: StatusSources): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const runner = sources.runner();
      sources.metrics.watches.set(runner?.watchCount ?? 0);
      sources.metrics.connections.set(sources.client.connectionCount);
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/metrics") {
        res.writeHead(200, { "content-type": sources.metrics.registry.contentType });
        res.end(await sources.metrics.registry.metrics());
      } else if (path === "/healthz") {
        const reason = unhealthyReason(sources);
        res.writeHead(reason ? 503 : 200, { "content-type": "text/plain" });
        res.end(reason ? `unhealthy: ${reason}\n` : "ok\n");
      } else if (path === "/readyz") {
        const { ready, text } = readiness(sources);
        res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" });
        res.end(`${text}\n`);
      } else if (path === "/status") {
        const registered = sources.registrator()?.registered();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({
          consul: { address: sources.client.address, reachable: runner?.reachable ?? null, connections: sources.client.connectionCount },
          templates: runner?.templates() ?? [],
          events: sources.recent(),
          registrator: registered ? [...registered].map(([container, services]) => ({ container, services: services.map((s) => ({ ID: s.ID, Name: s.Name, Address: s.Address, Port: s.Port })) })) : null,
          registratorProblem: sources.registrator()?.problem() ?? null,
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
    server.once("error", (error: NodeJS.ErrnoException) => {
      const what = error.code === "EADDRINUSE" ? "the address is in use (another process listens there)" : error.code === "EADDRNOTAVAIL" ? "no such address on this host" : error.code === "EACCES" ? "permission denied" : (error.code ?? error.message);
      reject(new ConfigError(`--listen ${formatListen({ host, port })}: ${what}`, { cause: error }));
    });
    server.listen(port, host, () => resolve());
  });
  return server;
}
