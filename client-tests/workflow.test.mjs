// The workflow prompt of examples/workflow.rs through the TypeScript SDK, on
// two instances sharing one Redis: prompts/get on A runs the server's steps
// and hands off; the client continues on B by calling the next step's tool
// with the task in _meta; B records it, runs the last step and completes the
// task, which A then reports. A failing client step fails the task.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectHttp, startHttpServer, workflowBin } from './servers.mjs';
import { backends } from './stores.mjs';

const RELATED = 'io.modelcontextprotocol/related-task';
const HANDOFF = 'pmcp-tasks/workflow';

const connect = (url) => connectHttp(url, 'workflow-test');

describe('a workflow prompt run as a task across two instances', () => {
  const children = [];
  let store;
  let a;
  let b;
  let pidA;
  let pidB;

  before(async () => {
    store = await backends.Redis.start();
    const start = async () => {
      // Each anonymous HTTP session owns its own tasks by default; one
      // client on two instances has two sessions, so it opts into one
      // shared owner (a real deployment authenticates instead).
      const instance = await startHttpServer(workflowBin, ['--store', store.url, '--shared-owner', 'demo']);
      children.push(instance.child);
      return instance;
    };
    const instanceA = await start();
    const instanceB = await start();
    pidA = instanceA.child.pid;
    pidB = instanceB.child.pid;
    a = await connect(instanceA.url);
    b = await connect(instanceB.url);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    for (const child of children) child.kill('SIGTERM');
    store?.stop();
  });

  test('prompts/list shows the workflow with its arguments', async () => {
    const { prompts } = await a.listPrompts();
    const trip = prompts.find((p) => p.name === 'trip');
    assert.deepEqual(trip.arguments, [{ name: 'city', description: 'the city to visit', required: true }]);
  });

  test('the server runs its steps, the client continues on B, the task completes', async () => {
    const prompt = await a.getPrompt({ name: 'trip', arguments: { city: 'Oslo' } });
    const handoff = prompt._meta[HANDOFF];
    const taskId = handoff.taskId;
    assert.equal(prompt._meta[RELATED].taskId, taskId);
    assert.deepEqual(
      handoff.steps.map((s) => [s.name, s.status]),
      [['locate', 'completed'], ['weather', 'completed'], ['book', 'pending'], ['plan', 'pending']],
    );
    assert.equal(handoff.next.tool, 'book_hotel');
    assert.deepEqual(handoff.next.arguments, { city: 'Oslo' });
    assert.deepEqual(handoff.next.reason, {
      type: 'schemaMismatch', step: 'book', tool: 'book_hotel', missingFields: ['budget'],
    });
    assert.match(prompt.messages.at(-1).content.text, /Next is step 'book'/);
    const working = await b.experimental.tasks.getTask(taskId);
    assert.equal(working.status, 'working');

    // The client supplies the budget and calls the step's tool on the other instance.
    const call = handoff.next.call.params;
    const booked = await b.callTool(
      { ...call, arguments: { ...call.arguments, budget: 120 } },
      CallToolResultSchema,
    );
    assert.equal(booked.structuredContent.hotel, 'Hotel Oslo');
    assert.equal(booked._meta[HANDOFF].status, 'completed');

    const done = await a.experimental.tasks.getTask(taskId);
    assert.equal(done.status, 'completed');
    const summary = await a.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    const steps = summary.structuredContent.steps;
    assert.deepEqual(steps.map((s) => s.name), ['locate', 'weather', 'book', 'plan']);
    assert.equal(steps[0].output.pid, pidA, 'A located the city');
    assert.equal(steps[2].output.pid, pidB, 'B booked');
    assert.equal(steps[3].output.pid, pidB, 'B wrote the plan, reading A\'s output from the task');
    assert.equal(steps[3].output.text, 'Stay at Hotel Oslo; expect mild and dry in Oslo.');
  });

  test('a failing client step fails the task with its error', async () => {
    const prompt = await a.getPrompt({ name: 'trip', arguments: { city: 'Lyon' } });
    const { taskId, next } = prompt._meta[HANDOFF];
    const failed = await b.callTool(
      { ...next.call.params, arguments: { city: 'Lyon', budget: 10 } },
      CallToolResultSchema,
    );
    assert.equal(failed.isError, true);
    const task = await a.experimental.tasks.getTask(taskId);
    assert.equal(task.status, 'failed');
    assert.match(task.statusMessage, /workflow step 'book' failed: no hotel in Lyon under 10 a night/);
  });

  test('a cancelled workflow refuses its next step', async () => {
    const prompt = await a.getPrompt({ name: 'trip', arguments: { city: 'Paris' } });
    const { taskId, next } = prompt._meta[HANDOFF];
    const cancelled = await b.experimental.tasks.cancelTask(taskId);
    assert.equal(cancelled.status, 'cancelled');
    await assert.rejects(
      a.callTool({ ...next.call.params, arguments: { city: 'Paris', budget: 100 } }, CallToolResultSchema),
      /already cancelled/,
    );
  });
});
