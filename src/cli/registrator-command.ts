import { Command, Option } from "commander";
import { sleep } from "../abort.js";
import { formatConsulAddress } from "../config/consul-address.js";
import { parseListen } from "../config/listen.js";
import { resolveConsulConnection, type ConsulFlags } from "../config/resolve-consul.js";
import { checkAcl } from "../consul/acl.js";
import { resolveRegistratorConfig, type RegistratorFlags, type ResolvedRegistrator } from "../config/resolve-registrator.js";
import { ConsulClient } from "../consul/client.js";
import { DockerodeEngine } from "../docker/client.js";
import { ConsulateError, ConsulRequestError } from "../errors.js";
import { createLogger, recordingLogger, redactingLogger, type Logger } from "../observe/logger.js";
import { Metrics } from "../observe/metrics.js";
import { startStatusServer } from "../observe/status-server.js";
import { AgentRegistry } from "../registrator/agent-registry.js";
import { Registrator } from "../registrator/registrator.js";
import { onSignals } from "./signals.js";
import { addTlsOptions } from "./tls-options.js";

/** The registrator's flags, shared by `consulate registrator` and `consulate render --registrator`. */
export function addRegistratorOptions(command: Command): Command {
  return command
    .option("--docker <addr>", "Docker engine: unix socket path or tcp://host:port (default $DOCKER_HOST, then /var/run/docker.sock)")
    .option("--ip <addr>", "address to register every service with")
    .option("--internal", "register the container's own IP and exposed (not published) ports")
    .option("--network <name>", "with --internal: network whose address to use (per container: SERVICE_NETWORK)")
    .option("--hostname <name>", "first part of every service ID (default: this host's name)")
    .option("--tags <a,b>", "tags added to every service")
    .option("--explicit", "only containers that set SERVICE_NAME")
    .option("--resync <seconds>", "full resync period (0 = off)")
    .option("--cleanup", "remove services of this hostname whose container no longer exists")
    .option("--ttl <seconds>", "register a TTL check and keep it passing while the container runs")
    .option("--ttl-refresh <seconds>", "how often to refresh the TTL check (default ttl/2)")
    .addOption(new Option("--deregister <when>", "on container exit: always, or only when it exited with code 0").choices(["always", "on-success"]))
    .option("--deregister-on-stop", "deregister this host's services when consulate stops (default: leave them)")
    .option("--allow-script-checks", "register SERVICE_CHECK_SCRIPT checks (the agent runs a command any container chose: off by default)")
    .option("--retry-attempts <n>", "attempts to reach Consul at start-up (-1 = forever)")
    .option("--retry-interval <ms>", "pause between those attempts");
}

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
  const registrator = new Registrator(new DockerodeEngine(config.dockerAddress), new AgentRegistry(client, config.hostname), config, logger, metrics);
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

interface CommonFlags extends RegistratorFlags, ConsulFlags {
  listen?: string;
  logLevel?: "debug" | "info" | "warn" | "error";
  logFormat?: "json" | "text";
}

export function registratorCommand(): Command {
  const command = new Command("registrator")
    .description("register every published port of every running container as a service in the local Consul agent")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .option("--consul <addr>", "Consul agent: host:port, http(s)://… or consul://… (default $CONSUL_HTTP_ADDR, then 127.0.0.1:8500)")
    .option("--token <token>", "ACL token (default $CONSUL_HTTP_TOKEN); never logged")
    .option("--token-file <file>", "file holding the ACL token (default $CONSUL_HTTP_TOKEN_FILE)")
    .option("--allow-anonymous", "run without a token even where the agent enforces ACLs")
    .addOption(new Option("--log-level <level>", "debug, info, warn or error").choices(["debug", "info", "warn", "error"]))
    .addOption(new Option("--log-format <format>", "json or text").choices(["json", "text"]))
    .option("--listen <host:port>", "serve /metrics, /healthz, /readyz, /status and a status page here (off by default)");
  return addRegistratorOptions(addTlsOptions(command))
    .addHelpText(
      "after",
      `
Examples:
  consulate registrator --ip 10.1.2.3
  consulate registrator --consul consul://127.0.0.1:8500 --cleanup --resync 60 --ttl 30`,
    )
    .action(async (flags: CommonFlags) => {
      const connection = resolveConsulConnection(flags, {}, process.env);
      const listen = flags.listen === undefined ? undefined : parseListen(flags.listen, "--listen");
      const { address } = connection;
      const { logger: recorded, recent } = recordingLogger(createLogger({ level: flags.logLevel ?? "info", format: flags.logFormat ?? (process.stderr.isTTY ? "text" : "json") }));
      const logger = redactingLogger(recorded, [connection.token]);
      const metrics = new Metrics();
      const client = new ConsulClient({ address, token: connection.token, tls: connection.tls, maxConnections: 16 });
      const controller = new AbortController();
      const stop = onSignals(["SIGTERM", "SIGINT"], () => controller.abort());
      try {
        logger.info("registrator", "starting", { consul: formatConsulAddress(address) });
        const registrator = await startRegistrator(flags, client, { hasToken: connection.token !== undefined, allowAnonymous: connection.allowAnonymous }, logger, controller.signal, metrics);
        const server = listen ? await startStatusServer(listen, { runner: () => undefined, registrator: () => registrator, client, metrics, recent }) : undefined;
        await new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve(), { once: true }));
        logger.info("cli", "stopping");
        server?.close();
        await registrator.close();
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      } finally {
        stop();
        client.close();
      }
    });
}
