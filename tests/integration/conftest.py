"""A real local node (anvil from npm) per test, for CLI integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _anvil import start_anvil


@pytest.fixture
def anvil_url() -> Iterator[str]:
    process, url = start_anvil()
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
