"""Remote execution: which image builders the worker has, asked on the worker itself.

Every build runs where Pants sends its processes; under `--remote-execution` that is a worker whose
tools this machine cannot see. So the builder (and its version, which enters every build's cache key)
is chosen from what a probe process reports from the worker, once per run, before any build.
"""

from __future__ import annotations

import json
import os

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.engine.fs import Digest, DigestContents
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.util_rules.build import FIXED_PATH, UncheckedBuilderPex
from pants_kolla.util_rules.engine import NAMED_CACHE, SANDBOX_SOCKET, RemoteExecution, WorkerTools


# Per session (WorkerTools is a PerSession value, the process PER_SESSION): the worker's tools may change
# between runs.
@rule(desc="Ask the remote worker which image builders it has", level=LogLevel.DEBUG)
async def worker_tools(builder: UncheckedBuilderPex, remote: RemoteExecution) -> WorkerTools:
    process = await Get(
        Process,
        VenvPexProcess(
            builder.pex,
            argv=["probe", "--out", "probe.json"],
            extra_env={"PATH": FIXED_PATH, "KOLLA_ENGINE_SOCKET": SANDBOX_SOCKET},
            append_only_caches={NAMED_CACHE: os.path.dirname(SANDBOX_SOCKET)},
            output_files=("probe.json",),
            cache_scope=ProcessCacheScope.PER_SESSION,
            description="Asking the remote worker which image builders it has",
            level=LogLevel.DEBUG,
        ),
    )
    result = await Get(ProcessResult, Process, process)
    report = json.loads((await Get(DigestContents, Digest, result.output_digest))[0].content)
    where = f"the remote worker {report['host']} ({remote.address})"
    return WorkerTools(report["host"], report["docker"], report["docker_where"], report["buildah"], where)


def rules():
    return collect_rules()
