/** `consulate registrator`, loaded only when the command runs. */
import type { Server } from "node:http";
import { resolveCommon } from "../config/resolve-common.js";
import { resolveRegistratorConfig, type RegistratorFlags } from "../config/resolve-registrator.js";
import { waitForAclCheck } from "../consul/acl.js";
import { formatConsulAddress } from "../consul/address.js";
import { ConsulClient } from "../consul/client.js";
import { DockerodeEngine } from "../docker/client.js";
import { createLogger, recordingLogger, redactingLogger, type Logger } from "../observe/logger.js";
import { loadMetrics, type Metrics } from "../observe/load-metrics.js";
import { startStatusServer } from "../observe/status-server.js";
import { AgentRegistry } from "../registrator/agent-registry.js";
import { Registrator } from "../registrator/registrator.js";
import type { RegistratorCommandFlags } from "./common-options.js";
import { aborted, onSignals } from "./signals.js";

/**
 * The registrator alone makes a few requests at a time (registrations, the agent's service list,
 * TTL passes) and holds no blocking query: a small share of Consul's 200 connections per client.
 */
const registratorConnections = 16;

/** Starts a registrator on a shared Consul client; the caller closes it. */
export async function startRegistrator(flags: RegistratorFlags, client: ConsulClient, acl: { hasToken: boolean; allowAnonymous: boolean }, logger: Logger, signal: AbortSignal, metrics?: Metrics): Promise<Registrator> {
  const config = resolveRegistratorConfig(flags, process.env);
  // registrator's -retry-attempts and -retry-interval; ACLs on without a token is a PermissionError unless allowed.
  const state = await waitForAclCheck(client, {
    ...acl,
    signal,
    retry: { attempts: config.retryAttempts, intervalMs: config.retryIntervalMs },
    onUnreachable: (error) => logger.warn("registrator", "waiting for Consul", { consul: client.address, error: error.message }),
  });
  if (state === "anonymous") logger.warn("registrator", "ACLs are on and no token was given (--allow-anonymous): registrations need service:write for the anonymous token");
  const registrator = new Registrator({ docker: new DockerodeEngine(config.dockerAddress), registry: new AgentRegistry(client, config.hostname), logger, metrics }, config);
  // start() waits for Docker as long as it takes: a signal must be able to end that wait.
  const stop = () => void registrator.close();
  signal.addEventListener("abort", stop, { once: true });
  try {
    await registrator.start();
  } catch (error) {
    await registrator.close();
    throw error;
  }
  logger.info("registrator", "following Docker events", { docker: config.dockerAddress, hostname: config.hostname });
  return registrator;
}

/** `consulate registrator`: runs until SIGTERM or SIGINT. */
export async function runRegistrator(flags: RegistratorCommandFlags): Promise<void> {
  const { connection, listen, log } = resolveCommon(flags, {}, process.env, process.stderr.isTTY);
  const { logger: recorded, recent } = recordingLogger(createLogger(log));
  const logger = redactingLogger(recorded, [connection.token]);
  // Metrics are read only through --listen: without it, prom-client is not even loaded.
  const metrics = listen ? await loadMetrics() : undefined;
  const client = new ConsulClient({ ...connection, maxConnections: registratorConnections });
  const controller = new AbortController();
  const stop = onSignals(["SIGTERM", "SIGINT"], () => controller.abort());
  let registrator: Registrator | undefined;
  let server: Server | undefined;
  try {
    logger.info("registrator", "starting", { consul: formatConsulAddress(connection.address) });
    // Served from the start, so the first registrations are visible there too.
    if (listen && metrics) server = await startStatusServer(listen, { runner: () => undefined, registrator: () => registrator, client, metrics, recent });
    registrator = await startRegistrator(flags, client, { hasToken: connection.token !== undefined, allowAnonymous: connection.allowAnonymous }, logger, controller.signal, metrics);
    await aborted(controller.signal);
    logger.info("cli", "stopping");
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    stop();
    server?.close();
    await registrator?.close();
    client.close();
  }
}
