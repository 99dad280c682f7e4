"""Rule: the .debs of an image's lock, as build input, each fetched by sha256.

Pants' `DownloadFile` with the expected digest is content-addressed: a .deb already in the store (local,
or the remote cache's) is never fetched again, and the URL is in no cache key. Only the file names and
sha256 (in the rendered Dockerfile) and the bytes (in the input digest) reach a build's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import AddPrefix, Digest, DownloadFile, FileDigest, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule

from pants_kolla.core.errors import KollaBuildError, display
from pants_kolla.core.package_lock import LockedDeb

# Where a build's sandbox holds the locked .debs (the builder serves them to the RUN steps from there).
DEBS_FOLDER = "debs"


@dataclass(frozen=True)
class LockedDebsRequest:
    address: Address
    debs: tuple[LockedDeb, ...]


@dataclass(frozen=True)
class LockedDebs:
    digest: Digest  # the .debs under DEBS_FOLDER/, by their file names


def _download(deb: LockedDeb) -> DownloadFile:
    return DownloadFile(deb.url, FileDigest(deb.sha256, deb.size))


async def _fetch(address: Address, deb: LockedDeb) -> Digest:
    try:
        return await Get(Digest, DownloadFile, _download(deb))
    except Exception as e:  # noqa: BLE001 - Pants raises its engine's error type for a failed download
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise KollaBuildError(
            f"{deb.name} {deb.version} (locked by {display(address)}) is neither in Pants' store nor at "
            f"{deb.url} ({reason}). Re-lock against the mirror's current packages: "
            f"pants kolla-lock {address.spec}"
        ) from None


@rule(desc="Fetch an image's locked .debs")
async def locked_debs(request: LockedDebsRequest) -> LockedDebs:
    try:
        digests = await MultiGet(Get(Digest, DownloadFile, _download(deb)) for deb in request.debs)
    except Exception:  # noqa: BLE001 - which one: one at a time (the others are memoized by now)
        for deb in request.debs:
            await _fetch(request.address, deb)
        raise
    merged = await Get(Digest, MergeDigests(digests))
    return LockedDebs(await Get(Digest, AddPrefix(merged, DEBS_FOLDER)))


def rules():
    return collect_rules()
