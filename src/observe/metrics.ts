import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one consulate process, in a registry of its own. */
export class Metrics {
  readonly registry = new Registry();
  readonly renders = new Counter({ name: "consulate_renders_total", help: "Render passes by template and result (written, unchanged, waiting, failed).", labelNames: ["template", "result"], registers: [this.registry] });
  readonly checkFailures = new Counter({ name: "consulate_check_failures_total", help: "Candidates refused by --check.", labelNames: ["template"], registers: [this.registry] });
  readonly rollbacks = new Counter({ name: "consulate_rollbacks_total", help: "Files restored after a failed reload.", labelNames: ["template"], registers: [this.registry] });
  readonly commands = new Counter({ name: "consulate_commands_total", help: "Commands run, by result.", labelNames: ["result"], registers: [this.registry] });
  readonly commandSeconds = new Histogram({ name: "consulate_command_duration_seconds", help: "Duration of commands.", buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry] });
  readonly lastRender = new Gauge({ name: "consulate_last_render_timestamp_seconds", help: "When each template was last written.", labelNames: ["template"], registers: [this.registry] });
  readonly writeFailures = new Counter({ name: "consulate_write_failures_total", help: "Output files that could not be written (full disk, permissions, …); retried.", labelNames: ["template"], registers: [this.registry] });
  readonly refusals = new Counter({ name: "consulate_refused_values_total", help: "Catalog or KV values refused by a context helper (newly seen), by template.", labelNames: ["template"], registers: [this.registry] });
  readonly refusedNow = new Gauge({ name: "consulate_refused_values", help: "Values refused and left out of each template's file right now.", labelNames: ["template"], registers: [this.registry] });
  readonly staleCorrections = new Counter({ name: "consulate_stale_corrections_total", help: "Service queries read again because an instance they held moved to another service name (Consul keeps the old index).", registers: [this.registry] });
  readonly consulErrors = new Counter({ name: "consulate_consul_request_errors_total", help: "Failed requests to Consul, by kind (unreachable, http, limit: the agent's connections per client address were all taken).", labelNames: ["kind"], registers: [this.registry] });
  readonly wakeups = new Counter({ name: "consulate_blocking_query_wakeups_total", help: "Blocking queries answered with a new index.", registers: [this.registry] });
  readonly registrations = new Counter({ name: "consulate_registrator_changes_total", help: "Registrator registrations and deregistrations, and failed reconciles.", labelNames: ["action"], registers: [this.registry] });
  readonly dockerReconnects = new Counter({ name: "consulate_docker_event_stream_reconnects_total", help: "Times the Docker event stream was reopened.", registers: [this.registry] });
  readonly runtimeUpdates = new Counter({ name: "consulate_haproxy_runtime_updates_total", help: "HAProxy config changes applied through the Runtime API, without a reload.", labelNames: ["template"], registers: [this.registry] });
  readonly reloadFallbacks = new Counter({ name: "consulate_haproxy_reload_fallbacks_total", help: "HAProxy config changes that needed a reload, by reason: structure (more than server lines changed), refused (a Runtime API command failed) or unknown (no earlier file to compare with).", labelNames: ["template", "reason"], registers: [this.registry] });
  readonly watches = new Gauge({ name: "consulate_watches", help: "Live dependency watches.", registers: [this.registry] });
  readonly connections = new Gauge({ name: "consulate_consul_connections", help: "Open connections to the Consul agent.", registers: [this.registry] });
}
