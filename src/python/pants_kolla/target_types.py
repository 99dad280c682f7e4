"""Targets: `kolla_image` (one folder under images/), `debian_rootfs` (a base made by mmdebstrap) and
`kolla_template_library` (Jinja macros shared by every template)."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple

from pants.engine.addresses import Address, AddressInput
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    AsyncFieldMixin,
    BoolField,
    Dependencies,
    InvalidFieldException,
    MultipleSourcesField,
    SecondaryOwnerMixin,
    SingleSourceField,
    StringField,
    StringSequenceField,
    Tags,
    Target,
)
from pants.source.filespec import Filespec
from pants.util.strutil import help_text

from pants_kolla.core import field_checks
from pants_kolla.core.dialects import Dialect
from pants_kolla.core.errors import where
from pants_kolla.core.install_types import InstallType
from pants_kolla.core.package_lock import LOCK_FILE
from pants_kolla.core.registry_refs import parse_pinned
from pants_kolla.core.size_budget import SizeError, parse_size
from pants_kolla.core.tailor_guess import TAILOR_TODO


def check_values(
    alias: str, address: Address, values: Iterable[str], problem: Callable[[str], Optional[str]]
) -> None:
    """Raise Pants' InvalidFieldException, naming target and field, for the first bad value."""
    for value in values:
        reason = problem(value)
        if reason:
            raise InvalidFieldException(f"{where(address, alias, with_file=False)}: {reason}.")


