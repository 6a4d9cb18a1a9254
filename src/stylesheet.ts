/**
 * The stylesheet hasher: a stylesheet's hash covers its text with every reference rewritten to the
 * referenced file's current URL, so it depends on the hashes of what it references. The graph walk
 * (dependencies first, cycles as one unit) is src/graph.ts; which tokens are references and how they
 * resolve is src/css-references.ts.
 */
import fs from 'node:fs';
import { CssTokenizer } from './css-tokenizer.js';
import { escapeUrl, findReferences, findReferencesInBytes, isIgnored, isStylesheet, resolveFrom, type CssReference, type CssTarget } from './css-references.js';
import { digestBytes, digestFile } from './digest.js';
import { StaticHashError, describeValue } from './errors.js';
import { GenerationCache, type GenerationClock } from './generation.js';
import { walkComponents } from './graph.js';
import type { NormalizedOptions } from './options.js';
import { withRegularFile } from './read-file.js';
import { lookedForPath, parseReference, resolveFile } from './resolve.js';
import { withoutOwnVersion } from './own-version.js';
import { baseUrlPath, encodePath, formatUrl } from './url.js';

/**
 * Above this size a stylesheet is hashed and served as it is, not rewritten: rewriting holds the
 * whole text in memory, and no hand-written stylesheet is this large.
 */
export const MAX_REWRITE_BYTES = 16 * 1024 * 1024;

/** Up to this size a stylesheet's bytes are decoded whole for the scan; above, only windows of them (see findReferencesInBytes). */
const DECODE_WHOLE_BYTES = 32 * 1024;

/** Total bytes of rewritten stylesheets kept for `read()`; least recently used go first. */
export const REWRITTEN_CACHE_BYTES = 32 * 1024 * 1024;

// What a cycle's members are rewritten with while the cycle's own hash is computed: any fixed
// string does, since the hash is then put in its place everywhere.
const CYCLE_PLACEHOLDER = '';

/** The hash of a file that is not a stylesheet, through the hasher's cache; undefined when missing. May throw StaticHashError. */
export type HashAsset = (canonical: string, generation: number) => string | undefined;

interface CachedSheet {
  /** 16 hex characters; URLs carry its first `hashLength`. */
  hash: string;
  /** Part of a cycle: such an entry never cuts a later exploration short (see #neighbour). */
  cyclic: boolean;
}

/** A referenced stylesheet's hash, or why it has none (the warning to give for each reference to it). */
type SheetOutcome = { hash: string } | { failure: string };

type FileTarget = Extract<CssTarget, { kind: 'file' }>;

