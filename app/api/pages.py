"""The explorer page and the plotly.js bundle from the installed plotly package (no CDN)."""
from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.api.deps import RegistryDep
from app.settings import PROJECT_ROOT

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")
PLOTLY_JS = files("plotly") / "package_data" / "plotly.min.js"


@router.get("/", response_class=HTMLResponse)
def explorer(request: Request, registry: RegistryDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"models": registry.names()})


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(str(PLOTLY_JS), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
