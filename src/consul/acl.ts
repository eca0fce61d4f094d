import { backoffDelayMs, sleep } from "../time.js";
import { ConsulRequestError, PermissionError } from "../errors.js";
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

/** checkAcl, retried with backoff while the agent cannot be reached. */
export async function waitForAclCheck(client: ConsulClient, options: { hasToken: boolean; allowAnonymous: boolean; signal: AbortSignal }): Promise<AclState> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await checkAcl(client, options);
    } catch (error) {
      if (options.signal.aborted || !(error instanceof ConsulRequestError) || error.statusCode !== undefined) throw error;
      await sleep(backoffDelayMs(attempt, { baseMs: 250, maxMs: 5_000 }), options.signal);
      options.signal.throwIfAborted();
    }
  }
}
