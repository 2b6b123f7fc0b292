"""The portal's own decoders under hostile input: the object editor's YAML goes through the
API's decoder (no aliases, no NUL), and a websocket message that is malformed or holds a NUL
gets an ERROR message on a socket that stays open, never a server exception."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Api
from tests.security.test_malformed_input import BILLION_LAUGHS

CM = "/api/v1/namespaces/default/configmaps"
EDIT = "/workspaces/root/apis/core/v1/configmaps/default/edited/edit"


def test_the_object_editor_refuses_yaml_aliases_and_nul(api: Api, client: Client) -> None:
    assert api.post(CM, {"metadata": {"name": "edited"}, "data": {"a": "1"}}).status_code == 201
    client.post("/login", {"token": api.token}, secure=True)
    original = client.get(EDIT, secure=True).context["original"]
    before = api.get(f"{CM}/edited").json()
    # Aliases that expand to half a million strings inside the object being edited (the old
    # decoder built them; the merge patch and the diff then walked every one).
    laughs = original + "x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]\n" for i in range(1, 6)
    )
    for edited in (laughs, BILLION_LAUGHS.decode(), original.replace("a: '1'", 'a: "\\0"')):
        started = time.thread_time()
        r = client.post(EDIT, {"original": original, "edited": edited, "action": "apply"}, secure=True)
        assert time.thread_time() - started < 1
        assert r.status_code == 400 and b"The YAML does not parse" in r.content, r.content[:300]
    assert api.get(f"{CM}/edited").json() == before
    r = client.post(EDIT, {"original": original, "edited": original.replace("'1'", "'2'"), "action": "apply"},
                    secure=True)
    assert r.status_code == 302 and api.get(f"{CM}/edited").json()["data"] == {"a": "2"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("socket_path", ["/ws/portal", "/workspaces/root/ws"])  # a workspace page's socket
def test_the_portal_websocket_answers_bad_messages_with_errors(
    client: Client, admin_token: str, socket_path: str
) -> None:
    from channels.testing import WebsocketCommunicator

    from kcpsite.asgi import application

    client.post("/login", {"token": admin_token}, secure=True)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def talk() -> list[dict[str, Any]]:
        socket = WebsocketCommunicator(application, socket_path, headers=[(b"cookie", cookie), (b"host", b"x")])
        connected, _ = await socket.connect()
        assert connected
        answers = []
        subscription = {"op": "watch", "sid": "s", "target": "children", "rv": "1"}
        for message in (
            json.dumps({**subscription, "path": "root\u0000"}),  # a NUL, as JSON escapes it
            json.dumps({**subscription, "path": "root", "sid": "s\u0000"}),
            "{not json",
            json.dumps({**subscription, "path": "root", "rv": "9" * 5000}),
        ):
            await socket.send_to(text_data=message)
            answers.append(await socket.receive_json_from(timeout=10))
        await socket.send_to(bytes_data=b"\x00\x01")  # binary frames are not the protocol: ignored
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return answers

    answers = asyncio.run(talk())
    assert [a["type"] for a in answers] == ["ERROR"] * 4
    assert [a["code"] for a in answers] == [400] * 4
    assert "NUL" in answers[0]["message"] and "NUL" in answers[1]["message"]
    assert answers[3]["sid"] == "s"


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/login", {"username": "kcp-admin\x00", "password": "x"}),
        ("/login", {"token": "t\x00"}),
        ("/tokens", {"description": "laptop\x00"}),
        ("/workspaces/root/create", {"name": "w\x00", "type": "universal"}),
        ("/workspaces/root/members", {"action": "grant", "name": "dana\x00", "role": "edit"}),
        ("/settings/theme", {"theme": "dark", "next": "/\x00"}),
    ],
)
def test_portal_forms_with_nul_are_400(api: Api, client: Client, url: str, form: dict[str, str]) -> None:
    """A NUL in a form field reached the user or workspace lookup: a 500 (the login form's
    username did so before any authentication)."""
    from kube.storage import backend

    if url != "/login":
        client.post("/login", {"token": api.token}, secure=True)
    revision = backend.current_revision()
    r = client.post(url, form, secure=True)
    assert r.status_code == 400 and r.json()["reason"] == "BadRequest", r.content[:300]
    assert next(iter(form.keys() - {"action", "type", "role", "password", "theme"})) in r.json()["message"]
    assert backend.current_revision() == revision
