// `npm start`: installs and builds what is missing, then serves the demo site on 127.0.0.1
// (PORT, default 3000) until Ctrl-C.
import { ensureBuilt, ensureNodeModules } from './ensure.mjs';

ensureNodeModules();
ensureBuilt();

const { startDemo } = await import('../examples/site/server.mjs');
const port = Number(process.env.PORT ?? 3000);
// STATIC_HASH_DEMO_SITE serves another copy of examples/site (the end-to-end tests edit a copy).
const demo = await startDemo({ port, siteDir: process.env.STATIC_HASH_DEMO_SITE || undefined });
console.log(`static-hash demo: ${demo.url} (Nunjucks page) and ${demo.url}handlebars (Handlebars page)`);
console.log('Edit a file under examples/site/public/ and reload: its URL changes, nothing else is refetched. Ctrl-C stops.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstatic-hash demo: ${signal}: closing the watcher and the server`);
    await demo.close();
  });
}
