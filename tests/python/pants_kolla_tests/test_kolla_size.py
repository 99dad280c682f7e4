"""`kolla-size` on a real tree built by the engine: sizes equal the layer files `package` exported, the
step of each layer is named, the shared packages and files of two children are found, budgets fail
naming the image and step, and the page renders every image in a real headless browser (Debian's
chromium)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.small_tree import add_small_tree

CHILD = (
    '{% import "macros.j2" as macros %}\nFROM {{ parent_image }}\n{{ macros.install_packages(PACKAGES) }}\n'
)


def child(repo: ScratchRepo, name: str, packages: list[str], build: str = "") -> None:
    repo.write(f"images/{name}/BUILD", build or 'kolla_image(install_type="infra", parent="images/base")\n')
    repo.write(f"images/{name}/Dockerfile.j2", CHILD.replace("PACKAGES", json.dumps(packages)))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    scratch = ScratchRepo(tmp_path_factory.mktemp("repo"))
    add_small_tree(scratch, per_type=True)
    child(scratch, "a", ["less", "bc"])
    child(scratch, "b", ["less", "bc"])
    run = scratch.pants("--kolla-export-archives", "package", "images/::")
    assert run.returncode == 0, run.stderr[-5000:]
    return scratch


def layer_bytes(repo: ScratchRepo, name: str) -> int:
    folder = repo.root / f"dist/images/{name}/image"
    manifest = json.loads((folder / "manifest.json").read_text())[0]
    return sum((folder / layer).stat().st_size for layer in manifest["Layers"])


def test_sizes_steps_and_suggestions(repo) -> None:
    run = repo.pants("kolla-size", "images/::")
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(repo.read("dist/kolla-size/report.json"))
    rows = {r["name"].split("/", 1)[1]: r for r in report["images"]}
    names = {p.name for p in (repo.root / "dist/images").iterdir()}
    assert set(rows) == names
    for name in names:
        assert rows[name]["total"] == layer_bytes(repo, name), name
        assert f"kolla/{name}" in run.stdout
    assert rows["cron"]["own"] == rows["cron"]["total"] - rows["base"]["total"]
    assert any("cron" in step["step"] for step in rows["cron"]["steps"]), rows["cron"]["steps"]
    assert report["unique"] < report["sum_of_sizes"]
    infra_own = sum(r["own"] for r in report["images"] if r["install_type"] in ("infra", "rootfs"))
    assert report["infra_per_type_extra"] == infra_own  # binary and source are both selected
    (tip,) = [s for s in report["suggestions"] if s["parent"] == "kolla/base"]
    assert {"less", "bc"} <= set(tip["packages"]) and "cron" not in tip["packages"]
    assert tip["saves"] > 0 and "suggestion: moving" in run.stdout


def test_file_suggestions_name_the_files_two_children_add_alike(repo) -> None:
    run = repo.pants("kolla-size", "--kolla-size-suggest-files", "images/::")
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(repo.read("dist/kolla-size/report.json"))
    (tip,) = [s for s in report["file_suggestions"] if s["parent"] == "kolla/base"]
    assert {"usr/bin/less", "usr/bin/bc"} <= set(tip["files"]), tip["files"][:50]
    assert "usr/sbin/cron" not in tip["files"]  # one child's own
    assert tip["saves"] > 0 and " files into kolla/base saves" in run.stdout


def test_the_page_renders_every_image_in_a_headless_browser(repo, tmp_path) -> None:
    assert repo.pants("kolla-size", "images/::").returncode == 0
    browser = shutil.which("chromium")
    assert browser, "apt-get install -y chromium"
    url = (repo.root / "dist/kolla-size/index.html").as_uri()
    flags = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert 'data-rendered="yes"' in dom, dom[-2000:]
    for name in (p.name for p in (repo.root / "dist/images").iterdir()):
        assert f'class="image" data-name="kolla/{name}"' in dom, name  # in the picture
        assert f'<tr data-name="kolla/{name}"' in dom, name  # and in the table
    shot = tmp_path / "kolla-size.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,1000", url], capture_output=True, timeout=120
    )
    assert shot.exists() and shot.stat().st_size > 10_000


def test_budgets_fail_naming_the_image_its_growth_and_the_step(repo) -> None:
    assert repo.pants("kolla-size", "--write-baseline=sizes.json", "images/::").returncode == 0
    assert set(json.loads(repo.read("sizes.json"))) >= {"kolla/a", "kolla/b", "kolla/cron"}
    child(repo, "a", ["less", "bc", "vim-tiny"])
    child(
        repo,
        "b",
        ["less", "bc"],
        build='kolla_image(install_type="infra", parent="images/base", max_size="1MiB")\n',
    )
    # CI's gate is one command: `package` builds, then `kolla-size` checks the budgets.
    budget = ("--kolla-size-baseline=sizes.json", "--kolla-size-growth-limit=100KiB")
    run = repo.pants(*budget, "package", "kolla-size", "images/::")
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Wrote dist/images/a" in run.stderr
    lines = [line for line in run.stderr.splitlines() if "size budget:" in line]
    assert len(lines) == 2, run.stderr[-3000:]
    grew = next(line for line in lines if "kolla/a grew" in line)
    assert "growth_limit = 100KiB" in grew and "the step that grew most" in grew and "vim-tiny" in grew
    assert any("kolla/b is" in line and "max_size = 1MiB" in line for line in lines)


def test_a_bad_max_size_names_the_target_and_field(repo) -> None:
    child(
        repo,
        "b",
        ["less", "bc"],
        build='kolla_image(install_type="infra", parent="images/base", max_size="lots")\n',
    )
    run = repo.pants("kolla-size", "images/b")
    assert run.returncode != 0
    assert "images/b" in run.stderr and "max_size" in run.stderr and "is not a size" in run.stderr
    assert "Traceback" not in run.stderr
