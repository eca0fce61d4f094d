import { setTimeout as sleep } from "node:timers/promises";
import type { ConsulAgent } from "./consul-agent.js";

export interface AgentServiceView {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
}

/** The agent's services whose ID starts with `prefix` (one registrator --hostname). */
export async function servicesWithPrefix(consul: ConsulAgent, prefix: string): Promise<AgentServiceView[]> {
  const all = (await consul.request("GET", "/agent/services")) as Record<string, AgentServiceView>;
  return Object.values(all).filter((s) => s.ID.startsWith(prefix)).sort((a, b) => a.ID.localeCompare(b.ID));
}

/** Polls until `predicate` holds for the services with `prefix`; returns them. */
export async function waitForServices(consul: ConsulAgent, prefix: string, predicate: (services: AgentServiceView[]) => boolean, timeoutMs = 20_000): Promise<AgentServiceView[]> {
  const deadline = Date.now() + timeoutMs;
  let last: AgentServiceView[] = [];
  while (Date.now() < deadline) {
    last = await servicesWithPrefix(consul, prefix).catch(() => last);
    if (predicate(last)) return last;
    await sleep(50);
  }
  throw new Error(`services with prefix ${prefix} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last.map((s) => [s.ID, s.Service, s.Port]))}`);
}

/** Health checks of a service on the agent, by check ID. */
export async function checksOf(consul: ConsulAgent, serviceId: string): Promise<{ CheckID: string; Status: string }[]> {
  const all = (await consul.request("GET", "/agent/checks")) as Record<string, { CheckID: string; Status: string; ServiceID: string }>;
  return Object.values(all).filter((c) => c.ServiceID === serviceId);
}
