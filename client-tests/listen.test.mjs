// A 2026-07-28 listener from the v2 TypeScript SDK client
// (@modelcontextprotocol/client `listen()`), over streamable HTTP and over
// stdio, against the quickstart: the acknowledgement names only the
// caller's task, `notifications/tasks` reaches the client's handlers and
// carries the task to its end (checked against the vendored extension
// schema), and closing the subscription stops it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { quickstartBin, rawDispatchOver, repo, startHttpServer } from './servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTOCOL_VERSION = '2026-07-28';
const TASKS = 'io.modelcontextprotocol/tasks';
const SUBSCRIPTION = 'io.modelcontextprotocol/subscriptionId';
const CLIENT_INFO = { name: 'pmcp-tasks-listen-test', version: '1.0.0' };
const CLIENT_CAPABILITIES = { extensions: { [TASKS]: {} } };

const validateNotification = (() => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = (file) => JSON.parse(fs.readFileSync(path.join(here, 'schemas', file), 'utf8'));
  ajv.addSchema(load('mcp-2026-07-28-core-schema.json'), 'mcp-core');
  ajv.addSchema(load('ext-tasks-2026-07-28-schema.json'), 'ext-tasks');
  const validate = ajv.getSchema('ext-tasks#/$defs/TaskStatusNotification');
  return (n) => (validate(n) ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`));
})();

const transports = {
  http: async () => {
    const server = await startHttpServer(quickstartBin);
    return {
      transport: new StreamableHTTPClientTransport(new URL(server.url)),
      stop: () => server.child.kill('SIGTERM'),
    };
  },
  stdio: async () => ({
    transport: new StdioClientTransport({
      command: quickstartBin,
      cwd: repo,
      env: { ...process.env, RUST_LOG: 'warn' },
      stderr: 'inherit',
    }),
    stop: () => {},
  }),
};

for (const [kind, connect] of Object.entries(transports)) {
  describe(`a 2026-07-28 listener (v2 TypeScript SDK client) over ${kind}`, () => {
    let client;
    let raw;
    let stop;
    const notifications = [];
    const inbound = [];

    before(async () => {
      const made = await connect();
      stop = made.stop;
      client = new Client(CLIENT_INFO, {
        capabilities: CLIENT_CAPABILITIES,
        versionNegotiation: { mode: { pin: PROTOCOL_VERSION } },
      });
      client.fallbackNotificationHandler = async (n) => {
        notifications.push(n);
      };
      await client.connect(made.transport, { timeout: 30_000 });
      // Every message as it arrives: the SDK keeps only the core filter
      // keys of an acknowledgement, not the extension's taskIds.
      const deliver = made.transport.onmessage;
      made.transport.onmessage = (message, extra) => {
        inbound.push(message);
        deliver?.call(made.transport, message, extra);
      };
      raw = rawDispatchOver(made.transport);
    });

    after(async () => {
      await client?.close();
      stop?.();
    });

    /** Starts `slow_job` as a 2026-07-28 task. */
    async function startTask(seconds) {
      const answer = await raw({
        method: 'tools/call',
        params: {
          name: 'slow_job',
          arguments: { seconds },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': PROTOCOL_VERSION,
            'io.modelcontextprotocol/clientCapabilities': CLIENT_CAPABILITIES,
          },
        },
      });
      assert.equal(answer.kind, 'result', JSON.stringify(answer));
      assert.equal(answer.result.resultType, 'task');
      return answer.result.taskId;
    }

    test('hears its own task to the end, then closes the subscription', async () => {
      const id = await startTask(1);
      const subscription = await client.listen({ taskIds: [id, 'no-such-task'] });
      const ack = inbound.find((m) => m.method === 'notifications/subscriptions/acknowledged');
      assert.deepEqual(ack.params.notifications, { taskIds: [id] }, 'only the caller\'s own task');
      const deadline = Date.now() + 20_000;
      const mine = () => notifications.filter((n) => n.method === 'notifications/tasks' && n.params.taskId === id);
      while (!mine().some((n) => n.params.status === 'completed') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const heard = mine();
      assert.equal(heard.at(-1)?.params.status, 'completed', JSON.stringify(notifications));
      assert.deepEqual(heard.at(-1).params.result.structuredContent, { seconds: 1, steps: 1 });
      for (const n of heard) {
        assert.ok(n.params._meta?.[SUBSCRIPTION] !== undefined, 'every notification names its subscription');
        assert.deepEqual(validateNotification(n), [], JSON.stringify(n));
      }
      await subscription.close();
      assert.equal(await subscription.closed, 'local');
    });
  });
}
