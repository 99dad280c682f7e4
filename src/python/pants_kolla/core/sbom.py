"""An image's software bill of materials, CycloneDX 1.5 JSON: the Debian packages its dpkg database
lists (with the .deb's sha256 where a package lock of the image or an ancestor pins it) and the Python
distributions of the PEX files its build context got. Deterministic: the same image gives the same bytes
(no timestamp; the serial number derives from the image ID)."""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from io import BytesIO
from typing import Iterable, Mapping
from urllib.parse import quote

SPEC_VERSION = "1.5"
# A fixed namespace for the serial numbers' UUIDs (uuid5 of the image ID).
SERIAL_NAMESPACE = uuid.UUID("6f0c4a52-59b5-4f5e-9d53-1c3a1d7a0b61")


@dataclass(frozen=True)
class InstalledDeb:
    name: str
    version: str
    arch: str
    installed_size: int = 0  # bytes, from dpkg's Installed-Size (KiB)

    @property
    def purl(self) -> str:
        return f"pkg:deb/debian/{self.name}@{quote(self.version, safe='')}?arch={self.arch}"


@dataclass(frozen=True)
class PythonDist:
    name: str
    version: str

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{self.name}@{quote(self.version, safe='')}"


def installed_debs(dpkg_status: str) -> tuple[InstalledDeb, ...]:
    """The packages a dpkg status file lists as installed (`Status: install ok installed`)."""
    debs = []
    for paragraph in re.split(r"\n\s*\n", dpkg_status):
        fields = dict(
            line.split(":", 1)
            for line in paragraph.splitlines()
            if line and not line[0].isspace() and ":" in line
        )
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            size = int(fields.get("Installed-Size", "0") or 0) * 1024
            debs.append(
                InstalledDeb(
                    fields["Package"], fields.get("Version", ""), fields.get("Architecture", ""), size
                )
            )
    return tuple(sorted(set(debs), key=lambda d: (d.name, d.arch, d.version)))


def pex_distributions(pex: bytes) -> tuple[PythonDist, ...]:
    """The distributions a PEX file carries, from its PEX-INFO (wheel file names)."""
    with zipfile.ZipFile(BytesIO(pex)) as archive:
        info = json.loads(archive.read("PEX-INFO"))
    dists = []
    for wheel in info.get("distributions", {}):
        name, version = wheel.split("-")[:2]
        dists.append(PythonDist(re.sub(r"[-_.]+", "-", name).lower(), version))
    return tuple(sorted(set(dists), key=lambda d: (d.name, d.version)))


def _component(kind: str, name: str, version: str, purl: str, sha256: str = "") -> dict:
    component: dict[str, object] = {
        "type": kind,
        "bom-ref": purl,
        "name": name,
        "version": version,
        "purl": purl,
    }
    if sha256:
        component["hashes"] = [{"alg": "SHA-256", "content": sha256}]
    return component


def cyclonedx_bom(
    ref: str,
    image_id: str,
    debs: Iterable[InstalledDeb],
    deb_sha256: Mapping[tuple[str, str, str], str],
    python: Iterable[PythonDist],
) -> dict:
    """`deb_sha256`: (name, version, arch) -> the locked .deb's sha256."""
    repository, _, tag = ref.rpartition(":")
    components = [
        _component("library", d.name, d.version, d.purl, deb_sha256.get((d.name, d.version, d.arch), ""))
        for d in debs
    ] + [_component("library", p.name, p.version, p.purl) for p in python]
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, image_id)}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "pants-kolla"}]},
            "component": {
                "type": "container",
                "bom-ref": ref,
                "name": repository,
                "version": image_id,
                "properties": [{"name": "pants-kolla:tag", "value": tag}],
            },
        },
        "components": components,
    }


def dumps(bom: dict) -> bytes:
    return (json.dumps(bom, indent=2, sort_keys=True) + "\n").encode()


def matching(query: str, debs: Iterable[InstalledDeb], python: Iterable[PythonDist]) -> tuple[str, ...]:
    """`query` is `name` or `name=version`: the image's packages it matches, as `name=version` (Debian
    packages by their name, Python distributions by their normalized project name)."""
    name, _, version = query.partition("=")
    python_name = re.sub(r"[-_.]+", "-", name).lower()
    found = [f"{d.name}={d.version}" for d in debs if d.name == name and version in ("", d.version)]
    found += [
        f"pypi:{p.name}={p.version}" for p in python if p.name == python_name and version in ("", p.version)
    ]
    return tuple(found)
