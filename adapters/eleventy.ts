import { createStaticHasher, type StaticHasher, type StaticHasherOptions } from '../src/index.js';
import { escapeHtml, invalidOption, withTemplatePosition } from '../src/internal.js';

const SCOPE = 'static-hash/eleventy';

/**
 * The parts of Eleventy 3's configuration API (`eleventyConfig`) the plugin uses. Typed here so the
 * plugin needs no Eleventy types (and does not load Eleventy).
 */
export interface EleventyConfigLike {
  addShortcode(name: string, callback: (...args: any[]) => unknown): void;
  addWatchTarget(target: string): void;
  on(event: string, listener: (...args: any[]) => unknown): void;
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
}

const PLUGIN_KEYS = ['name', 'integrityName', 'raw'] as const;
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
  const { name = 'static', integrityName = 'static_integrity', raw = false, ...hasherOptions } = options;
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
  return { name, integrityName, raw, hasherOptions, watchTargets: dirs };
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
 * are added as watch targets so editing a static file rebuilds the pages that reference it.
 *
 * @throws {StaticHashError} `ERR_STATIC_INVALID_OPTION` for a bad plugin option; a bad hasher option
 *   fails the build in `eleventy.before`.
 * @example
 * // eleventy.config.mjs
 * import staticHash from 'static-hash/eleventy';
 * export default function (eleventyConfig) {
 *   eleventyConfig.addPassthroughCopy({ public: 'static' });
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
  for (const dir of normalized.watchTargets) eleventyConfig.addWatchTarget(dir);

  eleventyConfig.on('eleventy.before', async () => {
    hasher ??= await createStaticHasher(normalized.hasherOptions);
  });
  // A watch rebuild follows a change to some file (a static file under a watched root, or a
  // template): a new generation makes every URL reflect the files as they are now.
  eleventyConfig.on('eleventy.beforeWatch', () => {
    hasher?.invalidate();
  });
  eleventyConfig.on('eleventy.after', async ({ runMode }: { runMode?: string } = {}) => {
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
