"""Bad BUILD input is rejected when the target is parsed (Pants' InvalidFieldException, naming file,
target and field), and a misspelt option value by Pants' option parser: before any build."""

from __future__ import annotations

import time

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla.core import field_checks
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla_tests.kolla_rule_runner import kolla_rule_runner
from pants_kolla_tests.offline_toml import source_date_epoch_for

ROOTFS = 'debian_rootfs(name="rootfs")\n'


@pytest.fixture
def rule_runner() -> RuleRunner:
    return kolla_rule_runner(QueryRule(RenderedDockerfile, [RenderDockerfileRequest]))


def parse_error(rule_runner: RuleRunner, build_file: str, address: Address) -> str:
    """The first line of the error a target of `images/x/BUILD` gives when it is parsed."""
    rule_runner.write_files(
        {
            "images/BUILD": ROOTFS,
            "images/x/BUILD": build_file,
            "images/x/Dockerfile.j2": "FROM {{ parent_image }}\n",
        }
    )
    with pytest.raises(ExecutionError) as e:
        rule_runner.get_target(address)
    message = str(e.value)
    assert "InvalidFieldException" in message, message
    return message


X = Address("images/x")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ('build_args=["NOEQUALS"]', "field `build_args`: `NOEQUALS` has no `=`"),
        ('build_args=["1X=a"]', "`1X` in `1X=a` is not a build argument name"),
        ('build_args=["A=1", "A=2"]', "field `build_args`: `A` is set more than once"),
        ('image_name="Bad_Name"', "field `image_name`: `Bad_Name` is not a valid Docker repository name"),
        ('image_name="a--"', "`a--` is not a valid Docker repository name"),
        ('parent="images:rootfs:extra"', "field `parent`: `images:rootfs:extra` is not an address"),
    ],
)
def test_bad_kolla_image_fields_fail_at_parse_time(
    rule_runner: RuleRunner, fields: str, expected: str
) -> None:
    base = {"parent": 'parent="images:rootfs"'}
    name = fields.split("=", 1)[0]
    others = [v for k, v in base.items() if k != name]
    build = f'kolla_image(install_type="infra", {", ".join([*others, fields])})\n'
    message = parse_error(rule_runner, build, X)
    assert expected in message, message
    assert "images/x/BUILD:1: target `images/x`, field" in message, message


def test_infra_cannot_be_parametrized_with_other_install_types(rule_runner: RuleRunner) -> None:
    build = 'kolla_image(install_type=parametrize("binary", "infra"), parent="images:rootfs")\n'
    message = parse_error(rule_runner, build, Address("images/x", parameters={"install_type": "infra"}))
    assert (
        "images/x/BUILD:1: target `images/x@install_type=infra`, field `install_type`: `infra` "
        "cannot be parametrized"
    ) in message, message


def test_binary_and_source_may_be_parametrized(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "images/BUILD": ROOTFS,
            "images/x/BUILD": 'kolla_image(install_type=parametrize("binary", "source"), parent="images:rootfs")\n',
        }
    )
    target = rule_runner.get_target(Address("images/x", parameters={"install_type": "source"}))
    assert target.address.parameters == {"install_type": "source"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ('suite="Bookworm; rm"', "field `suite`: `Bookworm; rm` is not a Debian suite name"),
        ('packages=["curl,wget"]', "field `packages`: `curl,wget` is not a Debian package name"),
    ],
)
def test_bad_rootfs_fields_fail_at_parse_time(rule_runner: RuleRunner, fields: str, expected: str) -> None:
    message = parse_error(rule_runner, f"debian_rootfs({fields})\n", X)
    assert expected in message, message


def test_bad_extra_tag_fails_at_parse_time(rule_runner: RuleRunner) -> None:
    build = 'kolla_image(install_type="infra", parent="images:rootfs", extra_tags=["2024.1", "-x"])\n'
    message = parse_error(rule_runner, build, X)
    assert "field `extra_tags`: `-x` is not a valid Docker tag" in message, message


def test_bad_tag_option_is_named_before_any_build(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "images/BUILD": ROOTFS,
            "images/x/BUILD": 'kolla_image(install_type="infra", parent="images:rootfs")\n',
            "images/x/Dockerfile.j2": "FROM {{ parent_image }}\n",
        }
    )
    rule_runner.set_options(["--kolla-tag=bad tag"])
    with pytest.raises(ExecutionError) as e:
        rule_runner.request(RenderedDockerfile, [RenderDockerfileRequest(X)])
    assert "`[kolla].tag` (--kolla-tag): `bad tag` is not a valid Docker tag" in str(e.value)


def test_misspelt_builder_is_an_option_error(rule_runner: RuleRunner) -> None:
    with pytest.raises(Exception) as e:
        rule_runner.set_options(["--kolla-builder=dokcer"])
        rule_runner.request(RenderedDockerfile, [RenderDockerfileRequest(X)])
    message = str(e.value)
    assert "dokcer" in message and "buildah" in message, message


@pytest.mark.parametrize("name", ["cron", "debian-binary-keystone", "a.b_c__d-e--f", "kolla/infra-cron"])
def test_docker_accepts_these_repository_names(name: str) -> None:
    assert field_checks.repository_problem(name) is None


@pytest.mark.parametrize("name", ["", "Cron", "-cron", "cron-", "a..b", "a___b", "a//b", "a" * 256])
def test_docker_rejects_these_repository_names(name: str) -> None:
    assert field_checks.repository_problem(name) is not None


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("master", True),
        ("2026.2", True),
        ("_x", True),
        ("-x", False),
        (".x", False),
        ("a" * 128, True),
        ("a" * 129, False),
        ("a:b", False),
    ],
)
def test_tag_grammar(tag: str, ok: bool) -> None:
    assert (field_checks.tag_problem(tag) is None) == ok


@pytest.mark.parametrize(
    ("epoch", "ok"),
    [
        (0, True),
        (1_700_000_000, True),
        (1_800_000_000, True),
        (-1, False),
        (1_800_000_001, False),
        (4_000_000_000, False),
    ],
)
def test_source_date_epoch_must_be_in_the_past(epoch: int, ok: bool) -> None:
    assert (field_checks.source_date_epoch_problem(epoch, now=1_800_000_000.5) is None) == ok


def test_scratch_repos_epochs_are_ones_the_plugin_accepts() -> None:
    for i in range(1000):
        epoch = source_date_epoch_for(f"t-{i:08x}")
        assert field_checks.source_date_epoch_problem(epoch, now=time.time()) is None, epoch
