"""Make the README's screenshots: the Forecast tab (docs/screenshot.png) and a customer lookup.

python scripts/screenshot.py                        # the Forecast tab, by segment
python scripts/screenshot.py --tab lookup --customer C000123 --out docs/lookup.png

Serves the app in this process on 127.0.0.1 and drives Debian's chromium headless through
Playwright's Python package (nothing downloads a browser; another binary via --chromium).
The PNG is reduced to a 256-colour palette if needed to stay under --max-kb (it is
committed).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _shrink(png: bytes, max_bytes: int) -> bytes:
    """The PNG as is if small enough, else quantised to 256 colours (still a PNG)."""
    if len(png) <= max_bytes:
        return png
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def take(
    url: str,
    customer_id: str,
    *,
    chromium: str,
    tab: str = "forecast",
    width: int = 1280,
    height: int = 960,
) -> bytes:
    """PNG bytes of the Forecast tab as it opens, or of the lookup tab after looking
    `customer_id` up."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            page.goto(url)
            if tab == "forecast":
                page.get_by_role("tab", name="Forecast").click()
                expect(page.get_by_text("expected in the 30 days from").first).to_be_visible()
                expect(page.locator("#forecast-csv a").first).to_be_visible()
                page.wait_for_timeout(1500)  # let the chart finish drawing
                return page.screenshot(full_page=False)
            page.get_by_role("tab", name="Customer lookup").click()
            page.get_by_label("Customer ID").fill(customer_id)
            page.get_by_role("button", name=re.compile(r"^Predict")).first.click()
            expect(page.get_by_text("expected spend in the next 30 days")).to_be_visible()
            # the last output of the lookup chain: the table of what drives the prediction
            expect(page.get_by_role("grid").nth(1).get_by_role("gridcell").first).to_be_visible()
            page.wait_for_timeout(1000)  # let the plot finish drawing
            return page.screenshot(full_page=False)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tab", choices=("forecast", "lookup"), default="forecast")
    parser.add_argument("--customer", default=None, help="ID to look up (default: 1st example)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--max-kb", type=int, default=300)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import app

    customer = args.customer or app.EXAMPLE_IDS[0]
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        png = take(url, customer, chromium=args.chromium, tab=args.tab)
    finally:
        app.demo.close()
    png = _shrink(png, args.max_kb * 1000)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    print(f"wrote {out} ({len(png) / 1000:.0f} kB, customer {customer})")
    if len(png) > args.max_kb * 1000:
        print(f"error: still larger than {args.max_kb} kB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
