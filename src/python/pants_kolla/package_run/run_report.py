"""Rules: the run a `package` or `publish` goal makes of its Kolla images, and the run's reports.

Each package rule gets its image's `ImageRun` (package_run/image_run.py); the one that finishes last (run_registry.py)
asks for the report: Kolla's summary JSON and the logs of failed images in dist/, and the summary table
in the log. Those side effects happen here rather than in Pants' `package` goal (which writes each
image's files) because that goal writes nothing once any package raised, and nothing runs after it: a
run with a failure must still leave the failure's log and the summary in dist/ (nothing lost).

Per session, through Pants' public mechanism: `KollaRunReport` is `PerSession`
(`EngineAwareReturnType.cacheable()` False: "an uncacheable value is recomputed in each Session"), and
a report asked for with the last session's token is not written (package_run/run_token.py says why).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Iterable

from pants.base.build_root import BuildRoot
from pants.core.goals.package import PackageSubsystem
from pants.core.goals.publish import PublishSubsystem
from pants.core.util_rules.distdir import DistDir
from pants.engine.fs import Digest, DigestContents
from pants.engine.goal import CurrentExecutingGoals
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.core import run_summary
from pants_kolla.core.run_summary import ImageStatus
from pants_kolla.package_run import run_registry
from pants_kolla.package_run.image_run import ImageRun
from pants_kolla.package_run.run_token import KollaRun
from pants_kolla.util_rules.per_session import PerSession

logger = logging.getLogger(__name__)
SUMMARY_FILE = "kolla-summary.json"
REPORTING_GOALS = (PackageSubsystem.name, PublishSubsystem.name)


def failure_message(runs: Iterable[ImageRun]) -> str:
    """Every failed image raises the same message, root causes first, whichever Pants shows. A parent
    failure outside the selection shows through its descendants."""
    runs = list(runs)
    root_errors = [r.build_error for r in runs if r.outcome.status == ImageStatus.FAILED] or list(
        dict.fromkeys(r.build_error for r in runs if r.outcome.status == ImageStatus.PARENT_FAILED)
    )
    return (
        "\n\n".join(root_errors) + f"\n\n{run_summary.summary_table(r.outcome for r in runs)}\n"
        f"Build logs: dist/images/<name>/build.log; summary: dist/{SUMMARY_FILE}"
    )


@dataclass(frozen=True)
class KollaRunReportRequest:
    run: str
    images: tuple[ImageRun, ...]  # every image of the run recorded so far


@dataclass(frozen=True)
class KollaRunReport(PerSession):
    written: bool


@rule(desc="Report the Kolla images of the run", level=LogLevel.DEBUG)
async def kolla_run_report(
    request: KollaRunReportRequest, build_root: BuildRoot, dist_dir: DistDir, goals: CurrentExecutingGoals
) -> KollaRunReport:
    if not any(goals.is_running(goal) for goal in REPORTING_GOALS):  # not for a package `test` or `run` needs
        return KollaRunReport(False)
    if not (await Get(KollaRun)).is_current(request.run):
        return KollaRunReport(False)
    failed = [r for r in request.images if r.failed]
    logs = await MultiGet(Get(DigestContents, Digest, r.log) for r in failed)
    # Never over the report of a larger part of the run (a rule that finished early may hold a smaller
    # one); no `await` from here to the write.
    if not run_registry.claim_report(request.run, len(request.images)):
        return KollaRunReport(False)
    # dist/ of the build root, like Pants' own goals: the process's working directory may be a subdirectory.
    root = os.path.join(build_root.path, dist_dir.relpath)
    for run, log in zip(failed, logs):
        folder = os.path.join(root, run.folder)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "build.log"), "wb") as f:
            f.write(log[0].content if log else run.build_error.encode())
    outcomes = [r.outcome for r in request.images]
    # Kolla lists the images its filter did not match; a run reads only the images it packages and their
    # ancestors, so the ancestors it did not package are all it knows of.
    packaged = {o.name for o in outcomes}
    not_matched = {ref for r in request.images for ref in r.ancestor_refs} - packaged
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, SUMMARY_FILE), "w") as f:
        json.dump(run_summary.summary_json(outcomes, not_matched), f, indent=2, sort_keys=True)
    logger.info(run_summary.summary_table(outcomes))
    return KollaRunReport(True)


def rules():
    return collect_rules()
