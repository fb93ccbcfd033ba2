"""Where the data shipped with the product is: firmware_configs/ (device profiles, site configs).

Found with importlib.resources, so it works the same from a source checkout and from an
installed wheel, whatever the working directory:

    profiles_dir()              # firmware_configs/profiles
    sites_dir()                 # firmware_configs/sites
    site_file("demo-area")      # a packaged site by name → its path
    site_argument("x.yaml")     # a --site argument: a file as given, or a packaged site's name
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_PACKAGE = "firmware_configs"


def data_dir() -> Path:
    from importlib.resources import files  # not at import: `custody replay FILE` need not pay for it

    root = files(DATA_PACKAGE)
    if not isinstance(root, Path):  # e.g. imported from a zip archive: the loaders need real files
        raise RuntimeError(
            f"{DATA_PACKAGE} is not installed as files on disk ({root!r}); "
            "install the package (pip install) rather than importing it from an archive"
        )
    return root


def profiles_dir() -> Path:
    return data_dir() / "profiles"


def sites_dir() -> Path:
    return data_dir() / "sites"


def packaged_sites() -> list[str]:
    """Names of the site configs shipped with the product (e.g. demo-area, demo-property)."""
    return sorted(p.stem for p in sites_dir().glob("*.yaml"))


def site_file(name: str) -> Path:
    """The packaged site config called `name` (file name without .yaml)."""
    path = sites_dir() / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no packaged site {name!r} (packaged: {', '.join(packaged_sites())})")
    return path


def site_argument(arg: str | os.PathLike) -> Path:
    """A `--site` argument: an existing file as given; else a bare name (no folder, no suffix)
    of a packaged site, e.g. `demo-area`; else the path as given, for the loader to report."""
    path = Path(arg)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    candidate = sites_dir() / f"{path.name}.yaml"
    return candidate if candidate.is_file() else path
