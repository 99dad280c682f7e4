"""The RuleRunner every rule and goal test uses: the plugin's rules, `files` targets and `parametrize`."""

from __future__ import annotations

from pathlib import Path

from pants.backend.python import register as python_backend
from pants.backend.python.target_types import PexBinary, PythonRequirementTarget
from pants.base.specs import RawSpecs, RecursiveGlobSpec
from pants.core import register as core_backend
from pants.core.target_types import FilesGeneratorTarget, FileTarget
from pants.engine.addresses import Address
from pants.engine.internals.parametrize import Parametrize
from pants.engine.target import Targets
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pants_kolla import register
from pants_kolla.core.image_tree import ImageNode
from pants_kolla.goals.image_selection import selected_images
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile

IMAGES = Path("images")


def kolla_rule_runner(*extra_rules) -> RuleRunner:
    return RuleRunner(
        # As in pants.toml: the Python backend builds the PEX files of source images' contexts.
        rules=[
            *core_backend.rules(),
            *python_backend.rules(),
            *register.rules(),
            QueryRule(Targets, [RawSpecs]),
            *extra_rules,
        ],
        # The real tree also has pex_binary targets (source images' wheels) and python_requirements.
        target_types=[
            *register.target_types(),
            FilesGeneratorTarget,
            FileTarget,
            PexBinary,
            PythonRequirementTarget,
        ],
        objects={"parametrize": Parametrize},
    )


def write_images_tree(rule_runner: RuleRunner) -> None:
    """The repo's real images/ tree (a test dependency), as the scratch repo's."""
    rule_runner.write_files({str(p): p.read_text() for p in IMAGES.rglob("*") if p.is_file()})


def render(rule_runner: RuleRunner, spec_path: str, install_type: str | None = None) -> str:
    params = {"install_type": install_type} if install_type else {}
    address = Address(spec_path, parameters=params)
    return rule_runner.request(RenderedDockerfile, [RenderDockerfileRequest(address)]).content


def tree_nodes(rule_runner: RuleRunner) -> list[ImageNode]:
    """Every image target under images/, as `kolla-list images::` selects them."""
    targets = rule_runner.request(
        Targets, [RawSpecs(recursive_globs=(RecursiveGlobSpec("images"),), description_of_origin="tests")]
    )
    return selected_images(targets)
