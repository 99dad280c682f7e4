"""builder/build_log.py and the build commands' failure report: which failures the rule retries (a
mirror's hiccup, exit code TRANSIENT) and which it reports at once (a broken Dockerfile or package name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pants_kolla.builder import exit_codes
from pants_kolla.builder.build_commands import ImageBuildFailed, report_build_failure
from pants_kolla.builder.build_log import LOG_TAIL_LINES, MIRROR_HICCUP_LINE

# Lines apt and the engine print when the mirror or the network failed, not the image.
HICCUPS = [
    "Err:1 http://deb.debian.org/debian bookworm InRelease\n  Temporary failure resolving 'deb.debian.org'",
    "E: Failed to fetch http://deb.debian.org/debian/pool/main/c/cron/cron_3.0pl1-162_amd64.deb  "
    "503 Service Unavailable [IP: 151.101.2.132 80]",
    "Could not connect to deb.debian.org:80 (151.101.2.132), connection timed out",
    "E: Failed to fetch store:/var/lib/apt/lists/partial/deb.debian.org_debian_dists_bookworm_main_"
    "binary-amd64_Packages.xz  Hash Sum mismatch",
    "E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?",
    "Connection reset by peer",
]
# Lines of failures that a second attempt would repeat.
BROKEN = [
    "E: Unable to locate package no-such-package",
    "E: Package 'python3-nope' has no installation candidate",
    "/bin/sh: 1: kolla_set_configs: not found",
    "The command '/bin/sh -c false' returned a non-zero code: 1",
    "Step 3/9 : COPY missing.sh /usr/local/bin/\nCOPY failed: file not found in build context",
]


@pytest.mark.parametrize("line", HICCUPS)
def test_a_mirror_hiccup_is_retried(tmp_path: Path, line: str, capsys) -> None:
    assert MIRROR_HICCUP_LINE.search(line)
    assert report_build_failure(_log(tmp_path, line), ImageBuildFailed("RUN step 3")) == exit_codes.TRANSIENT
    assert "The build failed (transient): RUN step 3" in capsys.readouterr().err


@pytest.mark.parametrize("line", BROKEN)
def test_a_broken_build_is_reported_at_once(tmp_path: Path, line: str, capsys) -> None:
    assert not MIRROR_HICCUP_LINE.search(line)
    assert (
        report_build_failure(_log(tmp_path, line), ImageBuildFailed("RUN step 3")) == exit_codes.BUILD_FAILED
    )
    err = capsys.readouterr().err
    assert "The build failed: RUN step 3" in err
    assert line.splitlines()[-1] in err


def test_the_report_prints_the_logs_tail_only(tmp_path: Path, capsys) -> None:
    lines = [f"line {n}" for n in range(LOG_TAIL_LINES + 10)]
    report_build_failure(_log(tmp_path, "\n".join(lines)), ImageBuildFailed("docker build"))
    err = capsys.readouterr().err
    assert f"--- last {LOG_TAIL_LINES} lines of the build log ---" in err
    assert "line 9\n" not in err and "line 10\n" in err and lines[-1] in err


def _log(tmp_path: Path, text: str) -> str:
    log = tmp_path / "build.log"
    log.write_text(f"-- connect and load the parent: 0.00 s\n{text}\n")
    return str(log)
