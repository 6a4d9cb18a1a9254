/**
 * Subresource integrity for templates: a Nunjucks global `static_integrity("js/app.js")` and a
 * Handlebars helper `{{staticIntegrity "js/app.js"}}`, both giving `hasher.integrity()` (`sha384-…`).
 * Kept apart from adapters/nunjucks.ts and adapters/handlebars.ts so each can call these from its
 * `registerStatic()`; they take the caller's environment or instance and never a global one.
 */
import { StaticHashError, type StaticHasher } from '../src/index.js';
import { checkHasher, handlebarsPosition, invalidOption, withTemplatePosition } from '../src/internal.js';

/** The part of a Nunjucks `Environment` used here. */
export interface NunjucksEnvironmentLike {
  addGlobal(name: string, value: unknown): unknown;
}

/** The part of a Handlebars instance (`Handlebars` or `Handlebars.create()`) used here. */
export interface HandlebarsLike {
  registerHelper(name: string, helper: (...args: any[]) => unknown): void;
  SafeString: new (value: string) => unknown;
}

/** Options of {@link registerIntegrityGlobal} and {@link registerIntegrityHelper}. */
export interface IntegrityHelperOptions {
  /**
   * Name of the global or helper.
   * @default 'static_integrity' (Nunjucks), 'staticIntegrity' (Handlebars)
   */
  name?: string;
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const SCOPE = 'static-hash';

function checkArguments(target: unknown, method: string, hasher: StaticHasher, options: IntegrityHelperOptions, fallback: string, where: string): string {
  if (typeof target !== 'object' && typeof target !== 'function' || target === null || typeof (target as Record<string, unknown>)[method] !== 'function') {
    invalidOption(SCOPE, 'instance', `an object with ${method}()`, target, `${where}: the instance`);
  }
  checkHasher(hasher, SCOPE, `${where}: hasher`);
  const name = options.name ?? fallback;
  if (typeof name !== 'string' || !NAME.test(name)) invalidOption(SCOPE, 'name', `an identifier such as "${fallback}"`, name);
  return name;
}

/**
 * Adds the global function `static_integrity(reference)` to a Nunjucks environment:
 * `<script src="{% static "js/app.js" %}" integrity="{{ static_integrity("js/app.js") }}">`.
 * Returns `''` for a missing file under `onMissing: 'warn'` or `'ignore'` (an empty integrity
 * attribute checks nothing), and throws under `'throw'`; Nunjucks adds the template and line.
 *
 * @example
 * registerIntegrityGlobal(env, hasher);
 * env.renderString('{{ static_integrity("js/app.js") }}') //=> 'sha384-…'
 */
export function registerIntegrityGlobal(env: NunjucksEnvironmentLike, hasher: StaticHasher, options: IntegrityHelperOptions = {}): void {
  const name = checkArguments(env, 'addGlobal', hasher, options, 'static_integrity', 'registerIntegrityGlobal()');
  // A plain string: base64 holds no character Nunjucks' autoescape would change.
  env.addGlobal(name, (reference: string) => {
    try {
      return hasher.integrity(reference) ?? '';
    } catch (error) {
      throw withCodeInMessage(error);
    }
  });
}

/**
 * The error with its code appended to the message, for Nunjucks: without `dev: true` it replaces
 * a render error by a plain Error carrying only `name: message`, so the code must be in the message.
 */
export function withCodeInMessage(error: unknown): unknown {
  if (!(error instanceof StaticHashError) || error.message.endsWith(`[${error.code}]`)) return error;
  return new StaticHashError(error.code, `${error.message} [${error.code}]`, {
    reference: error.reference, file: error.file, option: error.option, value: error.value, cause: error,
  });
}

/**
 * Registers the helper `{{staticIntegrity "js/app.js"}}` on the given Handlebars instance. The
 * value is returned as the instance's SafeString: base64 is HTML-safe, and Handlebars would
 * otherwise escape a `=` as `&#x3D;`. Errors name the reference and the template line.
 *
 * @example
 * registerIntegrityHelper(handlebars, hasher);
 * handlebars.compile('{{staticIntegrity "js/app.js"}}')({}) //=> 'sha384-…'
 */
export function registerIntegrityHelper(handlebars: HandlebarsLike, hasher: StaticHasher, options: IntegrityHelperOptions = {}): void {
  const name = checkArguments(handlebars, 'registerHelper', hasher, options, 'staticIntegrity', 'registerIntegrityHelper()');
  handlebars.registerHelper(name, createIntegrityHelper(hasher, (html) => new handlebars.SafeString(html)));
}

/** The integrity helper function, returning its value through `safe` (base64 is HTML-safe, but Handlebars would escape a `=` as `&#x3D;`). */
export function createIntegrityHelper(hasher: StaticHasher, safe: (html: string) => unknown): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const helperOptions = args.pop() as { loc?: { source?: string; start?: { line?: number; column?: number } } } | undefined;
    const reference = args[0];
    try {
      return safe(hasher.integrity(reference as string) ?? '');
    } catch (error) {
      // The same position, written the same way, as the static helper's errors.
      throw withTemplatePosition(error, handlebarsPosition(helperOptions?.loc));
    }
  };
}
