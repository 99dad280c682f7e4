"""Rule results Pants recomputes in every session, through its public mechanism."""

from __future__ import annotations

from pants.engine.engine_aware import EngineAwareReturnType


class PerSession(EngineAwareReturnType):
    """`EngineAwareReturnType.cacheable()` False: "an uncacheable value is recomputed in each Session",
    and the rules that use it are checked again. For what the machine may have changed since the last
    run (the engine, installed tools) and for per-run side effects. A rule returning it must return
    failures that depend on the machine rather than raise them: a raised error is memoized like any
    other result until its inputs change."""

    def cacheable(self) -> bool:
        return False
