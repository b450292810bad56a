"""Where and how the app is served: the address, and ``launch`` / ``serve``.

The app binds to 127.0.0.1:7860 unless told otherwise (the arguments, else
``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``), and never makes a share link. Serving prints
nothing (Gradio's own start-up lines are turned off): the caller learns the URL through
``on_ready`` and says what it likes (``qa serve`` and ``app.py`` print one "Ready" line).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from qa.web.layout import CSS, build_demo, theme

if TYPE_CHECKING:
    import gradio as gr

    from qa.index import Index

logger = logging.getLogger(__name__)

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


def launch(
    demo: gr.Blocks,
    *,
    host: str | None = None,
    port: int | None = None,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Serve ``demo`` (from ``build_demo``) at ``server_address(host=, port=)`` with its
    stylesheet and theme, without a share link, until interrupted (Ctrl-C).

    Gradio prints nothing; once the server answers, ``on_ready`` is called with its URL
    (``http://127.0.0.1:7860``, the address and port actually bound).
    """
    server_name, server_port = server_address(host=host, port=port)
    demo.launch(
        server_name=server_name,
        server_port=server_port,
        share=False,
        css=CSS,
        theme=theme(),
        quiet=True,
        prevent_thread_lock=True,
    )
    url = str(demo.local_url).rstrip("/")
    logger.info("Serving the app at %s", url)
    try:
        if on_ready is not None:
            on_ready(url)
        while demo.is_running:
            time.sleep(0.1)
    except KeyboardInterrupt:
        logger.info("Interrupted: closing the server at %s", url)
    finally:
        demo.close(verbose=False)


def serve(
    *,
    host: str | None = None,
    port: int | None = None,
    on_ready: Callable[[str, Index], object] | None = None,
) -> None:
    """Build the app over the default index (``qa.load_index()``, built first when missing or
    stale) and serve it until interrupted; once it answers, ``on_ready`` is called with its URL
    and the index it answers from."""
    from qa import load_index

    index = load_index()
    ready = None if on_ready is None else (lambda url: on_ready(url, index))
    launch(build_demo(index), host=host, port=port, on_ready=ready)
