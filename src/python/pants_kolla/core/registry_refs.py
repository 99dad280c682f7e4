"""Registry references, pure: a root image pinned by digest (the `registry_image` field of
`debian_rootfs`, kolla-build's `--base-image`) and which registries are reached over plain HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PINNED = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9._:/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?"
    r"@(?P<digest>sha256:[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class PinnedImage:
    name: str  # registry host (if any) and repository, e.g. `127.0.0.1:5000/debian`
    digest: str  # the manifest digest, `sha256:...`

    @property
    def by_digest(self) -> str:
        """What is pulled: the tag, if written, only documents the pin."""
        return f"{self.name}@{self.digest}"


def parse_pinned(value: str) -> PinnedImage | None:
    match = _PINNED.match(value)
    return PinnedImage(match["name"], match["digest"]) if match else None


def is_plain_http(name: str, insecure_registries: tuple[str, ...]) -> bool:
    host = name.split("/", 1)[0] if "/" in name else ""
    return (
        host in insecure_registries or host.split(":")[0] in ("localhost", "::1") or host.startswith("127.")
    )
