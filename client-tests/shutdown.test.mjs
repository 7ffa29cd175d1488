// SIGTERM makes the quickstart stop taking tasks, give running ones a grace
// period, and mark the unfinished ones failed before it exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binary = process.env.QUICKSTART_BIN ?? path.join(repo, 'target', 'debug', 'examples', 'quickstart');

test('SIGTERM drains: quick tasks finish, slow ones are marked failed, exit code 0', async () => {
  const child = spawn(binary, ['--http', '127.0.0.1:0', '--grace', '1.5'], {
    cwd: repo,
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL: ${stderr}`)), 30_000);
    child.stderr.on('data', () => {
      const found = stderr.match(/http:\/\/[0-9.:]+\/mcp/);
      if (found) {
        clearTimeout(timer);
        resolve(found[0]);
      }
    });
  });

  const client = new Client({ name: 'shutdown-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const create = (seconds) =>
    client.request(
      { method: 'tools/call', params: { name: 'slow_job', arguments: { seconds } } },
      CreateTaskResultSchema,
      { task: { ttl: 60_000 } },
    );
  const quick = await create(0.5);
  const slow = await create(60);
  assert.equal(quick.task.status, 'working');
  assert.equal(slow.task.status, 'working');

  child.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /shutting down/);
  // The 0.5 s task finished within the grace period; the 60 s one did not.
  assert.match(stderr, /stopped; 1 unfinished task\(s\) marked failed/);
});
