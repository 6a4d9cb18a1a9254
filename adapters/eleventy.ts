import path from 'node:path';
import {
  buildStatic, createStaticHasher, StaticHashError, type BuildCompression, type BuildStaticResult, type StaticHasher, type StaticHasherOptions,
} from '../src/index.js';
import { escapeHtml, invalidOption, withTemplatePosition } from '../src/internal.js';
import { IMPORT_MAP_TAG, ImportMapTagRenderer, importMapArguments } from './importmap-tag.js';

const SCOPE = 'static-hash/eleventy';

/**
 * The parts of Eleventy 3's configuration API (`eleventyConfig`) the plugin uses. Typed here so the
 * plugin needs no Eleventy types (and does not load Eleventy).
 */
export interface EleventyConfigLike {
  addShortcode(name: string, callback: (...args: any[]) => unknown): void;
  addWatchTarget(target: string): void;
  on(event: string, listener: (...args: any[]) => unknown): void;
  /** Eleventy 3 keeps `addPassthroughCopy()` mappings here (input path -> { outputPath }). */
  passthroughCopies?: Record<string, { outputPath?: string | boolean } | undefined>;
}

/** What the plugin writes into Eleventy's output in `eleventy.after`: `buildStatic()` options. */
export interface EleventyBuildOptions {
  /**
   * The directory to write into.
   * @default '<Eleventy output><base URL path>', e.g. '_site/static' for baseUrl '/static/'
   */
  out?: string;
  /**
   * Precompressed siblings (`['br', 'gz']`), for servers that send them (nginx `gzip_static`, Caddy `precompressed`).
   * @default false
   */
  compress?: readonly BuildCompression[] | false;
  /** Where to write a manifest; none by default (the pages already carry the URLs). @default false */
  manifest?: string | false;
  /** As buildStatic(): earlier builds' files kept. @default 2 */
  keep?: number;
  /** As buildStatic(): files written this recently (ms) kept. @default 3_600_000 */
  keepAge?: number;
}

/** Options of the Eleventy plugin: the hasher's options (but `watch`: Eleventy's watcher drives rebuilds), plus these. */
export interface StaticHashEleventyOptions extends Omit<StaticHasherOptions, 'watch'> {
  /**
   * Name of the URL shortcode: `{% static "js/app.js" %}` (Nunjucks, Liquid), `{{static "js/app.js"}}`
   * (Handlebars), `this.static("js/app.js")` (11ty.js).
   * @default 'static'
   */
  name?: string;
  /**
   * Name of the subresource integrity shortcode: `{% static_integrity "js/app.js" %}` gives `sha384-…`.
   * @default 'static_integrity'
   */
  integrityName?: string;
  /**
   * `true`: shortcodes return the bare URL. By default a URL is HTML-escaped (`&` becomes `&amp;`),
   * because Eleventy inserts shortcode output into HTML as is; use `raw` for sites whose templates
   * output something other than HTML (JSON, CSS).
   * @default false
   */
  raw?: boolean;
  /**
   * Write the static files into Eleventy's output after each build, as `static-hash build` does:
   * the exact bytes each URL names (stylesheets rewritten, hashed names with `urlStyle: 'filename'`),
   * so the site serves what its URLs and integrity values name. `true` or an object of options;
   * `false` to copy them yourself (then run `static-hash build`: a raw passthrough copy of a
   * stylesheet does not match its URL). On by default when `baseUrl` is root-relative.
   * @default true for a root-relative baseUrl ('/static/'), false for an absolute one (a CDN)
   */
  build?: boolean | EleventyBuildOptions;
}

const PLUGIN_KEYS = ['name', 'integrityName', 'raw', 'build'] as const;
const BUILD_KEYS = ['out', 'compress', 'manifest', 'keep', 'keepAge'];
const SHORTCODE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What the plugin works with once its options are checked. */
export interface NormalizedEleventyOptions {
  name: string;
  integrityName: string;
  raw: boolean;
  /** Passed to createStaticHasher() in `eleventy.before`. */
  hasherOptions: StaticHasherOptions;
  /** Directories added as Eleventy watch targets, so editing a static file triggers a rebuild. */
  watchTargets: string[];
  /** What to build into Eleventy's output in `eleventy.after`, or false. */
  build: EleventyBuildOptions | false;
}


