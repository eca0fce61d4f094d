import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCerts {
  readonly ca: string;
  /** A CA that signed nothing here: the wrong CA. */
  readonly otherCa: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

async function signed(dir: string, name: string, subject: string, ca: { cert: string; key: string }, extensions: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", subject]);
  await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", cert, "-days", "2", "-sha256", "-extfile", ext]);
  return { cert, key };
}

async function authority(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`]);
  return { cert, key };
}

/**
 * A CA, a server certificate for 127.0.0.1 and localhost (and Consul's `server.dc1.consul`), a
 * client certificate, and an unrelated CA — made by openssl in `dir`, as an operator would.
 */
export async function makeCerts(dir: string): Promise<TestCerts> {
  const ca = await authority(dir, "consulate-test-ca");
  const other = await authority(dir, "unrelated-ca");
  const server = await signed(dir, "server", "/CN=server.dc1.consul", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:server.dc1.consul\nextendedKeyUsage=serverAuth,clientAuth\n");
  const client = await signed(dir, "client", "/CN=consulate", ca, "extendedKeyUsage=clientAuth\n");
  return { ca: ca.cert, otherCa: other.cert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}
