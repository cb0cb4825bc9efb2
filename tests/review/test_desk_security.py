"""The review desk's guards: files only under OUT_DIR, a token off loopback, bounded bodies, 404/409/422."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

TOKEN = "s3cret-review-token-0123456789"


@pytest.fixture(scope="module")
def client(localized_readonly):
    from localize.review.server import create_app

    outside = localized_readonly.parent / "outside.txt"
    outside.write_text("not yours", encoding="utf-8")
    (localized_readonly / "escape.txt").symlink_to(outside)
    (localized_readonly / "escape-dir").symlink_to(localized_readonly.parent)
    with TestClient(create_app(localized_readonly), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.mark.parametrize("path", [
    "/media/../../etc/passwd",
    "/media/%2e%2e/%2e%2e/etc/passwd",
    "/media/..%2f..%2fetc%2fpasswd",
    "/media/%252e%252e/%252e%252e/etc/passwd",
    "/media/%2e%2e%252f%2e%2e%252fetc%252fpasswd",
    "/media//etc/passwd",
    "/media/escape.txt",
    "/media/escape-dir/outside.txt",
    "/media/.localize-work",
    "/static/../desk.py",
])
def test_no_file_outside_the_output_folder_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404, (path, response.status_code, response.text[:200])
    assert "root:" not in response.text and "not yours" not in response.text


def test_raw_traversal_on_the_wire_is_refused(client, localized_readonly, live_server):
    """The test client normalises ``..``; a real server on a socket gets the raw path."""
    import http.client
    from urllib.parse import urlsplit

    from localize.review.server import create_app

    with live_server(create_app(localized_readonly)) as url:
        port = urlsplit(url).port
        for raw in ("/media/../../etc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd", "/media/..%2F..%2Fetc%2Fpasswd",
                    "/media/%252e%252e%252f%252e%252e%252fetc%252fpasswd", "/media/escape.txt"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", raw)
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
            connection.close()
            assert response.status == 404, (raw, response.status)
            assert "root:" not in body and "not yours" not in body
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/media/ep01.en-US.srt")
        assert connection.getresponse().status == 200


def test_files_of_the_output_folder_are_served_with_ranges(client):
    assert client.get("/media/ep01.en-US.srt").status_code == 200
    partial = client.get("/media/ep01.en-US.mp4", headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.content) == 100


def test_unknown_ids_are_404_and_malformed_bodies_422(client):
    assert client.get("/api/reports/ep99.en-US").status_code == 404
    assert client.get("/api/reports/..%2Fep01.en-US").status_code == 404
    assert client.patch("/api/reports/ep01.en-US/segments/999", json={"text": "x"}).status_code == 404
    assert client.get("/api/jobs/12345").status_code == 404
    assert client.patch("/api/reports/ep01.en-US/segments/0", json={"text": 5}).status_code == 422
    assert client.patch("/api/reports/ep01.en-US/segments/0", json={"colour": "red"}).status_code == 422
    assert client.patch("/api/reports/ep01.en-US/segments/0", content=b"{not json",
                        headers={"Content-Type": "application/json"}).status_code == 422
    assert client.patch("/api/reports/ep01.en-US/segments/abc", json={"text": "x"}).status_code == 422
    assert client.patch("/api/reports/ep01.en-US/segments/0", json={"text": "   "}).status_code == 422
    assert client.patch("/api/reports/ep01.en-US/segments/0", json={"speaker": "S9"}).status_code == 422
    assert client.patch("/api/reports/ep01.en-US/speakers/S9", json={"voice": "jf_alpha"}).status_code == 404


def test_an_oversized_body_is_refused(client):
    big = b'{"text": "' + b"a" * 200_000 + b'"}'
    response = client.patch("/api/reports/ep01.en-US/segments/0", content=big,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 413

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(100):
            yield b"a" * 4096

    response = client.patch("/api/reports/ep01.en-US/segments/0", content=chunks(),
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_second_render_of_a_report_is_refused_while_the_first_runs(localized_readonly):
    import threading

    from localize.review.server import create_app

    release = threading.Event()

    def slow_render(desk, ref):  # stands in for the pipeline: this test is about the queue
        release.wait(30)
        return {"lines_revoiced": 0}

    with TestClient(create_app(localized_readonly, renderer=slow_render), base_url="http://127.0.0.1") as client:
        first = client.post("/api/reports/ep01.en-US/render")
        assert first.status_code == 202
        second = client.post("/api/reports/ep01.en-US/render")
        assert second.status_code == 409 and second.json()["job"] == first.json()["job"]
        # Edits wait for the render too: the render reads them.
        assert client.patch("/api/reports/ep01.en-US/segments/0", json={"approved": True}).status_code == 409
        release.set()
        for _ in range(100):
            if client.get(f"/api/jobs/{first.json()['job']}").json()["state"] == "done":
                break
            threading.Event().wait(0.05)
        assert client.post("/api/reports/ep01.en-US/render").status_code == 202


def test_with_a_token_every_request_must_carry_it(localized_readonly):
    from localize.review.server import create_app

    app = create_app(localized_readonly, token=TOKEN, loopback_only=False)
    with TestClient(app, base_url="http://192.0.2.10") as client:
        for path in ("/", "/api/reports", "/media/ep01.en-US.srt", "/static/desk.js"):
            assert client.get(path).status_code == 401, path
        assert client.get("/api/reports", headers={"X-Review-Token": "wrong"}).status_code == 401
        assert client.get("/api/reports", headers={"X-Review-Token": TOKEN}).status_code == 200
        assert client.get("/api/reports", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get(f"/media/ep01.en-US.srt?token={TOKEN}").status_code == 200
        page = client.get(f"/?token={TOKEN}")
        assert page.status_code == 200 and f"static/desk.js?token={TOKEN}" in page.text


def test_on_loopback_other_host_names_are_refused(client):
    """A page elsewhere that rebinds its DNS name to 127.0.0.1 does not get the desk."""
    assert client.get("/api/reports", headers={"Host": "evil.example:8765"}).status_code == 400
    assert client.get("/api/reports", headers={"Host": "localhost:8765"}).status_code == 200


def test_the_cli_refuses_a_non_loopback_bind_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LOCALIZE_REVIEW_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "localize", "review", str(tmp_path), "--host", "0.0.0.0",
                             "--port", "8799"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "LOCALIZE_REVIEW_TOKEN" in result.stderr
