"""Serves a warehouse's pages (the corpus report, its plotly.js, the checks page) over HTTP on
the loopback interface, so that a link in the Dagster UI opens them in one click: a browser
does not follow a file:// link from an http:// page.

Only those pages are served, never the rest of the warehouse's folder (its catalog, data
files, partition files, the Dagster instance).
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from newsdesk.transforms.report_html import plotly_script_name
from newsdesk.warehouse import Warehouse


class _PagesHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, pages: tuple[str, ...], **kwargs) -> None:
        self.pages = pages
        super().__init__(*args, **kwargs)

    def send_head(self):
        path = unquote(urlsplit(self.path).path).lstrip("/")
        if path not in self.pages:
            self.send_error(404, "newsdesk serves the report and the checks page only")
            return None
        return super().send_head()

    def log_message(self, format: str, *args) -> None:  # the terminal belongs to the Dagster UI's log
        pass


def serve_pages(warehouse: Warehouse, port: int) -> str:
    """Serve the warehouse's pages on 127.0.0.1:port from a daemon thread, for as long as this
    process lives; the URL of the folder they are in. OSError if the port is taken."""
    folder = warehouse.file.parent
    pages = (*(page.relative_to(folder).as_posix() for page in (warehouse.report_path, warehouse.checks_page)), plotly_script_name())
    handler = partial(_PagesHandler, pages=pages, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, name="newsdesk-pages", daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def page_url(pages_url: str, warehouse_folder: Path, page: Path, anchor: str = "") -> str:
    """The URL of a page of the warehouse's folder, served at pages_url."""
    relative = quote(page.relative_to(warehouse_folder).as_posix())
    return f"{pages_url.rstrip('/')}/{relative}" + (f"#{quote(anchor)}" if anchor else "")
