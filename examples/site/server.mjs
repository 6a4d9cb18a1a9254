// The demo site: one page rendered by Nunjucks with <% %> tags, one by Handlebars with << >>
// delimiters, assets served by the static-hash middleware with immutable caching, and a watcher that
// moves the generation whenever a file under public/ changes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Handlebars from 'handlebars';
import nunjucks from 'nunjucks';
import { createStaticHasher } from 'static-hash';
import { serveStatic } from 'static-hash/express';
import { registerStatic as registerHandlebarsStatic } from 'static-hash/handlebars';
import { registerStatic as registerNunjucksStatic } from 'static-hash/nunjucks';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Starts the demo. `siteDir` holds public/ and views/ (the tests pass a copy so they can edit it).
 * Resolves to { url, hasher, close() } once the server listens and the watcher is ready.
 */
export async function startDemo({ siteDir = here, port = 3000, host = '127.0.0.1', logger = console, logRequests = true } = {}) {
  const hasher = await createStaticHasher({
    root: path.join(siteDir, 'public'), baseUrl: '/static/', watch: true, logger,
    // The bare specifier app.js imports: a vendored package under public/vendor/.
    modules: { imports: { 'tiny-clock': 'vendor/tiny-clock/index.js' } },
  });
  await hasher.ready;

  const views = path.join(siteDir, 'views');
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(views, { noCache: true }), {
    autoescape: true,
    tags: { blockStart: '<%', blockEnd: '%>', variableStart: '<$', variableEnd: '$>', commentStart: '<#', commentEnd: '#>' },
  });
  registerNunjucksStatic(env, hasher);

  const handlebars = Handlebars.create();
  registerHandlebarsStatic(handlebars, hasher, { delimiters: ['<<', '>>'] });

  const app = express();
  app.disable('x-powered-by');
  if (logRequests) {
    // One line per response, so you can watch the browser cache at work: a normal reload asks for the
    // page and nothing else until an asset's URL changes.
    app.use((req, res, next) => {
      res.on('finish', () => console.log(`${req.method} ${req.originalUrl} ${res.statusCode} ${res.getHeader('Cache-Control') ?? ''}`));
      next();
    });
  }
  app.use(serveStatic(hasher));
  // Pages are revalidated on every visit: they carry the asset URLs, so they must never be stale.
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-cache');
    next();
  });
  app.get('/', (_req, res, next) => {
    env.render('index.njk', { title: 'Nunjucks', generation: hasher.generation }, (error, html) => {
      if (error) next(error);
      else res.type('html').send(html);
    });
  });
  app.get('/handlebars', async (_req, res, next) => {
    try {
      const source = await fs.promises.readFile(path.join(views, 'handlebars.hbs'), 'utf8');
      res.type('html').send(handlebars.compile(source)({ generation: hasher.generation }));
    } catch (error) {
      next(error);
    }
  });

  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, host, () => resolve(listening));
    listening.once('error', reject);
  });
  const { port: actualPort } = server.address();
  let closing;
  return {
    url: `http://${host}:${actualPort}/`,
    hasher,
    close() {
      closing ??= Promise.all([
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        hasher.close(),
      ]);
      return closing;
    },
  };
}
