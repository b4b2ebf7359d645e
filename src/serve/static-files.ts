// A static file server for a folder written by `hsm export --web` (the browser
// benchmark and tests use it): hono's serveStatic on loopback, GET and HEAD
// only, nothing outside the folder. Module workers and WebAssembly need http(s)
// and the right types (text/javascript, application/wasm), which a page opened
// from file:// lacks.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Cross-origin isolation for a page that loads nothing from elsewhere: its
 * performance.now() then has microsecond resolution instead of 100 µs, which
 * per-token timings need. No caching, so a re-export is what the next load sees.
 */
export const isolatedPage: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
  c.header('Cross-Origin-Embedder-Policy', 'require-corp');
};

/** Serves `dir` at http://host:port/ (port 0: any free port); a folder's URL serves its index.html. */
export async function serveFolder(dir: string, opts: { host?: string; port?: number } = {}): Promise<StaticServer> {
  const app = new Hono();
  app.use('*', isolatedPage);
  app.on(['GET', 'HEAD'], '*', serveStatic({ root: resolve(dir) }));
  const host = opts.host ?? '127.0.0.1';
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host }) as Server;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
