"""A 2026-07-28 listener from the official Python MCP SDK (`mcp` on PyPI).

The Python counterpart of `../listen.test.mjs`: `mcp.client.Client` connects
to the quickstart over stdio and over streamable HTTP, negotiates 2026-07-28
through `server/discover`, and declares the Tasks extension
`io.modelcontextprotocol/tasks` (a `ClientExtension` with a `ResultClaim` for
`resultType: "task"` and a `NotificationBinding` for `notifications/tasks`).
It starts `slow_job` as a task, opens `subscriptions/listen` with
`{"notifications": {"taskIds": [...]}}`, and checks that the acknowledgement
names only its own task, that `notifications/tasks` reach the SDK's
notification path and carry the task to `completed` with its result (each
message also checked against the vendored schemas in `../schemas`), and that
cancelling the listen leaves a healthy session that closes cleanly.

Run (after `cargo build --example quickstart`):

    python -m pip install -r client-tests/python/requirements.txt
    python -m pytest client-tests/python -q

QUICKSTART_BIN overrides the server binary.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import anyio
import mcp_types as types
import pytest
from jsonschema import Draft202012Validator
from mcp.client import (
    ClaimContext,
    Client,
    ClientExtension,
    IncomingMessage,
    NotificationBinding,
    ResultClaim,
    Transport,
)
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from pydantic import ConfigDict

REPO = Path(__file__).resolve().parents[2]
QUICKSTART_BIN = os.environ.get("QUICKSTART_BIN") or str(REPO / "target" / "debug" / "examples" / "quickstart")
SCHEMAS = REPO / "client-tests" / "schemas"

PROTOCOL_VERSION = "2026-07-28"
TASKS = "io.modelcontextprotocol/tasks"
SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"
CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
VERSION = "io.modelcontextprotocol/protocolVersion"
MISSING_CAPABILITY = -32021
CLIENT_INFO = types.Implementation(name="pmcp-tasks-python-listen-test", version="1.0.0")

WAIT = 30.0
"""Seconds any single awaited event may take before the test fails (slow_job runs 2)."""

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- the Tasks extension, as the SDK's extension surface declares it ---------


class CreatedTask(types.Result):
    """The extension's `CreateTaskResult`: a `tools/call` answered with a task."""

    model_config = ConfigDict(extra="allow")

    result_type: Literal["task"]
    task_id: str
    status: str


class TaskNotificationParams(types.NotificationParams):
    """Params of `notifications/tasks`: the task as `tasks/get` shows it."""

    model_config = ConfigDict(extra="allow")

    task_id: str
    status: str
    status_message: str | None = None
    result: dict[str, Any] | None = None


class TasksExtension(ClientExtension):
    """Declares `io.modelcontextprotocol/tasks`: claims `resultType: "task"` on
    `tools/call` and observes `notifications/tasks`."""

    identifier = TASKS

    def __init__(self, heard: list[TaskNotificationParams], changed: anyio.Event) -> None:
        self._heard = heard
        self._changed = changed

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve)]

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        return [
            NotificationBinding(method="notifications/tasks", params_type=TaskNotificationParams, handler=self._on_task)
        ]

    async def _on_task(self, params: TaskNotificationParams) -> None:
        self._heard.append(params)
        if params.status == "completed":
            self._changed.set()

    async def _resolve(self, created: CreatedTask, ctx: ClaimContext) -> types.CallToolResult:
        # Client.call_tool would resolve a claimed task here; these tests take the
        # task itself through session.call_tool(..., allow_claimed=True) instead.
        raise NotImplementedError("the tests receive the task with allow_claimed=True")


# --- the wire, as the SDK's transport streams carry it -----------------------


def _wire(item: SessionMessage) -> dict[str, Any]:
    # The same dump the stdio transport writes.
    return json.loads(item.message.model_dump_json(by_alias=True, exclude_unset=True))


