/**
 * Subresource integrity for templates: a Nunjucks global `static_integrity("js/app.js")` and a
 * Handlebars helper `{{staticIntegrity "js/app.js"}}`, both giving `hasher.integrity()` (`sha384-…`).
 * Kept apart from adapters/nunjucks.ts and adapters/handlebars.ts so each can call these from its
 * `registerStatic()`; they take the caller's environment or instance and never a global one.
 */
import { StaticHashError, type StaticHasher } from '../src/index.js';

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

function checkArguments(target: unknown, method: string, hasher: StaticHasher, options: IntegrityHelperOptions, fallback: string, where: string): string {
  if (typeof target !== 'object' && typeof target !== 'function' || target === null || typeof (target as Record<string, unknown>)[method] !== 'function') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: ${where} expects an object with ${method}(); got ${target === null ? 'null' : typeof target}`, {
      option: 'instance', value: target,
    });
  }
  if (typeof hasher !== 'object' || hasher === null || typeof hasher.integrity !== 'function') {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: ${where} expects a hasher from createStaticHasher()`, { option: 'hasher', value: hasher });
  }
  const name = options.name ?? fallback;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new StaticHashError('ERR_STATIC_INVALID_OPTION', `static-hash: option "name" must be an identifier such as "${fallback}"; got ${JSON.stringify(name)}`, {
      option: 'name', value: name,
    });
  }
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
  handlebars.registerHelper(name, (...args: unknown[]) => {
    const helperOptions = args.pop() as { loc?: { start?: { line?: number; column?: number } } } | undefined;
    const reference = args[0];
    try {
      return new handlebars.SafeString(hasher.integrity(reference as string) ?? '');
    } catch (error) {
      const start = helperOptions?.loc?.start;
      if (error instanceof StaticHashError && start?.line !== undefined) {
        throw new StaticHashError(error.code, `${error.message} (${name} at line ${start.line}, column ${start.column ?? 0})`, {
          reference: error.reference, file: error.file, cause: error,
        });
      }
      throw error;
    }
  });
}
