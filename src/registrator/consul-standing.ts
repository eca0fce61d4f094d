import { isUnreachable, Reachability } from "../consul/reachability.js";
import { ConsulRequestError } from "../errors.js";
import type { Logger } from "../observe/logger.js";

/** Consul 1.8's "Permission denied: Missing service:write on web" → "permission denied: missing service:write on web". */
export function permissionProblem(message: string): string {
  const detail = /Permission denied:?\s*(.*)$/i.exec(message)?.[1]?.trim();
  return `permission denied: ${detail ? detail.charAt(0).toLowerCase() + detail.slice(1) : "the token may not do this"}`;
}

/**
 * How the registrator stands with Consul: reachable or not, and what it refuses us. Each change
 * is one log line, not one per retry.
 */
export class ConsulStanding {
  readonly #reachability = new Reachability();
  /** What Consul refuses us (`permission denied: …`), until a request succeeds again. */
  #problem: string | undefined;

  constructor(private readonly logger: Logger) {}

  get problem(): string | undefined {
    return this.#problem;
  }

  answered(): void {
    if (this.#reachability.answered()) this.logger.info("registrator", "Consul is reachable again");
  }

  /** A registration went through: whatever permission was missing is there now. */
  accepted(): void {
    if (this.#problem !== undefined) this.logger.info("registrator", "Consul accepts our registrations again");
    this.#problem = undefined;
  }

  failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    // 403: the token lacks a permission. Said once per change of what is missing, not per retry.
    if (error instanceof ConsulRequestError && error.statusCode === 403) {
      const problem = permissionProblem(error.message);
      if (problem !== this.#problem) this.logger.error("registrator", problem, { hint: "give the token service:write on the services (and service:read, node:read) with --token-file" });
      this.#problem = problem;
      this.#reachability.answered();
      return;
    }
    if (!isUnreachable(error)) {
      this.logger.error("registrator", "Consul refused a request, retrying with backoff", { error: message });
      return;
    }
    if (this.#reachability.unreachable()) this.logger.warn("registrator", "cannot reach Consul, queueing changes and retrying", { error: message });
  }
}
