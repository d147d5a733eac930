"""Small helpers to build notebooks for tests and to run `runbook run`."""

import json
import os
import subprocess

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from support import runbook_bin


def make_notebook(path, cells, params=None):
    """cells: list of code sources (str) or ("md", text) or (source, [tags])."""
    nb_cells = []
    if params:
        nb_cells.append(new_code_cell("%%parameters\n" + params, metadata={"tags": ["parameters"]}))
    for c in cells:
        if isinstance(c, tuple) and c[0] == "md":
            nb_cells.append(new_markdown_cell(c[1]))
        elif isinstance(c, tuple):
            nb_cells.append(new_code_cell(c[0], metadata={"tags": c[1]}))
        else:
            nb_cells.append(new_code_cell(c))
    nb = new_notebook(cells=nb_cells, metadata={"kernelspec": {"name": "runbook", "display_name": "Runbook (Rhai)", "language": "rhai"}})
    nbformat.write(nb, str(path))
    return path


def runbook(*args, env=None, timeout=120):
    return subprocess.run([str(runbook_bin()), *map(str, args)], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=timeout)


def results(nb):
    """{cell index: text/plain of its execute_result}"""
    out = {}
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o["output_type"] == "execute_result":
                out[i] = o["data"]["text/plain"]
    return out


def audit(run_id=None, *extra):
    args = ["audit", "--json", *extra]
    if run_id:
        args += ["--run", run_id]
    r = runbook(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
