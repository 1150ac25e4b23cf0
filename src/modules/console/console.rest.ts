import type { FastifyPluginAsync } from 'fastify';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from '../../../console/build.js';
import type { RestOptions } from '../../rest/scope.js';

/** The console's folder: found upwards from here, so it is the same whether this file runs from src/ or a build. */
function consoleRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'console', 'index.html'))) return path.join(dir, 'console');
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('the console folder (console/index.html) was not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

// Everything the page loads comes from this origin (no CDN); images are the integrations' own logos,
// wherever their specs put them; the API is /graphql over fetch and WebSocket.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  'img-src * data:',
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The web console at /console/ (a static page over the public GraphQL API; see console/), and `/` leading
 * there. Built when the gateway starts if its sources changed; served from memory with an ETag.
 */
export const consoleRoutes: FastifyPluginAsync<RestOptions> = async (app) => {
  const { files } = await buildConsole(consoleRoot());
  const etags = new Map([...files].map(([name, file]) => [name, `"${createHash('sha256').update(file.body).digest('base64url').slice(0, 22)}"`]));
  const hidden = { schema: { hide: true }, logLevel: 'warn' as const };

  app.get('/', hidden, async (_request, reply) => reply.redirect('/console/'));
  app.get('/console', hidden, async (_request, reply) => reply.redirect('/console/'));
  app.get<{ Params: { '*': string } }>('/console/*', hidden, async (request, reply) => {
    const wanted = request.params['*'];
    // Any path that is not an asset is a view of the page itself (views live in the fragment).
    const name = wanted.startsWith('assets/') ? wanted : 'index.html';
    const file = files.get(name);
    if (!file) return reply.code(404).send({ status: 'error', status_code: 404, message: `no console file ${wanted}` });
    const etag = etags.get(name)!;
    void reply
      .header('content-type', file.type)
      .header('etag', etag)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (name === 'index.html') void reply.header('content-security-policy', CSP);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(file.body);
  });
};
