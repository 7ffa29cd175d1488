// A client that does not speak Tasks (the TypeScript SDK's plain callTool,
// with a short request timeout) calls a long tool of the quickstart started
// with --detach-after: the call answers at once that the job goes on, and
// the companion tools follow it to its result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { quickstartBin } from './servers.mjs';

test('a plain call of a long tool detaches, and task_status / task_result follow it', async () => {
  const client = new Client({ name: 'plain-client', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: quickstartBin, args: ['--detach-after', '1'], stderr: 'ignore' }),
    { timeout: 60_000 },
  );
  try {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const companion of ['task_status', 'task_result', 'task_cancel', 'task_answer']) {
      assert.ok(names.includes(companion), names.join(' '));
    }
    // Thirty seconds of work against a three-second client timeout.
    const started = Date.now();
    const detached = await client.callTool({ name: 'slow_job', arguments: { seconds: 30 } }, undefined, {
      timeout: 3_000,
    });
    assert.ok(Date.now() - started < 3_000, 'answered before the client gave up');
    assert.notEqual(detached.isError, true, JSON.stringify(detached));
    const { taskId } = detached.structuredContent;
    assert.match(detached.content[0].text, /still running, as background task/);

    // Followed with short calls, each well inside the client's timeout,
    // until the job is done (about 29 s from here).
    let status;
    const seen = new Set();
    for (let i = 0; i < 120; i++) {
      status = await client.callTool({ name: 'task_status', arguments: { taskId } }, undefined, { timeout: 3_000 });
      seen.add(status.structuredContent.status);
      if (status.structuredContent.status !== 'working') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(seen.has('working'), [...seen].join(' '));
    assert.equal(status.structuredContent.status, 'completed', JSON.stringify(status));
    assert.ok(Date.now() - started >= 29_000, 'the job ran its thirty seconds');
    const result = await client.callTool({ name: 'task_result', arguments: { taskId } }, undefined, { timeout: 3_000 });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.deepEqual(result.structuredContent, { seconds: 30, steps: 30 });

    // A quick call answers its result directly.
    const quick = await client.callTool({ name: 'slow_job', arguments: { seconds: 0.2 } });
    assert.deepEqual(quick.structuredContent, { seconds: 0.2, steps: 0 });
  } finally {
    await client.close();
  }
});

test('progress keeps a plain inline call alive past the client timeout', async () => {
  const client = new Client({ name: 'plain-client', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: quickstartBin, stderr: 'ignore' }), { timeout: 60_000 });
  try {
    const progress = [];
    // Four seconds of work, a 2.5 s timeout reset by every progress report.
    const result = await client.callTool({ name: 'slow_job', arguments: { seconds: 4 } }, undefined, {
      timeout: 2_500,
      resetTimeoutOnProgress: true,
      onprogress: (p) => progress.push(p),
    });
    assert.deepEqual(result.structuredContent, { seconds: 4, steps: 4 });
    assert.deepEqual(
      progress.map((p) => [p.progress, p.total, p.message]),
      [1, 2, 3, 4].map((n) => [n, 4, `step ${n} of 4`]),
    );
    // Without progress the same call outlives the client's patience (which
    // then cancels it).
    await assert.rejects(
      client.callTool({ name: 'slow_job', arguments: { seconds: 4 } }, undefined, { timeout: 2_500 }),
      /timed out/i,
    );
  } finally {
    await client.close();
  }
});
