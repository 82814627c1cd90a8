/** A test CA and a server certificate it signed, for 127.0.0.1 and localhost. */
export interface TestCertificate {
  /** The server certificate (PEM file). */
  certFile: string;
  keyFile: string;
  /** The CA certificate (PEM file and text) clients trust. */
  caFile: string;
  ca: string;
}

/** Runs the openssl CLI (stdin closed, 15 s limit); returns exit code and all output. */
export async function openssl(
  args: string[],
  cwd?: string,
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(15_000),
  });
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

async function run(args: string[], cwd: string): Promise<void> {
  const { code, output } = await openssl(args, cwd);
  if (code !== 0) throw new Error(`openssl ${args[0]} failed:\n${output}`);
}

const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Generates, into `dir`, a P-256 test CA and a 90-day server certificate shaped like
 * a public one (not a CA, serverAuth, SAN, a CRL distribution point), so TLS scanners
 * judge the server's configuration rather than the oddities of a bare self-signed
 * certificate. The CRL URL is on loopback and never fetched.
 */
export async function generateCertificate(dir: string): Promise<TestCertificate> {
  await run([
    "req",
    "-x509",
    ...P256,
    "-days",
    "120",
    "-subj",
    "/CN=citadel test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ], dir);
  await run(
    ["req", ...P256, "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "server.csr"],
    dir,
  );
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "crlDistributionPoints=URI:http://127.0.0.1:9/citadel-test.crl",
    ].join("\n") + "\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "90",
    "-extfile",
    "server.ext",
    "-out",
    "cert.pem",
  ], dir);
  return {
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    caFile: `${dir}/ca.pem`,
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
  };
}
