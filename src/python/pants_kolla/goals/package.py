"""`pants package` for kolla_image and debian_rootfs targets.

Pants hands the goal its targets (`--changed-since`, file specs, `--tag`... all resolved by Pants) and
calls these rules once per target. Each waits for the run over all images the goal packages
(util_rules/summary.py), which builds them, loads them into the engine and writes the reports; only then
does a failed image fail the goal, so a failure never cuts independent branches short.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.core.util_rules.distdir import DistDir
from pants.engine.addresses import Address
from pants.engine.fs import AddPrefix, Digest
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla import kolla_runs
from pants_kolla.target_types import DebianSuiteField, KollaParentField
from pants_kolla.util_rules.summary import KollaRun, KollaRunRequest, KollaRunSummary


class KollaBuildError(Exception):
    pass


@dataclass(frozen=True)
class KollaImageFieldSet(PackageFieldSet):
    required_fields = (KollaParentField,)
    parent: KollaParentField


@dataclass(frozen=True)
class DebianRootfsFieldSet(PackageFieldSet):
    required_fields = (DebianSuiteField,)
    suite: DebianSuiteField


async def _run_summary(address: Address) -> KollaRunSummary:
    """The summary of every image this run packages. Images recorded while it was being made (a rule
    that started late) make it be made again, over all of them."""
    run = await Get(KollaRun)
    kolla_runs.record(run.token, address)
    while True:
        images = kolla_runs.images(run.token)
        summary = await Get(KollaRunSummary, KollaRunRequest(run.token, tuple(sorted(images))))
        if kolla_runs.images(run.token) == images:
            return summary


async def _package(address: Address, distdir: DistDir) -> BuiltPackage:
    package = (await _run_summary(address)).packages[address]
    if package.error:
        raise KollaBuildError(package.error)
    # No relpath: Pants would delete the folder before writing it (see util_rules/dist_image.py).
    return BuiltPackage(
        await Get(Digest, AddPrefix(package.files, package.folder)),
        (BuiltPackageArtifact(None, (f"Wrote {distdir.relpath / package.folder}", package.status_line)),),
    )


@rule(desc="Package a Kolla image", level=LogLevel.DEBUG)
async def package_kolla_image(field_set: KollaImageFieldSet, distdir: DistDir) -> BuiltPackage:
    return await _package(field_set.address, distdir)


@rule(desc="Package a Debian rootfs image", level=LogLevel.DEBUG)
async def package_debian_rootfs(field_set: DebianRootfsFieldSet, distdir: DistDir) -> BuiltPackage:
    return await _package(field_set.address, distdir)


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, KollaImageFieldSet),
        UnionRule(PackageFieldSet, DebianRootfsFieldSet),
    ]