class _Tap:
    """A transport stream that records every JSON-RPC message passing through it."""

    def __init__(self, inner: Any, log: list[dict[str, Any]]) -> None:
        self._inner = inner
        self._log = log

    def __getattr__(self, name: str) -> Any:  # e.g. the read stream's `last_context`
        return getattr(self._inner, name)

    async def send(self, item: SessionMessage, /) -> None:
        self._log.append(_wire(item))
        await self._inner.send(item)

    async def receive(self) -> Any:
        item = await self._inner.receive()
        if isinstance(item, SessionMessage):
            self._log.append(_wire(item))
        return item

    def __aiter__(self) -> _Tap:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Tap:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class WireLog:
    """Every message the client sent and received, through a `Transport` wrapper."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []

    @asynccontextmanager
    async def tap(self, transport: Transport) -> AsyncIterator[tuple[Any, Any]]:
        async with transport as (read_stream, write_stream):
            yield _Tap(read_stream, self.received), _Tap(write_stream, self.sent)

    def requests(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("method") == method and "id" in m]

    def response_to(self, request_id: Any) -> dict[str, Any]:
        [response] = [m for m in self.received if "method" not in m and m.get("id") == request_id]
        return response

    def notifications(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("method") == method and "id" not in m]


@cache
def _schema_validator(file: str, definition: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / file).read_text(encoding="utf-8"))
    return Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]})


def schema_errors(file: str, definition: str, value: Any) -> list[str]:
    errors = _schema_validator(file, definition).iter_errors(value)
    return [f"{definition}{e.json_path[1:]}: {e.message}" for e in errors]


# --- the quickstart, over stdio or streamable HTTP ---------------------------

URL = re.compile(r"http://[0-9.:]+/mcp")


@asynccontextmanager
async def http_quickstart() -> AsyncIterator[str]:
    """Runs `quickstart --http 127.0.0.1:0` and yields its URL once printed on stderr."""
    process = await anyio.open_process(
        [QUICKSTART_BIN, "--http", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    log = bytearray()
    printed = anyio.Event()
    assert process.stderr is not None

    async def read_stderr() -> None:
        async for chunk in process.stderr:  # drained to the end, so the server never blocks on it
            log.extend(chunk)
            if URL.search(log.decode(errors="replace")):
                printed.set()
        printed.set()  # stderr closed: the server exited

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(read_stderr)
            with anyio.fail_after(WAIT):
                await printed.wait()
            found = URL.search(log.decode(errors="replace"))
            if found is None:
                raise RuntimeError(f"the server exited before printing its URL: {log.decode(errors='replace')}")
            yield found[0]
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.terminate()
            with anyio.move_on_after(WAIT) as waited:
                await process.wait()
            if waited.cancelled_caught:
                process.kill()
                await process.wait()
            await process.aclose()


@asynccontextmanager
async def quickstart(kind: str) -> AsyncIterator[Transport]:
    """A fresh quickstart server, and the SDK transport that reaches it."""
    if not Path(QUICKSTART_BIN).is_file():
        pytest.fail(f"no quickstart binary at {QUICKSTART_BIN}: run `cargo build --example quickstart` first")
    if kind == "stdio":
        params = StdioServerParameters(command=QUICKSTART_BIN, cwd=REPO, env={"RUST_LOG": "warn"})
        yield stdio_client(params, errlog=sys.stderr)
    else:
        async with http_quickstart() as url:
            yield streamable_http_client(url)


def listen_request(task_ids: list[str]) -> types.SubscriptionsListenRequest:
    # Client.listen() takes only the four core filter keywords; the SDK's
    # SubscriptionFilter keeps extra keys (extra="allow"), which is how the
    # extension's `taskIds` gets onto the wire.
    return types.SubscriptionsListenRequest(
        params=types.SubscriptionsListenRequestParams(notifications=types.SubscriptionFilter(taskIds=task_ids))
    )


# --- the tests ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["stdio", "http"])
async def test_hears_its_own_task_to_the_end_then_ends_the_listen(kind: str) -> None:
    heard: list[TaskNotificationParams] = []
    completed = anyio.Event()
    acks: list[types.SubscriptionsAcknowledgedNotification] = []
    acked = anyio.Event()
    faults: list[Exception] = []

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            faults.append(message)
        elif isinstance(message, types.SubscriptionsAcknowledgedNotification):
            acks.append(message)
            acked.set()

    wire = WireLog()
    async with quickstart(kind) as transport:
        async with Client(
            wire.tap(transport),
            mode="auto",
            client_info=CLIENT_INFO,
            extensions=[TasksExtension(heard, completed)],
            message_handler=on_message,
        ) as client:
            # 1. 2026-07-28 through server/discover, the extension on both sides.
            assert client.protocol_version == PROTOCOL_VERSION
            assert client.session.discover_result is not None
            assert TASKS in (client.server_capabilities.extensions or {})

            # 2. slow_job answered with a task, through the extension's claim.
            created = await client.session.call_tool("slow_job", {"seconds": 2}, allow_claimed=True)
            assert isinstance(created, CreatedTask), repr(created)
            assert created.status == "working"
            task_id = created.task_id
            [call] = wire.requests("tools/call")
            call_result = wire.response_to(call["id"])["result"]
            assert call_result["resultType"] == "task"
            assert schema_errors("ext-tasks-2026-07-28-schema.json", "CreateTaskResult", call_result) == []

            # 3. subscriptions/listen for that task and one no one owns, sent
            #    through the SDK's typed send_request while notifications arrive.
            answered: list[types.SubscriptionsListenResult] = []

            async def listen() -> None:
                answered.append(
                    await client.session.send_request(
                        listen_request([task_id, "no-such-task"]), types.SubscriptionsListenResult
                    )
                )

            async with anyio.create_task_group() as tg:
                tg.start_soon(listen)
                with anyio.fail_after(WAIT):
                    await acked.wait()
                with anyio.fail_after(WAIT):
                    await completed.wait()
                # 4. the client ends the listen: cancelling the request.
                tg.cancel_scope.cancel()
            assert answered == [], "the server answers a listen only when it shuts down"

            # The acknowledgement names exactly the caller's task: the unknown id is left out.
            [listen_sent] = wire.requests("subscriptions/listen")
            listen_id = listen_sent["id"]
            assert listen_sent["params"]["notifications"] == {"taskIds": [task_id, "no-such-task"]}
            [ack] = acks
            assert ack.params.notifications.model_extra == {"taskIds": [task_id]}
            assert ack.params.notifications.model_dump(by_alias=True, exclude_none=True) == {"taskIds": [task_id]}
            assert (ack.params.meta or {}).get(SUBSCRIPTION) == listen_id
            [ack_wire] = wire.notifications("notifications/subscriptions/acknowledged")
            assert ack_wire["params"]["notifications"] == {"taskIds": [task_id]}
            core = "mcp-2026-07-28-core-schema.json"
            assert schema_errors(core, "SubscriptionsAcknowledgedNotification", ack_wire) == []

            # notifications/tasks through the SDK's notification binding, to `completed` with the result.
            statuses = [n.status for n in heard]
            assert all(n.task_id == task_id for n in heard), heard
            assert statuses[0] == "working" and statuses[-1] == "completed", statuses
            assert set(statuses) == {"working", "completed"}, statuses
            last = heard[-1]
            assert last.result is not None
            assert last.result["structuredContent"] == {"seconds": 2, "steps": 2}
            assert last.result.get("isError") in (None, False)
            assert all((n.meta or {}).get(SUBSCRIPTION) == listen_id for n in heard), heard
            tasks_wire = wire.notifications("notifications/tasks")
            assert [n["params"]["status"] for n in tasks_wire] == statuses
            for message in tasks_wire:
                assert schema_errors("ext-tasks-2026-07-28-schema.json", "TaskStatusNotification", message) == []

            # Every request declared the extension at 2026-07-28 in its _meta.
            for request in wire.requests("tools/call") + wire.requests("subscriptions/listen"):
                meta = request["params"]["_meta"]
                assert meta[VERSION] == PROTOCOL_VERSION
                assert TASKS in meta[CAPABILITIES]["extensions"]

            # Ending the listen was the SDK's cancel of that request (over HTTP
            # the transport turns it into closing the listen's response stream).
            cancels = [m for m in wire.sent if m.get("method") == "notifications/cancelled"]
            assert [c["params"]["requestId"] for c in cancels] == [listen_id]

            # The session is still healthy after the listen ended.
            tools = await client.list_tools(cache_mode="bypass")
            assert "slow_job" in {tool.name for tool in tools.tools}

    assert faults == [], faults


@pytest.mark.parametrize("kind", ["stdio", "http"])
async def test_without_the_extension_there_is_no_task_and_no_task_listen(kind: str) -> None:
    """The control: the same client, not declaring the extension."""
    wire = WireLog()
    async with quickstart(kind) as transport:
        async with Client(wire.tap(transport), mode="auto", client_info=CLIENT_INFO) as client:
            assert client.protocol_version == PROTOCOL_VERSION
            # slow_job's task support is optional: without the extension it runs in the call.
            result = await client.session.call_tool("slow_job", {"seconds": 0})
            assert isinstance(result, types.CallToolResult)
            assert result.structured_content == {"seconds": 0, "steps": 0}
            with pytest.raises(MCPError) as refused:
                with anyio.fail_after(WAIT):
                    await client.session.send_request(
                        listen_request(["no-such-task"]), types.SubscriptionsListenResult
                    )
            assert refused.value.code == MISSING_CAPABILITY
            assert refused.value.data == {"requiredCapabilities": {"extensions": {TASKS: {}}}}
            for request in wire.requests("tools/call") + wire.requests("subscriptions/listen"):
                assert TASKS not in (request["params"]["_meta"][CAPABILITIES].get("extensions") or {})
