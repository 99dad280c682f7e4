"""`pants package` for kolla_image and debian_rootfs targets.

Every image waits for the run summary (util_rules/summary.py), which builds all selected images,
loads them into the engine and writes the reports; only then does a failed image fail the goal, so a
failure never cuts independent branches short.

Artifacts name no path, so Pants does not delete an image's folder before writing it (that races with a
concurrent run); dist_files.py removes what an earlier run left instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.core.util_rules.distdir import DistDir
from pants.engine.fs import AddPrefix, Digest, DigestSubset, MergeDigests, PathGlobs, Snapshot
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla import dist_files, run_summary
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


async def _written(files: Digest, folder: str, distdir: DistDir, *status: str) -> BuiltPackage:
    """`files` go to dist/<folder>; files there that this run does not write are removed."""
    snapshot = await Get(Snapshot, Digest, files)
    dist_files.remove_stale(os.path.join(str(distdir.relpath), folder), snapshot.files)
    return BuiltPackage(
        await Get(Digest, AddPrefix(files, folder)),
        (BuiltPackageArtifact(None, (f"Wrote {distdir.relpath / folder}", *status)),),
    )


async def _package(address, repo: KollaRepo, kolla: KollaSubsystem, distdir: DistDir) -> BuiltPackage:
    summary = await Get(KollaRunSummary)
    result = await Get(ImageBuildResult, BuildImageRequest(address))
    outcome = summary.outcomes[address]
    folder = kolla.naming().dist_dir(repo.graph.node(address))
    if not result.ok:
        if not outcome.allowed_to_fail:
            # Every failed image raises the same message, root causes first, whichever Pants shows.
            raise KollaBuildError(
                "\n\n".join(summary.root_errors)
                + f"\n\n{run_summary.summary_table(summary.outcomes.values())}\n"
                f"Build logs: dist/images/<name>/build.log; summary: dist/{SUMMARY_FILE}"
            )
        files = await Get(Digest, MergeDigests([result.log, result.dockerfile]))
        return await _written(files, folder, distdir, f"FAILED (allowed to fail): {result.ref}")
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
    status = f"{outcome.status}: {result.ref} {result.image.image_id} ({where})"
    return await _written(files, folder, distdir, status)


@rule(desc="Package a Kolla image", level=LogLevel.DEBUG)
async def package_kolla_image(
    field_set: KollaImageFieldSet, repo: KollaRepo, kolla: KollaSubsystem, distdir: DistDir
) -> BuiltPackage:
    return await _package(field_set.address, repo, kolla, distdir)


@rule(desc="Package a Debian rootfs image", level=LogLevel.DEBUG)
async def package_debian_rootfs(
    field_set: DebianRootfsFieldSet, repo: KollaRepo, kolla: KollaSubsystem, distdir: DistDir
) -> BuiltPackage:
    return await _package(field_set.address, repo, kolla, distdir)


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, KollaImageFieldSet),
        UnionRule(PackageFieldSet, DebianRootfsFieldSet),
    ]
