// Two TypeScript SDK clients, each on its own HTTP session, against a
// quickstart with no authentication (the default owner policy): neither
// sees, reads or cancels the other's tasks. With --shared-owner, an explicit
// choice, they share them.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTaskResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';

import { connectHttp, quickstartBin, startHttpServer } from './servers.mjs';

const children = [];
const clients = [];

after(async () => {
  for (const client of clients) await client.close().catch(() => {});
  for (const child of children) child.kill('SIGTERM');
});

async function twoClients(args) {
  const server = await startHttpServer(quickstartBin, args);
  children.push(server.child);
  const a = await connectHttp(server.url, 'client-a');
  const b = await connectHttp(server.url, 'client-b');
  clients.push(a, b);
  return [a, b];
}

const createSlowTask = (client) =>
  client
    .request(
      { method: 'tools/call', params: { name: 'slow_job', arguments: { seconds: 30 } } },
      CreateTaskResultSchema,
      { task: { ttl: 60_000 } },
    )
    .then((r) => r.task);

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (e) => e instanceof McpError && e.code === code);
}

describe('anonymous HTTP clients', () => {
  test('each session owns its tasks: another session cannot list, read or cancel them', async () => {
    const [a, b] = await twoClients([]);
    const task = await createSlowTask(a);
    const listedByA = (await a.experimental.tasks.listTasks()).tasks.map((t) => t.taskId);
    assert.ok(listedByA.includes(task.taskId));
    const listedByB = (await b.experimental.tasks.listTasks()).tasks.map((t) => t.taskId);
    assert.deepEqual(listedByB, []);
    await rejectsWith(b.experimental.tasks.getTask(task.taskId), -32602);
    await rejectsWith(b.experimental.tasks.cancelTask(task.taskId), -32602);
    assert.equal((await a.experimental.tasks.getTask(task.taskId)).status, 'working');
    assert.equal((await a.experimental.tasks.cancelTask(task.taskId)).status, 'cancelled');
  });

  test('with --shared-owner, chosen explicitly, they share one owner', async () => {
    const [a, b] = await twoClients(['--shared-owner', 'team']);
    const task = await createSlowTask(a);
    assert.equal((await b.experimental.tasks.getTask(task.taskId)).status, 'working');
    assert.equal((await b.experimental.tasks.cancelTask(task.taskId)).status, 'cancelled');
  });
});