interface SheetNode {
  path: string;
  file: string;
  /** The file's bytes: references are found in them and the rewritten bytes built from them, never decoded whole. */
  source: Buffer;
  references: CssReference[];
  /** Per reference: where it points, or undefined to leave it as written. */
  targets: Array<FileTarget | undefined>;
  /** Per reference: the URL to write when it points out of the node's component. */
  replacements: Array<string | undefined>;
  /** Canonical paths of the stylesheets it references. */
  edges: string[];
  /** Set for a stylesheet above MAX_REWRITE_BYTES: its raw hash; it is not rewritten. */
  rawHash: string | undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * Hashes stylesheets over their rewritten text. Internal to the hasher, which routes `.css` files
 * here when the `css` option is on; `rewriteStylesheet()` (src/css-references.ts) is the text step alone.
 *
 * A stylesheet's hash depends on the hashes of the stylesheets it references, so those are computed
 * first: the stylesheets reachable from the one asked for are explored (stopping at ones cached under
 * the generation and not part of a cycle), split into strongly connected components by src/graph.ts
 * (Tarjan's algorithm, iterative, so a long @import chain cannot overflow the stack), and each component is
 * hashed once everything it references is (Tarjan emits components in that order).
 *
 * - A stylesheet in no cycle: xxHash64 of its rewritten bytes.
 * - A cycle (two or more stylesheets referencing each other, or one referencing itself): one hash
 *   for every member, xxHash64 over the members in sorted path order, each as its path and its text
 *   rewritten with every reference into the cycle given a fixed placeholder hash (references out of
 *   the cycle carry their real hashes). Each member is then rewritten with that hash in place of the
 *   placeholder. The hash covers every byte that can change in any member's output, and depends only
 *   on the files: not on which member was asked for first, nor on the run.
 */
export class StylesheetHasher {
  readonly #options: Readonly<NormalizedOptions>;
  readonly #hashAsset: HashAsset;
  readonly #basePath: string;
  // Orphaned when the generation moves, like the hasher's own hashes.
  readonly #sheets: GenerationCache<string, CachedSheet>;
  readonly #rewritten: GenerationCache<string, Buffer>;
  #warned = new Set<string>();
  #warnedGeneration = -1;
  // What each stylesheet referenced when it was last read (every file, not only stylesheets), for
  // the change feed: a changed image changes every stylesheet that references it, transitively.
  readonly #references = new Map<string, readonly string[]>();

  constructor(options: Readonly<NormalizedOptions>, clock: GenerationClock, hashAsset: HashAsset) {
    this.#options = options;
    this.#hashAsset = hashAsset;
    this.#basePath = baseUrlPath(options.baseUrl);
    this.#sheets = new GenerationCache(clock, { maxEntries: options.maxEntries });
    this.#rewritten = new GenerationCache(clock, {
      maxEntries: options.maxEntries, maxSize: REWRITTEN_CACHE_BYTES, sizeOf: (bytes) => bytes.length,
    });
  }
  readonly #exists = (canonical: string): boolean => {
    try {
      return resolveFile(canonical, this.#options.roots, canonical) !== undefined;
    } catch {
      return false;
    }
  };


  /** The full hash (16 hex characters) of the stylesheet at `canonical`, whose real path is `file`; undefined if it vanished. */
  hash(canonical: string, file: string, generation: number): string | undefined {
    const cached = this.#sheets.get(canonical, generation);
    if (cached !== undefined) return cached.hash;
    return this.#compute(canonical, file, generation)?.hash;
  }

  /** The bytes the stylesheet's hash covers; undefined if it vanished. */
  read(canonical: string, file: string, generation: number): Buffer | undefined {
    const cached = this.#rewritten.get(canonical, generation);
    if (cached !== undefined) return cached;
    const result = this.#compute(canonical, file, generation);
    if (result === undefined) return undefined;
    return result.bytes ?? readStylesheet(file, canonical, Infinity)?.bytes;
  }

