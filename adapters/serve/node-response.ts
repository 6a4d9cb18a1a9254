// Writes the serving core's answer to a node:http ServerResponse (Express, Connect, koa-connect,
// plain node:http): the status it means, its headers, and the body from memory or a descriptor.
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import onFinished from 'on-finished';
import type { FileBody, ServeResponse } from './decide.js';

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

// Read size for streamed files: four times an fs stream's (send's) 64 KiB, measured a little faster on MiB-sized files.
const CHUNK_SIZE = 256 * 1024;

/**
 * Streams `start`..`end` from the descriptor whose identity matched the hashed file. The last byte
 * is held back until fstat on the same descriptor shows the file unchanged: a file written in place
 * while it streams then never completes a response (the client sees a cut connection, which no
 * cache stores), instead of completing one whose bytes are not the ones its version names. A file
 * that shrinks under the reads is cut off the same way, so `Content-Length` is never left unmet.
 *
 * Reads are made here rather than by an fs.ReadStream, which closes the descriptor when destroyed:
 * this one is closed once, and never while a read on it is in flight (the number could be reused by
 * another open, a socket say, and the read or the close would then hit that).
 */
function streamFile(res: ServerResponse, { opened, start, end }: FileBody): void {
  let position = start;
  let reading = false;
  let finished = false;
  onFinished(res, () => {
    finished = true;
    if (!reading) opened.close();
  });
  const next = (): void => {
    if (finished) return;
    const last = position === end;
    if (last && !opened.unchanged()) {
      res.destroy();
      return;
    }
    const length = last ? 1 : Math.min(CHUNK_SIZE, end - position);
    const buffer = Buffer.allocUnsafe(length);
    reading = true;
    fs.read(opened.fd, buffer, 0, length, position, (error, bytesRead) => {
      reading = false;
      if (finished) {
        opened.close();
        return;
      }
      if (error !== null || bytesRead !== length) {
        res.destroy();
        return;
      }
      position += length;
      if (last) res.end(buffer);
      else if (res.write(buffer)) next();
      else res.once('drain', next);
    });
  };
  next();
}
