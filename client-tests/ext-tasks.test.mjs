// The official Tasks-extension requester (npm @modelcontextprotocol/ext-tasks,
// on the v2 SDK client @modelcontextprotocol/client) drives the conformance
// fixture server as a 2026-07-28 client over streamable HTTP: the task is
// created by tools/call, followed by tasks/get polling, answered through
// tasks/update, and cancelled through tasks/cancel — all by the library.
// Every response the server sends is checked against the 2026-07-28 schemas
// vendored in schemas/.
//
// Run through the repo's test command, or by hand after building the example:
//   cargo build --example conformance && (cd client-tests && npm test)
// CONFORMANCE_BIN overrides the server binary.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createTaskSessionFromClient, resultFromTaskOutcome } from '@modelcontextprotocol/ext-tasks/client';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { conformanceBin, rawDispatchOver, startHttpServer } from './servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const PROTOCOL_VERSION = '2026-07-28';
const TASKS = 'io.modelcontextprotocol/tasks';
const CLIENT_INFO = { name: 'pmcp-tasks-ext-tasks-test', version: '1.0.0' };
const CLIENT_CAPABILITIES = { elicitation: { form: {} }, extensions: { [TASKS]: {} } };

/** JSON-RPC messages of an HTTP body: plain JSON, or the data lines of an SSE stream. */
function messagesOf(contentType, text) {
  if (!text.trim()) return [];
  if (contentType?.includes('text/event-stream')) {
    return text
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => JSON.parse(line.slice(5)));
  }
  const parsed = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * A fetch for the SDK transport that records every exchange: the request
 * (method, params, headers) and the JSON-RPC messages the server answered.
 */
function recordingFetch(exchanges) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    if ((init.method ?? 'GET') === 'POST' && typeof init.body === 'string') {
      const request = JSON.parse(init.body);
      const headers = Object.fromEntries(new Headers(init.headers));
      const text = await response.clone().text();
      exchanges.push({
        request,
        headers,
        status: response.status,
        responses: messagesOf(response.headers.get('content-type'), text),
      });
    }
    return response;
  };
}

/** Validators for every response, from the two vendored 2026-07-28 schemas. */
function schemaValidators() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = (file) => JSON.parse(fs.readFileSync(path.join(here, 'schemas', file), 'utf8'));
  const core = load('mcp-2026-07-28-core-schema.json');
  const ext = load('ext-tasks-2026-07-28-schema.json');
  ajv.addSchema(core, 'mcp-core');
  ajv.addSchema(ext, 'ext-tasks');
  const get = (schema, def) => {
    const validate = ajv.getSchema(`${schema}#/$defs/${def}`);
    assert.ok(validate, `${schema} defines ${def}`);
    return (value) => (validate(value) ? [] : validate.errors.map((e) => `${def}${e.instancePath} ${e.message}`));
  };
  return { core: (def) => get('mcp-core', def), ext: (def) => get('ext-tasks', def) };
}

