"""A dashboard page whose data cannot be read is an error page (503, HTML, with a way back), never a
bare JSON 500; the API beside it keeps its JSON errors."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from llmobserve.control import ControlStore, default_url
from llmobserve.dashboard import install_dashboard, page_failed
from llmobserve.query_api import Services, create_app
from llmobserve.storage import Store, StoreConfig


def test_a_page_whose_stores_fail_says_so(tmp_path: Path) -> None:
    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    key, _ = control.create_key("t", ("admin",))
    app = create_app(Services.build(store, control), page_error=page_failed)
    install_dashboard(app)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        signed = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert signed.status_code == 303
        assert client.get("/caps").status_code == 200  # the session works while storage does
        store.close()  # every span read fails from here on
        control.close()
        for path in (tmp_path / "data").glob("control.db*"):  # and every control read
            path.unlink()
        for path in ("/caps", "/costs", "/runs"):
            page = client.get(path)
            assert page.status_code == 503 and page.headers["content-type"].startswith("text/html"), path
            assert "could not be loaded" in page.text and "Try again" in page.text, path
        api = client.get("/api/v1/caps", headers={"authorization": f"Bearer {key}"})
        assert api.status_code in (500, 503) and api.headers["content-type"].startswith("application/json")
