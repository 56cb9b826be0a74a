import net from 'node:net';
import type { ProcessingConfig } from '../config.js';

/**
 * One short clamd command (PING, VERSION) on its own connection, for health checks and metrics:
 * the scanner's client (clamscan) keeps no connection to ask on, and a probe must never wait on
 * a scan. clamd's "z" commands are NUL-terminated both ways (clamd(8): "It's recommended to
 * prefix clamd commands with the letter z … to indicate that the command will be delimited by a
 * NULL character and that clamd should continue reading command data until a NULL character is
 * read").
 */
export function clamdCommand(clamd: ProcessingConfig['clamd'], command: 'PING' | 'VERSION', timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = clamd.socket
      ? net.createConnection({ path: clamd.socket })
      : net.createConnection({ host: clamd.host ?? '127.0.0.1', port: clamd.port });
    const chunks: Buffer[] = [];
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`clamd gave no answer to ${command} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(`z${command}\0`));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunk.includes(0)) socket.end();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8').replace(/\0[\s\S]*$/, '').trim());
    });
  });
}

/**
 * When the signatures clamd loaded were published, from its VERSION answer:
 * "ClamAV 1.4.3/27471/Sat Nov 29 09:25:02 2026" (engine / database version / database date).
 * undefined when clamd has no official database (only local .ndb files: "ClamAV 1.4.3").
 */
export function signatureDate(version: string): Date | undefined {
  const [, , date] = version.split('/');
  if (!date) return undefined;
  const parsed = new Date(date.trim());
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
