"""What every browser test does with a page: screenshot it for a person to look at, submit
its form and wait for the answer."""

from __future__ import annotations

from pathlib import Path

# Screenshots to look at, beside the browser tests (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "browser" / "artifacts"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def submit(page, button: str = "button[type=submit]") -> int:
    """Clicks the form's button (``button``: a selector, for a page with several forms);
    returns the status of the POST (waited for, no stale page)."""
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click(button)
    page.wait_for_load_state()
    return posted.value.status
