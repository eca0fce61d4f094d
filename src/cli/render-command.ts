import { Command, Option } from "commander";
import { formatConsulAddress } from "../config/consul-address.js";
import { formatListen } from "../config/listen.js";
import { waitForAclCheck } from "../consul/acl.js";
import { resolveRenderConfig, type RenderFlags } from "../config/resolve-render.js";
import type { ResolvedRenderConfig } from "../config/resolved.js";
import { ConsulClient } from "../consul/client.js";
import { createLogger, recordingLogger, redactingLogger, type Logger } from "../observe/logger.js";
import { Runner } from "../runner/runner.js";
import type { Registrator } from "../registrator/registrator.js";
import type { RegistratorFlags } from "../config/resolve-registrator.js";
import { addRegistratorOptions, startRegistrator } from "./registrator-command.js";
import { onSignals } from "./signals.js";
import { addTlsOptions } from "./tls-options.js";
import type { Server } from "node:http";
import { Metrics } from "../observe/metrics.js";
import { startStatusServer } from "../observe/status-server.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface RenderCommandFlags extends RenderFlags, RegistratorFlags {
  registrator?: boolean;
}

export function renderCommand(): Command {
  const command = new Command("render")
    .description("watch Consul and render templates when the data they use changes")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .option("-t, --template <src:dest[:command]>", "template to render (repeatable); optional command runs after this file changed", collect)
    .option("-x, --exec <command>", "command run once per render cycle in which any output file changed")
    .option("--check <command>", "validate each candidate file before it replaces the destination; {{candidate}} is its path (also $CONSULATE_CANDIDATE)")
    .option("-c, --config <file>", "YAML or JSON config file with the same settings; flags override it")
    .option("--consul <addr>", "Consul agent: host:port, http://… or https://… (default $CONSUL_HTTP_ADDR, then 127.0.0.1:8500)")
    .option("--token <token>", "ACL token (default $CONSUL_HTTP_TOKEN); never logged")
    .option("--token-file <file>", "file holding the ACL token (default $CONSUL_HTTP_TOKEN_FILE)")
    .option("--allow-anonymous", "run without a token even where the agent enforces ACLs (it hides what the anonymous token may not read)")
    .option("--wait <min[:max]>", "quiescence before rendering, e.g. 2s:10s (max defaults to 4×min)")
    .option("--once", "render every template once all its data is there, run commands, exit")
    .option("--once-timeout <dur>", "with --once: give up after this long", "60s")
    .option("--dry", "print what would change as a unified diff per file; write nothing, run nothing")
    .option("--guard-shrink <percent>", "hold back a change that empties a service or shrinks it by more than this, until it persists (off by default)")
    .option("--guard-hold <dur>", "with --guard-shrink: how long a shrink must persist before it is written (default 30s)")
    .option("--max-stale <dur>", "allow stale reads from any server up to this lag")
    .option("--max-connections <n>", "concurrent connections to the agent (default 48)")
    .option("--command-timeout <dur>", "kill a command's process group after this long: SIGTERM, then SIGKILL 2s later (default 30s)")
    .addOption(new Option("--on-unsafe <what>", "a catalog value refused by a context helper: leave its item out and warn (skip), or stop updating the file (fail)").choices(["skip", "fail"]))
    .option("--max-value-length <n>", "longest catalog value the context helpers accept (default 1024; host names 253)")
    .addOption(new Option("--blocking-wait <dur>", "wait time of each blocking query (default 60s)").hideHelp())
    .addOption(new Option("--log-level <level>", "debug, info, warn or error").choices(["debug", "info", "warn", "error"]))
    .addOption(new Option("--log-format <format>", "json (default when stderr is not a terminal) or text").choices(["json", "text"]))
    .option("--listen <host:port>", "serve /metrics, /healthz, /readyz and /status here (off by default)")
    .option("--registrator", "also run the registrator in this process (the sidecar); takes the registrator's flags");
  return addRegistratorOptions(addTlsOptions(command))
    .addHelpText(
      "after",
      `
Examples:
  consulate render --template haproxy.hbs:/etc/haproxy/haproxy.cfg --exec "systemctl reload haproxy"
  consulate render --once --dry -t nginx.hbs:/etc/nginx/conf.d/upstreams.conf
  consulate render -c consulate.yaml --wait 2s:10s
  consulate render --registrator --ip 10.1.2.3 -t templates/haproxy.hbs:/etc/haproxy/haproxy.cfg -x "systemctl reload haproxy"`,
    )
    .action(async (flags: RenderCommandFlags) => {
      await runRender(flags);
    });
}

