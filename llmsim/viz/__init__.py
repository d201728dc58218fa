"""Pictures and pages: Altair charts (``llmsim.viz.plots``), the offline HTML reports
(``llmsim.viz.report``), the trace inspection page and the terminal tables the CLI prints.

Nothing here runs a simulation: everything takes Results, experiment results or traces.
"""

from llmsim.viz.quick_imports import import_jsonschema_without_iri_grammars

import_jsonschema_without_iri_grammars()
