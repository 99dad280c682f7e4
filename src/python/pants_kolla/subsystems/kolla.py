"""The `[kolla]` options: naming and the default template context."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any

from pants.option.option_types import (
    BoolOption,
    DictOption,
    EnumOption,
    IntOption,
    ShellStrListOption,
    StrListOption,
    StrOption,
)
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap

from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.users import DEFAULT_USERS, validated_users
from pants_kolla.kolla_dialect import kolla_context
from pants_kolla.subsystems.kolla_dialect_options import KollaDialectOptions


class BuilderChoice(Enum):
    """`[kolla].builder`: an enum, so that Pants rejects a misspelt value (`dokcer`) itself."""

    auto = "auto"
    docker = "docker"
    buildah = "buildah"


PANTS_KOLLA_DEFAULTS = {
    "tag": "master",
    "base_distro_tag": "bookworm",
    "maintainer": "pants-kolla",
    "openstack_release": "master",
}


class KollaSubsystem(KollaDialectOptions, Subsystem):
    options_scope = "kolla"
    help = "Options for building Kolla-style image trees (naming, template context, builds)."

    namespace = StrOption(default="kolla", help="Image namespace (Kolla's `--namespace`).")
    tag = StrOption(
        default=None,
        help='Tag of every built image (Kolla\'s `--tag`). Default: `master`; for `dialect="kolla"` '
        "images kolla-build's `<openstack_release>-<base_distro>-<base_distro_tag>` "
        "(`2026.2-debian-trixie`).",
    )
    base_distro = StrOption(default="debian", help="Base distribution name used in image prefixes.")
    base_distro_tag = StrOption(
        default=None,
        help="Base distribution release, in the context. Default: `bookworm`; `trixie` (kolla-build's "
        "`--base-tag` for debian) for kolla-dialect images.",
    )
    infra_image_prefix = StrOption(
        default="",
        help="Prefix of infra image names (`<namespace>/<prefix><name>`), which carry no install type.",
    )
    maintainer = StrOption(
        default=None,
        help="`maintainer` in the template context (a LABEL in Kolla images). Default: `pants-kolla`; "
        "kolla-build's for kolla-dialect images.",
    )
    openstack_release = StrOption(
        default=None,
        help="`openstack_release` in the template context. Default: `master`; kolla-build 23.0.0's "
        "(`2026.2`) for kolla-dialect images.",
    )
    debian_mirror = StrOption(
        default="http://deb.debian.org/debian",
        help=softwrap(
            """
            Mirror mmdebstrap installs `debian_rootfs` targets from. Credentials in it
            (`http://user:pass@host/debian`) are given to apt as an `auth.conf` file for the rootfs build
            only: they never reach the build's command line or cache key, its log, or the image (whose
            sources.list and history name the mirror without them). Images built on the rootfs reach the
            mirror without them.
            """
        ),
    )
    source_date_epoch = IntOption(
        default=1700000000,
        help=softwrap(
            """
            `SOURCE_DATE_EPOCH` for rootfs builds and the creation time of the rootfs image, so that
            the same packages give the same image. It must be in the past (checked before any build):
            file times are only clamped when newer than it.
            """
        ),
    )
    retries = IntOption(
        default=1,
        help="How many times a build failing with a transient error (mirror hiccup) is retried.",
    )

    builder = EnumOption(
        default=BuilderChoice.auto,
        help=softwrap(
            """
            What builds images: `docker` (the engine at DOCKER_HOST or the docker context),
            `buildah` (daemonless, `buildah bud --isolation chroot` in the build sandbox) or `auto`:
            docker where an engine answers, else buildah. Images are the same kind of output either way
            (a normalized docker-archive directory); with buildah and no engine, `package` writes them
            to dist/ without loading them.
            """
        ),
    )
    engine_layer_cache = BoolOption(
        default=True,
        help=softwrap(
            """
            Let the Docker engine reuse its own layer cache inside a build. Pants' cache decides what is
            rebuilt either way; within a rebuild, the engine then reruns only the steps from the first one
            that changed. The engine keeps one set of step images per target, its latest build's (a new
            build of the target removes the previous set), so its disk stays bounded. Off: every build
            removes its step images and each rebuild runs every step, which proves builds reproducible
            from scratch. Image IDs and cache keys are the same either way.
            """
        ),
    )
    read_engine_storage = BoolOption(
        default=True,
        help=softwrap(
            """
            Read the layers a build adds straight from the Docker engine's overlay2 storage when this
            machine can (a local engine, readable by the user running Pants), instead of `docker save`,
            which re-exports every inherited layer too. The archive is byte-identical either way; off
            always uses `docker save`.
            """
        ),
    )
    export_archives = BoolOption(
        default=False,
        help=softwrap(
            """
            Write every image's full docker-archive (all layer files) to dist/images/<name>/image/, ready
            for `docker load` or skopeo. Off by default: the engine holds the images and Pants' store the
            archives, so `package` writes only each image's manifest, config, Dockerfile and build log.
            Archives are always written when no engine holds the images (the buildah builder).
            """
        ),
    )
    # Registry (publish only), infra naming, service users and template overrides.
    registry = StrOption(
        default="",
        help=softwrap(
            """
            Registry `publish` pushes to, as `host[:port]` (e.g. `registry.example.com:5000`). Images are
            pushed as `<registry>/<namespace>/<prefix><name>:<tag>`. Empty: `publish` skips every image.
            The registry is not part of image names while building (`parent_image`, tags in the engine),
            so changing it rebuilds nothing. Credentials come from Docker's config only (`docker login`,
            credential helpers, or a config directory named by `DOCKER_CONFIG` in the environment).
            """
        ),
    )
    rename_infra_images = BoolOption(
        default=True,
        help=softwrap(
            """
            Name infra images `<namespace>/<infra_image_prefix><name>`, without distro or install type,
            so that they carry one name whatever install types a run builds. When false, infra images get
            the prefix `<base_distro>-infra-` instead (e.g. `kolla/debian-infra-cron`), which keeps every
            name in Kolla's `<distro>-<type>-<name>` shape; `infra_image_prefix` is then ignored.
            `debian_rootfs` bases always use `infra_image_prefix`.
            """
        ),
    )
    users = DictOption[Any](
        default=DEFAULT_USERS,
        help=softwrap(
            """
            Service users, Kolla's `[<name>-user]` sections:
            `{"keystone": {"uid": 42425, "gid": 42425}, ...}`. Templates see them as `users` (e.g.
            through the `configure_user` macro). The default holds Kolla's uids; `--kolla-users="+{...}"`
            adds or changes entries, a value without `+` replaces them all.
            """
        ),
    )
    template_overrides = StrListOption(
        help=softwrap(
            """
            Template override files (paths from the build root) applied to every image, Kolla's
            `--template-override`: each starts with `{% extends parent_template %}` and replaces blocks
            of the image template (e.g. `{% block keystone_footer %}`) or sets Kolla's customizable lists
            (`{% set keystone_binary_packages_append = ["vim"] %}`). Listed files chain in order; a
            `kolla_image`'s own `template_overrides` apply on top of these.
            """
        ),
    )

    def validated_users(self) -> dict[str, dict[str, int]]:
        return validated_users(self.users, origin="`[kolla].users`")

    insecure_registries = StrListOption(
        default=[],
        help=softwrap(
            """
            Registries reached over plain HTTP (or HTTPS without certificate checks). Loopback
            registries (`127.0.0.0/8`, `localhost`) always are.
            """
        ),
    )
    push_retries = IntOption(
        default=3,
        help="How many times a push that cannot reach the registry is retried (1 s, 2 s, 4 s... apart).",
    )
    push_jobs = IntOption(
        default=4,
        help=softwrap(
            """
            How many images `publish` pushes at a time (each after its parent, whose blobs it then finds
            in the registry instead of uploading them alongside).
            """
        ),
    )
    run_args = ShellStrListOption(
        default=["--interactive", "--tty"] if sys.stdout.isatty() else [],
        help="Arguments `pants run` gives `docker run` for every image (before a target's `run_args`).",
    )

    def pants_kolla_value(self, name: str) -> str:
        """An option shared by both dialects, with pants-kolla's default."""
        value = getattr(self, name)
        return value if value is not None else PANTS_KOLLA_DEFAULTS[name]

    def kolla_settings(self) -> kolla_context.KollaSettings:
        """kolla-build's options: the shared ones default to kolla-build's, not pants-kolla's."""
        base_image, base_tag = kolla_context.DEFAULT_BASE_IMAGES.get(self.base_distro, (self.base_distro, ""))
        release = self.openstack_release or kolla_context.OPENSTACK_RELEASE
        base_distro_tag = self.base_distro_tag or base_tag
        return kolla_context.KollaSettings(
            base_distro=self.base_distro,
            base_image=self.base_image or base_image,
            base_distro_tag=base_distro_tag,
            base_arch=self.base_arch,
            namespace=self.namespace,
            tag=self.tag or kolla_context.default_tag(release, self.base_distro, base_distro_tag),
            maintainer=self.maintainer if self.maintainer is not None else kolla_context.MAINTAINER,
            openstack_release=release,
            openstack_release_codename=self.openstack_release_codename,
            use_dumb_init=self.use_dumb_init,
            docker_healthchecks=self.docker_healthchecks,
            clean_package_cache=self.clean_package_cache,
            base_package_type=self.base_package_type,
            distro_package_manager=self.distro_package_manager,
            patches_path=self.patches_path,
            repos_yaml=self.repos_yaml,
            rpm_setup_config=tuple(self.rpm_setup_config),
            env={str(k): str(v) for k, v in self.template_env.items()},
        )

    def naming(self) -> NamingScheme:
        return NamingScheme(
            namespace=self.namespace,
            tag=self.pants_kolla_value("tag"),
            kolla_tag=self.kolla_settings().tag,
            base_distro=self.base_distro,
            infra_image_prefix=self.infra_image_prefix,
            rename_infra_images=self.rename_infra_images,
        )
