"""The storm benchmark's worker: `escalator worker` as production wires it (records in the
SQL store, console channel, the tuned pollers and cache), with the workflows unsandboxed.

The sandbox costs ~7.5 ms CPU per workflow activation against ~2 ms (docs/benchmarks.md),
and a 5,000-member storm is tens of thousands of activations on a shared 2-core machine.
The bench replays the storm and a member through the sandbox at the end, so a
determinism error still shows; `--sandboxed` runs the real `escalator worker` instead.
"""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import UnsandboxedWorkflowRunner

from escalator.settings import get_settings
from escalator.worker.main import build_worker, connect, production_wiring


async def main() -> None:
    settings = get_settings()
    client = await connect(settings)
    worker = build_worker(
        client,
        settings.temporal_task_queue,
        production_wiring(settings),
        max_cached_workflows=settings.worker_cache,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        print("storm bench worker ready (unsandboxed)", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
