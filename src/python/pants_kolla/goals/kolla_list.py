"""`pants kolla-list`: Kolla's `--list-images`. One line per image: install type, full name, parent."""

from __future__ import annotations

from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem, LineOriented
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import Targets

from pants_kolla.core.graph_export import as_lines
from pants_kolla.goals.image_selection import selected_image_rows
from pants_kolla.subsystems.kolla import KollaSubsystem


class KollaListSubsystem(LineOriented, GoalSubsystem):
    name = "kolla-list"
    help = "List the selected images and their ancestors: install type, full image name, parent image."


class KollaList(Goal):
    subsystem_cls = KollaListSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def kolla_list(
    targets: Targets, kolla: KollaSubsystem, console: Console, subsystem: KollaListSubsystem
) -> KollaList:
    rows = await selected_image_rows(targets, kolla.naming())
    with subsystem.line_oriented(console) as print_stdout:
        for line in as_lines(rows):
            print_stdout(line)
    return KollaList(exit_code=0)


def rules():
    return collect_rules()
