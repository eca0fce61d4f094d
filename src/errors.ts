/**
 * Every error a user can cause or meet has a class here with a stable `code`. Only `cli/main`
 * turns them into a message and an exit code; everything else throws or returns them.
 */
export class ConsulateError extends Error {
  readonly code: string = "ECONSULATE";
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, a malformed `--template` spec or a bad config file: the user must fix the input. */
export class ConfigError extends ConsulateError {
  override readonly code = "ECONFIG";
  override readonly exitCode = 2;
}

/** A template that cannot be read, parsed or rendered. `file:line:col` is in the message. */
export class TemplateError extends ConsulateError {
  override readonly code = "ETEMPLATE";
  override readonly exitCode = 3;
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly line?: number,
    readonly column?: number,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}${column === undefined ? "" : `:${column}`}: ${detail}`, options);
  }
}

/** A request to Consul failed. Never carries the ACL token. */
export class ConsulRequestError extends ConsulateError {
  override readonly code = "ECONSUL";
  constructor(
    message: string,
    readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `--once` gave up waiting for data. */
export class OnceTimeoutError extends ConsulateError {
  override readonly code = "EONCE_TIMEOUT";
  override readonly exitCode = 4;
}

/** Writing an output file failed. */
export class RenderWriteError extends ConsulateError {
  override readonly code = "EWRITE";
  override readonly exitCode = 5;
}
