"""trove-verify: evidence-based tier verification for OpenStack Trove."""

from importlib import metadata


def harness_version() -> str:
    try:
        return metadata.version("trove-verify")
    except metadata.PackageNotFoundError:
        return "0+unknown"
