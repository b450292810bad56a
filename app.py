"""The web chat: ``python app.py`` serves it on http://127.0.0.1:7860.

``demo`` is built over the default index (``corpus/`` into ``index/``, or the folders named by
QA_CORPUS_DIR / QA_INDEX_DIR), which is built first when it is missing or stale. The host and
port follow GRADIO_SERVER_NAME / GRADIO_SERVER_PORT.
"""

from __future__ import annotations

import logging

from qa.web import build_demo, launch

logging.basicConfig(level=logging.INFO, format="%(message)s")

demo = build_demo()

if __name__ == "__main__":
    launch(demo)
