"""Kolla's customization model, pure: template override files and the `customizable` filter.

An override file starts with `{% extends parent_template %}` and replaces blocks of the image template.
Overrides chain: each one extends the previous, the first extends the image template. A single context
variable cannot name a different parent per file, so each override's `extends parent_template` is
rewritten to the name of its own parent before rendering (Kolla concatenates the files instead, which
fails as soon as two of them define the same block).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import jinja2
from jinja2 import nodes

from pants_kolla.core.errors import KollaInputError

PARENT_TEMPLATE = "parent_template"
_EXTENDS_PARENT = re.compile(r"\{%-?\s*extends\s+" + PARENT_TEMPLATE + r"\s*-?%\}")


class TemplateOverrideError(KollaInputError):
    pass


@dataclass(frozen=True)
class TemplateOverride:
    path: str
    content: str
    origin: str  # where it was declared, for errors: `<BUILD>: target `x`, field `template_overrides``


def _extends_parent_template(content: str) -> bool:
    """Checked on the parsed template, so that a commented-out tag does not count; the tag itself must
    also be found by the regex that rewrites it."""
    if not _EXTENDS_PARENT.search(content):
        return False
    try:
        tree = jinja2.Environment().parse(content)
    except jinja2.TemplateSyntaxError:
        return True  # rendering reports the syntax error, with its file and line
    return any(
        isinstance(n.template, nodes.Name) and n.template.name == PARENT_TEMPLATE
        for n in tree.find_all(nodes.Extends)
    )


def chain_overrides(template_path: str, overrides: Sequence[TemplateOverride]) -> tuple[str, dict[str, str]]:
    """The template to render and the override sources, each extending its predecessor by name."""
    templates: dict[str, str] = {}
    parent = template_path
    for override in overrides:
        if not _extends_parent_template(override.content):
            raise TemplateOverrideError(
                f"{override.origin}: `{override.path}` does not `{{% extends {PARENT_TEMPLATE} %}}`. A "
                f"template override replaces blocks of the image template and must extend it."
            )
        if override.path in templates or override.path == template_path:
            raise TemplateOverrideError(f"{override.origin}: `{override.path}` is listed twice.")
        extends_parent = "{% extends " + repr(parent) + " %}"
        templates[override.path] = _EXTENDS_PARENT.sub(lambda _: extends_parent, override.content, count=1)
        parent = override.path
    return parent, templates


def _customization_names(context: Any, call_type: str) -> list[str]:
    # `context`: Jinja's template context, which reads like a mapping.
    """Most specific first: `<image>_<install type>_<call>_`, then `<image>_<call>_` (Kolla's own).
    Infra images have no install type, so only the second applies and they render the same for all."""
    image = str(context["image_name"]).replace("-", "_")
    install_type = context.get("install_type")
    prefixes = [f"{image}_{install_type}_{call_type}_"] if isinstance(install_type, str) else []
    return [*prefixes, f"{image}_{call_type}_"]


@jinja2.pass_context
def customizable(context: jinja2.runtime.Context, values: Any, call_type: str) -> Any:
    """Kolla's filter: `{{ macros.install_packages(keystone_packages | customizable("packages")) }}` lets
    an override file set `keystone_binary_packages_override` / `_append` / `_remove` (or the same
    without the install type). Returns a new list: the template's own list is left untouched."""
    if isinstance(values, jinja2.Undefined):
        return values
    result = list(values)
    for prefix in _customization_names(context, call_type):
        if prefix + "override" in context:
            return list(context[prefix + "override"])
    for prefix in reversed(_customization_names(context, call_type)):
        if prefix + "append" in context:
            result.extend(context[prefix + "append"])
        if prefix + "remove" in context:
            removed = set(context[prefix + "remove"])
            result = [v for v in result if v not in removed]
    return result


FILTERS = {"customizable": customizable}
