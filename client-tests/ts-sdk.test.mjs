// The official TypeScript SDK client (2025-11-25 tasks, `client.experimental.tasks`)
// drives the quickstart server, over stdio and over streamable HTTP.
//
// Run through the repo's test command, or by hand after building the example:
//   cargo build --example quickstart && (cd client-tests && npm test)
// QUICKSTART_BIN overrides the server binary.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  McpError,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import { quickstartBin as binary, repo, startHttpServer } from './servers.mjs';
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** Validators for the definitions of the vendored 2025-11-25 schema. */
const schema2025 = (() => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schemas', 'mcp-2025-11-25-schema.json');
  ajv.addSchema(JSON.parse(fs.readFileSync(file, 'utf8')), 'mcp-2025-11-25');
  return (def, value) => {
    const validate = ajv.getSchema(`mcp-2025-11-25#/$defs/${def}`);
    assert.ok(validate, `the schema defines ${def}`);
    return validate(value) ? [] : validate.errors.map((e) => `${def}${e.instancePath} ${e.message}`);
  };
})();

/** The schema definition a result of `method` must satisfy. */
function resultDefinition(method, result) {
  switch (method) {
    case 'initialize':
      return 'InitializeResult';
    case 'tools/list':
      return 'ListToolsResult';
    case 'tools/call':
      return result.task ? 'CreateTaskResult' : 'CallToolResult';
    case 'tasks/get':
      return 'GetTaskResult';
    case 'tasks/list':
      return 'ListTasksResult';
    case 'tasks/cancel':
      return 'CancelTaskResult';
    case 'tasks/result':
      return 'CallToolResult';
    default:
      return 'Result';
  }
}

const transports = {
  stdio: async () => ({
    transport: new StdioClientTransport({
      command: binary,
      args: ['--page-size', '2'],
      cwd: repo,
      env: { ...process.env, RUST_LOG: 'warn' },
      stderr: 'inherit',
    }),
    stop: async () => {},
  }),
  http: async () => {
    const server = await startHttpServer(binary, ['--page-size', '2']);
    return {
      transport: new StreamableHTTPClientTransport(new URL(server.url)),
      stop: async () => {
        server.child.kill('SIGTERM');
      },
    };
  },
};

