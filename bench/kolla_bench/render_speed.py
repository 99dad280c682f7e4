"""Rendering N templates in-process (how the plugin renders) vs one process per template (what a
render-in-a-subprocess design would pay): same template, same Jinja2, only process starts differ."""

from __future__ import annotations

import subprocess
import sys
import time

from kolla_bench.synthetic import template

CONTEXT = {"parent_image": "kolla/base:bench"}
ONE_PROCESS = (
    "import sys, jinja2; sys.stdout.write(jinja2.Template(sys.argv[1]).render(parent_image=sys.argv[2]))"
)


def importable() -> str | None:
    """Why the plugin's renderer cannot be imported here (it needs jinja2 and Pants' own modules), or
    None when it can."""
    try:
        import pants_kolla.core.jinja_render  # noqa: F401
    except ImportError as e:
        return str(e)
    return None


def in_process(n: int) -> tuple[float, list[str]]:
    # Imported here: the rest of the harness (and `run.py --help`) needs no Pants on the Python path.
    from pants_kolla.core.jinja_render import render_template

    start = time.monotonic()
    out = [
        render_template("Dockerfile.j2", {"Dockerfile.j2": template(str(i))}, CONTEXT, origin=f"s{i}")
        for i in range(n)
    ]
    return time.monotonic() - start, out


def one_process_each(n: int) -> tuple[float, list[str]]:
    start = time.monotonic()
    out = [
        subprocess.run(
            [sys.executable, "-c", ONE_PROCESS, template(str(i)), CONTEXT["parent_image"]],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for i in range(n)
    ]
    return time.monotonic() - start, out
