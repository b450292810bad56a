"""Where the app listens (arguments, then the environment, then 127.0.0.1:7860), and how
``launch`` serves: quietly, telling ``on_ready`` the URL, until interrupted."""

from __future__ import annotations

from typing import Any, cast

import pytest

from qa.web.server import launch, server_address

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


# --- launch: quiet, then on_ready, then blocking until interrupted --------------------------------


class FakeDemo:
    """Stands for a ``gr.Blocks``: records how it was launched and closed."""

    def __init__(self) -> None:
        self.launched: dict[str, Any] = {}
        self.closed: list[bool] = []
        self.is_running = False
        self.local_url = ""

    def launch(self, **options: Any) -> None:
        self.launched = options
        self.is_running = True
        self.local_url = f"http://{options['server_name']}:{options['server_port']}/"

    def close(self, verbose: bool = True) -> None:
        self.closed.append(verbose)
        self.is_running = False


def test_launch_is_quiet_and_tells_on_ready_the_url() -> None:
    demo = FakeDemo()
    seen: list[str] = []

    def ready(url: str) -> None:
        seen.append(url)
        demo.is_running = False  # the server stops: launch returns

    launch(cast(Any, demo), host="127.0.0.1", port=7861, on_ready=ready)
    assert seen == ["http://127.0.0.1:7861"]
    options = {k: demo.launched[k] for k in ("share", "quiet", "prevent_thread_lock")}
    assert options == {"share": False, "quiet": True, "prevent_thread_lock": True}
    assert demo.closed == [False]  # closed without Gradio's "Closing server" line


def test_launch_closes_quietly_on_ctrl_c() -> None:
    demo = FakeDemo()

    def interrupt(url: str) -> None:
        raise KeyboardInterrupt

    launch(cast(Any, demo), host="127.0.0.1", port=7862, on_ready=interrupt)
    assert demo.closed == [False]
