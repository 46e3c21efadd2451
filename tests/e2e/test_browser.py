"""The demo page (``gateway/tier1/static/``, served by the gateway at ``/``) in headless Chromium.

Against the whole suite (the ``suite`` fixture): type a message, see the reply stream into the bot bubble,
the intent stage show a shopping label and product cards appear; the Summary tab returns the four keys.
Playwright drives Debian's chromium (``/usr/bin/chromium``, which ``.ci/run`` installs): ``playwright
install`` downloads a browser, which this project does not do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import E2E_KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOPPING_LABEL = re.compile(r"^(intended shopping|specific scenarios|specific needs|specific brand)$")
SCREENSHOT = Path("/tmp/demo.png")
TIMEOUT_MS = 45_000

# The suite's start-up (up to 90 s when this test runs first) plus two chat turns and a summary.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: .ci/run installs Debian's chromium before `make test` "
            "(or: apt-get install chromium)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the dev extra: pip install -e '.[dev]'"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Demo:
    """The page, the gateway it was opened from, and what it did besides rendering."""

    page: Any
    gateway: str
    errors: list[str] = field(default_factory=list)  # uncaught script errors
    foreign: list[str] = field(default_factory=list)  # requests that left the gateway's origin

    def watch(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        if urlsplit(url)._replace(path="", query="", fragment="").geturl() != self.gateway:
            self.foreign.append(url)

    def open(self) -> None:
        response = self.page.goto(f"{self.gateway}/")
        assert response is not None and response.ok, (
            f"GET / answered {response.status if response else 'nothing'}: the gateway should serve "
            "gateway/tier1/static/index.html at / (and the folder under /static/)"
        )
        self.page.wait_for_selector("html[data-ready='true']")
        self.page.get_by_test_id("api-key").fill(E2E_KEY)

    def send(self, text: str) -> Any:
        """Type and send a message; the new bot bubble."""
        from playwright.sync_api import expect

        before = self.page.get_by_test_id("bot-message").count()
        self.page.get_by_test_id("chat-input").fill(text)
        self.page.get_by_test_id("send").click()
        bot = self.page.get_by_test_id("bot-message").nth(before)
        expect(bot).to_be_visible()
        return bot


@pytest.fixture
def demo(browser: Any, suite: dict[str, str]) -> Iterator[Demo]:
    # `browser` comes first: without chromium the test skips before the suite is started.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US", service_workers="block")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    demo = Demo(page, suite["gateway"])
    page.on("pageerror", lambda exc: demo.errors.append(str(exc)))
    page.on("request", demo.watch)
    try:
        yield demo
    finally:
        context.close()


def test_chat_streams_the_reply_with_its_stages_and_product_cards(demo: Demo) -> None:
    from playwright.sync_api import expect

    page = demo.page
    demo.open()
    bot = demo.send("I want a smartphone with a good camera")
    try:
        # Streamed text in the bot bubble, the stages as they arrive.
        expect(bot.get_by_test_id("bot-text")).not_to_be_empty()
        expect(page.get_by_test_id("intent-label")).to_have_text(SHOPPING_LABEL)
        expect(page.get_by_test_id("stage-intent")).to_have_attribute("data-state", "done")
        expect(page.get_by_test_id("stage-call").get_by_test_id("call-json")).to_contain_text("get_recommds_by_sku")
        card = page.get_by_test_id("product-card").first
        expect(card).to_be_visible()
        expect(card.get_by_test_id("product-name")).not_to_be_empty()
        expect(card.get_by_test_id("product-price")).to_contain_text("¥")
        expect(bot).to_have_attribute("data-state", "done")
    finally:
        page.screenshot(path=str(SCREENSHOT))

    tokens = int(bot.get_attribute("data-tokens") or 0)
    assert tokens > 1, f"the reply came in {tokens} token events: it was not streamed"
    assert not bot.get_by_test_id("chat-error").count(), bot.inner_text()
    session = page.get_by_test_id("session-id").inner_text()
    assert session and "new" not in session

    # A second turn keeps the session.
    second = demo.send("Which one has the longest battery life?")
    expect(second).to_have_attribute("data-state", "done")
    expect(second.get_by_test_id("bot-text")).not_to_be_empty()
    assert page.get_by_test_id("session-id").inner_text() == session

    assert page.evaluate("localStorage.getItem('shopguide.apiKey')") == E2E_KEY
    assert not demo.errors, demo.errors
    assert not demo.foreign, f"the page loaded from elsewhere than the gateway: {demo.foreign}"


def test_summary_tab_returns_the_four_keys(demo: Demo) -> None:
    from playwright.sync_api import expect

    page = demo.page
    demo.open()
    page.get_by_test_id("tab-summary").click()
    # the example customer-service dialog, prefilled
    expect(page.get_by_test_id("summary-input")).to_have_value(re.compile("^用户：.*客服：", re.DOTALL))
    page.get_by_test_id("summary-submit").click()
    result = page.get_by_test_id("summary-result")
    expect(result).to_contain_text("是否接受")
    expect(page.get_by_test_id("summary-accepted")).to_have_text(re.compile(r"^[是否]$"))
    expect(page.get_by_test_id("summary-negative")).to_have_text(re.compile(r"^[是否]$"))
    expect(page.get_by_test_id("summary-problem")).not_to_be_empty()
    assert not demo.errors, demo.errors


# Frames as a server may cut them: CRLF and CR line ends, a comment, a data field over two lines, and a last
# frame without its blank line. Every one-cut split of the UTF-8 bytes (inside "\r\n", inside a Chinese
# character) and byte-by-byte chunks must give the same four events, through the page's own reader.
SSE_CHECK = """async () => {
  const { streamEvents } = window.ShopGuide;
  const text = 'event: session\\r\\ndata: {"session_id":"s1"}\\r\\n\\r\\n: keep-alive\\n\\n'
    + 'event: token\\ndata: {"text":"你好，"}\\n\\n'
    + 'event: token\\rdata: {"text":\\rdata: "two lines"}\\r\\r'
    + 'event: done\\ndata: {"reply":"你好，two lines"}';
  const bytes = new TextEncoder().encode(text);
  const run = async (cuts) => {
    const events = [];
    const chunks = [];
    let at = 0;
    for (const cut of [...cuts, bytes.length]) { chunks.push(bytes.slice(at, cut)); at = cut; }
    const body = new ReadableStream({ start(c) { chunks.forEach((x) => c.enqueue(x)); c.close(); } });
    await streamEvents(new Response(body), (name, data) => events.push([name, data]));
    return JSON.stringify(events);
  };
  const expected = await run([]);
  const failures = [];
  for (let i = 1; i < bytes.length; i++) if (await run([i]) !== expected) failures.push(i);
  const bytewise = await run([...Array(bytes.length - 1).keys()].map((i) => i + 1));
  return { expected: JSON.parse(expected), failures, bytewise: bytewise === expected };
}"""


def test_the_sse_reader_survives_any_chunk_boundary(demo: Demo) -> None:
    demo.open()
    result = demo.page.evaluate(SSE_CHECK)
    assert result["expected"] == [
        ["session", {"session_id": "s1"}],
        ["token", {"text": "你好，"}],
        ["token", {"text": "two lines"}],
        ["done", {"reply": "你好，two lines"}],
    ]
    assert result["failures"] == [], f"splits at these byte offsets changed the events: {result['failures']}"
    assert result["bytewise"], "one byte per chunk changed the events"
