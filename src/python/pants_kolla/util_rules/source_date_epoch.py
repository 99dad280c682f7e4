"""Rule: `[kolla].source_date_epoch` is a time in the past, checked before any build: a future one would
make builds non-reproducible, which no cache could notice."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from pants.engine.rules import collect_rules, rule

from pants_kolla.core import field_checks
from pants_kolla.core.errors import KollaInputError
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.util_rules.per_session import PerSessionCheck


@dataclass(frozen=True)
class SourceDateEpochCheck(PerSessionCheck):
    """Per session because it reads the clock: an epoch rejected today is valid once it has passed."""

    failure: str
    raises: ClassVar = KollaInputError


@rule(desc="Check [kolla].source_date_epoch")
async def source_date_epoch_check(kolla: KollaSubsystem) -> SourceDateEpochCheck:
    problem = field_checks.source_date_epoch_problem(kolla.source_date_epoch, time.time())
    return SourceDateEpochCheck(
        f"`[kolla].source_date_epoch` (--kolla-source-date-epoch): {problem}." if problem else ""
    )


def rules():
    return collect_rules()
