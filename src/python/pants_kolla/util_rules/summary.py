"""Rule: the end of a `package` run over Kolla images. Waits for every selected image (so one failure
never stops independent branches), loads the good ones into the engine, writes Kolla's summary JSON and
the logs of failed images to dist/, and logs the summary."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

from pants.base.build_environment import get_buildroot
from pants.base.specs import Specs
from pants.base.specs_parser import SpecsParser
from pants.core.util_rules.distdir import DistDir
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.options_parsing import _Options
from pants.engine.internals.session import RunId
from pants.engine.process import ProcessResultMetadata
from pants.engine.rules import Get, MultiGet, _uncacheable_rule, collect_rules
from pants.engine.target import FilteredTargets
from pants.util.frozendict import FrozenDict

from pants_kolla import run_summary
from pants_kolla.run_summary import ImageOutcome
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaAllowedToFailField
from pants_kolla.util_rules.build import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.engine import BuilderBackend
from pants_kolla.util_rules.image_graph import KollaRepo
from pants_kolla.util_rules.load import LoadedImage, LoadImageRequest

logger = logging.getLogger(__name__)
SUMMARY_FILE = "kolla-summary.json"


@dataclass(frozen=True)
class KollaRunSummary:
    outcomes: FrozenDict  # Address -> ImageOutcome
    loaded: FrozenDict  # ref -> LoadedImage
    engine_loaded: bool
    root_errors: tuple[str, ...]  # errors of images that failed themselves, not because of a parent


def _status(result: ImageBuildResult, run_id: RunId) -> str:
    if result.status != run_summary.BUILT or result.metadata is None:
        return result.status
    ran_now = result.metadata.source(run_id) == ProcessResultMetadata.Source.RAN
    return run_summary.BUILT if ran_now else run_summary.CACHED


async def _selected_targets(options: _Options) -> FilteredTargets:
    """The targets this run's command line selects (with `--tag` filters). Pants gives `Specs` only to
    goal rules; the summary, reached from `package`'s per-target rules, parses them again."""
    specs = SpecsParser(working_dir=get_buildroot()).parse_specs(
        options.options.specs, description_of_origin="CLI arguments"
    )
    return await Get(FilteredTargets, Specs, specs)


# Uncacheable: it reports on this run, and Pants' memoization would skip it on a no-op run.
@_uncacheable_rule(desc="Summarize the Kolla image build")
async def kolla_run_summary(
    options: _Options, repo: KollaRepo, run_id: RunId, kolla: KollaSubsystem, dist_dir: DistDir
) -> KollaRunSummary:
    targets = await _selected_targets(options)
    selected = [t for t in targets if t.address in repo.graph.nodes]
    results = await MultiGet(Get(ImageBuildResult, BuildImageRequest(t.address)) for t in selected)
    outcomes = {
        t.address: ImageOutcome(r.ref, t.address.spec, _status(r, run_id),
                                bool(t.get(KollaAllowedToFailField).value))
        for t, r in zip(selected, results)
    }
    backend = await Get(BuilderBackend)
    loaded: dict[str, LoadedImage] = {}
    if backend.engine is not None:
        loads = await MultiGet(Get(LoadedImage, LoadImageRequest(r.image)) for r in results if r.image)
        loaded = {lo.ref: lo for lo in loads}
    failed_logs = await MultiGet(Get(DigestContents, Digest, r.log) for r in results if not r.ok)
    _write_reports(kolla, repo, dist_dir, selected, outcomes, [r for r in results if not r.ok], failed_logs)
    logger.info(run_summary.summary_table(outcomes.values()))
    # Failed images first; a parent failure outside the selection shows through its descendants.
    root_errors = tuple(r.error for r in results if r.status == run_summary.FAILED) or tuple(
        dict.fromkeys(r.error for r in results if r.status == run_summary.PARENT_FAILED)
    )
    return KollaRunSummary(FrozenDict(outcomes), FrozenDict(loaded), backend.engine is not None,
                           root_errors)


def _write_reports(kolla, repo, dist_dir, selected, outcomes, failed_results, failed_logs) -> None:
    """Written here rather than by `package` because a failed image makes `package` exit before it
    writes anything: the logs of failures and the summary must survive that (nothing lost)."""
    naming = kolla.naming()
    root = str(dist_dir.relpath)
    for result, log in zip(failed_results, failed_logs):
        folder = os.path.join(root, naming.dist_dir(repo.graph.node(result.address)))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "build.log"), "wb") as f:
            f.write(log[0].content if log else result.error.encode())
    not_matched = [naming.ref(n) for a, n in repo.graph.nodes.items() if a not in outcomes]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, SUMMARY_FILE), "w") as f:
        json.dump(run_summary.summary_json(outcomes.values(), not_matched), f, indent=2, sort_keys=True)


def rules():
    return collect_rules()
