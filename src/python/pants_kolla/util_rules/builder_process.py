"""Rules: the builder's PEX, and the one rule that turns a builder invocation into its `Process`.

Every process of the builder (build, rootfs, pull, load, push, probe) is made here, so PATH, the
engine's env and named caches, immutable inputs and the remote-cache head start are set in one place
(as Pants' helm backend does with `HelmProcess`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest
from pants.engine.process import Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.subsystems.builder_tool import FIXED_PATH, KollaBuilder
from pants_kolla.util_rules.remote_execution import RemoteExecution

# With remote cache reads, Pants starts each action while it looks the action cache up and cancels it on a
# hit; a remote worker has by then begun the build (Bazel's runs it to the end). Under remote execution
# cacheable builds wait this long for the lookup first (not in the cache key): a lookup takes
# milliseconds with `--cache-content-behavior=validate`; `fetch` (the default) waits for the outputs.
REMOTE_LOOKUP_HEAD_START_MS = 1000


@dataclass(frozen=True)
class UncheckedBuilderPex:
    """The builder before the prerequisites check: for the remote worker's probe, which that check
    waits for (util_rules/worker_probe.py). Everything else takes `BuilderPex` (util_rules/prerequisites.py).
    """

    pex: VenvPex


@dataclass(frozen=True)
class BuilderProcess:
    """One run of the builder: its arguments, its inputs and outputs, and the engine it talks to."""

    pex: VenvPex
    argv: tuple[str, ...]
    description: str
    input_digest: Digest = EMPTY_DIGEST
    # Big inputs (image archives) by name: materialized once and linked into the sandbox, not copied.
    # They stay in the cache key.
    immutable_inputs: FrozenDict[str, Digest] = FrozenDict()
    output_files: tuple[str, ...] = ()
    output_directories: tuple[str, ...] = ()
    # The engine's env and named caches (util_rules/engine_endpoint.py), or none (buildah, rootfs, pull).
    engine_env: FrozenDict[str, str] = FrozenDict()
    extra_env: FrozenDict[str, str] = FrozenDict()
    append_only_caches: FrozenDict[str, str] = FrozenDict()
    cache_scope: ProcessCacheScope = ProcessCacheScope.SUCCESSFUL
    level: LogLevel = LogLevel.INFO


@rule(desc="Prepare the kolla image builder")
async def unchecked_builder_pex(builder: KollaBuilder) -> UncheckedBuilderPex:
    # Under remote execution: the executor answers (one clear error, not Pants' ~50 s of retries).
    (await Get(RemoteExecution)).raise_failure()
    script = await Get(Digest, CreateDigest, builder.script_digest_request())
    request = builder.to_pex_request(interpreter_constraints=builder.interpreter_constraints, sources=script)
    pex = await Get(VenvPex, PexRequest, request)
    return UncheckedBuilderPex(pex)


@rule(level=LogLevel.DEBUG)
async def builder_process(request: BuilderProcess) -> Process:
    process = await Get(
        Process,
        VenvPexProcess(
            request.pex,
            argv=request.argv,
            input_digest=request.input_digest,
            extra_env={"PATH": FIXED_PATH, **request.engine_env, **request.extra_env},
            append_only_caches=request.append_only_caches,
            output_files=request.output_files,
            output_directories=request.output_directories,
            cache_scope=request.cache_scope,
            description=request.description,
            level=request.level,
        ),
    )
    process = dataclasses.replace(
        process,
        immutable_input_digests=FrozenDict({**process.immutable_input_digests, **request.immutable_inputs}),
    )
    if request.cache_scope == ProcessCacheScope.SUCCESSFUL and (await Get(RemoteExecution)).remote:
        process = dataclasses.replace(
            process, remote_cache_speculation_delay_millis=REMOTE_LOOKUP_HEAD_START_MS
        )
    return process


def rules():
    return collect_rules()
