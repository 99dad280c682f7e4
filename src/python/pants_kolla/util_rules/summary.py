"""Rules: the run over the Kolla images a `package` or `publish` goal packages, once all are built.

The run waits for every image the goal packages (kolla_runs.py: why and how it knows them) before any
package rule raises, so that one failed image never cancels independent branches. It then loads the
good images into the engine, prepares each image's dist/ files, writes Kolla's summary JSON and the logs
of failed images to dist/, and logs the summary.

Per session, through Pants' public mechanism: `KollaRunSummary` is `PerSession` (its
`EngineAwareReturnType.cacheable()` is False: "an uncacheable value is recomputed in each Session"), so
with pantsd a no-op run still checks the engine, reports and cleans dist/. Those side effects happen here
rather than in Pants' `package` goal (which writes each image's files) because that goal writes nothing
once any package raised, and nothing runs after it: a run with a failure must still leave the failure's
log and the summary in dist/ (nothing lost).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass

from pants.base.build_root import BuildRoot
from pants.core.goals.package import PackageSubsystem
from pants.core.goals.publish import PublishSubsystem
from pants.core.util_rules.distdir import DistDir
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, Digest, DigestContents
from pants.engine.goal import CurrentExecutingGoals
from pants.engine.process import ProcessResultMetadata
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla import dist_files, kolla_runs, run_summary
from pants_kolla.image_graph import ImageGraph, ImageGraphError
from pants_kolla.input_error import KollaInputError
from pants_kolla.run_summary import ImageOutcome
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaAllowedToFailField
from pants_kolla.util_rules.build import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.dist_image import DistImage, DistImageRequest
from pants_kolla.util_rules.engine import BuilderBackend
from pants_kolla.util_rules.image_graph import ImageGraphRequest
from pants_kolla.util_rules.load import LoadedImage, LoadImageRequest
from pants_kolla.util_rules.per_session import PerSession

logger = logging.getLogger(__name__)
SUMMARY_FILE = "kolla-summary.json"
REPORTING_GOALS = (PackageSubsystem.name, PublishSubsystem.name)


@dataclass(frozen=True)
class KollaRun(PerSession):
    """A new token in every session: it names the run in kolla_runs.py, and the rules that read it run
    again in every session."""

    token: str


@rule(desc="Start a Kolla run", level=LogLevel.DEBUG)
async def kolla_run() -> KollaRun:
    return KollaRun(uuid.uuid4().hex)


@dataclass(frozen=True)
class KollaRunRequest:
    run: str
    addresses: tuple[Address, ...]  # the run's images recorded so far, sorted


@dataclass(frozen=True)
class ImagePackage:
    """What `package` writes for one image (dist/<folder>/), or the error it raises instead."""

    folder: str
    files: Digest
    status_line: str
    error: str = ""


@dataclass(frozen=True)
class KollaRunSummary(PerSession):
    outcomes: FrozenDict[Address, ImageOutcome]
    packages: FrozenDict[Address, ImagePackage]


def _status(run: str, result: ImageBuildResult) -> str:
    if result.status != run_summary.BUILT or result.metadata is None:
        return result.status
    # The source as recorded when the result was made: pantsd memoizes results across runs.
    source = result.metadata.source(result.metadata.source_run_id)
    ran = source == ProcessResultMetadata.Source.RAN
    built_now = ran and kolla_runs.first_seen_in(run, (result.address, result.metadata.source_run_id))
    return run_summary.BUILT if built_now else run_summary.CACHED


def _failure_message(results: list[ImageBuildResult], outcomes: dict[Address, ImageOutcome]) -> str:
    """Every failed image raises the same message, root causes first, whichever Pants shows. A parent
    failure outside the selection shows through its descendants."""
    root_errors = [r.error for r in results if r.status == run_summary.FAILED] or list(
        dict.fromkeys(r.error for r in results if r.status == run_summary.PARENT_FAILED)
    )
    return ("\n\n".join(root_errors) + f"\n\n{run_summary.summary_table(outcomes.values())}\n"
            f"Build logs: dist/images/<name>/build.log; summary: dist/{SUMMARY_FILE}")


@rule(desc="Build, load and report the Kolla images of the run")
async def kolla_run_summary(
    request: KollaRunRequest,
    kolla: KollaSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
    goals: CurrentExecutingGoals,
) -> KollaRunSummary:
    naming = kolla.naming()
    graph = await Get(ImageGraph, ImageGraphRequest(request.addresses))
    try:
        naming.check_unique(graph.nodes.values())  # the images this run builds and their ancestors
    except ImageGraphError as e:
        raise KollaInputError(str(e)) from None
    addresses = request.addresses
    targets = await MultiGet(
        Get(WrappedTarget, WrappedTargetRequest(a, description_of_origin="pants-kolla")) for a in addresses
    )
    results = await MultiGet(Get(ImageBuildResult, BuildImageRequest(a)) for a in addresses)
    outcomes = {
        a: ImageOutcome(r.ref, a.spec, _status(request.run, r), bool(t.target.get(KollaAllowedToFailField).value))
        for a, t, r in zip(addresses, targets, results)
    }
    backend = await Get(BuilderBackend)
    loaded: dict[str, LoadedImage] = {}
    if backend.engine is not None:
        loads = await MultiGet(Get(LoadedImage, LoadImageRequest(r.image)) for r in results if r.image)
        loaded = {lo.ref: lo for lo in loads}
    failure = _failure_message(results, outcomes) if any(not r.ok for r in results) else ""
    to_write = [r for r in results if r.ok or outcomes[r.address].allowed_to_fail]
    written = await MultiGet(
        Get(DistImage, DistImageRequest(r, outcomes[r.address].status, loaded.get(r.ref), kolla.export_archives))
        for r in to_write
    )
    dist_images = {r.address: dist for r, dist in zip(to_write, written)}
    # dist/ of the build root, like Pants' own goals: the process's working directory may be a subdirectory
    # (`cd images && ../pants --no-pantsd package ./cron`).
    root = os.path.join(build_root.path, dist_dir.relpath)
    packages = {}
    for result in results:
        folder = naming.dist_dir(graph.node(result.address))
        dist = dist_images.get(result.address)
        lo = loaded.get(result.ref)
        if dist is None:
            packages[result.address] = ImagePackage(folder, EMPTY_DIGEST, "", failure)
        elif lo is not None and lo.error:
            packages[result.address] = ImagePackage(folder, EMPTY_DIGEST, "", lo.error)
        else:
            dist_files.remove_stale(os.path.join(root, folder), dist.paths)
            packages[result.address] = ImagePackage(folder, dist.files, dist.status_line)
    if any(goals.is_running(goal) for goal in REPORTING_GOALS):  # not for a package `test` or `run` needs
        failed = [r for r in results if not r.ok]
        logs = await MultiGet(Get(DigestContents, Digest, r.log) for r in failed)
        # Only a summary of the whole run reports (a rule that started early asks again once the others
        # are recorded), and never over a larger one; no `await` from here to the write.
        whole_run = kolla_runs.images(request.run) == frozenset(addresses)
        if whole_run and kolla_runs.claim_report(request.run, len(addresses)):
            _write_reports(root, graph, naming, outcomes, failed, logs)
            logger.info(run_summary.summary_table(outcomes.values()))
    return KollaRunSummary(FrozenDict(outcomes), FrozenDict(packages))


def _write_reports(root, graph, naming, outcomes, failed_results, failed_logs) -> None:
    for result, log in zip(failed_results, failed_logs):
        folder = os.path.join(root, naming.dist_dir(graph.node(result.address)))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "build.log"), "wb") as f:
            f.write(log[0].content if log else result.error.encode())
    # Kolla lists the images its filter did not match; a run reads only the images it packages and their
    # ancestors, so the ancestors it did not package are all it knows of.
    not_matched = [naming.ref(n) for a, n in graph.nodes.items() if a not in outcomes]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, SUMMARY_FILE), "w") as f:
        json.dump(run_summary.summary_json(outcomes.values(), not_matched), f, indent=2, sort_keys=True)


def rules():
    return collect_rules()
