from __future__ import annotations

from pathlib import Path

import pytest
from pants.engine.addresses import Address

from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.jinja_render import TemplateRenderError, render_template
from pants_kolla_tests.template_contexts import NAMING, image_context

MACROS = Path("images/macros.j2").read_text()


def context(install_type: str, name: str = "x") -> dict:
    return image_context(install_type, name)


def test_infra_context_has_no_install_type() -> None:
    ctx = context("infra")
    assert "install_type" not in ctx and "install_metatype" not in ctx
    assert ctx["image_prefix"] == "" and ctx["parent_image"] == "kolla/base:master"


def test_per_type_context_carries_install_type_and_prefix() -> None:
    ctx = context("source")
    assert ctx["install_type"] == "source" and ctx["image_prefix"] == "debian-source-"


def render_cron(template: str) -> str:
    return render_template(
        "images/cron/Dockerfile.j2",
        {"images/cron/Dockerfile.j2": template},
        context("infra"),
        origin="`images/cron`",
    )


def test_infra_template_using_install_type_fails_with_name_and_line() -> None:
    template = "FROM {{ parent_image }}\nRUN echo {{ install_type }}\n"
    with pytest.raises(TemplateRenderError) as e:
        render_cron(template)
    assert "images/cron/Dockerfile.j2:2" in str(e.value)
    assert "'install_type' is undefined" in str(e.value)


def test_syntax_error_names_template_and_line() -> None:
    template = "FROM {{ parent_image }}\n\n{% if %}\n"
    with pytest.raises(TemplateRenderError, match=r"images/cron/Dockerfile.j2:3: Jinja syntax error"):
        render_cron(template)


def test_macro_renders_envs_only_for_per_type_images() -> None:
    template = '{% import "macros.j2" as m %}FROM {{ parent_image }}\n{{ m.add_binary_source_envs(install_type, install_metatype) }}\n'
    out = render_template("t.j2", {"t.j2": template, "macros.j2": MACROS}, context("binary"), origin="t")
    assert "ENV KOLLA_INSTALL_TYPE=binary" in out and "KOLLA_INSTALL_METATYPE=debian" in out


def test_missing_import_is_named() -> None:
    with pytest.raises(TemplateRenderError, match="imports `nope.j2`"):
        render_template("t.j2", {"t.j2": '{% import "nope.j2" as m %}'}, context("infra"), origin="t")


def test_names() -> None:
    infra = ImageNode(
        address=Address("images/cron"), install_type="infra", parent_spec="images/base", image_name="cron"
    )
    binary = ImageNode(
        address=Address("images/keystone", parameters={"install_type": "binary"}),
        install_type="binary",
        parent_spec="p",
        image_name="keystone",
    )
    assert NAMING.ref(infra) == "kolla/cron:master"
    assert NAMING.ref(binary) == "kolla/debian-binary-keystone:master"


def test_type_error_names_template_line_and_target() -> None:
    template = "FROM {{ parent_image }}\nRUN echo {{ 1 + 'a' }}\n"
    with pytest.raises(TemplateRenderError) as e:
        render_cron(template)
    assert str(e.value).startswith(
        "images/cron/Dockerfile.j2:2: TypeError while rendering the template of "
        "`images/cron`: unsupported operand"
    )


def test_missing_include_names_the_line_that_includes_it() -> None:
    with pytest.raises(TemplateRenderError, match=r"^t.j2:2: template of t imports `nope.j2`"):
        render_template("t.j2", {"t.j2": 'FROM x\n{% include "nope.j2" %}'}, context("infra"), origin="t")
