"""The PEX files of a `source` image's build context, the rule's logic with Pants' mocks for the PEX
builds (real ones: test_full_tree_smoke.py, whose source keystone's SBOM lists its PEX's distributions):
the files land at the context root, binary variants get none, and two dependencies making files of one
name are an input error naming the BUILD file, target and field."""

from __future__ import annotations

import pytest
from pants.backend.python.goals.package_pex_binary import PexBinaryFieldSet
from pants.backend.python.target_types import PexBinary
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, DigestEntries, FileDigest, FileEntry
from pants.engine.target import Targets, WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionMembership
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

from pants_kolla.core.errors import KollaInputError
from pants_kolla.target_types import KollaImageTarget
from pants_kolla.util_rules.context_pexes import ContextPexes, ContextPexRequest, context_pexes

KEYSTONE = Address("images/keystone", parameters={"install_type": "source"})


def pex(name: str, output_path: str) -> PexBinary:
    return PexBinary(
        {"entry_point": "app.py", "output_path": output_path}, Address("src/app", target_name=name)
    )


def built(fingerprint: str, output_path: str) -> tuple[Digest, FileEntry]:
    digest = Digest(fingerprint * 64, 1)
    return digest, FileEntry(output_path, FileDigest(fingerprint * 64, 10), is_executable=True)


def run(
    install_type: str, pexes: list[PexBinary], made: dict[str, tuple[Digest, FileEntry]]
) -> tuple[ContextPexes, list[CreateDigest]]:
    """The rule's result and the digests it asked to be made, with each PEX built as `made` says (by the
    target's name)."""
    image = KollaImageTarget(
        {"install_type": install_type, "parent": "images/base", "template": "Dockerfile.j2"}, KEYSTONE
    )
    created: list[CreateDigest] = []

    def create(request: CreateDigest) -> Digest:
        created.append(request)
        return Digest("f" * 64, 2)

    result = run_rule_with_mocks(
        context_pexes,
        rule_args=[ContextPexRequest(KEYSTONE, Targets(pexes))],
        mock_gets=[
            MockGet(WrappedTarget, (WrappedTargetRequest,), lambda _: WrappedTarget(image)),
            MockGet(
                BuiltPackage,
                (PackageFieldSet,),
                lambda fs: BuiltPackage(made[fs.address.target_name][0], (BuiltPackageArtifact("x"),)),
            ),
            MockGet(
                DigestEntries,
                (Digest,),
                lambda d: DigestEntries([e for dg, e in made.values() if dg == d]),
            ),
            MockGet(Digest, (CreateDigest,), create),
        ],
        union_membership=UnionMembership({PackageFieldSet: [PexBinaryFieldSet]}),
    )
    return result, created


def test_source_image_gets_each_pex_at_the_context_root() -> None:
    made = {"keystone": built("a", "src.app/keystone.pex"), "tools": built("b", "bin/tools.pex")}
    result, created = run(
        "source", [pex("keystone", "src.app/keystone.pex"), pex("tools", "bin/tools.pex")], made
    )
    assert isinstance(result, ContextPexes)
    (request,) = created
    assert sorted(entry.path for entry in request) == ["keystone.pex", "tools.pex"]


def test_binary_variant_gets_no_pex() -> None:
    made = {"keystone": built("a", "src.app/keystone.pex")}
    result, created = run("binary", [pex("keystone", "src.app/keystone.pex")], made)
    assert result == ContextPexes(EMPTY_DIGEST)
    assert created == []


def test_two_pex_files_of_one_name_name_the_build_file_target_and_field() -> None:
    made = {"one": built("a", "one/app.pex"), "two": built("b", "two/app.pex")}
    with pytest.raises(KollaInputError) as error:
        run("source", [pex("one", "one/app.pex"), pex("two", "two/app.pex")], made)
    message = str(error.value)
    assert message.startswith("images/keystone/BUILD: target `images/keystone@install_type=source`")
    assert "field `dependencies`" in message and "`app.pex`" in message
