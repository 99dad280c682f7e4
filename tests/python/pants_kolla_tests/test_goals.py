"""Goal tests (RuleRunner, no engine): kolla-render, kolla-list, kolla-graph, tailor, dependencies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pants.backend.project_info import dependencies
from pants.backend.project_info.dependencies import Dependencies
from pants.core.goals.tailor import PutativeTargets
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla.core.tailor_guess import INSTALL_TYPE_TODO, PARENT_TODO
from pants_kolla.goals.kolla_graph import KollaGraph
from pants_kolla.goals.kolla_list import KollaList
from pants_kolla.goals.kolla_render import KollaRender
from pants_kolla.goals.tailor import PutativeKollaImagesRequest
from pants_kolla.util_rules.engine_endpoint import EngineEndpoint
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla_tests.kolla_rule_runner import kolla_rule_runner, render, write_images_tree

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.fixture
def rule_runner() -> RuleRunner:
    runner = kolla_rule_runner(
        *dependencies.rules(),
        QueryRule(PutativeTargets, [PutativeKollaImagesRequest]),
        QueryRule(RenderedDockerfile, [RenderDockerfileRequest]),
        QueryRule(EngineEndpoint, []),
    )
    write_images_tree(runner)
    return runner


def test_render_goal_writes_dockerfiles_without_an_engine(rule_runner: RuleRunner) -> None:
    rule_runner.set_options([], env=NO_ENGINE)
    with pytest.raises(ExecutionError, match="nonexistent"):  # the engine really is unreachable
        rule_runner.request(EngineEndpoint, [])
    result = rule_runner.run_goal_rule(KollaRender, args=["images/cron", "images/keystone"], env=NO_ENGINE)
    assert result.exit_code == 0
    dist = Path(rule_runner.build_root, "dist/kolla-render")
    assert sorted(p.name for p in dist.iterdir()) == [
        "cron",
        "debian-binary-keystone",
        "debian-source-keystone",
    ]
    assert (dist / "cron/Dockerfile").read_text() == render(rule_runner, "images/cron")
    assert (
        "FROM kolla/debian-source-keystone-base:master"
        in (dist / "debian-source-keystone/Dockerfile").read_text()
    )
    assert "Wrote dist/kolla-render/cron/Dockerfile" in result.stdout


EXPECTED_LIST = """\
infra\tkolla/base:master\tkolla/debian-bookworm-rootfs:master
infra\tkolla/chrony:master\tkolla/base:master
infra\tkolla/cron:master\tkolla/base:master
binary\tkolla/debian-binary-glance-api:master\tkolla/debian-binary-glance-base:master
binary\tkolla/debian-binary-glance-base:master\tkolla/debian-binary-openstack-base:master
binary\tkolla/debian-binary-keystone-base:master\tkolla/debian-binary-openstack-base:master
binary\tkolla/debian-binary-keystone-fernet:master\tkolla/debian-binary-keystone-base:master
binary\tkolla/debian-binary-keystone-ssh:master\tkolla/debian-binary-keystone-base:master
binary\tkolla/debian-binary-keystone:master\tkolla/debian-binary-keystone-base:master
binary\tkolla/debian-binary-openstack-base:master\tkolla/base:master
binary\tkolla/debian-binary-placement-api:master\tkolla/debian-binary-placement-base:master
binary\tkolla/debian-binary-placement-base:master\tkolla/debian-binary-openstack-base:master
rootfs\tkolla/debian-bookworm-rootfs:master\t-
source\tkolla/debian-source-glance-api:master\tkolla/debian-source-glance-base:master
source\tkolla/debian-source-glance-base:master\tkolla/debian-source-openstack-base:master
source\tkolla/debian-source-keystone-base:master\tkolla/debian-source-openstack-base:master
source\tkolla/debian-source-keystone-fernet:master\tkolla/debian-source-keystone-base:master
source\tkolla/debian-source-keystone-ssh:master\tkolla/debian-source-keystone-base:master
source\tkolla/debian-source-keystone:master\tkolla/debian-source-keystone-base:master
source\tkolla/debian-source-openstack-base:master\tkolla/base:master
source\tkolla/debian-source-placement-api:master\tkolla/debian-source-placement-base:master
source\tkolla/debian-source-placement-base:master\tkolla/debian-source-openstack-base:master
infra\tkolla/etcd:master\tkolla/base:master
infra\tkolla/haproxy:master\tkolla/base:master
infra\tkolla/keepalived:master\tkolla/base:master
infra\tkolla/mariadb-server:master\tkolla/base:master
infra\tkolla/memcached:master\tkolla/base:master
infra\tkolla/rabbitmq:master\tkolla/base:master
infra\tkolla/redis:master\tkolla/base:master
infra\tkolla/rsyslog:master\tkolla/base:master
"""


def test_list_goal_one_line_per_image(rule_runner: RuleRunner) -> None:
    result = rule_runner.run_goal_rule(KollaList, args=["images::"])
    assert result.stdout == EXPECTED_LIST


def test_list_goal_adds_ancestors_and_follows_naming_options(rule_runner: RuleRunner) -> None:
    result = rule_runner.run_goal_rule(
        KollaList, args=["--kolla-registry=reg:5000", "--no-kolla-rename-infra-images", "images/cron"]
    )
    assert result.stdout.splitlines() == [
        "rootfs\tkolla/debian-bookworm-rootfs:master\t-",
        "infra\tkolla/debian-infra-base:master\tkolla/debian-bookworm-rootfs:master",
        "infra\tkolla/debian-infra-cron:master\tkolla/debian-infra-base:master",
    ]


def test_graph_goal_json(rule_runner: RuleRunner) -> None:
    result = rule_runner.run_goal_rule(KollaGraph, args=["images/keystone"])
    images = {i["name"]: i for i in json.loads(result.stdout)["images"]}
    assert images["kolla/debian-binary-keystone:master"] == {
        "name": "kolla/debian-binary-keystone:master",
        "address": "images/keystone@install_type=binary",
        "install_type": "binary",
        "parent": "kolla/debian-binary-keystone-base:master",
    }
    assert (
        images["kolla/debian-binary-keystone-base:master"]["parent"]
        == "kolla/debian-binary-openstack-base:master"
    )
    assert images["kolla/debian-bookworm-rootfs:master"]["parent"] is None
    assert "kolla/cron:master" not in images  # not selected, not an ancestor


def test_graph_goal_dot_to_file(rule_runner: RuleRunner) -> None:
    output = Path(rule_runner.build_root, "images.dot")  # absolute: goals run from the test's cwd
    result = rule_runner.run_goal_rule(
        KollaGraph, args=["--format=dot", f"--output-file={output}", "images::"]
    )
    assert result.stdout == ""
    dot = output.read_text()
    assert dot.startswith("digraph kolla {")
    assert '  "kolla/base:master" -> "kolla/cron:master";' in dot.splitlines()
    assert (
        '  "kolla/debian-source-keystone-base:master" -> "kolla/debian-source-keystone:master";'
        in dot.splitlines()
    )
    assert (
        '  "kolla/debian-source-openstack-base:master" -> "kolla/debian-source-keystone-base:master";'
        in dot.splitlines()
    )
    assert dot.count("->") == 29  # one edge per image: 11 infra, 2 x 9 per-type


def test_dependencies_goal_shows_parent_edge(rule_runner: RuleRunner) -> None:
    result = rule_runner.run_goal_rule(Dependencies, args=["images/keystone@install_type=source"])
    assert result.stdout.splitlines() == [
        "images/keystone-base@install_type=source",
        "images:templates",
    ]
    result = rule_runner.run_goal_rule(Dependencies, args=["images/base"])
    assert "images/rootfs:rootfs" in result.stdout.splitlines()


def test_tailor_guesses_from_the_from_line(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "images/opensearch/Dockerfile.j2": "FROM {{ parent_image }}\n",
            "images/nova/Dockerfile.j2": (
                "FROM {{ namespace }}/{{ image_prefix }}openstack-base:{{ tag }}\nRUN echo {{ install_type }}\n"
            ),
            "images/fluentd/Dockerfile.j2": "FROM {{ namespace }}/{{ infra_image_prefix }}base:{{ tag }}\n",
        }
    )
    putative = rule_runner.request(
        PutativeTargets,
        [
            PutativeKollaImagesRequest(
                ("images", "images/opensearch", "images/nova", "images/fluentd", "images/cron")
            )
        ],
    )
    proposed = {p.path: dict(p.kwargs) for p in putative}
    assert proposed == {  # images/cron has a kolla_image: nothing proposed, although images:tree owns all
        "images/opensearch": {"install_type": "infra", "parent": PARENT_TODO},
        "images/nova": {"install_type": INSTALL_TYPE_TODO, "parent": "images/openstack-base"},
        "images/fluentd": {"install_type": "infra", "parent": "images/base"},
    }
    builds = {f"{p.path}/BUILD": p.generate_build_file_stanza("    ") for p in putative}
    # An invalid install type breaks every target listing, so nova's BUILD comes last.
    rule_runner.write_files({path: build for path, build in builds.items() if "nova" not in path})
    assert "FROM kolla/base:master" in render(rule_runner, "images/fluentd")
    with pytest.raises(ExecutionError) as e:
        render(rule_runner, "images/opensearch")
    assert (
        "images/opensearch/BUILD: target `images/opensearch`, field `parent`: still `TODO(pants tailor)"
        in str(e.value)
    )
    rule_runner.write_files(builds)
    with pytest.raises(ExecutionError) as e:
        rule_runner.get_target(Address("images/nova"))
    assert "images/nova/BUILD" in str(e.value) and "install_type" in str(e.value)
    assert "TODO(pants tailor)" in str(e.value)


DUPLICATE = {
    "images/cron2/BUILD": 'kolla_image(install_type="infra", parent="images/base", image_name="cron")',
    "images/cron2/Dockerfile.j2": "FROM {{ parent_image }}\n",
}
DUPLICATE_MESSAGE = (
    "images/cron2/BUILD: target `images/cron2`, field `image_name`: image name `kolla/cron` is also "
    "produced by target `images/cron` (images/cron/BUILD)"
)


@pytest.mark.parametrize("goal", [KollaRender, KollaList, KollaGraph])
def test_two_targets_with_one_image_name_fail_every_goal_that_selects_both(
    rule_runner: RuleRunner, goal
) -> None:
    rule_runner.write_files(DUPLICATE)
    with pytest.raises(ExecutionError) as e:
        rule_runner.run_goal_rule(goal, args=["images::"])
    assert DUPLICATE_MESSAGE in str(e.value)
    # A run reads only what it selects (and its ancestors): the clash elsewhere changes nothing here.
    assert rule_runner.run_goal_rule(goal, args=["images/keystone"]).exit_code == 0