/**
 * Checks the plugin's own options and splits off the hasher's, which `createStaticHasher()` checks
 * in `eleventy.before` (the roots may be produced by an earlier hook, so they are not required to
 * exist when the configuration loads).
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION`.
 */
export function normalizeEleventyOptions(options: StaticHashEleventyOptions = {}): NormalizedEleventyOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalidOption(SCOPE, 'options', 'an object', options, 'options');
  const { name = 'static', integrityName = 'static_integrity', raw = false, build, ...hasherOptions } = options;
  if (typeof name !== 'string' || !SHORTCODE_NAME.test(name)) invalidOption(SCOPE, 'name', 'an identifier such as "static"', name);
  if (typeof integrityName !== 'string' || !SHORTCODE_NAME.test(integrityName) || integrityName === name) {
    invalidOption(SCOPE, 'integrityName', `an identifier other than "${name}", such as "static_integrity"`, integrityName);
  }
  if (typeof raw !== 'boolean') invalidOption(SCOPE, 'raw', 'a boolean', raw);
  if ('watch' in hasherOptions) {
    invalidOption(SCOPE, 'watch', 'left out: the plugin moves the generation on every Eleventy watch rebuild, and adds the roots as watch targets', (hasherOptions as { watch?: unknown }).watch);
  }
  const dirs = Array.isArray(hasherOptions.roots)
    ? hasherOptions.roots.map((root) => root?.dir).filter((dir): dir is string => typeof dir === 'string')
    : [typeof hasherOptions.root === 'string' ? hasherOptions.root : 'public'];
  const baseUrl = typeof hasherOptions.baseUrl === 'string' ? hasherOptions.baseUrl : '/static/';
  const rootRelative = baseUrl.startsWith('/') && !baseUrl.startsWith('//');
  let buildOptions: EleventyBuildOptions | false;
  if (build === undefined) buildOptions = rootRelative ? {} : false;
  else if (build === true || build === false) buildOptions = build ? {} : false;
  else if (typeof build === 'object' && build !== null && !Array.isArray(build)) {
    const unknown = Object.keys(build).find((key) => !BUILD_KEYS.includes(key));
    if (unknown !== undefined) invalidOption(SCOPE, `build.${unknown}`, `one of ${BUILD_KEYS.join(', ')}`, unknown);
    buildOptions = { ...build };
  } else {
    invalidOption(SCOPE, 'build', 'a boolean or an object { out, compress, manifest, keep, keepAge }', build);
  }
  if (buildOptions !== false && buildOptions.out === undefined && !rootRelative) {
    invalidOption(SCOPE, 'build', `an object with "out": the base URL ${JSON.stringify(baseUrl)} is not a path of the site, so where its files go cannot be derived`, build);
  }
  return { name, integrityName, raw, hasherOptions, watchTargets: dirs, build: buildOptions };
}

/** Eleventy's `eleventy.after` argument, as far as the plugin reads it. */
interface EleventyAfterArgument {
  runMode?: string;
  outputMode?: string;
  directories?: { output?: string };
  dir?: { output?: string };
}

/**
 * Writes the static files into Eleventy's output (the `build` option; run in `eleventy.after`):
 * buildStatic() over the hasher's roots, into `<output><base URL path>` unless `out` says otherwise.
 * Reruns write only what changed. Exported for sites that drive Eleventy programmatically.
 *
 * @example
 * await buildEleventyOutput(hasher, {}, '_site'); // writes _site/static/...
 */
