// Two quickstart processes share one store, a real redis-server and then a
// DynamoDB (dynalite, started locally): a task created on A is polled and
// its result fetched on B, and a cancel sent to B stops the body running on
// A within a second, and a 2026-07-28 listener on B hears a task that runs
// and completes on A (Redis: at once, through its change feed; DynamoDB: at
// B's next look, every 500 ms).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema, CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { connectHttp, quickstartBin, startHttpServer } from './servers.mjs';
import { backends } from './stores.mjs';

const connect = (url) => connectHttp(url, 'multi-instance-test');

const createTask = (client, seconds) =>
  client
    .request(
      { method: 'tools/call', params: { name: 'slow_job', arguments: { seconds } } },
      CreateTaskResultSchema,
      { task: { ttl: 60_000 } },
    )
    .then((r) => r.task);

for (const name of ['Redis', 'DynamoDB', 'DynamoDB on moto']) {
  describe(`two instances sharing ${name}`, () => {
    const children = [];
    let store;
    let a;
    let b;
    let instanceA;
    let instanceB;

    before(async () => {
      store = await backends[name].start();
      const start = async () => {
        // A session is one instance's: the client's sessions on A and B
        // are told apart unless every anonymous caller shares one owner (a
        // real deployment authenticates instead).
        const instance = await startHttpServer(quickstartBin, ['--store', store.url, '--shared-owner', 'demo'], {
          rustLog: 'pmcp_tasks=info',
        });
        children.push(instance.child);
        return instance;
      };
      instanceA = await start();
      instanceB = await start();
      assert.notEqual(instanceA.url, instanceB.url);
      assert.match(instanceA.log(), store.logs);
      a = await connect(instanceA.url);
      b = await connect(instanceB.url);
    });

    after(async () => {
      await a?.close();
      await b?.close();
      for (const child of children) child.kill('SIGTERM');
      store?.stop();
    });

    test('a task created on A is polled and its result fetched on B', async () => {
      const task = await createTask(a, 2);
      const seenOnB = await b.experimental.tasks.getTask(task.taskId);
      assert.equal(seenOnB.status, 'working');
      const result = await b.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
      assert.deepEqual(result.structuredContent, { seconds: 2, steps: 2 });
      assert.equal((await a.experimental.tasks.getTask(task.taskId)).status, 'completed');
    });

    test('a listener on B hears a task completed on A', async () => {
      const transport = new StreamableHTTPClientTransport(new URL(instanceB.url));
      const listener = new Client(
        { name: 'multi-instance-listener', version: '1.0.0' },
        {
          capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
          versionNegotiation: { mode: { pin: '2026-07-28' } },
        },
      );
      const heard = [];
      listener.fallbackNotificationHandler = async (n) => heard.push(n);
      await listener.connect(transport, { timeout: 30_000 });
      try {
        const task = await createTask(a, 1);
        const subscription = await listener.listen({ taskIds: [task.taskId] });
        const deadline = Date.now() + 15_000;
        const completed = () =>
          heard.find((n) => n.method === 'notifications/tasks' && n.params.taskId === task.taskId && n.params.status === 'completed');
        while (!completed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(completed(), `B heard: ${JSON.stringify(heard)}`);
        assert.deepEqual(completed().params.result.structuredContent, { seconds: 1, steps: 1 });
        await subscription.close();
      } finally {
        await listener.close();
      }
    });

    test('a cancel sent to B stops the body running on A within a second', async () => {
      const task = await createTask(a, 60);
      await new Promise((r) => setTimeout(r, 300));
      const cancelledAt = Date.now();
      const cancelled = await b.experimental.tasks.cancelTask(task.taskId);
      assert.equal(cancelled.status, 'cancelled');
      const stopped = () =>
        instanceA.log().split('\n').some((line) => line.includes('task body stopped') && line.includes(task.taskId));
      while (!stopped()) {
        assert.ok(Date.now() - cancelledAt < 1000, `A did not stop the body within a second:\n${instanceA.log()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((await a.experimental.tasks.getTask(task.taskId)).status, 'cancelled');
    });
  });
}
