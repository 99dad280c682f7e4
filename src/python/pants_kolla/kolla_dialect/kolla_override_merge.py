"""kolla-build's `--template-override` semantics (KollaWorker._merge_overrides), pure.

Kolla concatenates the override files into one template named after the first: every later file loses
its `{% extends ... %}` line(s), so only the first need extend `parent_template` (the image's template,
given as a Template object), and a block defined in two files is Jinja's "defined twice" error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Sequence

from pants_kolla.core.template_overrides import TemplateOverride

_EXTENDS = re.compile(r"\{\%.*extends")


@dataclass(frozen=True)
class MergedOverride:
    name: str  # the first file's name, as Kolla's DictLoader has it
    content: str
    origins: tuple[tuple[str, int], ...]  # file and line of each line of `content`, for errors

    def locate(self, line: int) -> tuple[str, int]:
        return self.origins[min(max(line, 1), len(self.origins)) - 1]


def merge_overrides(overrides: Sequence[TemplateOverride]) -> MergedOverride:
    r"""Kolla's `re.sub(r'.*\{\%.*extends.*\n', '', ...)` on each later file, that is: its lines holding
    `{%` then `extends` are dropped, newline included (a last line without one is kept)."""
    content = overrides[0].content
    # One entry per `content.split("\n")` item: the last is the (maybe empty) unfinished line.
    origins = [(overrides[0].path, n) for n in range(1, content.count("\n") + 2)]
    for override in overrides[1:]:
        kept = [
            (n, line)
            for n, line in enumerate(override.content.splitlines(keepends=True), 1)
            if not (line.endswith("\n") and _EXTENDS.search(line))
        ]
        text = "".join(line for _, line in kept)
        entries = [(override.path, n) for n, _ in kept]
        if not text or text.endswith("\n"):
            entries.append((override.path, kept[-1][0] + 1 if kept else 1))
        # Kolla appends without a separator: an unfinished last line joins the next file's first line.
        unfinished = origins.pop()
        if not content.endswith("\n"):
            entries[0] = unfinished
        origins.extend(entries)
        content += text
    return MergedOverride(os.path.basename(overrides[0].path), content, tuple(origins))
