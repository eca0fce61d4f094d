import http from "node:http";
import https from "node:https";
import { connect } from "node:net";
import type { ProbeTarget } from "./checks.js";

/**
 * Runs a check once from consulate, the way Consul will run it: HTTP 2xx passes (429 warns,
 * anything else is critical); a TCP connect passes. Never throws.
 */
export async function probe(target: ProbeTarget, signal?: AbortSignal): Promise<"passing" | "warning" | "critical"> {
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(target.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    if (target.kind === "tcp") {
      const socket = connect({ host: target.host, port: target.port, signal: combined });
      socket.once("connect", () => {
        socket.destroy();
        resolve("passing");
      });
      socket.once("error", () => resolve("critical"));
      return;
    }
    const get = target.url.startsWith("https:") ? https.get : http.get;
    const request = get(target.url, { signal: combined, rejectUnauthorized: !target.insecure, headers: { "user-agent": "consulate" } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 300 ? "passing" : code === 429 ? "warning" : "critical");
    });
    request.once("error", () => resolve("critical"));
  });
}
