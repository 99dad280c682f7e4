"""Rule: the run a `package` or `publish` goal makes of its Kolla images, named by a new token per session.

Why the rules keyed by a token ask `is_current`: with pantsd, Pants checks a rule memoized in the last
session by asking again for every dependency it had then, all at once, before it knows that one of them
(this token) changed. That asks again for the last run's per-session results (`ImageRun` and
`KollaRunReport` of the old token), which would run again in this session: the old run would write and
log its report a second time, and claim this run's fresh build as its own (the summary said "0 built,
1 cached" for an image built by this run). A rule asked for with a stale token returns at once, empty.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pants.engine.rules import collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.util_rules.per_session import PerSession


@dataclass(frozen=True)
class KollaRun(PerSession):
    """A new token in every session: it names the run in package_run/run_registry.py, and the rules that read it run
    again in every session."""

    token: str

    def is_current(self, token: str) -> bool:
        return token == self.token


@rule(desc="Start a Kolla run", level=LogLevel.DEBUG)
async def kolla_run() -> KollaRun:
    return KollaRun(uuid.uuid4().hex)


def rules():
    return collect_rules()
