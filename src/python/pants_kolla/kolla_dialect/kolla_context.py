"""The template context kolla-build 23.0.0 gives each image (KollaWorker.create_dockerfiles), pure.

Every value comes from `[kolla]` options with kolla-build's defaults for `--base debian`; none from the
host: Kolla passes `env=os.environ` and the host's architecture, which would put the machine into the
cache key, so `env` is `[kolla].template_env` and the architecture `[kolla].base_arch`.
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

KOLLA_VERSION = "23.0.0"
# kolla/common/config.py
DEFAULT_BASE_IMAGES = {"debian": ("debian", "trixie"), "ubuntu": ("ubuntu", "24.04")}
DISTRO_PRETTY_NAME = {
    "debian": "Debian GNU/Linux 13 (trixie)",
    "rocky": "Rocky Linux 10.* (Red Quartz)",
    "ubuntu": "Ubuntu 24.04.* LTS",
}
OPENSTACK_RELEASE = "2026.2"
OPENSTACK_RELEASE_CODENAME = "Hibiscus"
MAINTAINER = "Kolla Project (https://launchpad.net/kolla)"
PACKAGE_TYPES = {"debian": ("deb", "apt"), "ubuntu": ("deb", "apt"), "rocky": ("rpm", "dnf")}


def kolla_users() -> dict[str, dict[str, Any]]:
    """Kolla's `[<name>-user]` defaults (kolla/common/users.py): uid, gid and group of 85 users."""
    return json.loads(importlib.resources.read_text("pants_kolla.kolla_dialect", "kolla_users.json"))


def default_tag(openstack_release: str, base_distro: str, base_distro_tag: str) -> str:
    """kolla-build's `--tag` default."""
    return f"{openstack_release}-{base_distro}-{base_distro_tag}"


def openstack_branch(openstack_release: str) -> str:
    return openstack_release if openstack_release == "master" else f"stable-{openstack_release}"


def debian_arch(base_arch: str) -> str:
    return {"aarch64": "arm64", "x86_64": "amd64"}.get(base_arch, base_arch)


def rpm_setup(configs: list[str]) -> list[str]:
    """KollaWorker.build_rpm_setup: engine commands for .rpm/.repo files or URLs."""
    commands = []
    for config in configs:
        if config.endswith(".rpm"):
            commands.append(f"RUN dnf -y install {config}")
        elif config.endswith(".repo"):
            name = config.split("/")[-1]
            commands.append(
                f"RUN curl -L {config} -o /etc/yum.repos.d/{name}"
                if config.startswith("http")
                else f"COPY {config} /etc/yum.repos.d/"
            )
        elif not config:
            commands.append("")
        else:
            raise ValueError(f"RPM setup must be provided as .rpm or .repo files, got `{config}`.")
    return commands


@dataclass(frozen=True)
class KollaSettings:
    """What kolla-build's options say, for one run (the per-image values are arguments of `context`)."""

    base_distro: str = "debian"
    base_image: str = "debian"
    base_distro_tag: str = "trixie"
    base_arch: str = "x86_64"
    namespace: str = "kolla"
    tag: str = default_tag(OPENSTACK_RELEASE, "debian", "trixie")
    maintainer: str = MAINTAINER
    openstack_release: str = OPENSTACK_RELEASE
    openstack_release_codename: str = OPENSTACK_RELEASE_CODENAME
    use_dumb_init: bool = True
    docker_healthchecks: bool = True
    clean_package_cache: bool = True
    base_package_type: str = ""  # empty: from the distro, as Kolla
    distro_package_manager: str = ""
    patches_path: str | None = None
    repos_yaml: str = ""
    rpm_setup_config: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def context(
        self,
        image_name: str,
        image_prefix: str,
        users: Mapping[str, Mapping[str, Any]],
        *,
        base_image: str | None = None,
        base_distro_tag: str | None = None,
    ) -> dict[str, Any]:
        """`base_image`/`base_distro_tag` replace the options' for an image built on a base this repo
        builds or pins (a `debian_rootfs`, an image by digest), as kolla-build's `--base-image` would."""
        package_type, package_manager = PACKAGE_TYPES.get(self.base_distro, ("", ""))
        branch = openstack_branch(self.openstack_release)
        return {
            "base_distro": self.base_distro,
            "base_image": base_image or self.base_image,
            "base_distro_tag": base_distro_tag or self.base_distro_tag,
            "base_arch": self.base_arch,
            "repos_yaml": self.repos_yaml,
            "use_dumb_init": self.use_dumb_init,
            "base_package_type": self.base_package_type or package_type,
            "debian_arch": debian_arch(self.base_arch),
            "docker_healthchecks": self.docker_healthchecks,
            "supported_distro_name": DISTRO_PRETTY_NAME.get(self.base_distro),
            "image_prefix": image_prefix,
            "namespace": self.namespace,
            "openstack_release": self.openstack_release,
            "openstack_release_codename": self.openstack_release_codename,
            "openstack_branch": branch,
            "openstack_branch_slashed": branch.replace("-", "/"),
            "tag": self.tag,
            "maintainer": self.maintainer,
            "kolla_version": KOLLA_VERSION,
            "image_name": image_name,
            "users": {name: dict(values) for name, values in users.items()},
            "distro_package_manager": self.distro_package_manager or package_manager,
            "rpm_setup": rpm_setup(list(self.rpm_setup_config)),
            "clean_package_cache": self.clean_package_cache,
            "patches_path": self.patches_path,
            "env": dict(self.env),
        }
