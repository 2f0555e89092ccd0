"""The load client of bench/opening_day.py: parents' browsers in one asyncio process (aiohttp).

Each parent is a ``Browser``: its own Flask session cookie and CSRF token over a shared pool of
connections whose size is the concurrency. Redirects are followed by hand, as a browser would,
so every request — the POST and the GET it leads to — is timed and counted on its own.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from app.services.forms import seed_documents
from app.services.ids import make_resident_id
from app.services.sections import from_definition


def sections_of(definitions: list) -> dict:
    """Sections by code from published definitions (JSON), over the built-in ones as migrated."""
    found = {d["code"]: from_definition(d) for d in seed_documents()}
    found.update({d["code"]: from_definition(d) for d in definitions})
    return found

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMIT_TOKEN = re.compile(r'name="token" value="([^"]+)"')
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
CHILD_ID = re.compile(r'name="child_id" value="(\d+)"')
FIRST_CHOICE = re.compile(r'<select id="choice_1"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="(\d+)"')
MATERIAL = re.compile(r'name="material_type_id" value="(\d+)"')
APPLICATION = re.compile(r"/my/a/(\d+)/")
PROBLEM = re.compile(r'class="(?:flash flash-error|error|field-error)"[^>]*>([^<]{1,200})')


def tiny_png() -> bytes:
    """A valid 1×1 PNG (the same bytes as tests/parent_flow.tiny_png)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


# --- figures ---------------------------------------------------------------------------------------

def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@dataclass
class Recorder:
    """Every request's label, status (0 = no answer: refused, reset or timed out) and seconds."""

    samples: list = field(default_factory=list)
    nodes: Counter = field(default_factory=Counter)  # answers per X-Ruxue-Node (several nodes behind nginx)

    def add(self, label: str, status: int, seconds: float, node: str | None = None) -> None:
        self.samples.append((label, status, seconds))
        if node:
            self.nodes[node] += 1

    @staticmethod
    def figures(samples: list, wall: float | None = None) -> dict:
        times = sorted(s[2] for s in samples)
        statuses = Counter(s[1] for s in samples)
        out = {
            "requests": len(samples),
            "p50_ms": _ms(percentile(times, 0.50)),
            "p99_ms": _ms(percentile(times, 0.99)),
            "max_ms": _ms(times[-1] if times else None),
            "status_5xx": sum(n for s, n in statuses.items() if s >= 500),
            "status_4xx": sum(n for s, n in statuses.items() if 400 <= s < 500),
            "no_answer": statuses.get(0, 0),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
        }
        if wall:
            out["wall_s"] = round(wall, 2)
            out["rps"] = round(len(samples) / wall, 1)
        return out

    def summary(self, wall: float) -> dict:
        out = self.figures(self.samples, wall)
        if self.nodes:
            out["nodes"] = dict(sorted(self.nodes.items()))
        return out

    def by_label(self) -> dict:
        groups: dict[str, list] = {}
        for sample in self.samples:
            groups.setdefault(sample[0], []).append(sample)
        return {label: self.figures(rows) for label, rows in groups.items()}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class FlowError(Exception):
    """A parent could not go on: the step, the status and what the page said."""


# --- one parent's browser ----------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    text: str
    location: str | None


