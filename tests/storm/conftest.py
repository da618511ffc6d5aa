"""Fixtures of the storm tests; the harness itself is in storm_helpers.py."""

from __future__ import annotations

import pytest
from storm_helpers import storm_harness_fixture

storm_harness = pytest.fixture(storm_harness_fixture)
