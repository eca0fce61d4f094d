/** What the Consul client needs to speak TLS: the settings as resolved by config/, files read. */
export interface ResolvedTls {
  readonly ca: readonly Buffer[] | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly serverName: string | undefined;
  readonly skipVerify: boolean;
  /** Where the CA came from (`--ca-file /etc/consul/ca.pem`), or "the system's CAs". */
  readonly caSource: string;
  readonly certSource: string | undefined;
}