class Browser:
    def __init__(self, http: aiohttp.ClientSession, base: str, recorder: Recorder):
        self.http, self.base, self.recorder = http, base, recorder
        self.cookie: str | None = None
        self.csrf = ""
        self.keep_cookie = False  # racing copies send the cookie but never take a new one

    async def request(self, method: str, path: str, label: str, data=None, expect=(200,)) -> Answer:
        headers = {"Cookie": f"session={self.cookie}"} if self.cookie else {}
        if method == "POST":
            # as a browser sends it: over HTTPS (behind nginx) Flask-WTF refuses a form POST without it
            headers["Referer"] = self.base + path
        started = time.perf_counter()
        node = None
        try:
            async with self.http.request(method, self.base + path, data=data, headers=headers, allow_redirects=False) as answer:
                body = await answer.read()
                status, location = answer.status, answer.headers.get("Location")
                node = answer.headers.get("X-Ruxue-Node")
                morsel = answer.cookies.get("session")
                if morsel is not None and not self.keep_cookie:
                    self.cookie = morsel.value or None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            self.recorder.add(label, 0, time.perf_counter() - started)
            raise FlowError(f"{label}: no answer ({type(error).__name__})") from None
        self.recorder.add(label, status, time.perf_counter() - started, node)
        text = body.decode("utf-8", "replace")
        token = CSRF.search(text) if status == 200 else None
        if token:
            self.csrf = token.group(1)
        if status not in expect:
            problem = PROBLEM.search(text)
            raise FlowError(f"{label}: {status}" + (f" {problem.group(1).strip()}" if problem else ""))
        if location and location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        return Answer(status, text, location)

    async def get(self, path: str, label: str, expect=(200,)) -> Answer:
        return await self.request("GET", path, label, expect=expect)

    async def post(self, path: str, label: str, data: dict | aiohttp.FormData, expect=(302,)) -> Answer:
        if isinstance(data, dict):
            data = {"csrf_token": self.csrf, **data}
        return await self.request("POST", path, label, data=data, expect=expect)

    async def follow(self, answer: Answer, label: str) -> Answer:
        if not answer.location:
            raise FlowError(f"{label}: no redirect to follow")
        return await self.get(answer.location, label)


# --- what the parents type ------------------------------------------------------------------------

