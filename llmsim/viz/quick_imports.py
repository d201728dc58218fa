"""Import jsonschema (which Altair validates charts with) without compiling the IRI grammars it never uses.

jsonschema imports ``rfc3987_syntax``, when installed (Jupyter installs it), only to check the ``iri``
string format; that module compiles about 35 Lark grammars at import time: about 1.3 s of CPU in every
process that draws a chart (python-jsonschema/jsonschema#1428). Altair's chart schemas use no ``iri``
format, so llmsim imports jsonschema with that module hidden: the ``iri`` check is then absent from
jsonschema's format checker in this process, and ``import rfc3987_syntax`` itself still works afterwards.
Nothing happens when jsonschema was imported before llmsim.viz.

>>> import sys
>>> import_jsonschema_without_iri_grammars()
>>> "jsonschema" in sys.modules and sys.modules.get("rfc3987_syntax", "gone") is not None
True
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["import_jsonschema_without_iri_grammars"]

_SLOW = "rfc3987_syntax"


def import_jsonschema_without_iri_grammars() -> None:
    """Import jsonschema with ``rfc3987_syntax`` hidden, once; a no-op if jsonschema is already imported."""
    if "jsonschema" in sys.modules or _SLOW in sys.modules:
        return
    sys.modules[_SLOW] = None  # an import of a None entry raises ImportError, which jsonschema tolerates
    try:
        importlib.import_module("jsonschema")
    except ImportError:  # no jsonschema: Altair will say so itself when it is imported
        pass
    finally:
        if _SLOW in sys.modules and sys.modules[_SLOW] is None:
            del sys.modules[_SLOW]
