// The shared stores the multi-instance and crash tests run on: each starts
// its engine (a real redis-server, dynalite and moto's server for DynamoDB,
// a SQLite file) and returns the quickstart's --store URL and how the
// quickstart names it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const dynaliteCli = createRequire(import.meta.url).resolve('dynalite/cli.js');
// moto[server], from deploy/requirements.txt in the venv test-all.sh makes,
// served one request at a time (see scripts/moto_server.py).
const here = path.dirname(new URL(import.meta.url).pathname);
const venvPython = path.join(here, 'python/.venv/bin/python');
const motoServer = path.join(here, '../scripts/moto_server.py');

export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  // moto's server takes a few seconds to import on a busy machine.
  for (let i = 0; i < 1200; i += 1) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Starts `command` serving on `port`; resolves once it listens. */
async function serve(command, args, port) {
  const child = spawn(command, args, { stdio: 'ignore' });
  await waitForPort(port);
  return child;
}

/**
 * Each backend: `start()` resolves to `{ url, logs, stop() }`, where `logs`
 * matches the quickstart's "tasks are kept in ..." line.
 */
export const backends = {
  SQLite: {
    async start() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmcp-tasks-store-'));
      const file = path.join(dir, 'tasks.db');
      return {
        url: `sqlite:${file}`,
        logs: /tasks are kept in SQLite file/,
        stop: () => fs.rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  Redis: {
    async start() {
      const port = await freePort();
      const child = await serve(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        port,
      );
      return { url: `redis://127.0.0.1:${port}`, logs: /tasks are kept in Redis/, stop: () => child.kill('SIGKILL') };
    },
  },
  DynamoDB: {
    async start() {
      const port = await freePort();
      const child = await serve(
        process.execPath,
        [dynaliteCli, '--port', String(port), '--host', '127.0.0.1', '--createTableMs', '0'],
        port,
      );
      return {
        url: `dynamodb://tasks?endpoint=http://127.0.0.1:${port}`,
        logs: /tasks are kept in DynamoDB table tasks at http:\/\/127\.0\.0\.1/,
        stop: () => child.kill('SIGKILL'),
      };
    },
  },
  // A second DynamoDB, with the transactions dynalite lacks.
  'DynamoDB on moto': {
    async start() {
      const port = await freePort();
      const child = await serve(venvPython, [motoServer, String(port)], port);
      return {
        url: `dynamodb://tasks?endpoint=http://127.0.0.1:${port}`,
        logs: /tasks are kept in DynamoDB table tasks at http:\/\/127\.0\.0\.1/,
        stop: () => child.kill('SIGKILL'),
      };
    },
  },
};
