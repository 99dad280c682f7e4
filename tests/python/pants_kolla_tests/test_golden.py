"""Golden test of the whole images/ tree, rendered for both install types (RuleRunner, no engine).

- Every render matches `golden/<image name>/Dockerfile` byte for byte. After a deliberate template
  change: `./pants --no-pantsd kolla-render images::` and copy `dist/kolla-render/*` to `golden/`.
- Infra images render the same bytes whichever install types the tree builds.
- A binary and a source render of one image differ only in their FROM line, the lines of
  `add_binary_source_envs` and what `{% if install_type == ... %}` blocks choose (in the image templates
  and in macros.j2, e.g. `install_service`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.jinja_render import render_template
from pants_kolla.core.naming import NamingScheme
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla_tests.kolla_rule_runner import IMAGES, kolla_rule_runner, tree_nodes, write_images_tree

GOLDEN = Path(__file__).parent / "golden"
NAMING = NamingScheme(namespace="kolla", tag="master", base_distro="debian", infra_image_prefix="")
PER_TYPE_BUILD = re.compile(r'install_type=parametrize\("binary", "source"\)')
TYPE_BRANCH = re.compile(r"(\{%-?\s*(?:el)?if\s+)install_type(\s*==)")
INFRA = {
    "base",
    "chrony",
    "cron",
    "etcd",
    "haproxy",
    "keepalived",
    "mariadb-server",
    "memcached",
    "rabbitmq",
    "redis",
    "rsyslog",
}
PER_TYPE = (
    "openstack-base",
    "keystone-base",
    "keystone",
    "keystone-fernet",
    "keystone-ssh",
    "glance-base",
    "glance-api",
    "placement-base",
    "placement-api",
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    runner = kolla_rule_runner(QueryRule(RenderedDockerfile, [RenderDockerfileRequest]))
    write_images_tree(runner)
    return runner


def render_tree(rule_runner: RuleRunner) -> dict[str, str]:
    """Rendered Dockerfile by image name (with prefix), as `kolla-render` lays them out."""
    nodes: list[ImageNode] = [n for n in tree_nodes(rule_runner) if not n.is_rootfs]
    rendered = {}
    for node in nodes:
        out = rule_runner.request(RenderedDockerfile, [RenderDockerfileRequest(node.address)])
        rendered[NAMING.prefixed_name(node)] = out.content
    return rendered


def test_tree_matches_golden_files(rule_runner: RuleRunner) -> None:
    rendered = render_tree(rule_runner)
    golden = {p.parent.name: p.read_text() for p in GOLDEN.glob("*/Dockerfile")}
    assert sorted(rendered) == sorted(golden)
    for name, text in rendered.items():
        assert text == golden[name], f"{name}: render differs from golden/{name}/Dockerfile"


def only_type(install_type: str) -> dict[str, str]:
    """The images/ BUILD files with every per-type image built for one type only."""
    return {
        str(p): PER_TYPE_BUILD.sub(f'install_type="{install_type}"', p.read_text())
        for p in IMAGES.rglob("BUILD")
    }


def test_infra_renders_are_identical_whatever_types_are_built(rule_runner: RuleRunner) -> None:
    both = render_tree(rule_runner)
    infra = {name for name in both if not name.startswith("debian-")}
    assert infra == INFRA
    for install_type in ("binary", "source"):
        rule_runner.write_files(only_type(install_type))
        single = render_tree(rule_runner)
        assert {n for n in single if n.startswith("debian-")} == {
            f"debian-{install_type}-{i}" for i in PER_TYPE
        }
        for name in infra:
            assert single[name] == both[name], name


def env_macro_lines() -> set[str]:
    macros = (IMAGES / "macros.j2").read_text()
    call = '{% import "macros.j2" as m %}{{ m.add_binary_source_envs(t, mt) }}'
    return {
        line
        for t, mt in (("binary", "debian"), ("source", "source"))
        for line in render_template(
            "c.j2", {"c.j2": call, "macros.j2": macros}, {"t": t, "mt": mt}, origin="t"
        ).splitlines()
    }


def changed_lines(a: str, b: str) -> list[str]:
    return [line[2:] for line in difflib.ndiff(a.splitlines(), b.splitlines()) if line[:2] in ("- ", "+ ")]


def test_binary_and_source_differ_only_in_type_specific_lines(rule_runner: RuleRunner) -> None:
    """Pin the `{% if install_type == ... %}` branches to one type, then render both types: whatever
    still differs must come from the parent and `add_binary_source_envs`, nothing else."""
    # macros.j2 too: install_service chooses Debian packages or the PEX by install type.
    templates = {str(p): p.read_text() for p in [*IMAGES.glob("*/Dockerfile.j2"), IMAGES / "macros.j2"]}
    allowed = env_macro_lines()
    for branch in ("binary", "source"):
        rule_runner.write_files(
            {
                path: f'{{%- set kolla_test_branch = "{branch}" -%}}'
                + TYPE_BRANCH.sub(r"\1kolla_test_branch\2", text)
                for path, text in templates.items()
            }
        )
        rendered = render_tree(rule_runner)
        for image in PER_TYPE:
            changed = changed_lines(rendered[f"debian-binary-{image}"], rendered[f"debian-source-{image}"])
            assert changed, image  # FROM, at least: the check can see a difference
            unexpected = [line for line in changed if not line.startswith("FROM ") and line not in allowed]
            assert not unexpected, f"{image}: install type leaks outside type-specific blocks: {unexpected}"


def test_type_specific_blocks_exist_where_expected(rule_runner: RuleRunner) -> None:
    """Guards the test above against a regex that matches none of the templates, and against pinning
    that does not reach the branches: with them pinned, keystone-base's binary and source renders
    install keystone the same way (both from packages, or both from the PEX)."""
    for path in (IMAGES / "openstack-base" / "Dockerfile.j2", IMAGES / "macros.j2"):
        assert TYPE_BRANCH.search(path.read_text()), path
    unpinned = render_tree(rule_runner)
    assert "COPY keystone.pex" in unpinned["debian-source-keystone-base"]
    assert "COPY keystone.pex" not in unpinned["debian-binary-keystone-base"]
    templates = {str(p): p.read_text() for p in [*IMAGES.glob("*/Dockerfile.j2"), IMAGES / "macros.j2"]}
    rule_runner.write_files(
        {
            path: '{%- set kolla_test_branch = "source" -%}' + TYPE_BRANCH.sub(r"\1kolla_test_branch\2", text)
            for path, text in templates.items()
        }
    )
    pinned = render_tree(rule_runner)
    assert "COPY keystone.pex" in pinned["debian-binary-keystone-base"]
