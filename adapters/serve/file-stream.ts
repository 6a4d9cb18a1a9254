// The serving core's file body as a Readable: Fastify sends it (reply.send(stream)), Koa too
// (ctx.body = stream), and node-response.ts pipes it into a node:http response.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { FileBody } from './decide.js';

// Read size: four times an fs stream's (send's) 64 KiB, measured a little faster on MiB-sized files.
const CHUNK_SIZE = 256 * 1024;

/**
 * Streams `start`..`end` from the descriptor whose identity matched the hashed file. The last byte
 * is held back until fstat on the same descriptor shows the file unchanged, and a short read cuts
 * the stream. A cut calls `cut()` (the adapter destroys
 * the connection, so no client or cache completes a response whose bytes its version does not
 * name) and destroys the stream. Reads are made here rather than by an fs.ReadStream, which closes
 * the descriptor when destroyed: this one is closed once, and never while a read on it is in flight
 * (the number could be reused by another open, a socket say, and the read or close would hit that).
 */
export function fileStream({ opened, start, end }: FileBody, cut: () => void): Readable {
  let position = start;
  let reading = false;
  let closed = false;
  let destroyed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    opened.close();
  };
  const fail = (stream: Readable): void => {
    cut();
    stream.destroy();
  };
  return new Readable({
    highWaterMark: CHUNK_SIZE,
    read() {
      if (reading || destroyed) return;
      if (position > end) {
        this.push(null);
        return;
      }
      const last = position === end;
      if (last && !opened.unchanged()) {
        fail(this);
        return;
      }
      const length = last ? 1 : Math.min(CHUNK_SIZE, end - position);
      const buffer = Buffer.allocUnsafe(length);
      reading = true;
      fs.read(opened.fd, buffer, 0, length, position, (error, bytesRead) => {
        reading = false;
        if (destroyed) {
          close();
          return;
        }
        if (error !== null || bytesRead !== length) {
          fail(this);
          return;
        }
        position += length;
        this.push(buffer);
        if (last) this.push(null);
      });
    },
    destroy(error, callback) {
      destroyed = true;
      if (!reading) close();
      callback(error);
    },
  }).once('end', close);
}
