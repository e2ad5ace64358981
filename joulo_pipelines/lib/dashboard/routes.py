"""The dashboard's pages, an app of its own that `joulo api` mounts under /dashboard of the partner API's
app (mount_dashboard): one process serves both, while lib/api stays free of the report code.

Every page of a partner is under /dashboard/<partner_id>/ and needs a person of that partner signed in
(auth.py). Figures come from the published snapshot (snapshot.py) through the report queries, so they are
the report's; a statement is rendered when asked for, never written to a file."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

from datetime import date
from decimal import Decimal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from joulo_pipelines.lib import clock, labels, people_csv, templating
from joulo_pipelines.lib.api import keys, store, webhook_targets, webhooks
from joulo_pipelines.lib.api.models import EVENT_TYPES
from joulo_pipelines.lib.dashboard import accounts, auth, mid_scans
from joulo_pipelines.lib.dashboard import queries as dashboard_queries
from joulo_pipelines.lib.dashboard.snapshot import Snapshot
from joulo_pipelines.lib.eligibility.mid_scan import DEFAULT_PRICE_PER_ERE, MidScanInputError
from joulo_pipelines.lib.dashboard.texts import LANGUAGES, TEXTS
from joulo_pipelines.lib.partners import Brand
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports import queries, render, statements
from joulo_pipelines.lib.reports.environment import TEMPLATES as REPORT_TEMPLATES
from joulo_pipelines.lib.reports.environment import environment as report_environment

TEMPLATES = Path(__file__).parent / "templates"
# the dashboard's templates extend the report's (their nav and customers blocks)
# compiled once: a template changes only with a new release (Jinja would otherwise look at every template file
# a page uses on every request)
environment = templating.environment([TEMPLATES, REPORT_TEMPLATES], trim_blocks=True, lstrip_blocks=True,
                                     auto_reload=False)
environment.filters.update(report_environment.filters)
COOKIE = "joulo_dashboard"
# the sign-in page's colours, before anyone's partner is known
JOULO_BRAND = Brand(display_name="Joulo", sender_email="dashboard@joulo.invalid")


@dataclass(frozen=True)
class DashboardSettings:
    # Behind TLS (production) the session cookie is sent over https only; on loopback (development, tests) not.
    https_only: bool = False
    # As the API's setting: webhooks added on the admin page are checked as the API checks them.
    allow_http_webhooks: bool = False


def mount_dashboard(api: FastAPI, data_dir: DataDir, settings: DashboardSettings = DashboardSettings()) -> None:
    """Serve the dashboard under /dashboard of the API's app (behind its access log and body size limit)."""
    settings = replace(settings, allow_http_webhooks=api.state.settings.allow_http_webhooks)
    api.mount("/dashboard", create_dashboard(data_dir, settings))


def create_dashboard(data_dir: DataDir, settings: DashboardSettings = DashboardSettings()) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.data_dir, app.state.snapshot, app.state.settings = data_dir, Snapshot(data_dir), settings
    app.add_middleware(SessionMiddleware, secret_key=session_secret(data_dir), session_cookie=COOKIE, path="/dashboard",
                       same_site="strict", https_only=settings.https_only,
                       max_age=int(accounts.SESSION_LIFETIME.total_seconds()))
    app.add_exception_handler(auth.SignInRequired,
                              lambda request, _: RedirectResponse(_root(request) + "/sign-in", 303))
    _routes(app)
    return app


def session_secret(data_dir: DataDir) -> str:
    """The key that signs session cookies: JOULO_DASHBOARD_SECRET, else one made once in the data dir."""
    if os.environ.get("JOULO_DASHBOARD_SECRET"):
        return os.environ["JOULO_DASHBOARD_SECRET"]
    path = data_dir.root / "api" / "dashboard_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _root(request: Request) -> str:
    return request.scope.get("root_path", "")


def _here(request: Request) -> str:
    """This page's path and query, where the language form comes back to."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _page(request: Request, template: str, member: auth.Member | None = None, status: int = 200,
          **context) -> HTMLResponse:
    language = member.language if member else auth.language(request)
    html = environment.get_template(template).render({
        "root": _root(request), "member": member, "brand": member.partner.brand if member else JOULO_BRAND,
        "csrf": auth.csrf_token(request), "tx": TEXTS[language], "language": language, "here": _here(request),
        **context})
    return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})


def _quarter(request: Request, member: auth.Member, asked: str | None) -> tuple[object, Quarter, list[Quarter]]:
    """A cursor on the snapshot, the quarter asked for (else the newest) and the partner's quarters."""
    con = request.app.state.snapshot.cursor()
    if con is None:
        raise NoSnapshot()
    # every page asks: once per snapshot, partner and day
    built = request.app.state.snapshot.remembered(
        ("quarters", member.partner.id, clock.today()),
        lambda: dashboard_queries.quarters(con, member.partner.id, clock.today()))
    if not built:
        raise NoSnapshot()
    if asked is None:
        return con, built[0], built
    try:
        quarter = Quarter.parse(asked)
    except ValueError:
        raise HTTPException(404, "no such quarter") from None
    if quarter not in built:
        raise HTTPException(404, "no such quarter")
    return con, quarter, built


