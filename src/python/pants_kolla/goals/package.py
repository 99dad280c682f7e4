"""`pants package` for kolla_image and debian_rootfs targets.

Pants hands the goal its targets (`--changed-since`, file specs, `--tag`... all resolved by Pants) and
calls these rules once per target. Each gets its image's run (package_run/image_run.py: built, loaded,
its dist/ files ready); the last to finish writes the run's reports (package_run/run_report.py). A failed
image raises only once every image of the run is done, so a failure never cuts independent branches
short; an image that did not fail waits for nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.core.util_rules.distdir import DistDir
from pants.engine.fs import AddPrefix, Digest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaBuildError
from pants_kolla.package_run import run_registry
from pants_kolla.package_run.image_run import ImageRun, ImageRunRequest
from pants_kolla.package_run.run_report import KollaRunReport, KollaRunReportRequest, failure_message
from pants_kolla.package_run.run_token import KollaRun
from pants_kolla.target_types import KollaImageNameField


@dataclass(frozen=True)
class KollaImageFieldSet(PackageFieldSet):
    """Both image target types (`kolla_image`, `debian_rootfs`): each has an image name."""

    required_fields = (KollaImageNameField,)
    image_name: KollaImageNameField


async def _whole_run(run: str) -> tuple[ImageRun, ...]:
    """Every image of the run, once all are done. Images recorded meanwhile (a rule that started late)
    are waited for too."""
    while True:
        images = run_registry.images(run)
        runs = await MultiGet(Get(ImageRun, ImageRunRequest(run, a)) for a in sorted(images))
        if run_registry.images(run) == images:
            return runs


async def _report(run: str, runs: tuple[ImageRun, ...]) -> None:
    # In one order whoever asks, so that the last image to finish and a failed image waiting for the run
    # ask for the same report, made once.
    await Get(KollaRunReport, KollaRunReportRequest(run, tuple(sorted(runs, key=lambda r: r.outcome.spec))))


@rule(desc="Package a Kolla image", level=LogLevel.DEBUG)
async def package_kolla_image(field_set: KollaImageFieldSet, distdir: DistDir) -> BuiltPackage:
    run = (await Get(KollaRun)).token
    run_registry.record(run, field_set.address)
    image = await Get(ImageRun, ImageRunRequest(run, field_set.address))
    everything = run_registry.finish(run, field_set.address, image)
    if everything is not None:  # the last image of the run (so far) to be done
        await _report(run, everything)
    if image.fails_goal:
        runs = await _whole_run(run)
        await _report(run, runs)  # before it raises: Pants cancels the rest of the goal then
        raise KollaBuildError(image.load_error or failure_message(runs))
    # No relpath: Pants would delete the folder before writing it (see package_run/dist_image.py).
    return BuiltPackage(
        await Get(Digest, AddPrefix(image.files, image.folder)),
        (BuiltPackageArtifact(None, (f"Wrote {distdir.relpath / image.folder}", image.status_line)),),
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, KollaImageFieldSet),
    ]
