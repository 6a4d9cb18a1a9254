// Types for two small modules the Express adapter uses that ship no types of their own and have no
// @types package installed. Both are dependencies of `send` itself (same major versions), so they
// are always present where `send` is.

declare module 'fresh' {
  /** True when the request's If-None-Match / If-Modified-Since validators match the response's. */
  function fresh(
    requestHeaders: Record<string, string | string[] | undefined>,
    responseHeaders: Record<string, string | undefined>,
  ): boolean;
  export = fresh;
}

declare module 'mime-types' {
  /** The full Content-Type (with charset where it applies) for a file name or extension, or false. */
  export function contentType(nameOrExtension: string): string | false;
}