  /** Hashes the stylesheet and every uncached one it depends on; returns the stylesheet's hash and bytes. */
  #compute(canonical: string, file: string, generation: number): { hash: string; bytes: Buffer | undefined } | undefined {
    const resolutions = new Map<string, CssTarget>();
    const root = this.#load(canonical, file, generation, resolutions);
    if (root === undefined) return undefined;
    const outcomes = new Map<string, SheetOutcome>();
    const urls = new Map<FileTarget, string>();
    let rootBytes: Buffer | undefined;
    walkComponents(canonical, root, {
      edges: (node) => node.edges,
      load: (key) => this.#neighbour(key, generation, outcomes, resolutions),
      component: (members, cyclic) => {
        const bytes = this.#finish(members, cyclic, generation, outcomes, urls, root);
        if (bytes !== undefined) rootBytes = bytes;
      },
    });
    const outcome = outcomes.get(canonical);
    return outcome !== undefined && 'hash' in outcome ? { hash: outcome.hash, bytes: rootBytes } : undefined;
  }

  /** The node to explore for a referenced stylesheet, or undefined when its outcome is already known. */
  #neighbour(canonical: string, generation: number, outcomes: Map<string, SheetOutcome>, resolutions: Map<string, CssTarget>): SheetNode | undefined {
    // A cached stylesheet in no cycle cannot be in one with the stylesheets being explored (it would
    // have been explored with them), so its hash is final. A cached cycle member is explored again:
    // cutting there would hash the rest of its cycle as if it were not one.
    const cached = this.#sheets.get(canonical, generation);
    if (cached !== undefined && !cached.cyclic) {
      outcomes.set(canonical, { hash: cached.hash });
      return undefined;
    }
    let node: SheetNode | undefined;
    try {
      parseReference(canonical);
      const resolved = resolveFile(canonical, this.#options.roots, canonical);
      if (resolved !== undefined) node = this.#load(canonical, resolved.file, generation, resolutions);
    } catch (error) {
      if (!(error instanceof StaticHashError)) throw error;
      outcomes.set(canonical, { failure: `which cannot be used (${error.message}); left as written` });
      return undefined;
    }
    if (node === undefined) {
      outcomes.set(canonical, { failure: this.#notFound(canonical) });
      return undefined;
    }
    return node;
  }

  /**
   * Reads and scans a stylesheet; undefined if it vanished. Throws StaticHashError when it cannot be
   * read. `resolutions` is shared by one batch: stylesheets repeat references (sprites, fonts, the
   * same images across a tree), and the same reference from the same directory resolves alike.
   */
  #load(canonical: string, file: string, generation: number, resolutions: Map<string, CssTarget>): SheetNode | undefined {
    const read = readStylesheet(file, canonical, MAX_REWRITE_BYTES);
    if (read === undefined) return undefined;
    const node: SheetNode = {
      path: canonical, file, source: read.bytes ?? EMPTY, references: [], targets: [], replacements: [], edges: [],
      rawHash: undefined,
    };
    if (read.bytes === undefined) {
      node.rawHash = digestFile(file, canonical);
      if (node.rawHash === undefined) return undefined;
      this.#warnOnce(generation, canonical, `static-hash: stylesheet ${describeValue(canonical)} is larger than ${MAX_REWRITE_BYTES} bytes: `
        + 'its references are not rewritten and its hash covers its bytes as they are');
      return node;
    }
    // No pre-check for text that cannot hold a reference: the scan passes such text at memchr
    // speed, faster than one case-insensitive regular expression over it. A small stylesheet is
    // decoded whole (a few microseconds), which measured faster where references are dense than
    // decoding a window at each; a large one never is.
    node.references = read.bytes.length <= DECODE_WHOLE_BYTES
      ? findReferences(new CssTokenizer(read.bytes.toString('latin1'), true, true))
      : findReferencesInBytes(read.bytes);
    const { cssIgnore } = this.#options;
    const slash = canonical.lastIndexOf('/');
    const directoryKey = canonical.slice(0, slash + 1);
    let directory: string[] | undefined;
    const edges = new Set<string>();
    node.targets = node.references.map((reference) => {
      const key = `${directoryKey}\0${reference.url}`;
      let target = resolutions.get(key);
      if (target === undefined) {
        directory ??= slash === -1 ? [] : canonical.slice(0, slash).split('/');
        target = resolveFrom(reference.url, directory, this.#basePath);
        // A reference that already carries a version (a build output's stylesheet) gets the current one instead of a second.
        if (target.kind === 'file') target = withoutOwnVersion(target, this.#options, this.#exists);
        resolutions.set(key, target);
      }
      // Ignore patterns may look at the stylesheet, and warnings are per stylesheet: both stay per reference.
      if (target.kind === 'external' || isIgnored(cssIgnore, reference.url, target.kind === 'file' ? target.path : undefined, canonical)) return undefined;
      if (target.kind === 'outside') {
        this.#warn(generation, canonical, reference.url, `which is outside the static roots (${target.reason}); left as written`);
        return undefined;
      }
      if (isStylesheet(target.path)) edges.add(target.path);
      return target;
    });
    node.edges = [...edges];
    this.#remember(canonical, node.targets);
    return node;
  }

  #remember(canonical: string, targets: ReadonlyArray<FileTarget | undefined>): void {
    const paths = new Set<string>();
    for (const target of targets) if (target !== undefined) paths.add(target.path);
    this.#references.delete(canonical);
    if (paths.size === 0) return;
    // Bounded like every cache: the oldest entries go first (a Map keeps insertion order).
    if (this.#references.size >= this.#options.maxEntries) this.#references.delete(this.#references.keys().next().value!);
    this.#references.set(canonical, [...paths]);
  }

  /**
   * Every stylesheet read so far whose text references one of `paths`, directly or through other
   * stylesheets (their hashes change with it), `paths` excluded unless reached again through a cycle.
   */
  dependents(paths: Iterable<string>): Set<string> {
    const reverse = new Map<string, string[]>();
    for (const [sheet, references] of this.#references) {
      for (const reference of references) {
        let list = reverse.get(reference);
        if (list === undefined) reverse.set(reference, (list = []));
        list.push(sheet);
      }
    }
    const found = new Set<string>();
    const queue = [...paths];
    while (queue.length > 0) {
      const path = queue.pop()!;
      for (const sheet of reverse.get(path) ?? []) {
        if (found.has(sheet)) continue;
        found.add(sheet);
        queue.push(sheet);
      }
    }
    return found;
  }

  /** Hashes one strongly connected component; returns the root's bytes if the root is in it. */
  #finish(
    component: readonly SheetNode[], cyclic: boolean, generation: number, outcomes: Map<string, SheetOutcome>, urls: Map<FileTarget, string>, root: SheetNode,
  ): Buffer | undefined {
    const first = component[0]!;
    const members = new Set(component.map((node) => node.path));
    for (const node of component) {
      node.replacements = node.targets.map((target, index) => {
        if (target === undefined || (cyclic && members.has(target.path))) return undefined;
        // Targets are shared per distinct reference and directory (see #load), so this skips hashing
        // and formatting again;
        // a reference left as written is not remembered, so each one still gets its warning.
        let url = urls.get(target);
        if (url === undefined) {
          url = this.#urlOf(node, node.references[index]!, target, generation, outcomes);
          if (url !== undefined) urls.set(target, url);
        }
        return url;
      });
    }
    let rootBytes: Buffer | undefined;
    if (!cyclic) {
      const bytes = first.rawHash === undefined ? this.#render(first, members, undefined) : undefined;
      const hash = first.rawHash ?? digestBytes(bytes!);
      this.#record(first, hash, bytes, false, generation, outcomes);
      if (first === root) rootBytes = bytes;
    } else {
      const sorted = [...component].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const parts = sorted.map((node) => {
        const path = Buffer.from(node.path, 'utf8').toString('latin1');
        const text = this.#render(node, members, CYCLE_PLACEHOLDER).toString('latin1');
        return `${path.length}:${path}\n${text.length}:${text}\n`;
      });
      const hash = digestBytes(Buffer.from(parts.join(''), 'latin1'));
      for (const node of component) {
        const bytes = this.#render(node, members, hash);
        this.#record(node, hash, bytes, true, generation, outcomes);
        if (node === root) rootBytes = bytes;
      }
    }
    return rootBytes;
  }

  /** Records a computed stylesheet for this batch and, when allowed, the caches; frees its bytes. */
  #record(node: SheetNode, hash: string, bytes: Buffer | undefined, cyclic: boolean, generation: number, outcomes: Map<string, SheetOutcome>): void {
    outcomes.set(node.path, { hash });
    this.#sheets.set(node.path, { hash, cyclic }, generation);
    if (bytes !== undefined) this.#rewritten.set(node.path, bytes, generation);
    node.source = EMPTY;
  }

  /** The node's bytes with its references replaced; references into its cycle carry `cycleHash`. */
  #render(node: SheetNode, members: ReadonlySet<string>, cycleHash: string | undefined): Buffer {
    const replacements = cycleHash === undefined ? node.replacements : node.targets.map((target, index) => (
      target !== undefined && members.has(target.path) ? this.#format(target, cycleHash) : node.replacements[index]
    ));
    // Nothing replaced: the original bytes, so such a stylesheet hashes as with `css: false`.
    return replaceBytes(node.source, node.references, replacements);
  }

  /** The URL to write for a reference out of the component being hashed, or undefined (with a warning) to leave it. */
  #urlOf(node: SheetNode, reference: CssReference, target: FileTarget, generation: number, outcomes: Map<string, SheetOutcome>): string | undefined {
    let hash: string | undefined;
    if (isStylesheet(target.path)) {
      // Tarjan finishes every component this one references before it: the outcome is known.
      const outcome = outcomes.get(target.path);
      if (outcome === undefined || 'failure' in outcome) {
        this.#warn(generation, node.path, reference.url, outcome?.failure ?? this.#notFound(target.path));
        return undefined;
      }
      hash = outcome.hash;
    } else {
      try {
        hash = this.#hashAsset(target.path, generation);
      } catch (error) {
        if (!(error instanceof StaticHashError)) throw error;
        this.#warn(generation, node.path, reference.url, `which cannot be hashed (${error.message}); left as written`);
        return undefined;
      }
      if (hash === undefined) {
        this.#warn(generation, node.path, reference.url, this.#notFound(target.path));
        return undefined;
      }
    }
    return this.#format(target, hash);
  }

  #format(target: FileTarget, hash: string): string {
    const { baseUrl, urlStyle, param, hashLength } = this.#options;
    return formatUrl({
      baseUrl, encodedPath: encodePath(target.path), hash: hash.slice(0, hashLength), query: target.query, fragment: target.fragment, urlStyle, param,
    });
  }

  #notFound(canonical: string): string {
    return `which was not found (looked for ${lookedForPath(canonical, this.#options.roots)}); left as written`;
  }

  /** Warns once per generation about one reference of one stylesheet. */
  #warn(generation: number, stylesheet: string, reference: string, what: string): void {
    this.#warnOnce(generation, `${stylesheet}\0${reference}`,
      `static-hash: stylesheet ${describeValue(stylesheet)} references ${describeValue(reference)}, ${what}`);
  }

  #warnOnce(generation: number, key: string, message: string): void {
    if (generation !== this.#warnedGeneration) {
      // Only the newest generation's warnings are remembered: a new generation warns afresh.
      if (generation < this.#warnedGeneration) return;
      this.#warned.clear();
      this.#warnedGeneration = generation;
    }
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= this.#options.maxEntries) this.#warned.clear();
    this.#warned.add(key);
    this.#options.logger.warn(message);
  }
}

