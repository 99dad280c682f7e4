"""Kolla 23.0.0's own templates built, not only rendered: its base on a Debian trixie `debian_rootfs` (the
suite kolla-build uses), cron, memcached and dnsmasq, with the site override kolla_site/debian-mirror-only.j2
(removes the steps reaching hosts other than the Debian mirror), then each image smoke-checked in the
real engine. CPU-heavy (a cold trixie base: ~5 min on 2 cores), hence its own target."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pants_kolla_tests.kolla_oracle import ensure_kolla, kolla_docker_tree
from pants_kolla_tests.offline_toml import offline_pants_toml
from pants_kolla_tests.repo_fixture import ScratchRepo

SITE_OVERRIDE = Path("tests/python/pants_kolla_tests/kolla_site/debian-mirror-only.j2")
IMAGES = ("base", "cron", "memcached", "dnsmasq")
BASE_CHECK = (
    "id -u keystone; id -gn hacluster; test ! -e /usr/local/bin/extrepo && echo no-extrepo; "
    "test -x /usr/local/bin/kolla_start && echo kolla_start; python3 -c 'import yaml; print(1+1)'"
)
ONESHOT = {  # image -> (command, what its output must hold)
    "base": (["sh", "-c", BASE_CHECK], "42425\nhaclient\nno-extrepo\nkolla_start\n2\n"),
    "cron": (
        ["sh", "-c", "command -v cron && command -v logrotate"],
        "/usr/sbin/cron\n/usr/sbin/logrotate\n",
    ),
    "dnsmasq": (["dnsmasq", "--version"], "Dnsmasq version"),
}
MEMCACHED_PROBE = (
    "import socket; s = socket.create_connection(('127.0.0.1', 11211), 5); "
    "s.sendall(b'version\\r\\n'); print(s.recv(64).decode())"
)


def test_kolla_infra_images_build_and_run(scratch_repo: ScratchRepo, docker_client) -> None:
    ensure_kolla()
    shutil.copytree(kolla_docker_tree(), scratch_repo.root / "kolla")
    scratch_repo.write("site/debian-mirror-only.j2", SITE_OVERRIDE.read_text())
    extra = f'[kolla]\ntag = "{scratch_repo.tag}"\ntemplate_overrides = ["site/debian-mirror-only.j2"]\n'
    pex_cli = os.environ["PANTS_KOLLA_PEX_CLI"]
    scratch_repo.write("pants.toml", offline_pants_toml(pex_cli, ["pants_kolla"], extra))
    tailor = scratch_repo.pants("tailor", "kolla::")
    assert tailor.returncode == 0, tailor.stderr[-3000:]
    run = scratch_repo.pants("package", *(f"kolla/{name}" for name in IMAGES))
    assert run.returncode == 0, run.stderr[-5000:]
    # Built, or Pants' cache hits of an earlier run's builds on this machine: tags are not in cache keys,
    # so on a machine whose Pants store already holds them (an earlier run of this test) nothing builds.
    # (`kolla/base` also selects the trixie debian_rootfs tailor wrote in that folder.)
    expected = sorted(scratch_repo.ref(n) for n in (*IMAGES, "debian-trixie-rootfs"))
    assert scratch_repo.packaged() == expected, run.stderr[-3000:]
    try:
        for name, (command, expect) in ONESHOT.items():
            out = docker_client.containers.run(scratch_repo.ref(name), command, remove=True).decode()
            assert expect in out, (name, out)
        memcached = docker_client.containers.run(
            scratch_repo.ref("memcached"), ["memcached", "-l", "127.0.0.1"], detach=True
        )
        try:
            assert memcached.attrs["Config"]["User"] == "memcached"
            deadline = time.monotonic() + 120
            while True:
                code, out = memcached.exec_run(["python3", "-c", MEMCACHED_PROBE])
                if code == 0 and out.startswith(b"VERSION 1."):
                    break
                assert time.monotonic() < deadline, out
                memcached.reload()
                assert memcached.status == "running", memcached.logs()
        finally:
            memcached.remove(force=True)
    finally:
        for name in (*IMAGES, "debian-trixie-rootfs"):  # this run's fresh tag: made by this test only
            if docker_client.images.list(name=scratch_repo.ref(name)):
                docker_client.images.remove(scratch_repo.ref(name))
