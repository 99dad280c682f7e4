"""Rule results Pants recomputes in every session, through its public mechanism."""

from __future__ import annotations

from typing import ClassVar

from pants.engine.engine_aware import EngineAwareReturnType


class PerSession(EngineAwareReturnType):
    """`EngineAwareReturnType.cacheable()` False: "an uncacheable value is recomputed in each Session",
    and the rules that use it are checked again. For what the machine may have changed since the last
    run (the engine, installed tools) and for per-run side effects."""

    def cacheable(self) -> bool:
        return False


class PerSessionCheck(PerSession):
    """A per-session check whose failure depends on the machine. The rule making it returns the failure
    (in `failure`) rather than raising it, because a raised error is memoized like any other result
    until its inputs change: the next session would repeat it even after the user started the engine or
    installed the tool. The (memoized) rules that need the check to pass call `raise_failure()`."""

    raises: ClassVar[type[Exception]]  # what `raise_failure` raises, with `failure` as its message
    failure: str  # a field or property of each check: "" when it passed

    def raise_failure(self) -> None:
        if self.failure:
            raise self.raises(self.failure)