/**
 * applyReplacements() (src/css-references.ts) on the bytes: offsets in the one-character-per-byte text are byte
 * offsets, so the unchanged stretches are copied as bytes, never turned into text and back.
 * Returns `source` itself when nothing is replaced.
 */
function replaceBytes(source: Buffer, references: readonly CssReference[], replacements: ReadonlyArray<string | undefined>): Buffer {
  // Escaped first, so the output is allocated once at its size and written in place (a Buffer per
  // replacement measured slower on stylesheets dense with references).
  const escaped: Array<string | undefined> = new Array(references.length);
  let size = source.length;
  let any = false;
  for (let index = 0; index < references.length; index++) {
    const replacement = replacements[index];
    if (replacement === undefined) continue;
    const reference = references[index]!;
    const text = escapeUrl(replacement, reference.quote);
    escaped[index] = text;
    size += text.length - (reference.end - reference.start);
    any = true;
  }
  if (!any) return source;
  const out = Buffer.allocUnsafe(size);
  let last = 0;
  let at = 0;
  for (let index = 0; index < references.length; index++) {
    const text = escaped[index];
    if (text === undefined) continue;
    const reference = references[index]!;
    at += source.copy(out, at, last, reference.start);
    at += out.write(text, at, 'latin1');
    last = reference.end;
  }
  source.copy(out, at, last);
  return out;
}

/**
 * Reads a stylesheet like digestFile reads any file (no following a symlink swapped in since the
 * real path was resolved, regular files only). Undefined if it vanished; `bytes` undefined when it is
 * larger than `limit`.
 */
function readStylesheet(file: string, reference: string, limit: number): { bytes: Buffer | undefined } | undefined {
  return withRegularFile(file, reference, (fd, stats) => ({ bytes: stats.size > limit ? undefined : fs.readFileSync(fd) }));
}
