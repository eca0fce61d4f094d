import { backoffDelayMs, sleep } from "../time.js";
import { ConsulateError, ConsulRequestError, PermissionError } from "../errors.js";
import type { ConsulClient } from "./client.js";

/** Consul's built-in anonymous token: what a request without a token runs as. */
const anonymousAccessor = "00000000-0000-0000-0000-000000000002";

export type AclState = "disabled" | "token" | "anonymous";

/**
 * Whether the agent enforces ACLs and who we are to it (`/v1/acl/token/self`). Consul 1.8 hides
 * what a token may not read (`[]` with 200), so running without a token where ACLs are on renders
 * an empty world without a single error: that is refused unless `allowAnonymous` says it is meant.
 * - 401 "ACL support disabled": ACLs are off.
 * - 403 "ACL not found": no token (or an unknown one) on an agent with ACLs.
 * - 200: the token, or the anonymous token, is known.
 */
export async function checkAcl(client: ConsulClient, options: { hasToken: boolean; allowAnonymous: boolean; signal?: AbortSignal }): Promise<AclState> {
  try {
    const { body } = await client.get<{ AccessorID?: string }>("/acl/token/self", { signal: options.signal, timeoutMs: 10_000 });
    if (body?.AccessorID !== anonymousAccessor) return "token";
  } catch (error) {
    if (!(error instanceof ConsulRequestError) || error.statusCode === undefined) throw error;
    if (error.statusCode === 401) return "disabled";
    if (error.statusCode !== 403) throw error;
    if (options.hasToken) throw new PermissionError(`Consul at ${client.address} does not know the ACL token given (ACL not found): check --token, --token-file or CONSUL_HTTP_TOKEN`);
  }
  if (options.allowAnonymous) return "anonymous";
  throw new PermissionError(`Consul at ${client.address} enforces ACLs and no token was given: it would hide every service from us. Give a token (--token-file, --token or CONSUL_HTTP_TOKEN), or --allow-anonymous if the anonymous token is meant`);
}

export interface AclWaitOptions {
  readonly hasToken: boolean;
  readonly allowAnonymous: boolean;
  readonly signal: AbortSignal;
  /** registrator's -retry-attempts and -retry-interval: give up after `attempts` (-1: never), this far apart. Default: backoff, forever. */
  readonly retry?: { readonly attempts: number; readonly intervalMs: number };
  /** Called once, at the first attempt that finds the agent unreachable. */
  readonly onUnreachable?: (error: Error) => void;
}

/** checkAcl, retried while the agent cannot be reached; HTTP errors and permission problems are final. */
export async function waitForAclCheck(client: ConsulClient, options: AclWaitOptions): Promise<AclState> {
  const { signal, retry } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await checkAcl(client, options);
    } catch (error) {
      // Only "no answer" is waited out: an HTTP error, a permission or a TLS problem is final.
      if (signal.aborted || !(error instanceof ConsulRequestError) || error.statusCode !== undefined) throw error;
      if (retry && retry.attempts >= 0 && attempt >= retry.attempts) {
        throw new ConsulateError(`cannot reach Consul at ${client.address} after ${attempt + 1} attempts: ${error.message}`);
      }
      if (attempt === 0) options.onUnreachable?.(error);
      await sleep(retry ? retry.intervalMs : backoffDelayMs(attempt, { baseMs: 250, maxMs: 5_000 }), signal);
      signal.throwIfAborted();
    }
  }
}
