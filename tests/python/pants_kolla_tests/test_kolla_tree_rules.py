"""A small Kolla-shaped tree through the real rules (RuleRunner, no engine): tailor's BUILD files for a
nested tree, the kolla dialect set by `__defaults__`, kolla-build's tag shape, errors naming the target."""

from __future__ import annotations

import pytest
from pants.core.goals.tailor import PutativeTargets
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla.goals.tailor import PutativeKollaImagesRequest
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla_tests.kolla_rule_runner import kolla_rule_runner, render

TREE = {
    "kolla/macros.j2": "{% macro kolla_patch_sources() %}{% if patches_path %}COPY patches /patches{% endif %}{% endmacro %}\n",
    "kolla/base/Dockerfile.j2": (
        'FROM {{ base_image }}:{{ base_distro_tag }}\nLABEL kolla_version="{{ kolla_version }}"\n'
        "COPY curlrc /root/.curlrc\nCOPY apt_preferences.{{ base_distro }} /etc/apt/preferences\n"
    ),
    "kolla/base/curlrc": "",
    "kolla/base/apt_preferences.debian": "",
    "kolla/base/apt_preferences.ubuntu": "",
    "kolla/keystone/keystone-base/Dockerfile.j2": (
        "FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\n"
        '{% import "macros.j2" as macros with context %}\n{{ macros.kolla_patch_sources() }}\n'
        "COPY plugins-archive /plugins\n"
    ),
    "kolla/keystone/keystone/Dockerfile.j2": (
        "FROM {{ namespace }}/{{ image_prefix }}keystone-base:{{ tag }}\n"
        '{% import "macros.j2" as macros with context %}\n{{ macros.kolla_patch_sources() }}\n'
        "USER {{ users.keystone.uid }}\n"
    ),
}


@pytest.fixture
def rule_runner() -> RuleRunner:
    runner = kolla_rule_runner(
        QueryRule(PutativeTargets, [PutativeKollaImagesRequest]),
        QueryRule(RenderedDockerfile, [RenderDockerfileRequest]),
    )
    runner.write_files(TREE)
    return runner


def tailor(rule_runner: RuleRunner) -> dict[str, str]:
    dirs = (
        "kolla",
        "kolla/base",
        "kolla/keystone",
        "kolla/keystone/keystone-base",
        "kolla/keystone/keystone",
    )
    putative = rule_runner.request(PutativeTargets, [PutativeKollaImagesRequest(dirs)])
    builds: dict[str, str] = {}
    for p in sorted(putative):
        builds[f"{p.path}/BUILD"] = builds.get(f"{p.path}/BUILD", "") + p.generate_build_file_stanza("    ")
    return builds


def test_tailor_writes_a_kolla_tree_that_renders_without_edits(rule_runner: RuleRunner) -> None:
    builds = tailor(rule_runner)
    assert 'parent="kolla/keystone/keystone-base"' in builds["kolla/keystone/keystone/BUILD"]
    assert 'parent="kolla/base"' in builds["kolla/keystone/keystone-base/BUILD"]
    assert 'dialect="kolla"' in builds["kolla/keystone/keystone/BUILD"]
    base = builds["kolla/base/BUILD"]
    assert 'debian_rootfs(\n    name="rootfs",\n    suite="trixie"' in base and 'parent=":rootfs"' in base
    # What the template COPYs and the tree has (a Jinja expression as a glob); not plugins-archive,
    # which kolla-build makes at build time.
    assert '"curlrc",\n        "apt_preferences.*",' in base and 'dependencies=[\n        ":context",' in base
    assert "files(" not in builds["kolla/keystone/keystone-base/BUILD"]
    assert (
        'kolla_template_library(\n    name="templates",\n    sources=[\n        "macros.j2",'
        in builds["kolla/BUILD"]
    )
    rule_runner.write_files(builds)

    assert render(rule_runner, "kolla/keystone/keystone").startswith(
        "FROM kolla/keystone-base:2026.2-debian-trixie\n\n\nUSER 42425"
    )
    assert render(rule_runner, "kolla/base").startswith(
        'FROM kolla/debian-trixie-rootfs:master\nLABEL kolla_version="23.0.0"'
    )
    rule_runner.set_options(["--kolla-tag=t1", "--kolla-patches-path=p"])
    assert "FROM kolla/base:t1\n\nCOPY patches /patches" in render(
        rule_runner, "kolla/keystone/keystone-base"
    )


