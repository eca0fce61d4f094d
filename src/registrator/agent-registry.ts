import { encodePath } from "../consul/path.js";
import type { ConsulClient } from "../consul/client.js";
import { ConsulRequestError } from "../errors.js";
import { managedBy, type ServiceDefinition } from "./service-model.js";

export interface AgentService {
  ID: string;
  Service: string;
  Meta: Record<string, string> | null;
}

/** Where the registrator puts services: register, deregister, list what it manages, TTL checks. */
export interface ServiceRegistry {
  register(service: ServiceDefinition, signal?: AbortSignal): Promise<void>;
  deregister(serviceId: string, signal?: AbortSignal): Promise<void>;
  /** Services this registrator (same --hostname) registered, by ID. */
  managedServices(signal?: AbortSignal): Promise<Map<string, AgentService>>;
  updateTtl(checkId: string, status: string, signal?: AbortSignal): Promise<void>;
  /** Marks a TTL check passing; false when the registry does not know the check (it lost its state). */
  passTtl(checkId: string, signal?: AbortSignal): Promise<boolean>;
}

/** The local Consul agent as the ServiceRegistry. */
export class AgentRegistry implements ServiceRegistry {
  constructor(
    private readonly client: ConsulClient,
    private readonly hostname: string,
  ) {}

  async register(service: ServiceDefinition, signal?: AbortSignal): Promise<void> {
    // replace-existing-checks: checks that are no longer defined go away instead of going stale.
    await this.client.put("/agent/service/register", service, { query: { "replace-existing-checks": true }, signal, timeoutMs: 10_000 });
  }

  async deregister(serviceId: string, signal?: AbortSignal): Promise<void> {
    await this.client.put(`/agent/service/deregister/${encodePath(serviceId)}`, undefined, { signal, timeoutMs: 10_000 });
  }

  /** Services this consulate (same --hostname) registered on the agent, by ID. */
  async managedServices(signal?: AbortSignal): Promise<Map<string, AgentService>> {
    const { body } = await this.client.get<Record<string, AgentService>>("/agent/services", { signal, timeoutMs: 10_000 });
    return new Map(Object.values(body ?? {}).filter((s) => s.Meta?.["managed-by"] === managedBy && s.Meta["consulate-host"] === this.hostname).map((s) => [s.ID, s]));
  }

  /** Sets a TTL check's status (re-registering a check keeps its old status in Consul 1.8). */
  async updateTtl(checkId: string, status: string, signal?: AbortSignal): Promise<void> {
    await this.client.put(`/agent/check/update/${encodePath(checkId)}`, { Status: status }, { signal, timeoutMs: 10_000 });
  }

  /** Marks a TTL check passing; false when the agent does not know the check (it lost its state). */
  async passTtl(checkId: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.put(`/agent/check/pass/${encodePath(checkId)}`, undefined, { signal, timeoutMs: 10_000 });
      return true;
    } catch (error) {
      if (error instanceof ConsulRequestError && error.statusCode !== undefined && error.statusCode < 500 && error.statusCode !== 403) return false;
      // Consul 1.8 answers 500 "Unknown check" for a check it does not have.
      if (error instanceof ConsulRequestError && /unknown check/i.test(error.message)) return false;
      throw error;
    }
  }
}
