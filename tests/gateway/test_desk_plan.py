"""The desk serves the site's floor plan to its consoles (GET /desk/v1/plan) from a real gateway."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gw_helpers import Desk, add_staff
from gw_processes import GatewayProcess
from gw_sites import NO_DEVICES_SITE, write_site

from core_ext.layout import site_plan
from core_ext.site import load_site

pytestmark = [pytest.mark.floorplan, pytest.mark.timeout(120)]

# (write_site formats the template: braces doubled)
LAYOUT = """
layout:
  zones:
    entry: {{rect: [0, 0, 4, 5]}}
    int1: {{polygon: [[4, 0], [9, 0], [9, 5], [4, 5]]}}
  doors: {{door-main: [0, 2.5]}}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("desk-plan")
    data = tmp / "data"
    add_staff(data)
    site = write_site(tmp, NO_DEVICES_SITE + LAYOUT)
    gw = GatewayProcess(site, data, extra=["--health-interval", "3600"]).start()
    yield gw
    assert gw.stop() == 0


def test_the_desk_serves_the_plan_of_its_site(gateway):
    assert httpx.get(gateway.desk_url + "/desk/v1/plan").status_code == 401
    desk = Desk(gateway.desk_url)
    reply = desk.client.get("/desk/v1/plan")
    assert reply.status_code == 200
    plan = reply.json()
    assert plan == site_plan(load_site(gateway.site))
    assert plan["source"] == "config"
    assert [z["id"] for z in plan["zones"]] == ["entry", "int1"]
    assert plan["zones"][1]["points"] == [[4.0, 0.0], [9.0, 0.0], [9.0, 5.0], [4.0, 5.0]]
    assert plan["doors"] == [{"id": "door-main", "zone": "entry", "at": [0.0, 2.5]}]
    assert plan["lockers"] == [{"id": "bank-a", "zone": "entry", "at": [2.0, 1.7]}]  # placed in its zone
