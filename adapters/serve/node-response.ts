// Writes the serving core's answer to a node:http ServerResponse (Express, Connect, koa-connect,
// plain node:http): the status it means, its headers, and the body from memory or a descriptor.
import type { ServerResponse } from 'node:http';
import onFinished from 'on-finished';
import type { FileBody, ServeResponse } from './decide.js';
import { fileStream } from './file-stream.js';

/**
 * Sets the answer's status and headers on `res` (before a hook may change them). A `Vary` set by
 * earlier middleware (CORS's `Origin`, say) is kept, with ours added.
 */
export function applyHead(res: ServerResponse, response: ServeResponse): void {
  // Always set: frameworks that bridge Connect middleware (koa-connect) start responses at 404.
  res.statusCode = response.status;
  const { headers } = response;
  for (const name of Object.keys(headers)) res.setHeader(name, name === 'Vary' ? mergeVary(res.getHeader('Vary'), headers.Vary!) : headers[name]!);
}

/** Writes status and headers at once (no hook will look at them): one call instead of one per header. */
export function writeHead(res: ServerResponse, response: ServeResponse): void {
  const { headers } = response;
  if (headers.Vary !== undefined && res.hasHeader('Vary')) {
    applyHead(res, response);
    return;
  }
  res.writeHead(response.status, headers);
}

function mergeVary(current: number | string | string[] | undefined, field: string): string {
  if (current === undefined) return field;
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  if (text.split(',').some((entry) => entry.trim() === '*' || entry.trim().toLowerCase() === field.toLowerCase())) return text;
  return `${text}, ${field}`;
}

/** Removes the headers an answer set (a hook threw: the request goes to next(error) instead). */
export function removeHead(res: ServerResponse, response: ServeResponse): void {
  for (const name of Object.keys(response.headers)) res.removeHeader(name);
}

/** Sends the answer's body (its head already applied) and ends the response. */
export function sendBody(res: ServerResponse, response: ServeResponse): void {
  const { body } = response;
  if (body === undefined || Buffer.isBuffer(body)) {
    res.end(body);
    return;
  }
  streamFile(res, body);
}

/**
 * Streams a file body to `res` through {@link fileStream}, which holds the last byte back until
 * fstat on the same descriptor shows the file unchanged and cuts the response (destroys `res`) on a
 * change or a short read, so a response never completes with bytes its version does not name and
 * `Content-Length` is never left unmet. A response that ends first (the client went away) stops the
 * reads; the descriptor is closed once, never while a read on it is in flight.
 */
function streamFile(res: ServerResponse, body: FileBody): void {
  const stream = fileStream(body, () => res.destroy());
  onFinished(res, () => stream.destroy());
  stream.pipe(res);
}
