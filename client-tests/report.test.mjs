// The report example (examples/report.rs) driven by real clients, as a user of
// such a server would: application state, checkpointed steps, progress,
// variables the client seeds, reads and writes, and an approval asked with a
// typed form, or, from a client that cannot fill in forms, through a variable.
//
// 2025-11-25: the TypeScript SDK client (v1) over stdio answers the form.
// 2026-07-28: the v2 SDK client over streamable HTTP, declaring no
// elicitation, approves by writing `approved` with tasks/update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  ProgressNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { rawDispatchOver, reportBin, startHttpServer } from './servers.mjs';

const VARIABLES = 'pmcp:variables';

test('2025-11-25: seeded variables, progress, a typed approval form, and the result', async () => {
  const client = new Client(
    { name: 'report-test', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } } },
  );
  const asked = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params);
    return { action: 'accept', content: { approve: true, note: 'ship it' } };
  });
  const progress = [];
  client.setNotificationHandler(ProgressNotificationSchema, (n) => progress.push(n.params));
  await client.connect(new StdioClientTransport({ command: reportBin, stderr: 'ignore' }), { timeout: 60_000 });
  try {
    const { task } = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'write_report',
          arguments: { topic: 'tides' },
          _meta: { progressToken: 'report-1', [VARIABLES]: { max_sources: 2, style: 'full' } },
        },
      },
      CreateTaskResultSchema,
      { task: { ttl: 600_000 } },
    );
    // tasks/result waits; the approval form is asked meanwhile.
    const result = await client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const report = result.structuredContent;
    assert.equal(report.topic, 'tides');
    assert.deepEqual(report.sources, ['Moon and tides', 'Spring tides'], 'max_sources from the client');
    assert.match(report.text, /Moon and tides: The moon's pull/, 'the full style the client chose');
    assert.equal(report.approval_note, 'ship it');

    assert.equal(asked.length, 1);
    assert.equal(asked[0].message, 'Publish the report on tides (2 sources)?');
    const form = asked[0].requestedSchema;
    assert.deepEqual(form.properties.approve, { type: 'boolean', description: 'Publish the report?' });
    assert.equal(form.properties.note.type, 'string');
    assert.deepEqual(form.required, ['approve']);

    const done = await client.experimental.tasks.getTask(task.taskId);
    assert.equal(done.status, 'completed');
    const vars = done._meta?.[VARIABLES];
    assert.equal(vars.max_sources, 2);
    assert.equal(vars.style, 'full');
    assert.equal(vars.sources_found, 2);
    assert.ok(vars.draft_words > 5, JSON.stringify(vars));

    const marks = progress.filter((p) => p.progressToken === 'report-1').map((p) => [p.progress, p.total]);
    assert.deepEqual(marks, [[0, 3], [1, 3], [2, 3], [3, 3]]);
  } finally {
    await client.close();
  }
});

test('2026-07-28: a client without forms approves by writing a variable with tasks/update', async () => {
  const server = await startHttpServer(reportBin);
  const PROTOCOL_VERSION = '2026-07-28';
  const capabilities = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
  const client = new ClientV2(
    { name: 'report-test-2026', version: '1.0.0' },
    { capabilities, versionNegotiation: { mode: { pin: PROTOCOL_VERSION } } },
  );
  const transport = new StreamableHTTPClientTransport(new URL(server.url));
  try {
    await client.connect(transport, { timeout: 30_000 });
    const dispatch = rawDispatchOver(transport);
    const meta = (extra = {}) => ({
      'io.modelcontextprotocol/protocolVersion': PROTOCOL_VERSION,
      'io.modelcontextprotocol/clientCapabilities': capabilities,
      ...extra,
    });
    const call = async (method, params) => {
      const answer = await dispatch({ method, params });
      assert.equal(answer.kind, 'result', JSON.stringify(answer));
      return answer.result;
    };
    const created = await call('tools/call', {
      name: 'write_report',
      arguments: { topic: 'bees' },
      _meta: meta({ [VARIABLES]: { style: 'brief' } }),
    });
    assert.equal(created.resultType, 'task');
    const taskId = created.taskId;
    const get = () => call('tasks/get', { taskId, _meta: meta() });

    let task = await get();
    for (let i = 0; i < 100 && task._meta?.[VARIABLES]?.awaiting !== 'approved'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      task = await get();
    }
    assert.equal(task.status, 'working', JSON.stringify(task));
    assert.equal(task._meta[VARIABLES].awaiting, 'approved', 'the body waits on the variable');
    assert.equal(task.inputRequests, undefined, 'no form for a client that cannot answer one');

    const updated = await call('tasks/update', {
      taskId,
      inputResponses: {},
      _meta: meta({ [VARIABLES]: { approved: true, approval_note: 'approved by variable' } }),
    });
    assert.equal(updated.resultType, 'complete');

    for (let i = 0; i < 100 && task.status === 'working'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      task = await get();
    }
    assert.equal(task.status, 'completed', JSON.stringify(task));
    const report = task.result.structuredContent;
    assert.deepEqual(report.sources, ['Waggle dance', 'Hive cooling']);
    assert.equal(report.text, 'Report on bees. Waggle dance; Hive cooling.');
    assert.equal(report.approval_note, 'approved by variable');
  } finally {
    await client.close();
    server.child.kill('SIGTERM');
  }
});
