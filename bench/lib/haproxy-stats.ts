import net from 'node:net';

/**
 * HAProxy's counters per server, read over its stats socket (`show stat`, HAProxy management
 * guide, "Statistics and monitoring"): scripts/local-haproxy.sh opens one (HAPROXY_STATS_SOCKET).
 * Used by bench/scale-out.ts (what the proxy did during a run) and tests/reverse-proxy.test.ts.
 */
export interface ServerCounters {
  /** Connections HAProxy opened to the server. */
  connect: number;
  /** Requests sent on a connection it already had (an idle one, kept for reuse). */
  reuse: number;
  /** Responses that failed: the server closed or reset the connection before or while answering. */
  eresp: number;
  /** Transfers the server aborted, and transfers the client aborted. */
  srvAbort: number;
  cliAbort: number;
  /** Connection attempts retried, and requests redispatched to another server. */
  retries: number;
  redispatches: number;
}

const FIELDS = { connect: 'connect', reuse: 'reuse', eresp: 'eresp', srvAbort: 'srv_abrt', cliAbort: 'cli_abrt', retries: 'wretr', redispatches: 'wredis' } as const;

/** One command on HAProxy's CLI socket; its whole answer (HAProxy closes after answering). */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${socketPath}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.once('connect', () => socket.end(`${command}\n`));
  });
}

/** The counters of every server of `backend` (e.g. { haul1: {...}, haul2: {...} }). */
export async function serverCounters(socketPath: string, backend = 'haul'): Promise<Record<string, ServerCounters>> {
  const lines = (await haproxyCommand(socketPath, 'show stat')).split('\n').filter((line) => line.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '').split(',');
  if (!header?.includes('pxname')) throw new Error(`${socketPath}: "show stat" answered ${lines.slice(0, 2).join(' / ') || 'nothing'}`);
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`"show stat" has no column ${name}`);
    return index;
  };
  const servers: Record<string, ServerCounters> = {};
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const server = cells[column('svname')]!;
    if (cells[column('pxname')] !== backend || server === 'FRONTEND' || server === 'BACKEND') continue;
    servers[server] = Object.fromEntries(
      Object.entries(FIELDS).map(([key, field]) => [key, Number(cells[column(field)] || 0)]),
    ) as unknown as ServerCounters;
  }
  return servers;
}

/** after − before, per server and counter. */
export function countersSince(before: Record<string, ServerCounters>, after: Record<string, ServerCounters>): Record<string, ServerCounters> {
  return Object.fromEntries(
    Object.entries(after).map(([server, counters]) => [
      server,
      Object.fromEntries(Object.entries(counters).map(([key, value]) => [key, value - (before[server]?.[key as keyof ServerCounters] ?? 0)])) as unknown as ServerCounters,
    ]),
  );
}

/** "haul1 connect 120 reuse 580 eresp 0 srv_abrt 0 cli_abrt 0 wretr 0 wredis 0; haul2 …" */
export const countersLine = (servers: Record<string, ServerCounters>) =>
  Object.entries(servers)
    .map(([server, c]) => `${server} ${Object.entries(FIELDS).map(([key, field]) => `${field} ${c[key as keyof ServerCounters]}`).join(' ')}`)
    .join('; ');
