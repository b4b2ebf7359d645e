import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { DEFAULT_STREAM_INTERVAL_MS } from '../../serve/app.js';
import { startServer } from '../../serve/server.js';
import { integerIn, repeatable } from '../arguments.js';

interface ServeFlags {
  ckpt: string[];
  host: string;
  port: number;
  apiKey?: string;
  apiKeyFile?: string;
  parallel: number;
  maxQueue: number;
  maxTokensLimit: number;
  streamIntervalMs: number;
  cors?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve run folders over an OpenAI-compatible HTTP API (completions, chat, streaming) with continuous batching, and a playground page at /',
    )
    .requiredOption(
      '--ckpt <dir>',
      'run folder to serve (repeat for several; the model id is the folder name)',
      repeatable,
      [],
    )
    .option('--host <address>', 'address to listen on (0.0.0.0 exposes the server to the network)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', integerIn(0, 65535), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on /v1/ (visible in ps; prefer --api-key-file)')
    .option('--api-key-file <file>', 'read the API key from the first line of this file')
    .option('--parallel <n>', 'sequences decoded together per model (the batch size)', integerIn(1, 1024), 16)
    .option('--max-queue <n>', 'sequences waiting per model before requests get 429', integerIn(0, 100_000), 256)
    .option('--max-tokens-limit <n>', 'largest max_tokens a request may ask for', integerIn(1, 1_000_000), 4096)
    .option(
      '--stream-interval-ms <ms>',
      'streamed text waits up to this long for more tokens and goes out in one chunk (fewer writes and JSON chunks ' +
        'at small model widths; the first token is never held; 0 = every token in its own chunk)',
      integerIn(0, 1000),
      DEFAULT_STREAM_INTERVAL_MS,
    )
    .option('--cors <origin>', 'allow browser pages from this origin (or *) to call the API')
    .action(async (f: ServeFlags) => {
      if (f.ckpt.length === 0) throw new UserError('--ckpt: give at least one run folder');
      const apiKey = readApiKey(f);
      const server = await startServer({
        ckpts: f.ckpt,
        host: f.host,
        port: f.port,
        apiKey,
        corsOrigin: f.cors,
        parallel: f.parallel,
        maxQueue: f.maxQueue,
        maxTokensLimit: f.maxTokensLimit,
        streamIntervalMs: f.streamIntervalMs,
      });
      console.log(
        `hsm: serving ${server.served.map((m) => m.id).join(', ')} at ${server.url} (playground: ${server.url}/)`,
      );
      console.log(`hsm: OpenAI-compatible API at ${server.url}/v1${apiKey ? ' (API key required)' : ''}; Ctrl-C stops`);
      if (!apiKey)
        console.log(
          `hsm: each model also runs in the browser: ${server.served.map(({ id }) => `${server.url}/web/${id}/`).join(', ')}`,
        );
      const stop = (signal: NodeJS.Signals) => {
        console.log(`hsm: ${signal}: ending running streams and shutting down`);
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

function readApiKey(f: ServeFlags): string | undefined {
  if (f.apiKey !== undefined && f.apiKeyFile !== undefined)
    throw new UserError('--api-key and --api-key-file: give one of them, not both');
  let key = f.apiKey;
  if (f.apiKeyFile !== undefined) {
    try {
      key = readFileSync(f.apiKeyFile, 'utf8').split(/\r?\n/)[0].trim();
    } catch (err) {
      throw new UserError(`--api-key-file ${f.apiKeyFile}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  // The bearer-token syntax of RFC 6750, which the key check enforces on requests too.
  if (key !== undefined && !/^[A-Za-z0-9._~+/-]+=*$/.test(key))
    throw new UserError(
      `${f.apiKeyFile !== undefined ? '--api-key-file' : '--api-key'}: the key must be 1 or more of A-Z a-z 0-9 . _ ~ + / - (then = padding), with no spaces`,
    );
  return key;
}
