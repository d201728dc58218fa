"""The provider catalogue: every figure sourced and dated, every preset a valid provider, presets usable in a
scenario with overrides, one-line errors, and ``llmsim providers``."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml
from typer.testing import CliRunner

from llmsim.cli import app
from llmsim.config.loading import load_scenario
from llmsim.config.provider import Provider
from llmsim.config.provider_catalogue import catalogue, default_name, expand_provider, preset_figures, preset_names
from llmsim.core.errors import ScenarioError

#: keys of a preset that are names and prose, not figures
_DESCRIPTIVE = {"provider", "model", "about"}


def _source_problems(sources: dict) -> list[str]:
    """Sources without a place or an ISO read date."""
    problems = []
    for sid, src in sources.items():
        if not str(src.get("where", "")).strip():
            problems.append(f"source {sid}: no 'where'")
        try:
            dt.date.fromisoformat(str(src.get("read", "")))
        except ValueError:
            problems.append(f"source {sid}: 'read' is not a date")
    return problems


def _figure_problems(node, path: str, sources: dict) -> list[str]:
    """Scalars outside a figure, figures without a known source, assumptions without a note."""
    if isinstance(node, dict) and "value" in node:
        if node.get("source") not in sources:
            return [f"{path}: source {node.get('source')!r} is not in sources"]
        if node.get("source") == "assumption" and not str(node.get("note", "")).strip():
            return [f"{path}: an assumption needs a note saying what was assumed"]
        return []
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _figure_problems(v, f"{path}.{k}", sources)]
    return [f"{path}: a bare figure {node!r} with no source or date"]


def unsourced(cat: dict) -> list[str]:
    """Every problem with the catalogue's sourcing (empty: every figure names a dated source)."""
    problems = _source_problems(cat["sources"])
    for name, entry in cat["presets"].items():
        for key, node in entry.items():
            if key not in _DESCRIPTIVE:
                problems += _figure_problems(node, f"{name}.{key}", cat["sources"])
    return problems


def test_every_figure_names_its_source_and_date():
    assert unsourced(catalogue()) == []


@pytest.mark.parametrize("damage", [
    lambda c: c["presets"]["openai/gpt-4o"]["pricing"].__setitem__("input_per_mtok", 2.5),  # bare number
    lambda c: c["presets"]["openai/gpt-4o"]["pricing"]["input_per_mtok"].pop("source"),
    lambda c: c["sources"]["ref-pricing"].pop("read"),
    lambda c: c["presets"]["openai/gpt-4o"]["capacity_slots"].pop("note"),  # an assumption without its why
])
def test_the_sourcing_check_catches_a_figure_without_source_or_date(damage):
    cat = copy.deepcopy(catalogue())
    damage(cat)
    assert unsourced(cat)


def test_the_acceptance_providers_are_all_there():
    providers = {catalogue()["presets"][n]["provider"] for n in preset_names()}
    assert {"anthropic", "openai", "azure-openai", "aws-bedrock", "google-vertex"} <= providers


def _usable(name: str) -> list[dict]:
    """Every way a preset can be used without a user figure: each tier, or (no tiers) with user limits."""
    tiers = catalogue()["presets"][name].get("tiers")
    if tiers:
        return [{"preset": name, "tier": t} for t in tiers]
    return [{"preset": name}, {"preset": name, "rate_limits": {"tpm": 100000}}]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_a_valid_provider_carrying_its_figures(name):
    entry = catalogue()["presets"][name]
    for spec in _usable(name):
        p = Provider.model_validate(spec)
        assert p.name == default_name(name) and p.model == entry["model"]
        for key in ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok"):
            if key in entry.get("pricing", {}):
                assert getattr(p.pricing, key) == entry["pricing"][key]["value"]
        if "tier" in spec:
            for key, fig in entry["tiers"][spec["tier"]].items():
                assert getattr(p.rate_limits, key) == fig["value"]


def test_a_preset_in_a_scenario_with_overrides_merged_over_it():
    sc = load_scenario({
        "horizon": "1h", "workload": {"arrivals": {"rate": "1/s"}},
        "providers": [{"preset": "anthropic/claude-sonnet-4.5", "tier": 2, "name": "primary",
                       "latency": {"tokens_per_s": 40}, "rate_limits": {"rpm": 10}}]})
    p = sc.provider("primary")
    assert p.latency.tokens_per_s == 40 and p.latency.ttft.median == 0.941  # the rest of latency kept
    assert (p.rate_limits.rpm, p.rate_limits.itpm, p.rate_limits.otpm) == (10, 450000, 90000)
    # the expanded scenario survives a dump and a dotted override (what sweeps do)
    assert sc.with_overrides({"providers.primary.rate_limits.otpm": 5}).provider("primary").rate_limits.otpm == 5


