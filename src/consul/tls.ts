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

/**
 * One line for a failed TLS handshake, naming the file to look at, or undefined when the error
 * is not one. Unknown CA, name mismatch, expiry and a refused client certificate are configuration
 * problems that no retry fixes.
 */
export function describeTlsFailure(code: string | undefined, message: string, address: string, tls: ResolvedTls | undefined): string | undefined {
  const ca = tls?.caSource ?? "the system's CAs";
  switch (code) {
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return `TLS to ${address}: the agent's certificate is not signed by a CA in ${ca} (unknown CA, ${code}); give the CA that signed it with --ca-file or CONSUL_CACERT`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `TLS to ${address}: the agent's certificate is not valid for this name (${message.replace(/^Hostname\/IP does not match certificate's altnames: /, "")}); connect by a name it holds or set --tls-server-name`;
    case "CERT_HAS_EXPIRED":
      return `TLS to ${address}: the agent's certificate has expired`;
    case "CERT_NOT_YET_VALID":
      return `TLS to ${address}: the agent's certificate is not valid yet`;
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return `TLS to ${address}: the agent does not speak TLS on this port (plain http?)`;
  }
  if (/certificate required|alert bad certificate|alert certificate unknown|handshake failure/i.test(message) || code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" || code === "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE") {
    return `TLS to ${address}: the agent refused our client certificate${tls?.certSource ? ` (${tls.certSource})` : " (none given: it requires one, --client-cert and --client-key)"}`;
  }
  return undefined;
}
