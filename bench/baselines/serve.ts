import http from 'node:http';

/**
 * How every baseline server runs: node:http on PORT (default 0) and HOST (default 127.0.0.1),
 * no request timeout (uploads are long requests, as in Haul), one JSON line
 * `{"msg":"listening","url":…}` once listening (what the benchmark waits for), and a clean exit
 * on SIGTERM or SIGINT.
 */
export function serve(handler: http.RequestListener): void {
  const server = http.createServer(handler);
  server.requestTimeout = 0;
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as { address: string; port: number };
    process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://${address}:${port}` })}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The value of a required environment variable; exits with a message when it is missing. */
export function required(name: string, key: string): string {
  const value = process.env[key];
  if (!value) {
    process.stderr.write(`${name}: ${key} is required\n`);
    process.exit(2);
  }
  return value;
}
