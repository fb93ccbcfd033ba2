"""A site file read once: its YAML parsed once into the site config, the compiled site model and
the device specs, with the wiring checked against the site. The supervisor, `custody check-site`
(and through it the wiring check) share it, so what the gateway runs is what was checked.

    bundle = load_site_bundle("site.yaml")     # SiteConfigError / DeviceConfigError: file:line: ...
    bundle.config, bundle.model, bundle.devices
    bundle.wiring_faults                        # [] when every device points at declared ids
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core_ext.site import SiteConfig, SiteConfigError, SiteModel, compile_site, site_from_document
from core_ext.yamlfile import YamlDocument, YamlFault, read_yaml
from drivers.config import DeviceSpec, check_wiring_against_site, parse_devices


@dataclass(frozen=True)
class SiteBundle:
    path: str
    document: YamlDocument      # the YAML as read (data and lines)
    config: SiteConfig
    model: SiteModel
    devices: list[DeviceSpec]
    wiring_faults: list[str]    # devices that name ids the site does not declare


def load_site_bundle(path: str | os.PathLike[str],
                     overrides: Mapping[str, Mapping[str, Any]] | None = None) -> SiteBundle:
    """Reads and parses the file once; site faults raise SiteConfigError, device faults
    DeviceConfigError (both `file:line: key.path: what`); wiring faults are returned."""
    source = os.fspath(path)
    try:
        doc = read_yaml(source)
    except YamlFault as exc:
        raise SiteConfigError(source, [(exc.line, exc.path, exc.message)]) from None
    config = site_from_document(doc)
    model = compile_site(config)
    devices = parse_devices(doc.data, doc, source, overrides=overrides)
    return SiteBundle(source, doc, config, model, devices, check_wiring_against_site(doc.data, devices))
