"""Jinja2 rendering of Dockerfile templates: pure, in-process (no process per template)."""

from __future__ import annotations

import traceback
from typing import Any, Mapping

import jinja2

from pants_kolla.overrides import FILTERS


class TemplateRenderError(Exception):
    pass


def _template_line(error: BaseException, template_names: set[str]) -> str:
    """Jinja rewrites tracebacks so that template frames carry the template's name and line."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in template_names]
    if not frames:
        return ""
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno}"


def make_environment(templates: Mapping[str, str]) -> jinja2.Environment:
    env = jinja2.Environment(
        # Unlike DictLoader, report each template's name as its filename, so that errors raised while
        # rendering carry `path:line` in their traceback.
        loader=jinja2.FunctionLoader(
            lambda name: (templates[name], name, lambda: True) if name in templates else None
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env


def render_template(
    template_name: str,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    *,
    origin: str,
) -> str:
    """Render `templates[template_name]` (others are importable by name). `origin` names the target in
    errors, which also carry the template file and line."""
    env = make_environment(templates)
    try:
        return env.get_template(template_name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateRenderError(
            f"{e.filename or e.name or template_name}:{e.lineno}: Jinja syntax error in the template of "
            f"{origin}: {e.message}"
        ) from None
    except jinja2.UndefinedError as e:
        line = _template_line(e, set(templates)) or template_name
        raise TemplateRenderError(
            f"{line}: undefined template variable in the template of {origin}: {e.message}. "
            f"Defined: {', '.join(sorted(context))}."
        ) from None
    except jinja2.TemplateNotFound as e:
        raise TemplateRenderError(
            f"{template_name}: template of {origin} imports `{e.name}`, which is not a template "
            f"library file (kolla_template_library) nor the image's own template."
        ) from None
