// Checks what a plain static server (one that knows nothing of static-hash) serves from a built
// output: every URL a hasher gives carries exactly the bytes its version names. Shared by the
// `static-hash build` tests and the Eleventy build test.
import { createHash } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import xxhash from 'xxhash-wasm';
import { scanStylesheet, type StaticHasher } from '../../src/index';

let h64: ((bytes: Uint8Array) => bigint) | undefined;

/** xxHash64 of bytes as 16 hex characters, as the hasher computes it. */
export async function xxh64(bytes: Uint8Array): Promise<string> {
  h64 ??= (await xxhash()).h64Raw;
  return h64(bytes).toString(16).padStart(16, '0');
}

/** GETs a URL on 127.0.0.1, bounded; resolves with status, headers and body. */
export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/** The version a URL carries (query `v=` or a filename hash) and the path it names under the base URL. */
export function versionOf(url: string, style: 'query' | 'filename', hashLength = 12): { version: string; path: string } {
  const parsed = new URL(url, 'http://127.0.0.1');
  let pathname = decodeURIComponent(parsed.pathname.replace(/^\/static\//, ''));
  if (style === 'query') {
    const version = parsed.searchParams.get('v');
    if (version === null) throw new Error(`no version in ${url}`);
    return { version, path: pathname };
  }
  const match = new RegExp(`^(.*)\\.([0-9a-f]{${hashLength}})(\\.[^./]*)?$`).exec(pathname);
  if (match === null) throw new Error(`no filename version in ${url}`);
  pathname = `${match[1]}${match[3] ?? ''}`;
  return { version: match[2]!, path: pathname };
}

export interface ServedCheck {
  /** URLs fetched and checked. */
  urls: number;
  /** References inside served stylesheets followed and checked. */
  stylesheetReferences: number;
  /** Stylesheets checked as members of an @import cycle (versioned by the whole cycle). */
  cycleMembers: string[];
  /** Compressed siblings decompressed and compared. */
  siblings: number;
}

export interface CheckServedOptions {
  /** Origin of the plain static server, e.g. 'http://127.0.0.1:1234'. */
  origin: string;
  /** The hasher whose URLs are checked (loaded from the build's manifest). */
  hasher: StaticHasher;
  /** A live hasher over the source roots: the bytes a cycle member must have under its version. */
  live: StaticHasher;
  /** References to check. */
  references: string[];
  style: 'query' | 'filename';
  /** Reads a file of the built output (for siblings), or undefined when it is not there. */
  readOutput(relative: string): Buffer | undefined;
}

/**
 * For every reference: the served body's xxh64 starts with the URL's version (a stylesheet in an
 * @import cycle instead equals what the live hasher's read() gives, under that same version);
 * every url()/@import inside a served stylesheet is a versioned URL passing the same check;
 * integrity() equals the sha384 of the served bytes; each .br/.gz sibling decompresses to the file.
 */
export async function checkServed(options: CheckServedOptions): Promise<ServedCheck> {
  const { origin, hasher, live, style } = options;
  const result: ServedCheck = { urls: 0, stylesheetReferences: 0, cycleMembers: [], siblings: 0 };
  const seen = new Set<string>();
  const check = async (url: string, expectedIntegrity: string | undefined): Promise<void> => {
    if (seen.has(url)) return;
    seen.add(url);
    const { version, path: reference } = versionOf(url, style);
    const response = await get(new URL(url.replace(/#.*$/, ''), origin).href);
    if (response.status !== 200) throw new Error(`GET ${url}: status ${response.status}`);
    result.urls++;
    const body = response.body;
    const digest = await xxh64(body);
    if (!digest.startsWith(version)) {
      // Only a stylesheet in an @import cycle may differ: its version covers the whole cycle.
      const expected = await live.read(reference);
      if (!/\.css$/.test(reference) || live.hash(reference) !== version || expected === undefined || !expected.equals(body)) {
        throw new Error(`GET ${url}: body xxh64 ${digest} does not start with ${version}`);
      }
      result.cycleMembers.push(reference);
    }
    if (expectedIntegrity !== undefined) {
      const sri = `sha384-${createHash('sha384').update(body).digest('base64')}`;
      if (sri !== expectedIntegrity) throw new Error(`GET ${url}: integrity() ${expectedIntegrity} but served bytes have ${sri}`);
    }
    for (const [extension, decompress] of [['.br', zlib.brotliDecompressSync], ['.gz', zlib.gunzipSync]] as const) {
      const servedName = decodeURIComponent(new URL(url, origin).pathname.replace(/^\/static\//, ''));
      const sibling = options.readOutput(servedName + extension);
      if (sibling === undefined) continue;
      if (!decompress(sibling).equals(body)) throw new Error(`${servedName}${extension} does not decompress to ${servedName}`);
      result.siblings++;
    }
    if (/\.css$/.test(reference)) {
      for (const found of scanStylesheet(body.toString('latin1'))) {
        if (found.url.startsWith('#')) continue;
        if (!found.url.startsWith('/static/')) throw new Error(`${reference} references ${found.url}, which is not a versioned static URL`);
        result.stylesheetReferences++;
        await check(found.url, undefined);
      }
    }
  };
  for (const reference of options.references) await check(hasher.url(reference), hasher.integrity(reference));
  return result;
}
