"""`pants kolla-graph`: the image dependency graph as JSON or Graphviz dot (Kolla's
`--list-dependencies` / `--save-dependency`), on stdout or into `--output-file`."""

from __future__ import annotations

from enum import Enum

from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem, Outputting
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import EnumOption

from pants_kolla.core.graph_export import as_dot, as_json
from pants_kolla.goals.image_selection import selected_image_rows
from pants_kolla.subsystems.kolla import KollaSubsystem


class GraphFormat(Enum):
    json = "json"
    dot = "dot"


class KollaGraphSubsystem(Outputting, GoalSubsystem):
    name = "kolla-graph"
    help = (
        "Print the dependency graph of the selected images and their ancestors as JSON or Graphviz dot "
        "(`--output-file=dist/images.dot` to save it)."
    )
    format = EnumOption(
        default=GraphFormat.json, help="`json` (nodes with their parent) or `dot` (Graphviz)."
    )


class KollaGraph(Goal):
    subsystem_cls = KollaGraphSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def kolla_graph(
    targets: Targets, kolla: KollaSubsystem, console: Console, subsystem: KollaGraphSubsystem
) -> KollaGraph:
    rows = await selected_image_rows(targets, kolla.naming())
    text = as_dot(rows) if subsystem.format == GraphFormat.dot else as_json(rows)
    with subsystem.output(console) as write_stdout:
        write_stdout(text)
    return KollaGraph(exit_code=0)


def rules():
    return collect_rules()
