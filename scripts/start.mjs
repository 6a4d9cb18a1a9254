// `npm start`: installs and builds what is missing, then serves the demo site on 127.0.0.1
// (PORT, default 3000) until Ctrl-C.
import { ensureBuilt, ensureNodeModules } from './ensure.mjs';

ensureNodeModules();
ensureBuilt();

const { startDemo } = await import('../examples/site/server.mjs');
const port = Number(process.env.PORT ?? 3000);
// STATIC_HASH_DEMO_SITE serves another copy of examples/site (the end-to-end tests edit a copy).
// STATIC_HASH_DEMO_LIVE_RELOAD=0 serves it without live reload (pages then change at the next navigation only).
const liveReload = process.env.STATIC_HASH_DEMO_LIVE_RELOAD !== '0';
const demo = await startDemo({ port, siteDir: process.env.STATIC_HASH_DEMO_SITE || undefined, liveReload });
console.log(`static-hash demo: ${demo.url} (Nunjucks page) and ${demo.url}handlebars (Handlebars page)`);
console.log(liveReload
  ? 'Edit examples/site/public/css/site.css: the open page applies it at once (live reload); other files reload the page. Ctrl-C stops.'
  : 'Edit a file under examples/site/public/ and reload: its URL changes, nothing else is refetched. Ctrl-C stops.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstatic-hash demo: ${signal}: closing the watcher and the server`);
    await demo.close();
  });
}
