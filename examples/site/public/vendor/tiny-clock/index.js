// A stand-in for a vendored npm package, imported by its bare name ('tiny-clock') through the
// hasher's modules.imports option. Mount a real package with roots: [{ dir: 'node_modules/x', prefix: 'vendor/x/' }].
export function clock(date) {
  return date.toLocaleTimeString();
}
