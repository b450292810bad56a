"""Where the app listens: arguments, then the environment, then 127.0.0.1:7860."""

from __future__ import annotations

import pytest

from qa.web.server import server_address

# --- server address ------------------------------------------------------------------------------


def test_server_address_default_to_localhost_7860(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert server_address() == ("127.0.0.1", 7860)


def test_server_address_honour_the_environment_then_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert server_address() == ("0.0.0.0", 8123)
    assert server_address(host="localhost", port=9000) == ("localhost", 9000)


def test_server_address_reject_a_bad_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    with pytest.raises(ValueError, match="GRADIO_SERVER_PORT is 'http'"):
        server_address()
