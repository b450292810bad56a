"""The web chat: ``python app.py`` serves it on http://127.0.0.1:7860.

``demo`` is built over the default index (``corpus/`` into ``index/``, or the folders named by
QA_CORPUS_DIR / QA_INDEX_DIR), which is built first when it is missing or stale. The host and
port follow GRADIO_SERVER_NAME / GRADIO_SERVER_PORT. Like ``qa serve``, it prints one line once
the chat answers: ``Ready: http://127.0.0.1:7860 (1 document, 12 passages)``.
"""

from __future__ import annotations

from qa import load_index
from qa.cli import print_ready, setup_logging
from qa.web import build_demo, launch

setup_logging()

index = load_index()
demo = build_demo(index)


if __name__ == "__main__":
    launch(demo, on_ready=lambda url: print_ready(url, index))
