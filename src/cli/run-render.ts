/** `consulate render`, loaded only when the command runs. */
import { formatConsulAddress } from "../consul/address.js";
import { formatListen } from "../observe/status.js";
import { waitForAclCheck } from "../consul/acl.js";
import { resolveRenderConfig } from "../config/resolve-render.js";
import type { ResolvedRenderConfig } from "../config/resolved.js";
import { ConsulClient } from "../consul/client.js";
import { createLogger, recordingLogger, redactingLogger, type Logger } from "../observe/logger.js";
import { Runner } from "../runner/runner.js";
import type { Registrator } from "../registrator/registrator.js";
import { aborted, onSignals } from "./signals.js";
import type { Server } from "node:http";
import { loadMetrics, type Metrics } from "../observe/load-metrics.js";
import { startStatusServer } from "../observe/status-server.js";
import type { RenderCommandFlags } from "./common-options.js";

/** `consulate render`: runs until SIGTERM or SIGINT, or with --once until done. */
export async function runRender(flags: RenderCommandFlags): Promise<void> {
  let config = await resolveRenderConfig(flags, process.env, process.cwd(), process.stderr.isTTY);
  // The shipped HAProxy template serves its Runtime API where --haproxy-socket says (and the
  // reload script passes it on with -x): one flag for both.
  const socket = config.templates.find((t) => t.haproxy)?.haproxy?.socket;
  if (socket !== undefined) process.env.CONSULATE_HAPROXY_SOCKET ??= socket;
  const { logger: recorded, recent } = recordingLogger(createLogger(config.log));
  const logger = redactingLogger(recorded, [config.consul.token]);
  // One client for the whole process: the registrator and every runner share its connection budget.
  const client = new ConsulClient(config.consul);
  const controller = new AbortController();
  let runner: Runner | undefined;
  let registrator: Registrator | undefined;
  let server: Server | undefined;
  // Metrics are read only through --listen: without it, prom-client is not even loaded.
  const metrics = config.listen ? await loadMetrics() : undefined;
  const stopSignals = onSignals(["SIGTERM", "SIGINT"], (signal) => {
    logger.info("cli", "stopping", { signal });
    controller.abort();
  });
  try {
    // With ACLs on and no token, every service would look empty: refuse before rendering anything.
    const acl = aclGate(client, config, logger, controller.signal);
    await Promise.race([acl, delay(2_000)]);
    runner = await startRunner(config, client, logger, metrics);
    if (config.listen && metrics) {
      server = await startStatusServer(config.listen, { runner: () => runner, registrator: () => registrator, client, metrics, recent });
      logger.info("cli", "serving metrics and status", { listen: formatListen(config.listen) });
    }
    if (flags.registrator) registrator = await (await import("./run-registrator.js")).startRegistrator(flags, client, { hasToken: config.consul.token !== undefined, allowAnonymous: config.consul.allowAnonymous }, logger, controller.signal, metrics);
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


async function startRunner(config: ResolvedRenderConfig, client: ConsulClient, logger: Logger, metrics: Metrics | undefined): Promise<Runner> {
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
