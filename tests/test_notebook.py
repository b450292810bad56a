"""examples/quickstart.ipynb runs top to bottom on a real kernel, and is committed clean."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOK = EXAMPLES / "quickstart.ipynb"


def test_committed_notebook_has_no_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert [(cell.outputs, cell.execution_count) for cell in code] == [([], None)] * len(code)


def test_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")  # else tqdm warns on stderr that IProgress is missing
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
    # The kernel inherits this environment: offline, headless, and its temporary folders in
    # tmp_path. "python3" is the kernel spec ipykernel installs in this environment, run with
    # this interpreter (jupyter_client replaces its "python" with sys.executable).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, when a cell fails

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert [out for out in outputs if out.output_type == "error"] == []
    html = [out.data["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any('<mark class="qa-span">' in page for page in html)  # the answer's span
    assert any('<table class="qa-table">' in page for page in html)  # Passages
    assert any("<table" in page and "dataframe" in page for page in html)  # to_dataframe()
    assert any("image/png" in out.get("data", {}) for out in outputs)  # the trade-off plot
    # The notebook removes the temporary folder it made.
    assert list(tmp_path.glob("qa-quickstart-*")) == []
    # A cell's stderr would be a warning a new user sees; there is none.
    stderr = [out.text for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert stderr == []
