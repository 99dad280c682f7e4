"""Template overrides, users and naming options through the render rule (RuleRunner, no engine)."""

from __future__ import annotations

import pytest
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla_tests.kolla_rule_runner import IMAGES, kolla_rule_runner, render, write_images_tree

KEYSTONE_BUILD = """kolla_image(
    install_type=parametrize("binary", "source"),
    parent="images/keystone-base",
    template_overrides=["vim.j2"],
)
"""
VIM_OVERRIDE = """{% extends parent_template %}
{% block keystone_footer %}RUN echo footer{% endblock %}
"""
# keystone-base installs keystone itself: Debian's packages (binary, a customizable list) or the PEX (source).
KEYSTONE_BASE_BUILD_FILE = IMAGES / "keystone-base" / "BUILD"
VIM_BASE_OVERRIDE = """{% extends parent_template %}
{% set keystone_base_binary_packages_append = ["vim"] %}
{% block keystone_base_footer %}RUN echo footer{% endblock %}
"""


def keystone_base_build() -> str:
    """The real keystone-base BUILD (its PEX included), with a template override on the image."""
    text = KEYSTONE_BASE_BUILD_FILE.read_text()
    needle = 'dependencies=[":keystone-pex"],'
    assert text.count(needle) == 1
    return text.replace(needle, needle + '\n    template_overrides=["vim.j2"],')


@pytest.fixture
def rule_runner() -> RuleRunner:
    runner = kolla_rule_runner(QueryRule(RenderedDockerfile, [RenderDockerfileRequest]))
    write_images_tree(runner)
    return runner


def test_target_override_applies_to_its_image(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "images/keystone-base/BUILD": keystone_base_build(),
            "images/keystone-base/vim.j2": VIM_BASE_OVERRIDE,
        }
    )
    binary = render(rule_runner, "images/keystone-base", "binary")
    source = render(rule_runner, "images/keystone-base", "source")
    assert "install -y --no-install-recommends python3-keystone vim \\" in binary
    assert "COPY keystone.pex /tmp/keystone.pex" in source and "vim" not in source  # binary-only list
    assert binary.rstrip().endswith("RUN echo footer") and source.rstrip().endswith("RUN echo footer")
    assert "RUN echo footer" not in render(rule_runner, "images/keystone", "binary")  # not its children
    assert "RUN echo footer" not in render(rule_runner, "images/cron")


def test_global_override_applies_below_target_overrides(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "overrides/all.j2": (
                "{% extends parent_template %}"
                "{% block keystone_footer %}RUN echo global{% endblock %}"
                "{% block keystone_base_footer %}RUN echo global{% endblock %}"
                "{% block cron_footer %}RUN echo cron{% endblock %}"
                '{% set cron_packages_remove = ["cron"] %}{% set cron_packages_append = ["anacron"] %}'
            ),
            "images/keystone/BUILD": KEYSTONE_BUILD,
            "images/keystone/vim.j2": VIM_OVERRIDE,
        }
    )
    rule_runner.set_options(["--kolla-template-overrides=['overrides/all.j2']"])
    assert render(rule_runner, "images/cron").rstrip().endswith("RUN echo cron")
    assert "--no-install-recommends anacron \\" in render(rule_runner, "images/cron")
    assert render(rule_runner, "images/keystone", "binary").rstrip().endswith("RUN echo footer")
    assert render(rule_runner, "images/keystone-base", "source").rstrip().endswith("RUN echo global")


def expect_error(
    rule_runner: RuleRunner, spec_path: str, *needles: str, install_type: str | None = None
) -> None:
    with pytest.raises(ExecutionError) as e:
        render(rule_runner, spec_path, install_type)
    for needle in needles:
        assert needle in str(e.value)


def test_target_override_extending_nothing_names_file_target_and_field(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "images/keystone/BUILD": KEYSTONE_BUILD,
            "images/keystone/vim.j2": "{% block keystone_footer %}RUN x{% endblock %}\n",
        }
    )
    expect_error(
        rule_runner,
        "images/keystone",
        "images/keystone/BUILD: target `images/keystone@install_type=source`, field `template_overrides`",
        "`images/keystone/vim.j2` does not `{% extends parent_template %}`",
        install_type="source",
    )


def test_global_override_extending_nothing_names_option_and_target(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"overrides/all.j2": "RUN x\n"})
    rule_runner.set_options(["--kolla-template-overrides=['overrides/all.j2']"])
    expect_error(
        rule_runner,
        "images/cron",
        "`[kolla].template_overrides` (rendering `images/cron`)",
        "`overrides/all.j2` does not `{% extends parent_template %}`",
    )


def test_missing_override_file_is_named(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"images/keystone/BUILD": KEYSTONE_BUILD})
    expect_error(
        rule_runner,
        "images/keystone",
        "images/keystone/BUILD: target `images/keystone@install_type=binary`, field "
        "`template_overrides`: `images/keystone/vim.j2` does not exist",
        install_type="binary",
    )


def test_users_option_reaches_templates(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "images/cron/Dockerfile.j2": (
                "FROM {{ parent_image }}\nRUN groupadd -g {{ users.keystone.gid }} keystone "
                "&& useradd -u {{ users.keystone.uid }} keystone && echo {{ users.nova.uid }}\n"
            )
        }
    )
    rule_runner.set_options(['--kolla-users=+{"nova": {"uid": 1, "gid": 2}}'])
    assert "RUN groupadd -g 42425 keystone && useradd -u 42425 keystone && echo 1" in render(
        rule_runner, "images/cron"
    )


def test_malformed_users_option_is_named(rule_runner: RuleRunner) -> None:
    rule_runner.set_options(['--kolla-users={"nova": {"uid": "x"}}'])
    expect_error(rule_runner, "images/cron", "`[kolla].users`: user `nova` must be")


def test_infra_naming_reaches_parent_image_and_registry_does_not(rule_runner: RuleRunner) -> None:
    # The registry is where `publish` pushes: it must not change what is built (cache keys).
    rule_runner.set_options(["--kolla-registry=reg:5000", "--no-kolla-rename-infra-images"])
    assert "FROM kolla/debian-infra-base:master" in render(rule_runner, "images/cron")
    assert "FROM kolla/debian-infra-base:master" in render(rule_runner, "images/openstack-base", "binary")
