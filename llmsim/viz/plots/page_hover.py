"""A hover linked across the separate charts of a page: every layered view with a fixed ``time`` x domain
gets an invisible catcher (with a point selection ``hover``, ``hover1``, ...) and a rule at the
page-level instant ``page_hover`` (set by the page's script from the hover of any chart), with a clock-time
tooltip written by the axis's own label expression.

>>> x = {"field": "time", "type": "quantitative", "scale": {"domain": [0, 10]}, "axis": {"labelExpr": "datum.value"}}
>>> spec = linked_hover({"layer": [{"mark": "line", "encoding": {"x": x}}]})
>>> len(spec["layer"]), spec["params"][-1]["name"], spec["layer"][1]["params"][0]["name"]
(3, 'page_hover', 'hover')
"""

from __future__ import annotations

import copy

__all__ = ["linked_hover", "PAGE_HOVER", "HOVER", "RULE"]

#: The page-level instant (axis units) every time chart marks; null when nothing is hovered.
PAGE_HOVER = "page_hover"
#: The point selection a chart's catcher sets on hover (read by the page's script).
HOVER = "hover"
#: Each linked rule's view name starts with this (its SVG group's class: ``page_hover_rule0_marks``).
RULE = "page_hover_rule"
_STEPS = 400  # catcher positions across the domain: the nearest one snaps to the pointer
_MAX_VIEWS = 4  # layered time views per chart that get a selection (the page script listens to hover, hover1..3)


def _time_x(layer: dict) -> dict | None:
    x = layer.get("encoding", {}).get("x") if isinstance(layer.get("encoding"), dict) else None
    if isinstance(x, dict) and x.get("field") == "time" and isinstance(x.get("scale"), dict):
        return x
    return None


def _hover_layers(x: dict, domain: list, k: int) -> list[dict]:
    """The catcher (a rule every 1/400 of the domain, invisible) and the linked rule with its tooltip."""
    lo, hi = (float(v) for v in domain)
    label = str((x.get("axis") or {}).get("labelExpr") or "format(datum.value, '.2f')")
    clock = {"calculate": label.replace("datum.value", "datum.time"), "as": "clock time"}
    enc_x = {"field": "time", "type": "quantitative"}
    step = (hi - lo) / _STEPS
    sequence = {"start": lo, "stop": hi + step, "step": step, "as": "time"}
    catcher = {"name": f"hovercatch{k}", "data": {"sequence": sequence},
               "transform": [clock], "mark": {"type": "rule", "opacity": 0, "strokeWidth": 8},
               "encoding": {"x": enc_x, "tooltip": [{"field": "clock time", "type": "nominal"}]}}
    if k < _MAX_VIEWS:
        select = {"type": "point", "fields": ["time"], "nearest": True, "on": "pointerover", "clear": "pointerout"}
        catcher["params"] = [{"name": HOVER if k == 0 else f"{HOVER}{k}", "select": select}]
    rule = {"name": f"{RULE}{k}", "data": {"values": [{}]},
            "transform": [{"filter": f"isValid({PAGE_HOVER})"}, {"calculate": PAGE_HOVER, "as": "time"}, clock],
            "mark": {"type": "rule", "color": "#444", "strokeWidth": 1, "opacity": 0.8},
            "encoding": {"x": enc_x, "tooltip": [{"field": "clock time", "type": "nominal"}]}}
    return [catcher, rule]


def walk_dicts(node, visit) -> None:
    """Call ``visit`` on every dict of a Vega-Lite spec, depth first; below a dict for which it returns True,
    stop.

    >>> seen = []
    >>> walk_dicts({"a": [{"b": 1}, {"c": {"d": 2}}]}, lambda d: seen.append(sorted(d)) or "b" in d)
    >>> seen
    [['a'], ['b'], ['c'], ['d']]
    """
    if isinstance(node, list):
        for item in node:
            walk_dicts(item, visit)
    elif isinstance(node, dict) and not visit(node):
        for value in node.values():
            walk_dicts(value, visit)


def linked_hover(spec: dict) -> dict:
    """``spec`` with the hover catcher and linked rule added to each layered view on a fixed time domain
    (the ``page_hover`` parameter declared at the top); unchanged when it has none."""
    out = copy.deepcopy(spec)
    found: list[bool] = []

    def visit(node: dict) -> bool:
        layers = node.get("layer")
        if isinstance(layers, list):
            xs = [x for x in (_time_x(node), *(_time_x(la) for la in layers if isinstance(la, dict))) if x]
            domain = next((x["scale"]["domain"] for x in xs if isinstance(x["scale"].get("domain"), list)), None)
            if domain is not None and len(domain) == 2:
                layers.extend(_hover_layers(xs[0], domain, k=len(found)))
                found.append(True)
                return True
        return False

    walk_dicts(out, visit)
    if not found:
        return spec
    out["params"] = [*out.get("params", []), {"name": PAGE_HOVER, "value": None}]
    return out
