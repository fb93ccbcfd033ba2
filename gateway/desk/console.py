"""The front-line consoles (registration desk, property room) served at `/` of the desk port.

Static files only, packaged with the gateway and found with importlib.resources
(gateway/desk/console/): one HTML page, ES modules, a style sheet and the consoles' own string
catalogues (console/i18n/<locale>.json; the edge does not import the center's). Data never goes
into markup on the server: the page is the same for everyone and the scripts fill it with
textContent. Every console response carries a strict Content-Security-Policy (no inline script,
no inline style attribute, nothing from elsewhere).
"""
from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json; charset=utf-8",
         ".svg": "image/svg+xml"}
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}


def console_root() -> Traversable:
    return resources.files("gateway.desk") / "console"


def _files(root: Traversable, prefix: str = "") -> dict[str, Traversable]:
    """Every servable file under the console directory, by its path relative to it."""
    found: dict[str, Traversable] = {}
    for entry in root.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_files(entry, name + "/"))
        elif "." + entry.name.rsplit(".", 1)[-1] in TYPES:
            found[name] = entry
    return found


def _serve(entry: Traversable, name: str) -> Response:
    media = TYPES["." + name.rsplit(".", 1)[-1]]
    return Response(entry.read_bytes(), media_type=media, headers=HEADERS)


def install(app: FastAPI) -> None:
    files = _files(console_root())  # fixed at start: a request can only name one of these

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return _serve(files["index.html"], "index.html")

    @app.get("/console/{path:path}", include_in_schema=False)
    def static(path: str) -> Response:
        entry = files.get(path)
        if entry is None or path == "index.html":
            raise HTTPException(404, detail="not found")
        return _serve(entry, path)
