/** Log levels, apart from the logger: resolving `--log-level` must not load pino. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error"];
