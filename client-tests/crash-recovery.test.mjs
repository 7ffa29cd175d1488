// kill -9 a quickstart in the middle of two tasks, start another on the
// same store (a SQLite file, Redis, DynamoDB): once the dead process's
// leases run out, the resumable task carries on from its last completed
// step (no step runs twice) and the other task is marked failed, saying its
// server stopped.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema, CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectHttp, quickstartBin, startHttpServer } from './servers.mjs';
import { backends } from './stores.mjs';

const children = [];
const clients = [];

async function connect(url) {
  const client = await connectHttp(url, 'crash-recovery-test');
  clients.push(client);
  return client;
}

const createTask = (client, name, args) =>
  client
    .request({ method: 'tools/call', params: { name, arguments: args } }, CreateTaskResultSchema, {
      task: { ttl: 600_000 },
    })
    .then((r) => r.task);

after(async () => {
  for (const client of clients) await client.close().catch(() => {});
  for (const child of children) child.kill('SIGKILL');
});

for (const name of ['SQLite', 'Redis', 'DynamoDB', 'DynamoDB on moto']) {
  describe(`on ${name}`, () => {
    let store;
    before(async () => {
      store = await backends[name].start();
    });
    after(() => store?.stop());

    /** Starts a quickstart on the shared store, with 1 s leases. */
    async function startInstance() {
      // The client's session dies with the first process: reading its tasks
      // from the second needs an owner that outlives sessions (one shared
      // anonymous owner here; a real deployment authenticates).
      const instance = await startHttpServer(quickstartBin, ['--store', store.url, '--lease', '1', '--shared-owner', 'demo']);
      children.push(instance.child);
      return instance;
    }

    test('after kill -9, a resumable task resumes from its checkpoint and the other fails', async () => {
      const first = await startInstance();
      const a = await connect(first.url);
      const resumable = await createTask(a, 'resumable_job', { steps: 6 });
      const plain = await createTask(a, 'slow_job', { seconds: 60 });
      await new Promise((r) => setTimeout(r, 1300)); // two of six steps done
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.on('exit', resolve));

      const second = await startInstance();
      const b = await connect(second.url);
      // Right after the crash the tasks still look alive: their leases have not run out yet.
      const deadline = Date.now() + 15_000;
      let plainTask;
      do {
        await new Promise((r) => setTimeout(r, 200));
        plainTask = await b.experimental.tasks.getTask(plain.taskId);
      } while (plainTask.status === 'working' && Date.now() < deadline);
      assert.equal(plainTask.status, 'failed', JSON.stringify(plainTask));
      assert.match(plainTask.statusMessage, /stopped renewing its claim on it before the task finished \(it crashed, was killed/);

      const result = await b.experimental.tasks.getTaskResult(resumable.taskId, CallToolResultSchema, { timeout: 30_000 });
      const runs = result.structuredContent.steps;
      assert.deepEqual(runs.map((r) => r.step), [0, 1, 2, 3, 4, 5], 'every step once, in order');
      const pids = [...new Set(runs.map((r) => r.pid))];
      assert.deepEqual(pids, [first.child.pid, second.child.pid], `steps ran on the dead process, then on the new one: ${JSON.stringify(runs)}`);
      assert.ok(runs.filter((r) => r.pid === first.child.pid).length >= 1, 'the completed steps were replayed, not re-run');
    });
  });
}
