"""A tiny image tree (seconds per image) written into a scratch repo, for failure/security/builder tests."""

from __future__ import annotations

from typing import Sequence

from pants_kolla_tests.repo_fixture import ScratchRepo

MACROS = """{% macro add_binary_source_envs(install_type, install_metatype) -%}
ENV KOLLA_INSTALL_TYPE={{ install_type }} KOLLA_INSTALL_METATYPE={{ install_metatype }}
{%- endmacro %}
"""


def write_rootfs_and_base(
    repo: ScratchRepo, base_steps: str = "RUN echo base > /base.txt\n", macros: str = MACROS
) -> None:
    """The template library (`macros`), a tiny rootfs and a base image that COPYs a declared file."""
    repo.write("images/BUILD", 'kolla_template_library(name="templates")\n')
    repo.write("images/macros.j2", macros)
    repo.write("images/rootfs/BUILD", 'debian_rootfs(name="rootfs", image_name="tiny-rootfs")\n')
    image(
        repo,
        "base",
        "infra",
        "images/rootfs",
        "COPY start.sh /usr/local/bin/start.sh\n" + base_steps,
        extra_build='files(name="files", sources=["start.sh"])\n',
        deps=[":files"],
    )
    repo.write("images/base/start.sh", "#!/bin/sh\necho started\n")


def write_tiny_tree(repo: ScratchRepo) -> None:
    write_rootfs_and_base(repo)
    # Undeclared: must never reach the engine or a layer.
    repo.write("images/base/secret.key", "TOP-SECRET-KEY-CONTENT\n")
    image(repo, "ok", "infra", "images/base", "RUN echo ok > /ok.txt\n")
    image(repo, "bad", "infra", "images/base", 'RUN echo "about to fail" && exit 7\n')
    image(repo, "bad-child", "infra", "images/bad", "RUN echo never\n")
    image(
        repo,
        "svc",
        'parametrize("binary", "source")',
        "images/base",
        "{{ macros.add_binary_source_envs(install_type, install_metatype) }}\nRUN echo {{ install_type }} > /svc.txt\n",
    )


def image(
    repo: ScratchRepo,
    name: str,
    install_type: str,
    parent: str,
    body: str,
    *,
    extra_build: str = "",
    deps: Sequence[str] = (),
    allowed_to_fail: bool = False,
) -> None:
    quoted = install_type if install_type.startswith("parametrize") else f'"{install_type}"'
    repo.write(
        f"images/{name}/BUILD",
        f'kolla_image(install_type={quoted}, parent="{parent}", dependencies={list(deps)!r}, '
        f"allowed_to_fail={allowed_to_fail})\n{extra_build}",
    )
    repo.write(
        f"images/{name}/Dockerfile.j2", '{% import "macros.j2" as macros %}\nFROM {{ parent_image }}\n' + body
    )
