"""The real web app in a subprocess, over a tiny corpus, shared by the end-to-end and browser tests.

``web_app`` (session scope) writes the corpus, starts ``python app.py`` with QA_CORPUS_DIR,
QA_INDEX_DIR, QA_FEEDBACK_FILE and GRADIO_SERVER_PORT pointing at temporary paths and a free
port, waits until it answers, and stops it at the end. The app builds its index on start.
Test modules import the fixture (``from webserver import web_app``); the process is started
once however many modules use it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Seconds to wait for the app: it loads the model and builds the index first.
START_TIMEOUT = 240.0

NAIO = """---
title: Malaysia's National AI Office
author: Jeremy Werner
---

# Launch

Malaysia has launched a National Artificial Intelligence Office as part of its strategy to become \
a leading regional hub for AI development. The office was founded in December 2024.

# Funding

In 2025, the government allocated RM10 million to NAIO. This funding supports research \
partnerships and accelerates collaboration with industry.

# Deployment

The government rolled out Google's Gemini Suite to 445,000 public officers. Kuala Lumpur \
expanded smart CCTV systems powered by AI analytics.
"""

#: A document whose text tries to run script and fetch an image; its answer holds all of it.
HOSTILE = """Zebra vault notes

The zebra vault password is <script>window.__pwned=1</script> hidden behind \
<img src=x onerror="window.__pwned=2"> and ![x](http://127.0.0.1:9/x.png) in the old barn.

Nobody else knows about the barn.
"""

#: A second topic, for follow-ups: "When was it founded?" is ambiguous on its own.
FARM = """Okapi farm

The Okapi farm belongs to Maria Lopes. The Okapi farm was founded in 1901. It grows apples.
"""

#: The corpus's question set, beside it as ``questions/default.jsonl``: the chat offers its
#: answerable questions as examples, in file order (the unanswerable first one is left out).
QUESTIONS = (
    {"id": "t-1", "question": "Who heads the Okapi farm's board?", "answers": []},
    {
        "id": "t-2",
        "question": "How much did the government allocate to NAIO in 2025?",
        "answers": ["RM10 million"],
    },
    {"id": "t-3", "question": "Who owns the Okapi farm?", "answers": ["Maria Lopes"]},
)
EXAMPLES = tuple(q["question"] for q in QUESTIONS if q["answers"])

#: The question that finds the hostile sentence, and the texts the browser must show verbatim.
HOSTILE_QUESTION = "What is the zebra vault password?"
HOSTILE_TEXTS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "![x](http://127.0.0.1:9/x.png)",
)


@dataclass(frozen=True)
class WebApp:
    """A running app: its URL and the paths it was given."""

    url: str
    corpus_dir: Path
    index_dir: Path
    feedback_file: Path
    log_file: Path


def write_corpus(folder: Path) -> Path:
    """The test corpus: a Markdown article with sections, the hostile text file, a farm; and
    its question set beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "naio.md").write_text(NAIO, encoding="utf-8")
    (folder / "zebra.txt").write_text(HOSTILE, encoding="utf-8")
    (folder / "farm.txt").write_text(FARM, encoding="utf-8")
    questions = folder.parent / "questions" / "default.jsonl"
    questions.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row) for row in QUESTIONS]
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log_file: Path, timeout: float = START_TIMEOUT
) -> None:
    """Return once the app ``process`` (logging to ``log_file``) serves ``url``; raise with the
    end of its log if it exits or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the app exited with code {process.returncode}:\n{log_file.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url + "config", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"the app did not answer at {url} within {timeout:.0f} s:\n{log_file.read_text()[-4000:]}"
    )


def wait_until_ready(
    process: subprocess.Popen[bytes], log_file: Path, timeout: float = 30.0
) -> None:
    """Return once the app ``process`` has printed its "Ready: " line to ``log_file`` (just
    after it starts answering); raise with the log if it does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line.startswith("Ready: ") for line in log_file.read_text().splitlines()):
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the app printed no Ready line:\n{log_file.read_text()[-4000:]}")


_running: tuple[WebApp, subprocess.Popen[bytes]] | None = None


def start(base: Path) -> tuple[WebApp, subprocess.Popen[bytes]]:
    """Start ``python app.py`` over a fresh corpus in ``base``; return when it answers."""
    port = free_port()
    app = WebApp(
        url=f"http://127.0.0.1:{port}/",
        corpus_dir=write_corpus(base / "corpus"),
        index_dir=base / "index",
        feedback_file=base / "feedback.jsonl",
        log_file=base / "app.log",
    )
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(app.corpus_dir),
        "QA_INDEX_DIR": str(app.index_dir),
        "QA_FEEDBACK_FILE": str(app.feedback_file),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with app.log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(app.url, process, app.log_file)
        wait_until_ready(process, app.log_file)
    except BaseException:
        stop(process)
        raise
    return app, process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the app's process group: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The running app, started on first use and stopped at the end of the session."""
    global _running
    if _running is None or _running[1].poll() is not None:
        _running = start(tmp_path_factory.mktemp("web"))
    yield _running[0]
    if _running is not None:
        stop(_running[1])
        _running = None