for (const [kind, connect] of Object.entries(transports)) {
  describe(`TypeScript SDK over ${kind}`, () => {
    let client;
    let stop;
    const inbound = [];
    const outbound = [];
    const elicitations = [];

    before(async () => {
      const made = await connect();
      stop = made.stop;
      const { transport } = made;
      const receive = (m) => inbound.push(m);
      transport.onmessage = receive;
      const send = transport.send.bind(transport);
      transport.send = (m, opts) => {
        outbound.push(m);
        return send(m, opts);
      };
      client = new Client(
        { name: 'pmcp-tasks-ts-test', version: '1.0.0' },
        { capabilities: { elicitation: { form: {} } }, defaultTaskPollInterval: 100 },
      );
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        elicitations.push(request);
        return { action: 'accept', content: { name: 'Ada' } };
      });
      await client.connect(transport, { timeout: 60_000 });
    });

    after(async () => {
      await client?.close();
      await stop?.();
    });

    /** Asserts that `promise` rejects with an McpError of `code`. */
    async function rejectsWith(promise, code, pattern) {
      await assert.rejects(promise, (e) => {
        assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
        assert.equal(e.code, code, e.message);
        if (pattern) assert.match(e.message, pattern);
        return true;
      });
    }

    /** Creates a task without polling it. */
    async function createTask(name, args) {
      const { task } = await client.request(
        { method: 'tools/call', params: { name, arguments: args } },
        CreateTaskResultSchema,
        { task: { ttl: 60_000 } },
      );
      return task;
    }

    test('a tools/call retried with its idempotency key gets the same task; other arguments are refused', async () => {
      const key = `retry-${kind}-${process.pid}`;
      const call = (args) =>
        client.request(
          {
            method: 'tools/call',
            params: { name: 'slow_job', arguments: args, _meta: { 'pmcp-tasks/idempotency-key': key } },
          },
          CreateTaskResultSchema,
          { task: { ttl: 60_000 } },
        );
      // Two at once, as a client retrying a call whose answer was slow.
      const [first, racing] = await Promise.all([call({ seconds: 0.2 }), call({ seconds: 0.2 })]);
      assert.equal(racing.task.taskId, first.task.taskId);
      const later = await call({ seconds: 0.2 });
      assert.equal(later.task.taskId, first.task.taskId);
      await rejectsWith(call({ seconds: 5 }), -32602, /other arguments/);
    });

    test('initialize advertises the 2025-11-25 tasks capability', () => {
      const init = outbound.find((m) => m.method === 'initialize');
      const answer = inbound.find((m) => m.id === init.id);
      assert.equal(answer.result.protocolVersion, '2025-11-25');
      const caps = client.getServerCapabilities();
      assert.deepEqual(caps.tasks, { list: {}, cancel: {}, requests: { tools: { call: {} } } });
    });

    test('tools/list declares each tool\'s task support', async () => {
      const { tools } = await client.listTools();
      const support = Object.fromEntries(tools.map((t) => [t.name, t.execution?.taskSupport]));
      assert.deepEqual(support, { failing_job: 'optional', greet_user: 'required', resumable_job: 'optional', slow_job: 'optional' });
    });

    let finishedId;
    test('a task call streams created → status → result', async () => {
      const messages = [];
      for await (const m of client.experimental.tasks.callToolStream(
        { name: 'slow_job', arguments: { seconds: 2 } },
        CallToolResultSchema,
        { task: { ttl: 60_000 }, timeout: 30_000 },
      )) {
        messages.push(m);
      }
      const types = messages.map((m) => m.type);
      assert.equal(types[0], 'taskCreated');
      assert.equal(types.at(-1), 'result', JSON.stringify(messages.at(-1)));
      assert.ok(types.includes('taskStatus'));
      const created = messages[0].task;
      assert.equal(created.status, 'working');
      assert.equal(created.ttl, 60_000);
      assert.equal(typeof created.pollInterval, 'number');
      const statuses = messages.filter((m) => m.type === 'taskStatus').map((m) => m.task.status);
      assert.equal(statuses.at(-1), 'completed');
      assert.deepEqual(messages.at(-1).result.structuredContent, { seconds: 2, steps: 2 });
      finishedId = created.taskId;
    });

    test('get, result (with related-task _meta) and list of a finished task', async () => {
      const task = await client.experimental.tasks.getTask(finishedId);
      assert.equal(task.status, 'completed');
      assert.deepEqual(task._meta?.['pmcp:variables'], { steps_done: 2 });
      const result = await client.experimental.tasks.getTaskResult(finishedId, CallToolResultSchema);
      assert.deepEqual(result.structuredContent, { seconds: 2, steps: 2 });
      assert.equal(result._meta?.[RELATED_TASK]?.taskId, finishedId);
      const { tasks } = await client.experimental.tasks.listTasks();
      assert.ok(tasks.length >= 1 && tasks.every((t) => typeof t.taskId === 'string'));
    });

    test('status and progress notifications reach the client\'s handlers, with the immediate response', async () => {
      const statuses = [];
      client.setNotificationHandler(TaskStatusNotificationSchema, (n) => statuses.push(n.params));
      const progress = [];
      const created = await client.request(
        { method: 'tools/call', params: { name: 'slow_job', arguments: { seconds: 2 } } },
        CreateTaskResultSchema,
        { task: { ttl: 60_000 }, onprogress: (p) => progress.push(p) },
      );
      const id = created.task.taskId;
      assert.equal(
        created._meta?.['io.modelcontextprotocol/model-immediate-response'],
        'The job is running; I will report when it is done.',
      );
      const deadline = Date.now() + 20_000;
      while (!statuses.some((t) => t.taskId === id && t.status === 'completed') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const mine = statuses.filter((t) => t.taskId === id);
      assert.equal(mine.at(-1)?.status, 'completed', JSON.stringify(statuses));
      assert.equal(mine.at(-1)._meta?.[RELATED_TASK], undefined, 'no related-task _meta on a status notification');
      assert.deepEqual(
        progress.map((p) => [p.progress, p.total]),
        [[1, 2], [2, 2]],
        'progress for the whole life of the task, on the creating request\'s token',
      );
    });

    test('tasks/result blocks until the end without stalling tasks/get', async () => {
      const task = await createTask('slow_job', { seconds: 2 });
      let resultArrived = false;
      const result = client.experimental.tasks
        .getTaskResult(task.taskId, CallToolResultSchema)
        .then((r) => {
          resultArrived = true;
          return r;
        });
      const polled = await client.experimental.tasks.getTask(task.taskId);
      assert.equal(polled.status, 'working');
      assert.equal(resultArrived, false, 'tasks/result answered before the task finished');
      const final = await result;
      assert.deepEqual(final.structuredContent, { seconds: 2, steps: 2 });
      assert.equal((await client.experimental.tasks.getTask(task.taskId)).status, 'completed');
    });

    test('cancel stops a running task; cancelling again is -32602', async () => {
      const task = await createTask('slow_job', { seconds: 30 });
      const cancelled = await client.experimental.tasks.cancelTask(task.taskId);
      assert.equal(cancelled.taskId, task.taskId);
      assert.equal(cancelled.status, 'cancelled');
      assert.equal((await client.experimental.tasks.getTask(task.taskId)).status, 'cancelled');
      await rejectsWith(client.experimental.tasks.cancelTask(task.taskId), -32602, /terminal status 'cancelled'/);
    });

    test('tasks/list walks every task page by page with its cursor', async () => {
      for (let i = 0; i < 3; i += 1) await createTask('slow_job', { seconds: 0 });
      const seen = [];
      let cursor;
      let pages = 0;
      do {
        const page = await client.experimental.tasks.listTasks(cursor);
        assert.ok(page.tasks.length <= 2, 'the page size is 2');
        seen.push(...page.tasks.map((t) => t.taskId));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, 'no task listed twice');
      assert.ok(seen.length >= 3 && pages >= 2, `${seen.length} tasks in ${pages} pages`);
      assert.ok(seen.includes(finishedId));
      await rejectsWith(client.experimental.tasks.listTasks('not-a-cursor'), -32602, /cursor/i);
    });

    test('unknown task ids answer -32602 on every method', async () => {
      const tasks = client.experimental.tasks;
      await rejectsWith(tasks.getTask('no-such-task'), -32602, /not found/i);
      await rejectsWith(tasks.getTaskResult('no-such-task', CallToolResultSchema), -32602, /not found/i);
      await rejectsWith(tasks.cancelTask('no-such-task'), -32602, /not found/i);
    });

    test('a failing tool ends failed, and tasks/result returns its isError result', async () => {
      const messages = [];
      for await (const m of client.experimental.tasks.callToolStream(
        { name: 'failing_job', arguments: { message: 'disk full' } },
        CallToolResultSchema,
        { task: { ttl: 60_000 } },
      )) {
        messages.push(m);
      }
      assert.equal(messages.at(-1).type, 'error');
      const id = messages[0].task.taskId;
      const task = await client.experimental.tasks.getTask(id);
      assert.equal(task.status, 'failed');
      assert.equal(task.statusMessage, 'disk full');
      const result = await client.experimental.tasks.getTaskResult(id, CallToolResultSchema);
      assert.equal(result.isError, true);
      assert.equal(result.content[0].text, 'disk full');
    });

    test('input mid-task: the server elicits during tasks/result and the task resumes', async () => {
      const messages = [];
      for await (const m of client.experimental.tasks.callToolStream(
        { name: 'greet_user', arguments: {} },
        CallToolResultSchema,
        { task: { ttl: 60_000 }, timeout: 30_000 },
      )) {
        messages.push(m);
      }
      const id = messages[0].task.taskId;
      assert.ok(messages.some((m) => m.type === 'taskStatus' && m.task.status === 'input_required'));
      assert.equal(messages.at(-1).type, 'result', JSON.stringify(messages.at(-1)));
      assert.equal(messages.at(-1).result.content[0].text, 'Hello, Ada!');
      const asked = elicitations.find((e) => e.params._meta?.[RELATED_TASK]?.taskId === id);
      assert.ok(asked, 'the elicitation carried the related-task _meta');
      assert.equal(asked.params.message, 'What is your name?');
    });

    test('a task-required tool called without a task is -32601', async () => {
      await rejectsWith(
        client.request({ method: 'tools/call', params: { name: 'greet_user', arguments: {} } }, CallToolResultSchema),
        -32601,
        /must run as a task/,
      );
    });

    test('bad arguments are -32602 with the reason, and no task is created', async () => {
      const count = async () => {
        let total = 0;
        let cursor;
        do {
          const page = await client.experimental.tasks.listTasks(cursor);
          total += page.tasks.length;
          cursor = page.nextCursor;
        } while (cursor);
        return total;
      };
      const before = await count();
      await rejectsWith(createTask('slow_job', { seconds: 'soon' }), -32602, /invalid type/);
      assert.equal(await count(), before);
    });

    test('every message the server sent matches the 2025-11-25 schema', () => {
      const methods = new Map(outbound.filter((m) => m.method && m.id !== undefined).map((m) => [m.id, m.method]));
      const problems = [];
      const seen = {};
      for (const message of inbound) {
        let def;
        let value;
        if (message.method && message.id !== undefined) {
          [def, value] = [message.method === 'elicitation/create' ? 'ElicitRequest' : 'JSONRPCRequest', message];
        } else if (message.method === 'notifications/tasks/status') {
          [def, value] = ['TaskStatusNotification', message];
        } else if (message.method === 'notifications/progress') {
          [def, value] = ['ProgressNotification', message];
        } else if (message.method) {
          [def, value] = ['JSONRPCNotification', message];
        } else if (message.error) {
          [def, value] = ['JSONRPCErrorResponse', message];
        } else {
          const method = methods.get(message.id);
          [def, value] = [resultDefinition(method, message.result), message.result];
        }
        seen[def] = (seen[def] ?? 0) + 1;
        problems.push(...schema2025(def, value).map((p) => `${JSON.stringify(message).slice(0, 200)}: ${p}`));
      }
      assert.deepEqual(problems, []);
      for (const def of ['InitializeResult', 'CreateTaskResult', 'GetTaskResult', 'ListTasksResult', 'CancelTaskResult', 'CallToolResult', 'ElicitRequest', 'JSONRPCErrorResponse', 'TaskStatusNotification', 'ProgressNotification']) {
        assert.ok(seen[def] > 0, `saw a ${def}: ${JSON.stringify(seen)}`);
      }
    });

    test('an unknown method answers -32601 and the server keeps serving', async () => {
      await rejectsWith(client.request({ method: 'foo/bar', params: {} }, CallToolResultSchema), -32601);
      const { tools } = await client.listTools();
      assert.equal(tools.length, 4);
    });
  });
}
