"""The `[kolla]` options: naming and the default template context."""

from __future__ import annotations

from pants.option.option_types import BoolOption, IntOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap

from pants_kolla.naming import NamingScheme


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

    def naming(self) -> NamingScheme:
        return NamingScheme(
            namespace=self.namespace,
            tag=self.tag,
            base_distro=self.base_distro,
            infra_image_prefix=self.infra_image_prefix,
        )
