"""Install types, Kolla's `install_type` plus `infra`: images that do not depend on binary/source."""

BINARY = "binary"
SOURCE = "source"
INFRA = "infra"

ALL = (BINARY, SOURCE, INFRA)
PER_TYPE = (BINARY, SOURCE)

# Kolla's metatype: what kind of install a binary/source image is (rdo/mixed in Kolla's RPM days).
METATYPES = {BINARY: "debian", SOURCE: "source"}
