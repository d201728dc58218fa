"""Every notebook in notebooks/ runs top to bottom (LLMSIM_QUICK=1, as CI runs them) and is stored
without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory, monkeypatch_module):
    """A kernel spec that starts this very interpreter, so the notebooks see the llmsim under test."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "llmsim-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "llmsim test", "language": "python"}))
    monkeypatch_module.setenv("JUPYTER_PATH", str(root))
    monkeypatch_module.setenv("LLMSIM_QUICK", "1")
    return "llmsim-test"


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert "01-quickstart.ipynb" in names and "02-your-load-test-is-lying.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, kernel_env, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=kernel_env, timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [o for o in outputs if any(k.startswith("application/vnd.vegalite") for k in o.get("data", {}))
              or "vegaEmbed" in o.get("data", {}).get("text/html", "")]
    assert charts, f"{path.name} draws no chart"
    # offline: no chart output asks a CDN for Vega (the bundle is embedded by enable_offline())
    htmls = [o.get("data", {}).get("text/html", "") for o in outputs]
    assert not any("cdn.jsdelivr" in h for h in htmls)
    assert sum("window.vegaEmbed=" in h for h in htmls) == 1
    _render_exported(nb, path, tmp_path)


def _render_exported(nb, path, tmp_path) -> None:
    """The notebook exported to HTML draws every chart in headless Chromium with the network cut."""
    from test_pages_render import _assert_marks, _render

    nbconvert = pytest.importorskip("nbconvert")
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    page = tmp_path / (path.stem + ".html")
    page.write_text(body, encoding="utf-8")
    dom = _render(page, "notebook-" + path.stem, tmp_path)
    counts = _assert_marks(dom, r'<div id="llmsim-chart-\d+"')
    assert counts and all(c > 0 for c in counts), counts
