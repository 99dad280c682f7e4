"""Rule tests (RuleRunner, no engine): parent inference, rendering of the real images/ tree, errors."""

from __future__ import annotations

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla.core.errors import display
from pants_kolla.util_rules.image_tree_targets import InferKollaImageDependencies, KollaImageInferenceFieldSet
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla_tests.kolla_rule_runner import kolla_rule_runner, render, tree_nodes, write_images_tree


@pytest.fixture
def rule_runner() -> RuleRunner:
    return kolla_rule_runner(
        QueryRule(RenderedDockerfile, [RenderDockerfileRequest]),
        QueryRule(InferredDependencies, [InferKollaImageDependencies]),
    )


def test_real_tree_renders_and_only_openstack_base_carries_install_type(rule_runner: RuleRunner) -> None:
    write_images_tree(rule_runner)
    rendered = {}
    for node in tree_nodes(rule_runner):
        if node.is_rootfs:
            continue
        text = render(rule_runner, node.address.spec_path, node.address.parameters.get("install_type"))
        rendered[display(node.address)] = text
        assert text.startswith("\nFROM kolla/") or text.startswith("FROM kolla/"), node.address.spec
    with_envs = sorted(spec for spec, text in rendered.items() if "KOLLA_INSTALL_TYPE" in text)
    assert with_envs == [
        "images/openstack-base@install_type=binary",
        "images/openstack-base@install_type=source",
    ]
    assert (
        "FROM kolla/debian-binary-openstack-base:master"
        in rendered["images/keystone-base@install_type=binary"]
    )
    assert (
        "FROM kolla/debian-source-openstack-base:master"
        in rendered["images/keystone-base@install_type=source"]
    )
    assert "FROM kolla/base:master" in rendered["images/cron"]


def test_parent_and_template_library_are_inferred_dependencies(rule_runner: RuleRunner) -> None:
    write_images_tree(rule_runner)
    target = rule_runner.get_target(Address("images/keystone-base", parameters={"install_type": "source"}))
    inferred = rule_runner.request(
        InferredDependencies, [InferKollaImageDependencies(KollaImageInferenceFieldSet.create(target))]
    )
    assert set(inferred.include) == {
        Address("images/openstack-base", parameters={"install_type": "source"}),
        Address("images", target_name="templates"),
    }


def test_install_type_is_a_tag(rule_runner: RuleRunner) -> None:
    write_images_tree(rule_runner)
    from pants.engine.target import Tags

    assert rule_runner.get_target(Address("images/cron"))[Tags].value == ("infra",)
    binary = rule_runner.get_target(Address("images/keystone", parameters={"install_type": "binary"}))
    assert binary[Tags].value == ("binary",)


def test_unknown_install_type_names_file_target_and_field(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"images/x/BUILD": 'kolla_image(install_type="bianry", parent="images/base")'})
    with pytest.raises(ExecutionError) as e:
        rule_runner.get_target(Address("images/x"))
    message = str(e.value)
    assert "images/x/BUILD" in message and "install_type" in message and "bianry" in message


def expect_render_error(
    rule_runner: RuleRunner, files: dict[str, str], address: Address, *needles: str
) -> None:
    write_images_tree(rule_runner)
    rule_runner.write_files(files)
    with pytest.raises(ExecutionError) as e:
        rule_runner.request(RenderedDockerfile, [RenderDockerfileRequest(address)])
    for needle in needles:
        assert needle in str(e.value)


def test_undefined_variable_is_named_with_template_line(rule_runner: RuleRunner) -> None:
    expect_render_error(
        rule_runner,
        {"images/cron/Dockerfile.j2": "FROM {{ parent_image }}\nRUN echo {{ install_type }}\n"},
        Address("images/cron"),
        "images/cron/Dockerfile.j2:2",
        "'install_type' is undefined",
    )


def test_jinja_syntax_error_has_template_line(rule_runner: RuleRunner) -> None:
    expect_render_error(
        rule_runner,
        {"images/cron/Dockerfile.j2": "FROM {{ parent_image }}\n{% endif %}\n"},
        Address("images/cron"),
        "images/cron/Dockerfile.j2:2",
        "Jinja syntax error",
    )


def test_a_template_that_is_not_text_names_file_target_and_field(rule_runner: RuleRunner) -> None:
    write_images_tree(rule_runner)
    rule_runner.write_files({"images/cron/Dockerfile.j2": b"FROM {{ parent_image }}\n\xff\xfe\n"})
    with pytest.raises(ExecutionError) as e:
        render(rule_runner, "images/cron")
    message = str(e.value)
    assert (
        "images/cron/BUILD: target `images/cron`, field `template`: `images/cron/Dockerfile.j2` is not "
        "UTF-8 text" in message
    ), message
    assert "UnicodeDecodeError" not in message, message


def test_missing_template_names_field(rule_runner: RuleRunner) -> None:
    expect_render_error(
        rule_runner,
        {"images/no-template/BUILD": 'kolla_image(install_type="infra", parent="images/base")'},
        Address("images/no-template"),
        "images/no-template/BUILD",
        "field `template`",
        "images/no-template/Dockerfile.j2",
    )


def test_infra_under_per_type_parent_fails_on_render(rule_runner: RuleRunner) -> None:
    expect_render_error(
        rule_runner,
        {
            "images/fluentd/BUILD": 'kolla_image(install_type="infra", parent="images/openstack-base")',
            "images/fluentd/Dockerfile.j2": "FROM {{ parent_image }}\n",
        },
        Address("images/fluentd"),
        "images/fluentd/BUILD",
        "field `parent`",
        "an infra image cannot be built FROM",
    )


def inferred(rule_runner: RuleRunner, address: Address) -> set[Address]:
    target = rule_runner.get_target(address)
    result = rule_runner.request(
        InferredDependencies, [InferKollaImageDependencies(KollaImageInferenceFieldSet.create(target))]
    )
    return set(result.include)


def test_a_broken_target_in_a_folder_nothing_selects_changes_nothing(rule_runner: RuleRunner) -> None:
    write_images_tree(rule_runner)
    rule_runner.write_files({"junk/BUILD": 'kolla_image(install_type="bogus", parent="images/base")'})
    assert "FROM kolla/base:master" in render(rule_runner, "images/cron")
    assert inferred(rule_runner, Address("images/cron")) == {
        Address("images/base"),
        Address("images", target_name="templates"),
    }


def test_an_image_uses_the_nearest_template_library_up_its_folders(rule_runner: RuleRunner) -> None:
    write_images_tree(rule_runner)
    rule_runner.write_files(
        {
            "other/BUILD": 'kolla_template_library(name="lib")',
            "other/macros.j2": "",
            "other/x/BUILD": 'kolla_image(install_type="infra", parent="images/base")',
            "other/x/Dockerfile.j2": "FROM {{ parent_image }}\n",
        }
    )
    assert inferred(rule_runner, Address("other/x")) == {
        Address("images/base"),
        Address("other", target_name="lib"),
    }
    assert Address("other", target_name="lib") not in inferred(rule_runner, Address("images/cron"))
