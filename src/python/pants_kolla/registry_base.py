"""A root image pulled from a registry by digest (kolla-build's `--base-image`), instead of built by
mmdebstrap: the `registry_image` field of `debian_rootfs`. The digest pins the content, so the pull is a
cached process like any build (pulled once, kept as an archive in Pants' store)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.target import InvalidFieldException, StringField
from pants.util.strutil import help_text

_PINNED = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._:/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?"
                     r"@(?P<digest>sha256:[0-9a-f]{64})$")


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


class RegistryImageField(StringField):
    alias = "registry_image"
    help = help_text(
        """
        Pull this root image from a registry instead of building it with mmdebstrap: a reference with
        its manifest digest, `[registry/]repository[:tag]@sha256:<64 hex>` (kolla-build's
        `--base-image`, pinned). Pulled once (a cached process: the digest fixes the content), kept as a
        docker-archive in Pants' store. `suite`, `variant` and `packages` are then not used. Plain-HTTP
        registries: loopback ones, or those in `[kolla].insecure_registries`.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: str | None, address: Address) -> str | None:
        value = super().compute_value(raw_value, address)
        if value is not None and parse_pinned(value) is None:
            raise InvalidFieldException(
                f"{address.spec_path or '.'}/BUILD: target `{address.spec}`, field `{cls.alias}`: "
                f"`{value}` is not a reference pinned by digest; write "
                f"`[registry/]repository[:tag]@sha256:<64 hex digits>`."
            )
        return value


def is_plain_http(name: str, insecure_registries: tuple[str, ...]) -> bool:
    host = name.split("/", 1)[0] if "/" in name else ""
    return host in insecure_registries or host.split(":")[0] in ("localhost", "::1") or host.startswith("127.")
