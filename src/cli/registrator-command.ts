import { Command, Option } from "commander";
import { sleep } from "../abort.js";
import { parseConsulAddress, formatConsulAddress } from "../config/consul-address.js";
import { resolveRegistratorConfig, type RegistratorFlags, type ResolvedRegistrator } from "../config/resolve-registrator.js";
import { ConsulClient } from "../consul/client.js";
import { DockerodeEngine } from "../docker/client.js";
import { ConsulateError } from "../errors.js";
import { createLogger, recordingLogger, type Logger } from "../observe/logger.js";
import { Metrics } from "../observe/metrics.js";
import { startStatusServer } from "../observe/status-server.js";
import { AgentRegistry } from "../registrator/agent-registry.js";
import { Registrator } from "../registrator/registrator.js";
import { onSignals } from "./signals.js";

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
    .option("--retry-attempts <n>", "attempts to reach Consul at start-up (-1 = forever)")
    .option("--retry-interval <ms>", "pause between those attempts");
}

/** Waits until the agent answers, `attempts` times at most (-1 = forever). */
async function waitForConsul(client: ConsulClient, config: ResolvedRegistrator, logger: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.get("/agent/self", { signal, timeoutMs: 5_000 });
      return;
    } catch (error) {
      if (signal.aborted) throw error;
      if (config.retryAttempts >= 0 && attempt > config.retryAttempts) {
        throw new ConsulateError(`cannot reach Consul at ${client.address} after ${attempt} attempts: ${(error as Error).message}`);
      }
      if (attempt === 1) logger.warn("registrator", "waiting for Consul", { consul: client.address, error: (error as Error).message });
      await sleep(config.retryIntervalMs, signal);
    }
  }
}

/** Starts a registrator on a shared Consul client; the caller closes it. */
export async function startRegistrator(flags: RegistratorFlags, client: ConsulClient, logger: Logger, signal: AbortSignal, metrics?: Metrics): Promise<Registrator> {
  const config = resolveRegistratorConfig(flags, process.env);
  await waitForConsul(client, config, logger, signal);
  const registrator = new Registrator(new DockerodeEngine(config.dockerAddress), new AgentRegistry(client, config.hostname), config, logger, metrics);
  await registrator.start();
  logger.info("registrator", "following Docker events", { docker: config.dockerAddress, hostname: config.hostname });
  return registrator;
}

interface CommonFlags extends RegistratorFlags {
  listen?: string;
  consul?: string;
  token?: string;
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
    .addOption(new Option("--log-level <level>", "debug, info, warn or error").choices(["debug", "info", "warn", "error"]))
    .addOption(new Option("--log-format <format>", "json or text").choices(["json", "text"]))
    .option("--listen <host:port>", "serve /metrics, /healthz, /readyz, /status and a status page here (off by default)");
  return addRegistratorOptions(command)
    .addHelpText(
      "after",
      `
Examples:
  consulate registrator --ip 10.1.2.3
  consulate registrator --consul consul://127.0.0.1:8500 --cleanup --resync 60 --ttl 30`,
    )
    .action(async (flags: CommonFlags) => {
      const address = parseConsulAddress(flags.consul ?? process.env.CONSUL_HTTP_ADDR ?? "127.0.0.1:8500");
      const { logger, recent } = recordingLogger(createLogger({ level: flags.logLevel ?? "info", format: flags.logFormat ?? (process.stderr.isTTY ? "text" : "json") }));
      const metrics = new Metrics();
      const client = new ConsulClient({ address, token: flags.token ?? process.env.CONSUL_HTTP_TOKEN, maxConnections: 16 });
      const controller = new AbortController();
      const stop = onSignals(["SIGTERM", "SIGINT"], () => controller.abort());
      try {
        logger.info("registrator", "starting", { consul: formatConsulAddress(address) });
        const registrator = await startRegistrator(flags, client, logger, controller.signal, metrics);
        const server = flags.listen ? await startStatusServer(flags.listen, { runner: () => undefined, registrator: () => registrator, client, metrics, recent }) : undefined;
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