def _year_months(con, member: auth.Member, quarter: Quarter) -> list[dict]:
    """The monthly figures of the year up to the quarter's end, as the snapshot holds them (the report's query
    over the partner's sessions took seconds at 50,000 customers)."""
    return dashboard_queries.partner_months(con, member.partner.id, date(quarter.year, 1, 1), quarter.end)


class NoSnapshot(Exception):
    """Before the first quarter run published its snapshot there is nothing to show but that."""


def _routes(app: FastAPI) -> None:
    @app.exception_handler(NoSnapshot)
    def no_snapshot(request: Request, _exc: NoSnapshot) -> HTMLResponse:
        return _page(request, "message.html.j2", message=TEXTS[auth.language(request)]["no_snapshot"])

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        user = auth.signed_in(request)
        return RedirectResponse(f"{_root(request)}/{user.partner_id}/" if user else f"{_root(request)}/sign-in", 303)

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_form(request: Request) -> HTMLResponse:
        return _page(request, "sign_in.html.j2", failed=False)

    @app.post("/sign-in", dependencies=[auth.CsrfChecked])
    def sign_in(request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
        now = clock.now()
        with accounts.connect(request.app.state.data_dir) as con:
            user = accounts.sign_in(con, email.strip(), password, now)
            if user is None:
                return _page(request, "sign_in.html.j2", failed=True, status=401)
            session_id = accounts.start_session(con, user, now)
        language = auth.language(request)
        # a new session gets new tokens: nothing chosen before signing in carries over but the language
        request.session.clear()
        request.session.update(session=session_id, language=language)
        return RedirectResponse(f"{_root(request)}/{user.partner_id}/", 303)

    @app.post("/sign-out", dependencies=[auth.CsrfChecked])
    def sign_out(request: Request) -> Response:
        if request.session.get("session"):
            with accounts.connect(request.app.state.data_dir) as con:
                accounts.end_session(con, request.session["session"])
        request.session.clear()
        return RedirectResponse(f"{_root(request)}/sign-in", 303)

    @app.post("/language", dependencies=[auth.CsrfChecked])
    def choose_language(request: Request, language: Annotated[str, Form()],
                        back: Annotated[str, Form()] = "") -> Response:
        if language in LANGUAGES:
            request.session["language"] = language
        # back only within the dashboard: never a redirect to another site
        target = back if back.startswith(_root(request) + "/") and not back.startswith("//") else _root(request) + "/"
        return RedirectResponse(target, 303)

    @app.get("/{partner_id}/", response_class=HTMLResponse)
    def overview(request: Request, member: auth.Signed, quarter: str | None = None) -> HTMLResponse:
        con, chosen, built = _quarter(request, member, quarter)
        page = request.app.state.snapshot.remembered(
            ("overview", member.partner.id, chosen, clock.today(), member.language),
            lambda: render.quarter_page(con, request.app.state.data_dir, member.partner, chosen, clock.today(),
                                        year_months=_year_months(con, member, chosen), language=member.language))
        return _page(request, "overview.html.j2", member, built_quarters=built, **page)

    @app.get("/{partner_id}/year", response_class=HTMLResponse)
    def year(request: Request, member: auth.Signed, quarter: str | None = None) -> HTMLResponse:
        con, chosen, built = _quarter(request, member, quarter)
        page = request.app.state.snapshot.remembered(
            ("year", member.partner.id, chosen, clock.today(), member.language),
            lambda: render.year_page(con, request.app.state.data_dir, member.partner, chosen, clock.today(),
                                     year_months=_year_months(con, member, chosen), language=member.language))
        return _page(request, "year_page.html.j2", member, built_quarters=built, **page)

    @app.get("/{partner_id}/customers", response_class=HTMLResponse)
    def customers(request: Request, member: auth.Signed, wanted: Annotated[CustomerQuery, Depends()],
                  quarter: str | None = None, page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
        con, chosen, built = _quarter(request, member, quarter)
        snapshot = request.app.state.snapshot
        if wanted.filter.everyone:
            # the whole list's count is the same for every page of it: counted once per snapshot
            rows = dashboard_queries.whole_list_page(con, member.partner.id, chosen, page)
            total = snapshot.remembered(("customer_count", member.partner.id, chosen), lambda: (
                dashboard_queries.matching_count(con, member.partner.id, chosen, wanted.filter)))
        else:
            rows, total = dashboard_queries.customer_page(con, member.partner.id, chosen, wanted.filter, page)
        pages = max(1, -(-total // dashboard_queries.PAGE_SIZE))
        return _page(request, "customers.html.j2", member, quarter=chosen, built_quarters=built, rows=rows, total=total,
                     page=page, pages=pages, wanted=wanted.filter,
                     reasons=snapshot.remembered(("reasons",), lambda: dashboard_queries.reasons(con)),
                     statuses=labels.CUSTOMER_STATUS, query=_query_string(chosen, wanted.filter))

    @app.get("/{partner_id}/customers.csv")
    def customers_csv(request: Request, member: auth.Signed, wanted: Annotated[CustomerQuery, Depends()],
                      quarter: str | None = None) -> Response:
        con, chosen, _ = _quarter(request, member, quarter)
        rows = dashboard_queries.customer_csv_rows(con, member.partner.id, chosen, wanted.filter)
        body = people_csv.dutch_excel(dashboard_queries.CSV_COLUMNS, rows)
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{member.partner.id}-{chosen.label}-customers.csv"',
            "Cache-Control": "no-store"})

    @app.get("/{partner_id}/customers/{customer_ref}", response_class=HTMLResponse)
    def statement_page(request: Request, member: auth.Signed, customer_ref: str,
                       quarter: str | None = None) -> HTMLResponse:
        return _statement(request, member, customer_ref, quarter, "statement_page.html.j2")

    @app.get("/{partner_id}/customers/{customer_ref}/print", response_class=HTMLResponse)
    def statement_print(request: Request, member: auth.Signed, customer_ref: str,
                        quarter: str | None = None) -> HTMLResponse:
        return _statement(request, member, customer_ref, quarter, None)

    @app.get("/{partner_id}/mid-scan", response_class=HTMLResponse)
    def mid_scan_form(request: Request, member: auth.Signed) -> HTMLResponse:
        return _mid_scan_page(request, member, None)

    @app.post("/{partner_id}/mid-scan", dependencies=[auth.CsrfChecked])
    async def mid_scan(request: Request, member: auth.Signed, charge_points: Annotated[UploadFile, File()],
                       title: Annotated[str, Form(max_length=200)] = "",
                       customers: Annotated[UploadFile | None, File()] = None,
                       sessions: Annotated[UploadFile | None, File()] = None,
                       price_per_ere: Annotated[Decimal, Form(gt=0, le=100)] = DEFAULT_PRICE_PER_ERE,
                       delivery_year: Annotated[int | None, Form(ge=2020, le=2100)] = None) -> Response:
        uploads = {name: (upload.filename, await upload.read()) for name, upload in
                   (("charge_points", charge_points), ("customers", customers), ("sessions", sessions))
                   if upload is not None and upload.filename}
        con, _, _ = _quarter(request, member, None)
        try:
            scan_id = mid_scans.run_scan(request.app.state.data_dir, con, member.partner.id,
                                         title or charge_points.filename or "MID scan", uploads, price_per_ere,
                                         delivery_year or clock.today().year)
        except MidScanInputError as exc:
            return _mid_scan_page(request, member, str(exc), 400)
        return RedirectResponse(f"{_root(request)}/{member.partner.id}/mid-scan/{scan_id}", 303)

    @app.get("/{partner_id}/mid-scan/{scan_id}", response_class=HTMLResponse)
    def mid_scan_result(request: Request, member: auth.Signed, scan_id: str) -> Response:
        return FileResponse(_scan(request, member, scan_id).html, media_type="text/html",
                            headers={"Cache-Control": "no-store"})

    @app.get("/{partner_id}/mid-scan/{scan_id}/mid_scan.csv")
    def mid_scan_csv(request: Request, member: auth.Signed, scan_id: str) -> Response:
        return FileResponse(_scan(request, member, scan_id).csv, media_type="text/csv", filename="mid_scan.csv",
                            headers={"Cache-Control": "no-store"})

    @app.get("/{partner_id}/admin", response_class=HTMLResponse)
    def admin_page(request: Request, member: auth.Admin) -> HTMLResponse:
        return _admin_page(request, member)

    @app.post("/{partner_id}/admin/keys", dependencies=[auth.CsrfChecked])
    def create_key(request: Request, member: auth.Admin) -> HTMLResponse:
        with store.connect(request.app.state.data_dir) as con:
            key_id, key = keys.issue_key(con, member.partner.id)
        return _admin_page(request, member, new_key=(key_id, key))

    @app.post("/{partner_id}/admin/keys/{key_id}/revoke", dependencies=[auth.CsrfChecked])
    def revoke_key(request: Request, member: auth.Admin, key_id: str) -> Response:
        with store.connect(request.app.state.data_dir) as con:
            if key_id not in {row["key_id"] for row in _partner_keys(con, member.partner.id)}:
                raise HTTPException(404, "no such key")
            keys.revoke_key(con, key_id)
        return RedirectResponse(f"{_root(request)}/{member.partner.id}/admin", 303)

    @app.post("/{partner_id}/admin/webhooks", dependencies=[auth.CsrfChecked])
    def add_webhook(request: Request, member: auth.Admin, url: Annotated[str, Form(max_length=2000)]) -> HTMLResponse:
        try:
            webhook_targets.check(url, request.app.state.settings.allow_http_webhooks)
        except webhook_targets.RefusedTarget as exc:
            return _admin_page(request, member, error=str(exc), status=400)
        with store.connect(request.app.state.data_dir) as con:
            created = webhooks.create_webhook(con, member.partner.id, url, list(EVENT_TYPES))
        return _admin_page(request, member, new_webhook=created)

    @app.post("/{partner_id}/admin/webhooks/{webhook_id}/delete", dependencies=[auth.CsrfChecked])
    def delete_webhook(request: Request, member: auth.Admin, webhook_id: str) -> Response:
        with store.connect(request.app.state.data_dir) as con, store.transaction(con):
            if not webhooks.delete_webhook(con, member.partner.id, webhook_id):
                raise HTTPException(404, "no such webhook")
        return RedirectResponse(f"{_root(request)}/{member.partner.id}/admin", 303)


def _partner_keys(con, partner_id: str) -> list:
    return [row for row in keys.list_keys(con) if row["partner_id"] == partner_id]


def _admin_page(request: Request, member: auth.Member, status: int = 200, **shown) -> HTMLResponse:
    """The partner's API keys and webhooks; a new key or signing secret is shown this once."""
    _, quarter, built = _quarter(request, member, None)
    with store.connect(request.app.state.data_dir) as con:
        partner_keys = _partner_keys(con, member.partner.id)
        partner_webhooks = webhooks.list_webhooks(con, member.partner.id)
    return _page(request, "admin.html.j2", member, status, quarter=quarter, built_quarters=built, keys=partner_keys,
                 webhooks=partner_webhooks, **{"new_key": None, "new_webhook": None, "error": None, **shown})


def _scan(request: Request, member: auth.Member, scan_id: str) -> mid_scans.StoredScan:
    found = mid_scans.stored_scan(request.app.state.data_dir, member.partner.id, scan_id)
    if found is None:
        raise HTTPException(404, "no such scan")
    return found


def _mid_scan_page(request: Request, member: auth.Member, error: str | None, status: int = 200) -> HTMLResponse:
    _, quarter, built = _quarter(request, member, None)
    return _page(request, "mid_scan_page.html.j2", member, status, quarter=quarter, built_quarters=built, error=error,
                 scans=mid_scans.stored_scans(request.app.state.data_dir, member.partner.id),
                 price=DEFAULT_PRICE_PER_ERE, year=clock.today().year)


def _statement(request: Request, member: auth.Member, customer_ref: str, asked: str | None,
               template: str | None) -> HTMLResponse:
    """The customer's statement as the report writes it (printable), or in the dashboard's page around it."""
    con, quarter, built = _quarter(request, member, asked)
    partner = member.partner
    row = dashboard_queries.customer(con, partner.id, quarter, customer_ref)
    if row is None:
        raise HTTPException(404, "no such customer")
    row["booking"] = queries.customer_bookings(con, partner.id, quarter, customer_ref).get(customer_ref)
    row["charge_points"] = queries.charge_points_by_customer(con, partner.id, quarter, customer_ref).get(
        customer_ref, [])
    row["months"] = dashboard_queries.customer_months(con, partner.id, quarter, customer_ref) \
        or statements.empty_months(quarter)
    payouts = queries.payouts(con, request.app.state.data_dir, partner.id, quarter,
                              partner.contract_in_force(quarter).payout_model, customer_ref=customer_ref)
    html = statements.render_statement(
        partner, quarter, clock.today(), row, payouts,
        template=environment.get_template(template) if template else None,
        **({"root": _root(request), "member": member, "csrf": auth.csrf_token(request), "tx": TEXTS[member.language],
            "built_quarters": built, "here": _here(request)} if template else {}))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@dataclass
class CustomerQuery:
    """The customer list's search and filters, as query parameters."""
    search: Annotated[str | None, Query(max_length=100)] = None
    status: Annotated[str | None, Query(max_length=40)] = None
    reason: Annotated[str | None, Query(max_length=80)] = None

    @property
    def filter(self) -> dashboard_queries.CustomerFilter:
        return dashboard_queries.CustomerFilter(self.search, self.status, self.reason)


def _query_string(quarter: Quarter, wanted: dashboard_queries.CustomerFilter) -> dict:
    return {"quarter": quarter.label, **{k: v for k, v in
                                         (("search", wanted.search), ("status", wanted.status),
                                          ("reason", wanted.reason)) if v}}
