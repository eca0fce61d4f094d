/** `consulate registrator`, loaded only when the command runs. */
import { sleep } from "../time.js";
import { formatConsulAddress } from "../consul/address.js";
import { parseListen } from "../config/listen.js";
import { resolveConsulConnection } from "../config/resolve-consul.js";
import { checkAcl } from "../consul/acl.js";
import { resolveRegistratorConfig, type RegistratorFlags, type ResolvedRegistrator } from "../config/resolve-registrator.js";
import type { RegistratorCommandFlags } from "./registrator-command.js";
import { ConsulClient } from "../consul/client.js";
import { DockerodeEngine } from "../docker/client.js";
import { ConsulateError, ConsulRequestError } from "../errors.js";
import { createLogger, recordingLogger, redactingLogger, type Logger } from "../observe/logger.js";
import { loadMetrics, type Metrics } from "../observe/load-metrics.js";
import { startStatusServer } from "../observe/status-server.js";
import { AgentRegistry } from "../registrator/agent-registry.js";
import { Registrator } from "../registrator/registrator.js";
import { aborted, onSignals } from "./signals.js";
import type { Server } from "node:http";

/**
 * Waits until the agent answers, `attempts` times at most (-1 = forever), and checks the ACL
 * token on the way: ACLs on without a token is a PermissionError unless allowAnonymous.
 */
async function waitForConsul(client: ConsulClient, config: ResolvedRegistrator, acl: { hasToken: boolean; allowAnonymous: boolean }, logger: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const state = await checkAcl(client, { ...acl, signal });
      if (state === "anonymous") logger.warn("registrator", "ACLs are on and no token was given (--allow-anonymous): registrations need service:write for the anonymous token");
      return;
    } catch (error) {
      if (signal.aborted || !(error instanceof ConsulRequestError) || error.statusCode !== undefined) throw error;
      if (config.retryAttempts >= 0 && attempt > config.retryAttempts) {
        throw new ConsulateError(`cannot reach Consul at ${client.address} after ${attempt} attempts: ${(error as Error).message}`);
      }
      if (attempt === 1) logger.warn("registrator", "waiting for Consul", { consul: client.address, error: (error as Error).message });
      await sleep(config.retryIntervalMs, signal);
    }
  }
}

/** Starts a registrator on a shared Consul client; the caller closes it. */
export async function startRegistrator(flags: RegistratorFlags, client: ConsulClient, acl: { hasToken: boolean; allowAnonymous: boolean }, logger: Logger, signal: AbortSignal, metrics?: Metrics): Promise<Registrator> {
  const config = resolveRegistratorConfig(flags, process.env);
  await waitForConsul(client, config, acl, logger, signal);
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
  const connection = resolveConsulConnection(flags, {}, process.env);
  const listen = flags.listen === undefined ? undefined : parseListen(flags.listen, "--listen");
  const { address } = connection;
  const { logger: recorded, recent } = recordingLogger(createLogger({ level: flags.logLevel ?? "info", format: flags.logFormat ?? (process.stderr.isTTY ? "text" : "json") }));
  const logger = redactingLogger(recorded, [connection.token]);
  // Metrics are read only through --listen: without it, prom-client is not even loaded.
  const metrics = listen ? await loadMetrics() : undefined;
  const client = new ConsulClient({ address, token: connection.token, tls: connection.tls, maxConnections: 16 });
  const controller = new AbortController();
  const stop = onSignals(["SIGTERM", "SIGINT"], () => controller.abort());
  let registrator: Registrator | undefined;
  let server: Server | undefined;
  try {
    logger.info("registrator", "starting", { consul: formatConsulAddress(address) });
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
