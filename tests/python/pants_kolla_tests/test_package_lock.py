"""The package lock's format, apt's --print-uris output and the install commands: pure logic."""

from __future__ import annotations

import pytest

from pants_kolla.core.apt_installs import AptInstalls, locked_command, project_apt_install
from pants_kolla.core.package_lock import (
    LockedDeb,
    LockedInstall,
    LockError,
    PackageLock,
    debs_from_print_uris,
    dump,
    parse,
)

SHA = "c1e12d9c993460e6396107668aa7ba79f8633decebb53aa6c38049584448be3f"
PRINT_URIS = f"""\
'http://deb.debian.org/debian/pool/main/c/cron/cron_3.0pl1-162_amd64.deb' cron_3.0pl1-162_amd64.deb 73084 SHA256:{SHA}
'http://deb.debian.org/debian/pool/main/s/sensible-utils/sensible-utils_0.0.17%2bnmu1_all.deb' sensible-utils_0.0.17+nmu1_all.deb 19020 SHA256:{"e" * 64}
"""
CRON = LockedDeb(
    "cron",
    "3.0pl1-162",
    "amd64",
    73084,
    SHA,
    "http://deb.debian.org/debian/pool/main/c/cron/cron_3.0pl1-162_amd64.deb",
)


def test_print_uris_become_locked_debs_sorted_by_name() -> None:
    debs = debs_from_print_uris(PRINT_URIS, "images/cron/packages.lock")
    assert [d.name for d in debs] == ["cron", "sensible-utils"]
    assert debs[0] == CRON
    assert debs[1].version == "0.0.17+nmu1" and debs[1].file_name == "sensible-utils_0.0.17%2bnmu1_all.deb"


def test_a_hash_other_than_sha256_is_refused() -> None:
    line = "'http://m/pool/c/cron_1_all.deb' cron_1_all.deb 10 MD5Sum:0123\n"
    with pytest.raises(LockError, match="no sha256 for cron_1_all.deb"):
        debs_from_print_uris(line, "x.lock")


def test_dump_and_parse_round_trip() -> None:
    lock = PackageLock(
        release=("Origin: Debian; Suite: stable",),
        installs=(LockedInstall(("cron",), (CRON,)), LockedInstall(("cron", "vim"), ())),
    )
    text = dump(lock)
    assert text.startswith("#") and f"deb cron 3.0pl1-162 amd64 73084 sha256:{SHA} " in text
    assert parse(text, "p.lock") == lock
    assert lock.install_for(["cron", "vim"]) == lock.installs[1]
    assert lock.install_for(["vim"]) is None
    assert lock.debs == (CRON,)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("install cron\ndeb cron 1 amd64 ten sha256:00 http://m/c.deb\n", 2, "size in bytes"),
        ("deb cron 1 amd64 10 sha256:" + "0" * 64 + " http://m/c.deb\n", 1, "before any `install`"),
        ("# fine\n\ninstall cron\nwhat is this\n", 4, "unknown record `what`"),
        ("install Cron!\n", 1, "Debian package names"),
        ("install cron\ndeb cron 1 amd64 10\n", 2, "6 fields"),
    ],
)
def test_a_broken_lock_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(LockError, match=message) as error:
        parse(text, "images/cron/packages.lock")
    assert str(error.value).startswith(f"images/cron/packages.lock:{line}: ")


def _apt(lock: PackageLock | None) -> AptInstalls:
    return AptInstalls(lock, "images/cron/packages.lock", "pants kolla-lock images/cron")


def test_without_a_lock_installs_render_as_before_and_are_recorded() -> None:
    apt = _apt(None)
    assert project_apt_install(apt)(["cron", "vim"]) == (
        "apt-get update \\\n    && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends cron vim"
    )
    apt.check_complete()
    assert apt.requested == [("cron", "vim")]


def test_a_locked_install_fetches_checks_and_installs_exactly_the_locked_debs() -> None:
    deb = LockedDeb("sensible-utils", "1", "all", 5, "e" * 64, "http://m/pool/s/sensible-utils_1_all.deb")
    command = locked_command(LockedInstall(("cron",), (CRON, deb)))
    assert "apt-get update" not in command and "deb.debian.org" not in command
    assert "http://debs.pants-kolla.invalid/$f" in command
    assert "if [ -f /mnt/$f ]; then cp /mnt/$f $f;" in command  # buildah's mount, read before any fetch
    assert f"'{SHA}  cron_3.0pl1-162_amd64.deb'" in command and "sha256sum -c" in command
    assert "apt-mark auto sensible-utils" in command
    assert locked_command(LockedInstall(("cron",), ())) == "true"


def test_drift_names_the_package_the_lock_and_the_command() -> None:
    apt = _apt(PackageLock((), (LockedInstall(("cron",), (CRON,)),)))
    with pytest.raises(
        LockError, match=r"installs `cron vim`, which images/cron/packages.lock does not lock"
    ):
        project_apt_install(apt)(["cron", "vim"])
    with pytest.raises(LockError, match=r"no longer makes \(cron\). Re-lock: pants kolla-lock images/cron"):
        apt.check_complete()


def test_the_variants_of_a_parametrized_image_share_one_lock_by_scope() -> None:
    binary = LockedInstall(("cron",), (CRON,), scope="binary")
    source = LockedInstall(("cron",), (), scope="source")
    lock = PackageLock(("Suite: a",), (binary,)).merged(PackageLock(("Suite: b",), (source,)))
    text = dump(lock)
    assert "install @binary cron\n" in text and "install @source cron\n" in text
    assert parse(text, "p.lock") == lock and lock.release == ("Suite: a", "Suite: b")
    assert lock.install_for(["cron"], "source") == source and lock.install_for(["cron"]) is None
    apt = AptInstalls(lock, "p.lock", "relock", scope="source")
    assert project_apt_install(apt)(["cron"]) == "true"  # cron is in source's parent already
    apt.check_complete()  # binary's install is binary's business
