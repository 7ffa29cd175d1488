"""Chaos run: N tasks on two quickstart instances sharing a Redis with an
append-only file; then one instance is killed with SIGKILL and Redis too,
and Redis is restarted a few seconds later. Prints what became of every
task. Needs redis-server and a built quickstart (scripts/chaos.sh builds it).

    python3 scripts/chaos.py --tasks 20 --quickstart target/debug/examples/quickstart
"""

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

V2026 = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": V2026,
    "io.modelcontextprotocol/clientCapabilities": {
        "extensions": {"io.modelcontextprotocol/tasks": {}}
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def rpc(port: int, method: str, params: dict) -> dict:
    params = dict(params, _meta=META)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=body.encode(),
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}")
    except OSError as e:
        return {"error": {"code": None, "message": str(e)}}


def redis(port: int, directory: str) -> subprocess.Popen:
    child = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
         "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    return child


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--quickstart", required=True)
    parser.add_argument("--outage", type=float, default=5.0, help="seconds Redis is down")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="pmcp-tasks-chaos-")
    redis_port = free_port()
    store = None
    instances = []
    try:
        return run(args, directory, redis_port, instances, lambda s: None)
    finally:
        for _, child in instances:
            child.kill()
        shutil.rmtree(directory, ignore_errors=True)


def run(args, directory, redis_port, instances, _unused) -> int:
    store = redis(redis_port, directory)
    for _ in range(2):
        port = free_port()
        child = subprocess.Popen(
            [args.quickstart, "--http", f"127.0.0.1:{port}", "--store",
             f"redis://127.0.0.1:{redis_port}", "--lease", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, RUST_LOG="warn"),
        )
        wait_port(port)
        instances.append((port, child))
    (a_port, a), (b_port, b) = instances
    try:
        # Finished before the chaos.
        done_before = []
        for _ in range(args.tasks // 2):
            created = rpc(a_port, "tools/call", {"name": "slow_job", "arguments": {"seconds": 0}})
            done_before.append(created["result"]["taskId"])
        # Running during it: half resumable, half not, on both instances.
        running = {}
        for n in range(args.tasks):
            port = (a_port, b_port)[n % 2]
            tool, arguments = (
                ("resumable_job", {"steps": 8}) if n % 4 < 2 else ("slow_job", {"seconds": 4})
            )
            created = rpc(port, "tools/call", {"name": tool, "arguments": arguments})
            running[created["result"]["taskId"]] = (tool, "A" if port == a_port else "B")
        time.sleep(1)
        a.send_signal(signal.SIGKILL)
        store.send_signal(signal.SIGKILL)
        store.wait()
        during = rpc(b_port, "tasks/get", {"taskId": done_before[0]})
        time.sleep(args.outage)
        store = redis(redis_port, directory)

        deadline = time.time() + 90
        while True:
            states = {i: rpc(b_port, "tasks/get", {"taskId": i}).get("result") for i in running}
            if all(s and s["status"] in ("completed", "failed", "cancelled") for s in states.values()):
                break
            if time.time() > deadline:
                break
            time.sleep(0.5)
        kept = [rpc(b_port, "tasks/get", {"taskId": i}).get("result", {}).get("status")
                for i in done_before]

        counts = collections.Counter()
        for task_id, (tool, where) in running.items():
            state = states[task_id]
            status = state["status"] if state else "missing"
            if status == "failed":
                status += ": " + (state.get("statusMessage") or "")[:48]
            counts[(tool, where, status)] += 1
        print(f"chaos: {args.tasks} tasks running on instances A and B, Redis (AOF) down "
              f"{args.outage:.0f} s, instance A killed with SIGKILL")
        print(f"during the outage, tasks/get answered: {during.get('error', during.get('result'))}")
        print(f"finished before the chaos: {len(kept)}, still completed after: "
              f"{kept.count('completed')}")
        print("tool            instance  count  status")
        for (tool, where, status), count in sorted(counts.items()):
            print(f"{tool:<15} {where:<9} {count:<6} {status}")
        # Lost: a task gone or left unfinished, or one that failed although
        # its instance lived (only the killed instance's plain tasks may fail).
        lost = sum(
            c for (tool, where, s), c in counts.items()
            if not s.startswith("completed")
            and not (where == "A" and tool == "slow_job" and s.startswith("failed"))
        )
        print(f"lost: {lost}")
        clear = during.get("error", {}).get("code") == -32006
        if not clear:
            print("the outage was not answered with -32006")
        return 0 if lost == 0 and clear and kept.count("completed") == len(kept) else 1
    finally:
        store.kill()


if __name__ == "__main__":
    sys.exit(main())
