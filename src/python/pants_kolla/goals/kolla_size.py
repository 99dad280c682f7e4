"""`pants kolla-size`: what every selected image costs, from what Pants holds (no engine): a terminal
table, `dist/kolla-size/report.json` and `dist/kolla-size/index.html` (the tree as a picture); with
`[kolla-size].baseline`, a failure for every image that grew beyond `[kolla-size].growth_limit`, and for
every image beyond its `max_size` (a lint-style exit code for CI)."""

from __future__ import annotations

import json
import os

from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent, PathGlobs, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import BoolOption, StrOption
from pants.util.strutil import softwrap

from pants_kolla.core.errors import KollaInputError
from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.size_budget import SizeError, baseline, violations
from pants_kolla.core.size_page import page
from pants_kolla.core.size_report import size_report, table_lines
from pants_kolla.core.size_suggestions import ImageFiles, file_suggestions, suggestions
from pants_kolla.goals.image_selection import selected_images
from pants_kolla.target_types import KollaMaxSizeField
from pants_kolla.util_rules.image_file_index import ImageFileIndex, ImageFileIndexRequest
from pants_kolla.util_rules.image_sizes import ImageSizesRequest, MeasuredImage
from pants_kolla.util_rules.image_tree_targets import is_image

REPORT_DIR = "kolla-size"


class KollaSizeSubsystem(GoalSubsystem):
    name = "kolla-size"
    help = "Report what the selected images cost (table, JSON, HTML picture); check size budgets."

    write_baseline = StrOption(
        default="",
        help="Record every selected image's size in this file (from the build root), for `baseline`.",
    )
    baseline = StrOption(
        default="",
        help=softwrap(
            """
            A file `--write-baseline` wrote (from the build root). When set, every image that grew beyond
            `growth_limit` since then is a failure.
            """
        ),
    )
    growth_limit = StrOption(
        default="5%",
        help="How much an image may grow over `baseline`: a percentage (`5%`) or a size (`20MiB`).",
    )
    suggest_files = BoolOption(
        default=False,
        help=softwrap(
            """
            Also suggest files (path and content) that two or more children of a parent add on their own:
            indexes each image's own layers once (a cached process per image).
            """
        ),
    )
    compressed = BoolOption(
        default=False,
        help=softwrap(
            """
            Also report compressed (gzip) sizes: compresses each layer once, as `kolla-publish` does (and
            shares that cached work with it).
            """
        ),
    )


class KollaSize(Goal):
    subsystem_cls = KollaSizeSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


async def _recorded(path: str) -> dict:
    contents = await Get(DigestContents, PathGlobs([path]))
    if not contents:
        raise KollaInputError(
            f"[kolla-size].baseline: {path} does not exist (write it with `kolla-size --write-baseline={path}`)"
        )
    try:
        return json.loads(contents[0].content)
    except ValueError as e:
        raise KollaInputError(f"[kolla-size].baseline: {path} is not a baseline kolla-size wrote: {e}")


async def _file_suggestions(nodes: list[ImageNode], measured: tuple[MeasuredImage, ...]) -> list[dict]:
    built = [(n, m.sizes) for n, m in zip(nodes, measured) if m.sizes is not None]
    indexes = await MultiGet(
        Get(ImageFileIndex, ImageFileIndexRequest(n.address, sizes.inherited)) for n, sizes in built
    )
    return file_suggestions(
        [ImageFiles(sizes.name, sizes.parent, index.files) for (_, sizes), index in zip(built, indexes)]
    )


@goal_rule
async def kolla_size(
    targets: Targets,
    console: Console,
    workspace: Workspace,
    dist_dir: DistDir,
    subsystem: KollaSizeSubsystem,
) -> KollaSize:
    nodes = selected_images(targets)
    measured = await MultiGet(
        Get(MeasuredImage, ImageSizesRequest(n.address, subsystem.compressed)) for n in nodes
    )
    missing = [n.address.spec for n, m in zip(nodes, measured) if m.sizes is None]
    report = size_report([m.sizes for m in measured if m.sizes is not None])
    report["suggestions"] = suggestions([m.packages for m in measured if m.packages is not None])
    if subsystem.suggest_files:
        report["file_suggestions"] = await _file_suggestions(nodes, measured)
    files = [
        FileContent(f"{REPORT_DIR}/report.json", json.dumps(report, indent=2, sort_keys=True).encode()),
        FileContent(f"{REPORT_DIR}/index.html", page(report).encode()),
    ]
    workspace.write_digest(await Get(Digest, CreateDigest(files)), path_prefix=str(dist_dir.relpath))
    for line in table_lines(report):
        console.print_stdout(line)
    for suggestion in [*report["suggestions"][:5], *report.get("file_suggestions", [])[:5]]:
        console.print_stdout(f"suggestion: {suggestion['text']}")
    console.print_stderr(
        f"Wrote {os.path.join(str(dist_dir.relpath), REPORT_DIR)}/report.json and index.html"
    )
    if subsystem.write_baseline:
        content = json.dumps(baseline(report), indent=2, sort_keys=True).encode()
        workspace.write_digest(
            await Get(Digest, CreateDigest([FileContent(subsystem.write_baseline, content)]))
        )
        console.print_stderr(f"Wrote the baseline {subsystem.write_baseline}")
    max_sizes: dict[str, str] = {}
    for target, image in zip((t for t in targets if is_image(t)), measured):
        limit = target.get(KollaMaxSizeField).value
        if image.sizes is not None and limit:
            max_sizes[image.sizes.name] = limit
    recorded = await _recorded(subsystem.baseline) if subsystem.baseline else {}
    try:
        broken = violations(report, recorded, subsystem.growth_limit if recorded else "", max_sizes)
    except SizeError as e:
        raise KollaInputError(f"[kolla-size].growth_limit: {e}")
    for line in broken:
        console.print_stderr(f"size budget: {line}")
    for spec in missing:
        console.print_stderr(f"{spec} was not built: run `pants package {spec}` to see why")
    return KollaSize(exit_code=1 if broken or missing else 0)


def rules():
    return collect_rules()
