/** A self-signed certificate for 127.0.0.1 and localhost, as PEM files and text. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
}

/** Runs the openssl CLI (stdin closed, 15 s limit); returns exit code and all output. */
export async function openssl(args: string[]): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(15_000),
  });
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

/** Generates a P-256 self-signed certificate valid for two days into `dir`. */
export async function generateCertificate(dir: string): Promise<TestCertificate> {
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const { code, output } = await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    // rustls refuses a CA certificate as a server certificate (CaUsedAsEndEntity).
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "extendedKeyUsage=serverAuth",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  if (code !== 0) throw new Error(`openssl req failed:\n${output}`);
  return { certFile, keyFile, cert: await Deno.readTextFile(certFile) };
}
