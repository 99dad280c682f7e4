"""The SBOM's pure parts: dpkg status parsing, PEX-INFO reading, the CycloneDX document (validated
against CycloneDX's own 1.5 JSON schema by cyclonedx-python-lib) and the `--contains` matching; and
reading a file from layer tars the way the image's filesystem shows it (whiteouts included)."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from pants_kolla.builder.image_files import DPKG_STATUS, write_dpkg_status
from pants_kolla.core.sbom import (
    InstalledDeb,
    PythonDist,
    cyclonedx_bom,
    dumps,
    installed_debs,
    matching,
    pex_distributions,
)
from pants_kolla_tests.tar_files import write_layer_tar

STATUS = """Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u9
Description: GNU C Library
 continuation: not a field

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: tzdata
Status: install ok installed
Architecture: all
Version: 1:2024a-0+deb12u1
"""


def test_installed_debs_keeps_installed_packages_only() -> None:
    assert installed_debs(STATUS) == (
        InstalledDeb("libc6", "2.36-9+deb12u9", "amd64"),
        InstalledDeb("tzdata", "1:2024a-0+deb12u1", "all"),
    )


def test_pex_distributions_reads_pex_info() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as pex:
        info = {
            "distributions": {"Jinja2-3.1.2-py3-none-any.whl": "x", "oslo.config-9.4.0-py3-none-any.whl": "y"}
        }
        pex.writestr("PEX-INFO", json.dumps(info))
    assert pex_distributions(buf.getvalue()) == (
        PythonDist("jinja2", "3.1.2"),
        PythonDist("oslo-config", "9.4.0"),
    )


def _bom() -> dict:
    debs = installed_debs(STATUS)
    sha = {("libc6", "2.36-9+deb12u9", "amd64"): "ab" * 32}
    return cyclonedx_bom("kolla/cron:t1", "sha256:" + "cd" * 32, debs, sha, (PythonDist("jinja2", "3.1.2"),))


def test_bom_is_valid_cyclonedx_1_5_and_deterministic() -> None:
    text = dumps(_bom())
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text.decode()) is None
    assert text == dumps(_bom())
    components = {c["name"]: c for c in json.loads(text)["components"]}
    assert components["libc6"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert components["tzdata"]["purl"] == "pkg:deb/debian/tzdata@1%3A2024a-0%2Bdeb12u1?arch=all"
    assert "hashes" not in components["tzdata"]
    assert components["jinja2"]["purl"] == "pkg:pypi/jinja2@3.1.2"


def test_matching_by_name_and_version() -> None:
    debs, python = installed_debs(STATUS), (PythonDist("oslo-config", "9.4.0"),)
    assert matching("tzdata", debs, python) == ("tzdata=1:2024a-0+deb12u1",)
    assert matching("tzdata=1:2024a-0+deb12u1", debs, python) == ("tzdata=1:2024a-0+deb12u1",)
    assert matching("tzdata=2", debs, python) == ()
    assert matching("oslo.config", debs, python) == ("pypi:oslo-config=9.4.0",)
    assert matching("removed-one", debs, python) == ()


def _status(tmp_path: Path, own_layers: list[dict[str, bytes]], inherited: bytes | None = b"old") -> bytes:
    """The dpkg status `package` writes for an image with one parent layer (not in its folder, as a
    build's output holds only its own layers) and `own_layers`; `inherited`: the parent's status file
    (None: a root image, whose every layer is its own)."""
    names = [] if inherited is None else ["parent/layer.tar"]
    for i, files in enumerate(own_layers):
        (tmp_path / str(i)).mkdir(parents=True)
        write_layer_tar(tmp_path / str(i) / "layer.tar", files)
        names.append(f"{i}/layer.tar")
    (tmp_path / "manifest.json").write_text(json.dumps([{"Layers": names}]))
    parent = tmp_path / "parent.dpkg"
    if inherited is not None:
        parent.write_bytes(inherited)
    write_dpkg_status(str(tmp_path), str(parent) if inherited is not None else "", str(tmp_path / "out"))
    return (tmp_path / "out").read_bytes()


def test_the_dpkg_status_is_the_newest_own_layers_else_the_parents(tmp_path: Path) -> None:
    assert _status(tmp_path / "a", [{"etc/x": b""}]) == b"old"
    assert _status(tmp_path / "b", [{"./" + DPKG_STATUS: b"new"}, {"etc/x": b""}]) == b"new"
    assert _status(tmp_path / "c", [{"var/lib/dpkg/.wh.status": b""}]) == b""
    assert _status(tmp_path / "d", [{"var/lib/.wh.dpkg": b""}, {"etc/x": b""}]) == b""
    assert _status(tmp_path / "e", [{"var/lib/dpkg/.wh..wh..opq": b""}]) == b""
    root = [{DPKG_STATUS: b"root"}, {"etc/y": b""}]
    assert _status(tmp_path / "f", root, inherited=None) == b"root"
    assert _status(tmp_path / "g", [{"etc/y": b""}], inherited=None) == b""
