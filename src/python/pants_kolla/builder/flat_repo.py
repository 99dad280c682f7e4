"""A flat apt repository made of a build's locked .debs, for mmdebstrap to install the rootfs from.

mmdebstrap picks the Essential and Priority: required packages of the suite it is given from the index,
so the repository has a Release file naming that suite; its Packages index is the .debs' own control
data (`dpkg-deb -f`, from dpkg, on every Debian host) plus their file name, size and sha256, with every
package marked `Priority: required`: the lock is already the exact set the rootfs holds, and a .deb's own
control data may say less than the archive's overrides (apt's says `important`, the archive `required`),
which would leave apt and what it needs out. dpkg records the .deb's own priority, so the image does not
see the index's.
"""

from __future__ import annotations

import hashlib
import os
import subprocess


def _stanza(folder: str, name: str) -> str:
    path = os.path.join(folder, name)
    control = subprocess.run(["dpkg-deb", "-f", path], capture_output=True, text=True, check=True).stdout
    fields = [line for line in control.rstrip().splitlines() if not line.startswith("Priority:")]
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    listed = "\n".join([*fields, "Priority: required", f"Filename: ./{name}"])
    return f"{listed}\nSize: {os.path.getsize(path)}\nSHA256: {digest}\n"


def write_flat_repo(folder: str, suite: str) -> None:
    """Write `Packages` and `Release` into the folder of .debs."""
    names = sorted(n for n in os.listdir(folder) if n.endswith(".deb"))
    packages = "\n".join(_stanza(folder, n) for n in names).encode()
    with open(os.path.join(folder, "Packages"), "wb") as f:
        f.write(packages)
    release = (
        f"Origin: pants-kolla\nSuite: {suite}\nCodename: {suite}\n"
        f"SHA256:\n {hashlib.sha256(packages).hexdigest()} {len(packages)} Packages\n"
    )
    with open(os.path.join(folder, "Release"), "w") as f:
        f.write(release)
