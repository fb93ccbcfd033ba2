"""The center learns a site's floor plan from the gateway's descriptor (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from server_world import make_world

from core_ext.resources import site_file, sites_dir
from core_ext.site import load_site
from gateway.supervisor import site_descriptor

pytestmark = [pytest.mark.floorplan, pytest.mark.server]


def _describe(world, descriptor):
    return world.client.put(f"/api/v1/sites/{world.site_id}/descriptor", json=descriptor, headers=world.gw)


@pytest.mark.parametrize("path", sorted(str(p) for p in sites_dir().glob("*.yaml")))
def test_the_gateway_descriptor_carries_the_plan_and_the_center_serves_it(client, admin_token, path):
    cfg = load_site(path)
    world = make_world(client, admin_token, kind=cfg.site.kind)
    descriptor = {**site_descriptor(cfg), "id": world.site_id}
    assert _describe(world, descriptor).status_code == 200
    reply = client.get(f"/api/v1/sites/{world.site_id}/plan", headers=world.auth("center_monitor"))
    assert reply.status_code == 200, reply.text
    plan = reply.json()
    assert plan == descriptor["plan"]
    assert [z["id"] for z in plan["zones"]] == [z.id for z in cfg.zones]


def test_a_site_described_without_a_plan_gets_a_grid(world):
    # server_world's descriptor (an older gateway) has no plan: every zone still gets a place
    reply = world.client.get(f"/api/v1/sites/{world.site_id}/plan", headers=world.auth("center_monitor"))
    assert reply.status_code == 200
    plan = reply.json()
    assert plan["source"] == "generated"
    assert [z["id"] for z in plan["zones"]] == ["entry", "check", "wait1", "int1", "exit"]
    corners = {z["id"]: z["points"][0] for z in plan["zones"]}
    assert len({tuple(c) for c in corners.values()}) == 5  # five separate cells


def test_a_plan_drawing_a_zone_the_descriptor_lacks_is_refused(world):
    cfg = load_site(site_file("demo-property"))
    descriptor = {**site_descriptor(cfg), "id": world.site_id}
    descriptor["plan"]["zones"][1]["id"] = "vault"
    reply = _describe(world, descriptor)
    assert reply.status_code == 409
    assert reply.json()["detail"] == "plan.zones[1].id: 'vault' is no zone of the descriptor"


def test_a_malformed_plan_is_refused_with_its_path(world):
    cfg = load_site(site_file("demo-property"))
    descriptor = {**site_descriptor(cfg), "id": world.site_id}
    descriptor["plan"]["zones"][0]["points"] = [[0, 0], [1, 1]]
    reply = _describe(world, descriptor)
    assert reply.status_code == 422
    assert any(e["loc"][-3:] == ["zones", 0, "points"] for e in reply.json()["detail"])


def test_the_plan_is_for_users_of_the_site_only(client, admin_token):
    one, other = make_world(client, admin_token), make_world(client, admin_token)
    staff_of_other = other.auth("area_staff")
    # as for the board: another site's plan is not found (its existence is not revealed)
    board = client.get(f"/api/v1/sites/{one.site_id}/board", headers=staff_of_other)
    assert (
        client.get(f"/api/v1/sites/{one.site_id}/plan", headers=staff_of_other).status_code == board.status_code == 404
    )
    assert client.get(f"/api/v1/sites/{other.site_id}/plan", headers=staff_of_other).status_code == 200
    assert client.get(f"/api/v1/sites/{one.site_id}/plan").status_code == 401
