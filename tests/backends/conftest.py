"""Fixtures for the backend tests: a recording Vertex AI fake, no credentials."""

from __future__ import annotations

from collections.abc import Iterator

import google.auth
import pytest

from tests.backends.fakes import FakeVertex


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any look-up of application-default credentials.

    The backends must reach the fakes with no credentials at all; a look-up
    would probe the metadata server, which these tests never contact.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test looked up application-default credentials")

    monkeypatch.setattr(google.auth, "default", refuse)


@pytest.fixture
def vertex_fake() -> Iterator[FakeVertex]:
    """A recording Vertex AI server on a free 127.0.0.1 port, stopped after."""
    fake = FakeVertex().start()
    try:
        yield fake
    finally:
        fake.stop()
