import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The `104 (Upload Resumption Supported)` interim response. The draft: "the server SHOULD
 * announce the upload resource by sending an interim response with the 104 (Upload Resumption
 * Supported) status code unless the server is not capable of sending interim responses", and
 * "Server implementations of draft versions of the protocol MUST also send a header field
 * Upload-Draft-Interop-Version with the interop version as its value to the 104".
 *
 * What node:http offers (Node 20, 22 and 24 alike): `writeContinue()` (100),
 * `writeProcessing()` (102) and `writeEarlyHints()` (103) — no way to send any other 1xx on
 * HTTP/1.1; HTTP/2 streams have `additionalHeaders({ ':status': 104, … })`. So on HTTP/1.1 the
 * interim response is written to the socket the way Node writes its own 100 Continue: a
 * status line and header lines before the final response's head. That is only sound while this
 * response owns the socket and has written nothing (Node assigns a pipelined request's response
 * its socket only when its turn comes), and never to an HTTP/1.0 client, which knows no 1xx.
 */

const HTTP_1_1 = (incoming: IncomingMessage) =>
  incoming.httpVersionMajor > 1 || (incoming.httpVersionMajor === 1 && incoming.httpVersionMinor >= 1);

/** Sends the 104 if this connection can carry it; false when it cannot (the final response says the same). */
export function sendUploadResumptionSupported(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  headers: Record<string, string>,
): boolean {
  const fields = Object.entries(headers);
  // Values come from our own URLs and numbers; a line break would forge a header, so none is sent.
  if (fields.some(([name, value]) => /[\r\n]/.test(name) || /[\r\n]/.test(value))) return false;
  const socket = outgoing.socket;
  if (!socket || socket.destroyed || !socket.writable || outgoing.headersSent || !HTTP_1_1(incoming)) return false;
  const head = ['HTTP/1.1 104 Upload Resumption Supported', ...fields.map(([name, value]) => `${name}: ${value}`)];
  socket.write(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
  return true;
}
