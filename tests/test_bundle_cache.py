"""The offline JS bundle is built once per vl-convert/Vega-Lite version and then read from the cache folder."""

from __future__ import annotations

import vl_convert as vlc

from llmsim.viz.plots import export


def _fresh(monkeypatch, folder) -> None:
    monkeypatch.setenv("LLMSIM_CACHE_DIR", str(folder))
    export.javascript_bundle.cache_clear()


def test_the_bundle_is_vl_converts_and_is_written_once(tmp_path, monkeypatch):
    _fresh(monkeypatch, tmp_path)
    bundle = export.javascript_bundle()
    assert bundle == vlc.javascript_bundle(vl_version=export.vegalite_version())
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [f"vl-bundle-{vlc.__version__}-vl{export.vegalite_version()}.js"]
    files[0].write_text("cached")  # a later process reads the file instead of building the bundle again
    export.javascript_bundle.cache_clear()
    assert export.javascript_bundle() == "cached"
    export.javascript_bundle.cache_clear()


def test_an_unwritable_cache_folder_still_gives_the_bundle(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _fresh(monkeypatch, blocker / "cache")
    assert export.javascript_bundle().startswith(vlc.javascript_bundle(vl_version=export.vegalite_version())[:200])
    assert not (blocker / "cache").exists()
    export.javascript_bundle.cache_clear()
