"""Monorepo CI on a real git repository, a nested Pants and a real engine: `--changed-since` (with
`--changed-dependents=transitive`) selects exactly the images whose rendered inputs changed and their
descendants, and builds only those; `publish` with the same selection pushes exactly those; a file spec
selects its owner; a run from a subdirectory reports in the build root's dist/; a broken BUILD file in a
folder nobody selects changes nothing."""

from __future__ import annotations

import re
import subprocess

import pytest

from pants_kolla_tests.registry_fixture import LocalRegistry
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tiny_tree import image, write_rootfs_and_base

CHANGED = ("--changed-since=HEAD~1", "--changed-dependents=transitive")
MACROS = """{% macro a_step() -%}
RUN echo a-step > /a-step.txt
{%- endmacro %}
{% macro unused() -%}
RUN echo unused
{%- endmacro %}
"""
B_TEMPLATE = (
    '{% import "macros.j2" as macros %}\nFROM {{ parent_image }}\n{% block b_footer %}{% endblock %}\n'
)
SITE_OVERRIDE = (
    "{% extends parent_template %}\n{% block b_footer %}RUN echo site-1 > /site.txt{% endblock %}\n"
)
PUSHED = re.compile(r"^published (\S+)@sha256:\w+ image \S+ as (\S+):", re.MULTILINE)


def git(repo: ScratchRepo, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo.root,
        check=True,
        capture_output=True,
    )


def commit(repo: ScratchRepo, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    """rootfs -> base -> {a -> a-child, b}; base COPYs a declared file, a calls a macro, b has an
    override file. Built once, committed: every test changes one input on top."""
    repo = ScratchRepo(tmp_path_factory.mktemp("changed"))
    write_rootfs_and_base(repo, base_steps="", macros=MACROS)
    image(repo, "a", "infra", "images/base", "{{ macros.a_step() }}\n")
    image(repo, "a-child", "infra", "images/a", "RUN echo a-child-1 > /a-child.txt\n")
    repo.write(
        "images/b/BUILD",
        'kolla_image(install_type="infra", parent="images/base", ' 'template_overrides=["site.j2"])\n',
    )
    repo.write("images/b/Dockerfile.j2", B_TEMPLATE)
    repo.write("images/b/site.j2", SITE_OVERRIDE)
    repo.write(".gitignore", "dist/\n.pids/\n.pants.d/\n")
    git(repo, "init", "-q")
    commit(repo, "tree")
    warm = repo.pants("package", "images/::")
    assert warm.returncode == 0, warm.stderr[-3000:]
    return repo


def change(repo: ScratchRepo, path: str, old: str, new: str) -> None:
    text = repo.read(path)
    assert old in text, (path, old)
    repo.write(path, text.replace(old, new))
    commit(repo, f"change {path}")


def refs(repo: ScratchRepo, *names: str) -> list[str]:
    return sorted(repo.ref(n) for n in names)


@pytest.mark.parametrize(
    "path, old, new, built",
    [
        ("images/a-child/Dockerfile.j2", "a-child-1", "a-child-2", ["a-child"]),
        ("images/macros.j2", "echo a-step", "echo a-step-2", ["a", "a-child"]),  # only `a` calls that macro
        ("images/b/site.j2", "site-1", "site-2", ["b"]),
        ("images/base/start.sh", "echo started", "echo started-2", ["base", "a", "a-child", "b"]),
        (
            "images/base/Dockerfile.j2",
            "COPY start.sh /usr/local/bin/start.sh",
            "COPY start.sh /usr/local/bin/start.sh\nRUN echo base-2 > /base.txt",
            ["base", "a", "a-child", "b"],
        ),
    ],
    ids=["leaf-template", "macros", "override-file", "context-file", "base-template"],
)
def test_changed_since_builds_exactly_the_changed_images_and_their_descendants(repo, path, old, new, built):
    change(repo, path, old, new)
    run = repo.pants(*CHANGED, "package")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.built == refs(repo, *built)
    # Selected: the images whose inputs changed and all their descendants (a macros.j2 change selects
    # every image of the tree; those whose rendered Dockerfile did not change come from the cache).
    if path == "images/macros.j2":
        assert repo.packaged() == refs(repo, "base", "a", "a-child", "b")
    else:
        assert repo.packaged() == refs(repo, *built)


def test_publish_with_the_same_selection_pushes_exactly_those(repo, tmp_path):
    change(repo, "images/a/Dockerfile.j2", "{{ macros.a_step() }}", "{{ macros.a_step() }}\nRUN true")
    with LocalRegistry(tmp_path / "registry") as registry:
        run = repo.pants(*CHANGED, f"--kolla-registry={registry.address}", "publish")
        assert run.returncode == 0, run.stderr[-3000:]
        pushed = sorted(f"{r}:{tags}" for r, tags in PUSHED.findall(run.stdout + run.stderr))
        assert pushed == [f"{registry.address}/{ref}" for ref in refs(repo, "a", "a-child")]
    assert run.built == refs(repo, "a", "a-child")


def test_a_file_spec_selects_its_owner(repo):
    by_file = repo.pants("package", "images/b/site.j2")  # the override file's owner: image b
    assert by_file.returncode == 0, by_file.stderr[-3000:]
    assert repo.packaged() == refs(repo, "b")


def test_a_run_from_a_subdirectory_writes_its_reports_at_the_build_root(repo):
    """Specs are relative to the subdirectory; dist/ is the build root's, as in Pants' own goals (the
    nested Pants runs without pantsd, so its working directory is the subdirectory)."""
    (repo.root / "dist/kolla-summary.json").unlink()
    run = repo.pants("package", "./a-child", cwd="images")
    assert run.returncode == 0, run.stderr[-3000:]
    assert repo.packaged() == refs(repo, "a-child")
    assert not (repo.root / "images/dist").exists()


def test_a_broken_build_file_in_an_unselected_folder_changes_nothing(repo):
    repo.write("junk/BUILD", 'kolla_image(install_type="bogus", parent="images/base")\n')
    repo.write("junk/Dockerfile.j2", "FROM {{ parent_image }}\n")
    try:
        run = repo.pants("package", "images/a-child")
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.built == [] and repo.packaged() == refs(repo, "a-child")
        listed = repo.pants("kolla-list", "images::")
        assert listed.returncode == 0, listed.stderr[-3000:]
        # Selecting it is what fails, with the file, target and field named.
        broken = repo.pants("package", "junk:")
        assert broken.returncode != 0
        assert "junk/BUILD" in broken.stderr and "install_type" in broken.stderr and "bogus" in broken.stderr
    finally:
        (repo.root / "junk/BUILD").unlink()
