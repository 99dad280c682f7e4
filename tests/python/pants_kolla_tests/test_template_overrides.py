"""Template overrides and the `customizable` filter, pure (no engine, no rules)."""

from __future__ import annotations

import pytest

from pants_kolla.core.jinja_render import render_template
from pants_kolla.core.template_overrides import TemplateOverride, TemplateOverrideError, chain_overrides
from pants_kolla_tests.template_contexts import image_context

IMAGE = "images/nova-api/Dockerfile.j2"
TEMPLATE = """FROM {{ parent_image }}
{% block nova_api_header %}{% endblock %}
{% set nova_api_packages = ["a", "b", "c"] -%}
RUN install {{ nova_api_packages | customizable("packages") | join(" ") }}
{% block nova_api_footer %}{% endblock %}
"""


def context(install_type: str) -> dict:
    return image_context(install_type, "nova-api")


def override(content: str, path: str = "overrides/o.j2") -> TemplateOverride:
    return TemplateOverride(
        path, content, "images/nova-api/BUILD: target `images/nova-api`, field `template_overrides`"
    )


def render(install_type: str, *overrides: TemplateOverride) -> str:
    entry, templates = chain_overrides(IMAGE, overrides)
    return render_template(entry, {IMAGE: TEMPLATE, **templates}, context(install_type), origin="t")


def install_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("RUN install"))


def test_without_overrides_the_template_list_is_used() -> None:
    assert install_line(render("infra")) == "RUN install a b c"


def test_block_override_replaces_the_block_only() -> None:
    out = render(
        "binary", override("{% extends parent_template %}{% block nova_api_footer %}RUN footer{% endblock %}")
    )
    assert out.splitlines()[-1] == "RUN footer" and install_line(out) == "RUN install a b c"


@pytest.mark.parametrize(
    "sets, install_type, expected",
    [
        ('{% set nova_api_packages_append = ["d"] %}', "infra", "RUN install a b c d"),
        ('{% set nova_api_packages_remove = ["b"] %}', "infra", "RUN install a c"),
        ('{% set nova_api_packages_override = ["x"] %}', "source", "RUN install x"),
        # The install-type-specific list applies to its type only, and wins over the generic one.
        ('{% set nova_api_binary_packages_append = ["bin"] %}', "source", "RUN install a b c"),
        ('{% set nova_api_binary_packages_append = ["bin"] %}', "binary", "RUN install a b c bin"),
        (
            '{% set nova_api_packages_override = ["x"] %}{% set nova_api_binary_packages_override = ["y"] %}',
            "binary",
            "RUN install y",
        ),
        (
            '{% set nova_api_packages_append = ["g"] %}{% set nova_api_binary_packages_remove = ["g", "a"] %}',
            "binary",
            "RUN install b c",
        ),
    ],
)
def test_customizable_lists(sets: str, install_type: str, expected: str) -> None:
    assert install_line(render(install_type, override("{% extends parent_template %}" + sets))) == expected


def test_overrides_chain_in_order_later_ones_win() -> None:
    first = override(
        "{% extends parent_template %}{% block nova_api_footer %}RUN first{% endblock %}"
        "{% block nova_api_header %}RUN header{% endblock %}",
        "o1.j2",
    )
    second = override(
        "{%- extends parent_template -%}\n{% block nova_api_footer %}RUN second{% endblock %}", "o2.j2"
    )
    out = render("infra", first, second)
    assert "RUN header" in out and out.splitlines()[-1] == "RUN second" and "RUN first" not in out


def test_override_that_does_not_extend_parent_template_is_named() -> None:
    with pytest.raises(TemplateOverrideError) as e:
        render("infra", override("{% block nova_api_footer %}RUN x{% endblock %}"))
    message = str(e.value)
    assert "images/nova-api/BUILD: target `images/nova-api`, field `template_overrides`" in message
    assert "`overrides/o.j2` does not `{% extends parent_template %}`" in message


def test_override_extending_another_template_is_rejected() -> None:
    with pytest.raises(TemplateOverrideError, match="does not `{% extends parent_template %}`"):
        render("infra", override('{% extends "images/base/Dockerfile.j2" %}'))


def test_customizable_leaves_the_template_list_alone() -> None:
    """Kolla's filter extends the list in place, so a list used twice would grow twice."""
    template = (
        '{% set l = ["a"] %}{{ l | customizable("packages") | join(",") }} '
        '{{ l | customizable("packages") | join(",") }}'
    )
    entry, templates = chain_overrides(
        "t.j2", [override('{% extends parent_template %}{% set nova_api_packages_append = ["z"] %}')]
    )
    out = render_template(entry, {"t.j2": template, **templates}, context("infra"), origin="t")
    assert out == "a,z a,z"


def test_override_listed_twice_is_named() -> None:
    """Once in `[kolla].template_overrides` and once on the target, say: it would extend itself."""
    twice = override("{% extends parent_template %}")
    with pytest.raises(TemplateOverrideError, match="`overrides/o.j2` is listed twice"):
        render("infra", twice, twice)