@dataclass
class Plan:
    """Everything a parent needs to know: the period, channel, communities and how to make IDs."""

    base: str
    sms_dir: Path
    period_id: int
    channel_id: int
    communities: list[int]
    birth_from: dt.date
    birth_days: int
    area: str = "430726"
    phone_prefix: str = "199"
    counter: int = 0
    png: bytes = field(default_factory=tiny_png)
    sections: dict = field(default_factory=lambda: sections_of([]))

    def next_index(self) -> int:
        self.counter += 1
        return self.counter

    def phone(self, i: int) -> str:
        return f"{self.phone_prefix}{i:08d}"

    def child_id_number(self, i: int) -> str:
        # sequences 500-999 never meet the demo's (it counts up from 1); 500 children a birth day
        day, sequence = divmod(i, 500)
        if day >= self.birth_days:
            raise ValueError("more children than the birth window holds; lower --parents")
        return make_resident_id(self.area, self.birth_from + dt.timedelta(days=day), 500 + sequence)

    def section(self, name: str, i: int) -> dict:
        if name == "guardians":
            return {"g0_relation": "mother", "g0_name": "刘芳", "g0_phone": "13912340000",
                    "g0_id_number": make_resident_id(self.area, dt.date(1985, 1, 1) + dt.timedelta(days=i // 1000), i % 1000)}
        values = {}
        for f in self.sections[name].fields:
            if any(r.kind == "matches_guardian" for r in f.rules):
                values[f.key] = "刘芳"
            elif f.kind == "date":
                values[f.key] = "2030-01-01" if f.key == "valid_until" else "2019-05-01"
            elif f.kind == "int":
                values[f.key] = "12"
            elif f.kind in ("choice", "yes_no"):
                values[f.key] = f.options[0][0]
            elif f.kind == "address":
                values[f.key], values[f.key + "_community"] = "测试路1号", str(self.communities[i % len(self.communities)])
            elif f.kind == "id":
                values[f.key] = make_resident_id(self.area, dt.date(2015, 1, 1), 1)
            elif f.key == "certificate_no":
                values[f.key] = f"测试不动产权第{i:07d}号"  # one family, one property: no conflict flag
            else:
                values[f.key] = "测试"
        return values

    async def login_code(self, phone: str) -> str:
        path = self.sms_dir / f"{phone}.txt"
        for _ in range(50):  # written before the answer is sent; the wait only covers a slow disk
            try:
                found = CODE.search(path.read_text(encoding="utf-8"))
                if found:
                    return found.group(1)
            except FileNotFoundError:
                pass
            await asyncio.sleep(0.05)
        raise FlowError(f"no login code for {phone} in {self.sms_dir}")


async def sign_in(b: Browser, plan: Plan, i: int) -> None:
    await b.get("/signin", "GET /signin")
    phone = plan.phone(i)
    await b.post("/signin", "POST /signin", {"phone": phone}, expect=(200,))
    answer = await b.post("/signin/code", "POST /signin/code", {"phone": phone, "code": await plan.login_code(phone), "next": ""})
    await b.follow(answer, "GET /my")  # a new session after login: its page carries the new token


async def add_child(b: Browser, plan: Plan, i: int) -> int:
    await b.get("/my/children/add", "GET /my/children/add")
    answer = await b.post("/my/children/add", "POST /my/children/add",
                          {"name": "张小花", "id_type": "resident_id", "id_number": plan.child_id_number(i)})
    page = await b.follow(answer, "GET /my")
    found = CHILD_ID.findall(page.text)
    if not found:
        raise FlowError("GET /my: the child offers no period to apply to")
    return int(found[-1])


async def give_consent(b: Browser) -> None:
    await b.get("/my/consent?next=/my", "GET /my/consent")
    answer = await b.post("/my/consent", "POST /my/consent", {"agree": "1", "next": "/my"})
    await b.follow(answer, "GET /my")


async def start(b: Browser, plan: Plan, child_id: int) -> Answer:
    """POST /my/apply; when it asks for consent first, give it and apply again."""
    data = {"child_id": child_id, "period_id": plan.period_id}
    answer = await b.post("/my/apply", "POST /my/apply", data)
    if answer.location and answer.location.startswith("/my/consent"):
        await b.follow(answer, "GET /my/consent")
        consent = await b.post("/my/consent", "POST /my/consent", {"agree": "1", "next": "/my"})
        await b.follow(consent, "GET /my")
        answer = await b.post("/my/apply", "POST /my/apply", data)
    if not answer.location or not APPLICATION.search(answer.location):
        raise FlowError(f"POST /my/apply: went to {answer.location}")
    return answer


async def fill(b: Browser, plan: Plan, i: int, started: Answer) -> tuple[int, str, list[str]]:
    """Every step in the order the app redirects, up to the preview; (id, submit token, steps)."""
    application_id = int(APPLICATION.search(started.location).group(1))
    base = f"/my/a/{application_id}"
    page, step, seen = await b.follow(started, "GET step:channel"), "channel", []
    for _ in range(30):
        seen.append(step)
        if step == "preview":
            token = SUBMIT_TOKEN.search(page.text)
            if not token:
                problem = PROBLEM.search(page.text)
                raise FlowError("GET step:preview: no submit form" + (f" ({problem.group(1).strip()})" if problem else ""))
            return application_id, token.group(1), seen
        if step == "channel":
            data = {"channel_id": plan.channel_id}
        elif step == "community":
            data = {"community_id": plan.communities[i % len(plan.communities)]}
        elif step == "choices":
            select = FIRST_CHOICE.search(page.text)
            options = OPTION.findall(select.group(1)) if select else []
            if not options:
                raise FlowError("GET step:choices: no school offered")
            data = {"choice_1": options[0]}
        elif step == "materials":
            for material in MATERIAL.findall(page.text):
                form = aiohttp.FormData()
                form.add_field("csrf_token", b.csrf)
                form.add_field("material_type_id", material)
                form.add_field("file", plan.png, filename="proof.png", content_type="image/png")
                uploaded = await b.post(f"{base}/upload", "POST upload", form)
                page = await b.follow(uploaded, "GET step:materials")
            data = {}
        elif step in plan.sections:
            data = plan.section(step, i)
        else:
            raise FlowError(f"unknown step {step!r}")
        answer = await b.post(f"{base}/{step}", f"POST step:{step}", data)
        step = answer.location.rstrip("/").rsplit("/", 1)[-1] if answer.location else ""
        page = await b.follow(answer, f"GET step:{step}")
    raise FlowError(f"never reached the preview: {seen}")


async def submit(b: Browser, application_id: int, token: str) -> None:
    answer = await b.post(f"/my/a/{application_id}/submit", "POST submit", {"token": token})
    page = await b.follow(answer, "GET detail" if "receipt" in (answer.location or "") else "GET step:preview")
    if "receipt" not in (answer.location or ""):
        problem = PROBLEM.search(page.text)
        raise FlowError("POST submit: refused" + (f" ({problem.group(1).strip()})" if problem else ""))


async def parent_to_preview(b: Browser, plan: Plan, i: int) -> tuple[int, str, list[str]]:
    await sign_in(b, plan, i)
    child_id = await add_child(b, plan, i)
    return await fill(b, plan, i, await start(b, plan, child_id))


# --- scenarios ---------------------------------------------------------------------------------------

def session(limit: int, timeout: float) -> aiohttp.ClientSession:
    # cookies by hand (one Flask session per Browser); aiohttp's jar would also drop them for an IP host.
    # ssl=False: nginx in front (--two-nodes) has a self-signed certificate
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, ssl=False), cookie_jar=aiohttp.DummyCookieJar(),
                                 timeout=aiohttp.ClientTimeout(total=timeout))


async def full_flows(plan: Plan, parents: int, concurrency: int, timeout: float) -> dict:
    """P parents, C at a time, each from the sign-in page to the receipt."""
    recorder, failures, done = Recorder(), Counter(), 0
    gate = asyncio.Semaphore(concurrency)
    async with session(concurrency, timeout) as http:
        async def one():
            nonlocal done
            async with gate:
                b, i = Browser(http, plan.base, recorder), plan.next_index()
                try:
                    application_id, token, _ = await parent_to_preview(b, plan, i)
                    await submit(b, application_id, token)
                    done += 1
                except FlowError as error:
                    failures[re.sub(r"\d{6,}", "…", str(error))] += 1
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(parents)))
        wall = time.perf_counter() - started
    return {**recorder.summary(wall), "parents": parents, "concurrency": concurrency, "completed": done,
            "failed": sum(failures.values()), "failures": dict(failures.most_common(10)), "by_step": recorder.by_label()}