def test_bedrock_limits_the_user_gives_get_the_presets_burn_and_azure_its_rpm_rule():
    bedrock = Provider.model_validate({"preset": "aws-bedrock/claude-sonnet-4.5", "rate_limits": {"tpm": 200000}})
    assert bedrock.rate_limits.output_burn == 5 and bedrock.rate_limits.tpm == 200000
    azure = Provider.model_validate({"preset": "azure-openai/gpt-4o", "rate_limits": {"tpm": 450000}})
    assert azure.rate_limits.rpm == 450000 * 6 / 1000
    own = Provider.model_validate({"preset": "azure-openai/gpt-4o", "rate_limits": {"tpm": 450000, "rpm": 7}})
    assert own.rate_limits.rpm == 7


@pytest.mark.parametrize("spec, message", [
    ({"preset": "anthropic/claude-sonet-4.5", "tier": 2}, "did you mean anthropic/claude-sonnet-4.5?"),
    ({"preset": "openai/gpt-4o"}, "preset openai/gpt-4o has usage tiers 1, 2, 3, 4, 5: give tier"),
    ({"preset": "openai/gpt-4o", "tier": 9}, "has no usage tier 9"),
])
def test_a_bad_preset_is_one_line_naming_the_provider(spec, message):
    with pytest.raises(ScenarioError) as exc:
        load_scenario({"horizon": "1h", "workload": {"arrivals": {"rate": "1/s"}}, "providers": [spec]})
    text = str(exc.value)
    assert text.startswith("providers[0]") and message in text and "\n" not in text


def test_a_preset_without_a_name_is_addressable_by_dotted_overrides():
    sc = load_scenario({"horizon": "1h", "workload": {"arrivals": {"rate": "1/s"}},
                        "providers": [{"preset": "google-vertex/gemini-2.5-flash"}]})
    assert sc.providers[0].name == "google-vertex-gemini-2-5-flash"
    changed = sc.with_overrides({"providers.google-vertex-gemini-2-5-flash.capacity.slots": 7})
    assert changed.providers[0].capacity.slots == 7


def test_a_non_preset_provider_is_left_alone():
    data = {"name": "p", "capacity": {"slots": 3}}
    assert expand_provider(data) is data


def test_the_packaged_file_is_plain_yaml_data():
    from importlib import resources  # deferred: only this test reads the file itself
    text = resources.files("llmsim.config").joinpath("provider_catalogue.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == catalogue()


runner = CliRunner()


def test_providers_lists_every_preset():
    r = runner.invoke(app, ["providers"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    for name in preset_names():
        assert name in r.output


def test_providers_search_shows_each_figure_with_source_and_date():
    r = runner.invoke(app, ["providers", "gpt-4o-mini"], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "openai/gpt-4o-mini" in r.output and "openai/gpt-4o " not in r.output
    read = catalogue()["sources"]["ref-pricing"]["read"]
    assert "pricing.input_per_mtok" in r.output and str(read) in r.output


def test_providers_search_without_a_match_is_one_line_exit_2():
    r = runner.invoke(app, ["providers", "no-such-model"])
    assert r.exit_code == 2 and "no provider preset matches" in r.output


def test_providers_summary_fits_80_columns_without_cropping():
    r = runner.invoke(app, ["providers"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(map(len, lines)) <= 80
    # not a terminal here: ASCII, and the fitting console may drop the outer edge to fit
    table = [ln for ln in lines if "|" in ln]
    assert table and all(ln.count("|") == 2 for ln in table)  # every row keeps all three columns
    for name in preset_names():
        assert any(name in ln for ln in table)  # whole names, never folded
    assert "2.5/1.25/10" in r.output  # the prices column is whole too (openai/gpt-4o)


def test_a_preset_fills_in_the_published_figures_of_the_classes_an_entry_lists():
    plain = Provider.model_validate({"preset": "openai/gpt-4o", "tier": 4, "name": "p"})
    assert plain.service_classes is None  # classes are opt-in even where the catalogue knows them
    listed = Provider.model_validate({"preset": "openai/gpt-4o", "tier": 4, "name": "p",
                                      "service_classes": {"priority": {"ramp": None}}})
    figures = dict(preset_figures("openai/gpt-4o"))
    # the published priority prices over the standard ones: $4.25 / $17 against $2.50 / $10
    assert listed.service_classes.priority.price_factor == figures["classes.priority.price_factor"]["value"]
    assert 4.25 / 2.50 == pytest.approx(listed.service_classes.priority.price_factor)
    assert 17.0 / listed.pricing.output_per_mtok == pytest.approx(listed.service_classes.priority.price_factor)
    assert listed.service_classes.priority.min_tokens_per_s == 80 and listed.service_classes.priority.ramp is None
    mine = Provider.model_validate({"preset": "openai/gpt-5", "name": "p",
                                    "service_classes": {"flex": {"price_factor": 0.4}}})
    assert mine.service_classes.flex.price_factor == 0.4 and mine.service_classes.priority is None
