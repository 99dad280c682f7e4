"""`pants package` for kolla_image and debian_rootfs targets.

Every image waits for the run summary (util_rules/summary.py), which builds all selected images,
loads them into the engine and writes the reports; only then does a failed image fail the goal, so a
failure never cuts independent branches short.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import AddPrefix, Digest, DigestSubset, MergeDigests, PathGlobs
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla import run_summary
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import DebianSuiteField, KollaParentField
from pants_kolla.util_rules.build import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.image_graph import KollaRepo
from pants_kolla.util_rules.summary import SUMMARY_FILE, KollaRunSummary


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


async def _package(address, repo: KollaRepo, kolla: KollaSubsystem) -> BuiltPackage:
    summary = await Get(KollaRunSummary)
    result = await Get(ImageBuildResult, BuildImageRequest(address))
    outcome = summary.outcomes[address]
    dist_dir = kolla.naming().dist_dir(repo.graph.node(address))
    if not result.ok:
        if not outcome.allowed_to_fail:
            # Every failed image raises the same message, root causes first, whichever Pants shows.
            raise KollaBuildError(
                "\n\n".join(summary.root_errors)
                + f"\n\n{run_summary.summary_table(summary.outcomes.values())}\n"
                f"Build logs: dist/images/<name>/build.log; summary: dist/{SUMMARY_FILE}"
            )
        files = await Get(Digest, MergeDigests([result.log, result.dockerfile]))
        return BuiltPackage(
            await Get(Digest, AddPrefix(files, dist_dir)),
            (BuiltPackageArtifact(dist_dir, (f"FAILED (allowed to fail): {result.ref}",)),),
        )
    assert result.image is not None
    loaded = summary.loaded.get(result.ref)
    if loaded is not None and loaded.error:
        raise KollaBuildError(loaded.error)
    archive = result.image.archive
    if loaded is not None and not kolla.export_archives:
        # The engine holds the image: write its manifest and config, not gigabytes of layers per run.
        archive = await Get(Digest, DigestSubset(archive, PathGlobs(["*.json"])))
    archive = await Get(Digest, AddPrefix(archive, "image"))
    files = await Get(Digest, MergeDigests([archive, result.log, result.dockerfile]))
    where = "in the engine" if loaded is not None else "not loaded: no engine (docker load from dist/)"
    return BuiltPackage(
        await Get(Digest, AddPrefix(files, dist_dir)),
        (BuiltPackageArtifact(dist_dir, (f"{outcome.status}: {result.ref} {result.image.image_id} ({where})",)),),
    )


@rule(desc="Package a Kolla image", level=LogLevel.DEBUG)
async def package_kolla_image(
    field_set: KollaImageFieldSet, repo: KollaRepo, kolla: KollaSubsystem
) -> BuiltPackage:
    return await _package(field_set.address, repo, kolla)


@rule(desc="Package a Debian rootfs image", level=LogLevel.DEBUG)
async def package_debian_rootfs(
    field_set: DebianRootfsFieldSet, repo: KollaRepo, kolla: KollaSubsystem
) -> BuiltPackage:
    return await _package(field_set.address, repo, kolla)


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, KollaImageFieldSet),
        UnionRule(PackageFieldSet, DebianRootfsFieldSet),
    ]
