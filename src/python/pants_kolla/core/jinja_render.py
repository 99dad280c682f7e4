"""Jinja2 rendering of Dockerfile templates: pure, in-process (no process per template).

Two dialects: pants-kolla's (StrictUndefined, the trailing newline kept) and kolla-build 23.0.0's
(`KollaJinja`: a sandboxed environment, Jinja's default Undefined, Kolla's functions and filter, the
final newline dropped as Jinja does by default), so that Kolla's own templates render byte for byte.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jinja2
import jinja2.sandbox

from pants_kolla.core.errors import KollaInputError
from pants_kolla.core.template_overrides import FILTERS


class TemplateRenderError(KollaInputError):
    pass


@dataclass(frozen=True)
class KollaJinja:
    """kolla-build's environment: its globals (kolla_dialect.methods) and filters."""

    functions: Mapping[str, Callable[..., Any]]
    filters: Mapping[str, Callable[..., Any]]
    # The image template, given to overrides as the Template object `parent_template` (Kolla's way).
    parent_template: str | None = None


# Where a line of a generated template comes from: (template name, line) -> (file, line).
Locator = Callable[[str, int], "tuple[str, int]"]


def _same(name: str, line: int) -> tuple[str, int]:
    return name, line


def _template_line(error: BaseException, template_names: set[str], locate: Locator) -> str:
    """Jinja rewrites tracebacks so that template frames carry the template's name and line."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in template_names]
    if not frames:
        return ""
    path, line = locate(frames[-1].filename, frames[-1].lineno or 0)
    return f"{path}:{line}"


def make_environment(
    templates: Mapping[str, str],
    kolla: KollaJinja | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> jinja2.Environment:
    # Unlike DictLoader, report each template's name as its filename, so that errors raised while
    # rendering carry `path:line` in their traceback.
    loader = jinja2.FunctionLoader(
        lambda name: (templates[name], name, lambda: True) if name in templates else None
    )
    if kolla is None:
        env = jinja2.Environment(
            loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
        )
        env.filters.update(FILTERS)
        # Globals, not context: imported macro libraries see them without `with context`.
        env.globals.update(functions or {})
        return env
    env = jinja2.sandbox.SandboxedEnvironment(loader=loader)
    env.filters.update(kolla.filters)
    env.globals.update(kolla.functions)
    return env


def render_template(
    template_name: str,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    *,
    origin: str,
    kolla: KollaJinja | None = None,
    locate: Locator = _same,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> str:
    """Render `templates[template_name]` (others are importable by name). `origin` names the target in
    errors, which also carry the template file and line (`locate` maps generated templates' lines)."""
    env = make_environment(templates, kolla, functions)
    names = set(templates)
    try:
        values = dict(context)
        if kolla and kolla.parent_template:
            values["parent_template"] = env.get_template(kolla.parent_template)
        return env.get_template(template_name).render(values)
    except jinja2.TemplateSyntaxError as e:
        path, line = locate(e.filename or e.name or template_name, e.lineno)
        raise TemplateRenderError(
            f"{path}:{line}: Jinja syntax error in the template of {origin}: {e.message}"
        ) from None
    except jinja2.UndefinedError as e:
        where = _template_line(e, names, locate) or template_name
        raise TemplateRenderError(
            f"{where}: undefined template variable in the template of {origin}: {e.message}. "
            f"Defined: {', '.join(sorted(context))}."
        ) from None
    except jinja2.TemplateNotFound as e:
        where = _template_line(e, names, locate) or template_name
        raise TemplateRenderError(
            f"{where}: template of {origin} imports `{e.name}`, which is not a template "
            f"library file (kolla_template_library) nor the image's own template."
        ) from None
    except Exception as e:  # noqa: BLE001 - anything a template calls can raise (TypeError, raise_error...)
        where = _template_line(e, names, locate) or template_name
        raise TemplateRenderError(
            f"{where}: {type(e).__name__} while rendering the template of {origin}: {e}"
        ) from None
