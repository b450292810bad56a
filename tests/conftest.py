"""Shared fixtures: the real bundled model, a small corpus in every format, a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pdfmaker import write_pdf

import qa
from qa.embedding import Encoder, get_encoder

ROOT = Path(__file__).resolve().parents[1]
SQUAD_DIR = ROOT.parent / "shared" / "data" / "squad"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2, loaded once."""
    return get_encoder()


def write_corpus(folder: Path) -> Path:
    """A corpus with one document of each format the loader reads."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "volcanoes.txt").write_text(
        "Volcanoes of Iceland\n\n"
        "Iceland has about 130 volcanic mountains. Hekla erupted in the year 2000.\n\n"
        "Eruptions\n\n"
        "Dr. Sigrun Jonsdottir of the U.S. Geological Survey studied the 2010 eruption of "
        "Eyjafjallajokull, which closed European airspace for six days.\n",
        encoding="utf-8",
    )
    (folder / "coffee.md").write_text(
        "---\ntitle: A Short History of Coffee\nauthor: Ana Ruiz\ndate: 2021-03-04\n---\n\n"
        "# Origins\n\nCoffee was first brewed in Yemen in the 15th century.\n\n"
        "# Trade\n\nThe Dutch grew coffee in Java from 1696. Brazil exported "
        "$16.06 billion of coffee in 2023, more than any other country.\n",
        encoding="utf-8",
    )
    (folder / "tides.html").write_text(
        "<html><head><title>How Tides Work</title><style>p{color:red}</style>"
        "<script>var secret = 'do not index';</script></head><body>"
        "<nav>Home | About | Menu item</nav><h1>How Tides Work</h1>"
        "<p>Tides are caused mainly by the gravity of the Moon.</p>"
        "<h2>Spring tides</h2><p>Spring tides happen when the Sun and Moon align, "
        "twice a month.</p><footer>Copyright footer text</footer></body></html>",
        encoding="utf-8",
    )
    write_pdf(
        folder / "glaciers.pdf",
        [
            ["Glacier Report", "Glaciers cover about ten percent of the land on Earth."],
            ["Melting", "The Aletsch Glacier is the largest glacier in the Alps."],
        ],
        title="Glacier Report",
    )
    records = [
        {"id": "bees-1", "title": "Honey Bees", "text": "A honey bee colony has one queen.",
         "metadata": {"topic": "insects"}},
        {"id": "owls-1", "title": "Owls", "text": "Owls can rotate their heads 270 degrees."},
    ]  # fmt: skip
    (folder / "animals.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    """A real index of the small corpus, built once for the session."""
    return qa.build_index(corpus_dir, tmp_path_factory.mktemp("index"), show_progress=False)
