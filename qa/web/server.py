"""Where and how the app is served: the address, and ``launch`` / ``serve``.

The app binds to 127.0.0.1:7860 unless told otherwise (the arguments, else
``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``), and never makes a share link.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from qa.web.layout import CSS, build_demo, theme

if TYPE_CHECKING:
    import gradio as gr

#: Where the app listens unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def server_address(*, host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to listen: the arguments, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else
    127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    if port is None:
        env_port = os.environ.get("GRADIO_SERVER_PORT")
        try:
            port = int(env_port) if env_port else DEFAULT_PORT
        except ValueError:
            raise ValueError(
                f"GRADIO_SERVER_PORT is {env_port!r}, not a port number; set it to e.g. 7860"
            ) from None
    return host, port


def launch(demo: gr.Blocks, *, host: str | None = None, port: int | None = None) -> None:
    """Serve ``demo`` (from ``build_demo``) at ``server_address(host=, port=)`` with its
    stylesheet and theme, without a share link, until interrupted."""
    server_name, server_port = server_address(host=host, port=port)
    demo.launch(
        server_name=server_name, server_port=server_port, share=False, css=CSS, theme=theme()
    )


def serve(*, host: str | None = None, port: int | None = None) -> None:
    """Build the app over the default index and serve it until interrupted."""
    launch(build_demo(), host=host, port=port)
