"""The `[kolla]` options: naming and the default template context."""

from __future__ import annotations

from pants.option.option_types import IntOption, StrListOption, StrOption
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

    # -- publish (additive: the registry never enters build cache keys, only `publish` reads it) --
    registry = StrOption(
        default="",
        help=softwrap(
            """
            Registry `publish` pushes to, as `host[:port]` (e.g. `registry.example.com:5000`). Images are
            pushed as `<registry>/<namespace>/<prefix><name>:<tag>`. Empty: `publish` skips every image.
            Credentials come from Docker's config only (`docker login`, credential helpers, or a
            config directory named by `DOCKER_CONFIG` in the environment), never from Pants options.
            """
        ),
    )
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
        )
