"""`custody check-site SITE.yaml [...]`: validate a site config and its device wiring.

Checks what the gateway would refuse at start-up, without starting anything: the engine part
(DESIGN §6.1), every `devices:` entry against its driver and profile, and that devices point at
readers, banks, doors and cameras the site declares. Prints a one-screen summary per site, or
every fault as `file:line: key.path: what`; exit status 1 when anything is wrong.
"""
from __future__ import annotations

import argparse
import sys
from functools import partial

from core_ext import vocab
from core_ext.i18n import cli_locale, gettext
from core_ext.resources import site_argument
from core_ext.site import SiteConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sites", nargs="+", metavar="SITE.yaml", type=site_argument,
                        help="site config(s) to check (a file, or a packaged site's name, e.g. demo-area)")


class WiringFaults(Exception):
    """Device wiring faults, each already `file:line: ...`."""

    def __init__(self, faults: list[str]):
        super().__init__("invalid device wiring\n  " + "\n  ".join(faults))


def _summary(path: str) -> list[str]:
    from drivers.config import DeviceConfigError
    from gateway.site_bundle import load_site_bundle  # what `custody gateway run` loads, read the same way

    try:
        bundle = load_site_bundle(path)
    except DeviceConfigError as exc:
        raise WiringFaults([str(exc)]) from None
    if bundle.wiring_faults:
        raise WiringFaults(bundle.wiring_faults)
    cfg, model, devices = bundle.config, bundle.model, bundle.devices
    by_driver: dict[str, int] = {}
    for spec in devices:
        by_driver[spec.driver_name] = by_driver.get(spec.driver_name, 0) + 1
    types = sorted({z.type for z in cfg.zones}, key=vocab.ZONE_TYPE_CODE.__getitem__)
    # For people, in the CLI's language ($CUSTODY_LOCALE / LANG, default zh-CN); ids stay as written.
    locale = cli_locale()
    _ = partial(gettext, locale)
    sep = "、" if locale == "zh_CN" else ", "
    flow = (_("any transition") if cfg.flow is None
            else _("%(count)d allowed transitions") % {"count": len(cfg.flow)})
    lines = [
        f"{path}: " + _("site %(id)s (%(kind)s, %(name)s, %(timezone)s)") % {
            "id": cfg.site.id, "kind": _(cfg.site.kind), "name": cfg.site.name or _("no name"), "timezone": cfg.site.timezone},
        "  " + _("zones: %(count)d (%(types)s)") % {"count": len(cfg.zones), "types": sep.join(_(t) for t in types)},
        "  " + _("readers: %(readers)d, cameras: %(cameras)d, doors: %(doors)d, locker slots: %(slots)d in %(banks)d bank(s)") % {
            "readers": len(model.reader_ids), "cameras": len(model.camera_ids), "doors": len(model.door_ids),
            "slots": model.slot_count, "banks": len(model.bank_ids)},
        "  " + _("flow: %(flow)s; required steps: %(steps)s") % {
            "flow": flow, "steps": sep.join(_(t) for t in cfg.required_steps) or _("none")},
        "  " + _("devices: %(count)d") % {"count": len(devices)}
        + (f" ({', '.join(f'{n} {d}' for d, n in sorted(by_driver.items()))})" if devices else ""),
    ]
    return lines


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.sites:
        try:
            print("\n".join(_summary(path)))
        except (SiteConfigError, WiringFaults) as exc:
            print(str(exc), file=sys.stderr)
            status = 1
    return status
