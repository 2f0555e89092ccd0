"""Drives the parents' form in a real browser the way a parent would, step by step."""
from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from pathlib import Path

from app.services.ids import make_resident_id

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def tiny_png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def new_page(browser, **options):
    """A phone-sized page (390 px, Chinese) in its own browser context."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", **options)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def staff_page(browser, base_url, username, password="pw-123456"):
    """A desktop-sized admin page signed in as one of the demo staff."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15000)
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    return page


def go_back(page):
    """The browser's back button, once the page on screen has finished loading.

    Playwright's go_back reads the navigation history over CDP, which newer Chromium detaches
    when a POST-redirect swaps the page's frame; history.back() is what the button does.
    """
    page.wait_for_load_state("load")
    here = page.url
    page.evaluate("history.back()")
    page.wait_for_function("url => location.href !== url", arg=here)
    page.wait_for_load_state("load")


class ParentFlow:
    def __init__(self, page, base_url, name, sms, area="430726"):
        self.page, self.base, self.name, self.sms, self.area = page, base_url, name, sms, area
        self.shots = 0
        ARTIFACTS.mkdir(exist_ok=True)

    def shot(self, label):
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"parent-{self.name}-{self.shots:02d}-{label}.png"), full_page=True)

    def login(self, phone, agree=True):
        """Sign in by SMS code; on the first login the county's agreement is read and agreed unless told not to."""
        page = self.page
        page.goto(self.base + "/signin")
        page.fill("#phone", phone)
        page.click("main form button")
        code = re.search(r"(\d{6})", self.sms.last_to(phone)).group(1)
        page.fill("#code", code)
        self.shot("code")
        page.click("main form >> nth=0 >> button")
        if agree and "/my/consent" in page.url:  # the first login: the county's agreement
            self.agree()

    def agree(self):
        page = self.page
        self.shot("consent")
        page.check("input[name=agree]")
        # a county may ask for a reading time (Dengfeng: 30 s): the button counts down first
        page.locator("#agree:not([disabled])").wait_for(timeout=40000)
        page.click("#agree")

    def add_child(self, name, birth, sequence):
        page = self.page
        page.goto(self.base + "/my/children/add")
        page.fill("#name", name)
        number = make_resident_id(self.area, birth, sequence)
        page.fill("#id_number", number)
        self.shot("child")
        page.click("main form button")
        return number

    def start(self, period_name, child=None, through_lookup=True):
        """Apply for the period from 我的孩子: the named child's card, or the first that offers one.
        Where the period looks children up first (安义's 学生信息查询), the child is put in the
        household extract and the family looks it up and confirms 与实际情况相符."""
        page = self.page

        def apply():
            cards = page.locator("main section.card", has=page.locator("select[name=period_id]"))
            form = (cards.filter(has_text=child) if child else cards).first.locator("form")
            form.locator("select[name=period_id]").select_option(label=period_name)
            form.locator("button").click()

        apply()
        if "/my/consent" in page.url:
            self.agree()
            apply()
        if through_lookup and "/my/lookup/" in page.url:
            from tests.public_helpers import in_household_register

            page.fill("#id_number", in_household_register(int(page.url.split("/my/lookup/")[1].split("/")[0])))
            page.click("main form button")
            page.click("text=与实际情况相符")

    def apply(self, phone, child, birth, sequence, period, channel=None, community=None):
        """Sign in, add the child, start the period and fill every step to the preview."""
        self.login(phone)
        self.add_child(child, birth, sequence)
        self.start(period)
        return self.fill_steps(channel=channel, community=community)

    def fill_steps(self, channel=None, community=None, max_steps=20):
        """Fill every step until the preview; returns the list of steps seen."""
        page, seen = self.page, []
        for _ in range(max_steps):
            step = page.url.rstrip("/").split("/")[-1]
            seen.append(step)
            self.shot(step)
            if step == "preview":
                return seen
            getattr(self, "_" + step, self._section)(channel=channel, community=community)
        raise AssertionError(f"never reached the preview: {seen}")

    def _channel(self, channel=None, **_):
        radio = self.page.locator("label.choice", has_text=channel).locator("input") if channel else self.page.locator("input[name=channel_id]").first
        radio.check()
        self.page.click("main form button")

    def _community(self, community=None, **_):
        select = self.page.locator("#community_id")
        if community:
            select.select_option(label=community)
        else:
            select.select_option(index=1)
        self.page.click("main form button")

    def _choices(self, **_):
        page = self.page
        selects = page.locator("select[id^=choice_]")
        options = page.locator("#choice_1 option").count() - 1
        for i in range(min(selects.count(), options)):
            selects.nth(i).select_option(index=i + 1)
        page.click("main form button")

    def _guardians(self, **_):
        page = self.page
        page.select_option("#g0_relation", "father")
        page.fill("#g0_name", "王大伟")
        page.fill("#g0_id_number", make_resident_id(self.area, dt.date(1988, 4, 2), 31))
        page.fill("#g0_phone", "13912345678")
        page.click("main form button >> nth=0")

    def _section(self, **_):
        page = self.page
        for field in page.locator("main form input:not([type=hidden]), main form select").all():
            name = field.get_attribute("name")
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(index=1)
            elif field.get_attribute("type") == "date":
                field.fill("2030-06-30" if "valid" in name else "2019-03-01")
            elif name.endswith("_id") or name == "holder_id":
                field.fill(make_resident_id(self.area, dt.date(2016, 5, 5), 77))
            elif field.get_attribute("inputmode") == "numeric":
                field.fill("12")
            else:
                field.fill("测试填写" + name[:3])
        page.click("main form button >> nth=0")

    def _materials(self, **_):
        page = self.page
        png = ARTIFACTS / "upload.png"
        png.write_bytes(tiny_png())
        count = page.locator("input[type=file]").count()
        for i in range(count):
            page.locator("input[type=file]").nth(i).set_input_files(str(png))
            page.locator("input[type=file]").nth(i).locator("xpath=ancestor::form").locator("button").click()
        self.shot("uploaded")
        page.locator("main > form button").click()

    def submit(self, javascript=True):
        page = self.page
        button = page.locator("#submit")
        button.wait_for(state="visible")
        if javascript:
            # a selector, not a script: the page's content security policy allows no eval
            page.locator("#submit:not([disabled])").wait_for(timeout=30000)
        button.click()
        self.shot("receipt")
