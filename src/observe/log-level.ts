/** Log levels, apart from the logger, so that config/ can check `--log-level` without it. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error"];
