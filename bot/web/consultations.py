"""Reception's pages: the consultations list (search, filters, pages), one consultation's transcript, CSV export."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Mapping, Tuple

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from bot.store import audit, consultation_reads, person_requests, search
from bot.store.staff import SignedIn
from bot.web import auth, present, staff_urls
from bot.web.exceptions import NotFound
from bot.web.pages import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
CSV_COLUMNS = (
    "consultation_id",
    "conversation_id",
    "started",
    "name",
    "email",
    "phone",
    "status",
    "outcome",
    "referral_status",
)


def filters_from(params: Mapping[str, Any]) -> Tuple[search.Filters, Dict[str, str]]:
    """Filters from a query string or form; anything malformed is dropped, never an error."""
    since_day = present.parse_day(params.get("from"))
    until_day = present.parse_day(params.get("to"))
    since, until = present.day_bounds(since_day, until_day)
    filters = search.Filters(
        q=str(params.get("q") or ""),
        status=params.get("status") or None,
        outcome=params.get("outcome") or None,
        since=since,
        until=until,
    )
    echo = {
        "q": filters.q,
        "status": filters.status or "",
        "outcome": filters.outcome or "",
        "from": since_day.isoformat() if since_day else "",
        "to": until_day.isoformat() if until_day else "",
    }
    return filters, echo


def page_number(raw: Any) -> int:
    try:
        return max(1, min(int(str(raw)), 1_000_000))
    except (TypeError, ValueError):
        return 1


@router.get("/staff/consultations", response_class=HTMLResponse)
def consultation_list(request: Request, who: SignedIn = Depends(auth.need("read_consultations"))) -> Response:
    filters, echo = filters_from(request.query_params)
    page = page_number(request.query_params.get("page"))
    rows, total = search.find(filters, page=page, per_page=PER_PAGE)
    pages = max(1, math.ceil(total / PER_PAGE))
    audit.record(
        who.staff.email, "list_consultations", detail=f"{filters.describe()} page={page}", ip=auth.client_ip(request)
    )
    return render(
        request,
        who,
        "staff/consultations.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "filters": echo,
            "statuses": ("in_progress", "complete", "abandoned", "handed_off"),
            "outcomes": ("clear", "review", "defer"),
        },
    )


@router.get("/staff/consultations/{consultation_id}", response_class=HTMLResponse)
def consultation_page(
    consultation_id: str, request: Request, who: SignedIn = Depends(auth.need("read_consultations"))
) -> Response:
    shown = staff_urls.show(consultation_id[:255])
    if shown is None:
        raise NotFound("consultation")
    if not auth.can(who, "read_referrals"):  # reception: no practitioner's notes (the API follows the same rule)
        shown = present.without_practitioner_notes(shown)
    lines = consultation_reads.transcript(shown["conversation_id"])
    audit.record(who.staff.email, "view_consultation", "consultation", shown["id"], ip=auth.client_ip(request))
    return render(
        request,
        who,
        "staff/consultation.html",
        {
            "c": shown,
            "lines": lines,
            "messages": person_requests.messages(shown["id"]),
        },
    )


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab/CR) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _csv(filters: search.Filters) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so spreadsheet programs read UTF-8 names correctly
    writer.writerow(CSV_COLUMNS)
    for n, row in enumerate(search.each(filters), start=1):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.id,
                    row.conversation_id,
                    present.iso(row.created_at),
                    row.name,
                    row.contact_email,
                    row.contact_phone,
                    row.status,
                    row.outcome,
                    row.referral_status,
                )
            ]
        )
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


@router.post("/staff/consultations/export")
async def export(request: Request, who: SignedIn = Depends(auth.need("export"))) -> Response:
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    filters, _echo = filters_from(form)
    rows = search.count(filters)
    audit.record(
        who.staff.email,
        "export",
        "consultations",
        None,
        detail=f"{filters.describe()} rows={rows}",
        ip=auth.client_ip(request),
    )
    stamp = datetime.now(timezone.utc).astimezone(present.zone()).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _csv(filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="consultations-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
