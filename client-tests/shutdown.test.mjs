// SIGTERM makes the quickstart stop taking tasks, give running ones a grace
// period, and mark the unfinished ones failed before it exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectHttp, quickstartBin, startHttpServer } from './servers.mjs';

test('SIGTERM drains: quick tasks finish, slow ones are marked failed, exit code 0', async () => {
  const server = await startHttpServer(quickstartBin, ['--grace', '1.5']);
  const { child, url, exited } = server;
  const stderr = () => server.log();

  const client = await connectHttp(url, 'shutdown-test');
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
  assert.equal(signal, null, stderr());
  assert.equal(code, 0, stderr());
  assert.match(stderr(), /shutting down/);
  // The 0.5 s task finished within the grace period; the 60 s one did not.
  assert.match(stderr(), /stopped; 1 unfinished task\(s\) marked failed/);
});