def test_defaults_set_the_dialect_and_errors_name_the_target(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "kolla/BUILD": '__defaults__({kolla_image: dict(dialect="kolla")})\nkolla_template_library(name="templates")\n',
            "kolla/base/BUILD": 'debian_rootfs(name="rootfs", suite="trixie")\nkolla_image(install_type="infra", parent=":rootfs")\n',
            "kolla/keystone/keystone-base/BUILD": 'kolla_image(install_type="infra", parent="kolla/base")\n',
            "kolla/keystone/keystone/BUILD": 'kolla_image(install_type="infra", parent="kolla/keystone/keystone-base")\n',
        }
    )
    assert render(rule_runner, "kolla/keystone/keystone").endswith("USER 42425")  # Kolla's users, no newline
    rule_runner.write_files(
        {"kolla/keystone/keystone/Dockerfile.j2": "FROM x\n{{ handle_repos('x', 'y') }}\n"}
    )
    with pytest.raises(ExecutionError) as e:
        render(rule_runner, "kolla/keystone/keystone")
    assert (
        "kolla/keystone/keystone/Dockerfile.j2:2: TypeError while rendering the template of "
        "`kolla/keystone/keystone`: First argument should be a list of repositories"
    ) in str(e.value)


def test_libraries_resolve_per_tree_and_two_files_of_one_name_are_an_error(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **tailor(rule_runner),
            # A second tree in the same repo, with a macros.j2 of its own.
            "other/BUILD": 'kolla_template_library(name="templates")\n',
            "other/macros.j2": "{% macro kolla_patch_sources() %}OTHER{% endmacro %}\n",
            "other/cron/BUILD": 'kolla_image(install_type="infra", parent="kolla/base", dialect="kolla")\n',
            "other/cron/Dockerfile.j2": '{% import "macros.j2" as macros with context %}FROM x\n{{ macros.kolla_patch_sources() }}\n',
        }
    )
    assert render(rule_runner, "other/cron") == "FROM x\nOTHER"
    assert "OTHER" not in render(rule_runner, "kolla/keystone/keystone")
    rule_runner.write_files(
        {
            "other/cron/BUILD": 'kolla_image(install_type="infra", parent="kolla/base", dialect="kolla", '
            'dependencies=["kolla:templates", "other:templates"])\n',
        }
    )
    with pytest.raises(ExecutionError) as e:
        render(rule_runner, "other/cron")
    assert (
        "other/cron/BUILD: target `other/cron`, field `dependencies`: two template library files are named "
        "`macros.j2`: `kolla/macros.j2` (target `kolla:templates`) and `other/macros.j2` (target "
        "`other:templates`)"
    ) in str(e.value)
    rule_runner.write_files(
        {
            "other/cron/BUILD": 'kolla_image(install_type="infra", parent="kolla/base", dialect="kolla", '
            'dependencies=["kolla:templates"])\n',
        }
    )
    assert render(rule_runner, "other/cron") == "FROM x\n"  # the explicit library, not the nearest


def test_repos_yaml_option_is_an_input_of_the_render(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **tailor(rule_runner),
            "kolla/keystone/keystone/Dockerfile.j2": "FROM x\n{{ handle_repos(['grafana'], 'enable') }}\n",
            "site/repos.yaml": "deb:\n  grafana:\n    url: http://mirror.example/grafana\n    suite: s\n    component: c\n    gpg_key: g.asc\n",
        }
    )
    assert "Uris: https://apt.grafana.com" in render(rule_runner, "kolla/keystone/keystone")
    rule_runner.set_options(["--kolla-repos-yaml=site/repos.yaml"])
    assert "Uris: http://mirror.example/grafana" in render(rule_runner, "kolla/keystone/keystone")
    rule_runner.set_options(["--kolla-repos-yaml=site/nope.yaml"])
    with pytest.raises(ExecutionError, match=r"`\[kolla\].repos_yaml`: `site/nope.yaml` does not exist."):
        render(rule_runner, "kolla/keystone/keystone")
