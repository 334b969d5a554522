"""The FastAPI application: one app serves the clinic page (bot.web.clinic) and the staff side (bot.web.staff)."""
from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

# Routers by module; each module exposes `router` (an APIRouter). Order matters only for overlapping paths.
ROUTERS = ("bot.web.clinic", "bot.web.staff")


def create_app() -> FastAPI:
    app = FastAPI(title="Pre-consultation assistant: staff API", docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for name in ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        app.include_router(module.router)
    return app