async function runRender(flags: RenderCommandFlags): Promise<void> {
  let config = await resolveRenderConfig(flags, process.env, process.cwd(), process.stderr.isTTY);
  const { logger: recorded, recent } = recordingLogger(createLogger(config.log));
  const logger = redactingLogger(recorded, [config.consul.token]);
  // One client for the whole process: the registrator and every runner share its connection budget.
  const client = new ConsulClient(config.consul);
  const controller = new AbortController();
  let runner: Runner | undefined;
  let registrator: Registrator | undefined;
  let server: Server | undefined;
  const metrics = new Metrics();
  const stopSignals = onSignals(["SIGTERM", "SIGINT"], (signal) => {
    logger.info("cli", "stopping", { signal });
    controller.abort();
  });
  try {
    // With ACLs on and no token, every service would look empty: refuse before rendering anything.
    const acl = aclGate(client, config, logger, controller.signal);
    await Promise.race([acl, delay(2_000)]);
    runner = await startRunner(config, client, logger, metrics);
    if (config.listen) {
      server = await startStatusServer(config.listen, { runner: () => runner, registrator: () => registrator, client, metrics, recent });
      logger.info("cli", "serving metrics and status", { listen: formatListen(config.listen) });
    }
    if (flags.registrator) registrator = await startRegistrator(flags, client, { hasToken: config.consul.token !== undefined, allowAnonymous: config.consul.allowAnonymous }, logger, controller.signal, metrics);
    const failed = acl.then(() => new Promise<never>(() => undefined));
    if (config.once) {
      await Promise.race([runner.untilOnceDone(), aborted(controller.signal), failed]);
      return;
    }
    let reloading = Promise.resolve();
    const stopHup = onSignals(["SIGHUP"], () => {
      reloading = reloading.then(async () => {
        try {
          const next = await resolveRenderConfig(flags, process.env, process.cwd(), process.stderr.isTTY);
          const started = await startRunner(next, client, logger, metrics);
          await runner?.close();
          runner = started;
          config = next;
          logger.info("cli", "reloaded configuration and templates", { templates: config.templates.length });
        } catch (error) {
          logger.error("cli", "reload failed; still running the previous configuration", { error: error instanceof Error ? error.message : String(error) });
        }
      });
    });
    await Promise.race([aborted(controller.signal), failed]).finally(stopHup);
    await reloading;
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    stopSignals();
    server?.close();
    await registrator?.close();
    await runner?.close();
    client.close();
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The ACL check, in the background while the agent is unreachable; rejects with PermissionError. */
async function aclGate(client: ConsulClient, config: ResolvedRenderConfig, logger: Logger, signal: AbortSignal): Promise<void> {
  try {
    const state = await waitForAclCheck(client, { hasToken: config.consul.token !== undefined, allowAnonymous: config.consul.allowAnonymous, signal });
    if (state === "anonymous") logger.warn("cli", "ACLs are on and no token was given (--allow-anonymous): services the anonymous token may not read look empty", { consul: client.address });
  } catch (error) {
    if (signal.aborted) return new Promise<void>(() => undefined);
    throw error;
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}

async function startRunner(config: ResolvedRenderConfig, client: ConsulClient, logger: Logger, metrics: Metrics): Promise<Runner> {
  const runner = new Runner({ config, client, logger, metrics });
  try {
    await runner.start();
  } catch (error) {
    await runner.close();
    throw error;
  }
  logger.info("runner", "watching Consul", { consul: formatConsulAddress(config.consul.address), templates: config.templates.length, once: config.once || undefined, dry: config.dry || undefined });
  return runner;
}
