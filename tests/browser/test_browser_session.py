"""Sessions in a real browser (issue 11 §3): a sign-in survives a reload and a new tab,
sign-out in one tab signs the other out, and a fresh install's first admin is made through
the setup link the server printed. Headless Debian Chromium against ``streamlit run``."""

from __future__ import annotations

from geo import sessions
from tests._browser import running_app
from tests._signin import PASSWORD, ensure_account

TIMEOUT_MS = 60_000


def _signed_in(page, name: str) -> None:
    page.get_by_text(f"Đã đăng nhập: {name}").wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".st-key-auth_name").count() == 0


def _sign_in_form(page) -> None:
    page.locator(".st-key-auth_name input").wait_for(timeout=TIMEOUT_MS)
    # the rerun that draws the form may leave the last run's elements on the page for a
    # moment (Streamlit removes stale elements when the run ends): wait for them to go,
    # which fails the test if the signed-in line stays
    page.get_by_text("Đã đăng nhập:").first.wait_for(state="detached", timeout=TIMEOUT_MS)
    assert page.get_by_text("Đã đăng nhập:").count() == 0


def _fill_sign_in(page, name: str, password: str) -> None:
    page.locator(".st-key-auth_name input").fill(name)
    page.locator(".st-key-auth_pw input").fill(password)
    page.locator("[data-testid='stFormSubmitButton'] button").first.click()


def test_session_survives_reload_and_new_tab_until_sign_out(browser, app_server):
    name = ensure_account(app_server.env["GEO_DATABASE_URL"], "viewer")
    context = browser.new_context(locale="vi-VN")
    urls: list[str] = []
    context.on("request", lambda req: urls.append(req.url))
    try:
        first = context.new_page()
        first.goto(app_server.url, wait_until="domcontentloaded")
        _sign_in_form(first)
        _fill_sign_in(first, name, PASSWORD)
        _signed_in(first, name)
        # the cookie: a session id only, SameSite=Strict, not Secure over plain http
        first.wait_for_function("() => document.cookie.includes('geo_session=')", timeout=TIMEOUT_MS)
        cookie = next(c for c in context.cookies() if c["name"] == sessions.COOKIE_NAME)
        assert sessions.is_secret(cookie["value"])
        assert cookie["sameSite"] == "Strict" and cookie["secure"] is False
        assert cookie["expires"] > 0  # Max-Age: ends with GEO_SESSION_MAX_HOURS

        first.reload(wait_until="domcontentloaded")
        _signed_in(first, name)

        second = context.new_page()
        second.goto(app_server.url + "/compare", wait_until="domcontentloaded")
        _signed_in(second, name)

        second.locator(".st-key-auth_sign_out button").click()
        _sign_in_form(second)
        assert all(c["name"] != sessions.COOKIE_NAME or not c["value"] for c in context.cookies())
        # the other tab, still showing the page, is signed out at its next click (a rerun
        # of its own Streamlit session: the server-side session has ended)
        first.locator(".st-key-lang label").last.click()
        first.locator(".st-key-auth_name input").wait_for(timeout=TIMEOUT_MS)
        # and the old cookie, put back (as a copied cookie would be), signs no one in
        context.add_cookies([cookie])
        first.reload(wait_until="domcontentloaded")
        _sign_in_form(first)
        # the session id never travelled in a URL
        assert not [u for u in urls if cookie["value"] in u]
    finally:
        context.close()


def test_first_admin_through_the_printed_setup_link(browser, tmp_path):
    with running_app(tmp_path, {"GEO_SEED_SAMPLE": "0"}) as server:
        context = browser.new_context(locale="vi-VN")
        try:
            page = context.new_page()
            page.goto(server.url, wait_until="domcontentloaded")  # as the README's newcomer
            page.get_by_text("Tạo tài khoản quản trị đầu tiên", exact=True).wait_for(timeout=TIMEOUT_MS)
            assert page.locator(".st-key-auth_first_name").count() == 0  # no link, no form
            link = server.setup_link()
            assert link.startswith(f"{server.url}/?setup=")  # this server, ready to open
            assert "You can now view your Streamlit app" in server.log().split(link)[0]  # under its URL
            page.goto(link, wait_until="domcontentloaded")
            page.locator(".st-key-auth_first_name input").wait_for(timeout=TIMEOUT_MS)
            page.locator(".st-key-auth_first_name input").fill("boss")
            page.locator(".st-key-auth_first_pw input").fill(PASSWORD)
            page.locator(".st-key-auth_first_pw2 input").fill(PASSWORD)
            page.locator("[data-testid='stFormSubmitButton'] button").first.click()
            _signed_in(page, "boss")
            assert "setup=" not in page.url
            # the link is spent: opened again in a new tab it is no way in
            other = context.new_page()
            other.context.clear_cookies()
            other.goto(link, wait_until="domcontentloaded")
            _sign_in_form(other)
        finally:
            context.close()
