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

/**
 * The agent accepted a connection and closed it unanswered, or answered 429: its limit of
 * connections per client address (`limits.http_max_conns_per_client`) is reached. The agent is
 * up; the room is taken, by this process, its predecessor's held queries or another client.
 */
export class ConnectionLimitError extends ConsulRequestError {}

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

/** `--once`: a `--check` refused a candidate, or a reload command failed or timed out. */
export class CommandFailedError extends ConsulateError {
  override readonly code = "ECOMMAND";
  override readonly exitCode = 6;
}

/** ACLs are on and the token cannot do what consulate needs (or there is no token). */
export class PermissionError extends ConsulateError {
  override readonly code = "EPERMISSION";
  override readonly exitCode = 7;
}

/** A template helper called wrongly (arguments, options); the template reports its line:column. */
export class HelperError extends ConsulateError {
  override readonly code = "EHELPER";
  constructor(
    message: string,
    readonly location: { readonly line: number; readonly column: number } | undefined,
  ) {
    super(message);
  }
}

/**
 * A catalog or KV value that is not valid where the template puts it (a host name with `}`, an
 * address with spaces, a 100 KB tag). `reason` says why; `field` and `where` are filled in by the
 * helper and the iteration that saw it ("Address", `service "web" instance "web-1"`).
 */
export class RefusedValueError extends ConsulateError {
  override readonly code = "EREFUSED";
  constructor(
    readonly reason: string,
    readonly field?: string,
    readonly where?: string,
  ) {
    super([where, field, reason].filter(Boolean).join(": "));
  }

  /** The same refusal with the place it was found in. */
  located(where: string | undefined, field: string | undefined): RefusedValueError {
    return new RefusedValueError(this.reason, this.field ?? field, this.where ?? where);
  }
}

/** The TLS handshake with the agent failed: unknown CA, name mismatch, expired, client certificate required. */
export class TlsError extends ConsulateError {
  override readonly code = "ETLS";
  override readonly exitCode = 8;
}

/** HAProxy's Runtime API refused a command or could not be reached: the change goes by reload instead. */
export class HaproxyRuntimeError extends ConsulateError {
  override readonly code = "EHAPROXY_RUNTIME";
}
