"""`pants kolla-sbom`: what the selected images contain, from their SBOMs (building from the cache what
is not built yet). With `--contains=P` (or `P=VERSION`), one line per image that holds P, its address
first, so CI can rebuild or re-publish exactly those: `pants kolla-sbom --contains=openssl images/::`."""

from __future__ import annotations

from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem, LineOriented
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import StrListOption
from pants.util.strutil import softwrap

from pants_kolla.core.sbom import matching
from pants_kolla.goals.image_selection import selected_images
from pants_kolla.util_rules.image_sbom import ImageSbom, ImageSbomRequest


class KollaSbomSubsystem(LineOriented, GoalSubsystem):
    name = "kolla-sbom"
    help = "Show what the selected images contain (Debian packages, Python distributions), or which hold a package."

    contains = StrListOption(
        help=softwrap(
            """
            Print only the images holding one of these packages: a Debian package name, or a Python
            project name, optionally `=VERSION`. Each line: the image's address, its name, the matches.
            """
        )
    )


class KollaSbom(Goal):
    subsystem_cls = KollaSbomSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def _line(sbom: ImageSbom, queries: tuple[str, ...]) -> str | None:
    if not queries:
        return f"{sbom.address.spec} {sbom.ref}: {len(sbom.debs)} Debian packages, {len(sbom.python)} Python distributions"
    found = [m for q in queries for m in matching(q, sbom.debs, sbom.python)]
    return f"{sbom.address.spec} {sbom.ref} {' '.join(found)}" if found else None


@goal_rule
async def kolla_sbom(targets: Targets, console: Console, subsystem: KollaSbomSubsystem) -> KollaSbom:
    images = selected_images(targets)
    sboms = await MultiGet(Get(ImageSbom, ImageSbomRequest(n.address)) for n in images)
    queries = tuple(subsystem.contains)
    failed = [s for s in sboms if s.digest.serialized_bytes_length == 0]
    with subsystem.line_oriented(console) as print_stdout:
        for sbom in sorted(sboms, key=lambda s: s.address.spec):
            line = _line(sbom, queries)
            if line is not None and sbom not in failed:
                print_stdout(line)
    for sbom in failed:
        console.print_stderr(
            f"{sbom.ref} ({sbom.address.spec}) was not built: run `pants package` to see why"
        )
    return KollaSbom(exit_code=1 if failed else 0)


def rules():
    return collect_rules()
