"""`pants kolla-render`: Kolla's `--template-only`. Writes each selected image's rendered Dockerfile to
`dist/kolla-render/<image name>/Dockerfile`; needs no engine and builds nothing."""

from __future__ import annotations

from pants.core.util_rules import distdir
from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.fs import AddPrefix, Digest, MergeDigests, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets

from pants_kolla.goals.image_selection import selected_kolla_images
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile

RENDER_DIR = "kolla-render"


class KollaRenderSubsystem(GoalSubsystem):
    name = "kolla-render"
    help = f"Render the Dockerfiles of `kolla_image` targets into `dist/{RENDER_DIR}/<image name>/`, without building."


class KollaRender(Goal):
    subsystem_cls = KollaRenderSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def kolla_render(
    targets: Targets, kolla: KollaSubsystem, console: Console, workspace: Workspace, dist_dir: DistDir
) -> KollaRender:
    nodes = selected_kolla_images(targets)
    naming = kolla.naming()
    naming.check_unique(nodes)  # two of them would write one folder
    rendered = await MultiGet(
        Get(RenderedDockerfile, RenderDockerfileRequest(node.address)) for node in nodes
    )
    folders = [f"{RENDER_DIR}/{naming.prefixed_name(node)}" for node in nodes]
    placed = await MultiGet(Get(Digest, AddPrefix(r.digest, folder)) for r, folder in zip(rendered, folders))
    workspace.write_digest(await Get(Digest, MergeDigests(placed)), path_prefix=str(dist_dir.relpath))
    for folder in sorted(folders):
        console.print_stdout(f"Wrote {dist_dir.relpath / folder / 'Dockerfile'}")
    return KollaRender(exit_code=0)


def rules():
    return [*collect_rules(), *distdir.rules()]  # DistDir: core's rule, absent from bare RuleRunners
