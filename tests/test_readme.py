"""The README stays true: its notebook quickstart runs, and every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_notebook_quickstart_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus_dir: Path
) -> None:
    section = README.split("## Notebook quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    # Run it from a scratch folder holding what it names: my_docs/ and the question set.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "default-index"))
    monkeypatch.setattr("qa.api._default", None)
    (tmp_path / "my_docs").symlink_to(corpus_dir)
    (tmp_path / "questions").symlink_to(ROOT / "questions")
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README quickstart", "exec"), namespace)
    answer = namespace["answer"]
    assert answer.text == "In 2025, the government allocated RM10 million to NAIO."  # type: ignore[attr-defined]
    assert answer.span_text == "RM10 million"  # type: ignore[attr-defined]


def test_every_cli_command_is_documented() -> None:
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, parser in commands.items():
        assert f"qa {name}" in README, name
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in README, f"qa {name} {option}"


def test_the_readme_stays_a_front_door() -> None:
    """Short enough to read (details live in docs/), and every docs/ link it gives exists."""
    assert len(README.splitlines()) <= 250
    for target in re.findall(r"\]\(((?:docs|examples|qa)/[^)#]+)", README):
        assert (ROOT / target).exists(), target
