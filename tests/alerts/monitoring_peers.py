"""Debian's Prometheus and Alertmanager, started on loopback ports for one test, and a
tiny exporter whose one gauge the test sets.

Short intervals everywhere (scrape and evaluation every second, Alertmanager's group wait
and interval one second, Prometheus resending to Alertmanager every second) so an alert
goes from breach to the receiver, and back to resolved, within seconds.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

__all__ = [
    "ALERTMANAGER",
    "PROMETHEUS",
    "Exporter",
    "Peers",
    "exporter",
    "free_port",
    "need_binaries",
    "peers",
]

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def need_binaries() -> None:
    """Skip (a failure under CI=true: the `monitoring` marker) without Debian's packages."""
    for path in (PROMETHEUS, ALERTMANAGER):
        if not Path(path).exists() and shutil.which(Path(path).name) is None:
            pytest.skip(f"{path} is missing: apt-get install prometheus prometheus-alertmanager")


def _binary(path: str) -> str:
    return path if Path(path).exists() else str(shutil.which(Path(path).name))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Exporter:
    url: str
    value: float = 1.0


@asynccontextmanager
async def exporter() -> AsyncIterator[Exporter]:
    """``/metrics`` with ``escalator_test_orders_waiting``; set ``.value`` to change it."""
    app = web.Application()
    state = Exporter(url="")

    async def metrics(request: web.Request) -> web.Response:
        text = (
            "# HELP escalator_test_orders_waiting Orders waiting for inventory.\n"
            "# TYPE escalator_test_orders_waiting gauge\n"
            f"escalator_test_orders_waiting {state.value}\n"
        )
        return web.Response(text=text, content_type="text/plain")

    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()


@dataclass
class Peers:
    prometheus: str  # base URL
    alertmanager: str
    logs: Path

    async def query(self, http: aiohttp.ClientSession, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/query?query={urllib.parse.quote(expr)}"
        async with http.get(url) as resp:
            body = json.loads(await resp.text())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:]
            for f in sorted(self.logs.glob("*.log"))
        )


@asynccontextmanager
async def peers(
    tmp: Path,
    *,
    exporter_target: str,
    receiver: str,
    token: str,
    labels: dict[str, str],
    escalator_target: str | None = None,
) -> AsyncIterator[Peers]:
    """Alertmanager posting to ``receiver``/alerts/alertmanager with the bearer ``token``;
    Prometheus scraping the exporter (and escalator's /metrics), alerting when the
    exporter's gauge is above 0, with ``labels`` on the alert."""
    am_port, prom_port = free_port(), free_port()
    am_dir, prom_dir = tmp / "alertmanager", tmp / "prometheus"
    am_dir.mkdir()
    prom_dir.mkdir()
    (am_dir / "alertmanager.yml").write_text(
        json.dumps(
            {
                "route": {
                    "receiver": "escalator",
                    "group_by": ["alertname"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {
                        "name": "escalator",
                        "webhook_configs": [
                            {
                                "url": f"{receiver}/alerts/alertmanager",
                                "send_resolved": True,
                                "http_config": {
                                    "authorization": {"type": "Bearer", "credentials": token}
                                },
                            }
                        ],
                    }
                ],
            }
        )
    )
    (prom_dir / "rules.yml").write_text(
        json.dumps(
            {
                "groups": [
                    {
                        "name": "orders",
                        "interval": "1s",
                        "rules": [
                            {
                                "alert": "StockStuck",
                                "expr": "escalator_test_orders_waiting > 0",
                                "labels": labels,
                                "annotations": {
                                    "summary": "{{ $value }} orders wait for inventory"
                                },
                            }
                        ],
                    }
                ]
            }
        )
    )
    scrape = [{"job_name": "exporter", "static_configs": [{"targets": [exporter_target]}]}]
    if escalator_target:
        scrape.append(
            {"job_name": "escalator", "static_configs": [{"targets": [escalator_target]}]}
        )
    (prom_dir / "prometheus.yml").write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(prom_dir / "rules.yml")],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
                },
                "scrape_configs": scrape,
            }
        )
    )
    procs: list[subprocess.Popen[bytes]] = []
    found = Peers(
        prometheus=f"http://127.0.0.1:{prom_port}",
        alertmanager=f"http://127.0.0.1:{am_port}",
        logs=tmp,
    )
    try:
        procs.append(
            _spawn(
                tmp / "alertmanager.log",
                [
                    _binary(ALERTMANAGER),
                    f"--config.file={am_dir / 'alertmanager.yml'}",
                    f"--storage.path={am_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",  # no gossip port: one instance
                    "--log.level=debug",
                ],
            )
        )
        procs.append(
            _spawn(
                tmp / "prometheus.log",
                [
                    _binary(PROMETHEUS),
                    f"--config.file={prom_dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={prom_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    f"--web.external-url=http://127.0.0.1:{prom_port}",
                    "--rules.alert.resend-delay=1s",
                ],
            )
        )
        async with aiohttp.ClientSession() as http:
            for base in (found.alertmanager, found.prometheus):
                await _ready(http, f"{base}/-/ready", procs, found)
        yield found
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _spawn(log: Path, cmd: list[str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


async def _ready(
    http: aiohttp.ClientSession, url: str, procs: list[subprocess.Popen[bytes]], found: Peers
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise AssertionError(f"a monitoring peer exited:\n{found.log_tail()}")
        try:
            async with http.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} not ready within 30 s:\n{found.log_tail()}")
