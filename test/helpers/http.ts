// Shared HTTP scaffolding for serving tests: a real server on 127.0.0.1, raw requests that report
// whether the body they received is as long as announced, and the check every immutable response
// must pass (its bytes hash to the version in its URL).
import http from 'node:http';
import type net from 'node:net';
import zlib from 'node:zlib';
import xxhash from 'xxhash-wasm';

export interface Server {
  port: number;
  close(): Promise<void>;
}

export function listen(server: http.Server): Promise<Server> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        port,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection ended before `Content-Length` bytes arrived. */
  complete: boolean;
}

/**
 * One request on its own connection (`Connection: close`): a body shorter than its Content-Length
 * then shows as an early close instead of a hang, so no timer is needed to catch it.
 */
export function request(port: number, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let finishEarly: (() => void) | undefined;
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let done = false;
      finishEarly = () => finish(false);
      const finish = (complete: boolean): void => {
        if (done) return;
        done = true;
        const body = Buffer.concat(chunks);
        const announced = res.headers['content-length'];
        const lengthOk = options.method === 'HEAD' || res.statusCode === 304 || announced === undefined || Number(announced) === body.length;
        resolve({ status: res.statusCode!, headers: res.headers, body, complete: complete && lengthOk });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(res.complete));
      res.on('aborted', () => finish(false));
      res.on('error', () => finish(false));
      res.on('close', () => finish(res.complete));
    });
    // More bytes than announced is a parse error on the request once the response has begun.
    req.on('error', (error) => (finishEarly === undefined ? reject(error) : finishEarly()));
    req.end();
  });
}

let hasher: Awaited<ReturnType<typeof xxhash>> | undefined;

/** The version static-hash writes for `bytes`: the first `hashLength` hex digits of their xxHash64. */
export async function versionOf(bytes: Uint8Array, hashLength = 12): Promise<string> {
  hasher ??= await xxhash();
  return hasher.h64Raw(bytes).toString(16).padStart(16, '0').slice(0, hashLength);
}

/** The body with its Content-Encoding undone. */
export function decodedBody(reply: Reply): Buffer {
  const encoding = reply.headers['content-encoding'];
  if (encoding === 'br') return zlib.brotliDecompressSync(reply.body);
  if (encoding === 'gzip') return zlib.gunzipSync(reply.body);
  return reply.body;
}

export const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The contract for one response to a URL carrying `version`: if it is marked immutable, its
 * (decoded) body hashes to that version. Returns what it found, for counting; never throws.
 */
export async function contractOutcome(reply: Reply, version: string, hashLength = 12): Promise<'exact' | 'not-immutable' | 'WRONG-BYTES' | 'INCOMPLETE'> {
  if (!reply.complete) return 'INCOMPLETE';
  if (reply.headers['cache-control'] !== IMMUTABLE) return 'not-immutable';
  let body: Buffer;
  try {
    body = decodedBody(reply);
  } catch {
    return 'WRONG-BYTES';
  }
  return (await versionOf(body, hashLength)) === version ? 'exact' : 'WRONG-BYTES';
}

/**
 * GETs `path` and calls `rewrite` once, on the first chunk of the body (the response paused around
 * it): a file replaced in place mid-stream. Resolves with whether the response completed and how
 * many bytes arrived.
 */
export function getWhileRewriting(port: number, path: string, rewrite: () => void): Promise<{ complete: boolean; bytes: number }> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let bytes = 0;
      let rewritten = false;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!rewritten) {
          rewritten = true;
          res.pause();
          rewrite();
          res.resume();
        }
      });
      res.on('end', () => resolve({ complete: res.complete, bytes }));
      res.on('close', () => resolve({ complete: res.complete, bytes }));
      res.on('error', () => resolve({ complete: false, bytes }));
    });
  });
}
