"""papermill support for the `runbook` kernel.

papermill writes an injected-parameters cell using a *translator* chosen by kernel
name or language. This package registers one for the kernel `runbook` and the
language `rhai`. Its cell is a `%%values` cell: one `name: <JSON>` line per value.
The kernel parses each value as JSON and validates it against the notebook's
`%%parameters` declarations, so a value is always data, never code.
"""

import json
import re

from papermill.engines import NBClientEngine
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

__all__ = ["RunbookTranslator", "RunbookEngine"]


class RunbookTranslator(Translator):
    @classmethod
    def translate(cls, val):
        # JSON for every type: the kernel reads nothing else.
        return json.dumps(val, ensure_ascii=False, allow_nan=False)

    @classmethod
    def comment(cls, cmt_str):
        return f"// {cmt_str}".strip()

    @classmethod
    def assign(cls, name, str_val):
        return f"{name}: {str_val}"

    @classmethod
    def codify(cls, parameters, comment="Parameters"):
        lines = ["%%values", cls.comment(comment)]
        for name, val in parameters.items():
            lines.append(cls.assign(name, cls.translate(val)))
        return "\n".join(lines) + "\n"

    _DECL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")

    @classmethod
    def inspect(cls, parameters_cell):
        """Parameters for `papermill --help-notebook`, read from a `%%parameters` cell."""
        params = []
        source = parameters_cell.source if hasattr(parameters_cell, "source") else str(parameters_cell)
        for line in source.splitlines()[1:]:
            m = cls._DECL.match(line)
            if not m:
                continue
            name, spec = m.groups()
            ty = re.search(r'type\s*:\s*"([^"]*)"', spec)
            # The default is written `value:` (`default` is a Rhai keyword) or `"default":`.
            default = re.search(r'(?<![\w"])"?(?:value|default)"?\s*:\s*("(?:[^"\\]|\\.)*"|[^,}]+)', spec)
            desc = re.search(r'description\s*:\s*"((?:[^"\\]|\\.)*)"', spec)
            params.append(
                Parameter(
                    name=name,
                    inferred_type_name=ty.group(1) if ty else "None",
                    default=default.group(1).strip() if default else "(required)",
                    help=desc.group(1) if desc else "",
                )
            )
        return params


class RunbookEngine(NBClientEngine):
    """The standard nbclient engine; registered so papermill imports this module."""


papermill_translators.register("runbook", RunbookTranslator)
papermill_translators.register("rhai", RunbookTranslator)
