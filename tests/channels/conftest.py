"""Fixtures for the Slack and SMS channel tests: the fake APIs and sample exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from fakes.channel_samples import make_notification, make_status
from fakes.channel_stack import ChannelStack, channel_stack
from fakes.slack_api import fake_slack_fixture
from fakes.twilio_api import FakeTwilio
from temporalio.client import Client

from escalator.activities.channels import Notification
from escalator.workflows.contracts import ExceptionStatus

fake_slack = pytest.fixture(fake_slack_fixture, name="fake_slack")


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def status() -> Callable[..., ExceptionStatus]:
    return make_status


@pytest.fixture
def notification() -> Callable[..., Notification]:
    return make_notification


@pytest.fixture
async def stack(client: Client, task_queue: str) -> AsyncIterator[ChannelStack]:
    async with channel_stack(client, task_queue) as built:
        yield built
