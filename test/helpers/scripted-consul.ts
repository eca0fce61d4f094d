/**
 * A stand-in for the client's read side in unit tests of the loops' scheduling (when to ask
 * again, how long to back off): each request waits until the test answers or fails it. What is
 * under test is our timing logic, not Consul; every behaviour against Consul itself is tested
 * against real agents in test/integration.
 */
import type { ConsulGetter, ConsulResponse, RequestOptions } from "../../src/consul/client.js";
import { ConsulRequestError } from "../../src/errors.js";

export interface Call {
  readonly path: string;
  readonly query: RequestOptions["query"];
  answer(index: number, body?: unknown): void;
  /** No HTTP answer at all (the agent is unreachable). */
  fail(): void;
}

export class ScriptedConsul implements ConsulGetter {
  readonly calls: Call[] = [];
  /** Answers given without the test's hand, by path prefix (probes, fetches). */
  readonly auto = new Map<string, (query: RequestOptions["query"]) => ConsulResponse<unknown> | Error>();

  get<T>(path: string, options: RequestOptions = {}): Promise<ConsulResponse<T>> {
    return new Promise((resolve, reject) => {
      for (const [prefix, respond] of this.auto) {
        if (!path.startsWith(prefix)) continue;
        const result = respond(options.query);
        if (result instanceof Error) reject(result);
        else resolve(result as ConsulResponse<T>);
        return;
      }
      options.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
      this.calls.push({
        path,
        query: options.query,
        answer: (index, body = []) => resolve({ body: body as T, index, statusCode: 200, lastContactMs: 0 }),
        fail: () => reject(new ConsulRequestError(`GET ${path}: connection refused`)),
      });
    });
  }

  /** The latest request still waiting for the test. */
  last(): Call {
    const call = this.calls.at(-1);
    if (!call) throw new Error("no request was made");
    return call;
  }
}
