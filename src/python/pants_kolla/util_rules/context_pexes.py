"""PEX files in a `source` image's build context: a `pex_binary` listed in a `kolla_image`'s dependencies
is built by Pants on the host (from its resolve's lockfile) and lands at the context root under its file
name, e.g. `keystone.pex`, for the Dockerfile to `COPY` and unpack into a venv. So no package index is
reached from inside an image build, and no CA bundle ever enters a layer.

Only `source` variants get them: a parametrized image lists the same dependencies for both install types,
and a binary image must not be rebuilt (or wait for a resolve) when the wheels change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.backend.python.goals.package_pex_binary import PexBinaryFieldSet
from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, DigestEntries, FileEntry
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import Targets, WrappedTarget, WrappedTargetRequest

from pants_kolla.core.errors import KollaInputError, where
from pants_kolla.core.install_types import InstallType
from pants_kolla.target_types import KollaInstallTypeField


class DuplicateContextPex(KollaInputError):
    pass


@dataclass(frozen=True)
class ContextPexRequest:
    image: Address
    dependencies: Targets


@dataclass(frozen=True)
class ContextPexes:
    digest: Digest


@rule(desc="Build the PEX files of a source image's context")
async def context_pexes(request: ContextPexRequest) -> ContextPexes:
    field_sets = [
        PexBinaryFieldSet.create(t) for t in request.dependencies if PexBinaryFieldSet.is_applicable(t)
    ]
    if not field_sets:
        return ContextPexes(EMPTY_DIGEST)
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.image, description_of_origin="pants-kolla")
    )
    if wrapped.target[KollaInstallTypeField].value != InstallType.SOURCE:
        return ContextPexes(EMPTY_DIGEST)
    packages = await MultiGet(Get(BuiltPackage, PackageFieldSet, fs) for fs in field_sets)
    entries = await MultiGet(Get(DigestEntries, Digest, p.digest) for p in packages)
    flat: dict[str, FileEntry] = {}
    for entry in (e for es in entries for e in es):
        if not isinstance(entry, FileEntry):
            continue
        name = os.path.basename(entry.path)
        if name in flat and flat[name].file_digest != entry.file_digest:
            raise DuplicateContextPex(
                f"{where(request.image, 'dependencies')}: two pex_binary dependencies both make "
                f"`{name}`, and a build context has one file of each name: give one of them another "
                "`output_path`."
            )
        flat[name] = FileEntry(name, entry.file_digest, entry.is_executable)
    return ContextPexes(await Get(Digest, CreateDigest(flat.values())))


def rules():
    return collect_rules()
