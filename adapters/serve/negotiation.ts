// Content negotiation for precompressed siblings: which encoding a client's Accept-Encoding prefers.
import type { AssetEncoding } from '../../src/index.js';

/**
 * The quality `Accept-Encoding` gives `encoding` (0 when not acceptable): its own entry, else `*`.
 * `x-gzip` counts as gzip (RFC 9110 12.5.3).
 *
 * @example
 * acceptedQuality('gzip;q=0.5, br', 'gzip') //=> 0.5
 */
export function acceptedQuality(header: string, encoding: AssetEncoding): number {
  let wildcard = 0;
  for (const part of header.split(',')) {
    const semicolon = part.indexOf(';');
    const token = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    let quality = 1;
    if (semicolon !== -1) {
      const match = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(part.slice(semicolon));
      if (match) quality = Number(match[1]);
      if (!Number.isFinite(quality)) quality = 0;
    }
    if (token === encoding || (encoding === 'gzip' && token === 'x-gzip')) return quality;
    if (token === '*') wildcard = quality;
  }
  return wildcard;
}

/**
 * The best of `candidates` (each with an `encoding`) the client accepts; on equal quality the earlier
 * one, so the caller's order is the server's preference. Undefined when none is acceptable.
 *
 * @example
 * chooseEncoding('gzip, br', [{ encoding: 'br' }, { encoding: 'gzip' }]) //=> { encoding: 'br' }
 */
export function chooseEncoding<T extends { encoding: AssetEncoding | undefined }>(header: string | undefined, candidates: readonly T[]): T | undefined {
  if (header === undefined || header === '') return undefined;
  let best: T | undefined;
  let bestQuality = 0;
  for (const candidate of candidates) {
    if (candidate.encoding === undefined) continue;
    const quality = acceptedQuality(header, candidate.encoding);
    if (quality > bestQuality) {
      best = candidate;
      bestQuality = quality;
    }
  }
  return best;
}
