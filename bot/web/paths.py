"""Where the web app's files are (templates, static assets): one place that routers and the app both read, so no
router needs to import the app."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
