// The MCP Inspector's CLI (npm @modelcontextprotocol/inspector) drives the
// quickstart over stdio as a user would from a shell. It declares no
// elicitation capability and only polls tasks/get: a tool that asks the user
// a question must fail at once saying why, not leave the CLI waiting for the
// task's TTL. A tool that asks nothing runs to its result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { quickstartBin, startHttpServer } from './servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// Installed apart from the other clients: see inspector/package.json.
const inspector = path.join(here, 'inspector', 'node_modules', '.bin', 'mcp-inspector');

/** Runs the Inspector CLI against the quickstart; resolves with its exit code and output. */
function inspect(args, timeoutMs = 60_000, target = quickstartBin) {
  return new Promise((resolve, reject) => {
    const child = spawn(inspector, ['--cli', target, '--method', 'tools/call', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the Inspector CLI did not finish within ${timeoutMs} ms; stdout: ${stdout}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('a question to a client without elicitation fails at once, saying why', async () => {
  const started = Date.now();
  const { code, stdout, stderr } = await inspect(['--tool-name', 'greet_user']);
  assert.notEqual(code, 0, stdout);
  // The CLI prints the failure as JSON on stderr, after the server's own log.
  assert.match(stderr, /"message":"the client cannot answer the question 'name': it declared no elicitation capability/);
  // Well before the task's one-hour TTL (and the 60 s guard above).
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

test('a task that asks nothing runs to its result', async () => {
  const { code, stdout } = await inspect(['--tool-name', 'slow_job', '--tool-arg', 'seconds=1']);
  assert.equal(code, 0, stdout);
  const answer = JSON.parse(stdout);
  assert.equal(answer.structuredContent.seconds, 1, stdout);
  assert.notEqual(answer.isError, true, stdout);
});

test('a long job detaches from the CLI call, and a later CLI call fetches its result', async () => {
  // Over HTTP, so the job outlives the first CLI process; one trusted user
  // owns the tasks across the CLI's sessions.
  const server = await startHttpServer(quickstartBin, ['--detach-after', '1', '--shared-owner', 'cli-user']);
  try {
    const first = await inspect(['--tool-name', 'slow_job', '--tool-arg', 'seconds=3'], 60_000, server.url);
    assert.equal(first.code, 0, first.stderr);
    const detached = JSON.parse(first.stdout);
    assert.match(detached.content[0].text, /still running, as background task/);
    const { taskId } = detached.structuredContent;
    let result;
    for (let i = 0; i < 20; i++) {
      const later = await inspect(['--tool-name', 'task_result', '--tool-arg', `taskId=${taskId}`], 60_000, server.url);
      assert.equal(later.code, 0, later.stderr);
      result = JSON.parse(later.stdout);
      if (!/has not finished yet/.test(result.content[0].text)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(result.structuredContent, { seconds: 3, steps: 3 });
  } finally {
    server.child.kill('SIGTERM');
  }
});
