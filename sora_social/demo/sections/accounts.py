"""Demo section: accounts, tokens, follows, friends, blocks."""

from sora_social.demo.client import Demo


def run(demo: Demo) -> None:
    demo.section("Accounts and the social graph")
    for handle, name in [("ava", "Ava Reyes"), ("ben", "Ben Okafor"), ("cleo", "Cleo Martin"), ("dev", "Dev Patel")]:
        demo.sign_up(handle, display_name=name)
    demo.step("Ava, Ben, Cleo and Dev signed up; each got a bearer token (the server keeps only its hash).")
    demo.sign_up("tess", display_name="Tess Young", date_of_birth="2011-03-03")
    me = demo.call("GET", "/api/v1/me", who="tess")
    demo.step(f"Tess signed up too; she is 15, so the server marks her as a minor (is_minor={me['is_minor']}).")

    for a, b in [("ava", "ben"), ("ben", "ava"), ("ava", "cleo"), ("cleo", "ava"), ("dev", "ava"), ("ben", "cleo")]:
        demo.call("POST", f"/api/v1/users/{b}/follow", who=a, expect=204)
    friends = demo.call("GET", "/api/v1/users/ava/friends", who="ava")
    names = ", ".join(f"@{row['user']['handle']}" for row in friends["results"])
    demo.step(f"Follows made. Friends are mutual follows: Ava's friends are {names}.")
    followers = demo.call("GET", "/api/v1/users/ava/followers", who="ava", params={"limit": 2})
    rest = demo.call(
        "GET", "/api/v1/users/ava/followers", who="ava", params={"limit": 2, "cursor": followers["next_cursor"]}
    )
    demo.step(
        f"Ava's followers, two per page: {[r['user']['handle'] for r in followers['results']]} "
        f"then {[r['user']['handle'] for r in rest['results']]}."
    )

    demo.call("POST", "/api/v1/users/dev/block", who="cleo", expect=204)
    hidden = demo.call("GET", "/api/v1/users/cleo", who="dev", expect=404)
    refused = demo.call("POST", "/api/v1/users/cleo/follow", who="dev", expect=404)
    assert hidden["error"]["code"] == "user_not_found" and refused["error"]["code"] == "user_not_found"
    demo.step("Cleo blocked Dev: for Dev, Cleo's profile is now simply not there, and he cannot follow her.")

    unread = demo.call("GET", "/api/v1/notifications/unread-count", who="ava")
    demo.step(f"Ava has {unread['unread_count']} unread notifications (new followers).")

    tokens = demo.call("GET", "/api/v1/auth/tokens", who="ben")
    demo.call("POST", "/api/v1/auth/logout", who="ben", expect=204)
    demo.call("GET", "/api/v1/me", who="ben", expect=401)
    login = demo.call(
        "POST",
        "/api/v1/auth/login",
        json_body={"handle": "ben", "password": "demo-pass-ben-2026", "device_name": "demo"},
    )
    demo.people["ben"].token = login["token"]
    demo.step(f"Ben had {len(tokens)} live token(s); he logged out (the token stopped working) and logged in again.")
