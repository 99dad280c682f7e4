"""`pants kolla-publish`: publish every selected image as one release.

Every image's blobs and manifest go up by digest first, `[kolla].push_jobs` images at a time, each after
its parent; the tags move only when all of them succeeded (`--kolla-publish-partial` moves those that
did). The report (per image and in total: layers uploaded, mounted, already present, bytes sent, the
manifest digest and the tags moved) is printed and written to `dist/kolla-publish.json`.
"""

from __future__ import annotations

import json
import os

from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.environment import ChosenLocalEnvironmentName, EnvironmentName
from pants.engine.fs import CreateDigest, Digest, FileContent, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import InteractiveProcess, InteractiveProcessResult
from pants.engine.rules import Effect, Get, collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.global_options import GlobalOptions
from pants.option.option_types import BoolOption
from pants.util.strutil import softwrap

from pants_kolla.goals.image_selection import selected_images
from pants_kolla.package_run.run_token import KollaRun
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.util_rules.publish_plan import (
    STATE_CACHE,
    PublishPlan,
    PublishPlanRequest,
    PublishProcessRequest,
)

REPORT_FILE = "kolla-publish.json"


class KollaPublishSubsystem(GoalSubsystem):
    name = "kolla-publish"
    help = (
        "Push the selected images to `[kolla].registry` as one release: all by digest, then every tag "
        "(or none); report in dist/kolla-publish.json."
    )

    partial = BoolOption(
        default=False,
        help=softwrap(
            """
            When an image fails to build or push, still publish the others and move their tags. By
            default a failure moves no tag at all: every image's blobs and manifest go up by digest
            first, and the tags move only when all of them did.
            """
        ),
    )


class KollaPublish(Goal):
    subsystem_cls = KollaPublishSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def _read_report(global_options: GlobalOptions, token: str) -> dict | None:
    path = os.path.join(str(global_options.named_caches_dir), STATE_CACHE, f"{token}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


@goal_rule
async def kolla_publish(
    targets: Targets,
    console: Console,
    workspace: Workspace,
    dist_dir: DistDir,
    kolla: KollaSubsystem,
    global_options: GlobalOptions,
    subsystem: KollaPublishSubsystem,
    local_environment: ChosenLocalEnvironmentName,
) -> KollaPublish:
    if not kolla.registry:
        console.print_stderr("Nothing published: no `[kolla].registry` is set (--kolla-registry=host:port).")
        return KollaPublish(exit_code=1)
    addresses = tuple(n.address for n in selected_images(targets))
    plan = await Get(PublishPlan, PublishPlanRequest(addresses, partial=subsystem.partial))
    run = await Get(KollaRun)
    if plan.not_built and not subsystem.partial:
        # A release is every selected image or none: nothing goes up when one of them is missing.
        console.print_stderr(
            f"Nothing published: {', '.join(plan.not_built)} could not be built (`pants package` says why); "
            "--kolla-publish-partial publishes the others."
        )
        return KollaPublish(exit_code=1)
    for ref in plan.not_built:
        console.print_stderr(f"{ref} was not built: not published")
    process = await Get(
        InteractiveProcess,
        PublishProcessRequest(
            plan, run.token, f"Publishing {len(plan.repositories)} image(s) to {kolla.registry}"
        ),
    )
    # On this machine, as Pants' publish runs its processes, also under remote execution.
    result = await Effect(
        InteractiveProcessResult, {process: InteractiveProcess, local_environment.val: EnvironmentName}
    )
    report = _read_report(global_options, run.token)
    if report is not None:
        content = json.dumps(report, indent=2, sort_keys=True).encode()
        digest = await Get(Digest, CreateDigest([FileContent(REPORT_FILE, content)]))
        workspace.write_digest(digest, path_prefix=str(dist_dir.relpath))
        console.print_stderr(f"Wrote {os.path.join(str(dist_dir.relpath), REPORT_FILE)}")
    return KollaPublish(exit_code=result.exit_code or (1 if plan.not_built else 0))


def rules():
    return collect_rules()