describe('ext-tasks requester (2026-07-28) over streamable HTTP', () => {
  let server;
  let client;
  let session;
  const exchanges = [];
  const inputs = [];
  const libraryErrors = [];

  before(async () => {
    server = await startHttpServer(conformanceBin);
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      fetch: recordingFetch(exchanges),
    });
    client = new Client(CLIENT_INFO, {
      capabilities: CLIENT_CAPABILITIES,
      versionNegotiation: { mode: { pin: PROTOCOL_VERSION } },
    });
    await client.connect(transport, { timeout: 30_000 });
    session = createTaskSessionFromClient(client, {
      endpointId: 'pmcp-tasks-conformance-fixtures',
      rawDispatch: rawDispatchOver(transport),
      v2RequestFraming: {
        protocolVersion: PROTOCOL_VERSION,
        clientInfo: CLIENT_INFO,
        clientCapabilities: CLIENT_CAPABILITIES,
      },
      // The application's answers to the tasks' input requests.
      onInputRequest: async (request, context) => {
        inputs.push({ request, context });
        assert.equal(request.kind, 'elicitation');
        if (context.inputId === 'confirm') return { action: 'accept', content: { confirm: true } };
        if (context.inputId === 'name') return { action: 'accept', content: { name: 'Ada' } };
        return { action: 'decline' };
      },
      onError: (error) => libraryErrors.push(error),
    });
  });

  after(async () => {
    await session?.close();
    await client?.close();
    server?.child.kill('SIGTERM');
  });

  /** The recorded requests of `method` (about `taskId`, when given). */
  const sent = (method, taskId) =>
    exchanges
      .filter((x) => x.request.method === method)
      .filter((x) => taskId === undefined || x.request.params?.taskId === taskId);

  /** Collects the library's update stream of `execution` until its outcome. */
  async function follow(execution) {
    const statuses = [];
    let outcome;
    for await (const event of execution.updates()) {
      if (event.type === 'task') statuses.push(event.task.status);
      else outcome = event.outcome;
    }
    return { statuses, outcome };
  }

  const text = (result) => result.content.find((c) => c.type === 'text')?.text;
  const dedupe = (statuses) => statuses.filter((s, i) => s !== statuses[i - 1]);

  test('connects in the 2026-07-28 era and sees the tasks extension', () => {
    assert.equal(client.getProtocolEra(), 'modern');
    assert.deepEqual(client.getServerCapabilities().extensions?.[TASKS], {});
    assert.equal(client.getServerCapabilities().tasks, undefined, 'no legacy tasks capability');
    assert.deepEqual(session.capabilities, {
      inventory: 'known-handles',
      execution: true,
      cancellation: true,
      inputResponses: true,
      requestedRetention: false,
    });
    assert.equal(sent('server/discover').length, 1);
  });

  test('greet answers at once, without a task', async () => {
    const execution = await session.callTool('greet', { name: 'Ada' });
    assert.equal(execution.kind, 'immediate');
    const result = resultFromTaskOutcome(await execution.result());
    assert.equal(text(result), 'Hello, Ada!');
  });

  test('confirm_delete: task, input_required, answered by tasks/update, completed', async () => {
    const before = inputs.length;
    const execution = await session.callTool('confirm_delete', { filename: 'report.txt' });
    assert.equal(execution.kind, 'task');
    const { taskId } = execution.handle;
    assert.match(taskId, /\S{16,}/);

    const { statuses, outcome } = await follow(execution);
    assert.deepEqual(dedupe(statuses), ['working', 'input_required', 'completed']);
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.task?.status, 'completed');
    assert.equal(text(resultFromTaskOutcome(outcome)), 'Deleted report.txt');

    // The application was asked once, for the form the tool defined.
    const asked = inputs.slice(before);
    assert.equal(asked.length, 1);
    const [{ request, context }] = asked;
    assert.equal(request.params.message, 'Delete report.txt?');
    assert.equal(request.params.requestedSchema.properties.confirm.type, 'boolean');
    assert.deepEqual(
      { scope: context.scope, delivery: context.delivery, taskId: context.taskId, inputId: context.inputId },
      { scope: 'task', delivery: 'task-update', taskId, inputId: 'confirm' },
    );

    // On the wire: tools/call created the task, tasks/get polled it, and
    // exactly one tasks/update carried the answer under its key.
    const [create] = exchanges.filter(
      (x) => x.request.method === 'tools/call' && x.responses[0]?.result?.taskId === taskId,
    );
    assert.equal(create.request.params.name, 'confirm_delete');
    assert.equal(create.responses[0].result.resultType, 'task');
    assert.equal(create.responses[0].result.status, 'working');
    assert.ok(sent('tasks/get', taskId).length >= 2, 'polled with tasks/get');
    const updates = sent('tasks/update', taskId);
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0].request.params.inputResponses, {
      confirm: { action: 'accept', content: { confirm: true } },
    });
    assert.equal(updates[0].headers['mcp-method'], 'tasks/update');
    assert.equal(updates[0].headers['mcp-name'], taskId);
    assert.equal(updates[0].responses[0].result?.resultType, 'complete');
    const polled = sent('tasks/get', taskId).map((x) => x.responses[0].result);
    const waiting = polled.find((t) => t.status === 'input_required');
    assert.equal(waiting.inputRequests.confirm.method, 'elicitation/create');
    assert.equal(polled.at(-1).status, 'completed');
    assert.equal(text(polled.at(-1).result), 'Deleted report.txt');

    // Every task request carried the 2026-07-28 envelope with the extension.
    for (const x of [create, ...sent('tasks/get', taskId), ...updates]) {
      const meta = x.request.params._meta;
      assert.equal(meta['io.modelcontextprotocol/protocolVersion'], PROTOCOL_VERSION);
      assert.deepEqual(meta['io.modelcontextprotocol/clientCapabilities'].extensions[TASKS], {});
    }
  });

  test('multi_input: both input requests answered in one tasks/update', async () => {
    const execution = await session.callTool('multi_input', {});
    assert.equal(execution.kind, 'task');
    const { taskId } = execution.handle;
    const { outcome } = await execution.settle();
    assert.equal(text(resultFromTaskOutcome(outcome)), 'Received Ada; confirmed: true');
    const updates = sent('tasks/update', taskId);
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0].request.params.inputResponses, {
      name: { action: 'accept', content: { name: 'Ada' } },
      confirm: { action: 'accept', content: { confirm: true } },
    });
  });

  test('slow_compute: followed while working, then completed', async () => {
    const execution = await session.callTool('slow_compute', { seconds: 2, label: 'quick' });
    assert.equal(execution.kind, 'task');
    const { statuses, outcome } = await follow(execution);
    assert.deepEqual(dedupe(statuses), ['working', 'completed']);
    assert.equal(text(resultFromTaskOutcome(outcome)), "Computed 'quick' in 2 seconds");
    assert.ok(sent('tasks/get', execution.handle.taskId).length >= 2, 'polled while working');
  });

  test('slow_compute 60 s: cancelled through the library ends cancelled', async () => {
    const execution = await session.callTool('slow_compute', { seconds: 60, label: 'long' });
    assert.equal(execution.kind, 'task');
    const { taskId } = execution.handle;
    const updates = execution.updates();
    const first = await updates.next();
    assert.equal(first.value.task.status, 'working');

    await execution.cancel();
    let outcome;
    for await (const event of updates) if (event.type === 'outcome') outcome = event.outcome;
    assert.equal(outcome.status, 'cancelled');
    assert.equal(sent('tasks/cancel', taskId).length, 1);
    assert.equal(sent('tasks/cancel', taskId)[0].responses[0].result?.resultType, 'complete');

    // The library ends its local lifetime on the ack; the server's own view,
    // through the library's task controller (tasks/get), must be cancelled too.
    let view = await session.task(taskId).snapshot();
    for (let i = 0; i < 50 && view.status !== 'cancelled'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await session.task(taskId).snapshot();
    }
    assert.equal(view.status, 'cancelled');
    // And it stays cancelled: the job does not finish behind the client's back.
    await new Promise((r) => setTimeout(r, 1_200));
    assert.equal((await session.task(taskId).snapshot()).status, 'cancelled');
  });

  test('every response the server sent is valid against the 2026-07-28 schemas; the library saw no errors', () => {
    const { core, ext } = schemaValidators();
    const envelope = { result: core('JSONRPCResultResponse'), error: core('JSONRPCErrorResponse') };
    const byMethod = {
      'server/discover': () => core('DiscoverResult'),
      'tools/list': () => core('ListToolsResult'),
      'tools/call': (r) =>
        ({ task: ext('CreateTaskResult'), complete: core('CallToolResult'), input_required: core('InputRequiredResult') })[
          r.resultType
        ],
      'tasks/get': () => ext('GetTaskResult'),
      'tasks/update': () => ext('UpdateTaskResult'),
      'tasks/cancel': () => ext('CancelTaskResult'),
    };
    const callToolResult = core('CallToolResult');
    const problems = [];
    const seen = {};
    for (const { request, responses, status } of exchanges) {
      if (request.id === undefined) continue; // a notification
      const where = `${request.method} (${request.id})`;
      if (responses.length !== 1) {
        problems.push(`${where}: ${responses.length} responses, HTTP ${status}`);
        continue;
      }
      const [response] = responses;
      if (response.id !== request.id) problems.push(`${where}: answered id ${response.id}`);
      if ('error' in response) {
        problems.push(...envelope.error(response).map((p) => `${where}: ${p}`));
        continue;
      }
      problems.push(...envelope.result(response).map((p) => `${where}: ${p}`));
      const { result } = response;
      if (typeof result?.resultType !== 'string') problems.push(`${where}: no resultType`);
      const validate = byMethod[request.method]?.(result);
      if (!validate) {
        problems.push(`${where}: no schema for resultType ${result?.resultType}`);
        continue;
      }
      problems.push(...validate(result).map((p) => `${where}: ${p}`));
      if (request.method === 'tasks/get' && result.status === 'completed') {
        problems.push(...callToolResult(result.result).map((p) => `${where} result: ${p}`));
      }
      const kind = `${request.method}:${result.resultType}${result.status ? `:${result.status}` : ''}`;
      seen[kind] = (seen[kind] ?? 0) + 1;
    }
    assert.deepEqual(problems, []);
    // The run covered every shape the test is about.
    for (const kind of [
      'server/discover:complete',
      'tools/list:complete',
      'tools/call:complete',
      'tools/call:task:working',
      'tasks/get:complete:working',
      'tasks/get:complete:input_required',
      'tasks/get:complete:completed',
      'tasks/get:complete:cancelled',
      'tasks/update:complete',
      'tasks/cancel:complete',
    ]) {
      assert.ok(seen[kind] > 0, `saw ${kind}: ${JSON.stringify(seen)}`);
    }
    assert.deepEqual(libraryErrors, [], 'ext-tasks reported no errors');
    console.log(`validated ${Object.values(seen).reduce((a, b) => a + b, 0)} responses: ${JSON.stringify(seen)}`);
  });
});
