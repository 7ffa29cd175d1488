// Starting the repository's example servers for the client tests.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The quickstart example (QUICKSTART_BIN overrides). */
export const quickstartBin = process.env.QUICKSTART_BIN ?? path.join(repo, 'target', 'debug', 'examples', 'quickstart');
/** The workflow prompt example (WORKFLOW_BIN overrides). */
export const workflowBin = process.env.WORKFLOW_BIN ?? path.join(repo, 'target', 'debug', 'examples', 'workflow');
/** The report example (REPORT_BIN overrides). */
export const reportBin = process.env.REPORT_BIN ?? path.join(repo, 'target', 'debug', 'examples', 'report');
/** The conformance fixtures example (CONFORMANCE_BIN overrides). */
export const conformanceBin =
  process.env.CONFORMANCE_BIN ?? path.join(repo, 'target', 'debug', 'examples', 'conformance');

/**
 * Starts `binary --http 127.0.0.1:0 ...args` and resolves, once it prints its
 * URL on stderr, with `{ child, url, log(), exited }` (`exited` resolves with
 * `{ code, signal }`).
 */
export function startHttpServer(binary, args = [], { rustLog = 'warn' } = {}) {
  const child = spawn(binary, ['--http', '127.0.0.1:0', ...args], {
    cwd: repo,
    env: { ...process.env, RUST_LOG: rustLog },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL on stderr: ${log}`)), 30_000);
    child.stderr.on('data', () => {
      const found = log.match(/http:\/\/[0-9.:]+\/mcp/);
      if (found) {
        clearTimeout(timer);
        resolve({ child, url: found[0], log: () => log, exited });
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before printing its URL: ${log}`));
    });
  });
}

/** A TypeScript SDK client called `name`, connected over streamable HTTP to `url`. */
export async function connectHttp(url, name) {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/**
 * The host request coordinator ext-tasks asks for on a 2026-07-28 session
 * (`rawDispatch`): the SDK Client's own request funnel rejects
 * `resultType: "task"`, so task traffic goes through the same SDK transport
 * under ids owned here, and their responses are taken off the transport
 * before the Client sees them. The library builds every request; this only
 * numbers, sends and matches them.
 */
export function rawDispatchOver(transport) {
  const pending = new Map();
  let next = 0;
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const waiter = message && !('method' in message) ? pending.get(message.id) : undefined;
    if (waiter) {
      pending.delete(message.id);
      waiter.resolve(message);
    } else {
      deliver?.call(transport, message, extra);
    }
  };
  return async (request, options = {}) => {
    const id = `ext-tasks-${++next}`;
    const { signal, context = {} } = options;
    signal?.throwIfAborted();
    const answered = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    const timeout = context.requestTimeoutMs ?? 60_000;
    let timer;
    const onAbort = () => pending.get(id)?.reject(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${request.method} timed out after ${timeout} ms`)), timeout);
      });
      await transport.send({ jsonrpc: '2.0', id, ...request }, context.headers ? { headers: context.headers } : {});
      const message = await Promise.race([answered, limit]);
      return 'error' in message ? { kind: 'error', error: message.error } : { kind: 'result', result: message.result };
    } finally {
      clearTimeout(timer);
      pending.delete(id);
      signal?.removeEventListener('abort', onAbort);
    }
  };
}

