"""The cameos REST API, including every cross-user case on private media."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cameos import services
from cameos.models import Cameo, CameoStatus, RoyaltyEntry
from cameos.verification import cameo_verify
from sora_social.celery import app as celery_app
from sora_social.notifications.models import Notification
from tests.cameos.factories import (
    AppearanceFactory,
    CameoFactory,
    CharacterFactory,
    clip_bytes,
    upload,
)
from tests.users.factories import BlockFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Run Celery tasks in-process (the live-stack test runs them on a real worker)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def verified_person(db):
    """A real, verified person cameo (references on storage) for media tests."""
    owner = UserFactory()
    challenge = services.challenge_create(owner=owner, kind="person", name="ava")
    cameo = services.cameo_submit(owner=owner, clip=upload(clip_bytes(challenge=challenge)), challenge_id=challenge.pk)
    cameo_verify(cameo_id=cameo.pk)
    cameo.refresh_from_db()
    assert cameo.status == CameoStatus.ACTIVE
    Cameo.objects.filter(pk=cameo.pk).update(audience="everyone")
    return cameo


def test_create_a_person_cameo_over_rest(client_for, eager, django_capture_on_commit_callbacks):
    owner = UserFactory()
    api = client_for(owner)
    made = api.post(
        "/api/v1/cameos/challenges", {"kind": "person", "name": "ava", "display_name": "Ava R"}, format="json"
    )
    assert made.status_code == 201, made.json()
    challenge = made.json()
    assert len(challenge["code"]) == 6 and challenge["qr_payload"].endswith(f":{challenge['id']}:{challenge['code']}")

    card = api.get(challenge["card_url"])
    assert card.status_code == 200 and card["Content-Type"] == "image/png"
    assert client_for(UserFactory()).get(challenge["card_url"]).status_code == 404

    from cameos.models import CameoChallenge

    data = clip_bytes(challenge=CameoChallenge.objects.get(pk=challenge["id"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/cameos", {"challenge_id": challenge["id"], "clip": upload(data, name="x.bin")}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    assert client_for(UserFactory()).get(f"/api/v1/cameos/{response.json()['id']}").status_code == 404

    detail = api.get(f"/api/v1/cameos/{response.json()['id']}").json()
    assert detail["status"] == "active", detail
    assert detail["can_use"] == {"allowed": True, "code": "owner", "reason": "It is your own cameo."}
    assert detail["verification"]["challenge"] == "shown" and detail["rejection_code"] == ""


def test_the_owner_sees_a_pending_or_rejected_cameo_with_its_reason(client_for):
    cameo = CameoFactory(status="pending")
    assert client_for(cameo.owner).get(f"/api/v1/cameos/{cameo.pk}").json()["status"] == "pending"
    Cameo.objects.filter(pk=cameo.pk).update(
        status="rejected", rejection_code="no_face", rejection_reason="Face the camera."
    )
    body = client_for(cameo.owner).get(f"/api/v1/cameos/{cameo.pk}").json()
    assert (body["status"], body["rejection_code"], body["can_use"]["code"]) == (
        "rejected",
        "no_face",
        "cameo_not_active",
    )
    assert client_for(UserFactory()).get(f"/api/v1/cameos/{cameo.pk}").status_code == 404


def test_upload_refusals_have_codes_and_the_error_shape(client_for):
    owner = UserFactory()
    api = client_for(owner)
    challenge = api.post("/api/v1/cameos/challenges", {"kind": "person", "name": "ava"}, format="json").json()
    not_video = api.post(
        "/api/v1/cameos",
        {"challenge_id": challenge["id"], "clip": upload(b"GIF89a" + b"\0" * 500, name="me.mp4")},
        format="multipart",
    )
    assert not_video.status_code == 400
    assert not_video.json()["error"]["code"] == "not_a_video" and not_video.json()["error"]["message"]
    from cameos.models import CameoChallenge

    good = clip_bytes(challenge=CameoChallenge.objects.get(pk=challenge["id"]))
    first = api.post("/api/v1/cameos", {"challenge_id": challenge["id"], "clip": upload(good)}, format="multipart")
    assert first.status_code == 202
    second = api.post("/api/v1/cameos", {"challenge_id": challenge["id"], "clip": upload(good)}, format="multipart")
    assert (second.status_code, second.json()["error"]["code"]) == (409, "challenge_reused")
    missing = api.post("/api/v1/cameos", {"challenge_id": challenge["id"]}, format="multipart")
    assert missing.status_code == 400 and "clip" in missing.json()["error"]["fields"]


# --- private media -----------------------------------------------------------------------------


def test_only_the_owner_lists_and_downloads_reference_media(client_for, verified_person):
    cameo = verified_person
    owner = cameo.owner
    listing = client_for(owner).get(f"/api/v1/cameos/{cameo.pk}/references")
    assert listing.status_code == 200
    body = listing.json()
    assert len(body["references"]) == 4 and body["clip_url"]
    file_url = body["references"][0]["download_url"]
    png = client_for(owner).get(file_url)
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(b"".join(png.streaming_content))).size == (256, 256)
    clip = client_for(owner).get(body["clip_url"])
    assert clip.status_code == 200 and clip["Content-Type"] == "video/mp4"

    friend, stranger, blocked, staff = UserFactory(), UserFactory(), UserFactory(), UserFactory(is_staff=True)
    make_friends(owner, friend)
    BlockFactory(blocker=owner, blocked=blocked)
    staff.is_superuser = True
    staff.save()
    for intruder in (friend, stranger, blocked, staff):
        api = client_for(intruder)
        for url in (f"/api/v1/cameos/{cameo.pk}/references", file_url, body["clip_url"]):
            response = api.get(url)
            assert response.status_code == 404, (intruder, url)
            assert response.json()["error"]["code"] == "cameo_not_found"
    # The public view never carries media paths.
    public = client_for(stranger).get(f"/api/v1/cameos/{cameo.pk}").json()
    assert "references" not in public and "clip_path" not in str(public) and "verification" not in public
    assert client_for(friend).get(f"/api/v1/cameos/{cameo.pk}").json()["can_use"]["allowed"] is True


def test_reference_media_of_another_cameo_cannot_be_reached_through_mine(client_for, verified_person):
    mine = CameoFactory()
    ref = verified_person.references.first()
    response = client_for(mine.owner).get(f"/api/v1/cameos/{mine.pk}/references/{ref.pk}/file")
    assert response.status_code == 404


def test_downloads_honour_accept_headers(client_for, verified_person):
    ref = verified_person.references.first()
    api = client_for(verified_person.owner)
    url = f"/api/v1/cameos/{verified_person.pk}/references/{ref.pk}/file"
    assert api.get(url, HTTP_ACCEPT="image/png").status_code == 200
    denied = client_for(UserFactory()).get(url, HTTP_ACCEPT="image/png")
    assert denied.status_code == 404 and b"cameo_not_found" in denied.content


# --- browsing ----------------------------------------------------------------------------------


def test_a_private_cameo_is_a_404_to_others_and_decisions_show_in_lists(client_for):
    owner, friend, stranger = UserFactory(handle="ava"), UserFactory(), UserFactory()
    make_friends(owner, friend)
    private = CameoFactory(owner=owner, audience="only_me", name="ava")
    mutual = CameoFactory(owner=owner, audience="mutuals", kind="pet", name="rex")
    ask = CameoFactory(owner=owner, audience="approved", kind="object", name="mug")

    assert client_for(stranger).get(f"/api/v1/cameos/{private.pk}").status_code == 404
    assert client_for(stranger).get(f"/api/v1/cameos/{mutual.pk}").status_code == 404
    assert client_for(stranger).get(f"/api/v1/cameos/{ask.pk}").json()["can_use"]["code"] == "approval_required"

    seen = client_for(friend).get("/api/v1/users/ava/cameos").json()["results"]
    assert {(c["name"], c["can_use"]["code"]) for c in seen} == {("rex", "mutuals"), ("mug", "approval_required")}
    seen = client_for(stranger).get("/api/v1/cameos/search", {"q": "ava"}).json()["results"]
    assert [c["name"] for c in seen] == ["mug"]
    mine = client_for(owner).get("/api/v1/cameos").json()["results"]
    assert {c["name"] for c in mine} == {"ava", "rex", "mug"}
    assert "rejection_code" in mine[0]
    BlockFactory(blocker=owner, blocked=stranger)
    assert client_for(stranger).get(f"/api/v1/cameos/{ask.pk}").status_code == 404
    assert client_for(stranger).get("/api/v1/cameos/search", {"q": "mug"}).json()["results"] == []


def test_search_runs_a_fixed_number_of_queries(client_for, django_assert_max_num_queries):
    viewer = UserFactory()
    api = client_for(viewer)
    for i in range(12):
        cameo = CameoFactory(audience="everyone", name=f"star{i}")
        if i % 3 == 0:
            make_friends(viewer, cameo.owner)
    with django_assert_max_num_queries(12):
        page = api.get("/api/v1/cameos/search", {"q": "star", "limit": 10}).json()
    assert len(page["results"]) == 10 and page["next_cursor"]
    rest = api.get("/api/v1/cameos/search", {"q": "star", "cursor": page["next_cursor"]}).json()
    assert len(rest["results"]) == 2


# --- settings, lists, requests -----------------------------------------------------------------


def test_patch_settings_validates_restrictions_and_instructions(client_for):
    cameo = CameoFactory()
    api = client_for(cameo.owner)
    ok = api.patch(
        f"/api/v1/cameos/{cameo.pk}",
        {"audience": "mutuals", "instructions": "Always wearing a hat.", "restrictions": ["no_political"]},
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["cameo"]["instructions"] == "Always wearing a hat."
    assert ok.json()["cameo"]["restrictions"] == ["no_political"] and ok.json()["cancelled_jobs"] == 0
    bad = api.patch(f"/api/v1/cameos/{cameo.pk}", {"restrictions": ["no_fun"]}, format="json")
    assert bad.status_code == 400
    long = api.patch(f"/api/v1/cameos/{cameo.pk}", {"instructions": "x" * 501}, format="json")
    assert long.status_code == 400
    assert client_for(UserFactory()).patch(f"/api/v1/cameos/{cameo.pk}", {"audience": "everyone"}).status_code == 404


def test_the_schema_states_the_limits_on_aliases_themes_and_fees(client_for):
    """What the schema allows is accepted and one more is refused 400 with nothing changed (the
    serializers allowed 20 aliases of 60 characters and any fee, the services 10, 40 and 100,000)."""
    from cameos import constants

    character = CharacterFactory(name="captain")
    api = client_for(character.owner)
    schemas = api.get("/api/schema/?format=json").json()["components"]["schemas"]
    aliases = schemas["PatchedCameoUpdateInputRequest"]["properties"]["aliases"]
    licence = schemas["LicenceInputRequest"]["properties"]
    assert (aliases["maxItems"], aliases["items"]["maxLength"]) == (constants.MAX_ALIASES, constants.MAX_THEME_LENGTH)
    assert licence["allowed_themes"]["maxItems"] == licence["forbidden_themes"]["maxItems"] == constants.MAX_THEMES
    assert licence["fee_credits"]["maximum"] == constants.MAX_LICENCE_FEE

    url = f"/api/v1/cameos/{character.pk}"
    most = [f"{n:02d}" + "a" * (constants.MAX_THEME_LENGTH - 2) for n in range(constants.MAX_ALIASES)]
    assert api.patch(url, {"aliases": most}, format="json").status_code == 200
    for too_many in ([*most, "one more"], ["a" * (constants.MAX_THEME_LENGTH + 1)]):
        response = api.patch(url, {"aliases": too_many}, format="json")
        assert response.status_code == 400, response.json()
    themes = [f"theme {n}" for n in range(constants.MAX_THEMES)]
    full = {"allowed_themes": themes, "forbidden_themes": themes, "fee_credits": constants.MAX_LICENCE_FEE}
    assert api.put(f"{url}/licence", full, format="json").status_code == 200
    for field, value in (
        ("allowed_themes", [*themes, "one more"]),
        ("forbidden_themes", [*themes, "one more"]),
        ("fee_credits", constants.MAX_LICENCE_FEE + 1),
    ):
        response = api.put(f"{url}/licence", {field: value}, format="json")
        assert response.status_code == 400, (field, response.json())
    shown = client_for(UserFactory()).get(url).json()
    assert len(shown["licence"]["allowed_themes"]) == constants.MAX_THEMES
    assert Cameo.objects.get(pk=character.pk).aliases == most


def test_allow_and_deny_lists(client_for):
    cameo = CameoFactory(audience="only_me")
    ben, dev = UserFactory(handle="ben"), UserFactory(handle="dev")
    api = client_for(cameo.owner)
    assert api.post(f"/api/v1/cameos/{cameo.pk}/access", {"handle": "ben", "effect": "allow"}).status_code == 200
    assert api.post(f"/api/v1/cameos/{cameo.pk}/access", {"handle": "@dev", "effect": "deny"}).status_code == 200
    listed = api.get(f"/api/v1/cameos/{cameo.pk}/access").json()
    assert [(e["user"]["handle"], e["effect"]) for e in listed] == [("ben", "allow"), ("dev", "deny")]
    assert client_for(ben).get(f"/api/v1/cameos/{cameo.pk}").json()["can_use"]["code"] == "allow_list"
    assert client_for(dev).get(f"/api/v1/cameos/{cameo.pk}").status_code == 404
    assert api.delete(f"/api/v1/cameos/{cameo.pk}/access/ben").status_code == 200
    assert client_for(ben).get(f"/api/v1/cameos/{cameo.pk}").status_code == 404
    assert api.delete(f"/api/v1/cameos/{cameo.pk}/access/ben").status_code == 404
    owner_entry = api.post(f"/api/v1/cameos/{cameo.pk}/access", {"handle": cameo.owner.handle, "effect": "deny"})
    assert owner_entry.json()["error"]["code"] == "cannot_list_owner"
    assert client_for(ben).get(f"/api/v1/cameos/{cameo.pk}/access").status_code == 404


def test_request_and_approve(client_for):
    owner, ben = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience="approved")
    asked = client_for(ben).post(f"/api/v1/cameos/{cameo.pk}/requests", {"message": "For my birthday video?"})
    assert asked.status_code == 201
    request_id = asked.json()["id"]
    told = Notification.objects.get(recipient=owner, kind="cameo_request")
    assert told.actor == ben and told.data["request_id"] == request_id
    twice = client_for(ben).post(f"/api/v1/cameos/{cameo.pk}/requests", {})
    assert twice.json()["error"]["code"] == "request_pending"
    assert client_for(ben).get(f"/api/v1/cameos/{cameo.pk}").json()["can_use"]["code"] == "request_pending"

    pending = client_for(owner).get(f"/api/v1/cameos/{cameo.pk}/requests").json()["results"]
    assert [r["id"] for r in pending] == [request_id]
    assert (
        client_for(ben).post(f"/api/v1/cameos/requests/{request_id}/decide", {"decision": "approve"}).status_code == 404
    )
    decided = client_for(owner).post(f"/api/v1/cameos/requests/{request_id}/decide", {"decision": "approve"})
    assert decided.json()["status"] == "approved"
    note = Notification.objects.get(recipient=ben, kind="cameo_request_decided")
    assert note.data["decision"] == "approved"
    assert client_for(ben).get(f"/api/v1/cameos/{cameo.pk}").json()["can_use"]["code"] == "allow_list"
    again = client_for(owner).post(f"/api/v1/cameos/requests/{request_id}/decide", {"decision": "deny"})
    assert again.json()["error"]["code"] == "request_already_decided"
    sent = client_for(ben).get("/api/v1/cameos/requests/sent").json()["results"]
    assert [(r["id"], r["status"]) for r in sent] == [(request_id, "approved")]
    assert client_for(ben).post(f"/api/v1/cameos/{cameo.pk}/requests", {}).json()["error"]["code"] == "already_allowed"


def test_denied_requests_cool_down_and_hidden_cameos_cannot_be_asked_for(client_for):
    owner, ben = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience="approved")
    made = services.cameo_request_create(cameo=cameo, requester=ben)
    services.cameo_request_decide(request_id=made.pk, actor=owner, approve=False)
    assert client_for(ben).post(f"/api/v1/cameos/{cameo.pk}/requests", {}).json()["error"]["code"] == "request_cooldown"
    hidden = CameoFactory(owner=owner, audience="mutuals", kind="pet")
    assert client_for(ben).post(f"/api/v1/cameos/{hidden.pk}/requests", {}).status_code == 404
    made = services.cameo_request_create(cameo=CameoFactory(audience="approved"), requester=ben)
    withdrawn = client_for(ben).post(f"/api/v1/cameos/requests/{made.pk}/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"


# --- appearances ---------------------------------------------------------------------------------


def test_the_owner_lists_and_removes_appearances_others_cannot(client_for):
    cameo = CameoFactory(audience="everyone")
    creator = UserFactory()
    draft = AppearanceFactory(cameo=cameo, creator=creator, video_id=77, job_id=5)
    api = client_for(cameo.owner)
    listed = api.get(f"/api/v1/cameos/{cameo.pk}/appearances").json()["results"]
    assert [(a["video_id"], a["job_id"], a["creator"]["handle"]) for a in listed] == [(77, 5, creator.handle)]
    for intruder in (creator, UserFactory()):
        assert client_for(intruder).get(f"/api/v1/cameos/{cameo.pk}/appearances").status_code == 404
        assert client_for(intruder).post(f"/api/v1/cameos/{cameo.pk}/appearances/{draft.pk}/remove").status_code == 404
    removed = api.post(f"/api/v1/cameos/{cameo.pk}/appearances/{draft.pk}/remove", {"reason": "Not me."})
    assert removed.json()["status"] == "removed" and removed.json()["removed_reason"] == "Not me."
    assert Notification.objects.get(recipient=creator, kind="cameo_appearance_removed").data["reason"] == "Not me."


def test_revoke_and_delete_over_rest(client_for):
    cameo = CameoFactory(audience="everyone")
    api = client_for(cameo.owner)
    revoked = api.post(f"/api/v1/cameos/{cameo.pk}/revoke", {"take_down_existing": False}, format="json").json()
    assert revoked["cameo"]["audience"] == "only_me" and revoked["cameo"]["revoked_at"]
    deleted = api.delete(f"/api/v1/cameos/{cameo.pk}").json()
    assert deleted["cameo"]["status"] == "revoked"
    assert api.post(f"/api/v1/cameos/{cameo.pk}/revoke").json()["error"]["code"] == "cameo_revoked"


# --- characters and royalties --------------------------------------------------------------------


def test_staff_grant_rights_holders(client_for):
    studio = UserFactory(handle="acme")
    payload = {"handle": "acme", "organisation": "Acme Pictures"}
    assert client_for(UserFactory()).post("/api/v1/cameos/rights-holders", payload).status_code == 403
    granted = client_for(UserFactory(is_staff=True)).post("/api/v1/cameos/rights-holders", payload)
    assert granted.status_code == 200 and granted.json()["organisation"] == "Acme Pictures"
    made = client_for(studio).post("/api/v1/cameos/challenges", {"kind": "character", "name": "captain"})
    assert made.status_code == 201


def test_licence_and_statement(client_for):
    character = CharacterFactory(name="captain")
    holder = character.owner
    api = client_for(holder)
    licence = api.put(
        f"/api/v1/cameos/{character.pk}/licence",
        {"allowed_themes": ["adventure"], "forbidden_themes": ["politics"], "fee_credits": 40},
        format="json",
    )
    assert licence.status_code == 200 and licence.json()["fee_credits"] == 40
    public = client_for(UserFactory()).get(f"/api/v1/cameos/{character.pk}").json()
    assert public["licence"]["forbidden_themes"] == ["politics"]
    not_a_character = api.put(
        f"/api/v1/cameos/{CameoFactory(owner=holder).pk}/licence", {"fee_credits": 1}, format="json"
    )
    assert (not_a_character.status_code, not_a_character.json()["error"]["code"]) == (422, "not_a_character")

    creators = [UserFactory() for _ in range(3)]
    for job_id, creator in enumerate(creators, start=100):
        services.royalty_charge(job_id=job_id, cameo=character, creator=creator)
    services.royalty_reverse(job_id=102, cameo=character)

    statement = api.get("/api/v1/cameos/royalties/statement", {"limit": 2}).json()
    assert statement["balance"] == 2 * 28 and statement["period_net"] == 2 * 28
    (row,) = statement["characters"]
    assert (row["name"], row["earned"], row["reversed"], row["generations"], row["refunds"]) == (
        "captain",
        84,
        -28,
        3,
        1,
    )
    assert len(statement["entries"]) == 2 and statement["next_cursor"]
    assert all(e["party"] == "rights_holder" for e in statement["entries"])
    later = api.get("/api/v1/cameos/royalties/statement", {"since": "2999-01-01T00:00:00Z"}).json()
    assert later["characters"] == [] and later["entries"] == [] and later["balance"] == 56
    denied = client_for(creators[0]).get("/api/v1/cameos/royalties/statement")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_a_rights_holder"
    assert RoyaltyEntry.objects.filter(account=creators[0]).count() == 1


def test_suspended_accounts_may_read_but_not_create(client_for):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory(suspended_until=timezone.now() + timedelta(days=1))
    api = client_for(user)
    assert api.get("/api/v1/cameos").status_code == 200
    refused = api.post("/api/v1/cameos/challenges", {"kind": "pet", "name": "rex"})
    assert refused.json()["error"]["code"] == "account_suspended"


def test_the_schema_lists_the_cameo_endpoints(client_for):
    schema = client_for(UserFactory()).get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/cameos/challenges", "/api/v1/cameos/{cameo_id}/appearances", "/api/v1/users/{handle}/cameos"):
        assert path in schema
