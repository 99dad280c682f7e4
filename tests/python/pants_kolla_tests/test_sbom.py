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

from pants_kolla.builder.image_files import DPKG_STATUS, read_image_file
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


def _image(tmp_path: Path, layers: list[dict[str, bytes]], split: int) -> list[str]:
    """An archive whose first `split` layers are in a parent folder, the rest in the image's own."""
    own, parent = tmp_path / "own", tmp_path / "parent"
    names = []
    for i, files in enumerate(layers):
        folder = parent if i < split else own
        (folder / str(i)).mkdir(parents=True)
        write_layer_tar(folder / str(i) / "layer.tar", files)
        names.append(f"{i}/layer.tar")
    own.mkdir(parents=True, exist_ok=True)
    (own / "manifest.json").write_text(json.dumps([{"Layers": names}]))
    return [str(own), str(parent)]


def test_read_image_file_takes_the_newest_layer_and_whiteouts(tmp_path: Path) -> None:
    status = {DPKG_STATUS: b"old"}
    assert read_image_file(_image(tmp_path / "a", [status, {"etc/x": b""}], 1), DPKG_STATUS) == b"old"
    newer = [status, {"./" + DPKG_STATUS: b"new"}]
    assert read_image_file(_image(tmp_path / "b", newer, 1), DPKG_STATUS) == b"new"
    deleted = [status, {"var/lib/dpkg/.wh.status": b""}]
    assert read_image_file(_image(tmp_path / "c", deleted, 1), DPKG_STATUS) is None
    folder_gone = [status, {"var/lib/.wh.dpkg": b""}]
    assert read_image_file(_image(tmp_path / "d", folder_gone, 2), DPKG_STATUS) is None
    opaque = [status, {"var/lib/dpkg/.wh..wh..opq": b""}]
    assert read_image_file(_image(tmp_path / "e", opaque, 0), DPKG_STATUS) is None