async def _race(http, b: Browser, n: int, path: str, label: str, data: dict) -> dict:
    """N copies of the same request from the same session, sent together."""
    recorder = Recorder()
    copies = []
    for _ in range(n):
        copy = Browser(http, b.base, recorder)
        copy.cookie, copy.csrf, copy.keep_cookie = b.cookie, b.csrf, True
        copies.append(copy)

    async def one(copy):
        try:
            answer = await copy.post(path, label, data, expect=(200, 302, 303))
            return answer.location
        except FlowError as error:
            return str(error)

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(c) for c in copies))
    return {**recorder.summary(time.perf_counter() - started), "outcomes": dict(Counter(o or "200" for o in outcomes).most_common(8))}


async def racing_starts(plan: Plan, n: int, timeout: float) -> dict:
    """One parent, one child: N simultaneous 'apply' posts; the database should hold one draft."""
    async with session(0, timeout) as http:
        b, i = Browser(http, plan.base, Recorder()), plan.next_index()
        await sign_in(b, plan, i)
        child_id = await add_child(b, plan, i)
        await give_consent(b)
        result = await _race(http, b, n, "/my/apply", "POST /my/apply (race)", {"child_id": child_id, "period_id": plan.period_id})
    return {**result, "child_id": child_id}


async def racing_submits(plan: Plan, n: int, timeout: float) -> dict:
    """One filled application: N simultaneous submits with the same preview token; one event expected."""
    async with session(0, timeout) as http:
        b, i = Browser(http, plan.base, Recorder()), plan.next_index()
        application_id, token, _ = await parent_to_preview(b, plan, i)
        result = await _race(http, b, n, f"/my/a/{application_id}/submit", "POST submit (race)", {"token": token})
    return {**result, "application_id": application_id}


async def hammer(base: str, label: str, n: int, concurrency: int, timeout: float, path: str,
                 method: str = "GET", data=None, expect=(200,)) -> dict:
    """N requests to one URL, CONCURRENCY at a time, as fast as the server answers."""
    recorder, left = Recorder(), n
    async with session(concurrency, timeout) as http:
        async def worker():
            nonlocal left
            b = Browser(http, base, recorder)
            while left > 0:
                left -= 1
                try:
                    await b.request(method, path, label, data=data(left) if callable(data) else data, expect=expect)
                except FlowError:
                    pass  # counted by status in the recorder
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {**recorder.summary(wall), "concurrency": concurrency, "path": path}