export async function buildEleventyOutput(hasher: StaticHasher, build: EleventyBuildOptions, eleventyOutput: string): Promise<BuildStaticResult> {
  const { roots, baseUrl, hashLength, urlStyle, param, css, cssIgnore, logger } = hasher.options;
  const out = build.out ?? path.join(eleventyOutput, ...baseUrl.split('/').filter((segment) => segment !== ''));
  return buildStatic({
    roots: roots.map((root) => ({ dir: root.dir, prefix: root.prefix })),
    baseUrl, hashLength, urlStyle, param, css, cssIgnore, logger,
    out,
    compress: build.compress ?? false,
    manifest: build.manifest ?? false,
    ...(build.keep === undefined ? {} : { keep: build.keep }),
    ...(build.keepAge === undefined ? {} : { keepAge: build.keepAge }),
  });
}

/** Throws when an `addPassthroughCopy()` also copies one of the roots: its raw stylesheets would not match their URLs. */
function rejectPassthroughOfRoots(eleventyConfig: EleventyConfigLike, hasher: StaticHasher): void {
  const copies = eleventyConfig.passthroughCopies ?? {};
  for (const input of Object.keys(copies)) {
    const copied = path.resolve(input.replace(/\/\*\*$/, ''));
    const root = hasher.options.roots.find((candidate) => path.resolve(candidate.dir) === copied);
    if (root === undefined) continue;
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash/eleventy: addPassthroughCopy(${JSON.stringify(input)}) copies the static root ${root.dir} as it is, `
      + 'but the plugin writes those files itself (the bytes their URLs name: rewritten stylesheets). Remove that passthrough copy, '
      + 'or set the plugin option build: false and run "static-hash build".', { option: 'build', value: input });
  }
}

interface HandlebarsOptionsLike {
  hash: object;
  data?: unknown;
  name?: string;
}

/** Handlebars passes its options object last to every helper (Eleventy's Handlebars plugin registers shortcodes as helpers). */
function isHandlebarsOptions(value: unknown): value is HandlebarsOptionsLike {
  return typeof value === 'object' && value !== null && 'hash' in value && 'name' in value && 'data' in value;
}

type ShortcodeThis = { page?: { inputPath?: string } } | undefined;

/**
 * The Eleventy 3 plugin: `eleventyConfig.addPlugin(staticHash, { root: 'public', baseUrl: '/static/' })`.
 *
 * Registers a universal shortcode `static` (and `static_integrity`) through `addShortcode`, which
 * Eleventy 3 gives to Nunjucks, Liquid and 11ty.js templates, and which
 * `@11ty/eleventy-plugin-handlebars` registers as Handlebars helpers (add that plugin after this one:
 * it copies the shortcodes that exist when it runs). The hasher is created in `eleventy.before`
 * (async, once), the generation moves on every watch rebuild (`eleventy.beforeWatch`), and the roots
 * are added as watch targets so editing a static file rebuilds the pages that reference it. After
 * each build (`eleventy.after`) the static files are written into Eleventy's output as the bytes
 * their URLs name (the `build` option, see {@link buildEleventyOutput}); no passthrough copy of the
 * roots is needed, and one is refused.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a bad plugin option; a bad hasher option
 *   fails the build in `eleventy.before`.
 * @example
 * // eleventy.config.mjs
 * import staticHash from 'static-hash/eleventy';
 * export default function (eleventyConfig) {
 *   // Writes public/ into _site/static/ (stylesheets rewritten) after each build.
 *   eleventyConfig.addPlugin(staticHash, { root: 'public', baseUrl: '/static/' });
 * }
 * // index.njk: <script src="{% static "js/app.js" %}" integrity="{% static_integrity "js/app.js" %}"></script>
 */
export function staticHashPlugin(eleventyConfig: EleventyConfigLike, options: StaticHashEleventyOptions = {}): void {
  const normalized = normalizeEleventyOptions(options);
  let hasher: StaticHasher | undefined;

  const current = (): StaticHasher => {
    // Eleventy emits eleventy.before ahead of any rendering; reaching this means a template was
    // rendered outside an Eleventy build (e.g. by hand with this configuration).
    if (hasher === undefined) throw new Error('static-hash/eleventy: shortcode called before the eleventy.before hook created the hasher');
    return hasher;
  };

  const shortcode = (lookup: (hasher: StaticHasher, reference: string) => string | undefined, escape: boolean) => {
    return function (this: ShortcodeThis, ...args: unknown[]): unknown {
      const handlebars = isHandlebarsOptions(args[args.length - 1]);
      if (handlebars) args.pop();
      const reference = args[0];
      let value: string;
      try {
        value = lookup(current(), reference as string) ?? '';
      } catch (error) {
        // Eleventy names the template too, but not always the line; naming the page helps either way.
        throw withTemplatePosition(error, { template: this?.page?.inputPath });
      }
      const output = escape && !normalized.raw ? escapeHtml(value) : value;
      // Handlebars escapes a helper's string result again (and turns "=" into "&#x3D;"); an object
      // with toHTML() is what it takes as already safe, like its own SafeString.
      return handlebars ? { toHTML: () => output, toString: () => output } : output;
    };
  };

  eleventyConfig.addShortcode(normalized.name, shortcode((h, reference) => h.url(reference), true));
  eleventyConfig.addShortcode(normalized.integrityName, shortcode((h, reference) => h.integrity(reference), false));
  // {% static_importmap "js/main.js", integrity=true %}: the import map and modulepreload links, as HTML.
  // One renderer per hasher: a configuration reset creates a new hasher, whose tags are cached afresh.
  let renderer: ImportMapTagRenderer | undefined;
  let rendererHasher: StaticHasher | undefined;
  eleventyConfig.addShortcode(IMPORT_MAP_TAG, function (this: ShortcodeThis, ...args: unknown[]): unknown {
    const handlebars = isHandlebarsOptions(args[args.length - 1]) ? (args.pop() as HandlebarsOptionsLike) : undefined;
    let html: string;
    try {
      const active = current();
      if (renderer === undefined || rendererHasher !== active) {
        renderer = new ImportMapTagRenderer(active);
        rendererHasher = active;
      }
      const { entries, integrity, nonce } = handlebars === undefined ? importMapArguments(args)
        : { entries: args, integrity: (handlebars.hash as Record<string, unknown>).integrity, nonce: (handlebars.hash as Record<string, unknown>).nonce };
      html = renderer.render(entries, integrity, nonce);
    } catch (error) {
      throw withTemplatePosition(error, { template: this?.page?.inputPath });
    }
    return handlebars === undefined ? html : { toHTML: () => html, toString: () => html };
  });
  for (const dir of normalized.watchTargets) eleventyConfig.addWatchTarget(dir);

  eleventyConfig.on('eleventy.before', async () => {
    hasher ??= await createStaticHasher(normalized.hasherOptions);
    if (normalized.build !== false) rejectPassthroughOfRoots(eleventyConfig, hasher);
  });
  // A watch rebuild follows a change to some file (a static file under a watched root, or a
  // template): a new generation makes every URL reflect the files as they are now.
  eleventyConfig.on('eleventy.beforeWatch', () => {
    hasher?.invalidate();
  });
  eleventyConfig.on('eleventy.after', async ({ runMode, outputMode, directories, dir }: EleventyAfterArgument = {}) => {
    // Only a build that writes files (not --to=json) gets the static files beside its pages.
    const output = directories?.output ?? dir?.output;
    if (normalized.build !== false && hasher !== undefined && (outputMode === undefined || outputMode === 'fs') && output !== undefined) {
      await buildEleventyOutput(hasher, normalized.build, output);
    }
    // A one-off build is over: release what the hasher holds (a shared generation store's
    // connection). In watch and serve modes it lives on for the next rebuild.
    if (runMode === 'build' && hasher !== undefined) {
      const done = hasher;
      hasher = undefined;
      await done.close();
    }
  });
  eleventyConfig.on('eleventy.reset', async () => {
    // The configuration is reloaded, which runs this plugin again with a hasher of its own.
    const done = hasher;
    hasher = undefined;
    await done?.close();
  });
}

export default staticHashPlugin;
