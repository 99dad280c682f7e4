"""The `[kolla]` options: naming and the default template context."""

from __future__ import annotations

from typing import Any

from pants.option.option_types import BoolOption, DictOption, IntOption, StrListOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap

from pants_kolla.naming import NamingScheme
from pants_kolla.users import DEFAULT_USERS, validated_users


class KollaSubsystem(Subsystem):
    options_scope = "kolla"
    help = "Options for building Kolla-style image trees (naming, template context, builds)."

    namespace = StrOption(default="kolla", help="Image namespace (Kolla's `--namespace`).")
    tag = StrOption(default="master", help="Tag of every built image (Kolla's `--tag`).")
    base_distro = StrOption(default="debian", help="Base distribution name used in image prefixes.")
    base_distro_tag = StrOption(default="bookworm", help="Base distribution release, in the context.")
    infra_image_prefix = StrOption(
        default="",
        help="Prefix of infra image names (`<namespace>/<prefix><name>`), which carry no install type.",
    )
    maintainer = StrOption(
        default="pants-kolla", help="`maintainer` in the template context (a LABEL in Kolla images)."
    )
    openstack_release = StrOption(default="master", help="`openstack_release` in the template context.")
    debian_mirror = StrOption(
        default="http://deb.debian.org/debian",
        help="Mirror mmdebstrap installs `debian_rootfs` targets from.",
    )
    source_date_epoch = IntOption(
        default=1700000000,
        help=softwrap(
            """
            `SOURCE_DATE_EPOCH` for rootfs builds and the creation time of the rootfs image, so that
            the same packages give the same image.
            """
        ),
    )
    retries = IntOption(
        default=1,
        help="How many times a build failing with a transient error (mirror hiccup) is retried.",
    )

    builder = StrOption(
        default="auto",
        help=softwrap(
            """
            What builds images: `docker` (the engine at DOCKER_HOST, through the docker SDK),
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
            rebuilt either way; turn this off to prove builds reproducible from scratch.
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
            Registries reached over plain HTTP. Loopback registries (`127.0.0.0/8`, `localhost`) always
            are; any other listed registry must also be in the engine's `insecure-registries`
            (daemon.json), which `publish` checks before pushing.
            """
        ),
    )
    push_retries = IntOption(
        default=3,
        help="How many times a push that cannot reach the registry is retried (1 s, 2 s, 4 s... apart).",
    )

    def naming(self) -> NamingScheme:
        return NamingScheme(
            namespace=self.namespace,
            tag=self.tag,
            base_distro=self.base_distro,
            infra_image_prefix=self.infra_image_prefix,
            rename_infra_images=self.rename_infra_images,
        )