class KollaInstallTypeField(StringField):
    alias = "install_type"
    value: str  # required, or defaulted
    required = True
    valid_choices = InstallType
    help = help_text(
        """
        How the image installs its software: `binary` (distribution packages), `source` (upstream
        releases and wheels) or `infra` (neither: built once, whatever install types a run asks for).

        Use `parametrize("binary", "source")` for an image built both ways. The value is also added to
        the target's `tags`, so `pants --tag=infra package images/::` selects infra images only.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        assert value is not None  # required, or defaulted
        # `parametrize` is expanded before fields are computed: a parametrized variant carries its value
        # in the address. An infra image is one image whatever the install type, so a second variant
        # would build the same image under another name.
        if value == InstallType.INFRA and "install_type" in address.parameters:
            raise InvalidFieldException(
                f"{where(address, cls.alias, with_file=False)}: `infra` cannot be parametrized with other install types "
                f"(an infra image is built once, whatever install types a run asks for). Use "
                f'`install_type="infra"`, or `parametrize("binary", "source")`.'
            )
        return value


class KollaParentField(StringField):
    alias = "parent"
    value: str  # required, or defaulted
    required = True
    help = help_text(
        """
        Address of the image this one is built `FROM`: another `kolla_image` or a `debian_rootfs`.

        A binary/source image gets its parent's variant of the same install type when the parent is
        parametrized; an infra image's parent must be infra (or a rootfs). The rendered template sees
        the parent's image name as `parent_image`.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        assert value is not None  # required, or defaulted
        if value.startswith(TAILOR_TODO):
            return value  # the image graph says what to write there
        try:
            AddressInput.parse(
                value,
                relative_to=address.spec_path,
                description_of_origin=where(address, cls.alias, with_file=False),
            )
        except Exception as e:
            raise InvalidFieldException(
                f"{where(address, cls.alias, with_file=False)}: `{value}` is not an address: {e}"
            )
        return value


class KollaTemplateField(SingleSourceField):
    alias = "template"
    required = False
    default = "Dockerfile.j2"
    expected_file_extensions = (".j2",)
    help = "The Jinja2 template rendered into this image's Dockerfile."


# A secondary owner of its files (Pants' mechanism for a second file field on a target): without it
# `--changed-since` and file arguments would not find the image whose override file changed.
class KollaTemplateOverridesField(MultipleSourcesField, SecondaryOwnerMixin):
    alias = "template_overrides"
    default = ()
    expected_file_extensions = (".j2",)
    help = help_text(
        """
        Template override files for this image, Kolla's `--template-override` per image, applied in the
        listed order on top of `[kolla].template_overrides`. Each starts with
        `{% extends parent_template %}` and replaces blocks of the image template
        (`{% block keystone_footer %}...{% endblock %}`) or sets the customizable lists
        (`{% set keystone_binary_packages_append = ["vim"] %}`).
        """
    )


class KollaPackageLockField(AsyncFieldMixin, SecondaryOwnerMixin, StringField):
    """Not a sources field: the template is the target's one primary source (Pants takes the first
    sources field by alias as primary). A secondary owner, so a changed lock selects its image under
    `--changed-since` and as a file argument."""

    alias = "package_lock"
    default = LOCK_FILE
    value: str
    help = help_text(
        f"""
        The image's Debian package lock, a file beside its BUILD file (default `{LOCK_FILE}`, written by
        `pants kolla-lock`): every .deb its package installs add to its parent (for a `debian_rootfs`:
        every .deb mmdebstrap installs), by sha256. With a lock, builds install exactly those files and
        read no mirror; without one (no file yet), they install from the mirror.
        """
    )

    @property
    def filespec(self) -> Filespec:
        return {"includes": [os.path.join(self.address.spec_path, self.value)]}


class KollaImageNameField(StringField):
    alias = "image_name"
    value: str  # required, or defaulted
    help = help_text(
        """
        The image's name without namespace, prefix or tag (Kolla's image name). Defaults to the
        target's name, which defaults to the folder name.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address) or address.target_name
        check_values(cls.alias, address, [value], field_checks.repository_problem)
        return value


class KollaImageDependenciesField(Dependencies):
    help = help_text(
        """
        Files COPY'd or ADD'ed into the build context (`files`/`resources` targets). Files in the image's
        folder appear at the context root, as in Kolla; others keep their repo path. Nothing else from
        the folder is sent to the engine.
        """
    )


class KollaBuildArgsField(StringSequenceField):
    alias = "build_args"
    help = help_text(
        """
        Build arguments `NAME=value` passed to the build (part of the image's cache key). Not for
        secrets: like with `docker build --build-arg`, values a `RUN` step uses are recorded in the
        image's history, which `publish` pushes, and every value is in the build process's command line,
        which Pants stores with its cache entries (local and remote).
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Iterable[str]], address: Address) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        check_values(cls.alias, address, value or (), field_checks.build_arg_problem)
        repeated = field_checks.duplicate_build_arg_problem(value or ())
        if repeated:
            raise InvalidFieldException(f"{where(address, cls.alias, with_file=False)}: {repeated}.")
        return value


class KollaAllowedToFailField(BoolField):
    alias = "allowed_to_fail"
    default = False
    help = help_text(
        """
        A failure of this image (or of its descendants because of it) is reported in the run summary
        but does not fail the run's exit code (Kolla's allowed-to-fail images).
        """
    )


class KollaSquashField(BoolField):
    alias = "squash"
    default = False
    help = help_text(
        """
        Merge the image's own layers (one per `RUN`, `COPY`...) into one on top of its parent's layers,
        which stay shared (kolla-build's `--squash`, without losing what children share with parents):
        files a later step removed are then gone from the image. The steps stay in the image's history.
        Part of the cache key. Effect on sizes: docs/sizes.md.
        """
    )


class KollaDialectField(StringField):
    alias = "dialect"
    value: str  # required, or defaulted
    default = Dialect.PANTS_KOLLA.value
    valid_choices = Dialect
    help = help_text(
        """
        How the template is rendered: `pants-kolla` (this plugin's context, with install types) or
        `kolla` (kolla-build 23.0.0's context, functions, undefined-variable and override rules, so that
        Kolla's own docker/ tree renders unchanged). Set it for a whole tree in its top BUILD file:
        `__defaults__({kolla_image: dict(dialect="kolla")})`.
        """
    )


# Publish-only: not in any build's cache key.
class KollaExtraTagsField(StringSequenceField):
    alias = "extra_tags"
    default = ()
    help = help_text(
        """
        Tags `publish` pushes besides `[kolla].tag` (e.g. `["2024.1", "latest"]`), same repository.
        They are publish-only: they do not enter the build's cache key.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Iterable[str]], address: Address) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        check_values(cls.alias, address, value or (), field_checks.tag_problem)
        return value


# Read by `pants run` only: not in any build's cache key.
class KollaRunArgsField(StringSequenceField):
    alias = "run_args"
    default = ()
    help = help_text(
        """
        Arguments `pants run` gives `docker run` for this image, after `[kolla].run_args` (ports,
        volumes: `["-p", "8080:80", "-v", "/srv/x:/x"]`).
        """
    )


# Read by `kolla-size` only: not in any build's cache key.
class KollaMaxSizeField(StringField):
    alias = "max_size"
    default = None
    help = help_text(
        """
        The most this image may weigh (its uncompressed layers, the parent's included), e.g. `"800MiB"`:
        `kolla-size` fails naming the image when it is heavier. Units: B, KiB, MiB, GiB, KB, MB, GB.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None:
            try:
                parse_size(value)
            except SizeError as e:
                raise InvalidFieldException(f"{where(address, cls.alias, with_file=False)}: {e}.")
        return value


def _with_install_type_tag(unhydrated_values: Mapping[str, Any]) -> dict[str, Any]:
    """Pants' `--tag` filter reads the `tags` field; we derive the install type tag instead of asking
    users to repeat it. By the time a Target is built, `parametrize` has been expanded."""
    values = dict(unhydrated_values)
    install_type = values.get(KollaInstallTypeField.alias)
    if isinstance(install_type, str):
        tags = tuple(values.get(Tags.alias) or ())
        if install_type not in tags:
            values[Tags.alias] = (*tags, install_type)
    return values


class KollaImageTarget(Target):
    alias = "kolla_image"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        KollaInstallTypeField,
        KollaParentField,
        KollaTemplateField,
        KollaImageNameField,
        KollaImageDependenciesField,
        KollaBuildArgsField,
        KollaAllowedToFailField,
        KollaSquashField,
        KollaTemplateOverridesField,
        KollaDialectField,
        KollaExtraTagsField,
        KollaMaxSizeField,
        KollaRunArgsField,
        KollaPackageLockField,
    )
    help = help_text(
        """
        A Kolla-style container image: a Jinja2 `Dockerfile.j2` rendered with the `[kolla]` context and
        built FROM its parent image, with only the declared files in the build context.
        """
    )

    # Pants has no hook to derive one field from another when a target is parsed.
    def __init__(  # type: ignore[misc]
        self, unhydrated_values: Mapping[str, Any], address: Address, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(_with_install_type_tag(unhydrated_values), address, *args, **kwargs)


class DebianSuiteField(StringField):
    alias = "suite"
    value: str  # required, or defaulted
    default = "bookworm"
    help = "The Debian suite mmdebstrap installs (e.g. `bookworm`)."

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        assert value is not None  # required, or defaulted
        check_values(cls.alias, address, [value], field_checks.suite_problem)
        return value


class DebianVariantField(StringField):
    alias = "variant"
    value: str  # required, or defaulted
    default = "minbase"
    valid_choices = (
        "extract",
        "custom",
        "essential",
        "apt",
        "required",
        "minbase",
        "buildd",
        "important",
        "debootstrap",
        "standard",
    )
    help = "mmdebstrap's `--variant`."


class DebianPackagesField(StringSequenceField):
    alias = "packages"
    default = ()
    help = "Extra Debian packages installed into the rootfs (mmdebstrap's `--include`)."

    @classmethod
    def compute_value(cls, raw_value: Optional[Iterable[str]], address: Address) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        check_values(cls.alias, address, value or (), field_checks.package_problem)
        return value


class RegistryImageField(StringField):
    alias = "registry_image"
    help = help_text(
        """
        Pull this root image from a registry instead of building it with mmdebstrap: a reference with
        its manifest digest, `[registry/]repository[:tag]@sha256:<64 hex>` (kolla-build's
        `--base-image`, pinned). Pulled once (a cached process: the digest fixes the content), kept as a
        docker-archive in Pants' store. `suite`, `variant` and `packages` are then not used. Plain-HTTP
        registries: loopback ones, or those in `[kolla].insecure_registries`.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and parse_pinned(value) is None:
            raise InvalidFieldException(
                f"{where(address, cls.alias)}: `{value}` is not a reference pinned by digest; write "
                f"`[registry/]repository[:tag]@sha256:<64 hex digits>`."
            )
        return value


class DebianRootfsTarget(Target):
    alias = "debian_rootfs"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        DebianSuiteField,
        DebianVariantField,
        DebianPackagesField,
        KollaImageNameField,
        RegistryImageField,
        KollaExtraTagsField,
        KollaMaxSizeField,
        KollaRunArgsField,
        KollaPackageLockField,
    )
    help = help_text(
        """
        A Debian root filesystem built with mmdebstrap and packed as a one-layer image, so that no
        registry is needed for base images. `kolla_image` targets use it as `parent`.
        """
    )


class KollaTemplateLibrarySourcesField(MultipleSourcesField):
    default = ("*.j2",)
    help = "The Jinja2 files of the library, importable by file name from every image template."
    expected_file_extensions = (".j2",)


class KollaTemplateLibraryTarget(Target):
    alias = "kolla_template_library"
    core_fields = (*COMMON_TARGET_FIELDS, KollaTemplateLibrarySourcesField)
    help = help_text(
        """
        Jinja2 files (e.g. `macros.j2`) importable by every image template by file name:
        `{% import "macros.j2" as macros %}`. Every `kolla_image` depends on them.
        """
    )
