"""Web pages on a phone: first paint and weight of the storefront, the widget, the
provider portal and the office console.

Run against a running platform (``make up``, demo data loaded)::

    .venv/bin/python bench/web_pages.py            # about 1 minute
    .venv/bin/python bench/web_pages.py --help

For each main page, Debian's Chromium (through Playwright) loads it as a mid-range phone
would: 390x844 viewport, CPU slowed 4x and a "fast 3G" network (1.6 Mbit/s down, 150 ms
round trip) through the DevTools protocol, cache empty. It prints per page: the server's
answer time (median of 5 plain requests), the first contentful paint in the browser, the
bytes of HTML, CSS and JavaScript the page loaded, and the goal per line: JavaScript
<= 200 KB and first paint <= 2.5 s on that phone (PASS/MISS).

Signed-in pages use a session the script signs with the development office key, as the
sign-in link would (the same key ``make up`` gives the web process). Everything stays on
loopback, reads only, and stops by itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from comptoir_ops import demo, infra
from comptoir_ops.platform import OFFICE_STAFF_EMAIL
from comptoir_web.auth import SESSION_COOKIE, Authority, Identity, MemorySingleUse
from comptoir_web.settings import WebSettings

JS_BUDGET = 200 * 1024
PAINT_BUDGET_MS = 2500
PHONE = {"width": 390, "height": 844}
#: Chrome DevTools' "Fast 3G" preset.
NETWORK = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}


def say(message: str) -> None:
    print(message, flush=True)


def pages(web: str, catalog: str) -> list[tuple[str, str, str | None]]:
    """(name, url, who) of the pages measured; who: None, "provider" or "office"."""
    activities = httpx.get(
        f"{catalog}/v1/activities",
        params={"territory_id": str(demo.DEMO_TERRITORY_ID), "limit": 1},
        timeout=10,
    ).json()["items"]
    if not activities:
        raise SystemExit("no demo activity: run `make up` (or `make seed`) first")
    activity = activities[0]
    return [
        ("search", f"{web}/fr/", None),
        ("activity", f"{web}/fr/activities/{activity['id']}", None),
        ("widget frame", f"{web}/fr/embed/?provider={activity['provider_id']}", None),
        ("sign-in", f"{web}/fr/sign-in", None),
        ("portal agenda", f"{web}/fr/portal/", "provider"),
        ("portal activities", f"{web}/fr/portal/activities", "provider"),
        ("office observatory", f"{web}/fr/office/", "office"),
        ("office providers", f"{web}/fr/office/providers", "office"),
    ]


def sessions(catalog: str) -> dict[str, str]:
    authority = Authority(WebSettings(), MemorySingleUse())
    office = Identity(
        role="admin",
        territory_id=demo.DEMO_TERRITORY_ID,
        email=OFFICE_STAFF_EMAIL,
        name=OFFICE_STAFF_EMAIL,
    )
    admin = authority.service_token(demo.DEMO_TERRITORY_ID)
    providers = httpx.get(
        f"{catalog}/v1/providers",
        headers={"Authorization": f"Bearer {admin}"},
        params={"limit": 1},
        timeout=10,
    ).json()["items"]
    provider = Identity(
        role="provider",
        territory_id=demo.DEMO_TERRITORY_ID,
        email=providers[0]["email"],
        name=providers[0]["name"],
        provider_id=uuid.UUID(providers[0]["id"]),
    )
    return {
        "office": authority.session_cookie(office)[0],
        "provider": authority.session_cookie(provider)[0],
    }


def server_ms(url: str, cookie: str | None) -> float:
    cookies = {SESSION_COOKIE: cookie} if cookie else {}
    times = []
    with httpx.Client(cookies=cookies, timeout=30) as client:
        for _ in range(5):
            start = time.perf_counter()
            answer = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"{url} answered {answer.status_code}")
    return statistics.median(times)


def measure(browser: Any, url: str, cookie: str | None, web: str) -> dict[str, float]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    if cookie:
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": web}])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    page.goto(url, wait_until="load")
    # The paint entry can come after "load": wait for it (buffered), 10 s at most.
    page.evaluate(
        """() => new Promise((done) => {
          new PerformanceObserver(() => done()).observe({type: 'paint', buffered: true});
          setTimeout(done, 10000);
        })"""
    )
    figures: dict[str, float] = page.evaluate(
        """() => {
          const paint = performance.getEntriesByName('first-contentful-paint')[0];
          const nav = performance.getEntriesByType('navigation')[0];
          const sum = (kind) => performance.getEntriesByType('resource')
            .filter(r => r.initiatorType === kind)
            .reduce((n, r) => n + (r.encodedBodySize || r.transferSize || 0), 0);
          const css = performance.getEntriesByType('resource')
            .filter(r => r.name.endsWith('.css'))
            .reduce((n, r) => n + (r.encodedBodySize || 0), 0);
          return {fcp: paint ? paint.startTime : -1, html: nav.encodedBodySize,
                  js: sum('script'), css: css, img: sum('img')};
        }"""
    )
    context.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", default="http://127.0.0.1:8000")
    parser.add_argument("--catalog", default="http://127.0.0.1:8001")
    args = parser.parse_args()
    say("finding the demo's pages and signing a provider and the office in...")
    targets = pages(args.web, args.catalog)
    cookies = sessions(args.catalog)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=infra.chromium_path(), args=["--headless", "--no-sandbox"]
        )
        try:
            for index, (name, url, who) in enumerate(targets, 1):
                say(f"[{index}/{len(targets)}] {name}: {url}")
                cookie = cookies[who] if who else None
                figures = measure(browser, url, cookie, args.web)
                rows.append((name, server_ms(url, cookie), figures))
        finally:
            browser.close()
    say("")
    say(f"{'page':<20}{'server ms':>10}{'first paint ms':>16}{'HTML KB':>9}{'CSS KB':>8}"
        f"{'JS KB':>7}  goal")  # fmt: skip
    missed = 0
    for name, server, f in rows:
        ok = f["js"] <= JS_BUDGET and 0 <= f["fcp"] <= PAINT_BUDGET_MS
        missed += not ok
        say(
            f"{name:<20}{server:>10.1f}{f['fcp']:>16.0f}{f['html'] / 1024:>9.1f}"
            f"{f['css'] / 1024:>8.1f}{f['js'] / 1024:>7.1f}  {'PASS' if ok else 'MISS'}"
        )
    say(
        f"\nphone: {PHONE['width']}x{PHONE['height']}, CPU x4 slower, fast 3G; goal: "
        f"JS <= {JS_BUDGET // 1024} KB and first paint <= {PAINT_BUDGET_MS} ms per page"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
