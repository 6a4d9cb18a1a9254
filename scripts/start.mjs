// `npm start`: until the demo site exists, explain what the package does and how to try it.
console.log(`static-hash: cache-busting static URLs from file contents.

The demo site is not built yet. Try the core directly:

  npm run build
  node -e "require('./dist/cjs/src/index.js').createStaticHasher({ root: '.' }).then((h) => console.log(h.url('package.json')))"

Run the tests with: npm test`);
