"""Rule: which image builders the remote worker has, asked on the worker itself.

Every build runs where Pants sends its processes; under `--remote-execution` that is a worker whose
tools this machine cannot see. So the builder (and its version, which enters every build's cache key)
is chosen from what a probe process reports from the worker, once per run, before any build.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from pants.engine.fs import Digest, DigestContents
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.util_rules.builder_process import (
    ENGINE_NAMED_CACHE,
    ENGINE_SANDBOX_SOCKET,
    BuilderProcess,
    UncheckedBuilder,
)
from pants_kolla.util_rules.per_session import PerSession
from pants_kolla.util_rules.remote_execution import RemoteExecution


@dataclass(frozen=True)
class WorkerTools(PerSession):
    """The builders the machine that runs this run's processes has (builder/tool_probe.py)."""

    host: str
    docker: str | None  # the engine's version
    docker_where: str
    buildah: str | None
    where: str  # "the remote worker <host> (<executor address>)"


# Per session (WorkerTools is a PerSession value, the process PER_SESSION): the worker's tools may change
# between runs.
@rule(desc="Ask the remote worker which image builders it has", level=LogLevel.DEBUG)
async def worker_tools(builder: UncheckedBuilder, remote: RemoteExecution) -> WorkerTools:
    process = await Get(
        Process,
        BuilderProcess(
            builder=builder,
            argv=("probe", "--out", "probe.json"),
            description="Asking the remote worker which image builders it has",
            output_files=("probe.json",),
            engine_env=FrozenDict({"KOLLA_ENGINE_SOCKET": ENGINE_SANDBOX_SOCKET}),
            append_only_caches=FrozenDict({ENGINE_NAMED_CACHE: os.path.dirname(ENGINE_SANDBOX_SOCKET)}),
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
    )
    result = await Get(ProcessResult, Process, process)
    report = json.loads((await Get(DigestContents, Digest, result.output_digest))[0].content)
    where = f"the remote worker {report['host']} ({remote.address})"
    return WorkerTools(
        host=report["host"],
        docker=report["docker"],
        docker_where=report["docker_where"],
        buildah=report["buildah"],
        where=where,
    )


def rules():
    return collect_rules()
