#!/usr/bin/env python3
"""Generate the bundled Northwind Logistics sample corpus for Sluice.

Northwind Logistics is a fictional mid-size logistics SaaS company. Every
person, customer, hostname, incident and number in this file was made up for
the Sluice project; none of it is copied from a real company.

Usage:
    python3 scripts/gen_sample.py            # writes pipelines/data/sample/
    python3 scripts/gen_sample.py --out DIR  # writes somewhere else

Stdlib only. The output is deterministic: a fixed random seed drives every
choice, and no wall-clock time is read, so re-running gives identical bytes.

How the corpus is put together
------------------------------
* Documents are hand-written (the "core": long Confluence pages, runbooks,
  postmortems, the incidents that tie Jira, GitLab and Slack together) or
  composed from hand-written seeds (one seed = one specific bug, feature,
  question or change) wrapped in per-source structure.
* Cross-references are written as placeholders and resolved at the end,
  once Jira keys, GitLab iids and Slack timestamps are known:
      {{J:ref}}    Jira key, e.g. OPS-168
      {{JM:ref}}   Confluence Jira macro for that key
      {{MR:ref}}   GitLab MR reference, e.g. platform/route-planner!588
      {{MRURL:ref}} / {{GIURL:ref}} web URLs, {{GI:ref}} issue reference
      {{CT:ref}} / {{CURL:ref}}  Confluence page title / full URL
      {{SL:ref}}   Slack thread permalink
      {{U:person}} Slack user mention <@U...>
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import textwrap
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote_plus

SEED = 20250914
rng = random.Random(SEED)
UTC = timezone.utc
CORPUS_END = datetime(2025, 10, 10, 18, 0, tzinfo=UTC)

# ---------------------------------------------------------------------------
# People, channels, projects
# ---------------------------------------------------------------------------


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


class Person:
    def __init__(self, key, name, team, title, slack_id):
        self.key, self.name, self.team, self.title, self.slack_id = key, name, team, title, slack_id
        first, last = _ascii(name).split(" ", 1)
        clean = lambda s: re.sub(r"[^a-z]", "", s.lower())  # noqa: E731
        self.username = clean(first)[0] + clean(last)
        self.email = f"{clean(first)}.{clean(last)}@northwind.example"


PEOPLE = {p.key: p for p in [
    Person("priya", "Priya Raman", "sre", "Staff SRE, SRE lead", "U02ABC7PRM"),
    Person("ben", "Ben Adeyemi", "sre", "Senior SRE", "U03BDY4K2Q"),
    Person("nadia", "Nadia Petrova", "sre", "Platform Engineer", "U04NPV8L1X"),
    Person("mei", "Mei Chen", "routing", "Engineering Lead, Routing", "U02MCH3N9A"),
    Person("oskar", "Oskar Nowak", "routing", "Senior Backend Engineer", "U05ONW2K7T"),
    Person("ravi", "Ravi Iyer", "routing", "Backend Engineer (optimisation)", "U06RIY5Z3D"),
    Person("yusuf", "Yusuf Demir", "warehouse", "Engineering Lead, Warehouse", "U03YDM6P4H"),
    Person("arjun", "Arjun Mehta", "warehouse", "Senior Backend Engineer", "U04AMH9Q2C"),
    Person("tomas", "Tomás Herrera", "payments", "Engineering Manager, Payments", "U02THR1B8E"),
    Person("aisha", "Aisha Okafor", "payments", "Senior Software Engineer", "U03AOK7M5W"),
    Person("victor", "Victor Santos", "payments", "Software Engineer", "U05VSN4T6J"),
    Person("ingrid", "Ingrid Halvorsen", "payments", "Product Manager, Billing", "U04IHV2R9L"),
    Person("jonas", "Jonas Lindqvist", "mobile", "Engineering Lead, Mobile", "U03JLQ8D1F"),
    Person("keiko", "Keiko Tanaka", "mobile", "Senior iOS Engineer", "U04KTN6C3V"),
    Person("chloe", "Chloe Dubois", "mobile", "Android Engineer", "U05CDB1W7N"),
    Person("mateo", "Mateo García", "mobile", "QA Engineer", "U06MGR3X5S"),
    Person("lena", "Lena Fischer", "data", "Engineering Lead, Data Platform", "U02LFS5H2G"),
    Person("rahul", "Rahul Deshpande", "data", "Data Engineer", "U04RDP7J8K"),
    Person("wen", "Wen Zhao", "data", "Analytics Engineer", "U05WZH2N4B"),
    Person("marcus", "Marcus Bell", "support", "Support Lead", "U03MBL9F6R"),
    Person("sofia", "Sofia Rossi", "support", "Technical Support Engineer", "U05SRS3G1M"),
    Person("fatima", "Fatima Al-Sayed", "support", "Technical Support Engineer", "U06FAS8V2P"),
    Person("olivia", "Olivia Grant", "security", "Head of Security", "U02OGR4T7Z"),
    Person("daniel", "Daniel Kim", "security", "Security Engineer", "U04DKM1Y9Q"),
    Person("sam", "Sam O'Connor", "it", "IT Support Specialist", "U03SOC6U3L"),
    Person("hannah", "Hannah Walsh", "people", "People Operations Partner", "U04HWL2E8D"),
    Person("grace", "Grace Liu", "product", "Senior Product Manager, Routing", "U03GLU5A6C"),
    Person("ethan", "Ethan Brooks", "leadership", "VP Engineering", "U01EBR2K4M"),
]}

TEAMS = {
    "sre": ["priya", "ben", "nadia"],
    "routing": ["mei", "oskar", "ravi"],
    "warehouse": ["yusuf", "arjun"],
    "payments": ["tomas", "aisha", "victor"],
    "mobile": ["jonas", "keiko", "chloe", "mateo"],
    "data": ["lena", "rahul", "wen"],
    "support": ["marcus", "sofia", "fatima"],
    "security": ["olivia", "daniel"],
}

BOTS = {
    "alertmanager": ("U07ALRTMGR", "B07ALRT01Q", "Alertmanager"),
    "pagerduty": ("U07PGDUTY1", "B07PGD02R", "PagerDuty"),
    "gitlab": ("U07GITLAB2", "B07GLB03S", "GitLab"),
}

CHANNELS = {
    "sre-incidents": {"id": "C04ABCD12", "name": "sre-incidents", "is_private": False},
    "payments-eng": {"id": "C03PAY7QK", "name": "payments-eng", "is_private": False},
    "mobile": {"id": "C02MOB5LE", "name": "mobile", "is_private": False},
    "data-platform": {"id": "C05DAT4PL", "name": "data-platform", "is_private": False},
    "help-it": {"id": "C01HLP8IT", "name": "help-it", "is_private": False},
    "sec-ops": {"id": "C06SEC0PS", "name": "sec-ops", "is_private": True,
                "members": ["olivia", "daniel", "priya", "ethan", "sam", "ben"]},
}

SPACES = {
    "ENG": "Engineering",
    "SRE": "Site Reliability Engineering",
    "PAY": "Payments",
    "DATA": "Data Platform",
    "HR": "People & HR",
}

JIRA_PROJECTS = {
    "OPS": ("Operations", 87),
    "PAY": ("Payments", 241),
    "MOB": ("Mobile", 18),
    "DATA": ("Data Platform", 40),
    "SEC": ("Security", 9),
}

# path -> (project_id, first issue iid, first MR iid)
GITLAB_PROJECTS = {
    "platform/route-planner": (412, 196, 541),
    "platform/infrastructure": (418, 88, 203),
    "platform/gatekeeper": (460, 31, 77),
    "warehouse/wms-core": (425, 402, 1187),
    "payments/billing-api": (431, 119, 198),
    "payments/refund-service": (433, 27, 64),
    "mobile/driver-app": (440, 288, 311),
    "data/pipelines": (452, 73, 152),
    "data/cdc-connectors": (455, 12, 51),
}

# ---------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------


def T(s: str) -> datetime:
    """'2025-09-12 14:03' -> that minute; '2025-09-12' -> a working-hours time that day."""
    s = s.strip()
    if " " in s:
        d = datetime.strptime(s, "%Y-%m-%d %H:%M")
    else:
        d = datetime.strptime(s, "%Y-%m-%d").replace(hour=rng.randint(7, 16), minute=rng.randint(0, 59))
    return d.replace(second=rng.randint(0, 59), microsecond=rng.randint(0, 999) * 1000, tzinfo=UTC)


def later(d: datetime, lo_min: float, hi_min: float) -> datetime:
    return d + timedelta(seconds=rng.randint(int(lo_min * 60), int(hi_min * 60)),
                         microseconds=rng.randint(0, 999) * 1000)


def clamp(d: datetime) -> datetime:
    return min(d, CORPUS_END - timedelta(minutes=rng.randint(5, 600)))


def iso_z(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def iso_jira(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


_used_slack_ts: set[str] = set()


def slack_ts(d: datetime) -> str:
    while True:
        ts = f"{int(d.timestamp())}.{rng.randint(0, 999999):06d}"
        if ts not in _used_slack_ts:
            _used_slack_ts.add(ts)
            return ts


def spread(start: datetime, end: datetime, n: int) -> list[datetime]:
    """n increasing datetimes strictly inside (start, end]."""
    if n == 0:
        return []
    span = max((end - start).total_seconds(), 60 * n)
    pts = sorted(rng.uniform(0.05, 1.0) for _ in range(n))
    out = []
    for p in pts:
        d = start + timedelta(seconds=int(p * span), microseconds=rng.randint(0, 999) * 1000)
        if (d.hour < 7 or d.hour >= 18) and span > 86400:   # people comment in working hours (UTC)
            d = d.replace(hour=rng.randint(7, 16), minute=rng.randint(0, 59))
        out.append(min(max(d, start + timedelta(seconds=rng.randint(60, 900))), start + timedelta(seconds=span)))
    return sorted(out)


# ---------------------------------------------------------------------------
# Confluence storage format
# ---------------------------------------------------------------------------

_PANEL_RE = re.compile(r"^!(info|warning|note|tip)(?:\[(.*?)\])?:\s*(.*)$")
_LIST_RE = re.compile(r"^(\s*)(- |\* |\d+\. )(.*)$")


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline(s: str) -> str:
    s = _esc(s)
    s = s.replace("{nbsp}", "&nbsp;").replace("\u00a0", "&nbsp;").replace(" -- ", " &mdash; ")
    s = re.sub(r"\{status:(\w+):([^}]+)\}",
               lambda m: ('<ac:structured-macro ac:name="status" ac:schema-version="1">'
                          f'<ac:parameter ac:name="colour">{m.group(1).title()}</ac:parameter>'
                          f'<ac:parameter ac:name="title">{m.group(2)}</ac:parameter></ac:structured-macro>'), s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\[([^\]]+)\]\(((?:https?://|\{\{)[^)\s]+)\)", r'<a href="\2">\1</a>', s)
    return s


def _code_macro(lang: str, body: str) -> str:
    assert "]]>" not in body
    p = f'<ac:parameter ac:name="language">{lang}</ac:parameter>' if lang else ""
    return (f'<ac:structured-macro ac:name="code" ac:schema-version="1">{p}'
            f"<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body></ac:structured-macro>")


def _table(rows: list[list[str]]) -> str:
    out = ["<table><tbody>"]
    cell = lambda tag, c: f"<{tag}>{inline(c) if c else '&nbsp;'}</{tag}>"  # noqa: E731
    if rows and not any(rows[0]):          # "| | |" header: key/value table, keys in <th>
        for r in rows[1:]:
            out.append("<tr>" + cell("th", r[0]) + "".join(cell("td", c) for c in r[1:]) + "</tr>")
    else:
        for i, r in enumerate(rows):
            out.append("<tr>" + "".join(cell("th" if i == 0 else "td", c) for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _render_list(items, idx, indent):
    tag = "ol" if items[idx][1] else "ul"
    parts = [f"<{tag}>"]
    while idx < len(items) and items[idx][0] == indent:
        li = "<li>" + inline(items[idx][2])
        idx += 1
        if idx < len(items) and items[idx][0] > indent:
            sub, idx = _render_list(items, idx, items[idx][0])
            li += sub
        parts.append(li + "</li>")
    parts.append(f"</{tag}>")
    return "".join(parts), idx


def storage(md: str) -> str:
    """Tiny markdown-ish -> Confluence storage XHTML converter."""
    lines = textwrap.dedent(md).strip("\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush():
        if para:
            out.append("<p>" + inline(" ".join(para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        st = line.strip()
        if not st:
            flush(); i += 1; continue
        if st.startswith("```"):
            flush()
            lang = st[3:].strip()
            body = []
            i += 1
            while not lines[i].strip().startswith("```"):
                body.append(lines[i]); i += 1
            i += 1
            out.append(_code_macro(lang, textwrap.dedent("\n".join(body))))
            continue
        m = re.match(r"^(#{2,4}) (.*)$", st)
        if m:
            flush(); n = len(m.group(1))
            out.append(f"<h{n}>{inline(m.group(2))}</h{n}>"); i += 1; continue
        if st.startswith("|"):
            flush(); rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                r = lines[i].strip()
                if not re.match(r"^\|[\s:|-]*-[\s:|-]*\|$", r):
                    rows.append([c.strip() for c in r.strip("|").split("|")])
                i += 1
            out.append(_table(rows)); continue
        if _LIST_RE.match(line):
            flush(); items = []
            while i < len(lines):
                lm = _LIST_RE.match(lines[i])
                if lm:
                    items.append([len(lm.group(1)), lm.group(2)[0].isdigit(), lm.group(3)]); i += 1
                elif lines[i].strip() and lines[i].startswith("   ") and items:
                    items[-1][2] += " " + lines[i].strip(); i += 1
                else:
                    break
            base = items[0][0]
            for it in items:
                it[0] = max(it[0], base)
            html, _ = _render_list(items, 0, base)
            out.append(html); continue
        m = _PANEL_RE.match(st)
        if m:
            flush()
            kind, title, text = m.groups()
            t = f'<ac:parameter ac:name="title">{_esc(title)}</ac:parameter>' if title else ""
            out.append(f'<ac:structured-macro ac:name="{kind}" ac:schema-version="1">{t}'
                       f"<ac:rich-text-body><p>{inline(text)}</p></ac:rich-text-body></ac:structured-macro>")
            i += 1; continue
        if st == "!toc":
            flush(); out.append('<ac:structured-macro ac:name="toc" ac:schema-version="1"/>'); i += 1; continue
        if st == "!children":
            flush()
            out.append('<ac:structured-macro ac:name="children" ac:schema-version="2">'
                       '<ac:parameter ac:name="all">true</ac:parameter></ac:structured-macro>')
            i += 1; continue
        para.append(st); i += 1
    flush()
    return "".join(out)


# ---------------------------------------------------------------------------
# Document registries
# ---------------------------------------------------------------------------

CONF: list[dict] = []
CONF_BY_REF: dict[str, dict] = {}
_next_cid = [98_301_733]


def cpage(ref, space, title, md, parent=None, labels=(), author="priya", editors=(),
          created="2024-06-01", updated=None, version=None, restrict=None):
    """Register a Confluence page. `parent` is the ref of the parent page."""
    c = T(created)
    u = T(updated) if updated else clamp(c + timedelta(days=rng.randint(0, 160), hours=rng.randint(0, 9)))
    if u < c:
        u = later(c, 30, 600)
    _next_cid[0] += rng.randint(211, 9800)
    pid = str(_next_cid[0])
    ancestors = []
    if parent:
        par = CONF_BY_REF[parent]
        ancestors = par["ancestors"] + [{"id": par["id"], "title": par["title"]}]
    by = PEOPLE[editors[-1] if editors else author]
    if version is None:
        version = 1 if u == c else rng.randint(2, 9)
    groups = ["hr"] if space == "HR" else ([restrict] if restrict else [])
    page = {
        "id": pid,
        "type": "page",
        "status": "current",
        "title": title,
        "space": {"key": space, "name": SPACES[space]},
        "ancestors": ancestors,
        "version": {"number": version, "when": iso_z(u),
                    "by": {"displayName": by.name, "email": by.email}},
        "history": {"createdDate": iso_z(c),
                    "createdBy": {"displayName": PEOPLE[author].name, "email": PEOPLE[author].email}},
        "metadata": {"labels": {"results": [{"name": l} for l in labels]}},
        "body": {"storage": {"value": storage(md), "representation": "storage"}},
        "restrictions": {"read": {"users": [], "groups": groups}},
        "_links": {"webui": f"/spaces/{space}/pages/{pid}/{quote_plus(title)}",
                   "base": "https://northwind.atlassian.net/wiki"},
    }
    assert ref not in CONF_BY_REF, ref
    CONF.append(page)
    CONF_BY_REF[ref] = page
    return page


JIRA_PENDING: list[dict] = []   # resolved into JIRA once keys are assigned
JIRA_BY_REF: dict[str, dict] = {}


def jira(ref, project, itype, summary, desc, *, status="To Do", priority="Medium", components=(),
         labels=(), assignee=None, reporter="priya", created="2025-06-01", updated=None, comments=()):
    """comments: (person, body) or (person, 'YYYY-MM-DD HH:MM', body)."""
    assert ref not in JIRA_BY_REF, ref
    JIRA_PENDING.append(dict(ref=ref, project=project, itype=itype, summary=summary, desc=desc,
                             status=status, priority=priority, components=list(components),
                             labels=list(labels), assignee=assignee, reporter=reporter,
                             created=created, updated=updated, comments=list(comments)))
    JIRA_BY_REF[ref] = JIRA_PENDING[-1]


GL_PENDING: list[dict] = []
GL_BY_REF: dict[str, dict] = {}


def gitlab(ref, kind, project, title, desc, *, author, assignees=(), labels=(), state="opened",
           created="2025-06-01", updated=None, notes=(), confidential=False,
           source_branch=None, target_branch="main", draft=False, reviewers=()):
    """kind: 'issue' or 'mr'. notes: (person, body) or (person, 'YYYY-MM-DD HH:MM', body)."""
    assert ref not in GL_BY_REF, ref
    GL_PENDING.append(dict(ref=ref, kind=kind, project=project, title=title, desc=desc, author=author,
                           assignees=list(assignees), labels=list(labels), state=state, created=created,
                           updated=updated, notes=list(notes), confidential=confidential,
                           source_branch=source_branch, target_branch=target_branch, draft=draft,
                           reviewers=list(reviewers)))
    GL_BY_REF[ref] = GL_PENDING[-1]


SLACK: list[dict] = []
SLACK_BY_REF: dict[str, dict] = {}


def slack(ref, channel, start, messages, reactions=None):
    """messages: list of (who, text) or (who, minutes_after_previous, text).

    `who` is a person key or a bot key. reactions: {message_index: [(emoji, [people])]}.
    """
    assert ref not in SLACK_BY_REF, ref
    ch = CHANNELS[channel]
    d = T(start)
    msgs = []
    thread_ts = None
    for n, m in enumerate(messages):
        if len(m) == 3:
            who, gap, text = m
            if n:
                d = later(d, gap * 0.8, gap * 1.2 + 0.5)
        else:
            who, text = m
            if n:
                d = later(d, 1, 45)
        ts = slack_ts(d)
        if thread_ts is None:
            thread_ts = ts
        if who in BOTS:
            uid, bot_id, bname = BOTS[who]
            msg = {"type": "message", "subtype": "bot_message", "user": uid, "bot_id": bot_id,
                   "user_name": bname, "text": text, "ts": ts, "thread_ts": thread_ts}
        else:
            p = PEOPLE[who]
            msg = {"type": "message", "user": p.slack_id, "user_name": p.name, "text": text,
                   "ts": ts, "thread_ts": thread_ts}
        msgs.append(msg)
    msgs[0]["reply_count"] = len(msgs) - 1
    msgs[0]["reply_users"] = sorted({m["user"] for m in msgs[1:]})
    for idx, rs in (reactions or {}).items():
        msgs[idx]["reactions"] = [
            {"name": emo, "users": [PEOPLE[u].slack_id for u in us], "count": len(us)} for emo, us in rs]
    channel_obj = {k: v for k, v in ch.items() if k != "members"}
    thread = {"channel": channel_obj, "thread_ts": thread_ts,
              "permalink": f"https://northwind.slack.com/archives/{ch['id']}/p{thread_ts.replace('.', '')}",
              "messages": msgs}
    if ch["is_private"]:
        thread["channel"]["members"] = [PEOPLE[k].slack_id for k in ch["members"]]
    SLACK.append(thread)
    SLACK_BY_REF[ref] = thread
    return thread


def pick(seq, k=None):
    return rng.choice(seq) if k is None else rng.sample(seq, k)


# ===========================================================================
# Confluence: ENG space
# ===========================================================================

def conf_eng():
    cpage("eng-home", "ENG", "Engineering Home", """
        Welcome to the Northwind Logistics engineering space. This is where the engineering organisation keeps
        architecture notes, onboarding material, API documentation and team practices. Operational material
        (runbooks, postmortems, on-call) lives in the [SRE space](https://northwind.atlassian.net/wiki/spaces/SRE),
        and payments-specific documentation lives in the PAY space because parts of it are in PCI scope.

        ## Start here
        - New to the team? Read **Engineering onboarding: your first two weeks**.
        - Looking for how the pieces fit together? Read **Platform architecture overview**.
        - Building against our public API? See **Route Planner API v2 reference**.

        ## Teams
        | Team | Lead | Slack | Owns |
        |---|---|---|---|
        | Routing | Mei Chen | #team-routing | route-planner, vrp-solver, geocoding |
        | Warehouse | Yusuf Demir | #team-warehouse | wms-core, NW Picker handheld app |
        | Payments | Tomás Herrera | #payments-eng | billing-api, refund-service, invoice-runner |
        | Mobile | Jonas Lindqvist | #mobile | Northwind Driver app, driver-bff |
        | Data Platform | Lena Fischer | #data-platform | Kafka Connect, ClickHouse, Airflow, dbt, Trino |
        | SRE / Platform | Priya Raman | #sre | Kubernetes, CI/CD, gatekeeper, observability |
        | Security | Olivia Grant | #security | AppSec, vulnerability management, IAM |

        !children
        """, labels=["home"], author="ethan", editors=("priya", "mei"), created="2024-01-15",
          updated="2025-08-29", version=23)

    cpage("eng-onboarding", "ENG", "Onboarding", """
        Everything a new engineer needs in the first weeks. Pages are owned by the Platform team but anyone can
        (and should) edit them when something is wrong. Managers: the people-side checklist lives in the HR space.

        !children
        """, parent="eng-home", labels=["onboarding"], author="priya", created="2024-01-16", updated="2025-02-03")

    cpage("onboarding", "ENG", "Engineering onboarding: your first two weeks", """
        !info: Welcome to Northwind! This guide is maintained by the Platform team. If anything here is out of date, fix it -- every engineer has edit rights in the ENG space. Questions go to #eng-questions.

        !toc

        ## Before day one
        Your manager files an onboarding ticket in the IT queue at least five working days before you start. That
        ticket triggers laptop provisioning, your Okta account and the default group memberships for your team.
        Engineers receive a MacBook Pro (M3 Pro, 36 GB) managed by Kandji. Mobile engineers additionally get a
        Pixel 8 and an iPhone 15 from the device cabinet in the Rotterdam office; remote mobile engineers get them
        shipped with the laptop.

        You will also be assigned an **onboarding buddy** from your team. Your buddy is not your manager: they are
        the person you ask the "silly" questions, they review your first merge request and they pair with you on
        your first on-call shadow shift.

        ## Day 1: accounts and laptop
        Everything authenticates through Okta at `northwind.okta.com`. Enroll Okta Verify on your phone first;
        engineers who will get production access also receive a YubiKey 5C NFC, which becomes mandatory for
        `nwctl` elevation and for the AWS console.

        | System | How you get in | Notes |
        |---|---|---|
        | Google Workspace | Okta tile | Calendar, Drive, email |
        | Slack | Okta tile | Join #eng-questions, #help-it, #announcements and your team channel |
        | Atlassian (Jira, Confluence) | Okta tile | Jira projects OPS, PAY, MOB, DATA; SEC is restricted |
        | GitLab | `gitlab.northwind.example`, SSO via Okta | Add an SSH key and enable commit signing |
        | 1Password | Okta tile | Team vaults only; service credentials live in Vault, not 1Password |
        | PagerDuty | Requested by your manager | Only after on-call training |
        | AWS | `nwctl aws login` | Read-only roles by default |

        Then set up the laptop. The `platform/dotfiles` repository contains a Brewfile with everything the
        standard toolchain needs (Go, JDK 21, Node 20, kubectl, helm, vault, terraform, the `nwctl` CLI):

        ```bash
        git clone git@gitlab.northwind.example:platform/dotfiles.git ~/src/dotfiles
        cd ~/src/dotfiles && brew bundle --file=Brewfile.engineering
        nwctl login      # opens Okta in the browser and caches a 12 hour token
        nwctl doctor     # checks VPN, kubectl contexts, vault, docker and git config
        ```

        The VPN is Tailscale (tailnet `northwind.example`). Internal hostnames under `*.nw.internal` such as
        `grafana.nw.internal` and `argocd.nw.internal` only resolve while you are connected. If `nwctl doctor`
        complains about DNS, reconnect Tailscale before anything else.

        ## Day 2 and 3: the codebase
        We run a handful of services, each in its own GitLab repository. You do not need to understand all of
        them, but you should know what exists and who owns it.

        | Repository | What it is | Language | Owning team |
        |---|---|---|---|
        | platform/route-planner | Route optimisation API, order ingest, solver orchestration | Go 1.22 | Routing |
        | warehouse/wms-core | Inventory, bins, picking sessions, scanner sync | Kotlin, Spring Boot 3 | Warehouse |
        | payments/billing-api | Subscriptions, usage metering, invoices, payments | Java 21 | Payments |
        | payments/refund-service | Asynchronous refund processing | Go 1.22 | Payments |
        | mobile/driver-app | Northwind Driver for iOS and Android | React Native 0.74, TypeScript | Mobile |
        | data/pipelines | Airflow DAGs and the dbt project nw_analytics | Python, SQL | Data Platform |
        | platform/infrastructure | Terraform, Helm charts, ArgoCD applications | HCL, YAML | SRE |
        | platform/gatekeeper | OAuth2/OIDC for customers, drivers and API keys | Go 1.22 | SRE |

        Recommended reading, in this order: **Platform architecture overview**, the **Glossary**, the ADRs for
        your team's area, and the service page for the service you will work on (see the Service catalog).

        ## Your first merge request
        Every team keeps a few issues labelled `good-first-issue`. Pick one with your buddy. Conventions:

        - Branch names start with the Jira key: `OPS-131-retry-geocoder-timeouts`.
        - MR titles start with the Jira key too; the GitLab-Jira integration then links the MR on the ticket.
        - CI runs lint, unit tests, build, container scan (Trivy) and deploy-to-staging. A red Trivy stage with a
          critical CVE blocks the merge; see **Vulnerability management and patch SLAs** for exceptions.
        - One approval from a code owner is required. Repositories under `payments/` require two approvals
          because they are in PCI scope.
        - We squash-merge. The squash commit message is the MR title, so make it meaningful.

        Merging to `main` deploys to staging automatically. Production is promoted explicitly:

        ```bash
        nwctl release promote route-planner --to prod --version 2025.09.3
        # ArgoCD syncs the new image tag; watch it at https://argocd.nw.internal/applications/route-planner-prod
        ```

        Before you promote anything to production, read **Production deploy windows and change freezes** in the
        SRE space. Friday afternoons and peak season have extra rules.

        ## Environments
        | Environment | Cluster | Public URL | Notes |
        |---|---|---|---|
        | Local | kind, via `make dev-up` | localhost | Seeded fixtures, fake payment providers |
        | Staging | nw-staging-euw1 | staging.northwind.example | Refreshed every Sunday 02:00 UTC from anonymised production data |
        | Production EU | nw-prod-euw1 | api.northwind.example | AWS eu-west-1, most customers |
        | Production NA | nw-prod-use1 | api.us.northwind.example | AWS us-east-1, live since March 2025 |

        !warning: Never copy production data to your laptop, not even "just one customer". If you need realistic data, use staging or ask Data Platform for a sampled, anonymised extract through a DATA ticket.

        ## Week 2: observability
        Spend some time clicking around before you need it in an incident:

        - **Grafana** at `grafana.nw.internal`. Each service has a "Service Overview" dashboard with the four
          golden signals. Metrics come from Prometheus with Thanos for long retention.
        - **Loki** for logs (Explore tab in Grafana). Filter by `{namespace="routing", app="route-planner"}`.
        - **Tempo** for traces. Every API response carries an `X-Trace-Id` header; paste it into Tempo to see the
          whole request across services.
        - **Alertmanager** routes alerts to PagerDuty and to the team Slack channels.

        ## Week 2: on-call shadowing
        Nobody joins a rotation in their first month. In week two you shadow the primary on-call for your team
        for one shift: you get the pages on a secondary schedule, you join incident calls, and you write down
        everything that confused you. After the on-call training and one game day you can be added to the
        rotation. The **On-call handbook** in the SRE space explains the expectations.

        ## Getting access to more things
        Default access is read-only. Production Kubernetes, database read replicas and the AWS console all go
        through just-in-time elevation; see **Requesting access to production systems**. Do not ask colleagues to
        share credentials or run commands "on your behalf" to work around access.

        ## How we work
        Most teams run two-week sprints that start on Monday with planning and end on Friday of the second week
        with a demo. Demos are open to everyone and recorded; watching the last two demos of your team is a good
        way to learn what is going on. Other rituals you will meet:

        - **Engineering update** every Monday in #announcements: incidents of the week, releases, people joining
          and leaving. Written by the VP Engineering's staff, five minutes to read.
        - **Ops review** on Thursday at 14:00 CET. Optional unless you are on call, but worth joining once to see
          how we look at incidents and alerts.
        - **Architecture discussions** happen in #architecture and end in an ADR. If you want to change how
          something fundamental works, write the ADR draft first; it is much easier to discuss a page than a
          thread.
        - **Tech talks** every second Wednesday at 16:00 CET, 20 minutes plus questions. New joiners are
          encouraged (not required) to give one in their first quarter, for example about something they used
          at their previous job.

        We write things down. Decisions made in a call are posted in the relevant channel or ticket afterwards,
        so that people in other time zones (NA support, remote colleagues) can follow.

        ## Your team's first weeks
        Every team adds its own flavour to the first weeks. Your manager and buddy will adapt this, but roughly:

        - **Routing**: run an optimisation locally with `make seed` and look at the result in the local console.
          Read ADR-016 (why we run OSRM ourselves) and the Route Planner API reference. Pair with the solver
          engineer on one customer escalation so you see how plans are debugged.
        - **Warehouse**: visit a distribution centre in your first month, usually RTM1 in Rotterdam. The visit
          starts with a safety induction; you will get safety shoes and a hi-vis vest from Facilities. Spend
          an hour with a picker and use the NW Picker emulator afterwards; error messages make much more sense
          once you have seen a scanner in a cold aisle.
        - **Payments**: complete the PCI awareness training in your first 30 days. You will not request the
          `billing-pci` role in your first month. Shadow the person on Payments Primary on the first of the
          month, when the invoice run happens.
        - **Mobile**: pick up your test devices from the cabinet, install the internal beta on your own phone
          and shadow the release captain for one release. Ride along with a driver if one of the pilot tenants
          can arrange it; it changes how you think about tap targets.
        - **Data Platform**: get Trino and Metabase access, walk through the dbt project with an analytics
          engineer, and read the data platform architecture page. The privacy training is mandatory before you
          get access to any raw schema.
        - **SRE / Platform**: tour of `platform/infrastructure` (Terraform layout, Helm library chart, ArgoCD
          applications). SRE joiners shadow on-call a bit earlier than others, usually in week three.

        ## FAQ
        **Can I use Linux instead of macOS?** Not for your primary laptop; device management, disk encryption
        reporting and the YubiKey setup are built around macOS. Linux in a VM is fine for development.

        **Where do I find who owns a service?** The Service catalog page for the service, or the `owner` label
        in the Helm chart. PagerDuty is the source of truth for on-call.

        **Which Jira project do I file things in?** Your team's project for your own work. OPS is for
        operational work that crosses teams: infrastructure, incidents and their follow-ups, alerting, and
        customer escalations that Support raises.

        **Can I deploy on my first day?** You can merge on your first day; staging deploys automatically.
        Production promotions come once you have done one together with your buddy.

        **I broke staging. Now what?** Say so in your team channel. Staging breaks every week; hiding it is
        the only thing that is actually bad.

        ## Who to ask
        - Laptop, accounts, VPN, Okta: #help-it (Sam O'Connor and the IT team).
        - "How does X work": #eng-questions, or your buddy.
        - Access approvals: #access-requests.
        - Live incidents only: #sre-incidents. Please do not ask general questions there.
        - People topics (leave, expenses, payroll): the HR space or #ask-people.

        ## Two-week checklist
        1. Okta Verify enrolled, YubiKey registered (if applicable).
        2. `nwctl doctor` is all green.
        3. You can open Grafana, ArgoCD and the staging console.
        4. You have read the architecture overview and the glossary.
        5. First MR merged and deployed to staging.
        6. One on-call shadow shift done, notes shared with your buddy.
        7. 1:1 with your manager about your 30/60/90 day goals.
        """, parent="eng-onboarding", labels=["onboarding", "getting-started"], author="priya",
          editors=("nadia", "mei", "priya"), created="2024-01-22", updated="2025-09-01", version=31)

    cpage("access-requests", "ENG", "Requesting access to production systems", """
        Production access at Northwind is **just-in-time**: nobody holds standing write access to production
        Kubernetes, databases or AWS. You request a role for a limited time, someone approves it, and it expires.
        This page explains how. The policy behind it is owned by Security (Olivia Grant).

        ## Roles you can request
        | Role | Grants | Max TTL | Approver |
        |---|---|---|---|
        | `kube-readonly` | get/list/watch in your team namespaces | 12h | self-approved |
        | `kube-operator` | exec, rollout restart, scale in your team namespaces | 4h | any SRE or your team lead |
        | `db-readonly` | read-only user on the read replica of your team's database | 8h | your team lead |
        | `db-write` | write access on the primary (migrations, data fixes) | 2h | SRE on-call plus team lead |
        | `aws-poweruser` | AWS console in the production account | 2h | SRE on-call |
        | `billing-pci` | anything in the cardholder data environment | 1h | Payments EM plus Security |

        ## How to request
        Use the `nwctl` CLI. The request is posted to #access-requests with a link to approve:

        ```bash
        nwctl access request --role db-readonly --target wms-db --ttl 8h \\
            --reason "OPS-131: check stuck picking sessions at RTM1"
        nwctl access status            # shows pending and active grants
        nwctl db connect wms-db --replica
        ```

        Always put a Jira key in `--reason`. Requests without a ticket are declined, except during an incident,
        where you reference the incident channel instead (for example `#inc-20250912-route-delays`).

        ## Break-glass
        If the approval flow itself is down during a SEV1, the SRE on-call can use the break-glass procedure,
        which is documented in the SRE space (restricted). Break-glass use is reviewed by Security the next
        working day.

        ## Things that are not allowed
        - Sharing a session or running commands for someone who lacks the role.
        - Exporting query results that contain customer personal data to your laptop.
        - Long-running port-forwards to production databases (they are killed after the TTL anyway).

        !note: Access to the SEC Jira project and the #sec-ops channel is managed separately by the Security team.
        """, parent="eng-onboarding", labels=["access", "security", "onboarding"], author="daniel",
          editors=("priya", "daniel"), created="2024-03-04", updated="2025-07-15")

    cpage("local-dev", "ENG", "Local development environment setup", """
        Most services run locally in a kind cluster with fake dependencies. You need Docker Desktop (or OrbStack)
        with at least 8 CPUs and 16 GB of memory assigned; the solver sidecar alone wants 4 GB.

        ## Bring the stack up
        ```bash
        cd ~/src/route-planner
        make dev-up        # creates kind cluster "nw-dev", installs Postgres, Redis, Redpanda and fakes
        make seed          # loads fixtures: 3 customers, 40 vehicles, 1,200 orders around Rotterdam
        make run           # runs route-planner with live reload against the kind services
        ```

        Redpanda stands in for Kafka locally; topic names are identical to production (`orders.v2`,
        `routes.planned.v1`). The payment providers are replaced by `fakepay`, which accepts card number
        4242 4242 4242 4242 and fails deterministically with 4000 0000 0000 0002.

        ## Common problems
        - **`make dev-up` hangs at "waiting for postgres"**: Docker has too little memory. Give it 16 GB.
        - **OSRM container exits with code 137**: the Netherlands extract needs 6 GB; use `OSRM_REGION=rotterdam`
          for a small extract.
        - **Apple Silicon and the solver image**: pull `vrp-solver:dev-arm64`, the amd64 image under emulation is
          roughly 9x slower.
        - **Port 5432 already in use**: a Homebrew Postgres is running; `brew services stop postgresql@15`.

        ## Resetting
        `make dev-down` deletes the kind cluster. Volumes are ephemeral; nothing survives a reset.
        """, parent="eng-onboarding", labels=["onboarding", "dev-environment"], author="oskar",
          editors=("mei", "oskar"), created="2024-04-10", updated="2025-06-20")

    cpage("glossary", "ENG", "Glossary: Northwind terms and acronyms", """
        Terms you will hear in meetings and read in tickets.

        | Term | Meaning |
        |---|---|
        | DC | Distribution centre. Ours: RTM1 (Rotterdam), LEJ2 (Leipzig), MAN1 (Manchester), LYS1 (Lyon). |
        | POD | Proof of delivery: signature, photo or PIN captured by the driver app at the drop. |
        | Drop | One stop on a route where goods are delivered or collected. |
        | Multi-drop route | A route with more than one drop; most routes have 15-60. |
        | VRP | Vehicle routing problem. The solver (`vrp-solver`) solves capacitated VRP with time windows. |
        | Time window | The interval in which a customer accepts delivery, e.g. 08:00-10:00. |
        | Dispatch | Locking a planned route and sending it to a driver. A dispatched route cannot be re-optimised. |
        | Wave | A batch of picking tasks released together in the warehouse. |
        | Cycle count | Periodic stock count of a subset of bins instead of a full inventory. |
        | ETA | Estimated time of arrival at a drop. |
        | OTD | On-time delivery rate. Definition on the Metric definitions page in the DATA space. |
        | Tenant | A Northwind customer account. Enterprise tenants have a dedicated support SLA. |
        | BFF | Backend for frontend. `driver-bff` serves the driver app. |
        | IC | Incident commander. |
        | JIT access | Just-in-time access via `nwctl access request`. |
        """, parent="eng-onboarding", labels=["glossary", "onboarding"], author="grace",
          editors=("grace", "mei"), created="2024-02-12", updated="2025-05-09")

    cpage("eng-arch", "ENG", "Architecture", """
        Architecture documentation: the overview, Architecture Decision Records (ADRs) and the service catalog.
        ADRs are immutable once accepted; supersede them with a new ADR instead of editing.

        !children
        """, parent="eng-home", labels=["architecture"], author="ethan", created="2024-01-15", updated="2024-11-02")

    cpage("arch-overview", "ENG", "Platform architecture overview", """
        This page describes how the Northwind platform fits together as of Q3 2025. It is deliberately high level;
        each service has its own page in the Service catalog with ownership, dashboards and dependencies.

        !toc

        ## What we sell
        Northwind Logistics sells software to shippers, carriers and retailers that run their own delivery
        fleets and warehouses. The product has four parts that customers see:

        - **Route planning**: customers send orders; we plan multi-drop routes for their vehicles, respecting
          time windows, vehicle capacity and driver shifts.
        - **Warehouse management (WMS)**: inventory, bin locations, picking waves and handheld scanners in the
          customer's distribution centres.
        - **Northwind Driver**: the mobile app drivers use to follow routes and capture proof of delivery.
        - **Northwind Console**: the web app at `console.northwind.example` for dispatchers and admins.

        Billing, analytics and the public API sit underneath all four.

        ## High-level picture
        ```text
          customers / ERP ──► api.northwind.example (ingress-nginx) ──► gatekeeper (authn)
                                         │
               ┌─────────────────────────┼─────────────────────────────┐
               ▼                         ▼                             ▼
         route-planner              wms-core                      billing-api ──► Stripe / Adyen
          │  ▲    │                    │                              │
          │  │    └─► vrp-solver       └─► wms-db (Postgres)          └─► billing-db via pgbouncer-billing
          │  └── orders.v2 (Kafka)                                    refund-service ◄── payments.refunds.v1
          ▼
        routes.planned.v1 ──► driver-bff ──► Northwind Driver (iOS/Android)
                 │
                 └────────► Kafka Connect (S3 sink, ClickHouse sink) ──► lake / ClickHouse ──► Metabase
        ```

        ## Route planning path
        1. An order arrives either through `POST /v2/orders` on the public API or through an EDI/ERP
           integration. It is validated, geocoded and published to the Kafka topic `orders.v2`.
        2. The `route-planner-ingest` consumer group reads `orders.v2`, groups orders into planning batches per
           tenant and depot, and stores them in `routing-db`.
        3. When a dispatcher (or the scheduler, for tenants on auto-planning) requests optimisation,
           route-planner builds a travel-time matrix from OSRM (`osrm-eu.nw.internal`, self-hosted, car and HGV
           profiles) and sends the problem to `vrp-solver`, a C++ sidecar built on OR-Tools.
        4. The plan is written back and published to `routes.planned.v1`. `driver-bff` picks it up and pushes
           the route to the assigned driver's phone.

        Geocoding goes to our vendor MapGrid first, with a self-hosted Nominatim as fallback. Because MapGrid
        outages used to stall planning entirely, the geocoder client has a circuit breaker; see the geocoder
        runbook in the SRE space.

        ## Warehouse path
        `wms-core` is a Kotlin/Spring Boot monolith with a Postgres database (`wms-db`). Handheld scanners
        (Zebra TC52 running the NW Picker app) talk to it over a sync protocol that tolerates Wi-Fi dead spots:
        scans are queued on the device and replayed. Picking sessions take short-lived locks on bin locations;
        lock conflicts surface to pickers as `WMS-41xx` errors, which are documented in the WMS error code
        reference. Inventory changes are emitted to `wms.inventory.events.v1` via the transactional outbox.

        ## Billing path
        `billing-api` (Java 21) owns subscriptions, usage metering (routes planned, active drivers, warehouse
        users) and invoices. `invoice-runner` produces monthly invoices on the first of the month.
        Card and SEPA payments go to Stripe; customers in North America and some large EU tenants pay through
        Adyen. Refunds are asynchronous and handled by `refund-service`. Everything payment-related is in PCI
        scope and documented in the PAY space.

        ## Data stores
        | Store | Technology | Used by | Notes |
        |---|---|---|---|
        | routing-db | RDS Postgres 15 | route-planner | Multi-AZ, 2 read replicas |
        | wms-db | RDS Postgres 15 | wms-core | Largest database, ~3.1 TB |
        | billing-db | RDS Postgres 15 | billing-api, refund-service | Behind PgBouncer, CDE |
        | gatekeeper-db | RDS Postgres 15 | gatekeeper | Tokens, API keys (hashed) |
        | redis-sessions | ElastiCache Redis 7 | gatekeeper, driver-bff | Driver sessions only, noeviction |
        | redis-cache | ElastiCache Redis 7 | several | Pure cache, allkeys-lru |
        | ClickHouse | self-managed, ch-prod-01..06 | analytics, console reports | 3 shards x 2 replicas |
        | Lake | S3 + Iceberg, queried by Trino | data platform | Raw and modelled data |

        ## Messaging
        Kafka runs on Amazon MSK (Kafka 3.6, 6 brokers, 3 AZs). Topic names follow
        `<domain>.<entity>.<version>` (ADR-004). The important topics:

        | Topic | Producer | Main consumers | Partitions |
        |---|---|---|---|
        | orders.v2 | order intake | route-planner-ingest | 48 |
        | routes.planned.v1 | route-planner | driver-bff, ClickHouse sink | 24 |
        | telemetry.gps.v1 | driver-bff | ClickHouse sink, ETA service | 96 |
        | wms.inventory.events.v1 | wms-core (outbox) | billing metering, S3 sink | 24 |
        | billing.invoices.v1 | billing-api | notification-service, S3 sink | 6 |
        | payments.refunds.v1 | billing-api | refund-service | 6 |

        ## Infrastructure and delivery
        Everything runs on EKS: `nw-prod-euw1` (eu-west-1), `nw-prod-use1` (us-east-1) and `nw-staging-euw1`.
        Terraform in `platform/infrastructure/terraform` owns AWS resources; Helm charts and ArgoCD applications
        in the same repository own what runs in the clusters. CI is GitLab CI with shared runners on EKS.
        Secrets come from HashiCorp Vault (`vault.nw.internal`) via the vault-agent injector.

        ## Identity
        Employees authenticate with Okta. Customers, drivers and API clients authenticate against
        `gatekeeper`, our OAuth2/OIDC service. Driver sessions are refresh-token based and stored in
        `redis-sessions`; that split from the general cache happened after drivers were logged out by cache
        eviction (see ADR-015).

        ## Multi-region
        The NA region went live in March 2025. Tenants are pinned to a region at creation; there is no
        cross-region failover for tenant data. Shared components (the marketing site, status page, Okta) are
        global. The data platform is EU-only; NA events are replicated to the EU lake in pseudonymised form.

        ## A request end to end
        To make the picture concrete, here is what happens when a dispatcher at a grocery tenant presses
        "Optimise" in the console for tomorrow's 180 stops and 22 vehicles at one depot. Timings are typical
        values from Tempo traces.

        1. The console calls `console-bff`, which forwards to `POST /v2/routes/optimize` with the dispatcher's
           token. ingress-nginx terminates TLS; gatekeeper's token is validated locally against the cached
           JWKS (no network call, under 1 ms).
        2. route-planner loads the stops and vehicles from routing-db (about 40 ms) and notices the problem has
           more than 100 stops, so it creates an asynchronous job and answers `202 Accepted` within 150 ms.
        3. A worker picks up the job, builds the travel-time matrix: 202 x 202 locations, served from the
           matrix cache in redis-cache when the same depot and stops were planned recently, otherwise from OSRM
           (1.5-3 s for this size).
        4. The solver sidecar receives the problem over a local gRPC socket and runs for up to 120 s; a problem
           of this size usually converges in 25-40 s.
        5. The plan is stored, `routes.planned.v1` events are published, and the `route.optimized` webhook is
           sent through notification-service. The console, which polls the job, shows the plan.
        6. When the dispatcher dispatches a route, driver-bff pushes it to the driver's phone; billing's metering
           consumer counts the route for the tenant's usage.

        The trace id of the original request is propagated through Kafka headers, so the whole flow can be
        followed in Tempo, including the asynchronous parts.

        ## What degrades when something fails
        We try to make failures partial. The table describes the intended behaviour; incidents are how we find
        out where reality differs.

        | Component down or slow | What users notice | What keeps working |
        |---|---|---|
        | OSRM | Optimisations fail with `RP-503-SOLVER_UNAVAILABLE` unless matrices are cached | Dispatched routes, driver app, WMS |
        | Kafka (MSK) | New orders are accepted but not plannable; order intake buffers in its outbox for up to 30 min | Existing plans, driver app, WMS picking |
        | ClickHouse | Console reports are unavailable | Planning, dispatch, WMS, billing |
        | redis-sessions | New logins and token refreshes fail | Drivers with valid access tokens for up to 15 min |
        | Stripe or Adyen | Payments fail and are retried by dunning | Everything else; invoices are still issued |
        | Vault | New pods cannot start; dynamic DB credentials expire after their lease | Running pods until leases expire |
        | wms-db | Scanners queue scans offline; waves cannot be released | Route planning and the driver app |

        ## Security architecture
        - **Network**: all workloads run in private subnets. Only the load balancers of ingress-nginx are public,
          behind AWS WAF with rate-based rules and the managed rule sets. Databases are reachable only from
          their application security groups and from the JIT access proxy.
        - **Tenant isolation**: every table that holds tenant data has a `tenant_id` column, and repository code
          filters by the tenant from the authenticated token, never from request parameters. A shared test
          helper calls every read endpoint with another tenant's ids and expects `404`.
        - **Encryption**: data at rest is encrypted with KMS keys per environment; TLS everywhere in transit,
          including inside the cluster for Kafka, Redis and Postgres.
        - **Payments**: the billing namespace runs on a dedicated node group with its own security groups, which
          keeps the PCI scope small.
        - **Secrets**: Vault, as described in ADR-011. No long-lived cloud credentials in CI.

        ## How we got here
        Northwind started in 2018 as a single Rails application for route planning. The warehouse product came
        with an acquisition in 2020 and brought its own Kotlin codebase, which is today's `wms-core`. Route
        planning was rewritten in Go in 2022 when the Rails solver integration could not keep up with tenants
        planning more than 100 stops. Billing was carved out of the Rails app in 2023, and the last parts of the
        Rails application (the old admin tool) were switched off in early 2025. Some naming still reflects that
        history: `orders.v2` is older than our topic naming convention, and a few database tables in routing-db
        still carry `legacy_` prefixes.

        ## Known limitations
        - `wms-core` is a monolith with a single database; a split of the scanner sync path is planned for 2026.
        - Route optimisation above 250 stops per request is not supported; large tenants split by depot.
        - The NA region has no Trino or Metabase of its own; console reports there are served from ClickHouse EU.
        """, parent="eng-arch", labels=["architecture", "overview"], author="ethan",
          editors=("mei", "priya", "lena", "ethan"), created="2024-02-01", updated="2025-09-18", version=17)

    # ---- ADRs ------------------------------------------------------------
    cpage("adr-index", "ENG", "Architecture Decision Records", """
        We record significant technical decisions as ADRs. Copy the template below, number it sequentially and
        link it from the table. An ADR is **Proposed** while under discussion in #architecture, then
        **Accepted**, **Rejected** or later **Superseded**. Accepted ADRs are not edited except to mark them
        superseded.

        | ADR | Title | Status |
        |---|---|---|
        | ADR-004 | Kafka topic naming and partitioning | {status:green:ACCEPTED} |
        | ADR-007 | ClickHouse for analytics events | {status:green:ACCEPTED} |
        | ADR-009 | PgBouncer in transaction mode for billing-db | {status:green:ACCEPTED} |
        | ADR-011 | Vault for service secrets | {status:green:ACCEPTED} |
        | ADR-013 | React Native for the driver app rewrite | {status:green:ACCEPTED} |
        | ADR-015 | Dedicated Redis for driver sessions | {status:green:ACCEPTED} |
        | ADR-016 | Self-hosted OSRM for travel-time matrices | {status:green:ACCEPTED} |

        ## Template
        ```text
        # ADR-NNN: <title>
        Status: Proposed | Accepted | Rejected | Superseded by ADR-MMM
        Date: YYYY-MM-DD
        Deciders: <names>
        ## Context
        ## Decision
        ## Consequences
        ## Alternatives considered
        ```
        """, parent="eng-arch", labels=["adr"], author="ethan", editors=("mei",), created="2024-01-20",
          updated="2025-08-27", version=12)

    cpage("adr-004", "ENG", "ADR-004: Kafka topic naming and partitioning", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2024-03-11 -- **Deciders:** Lena Fischer, Mei Chen, Priya Raman

        ## Context
        By early 2024 we had 70+ topics with names like `OrderEvents`, `routing_out` and `wms-prod-inv-2`.
        Nobody could tell from a name who owned a topic, whether it was safe to consume, or whether a schema
        change was breaking. Two outages in 2023 were caused by a producer changing a payload shape in place.

        ## Decision
        - Topic names follow `<domain>.<entity>.<version>`, lower case, e.g. `orders.v2` is grandfathered as
          `<entity>.<version>` and new topics look like `wms.inventory.events.v1`.
        - A breaking schema change means a new topic with the next version. Producers dual-write for at least
          30 days; consumers migrate; the old topic is deleted after the last consumer group is gone.
        - Payloads are Avro, registered in the schema registry (`schema-registry.nw.internal`) with
          BACKWARD compatibility.
        - The message key is the tenant id unless ordering needs a narrower key (order id, route id).
        - Default: 12 partitions, replication factor 3, `min.insync.replicas=2`, 7 days retention.
          High-volume topics are sized with the Data Platform team.
        - Dead-letter topics are named `<topic>.dlq`.

        ## Consequences
        Ownership is visible from the name and from the `owner` tag in the Terraform topic module. Some legacy
        names remain: `orders.v2` and `refunds.dlq` predate this ADR and were not renamed because too many
        consumers depend on them.

        ## Alternatives considered
        - Environment in the topic name (`prod.orders`): rejected, environments are separate clusters.
        - JSON Schema instead of Avro: rejected for size and tooling reasons on the ClickHouse side.
        """, parent="adr-index", labels=["adr", "kafka"], author="lena", editors=("lena",),
          created="2024-03-11", updated="2024-03-20", version=4)

    cpage("adr-007", "ENG", "ADR-007: ClickHouse for analytics events", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2024-05-06 -- **Deciders:** Lena Fischer, Ethan Brooks, Rahul Deshpande

        ## Context
        Console reports (on-time delivery, dwell time per drop, driver utilisation) aggregate over GPS
        telemetry and route events. In April 2024 we stored about 1.2 billion GPS pings per month in an
        Elasticsearch cluster of 9 data nodes costing roughly EUR 18,000 per month. Dashboards timed out:
        p95 for a 30-day tenant report was 14 seconds, and heavy tenants regularly hit the 30 second gateway
        timeout. Elasticsearch was also our log store at the time, so report load hurt log search during
        incidents.

        ## Decision
        Move analytics events to a self-managed ClickHouse cluster: 3 shards x 2 replicas on r6i.4xlarge,
        `ReplicatedMergeTree` tables partitioned by month and ordered by `(tenant_id, event_time)`.
        Ingestion through the Kafka Connect ClickHouse sink. Logs move to Loki separately.

        ## Consequences
        - In the benchmark the same 30-day report ran in 0.6 s p95, and storage dropped from 11 TB to 1.4 TB
          thanks to columnar compression.
        - Data Platform now operates a stateful cluster (upgrades, replica repair, disk management).
        - ClickHouse is not a search engine: free-text search over events is not supported; nobody needed it.
        - Elasticsearch was decommissioned in September 2024.

        ## Alternatives considered
        | Option | Why not |
        |---|---|
        | Keep Elasticsearch, add nodes | Cost would double again within a year; aggregations stay slow |
        | Apache Druid | Faster ingest, but more moving parts (ZooKeeper, deep storage, brokers) for a team of three |
        | BigQuery | Data residency concerns from two enterprise tenants and per-query cost unpredictability |
        | ClickHouse Cloud | Considered; self-managed chosen for cost, revisit in 2026 |
        """, parent="adr-index", labels=["adr", "clickhouse", "data"], author="lena", created="2024-05-06",
          updated="2024-05-21", version=5)

    cpage("adr-009", "ENG", "ADR-009: PgBouncer in transaction mode for billing-db", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2024-07-02 -- **Deciders:** Tomás Herrera, Priya Raman, Aisha Okafor

        ## Context
        `billing-api` scales to 60 pods during the monthly invoice run, each with a HikariCP pool of 20. That is
        1,200 potential connections against an RDS instance where each backend costs memory and where we had
        already seen `FATAL: remaining connection slots are reserved for non-replication superuser connections`
        during the January 2024 invoice run.

        ## Decision
        Put PgBouncer (`pgbouncer-billing`, 3 replicas behind a ClusterIP service) in front of billing-db in
        **transaction** pooling mode. All billing services connect to PgBouncer, never to RDS directly.
        Pool sizing and alert thresholds live in the PgBouncer runbook in the SRE space, not here, because they
        change with instance size.

        ## Consequences
        - Server-side prepared statements do not work in transaction mode with our PgBouncer version; the JDBC
          URL sets `prepareThreshold=0`.
        - Session state (`SET` without `LOCAL`, temp tables, session advisory locks) must not be used. Use
          `pg_advisory_xact_lock` instead of `pg_advisory_lock`.
        - Long transactions now hurt everyone sharing the pool; statement timeout is 30 s for the app role.
        - Migrations run with a direct connection using the `billing_migrator` role.

        ## Alternatives considered
        - RDS Proxy: pinned connections with our Hibernate usage made it ineffective in testing.
        - Smaller Hikari pools only: not enough headroom during invoice runs.
        """, parent="adr-index", labels=["adr", "postgres", "payments"], author="aisha", created="2024-07-02",
          updated="2024-07-09", version=3)

    cpage("adr-011", "ENG", "ADR-011: Vault for service secrets", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2024-08-19 -- **Deciders:** Olivia Grant, Priya Raman, Daniel Kim

        ## Context
        Secrets were spread across GitLab CI variables, Kubernetes secrets created by hand, and a shared
        1Password vault. Rotation was manual and rarely done; the 2024 penetration test flagged a database
        password unchanged since 2021.

        ## Decision
        HashiCorp Vault (`vault.nw.internal`, HA with integrated storage, auto-unseal via AWS KMS) is the only
        place service secrets live. Services authenticate with the Kubernetes auth method and receive secrets
        through the vault-agent injector. Database credentials use the database secrets engine so that each pod
        gets its own short-lived user. How to actually store and read a secret is described on **Secrets
        management with Vault**.

        ## Consequences
        - Vault is a tier-0 dependency; it has its own runbooks and is restricted to SRE for operations.
        - CI no longer holds long-lived cloud keys; pipelines use OIDC to assume roles.
        - 1Password remains for human credentials (vendor dashboards) only.

        ## Alternatives considered
        AWS Secrets Manager (no dynamic DB credentials across our RDS setup without Lambdas), SOPS-encrypted
        files in git (rotation still manual).
        """, parent="adr-index", labels=["adr", "security", "vault"], author="olivia", created="2024-08-19",
          updated="2024-09-03", version=3)

    cpage("adr-013", "ENG", "ADR-013: React Native for the driver app rewrite", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2024-02-26 -- **Deciders:** Jonas Lindqvist, Keiko Tanaka, Ethan Brooks

        ## Context
        The driver app existed as two native codebases (Swift, Kotlin) maintained by four engineers. Feature
        parity lagged by one to two releases, and proof-of-delivery flows behaved differently per platform,
        which confused support.

        ## Decision
        Rewrite the driver app in React Native (New Architecture enabled) with TypeScript. Background location,
        the barcode scanner and the offline queue stay native modules (`@nw/location`, `@nw/scanner`,
        `@nw/outbox`) because they are performance- and battery-sensitive.

        ## Consequences
        - One release train for both platforms from version 5.0 onwards.
        - JavaScript-only fixes can ship over the air from `ota.nw.internal`; native changes still go through
          store review.
        - Android foreground service and iOS background modes remain native expertise the team must keep.

        ## Alternatives considered
        Flutter (team had no Dart experience), Kotlin Multiplatform (UI still duplicated at the time).
        """, parent="adr-index", labels=["adr", "mobile"], author="jonas", created="2024-02-26",
          updated="2024-03-05", version=2)

    cpage("adr-015", "ENG", "ADR-015: Dedicated Redis for driver sessions", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2025-08-27 -- **Deciders:** Priya Raman, Jonas Lindqvist, Ben Adeyemi

        ## Context
        Driver refresh tokens and general application caches shared one ElastiCache cluster configured with
        `maxmemory-policy allkeys-lru`. When cache usage grew, Redis evicted session keys together with cache
        keys, and drivers were silently signed out mid-route (see {{J:redis-split}} and the incident thread in
        #sre-incidents). Sessions are state, not cache, and must never be evicted.

        ## Decision
        - New cluster `redis-sessions` (cache.r7g.large, 2 replicas, Multi-AZ) with `maxmemory-policy noeviction`,
          used only by `gatekeeper` and `driver-bff` for session data.
        - The existing cluster becomes `redis-cache` and keeps `allkeys-lru`.
        - Alert at 75% memory on `redis-sessions`, because with noeviction a full instance rejects writes.

        ## Consequences
        Sign-in writes fail loudly instead of sessions disappearing silently. One more cluster to run and pay for
        (about EUR 410 per month).

        ## Alternatives considered
        `volatile-lru` with TTLs only on cache keys: works until someone forgets a TTL. Rejected as fragile.
        """, parent="adr-index", labels=["adr", "redis", "mobile"], author="priya", editors=("ben",),
          created="2025-08-27", updated="2025-09-04", version=3)

    cpage("adr-016", "ENG", "ADR-016: Self-hosted OSRM for travel-time matrices", """
        **Status:** {status:green:ACCEPTED} -- **Date:** 2024-10-14 -- **Deciders:** Mei Chen, Ravi Iyer, Grace Liu

        ## Context
        The solver needs an N x N travel-time matrix for every optimisation. We bought matrices from MapGrid at
        EUR 0.002 per element. A 250-stop problem is 62,500 elements, so one large optimisation cost EUR 125, and
        re-optimisations during the day multiplied that. Matrix calls were 61% of our MapGrid invoice.

        ## Decision
        Run OSRM ourselves (`osrm-eu.nw.internal`, `osrm-na.nw.internal`) with car and HGV profiles built from
        OpenStreetMap extracts, rebuilt weekly by the `osrm-rebuild` pipeline. MapGrid remains our geocoder.
        Live traffic is approximated with time-of-day speed profiles derived from our own GPS telemetry.

        ## Consequences
        - Matrix cost drops to compute cost (about EUR 2,300 per month for both regions).
        - ETAs lose live traffic; the historical speed profiles partly compensate. If a tenant's depot has no
          profile yet, we fall back to free-flow speeds, which makes ETAs optimistic.
        - HGV restrictions (height, weight) depend on OSM data quality.
        """, parent="adr-index", labels=["adr", "routing", "osrm"], author="mei", editors=("ravi",),
          created="2024-10-14", updated="2024-10-30", version=4)

    # ---- Service catalog (composed from structured data) -------------------
    cpage("svc-catalog", "ENG", "Service catalog", """
        One page per production service. Each page lists ownership, runtime, dependencies, dashboards and
        the SLOs we have committed to. The source of truth for on-call routing is PagerDuty; if this catalog and
        PagerDuty disagree, PagerDuty wins and please fix the page.

        !children
        """, parent="eng-arch", labels=["service-catalog"], author="priya", created="2024-02-05", updated="2025-06-11")

    services = [
        dict(name="route-planner", team="Routing", lead="mei", pd="Routing Primary", slack="#team-routing",
             repo="platform/route-planner", lang="Go 1.22", ns="routing", replicas="12-40 (HPA on CPU 65%)",
             summary="Public route optimisation API, order ingest from Kafka and orchestration of the solver. "
                     "Stateless; all state is in routing-db.",
             deps=["routing-db (Postgres 15)", "vrp-solver (sidecar per pod)", "OSRM (osrm-eu / osrm-na)",
                   "MapGrid geocoding API, Nominatim fallback", "Kafka: consumes orders.v2, produces routes.planned.v1",
                   "redis-cache for matrix caching (TTL 6h)"],
             slos=[("Availability of /v2 endpoints", "99.9% monthly"), ("p95 latency, optimize, up to 100 stops", "< 8 s"),
                   ("Order-to-plannable latency", "< 2 min for 99% of orders")],
             alerts=["RoutePlannerConsumerLagHigh", "RoutePlannerOptimizeLatencyHigh", "GeocoderCircuitOpen"],
             gotchas="The solver sidecar is CPU-bound and shares the pod's CPU limit; scaling the API also scales "
                     "solver capacity. Large tenants (Brightline Grocers, UrbanCrate) plan at 05:30 local time and "
                     "create a daily spike."),
        dict(name="vrp-solver", team="Routing", lead="ravi", pd="Routing Primary", slack="#team-routing",
             repo="platform/route-planner (solver/)", lang="C++20, OR-Tools 9.10", ns="routing",
             replicas="sidecar of route-planner",
             summary="Capacitated vehicle routing with time windows. Receives problems over a local gRPC socket and "
                     "returns plans. Time limit per solve is 20 s for synchronous and 120 s for asynchronous requests.",
             deps=["none at runtime; the travel-time matrix is passed in by route-planner"],
             slos=[("Solves finishing within time limit", "99.5%")],
             alerts=["SolverTimeoutRateHigh", "SolverOOMKilled"],
             gotchas="Memory grows with the square of the stop count; a 250-stop problem with 40 vehicles needs about "
                     "2.5 GB. The sidecar limit is 4 GiB."),
        dict(name="wms-core", team="Warehouse", lead="yusuf", pd="Warehouse Primary", slack="#team-warehouse",
             repo="warehouse/wms-core", lang="Kotlin 1.9, Spring Boot 3.2, JDK 21", ns="wms", replicas="8 (fixed)",
             summary="Warehouse management: inventory, bin locations, picking waves, replenishment, cycle counts and "
                     "the scanner sync endpoint used by NW Picker handhelds.",
             deps=["wms-db (Postgres 15, 3.1 TB)", "Kafka: produces wms.inventory.events.v1 via outbox",
                   "customer ERP integrations over SFTP/EDI (inbound ASN, outbound shipment confirmations)"],
             slos=[("Scanner sync success rate", "99.5% per DC per day"), ("p99 pick confirmation latency", "< 800 ms")],
             alerts=["WmsScannerSyncBacklog", "WmsOutboxLag", "WmsDbReplicationLag"],
             gotchas="Cycle count jobs run at 02:00 local time per DC and lock bins in batches of 5,000; avoid "
                     "maintenance on wms-db in that window. Error codes are listed in the WMS error code reference."),
        dict(name="billing-api", team="Payments", lead="tomas", pd="Payments Primary", slack="#payments-eng",
             repo="payments/billing-api", lang="Java 21, Spring Boot 3.3", ns="billing", replicas="6-60 (HPA)",
             summary="Subscriptions, usage metering, invoicing and payment collection through Stripe and Adyen. In "
                     "PCI scope; see the PAY space for details.",
             deps=["billing-db via pgbouncer-billing", "Stripe and Adyen APIs", "Kafka: consumes wms.inventory.events.v1 "
                   "and routes.planned.v1 for metering, produces billing.invoices.v1 and payments.refunds.v1"],
             slos=[("Payment API availability", "99.95% monthly"), ("Invoice run completes", "by 09:00 UTC on the 1st")],
             alerts=["BillingPaymentErrorRate", "PgBouncerClientWaiting", "InvoiceRunNotFinished"],
             gotchas="Never retry a charge without the original idempotency key. Scale-up for the invoice run is "
                     "scheduled by a KEDA cron trigger at 02:30 UTC on the 1st."),
        dict(name="refund-service", team="Payments", lead="aisha", pd="Payments Primary", slack="#payments-eng",
             repo="payments/refund-service", lang="Go 1.22", ns="billing", replicas="3",
             summary="Processes refund requests asynchronously from the payments.refunds.v1 topic and reports "
                     "outcomes back to billing-api.",
             deps=["Kafka: payments.refunds.v1, refunds.dlq", "Stripe and Adyen refund APIs", "billing-db via pgbouncer-billing"],
             slos=[("Refunds processed within 15 min", "99%")],
             alerts=["RefundDLQNotEmpty", "RefundProviderErrorRate"],
             gotchas="Retry behaviour and approval thresholds are described on the Refund service design page."),
        dict(name="driver-bff", team="Mobile", lead="jonas", pd="Mobile Backend", slack="#mobile",
             repo="mobile/driver-app (bff/)", lang="TypeScript, Node 20, Fastify", ns="mobile", replicas="6-24 (HPA)",
             summary="Backend for the Northwind Driver app: route delivery, proof-of-delivery uploads, GPS ingest "
                     "into telemetry.gps.v1 and push notifications.",
             deps=["gatekeeper for token validation", "redis-sessions", "S3 bucket nw-prod-pod-photos",
                   "Kafka: consumes routes.planned.v1, produces telemetry.gps.v1", "FCM and APNs"],
             slos=[("Route delivery to device", "< 60 s after dispatch for 99%"), ("POD upload success", "99.8%")],
             alerts=["DriverBffErrorRate", "PodUploadFailures", "RedisSessionsMemoryHigh"],
             gotchas="Older app versions (below 5.10) poll instead of using push; they generate a third of the "
                     "request volume while being 4% of devices."),
        dict(name="gatekeeper", team="SRE / Platform", lead="nadia", pd="SRE Primary", slack="#sre",
             repo="platform/gatekeeper", lang="Go 1.22", ns="platform", replicas="6",
             summary="OAuth2/OIDC authorisation server for customers, drivers and API keys. Issues JWT access "
                     "tokens (15 min) and refresh tokens (30 days for drivers).",
             deps=["gatekeeper-db", "redis-sessions", "Okta (for console SSO federation)", "Vault transit for signing keys"],
             slos=[("Token endpoint availability", "99.95%"), ("p99 token issuance", "< 300 ms")],
             alerts=["GatekeeperTokenErrors", "GatekeeperSigningKeyAge"],
             gotchas="Signing keys rotate every 90 days; the JWKS endpoint serves the old key for 24 h after rotation."),
        dict(name="notification-service", team="SRE / Platform", lead="ben", pd="SRE Primary", slack="#sre",
             repo="platform/notification-service", lang="Go 1.22", ns="platform", replicas="4",
             summary="Sends email (Amazon SES), SMS (Twilio) and customer webhooks for delivery events and invoices.",
             deps=["Kafka: billing.invoices.v1, routes.planned.v1, delivery.events.v1", "SES, Twilio", "redis-cache"],
             slos=[("Webhook delivery attempts within 30 s", "99%")],
             alerts=["WebhookDeliveryFailureRate", "SesBounceRateHigh"],
             gotchas="Customer webhooks retry with backoff for up to 24 hours and are then dropped; customers can "
                     "replay from the console for 7 days."),
    ]
    for s in services:
        deps = "\n".join(f"- {d}" for d in s["deps"])
        slos = "\n".join(f"| {a} | {b} |" for a, b in s["slos"])
        alerts = ", ".join(f"`{a}`" for a in s["alerts"])
        lead = PEOPLE[s["lead"]].name
        md = f"""
            {s['summary']}

            ## Ownership
            | | |
            |---|---|
            | Team | {s['team']} |
            | Technical owner | {lead} |
            | PagerDuty service | {s['pd']} |
            | Slack | {s['slack']} |
            | Repository | `{s['repo']}` |

            ## Runtime
            - Language: {s['lang']}
            - Namespace `{s['ns']}` in `nw-prod-euw1` and `nw-prod-use1`
            - Replicas: {s['replicas']}
            - Dashboard: Grafana, folder "{s['team']}", dashboard "{s['name']} / Service Overview"

            ## Dependencies
            {deps}

            ## SLOs
            | Objective | Target |
            |---|---|
            {slos}

            ## Alerts
            Alerts that page for this service: {alerts}. Runbooks are linked from each alert annotation.

            ## Things to know
            {s['gotchas']}
            """
        cpage(f"svc-{s['name']}", "ENG", f"Service: {s['name']}", md, parent="svc-catalog",
              labels=["service-catalog", s["ns"]], author=s["lead"],
              created=f"2024-0{rng.randint(2, 9)}-{rng.randint(10, 28)}", updated=f"2025-0{rng.randint(3, 9)}-{rng.randint(10, 28)}")

    # ---- API documentation -------------------------------------------------
    cpage("eng-api", "ENG", "API documentation", """
        Reference documentation for the public Northwind API and for error codes that customers and support
        see. The customer-facing developer portal is generated from the OpenAPI files in each repository; these
        pages add the context that does not fit into OpenAPI descriptions.

        !children
        """, parent="eng-home", labels=["api"], author="mei", created="2024-02-19", updated="2024-12-02")

    cpage("rp-api", "ENG", "Route Planner API v2 reference", """
        !info: Audience: customer integration engineers, solution engineers and support. The OpenAPI spec lives in `platform/route-planner/api/openapi-v2.yaml` and is published to the developer portal.

        !toc

        ## Base URLs and authentication
        | Region | Base URL |
        |---|---|
        | EU | `https://api.northwind.example/v2` |
        | North America | `https://api.us.northwind.example/v2` |
        | Sandbox | `https://api.sandbox.northwind.example/v2` |

        Every request needs a bearer token. Machine clients use the OAuth2 client-credentials flow against
        gatekeeper (`POST https://auth.northwind.example/oauth2/token`, scope `routes:write routes:read`).
        Legacy integrations may still send a static key in `X-Api-Key`; static keys are deprecated and cannot
        be created for new tenants since January 2025.

        ```bash
        curl -s https://auth.northwind.example/oauth2/token \\
          -d grant_type=client_credentials -d client_id=$NW_CLIENT_ID -d client_secret=$NW_CLIENT_SECRET \\
          -d scope="routes:write routes:read"
        ```

        ## Rate limits
        Limits are per API client (not per tenant) and use a sliding one-minute window.

        | Endpoint group | Limit |
        |---|---|
        | `POST /v2/routes/optimize`, `POST /v2/routes/{id}/reoptimize` | 600 requests per minute |
        | All `GET` endpoints | 3,000 requests per minute |
        | `POST /v2/orders` (single and bulk) | 1,200 requests per minute, bulk counts as one |

        Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`. When the
        limit is exceeded the API answers `429` with error code `RP-429-RATE_LIMITED` and a `Retry-After` header
        in seconds. Enterprise tenants can ask their account manager for a higher optimisation limit.

        ## POST /v2/routes/optimize
        Plans routes for a set of stops and vehicles. Problem size limits:

        - At most **250 stops** per request. Requests above that fail with `RP-422-STOPS_LIMIT`; split by depot
          or by delivery day.
        - At most 40 vehicles per request.
        - Up to 100 stops the call is synchronous and returns the plan (solver time limit 20 s).
        - From 101 to 250 stops the call is asynchronous: it returns `202 Accepted` with a `job_id`; poll
          `GET /v2/jobs/{job_id}` or subscribe to the `route.optimized` webhook.

        ```json
        {
          "depot": {"id": "RTM1", "lat": 51.9066, "lon": 4.4883},
          "planning_date": "2025-09-15",
          "vehicles": [
            {"id": "truck-07", "profile": "hgv", "capacity": {"kg": 7200, "pallets": 16},
             "shift": {"start": "06:00", "end": "15:30"}}
          ],
          "stops": [
            {"id": "ord-88213", "lat": 51.9244, "lon": 4.4777, "service_minutes": 6,
             "demand": {"kg": 320, "pallets": 1}, "time_windows": [["08:00", "10:00"]]}
          ],
          "options": {"objective": "min_duration", "balance_routes": true, "return_to_depot": true}
        }
        ```

        Times are local to the depot's time zone. `profile` is `car`, `van` or `hgv`; HGV routing respects
        height and weight restrictions where OpenStreetMap has them. `objective` is `min_duration` (default),
        `min_distance` or `min_vehicles`.

        ### Response
        ```json
        {
          "route_plan_id": "rp_01J7ZK4M2Q9W",
          "status": "optimized",
          "routes": [
            {"vehicle_id": "truck-07", "distance_km": 142.6, "duration_minutes": 431,
             "stops": [{"id": "ord-88213", "eta": "2025-09-15T08:14:00+02:00", "sequence": 1}]}
          ],
          "unassigned": [{"id": "ord-88302", "reason": "TIME_WINDOW_INFEASIBLE"}]
        }
        ```

        Stops the solver cannot place are returned in `unassigned` with a reason instead of failing the request.

        ## GET /v2/routes/{route_plan_id}
        Returns the stored plan. Plans are kept for 400 days. Add `?include=geometry` to get encoded polylines
        (precision 6) per route; this roughly triples the response size.

        ## POST /v2/routes/{route_plan_id}/reoptimize
        Re-plans an existing plan after changes (added stops, vehicle breakdown). Routes that are already
        **dispatched** are locked and cannot be re-optimised; the API returns `409` with `RP-409-ROUTE_LOCKED`.
        Undispatch in the console first, or pass `"keep_dispatched": true` to re-plan only the remaining routes.

        ## DELETE /v2/routes/{route_plan_id}
        Cancels a plan that is not dispatched. Dispatched plans must be cancelled per route from the console.

        ## POST /v2/orders
        Creates orders that will be planned later (by the dispatcher or by auto-planning). Use this endpoint
        if you integrate an ERP or web shop that produces orders continuously; use `optimize` directly only if
        you plan ad hoc and do not want Northwind to keep the orders.

        - Single order: `POST /v2/orders` with one order object.
        - Bulk: `POST /v2/orders/bulk` with up to 1,000 orders. The response lists per-order results; the
          request succeeds even if some orders are rejected.
        - Orders are deduplicated by `external_ref` per tenant. Sending the same `external_ref` again updates
          the order as long as it is not planned yet.
        - Send an `Idempotency-Key` header (any unique string, kept for 24 hours) to make retries safe; a retry
          with the same key returns the original response.

        ```bash
        curl -s -X POST https://api.northwind.example/v2/orders \\
          -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: erp-88213-v1" \\
          -H "Content-Type: application/json" \\
          -d '{"external_ref": "SO-88213", "depot_id": "RTM1", "address": {"street": "Coolsingel 40",
               "postcode": "3011 AD", "city": "Rotterdam", "country": "NL"},
               "time_windows": [["08:00", "10:00"]], "demand": {"kg": 320, "pallets": 1}}'
        ```

        Orders with an address are geocoded by Northwind. If you already have coordinates, send `lat` and `lon`;
        they take precedence and skip geocoding.

        ## GET /v2/jobs/{job_id}
        Status of an asynchronous optimisation. `status` is one of `queued`, `running`, `succeeded` or `failed`.
        When `succeeded`, the response contains `route_plan_id`; when `failed`, an `error` object with the
        same codes as synchronous calls.

        Poll every 5 seconds at most, or better, subscribe to the `route.optimized` webhook. Responses carry an
        `ETag`; send `If-None-Match` to get a cheap `304` while nothing has changed.

        ## Listing and pagination
        `GET /v2/routes?planning_date=2025-09-15&depot_id=RTM1` lists route plans. Lists are cursor-paginated:
        pass the `next_cursor` value from the response as `cursor` until it is null. Page size is 50 by default
        and 200 at most (`limit`). Cursors are valid for 24 hours.

        ## Sandbox
        The sandbox behaves like production with two differences: the solver time limit is 10 s for every
        request, and webhooks are only delivered to endpoints registered in the sandbox console. Sandbox data
        is deleted after 30 days. Sandbox tokens do not work in production and vice versa.

        ## Integration best practices
        - Plan per depot and day. Large multi-depot problems are slower and rarely better.
        - Send time windows in depot-local time without an offset, as shown above. Sending UTC by mistake is
          the most common integration bug we see.
        - Honour `Retry-After` on `429` and back off exponentially on `503`.
        - Prefer webhooks over polling, and verify webhook signatures over the raw request body.
        - Log our `X-Trace-Id` response header; Support will ask for it.

        ## Webhook payload example
        A `route.optimized` event as delivered to a tenant endpoint:

        ```json
        {
          "id": "evt_01J80QG3W5Y6",
          "type": "route.optimized",
          "created_at": "2025-09-15T04:12:09Z",
          "tenant_id": "t_1042",
          "data": {
            "job_id": "job_01J80QF0Z2AB",
            "route_plan_id": "rp_01J80QG3V1XC",
            "planning_date": "2025-09-15",
            "depot_id": "RTM1",
            "routes": 22,
            "unassigned": 3
          }
        }
        ```

        The event contains identifiers and counts only; fetch the plan with `GET /v2/routes/{route_plan_id}`.
        Events can arrive more than once and out of order. Deduplicate by `id`, and use `created_at` rather than
        arrival order when two events concern the same plan.

        ## Limits at a glance
        | Limit | Value |
        |---|---|
        | Stops per optimisation | 250 (100 synchronous) |
        | Vehicles per optimisation | 40 |
        | Time windows per stop | 3 |
        | Orders per bulk request | 1,000 |
        | Optimisation requests | 600 per minute per client |
        | Read requests | 3,000 per minute per client |
        | Plan retention | 400 days |
        | Idempotency key retention | 24 hours |

        ## Tools
        The developer portal has a Postman collection and an OpenAPI file for code generation. We do not publish
        official SDKs; customers have had good results with generated clients for TypeScript, Python and C#.
        Solution engineers keep a small reference integration (`platform/route-planner-examples`, read-only for
        customers on request) that shows token handling, bulk order import, asynchronous optimisation with
        webhooks and signature verification.

        ## Frequently asked questions
        **Can I optimise several depots in one request?** No. Each request has one depot; routes start and end
        there unless `return_to_depot` is false. Plan each depot separately, in parallel if you like.

        **Why are some of my stops unassigned although I have enough vehicles?** Usually time windows: the
        window is shorter than the travel time from the depot plus the service time, or the vehicle's shift
        ends before the window opens. The `reason` field tells you which constraint failed.

        **Can I fix the order of some stops?** Yes: give the stops a shared `sequence_group` and
        `"sequence_fixed": true`; the solver keeps their relative order and plans everything else around them.

        **Do you take live traffic into account?** Travel times come from our own time-of-day speed profiles,
        derived from historical GPS data of all tenants in a region, not from live traffic feeds.

        **Is the result deterministic?** For the same input and the same solver version, almost always. The
        solver uses a time limit, so under heavy load a request may return a slightly different (equally valid)
        plan. Store the plan you dispatched rather than re-optimising to reproduce it.

        ## Error codes
        Errors use RFC 7807 problem JSON with an extra `code` field.

        | HTTP | Code | Meaning |
        |---|---|---|
        | 400 | RP-400-INVALID_PAYLOAD | JSON does not match the schema; `errors[]` lists the fields |
        | 401 | RP-401-UNAUTHENTICATED | Missing or expired token |
        | 403 | RP-403-SCOPE_MISSING | Token lacks `routes:write` |
        | 404 | RP-404-NOT_FOUND | Unknown route plan or job id, or it belongs to another tenant |
        | 409 | RP-409-ROUTE_LOCKED | Route is dispatched and cannot be changed |
        | 422 | RP-422-STOPS_LIMIT | More than 250 stops or more than 40 vehicles |
        | 422 | RP-422-NO_FEASIBLE_VEHICLE | No vehicle can carry the demand of at least one stop |
        | 429 | RP-429-RATE_LIMITED | Rate limit exceeded; honour `Retry-After` |
        | 503 | RP-503-SOLVER_UNAVAILABLE | Solver capacity exhausted; retry with backoff |

        ## Webhooks
        `route.optimized` and `route.optimization_failed` are delivered to the tenant's webhook endpoints. The
        signature scheme is described on **Customer webhooks: events and signatures**.

        ## Versioning and deprecation
        v1 (`/v1/plan`) is deprecated and will be switched off on **2025-12-31**. The main differences: v1 has
        no asynchronous mode and accepts at most 80 stops; v1 times are UTC while v2 times are depot-local.
        Breaking changes within v2 are announced 90 days ahead in the changelog and by email to technical
        contacts.

        ## Changelog
        | Date | Change |
        |---|---|
        | 2025-08-19 | `keep_dispatched` option for reoptimize |
        | 2025-06-02 | Asynchronous mode raised from 200 to 250 stops |
        | 2025-03-10 | NA region base URL |
        | 2024-11-04 | `pallets` capacity dimension |
        """, parent="eng-api", labels=["api", "route-planner", "reference"], author="mei",
          editors=("oskar", "grace", "mei"), created="2024-03-01", updated="2025-08-19", version=26)

    cpage("webhooks-api", "ENG", "Customer webhooks: events and signatures", """
        Tenants can register up to 10 HTTPS endpoints in the console (Settings, Integrations, Webhooks). Events
        are delivered by `notification-service` as JSON `POST` requests.

        ## Events
        | Event | When |
        |---|---|
        | `route.optimized` | An optimisation job finished |
        | `route.optimization_failed` | An optimisation job failed |
        | `route.dispatched` | A route was sent to a driver |
        | `delivery.completed` | POD captured at a drop |
        | `delivery.failed` | Driver marked a drop as failed, with reason |
        | `invoice.issued` | A monthly invoice was issued |

        ## Signature
        Every request has a `Northwind-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. The signed
        payload is `<t>.<raw request body>` using the endpoint's signing secret. Reject requests where `t` is
        more than 5 minutes old.

        ```python
        import hmac, hashlib, time
        def verify(secret: bytes, header: str, body: bytes) -> bool:
            parts = dict(p.split("=", 1) for p in header.split(","))
            if abs(time.time() - int(parts["t"])) > 300:
                return False
            mac = hmac.new(secret, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
            return hmac.compare_digest(mac, parts["v1"])
        ```

        Verify against the **raw** body. Re-serialising parsed JSON changes whitespace and breaks the signature.

        ## Retries
        Non-2xx responses and timeouts (10 s) are retried with exponential backoff for up to 24 hours. After
        that the event is dropped, but it can be replayed from the console for 7 days. Endpoints that fail
        continuously for 72 hours are disabled and the tenant's technical contact gets an email.
        """, parent="eng-api", labels=["api", "webhooks"], author="ben", editors=("ben",),
          created="2024-06-12", updated="2025-04-28")

    wms_rows = [
        ("WMS-4101", "BIN_NOT_FOUND", "Scanned bin label does not exist in this DC's layout",
         "Label printed for another DC, or bin deleted during re-slotting", "Rescan; if it persists, check the layout import in WMS Admin"),
        ("WMS-4102", "BIN_LOCKED", "The bin location is locked by another picking session",
         "Two pickers assigned overlapping tasks, or a handheld holding the lock lost Wi-Fi or crashed",
         "Wait: locks are leases and expire after 120 s without a heartbeat. A supervisor can force-release in WMS Admin, Locations, Release lock"),
        ("WMS-4103", "BIN_CAPACITY_EXCEEDED", "Putaway would exceed the bin's volume or weight limit",
         "Wrong unit of measure on the item master", "Choose another bin; fix the item dimensions"),
        ("WMS-4104", "BIN_BLOCKED", "Bin is blocked for cycle counting or damage inspection",
         "Cycle count in progress (02:00 local batch) or manual block", "Pick from the suggested alternative bin"),
        ("WMS-4110", "LOCATION_TYPE_MISMATCH", "Item cannot be stored in this location type",
         "Frozen item scanned into an ambient bin, hazmat into a non-hazmat zone", "Use a compatible zone"),
        ("WMS-4201", "PICK_QTY_MISMATCH", "Confirmed quantity differs from the task quantity",
         "Short pick or overpick", "Confirm with reason code; a short pick creates a replenishment task"),
        ("WMS-4202", "WRONG_ITEM_SCANNED", "Scanned barcode does not match the task's SKU",
         "Similar-looking products in adjacent bins", "Scan the correct item; repeated errors trigger a slotting review"),
        ("WMS-4203", "TASK_ALREADY_COMPLETED", "The pick task was completed by another session",
         "Duplicate replay from the offline queue", "Safe to ignore on the device; the sync dedups by scan id"),
        ("WMS-4205", "WAVE_CLOSED", "The wave was closed while the task was still open",
         "Supervisor closed the wave early", "Task is moved to the next wave automatically"),
        ("WMS-4301", "NO_STOCK_AVAILABLE", "Reservation failed because no unreserved stock exists",
         "Inventory out of sync with ERP, or stock in quarantine", "Check quarantine; trigger a cycle count for the SKU"),
        ("WMS-4305", "RESERVATION_CONFLICT", "Stock is reserved for a higher-priority order",
         "Priority allocation rules", "Expected behaviour; the order waits for replenishment"),
        ("WMS-4307", "RESERVATION_EXPIRED", "The stock reservation expired before the pick was confirmed",
         "Reservations expire after 45 min by default", "Re-release the order; see the tenant's reservation TTL setting"),
        ("WMS-4401", "DEVICE_CLOCK_SKEW", "Handheld clock differs from server time by more than 5 minutes",
         "Device lost NTP, often after battery swap", "Reboot the device; it resyncs time on boot"),
        ("WMS-4402", "SYNC_SEQUENCE_GAP", "The device skipped a sequence number in its offline queue",
         "App killed while writing the queue", "Device re-sends from the last acknowledged sequence; no action"),
        ("WMS-4404", "APP_VERSION_UNSUPPORTED", "NW Picker version is below the minimum supported version",
         "Device missed an MDM update", "Update via the MDM console (SOTI); minimum version is 3.8.0"),
        ("WMS-4501", "ASN_PARSE_ERROR", "Inbound advance shipping notice could not be parsed",
         "Customer ERP sent malformed EDI DESADV", "Support forwards the file to the integration contact"),
        ("WMS-4503", "SKU_UNKNOWN_IN_ASN", "ASN references a SKU missing from the item master",
         "Item master sync lagging behind ERP", "Trigger item master sync from WMS Admin, then reprocess the ASN"),
        ("WMS-4509", "SHIPMENT_CONFIRM_REJECTED", "Customer ERP rejected the outbound shipment confirmation",
         "Order cancelled in ERP after picking", "Escalate to the tenant; goods need a return-to-stock"),
    ]
    rows = "\n".join(f"| {c} | `{n}` | {m} | {cause} | {todo} |" for c, n, m, cause, todo in wms_rows)
    cpage("wms-errors", "ENG", "WMS error code reference", f"""
        This page lists the error codes shown by `wms-core` and by the NW Picker handheld app. Support uses it
        to answer tickets; engineers keep it in sync with `ErrorCode.kt` in `warehouse/wms-core`.

        !info: Codes are stable: a code is never reused for a different meaning. Deprecated codes stay in the table, marked as such, for at least one year.

        ## How codes are structured
        `WMS-4xyz`: the second digit is the area.

        - **41xx**: bins and locations
        - **42xx**: picking
        - **43xx**: reservations and allocation
        - **44xx**: handheld devices and sync
        - **45xx**: integrations (EDI, ERP)

        5xxx codes are internal server errors and always come with a trace id; support should escalate those
        with the trace id rather than look them up here.

        ## Code table
        | Code | Name | Meaning | Typical cause | What to do |
        |---|---|---|---|---|
        {rows}

        ## Bin locks in more detail
        Picking sessions lock the bin they are picking from so that two pickers do not both pick the last unit.
        Locks are leases held in `wms-db` (table `bin_lock`) with a heartbeat from the handheld every 30 s; a
        lock without heartbeat for 120 s expires (`wms.picking.bin-lock-lease=120s`). When a handheld goes into a
        Wi-Fi dead spot the lock is therefore held for up to two minutes, which is why pickers in the far aisles
        of MAN1 report `WMS-4102` more often than elsewhere.

        Supervisors can force-release a lock. Force-releasing a lock whose owner is still picking can cause a
        double pick, so check the session list first.

        ## Reporting new codes
        When you add a code: add it to `ErrorCode.kt`, add a row here, and add the translation keys for the
        handheld app (en, nl, de, fr, pl). Missing translations fall back to English.
        """, parent="eng-api", labels=["wms", "error-codes", "reference", "support"], author="arjun",
          editors=("yusuf", "marcus", "arjun"), created="2024-04-22", updated="2025-08-06", version=14)

    # ---- Mobile -------------------------------------------------------------
    cpage("eng-mobile", "ENG", "Mobile", """
        Documentation for the Northwind Driver app (iOS and Android, React Native) and its backend `driver-bff`.
        Release notes for every store release are children of this page.

        !children
        """, parent="eng-home", labels=["mobile"], author="jonas", created="2024-02-27", updated="2025-09-09")

    cpage("driver-release", "ENG", "Driver app release process", """
        !info: Owner: Mobile team. Release captain rotates every release; the current captain is pinned in #mobile.

        !toc

        ## Cadence
        We ship a store release of Northwind Driver every **two weeks**. The release branch is cut on Tuesday of
        week one, regression runs Wednesday to Friday, and store submission happens the following Monday.
        JavaScript-only fixes can go out between releases as over-the-air (OTA) updates; anything touching native
        code, permissions or the bundle's native dependencies requires a store release.

        Version numbers are `MAJOR.MINOR.PATCH`. Minor for a regular train, patch for hotfixes. The build number
        is the CI pipeline id, so it increases monotonically across both platforms.

        ## Roles
        - **Release captain**: cuts the branch, owns the checklist, decides go/no-go with QA, watches the
          rollout metrics daily, and writes the release notes page.
        - **QA (Mateo García)**: runs the regression suite on the device farm and signs off.
        - **Support (Marcus Bell's team)**: gets the release notes two days before rollout and updates the help
          centre articles.

        ## Branching
        ```bash
        git checkout main && git pull
        git checkout -b release/5.15
        yarn version:set 5.15.0        # bumps package.json, Info.plist and build.gradle
        git push -u origin release/5.15
        ```

        Fixes during regression go to `main` first and are cherry-picked to the release branch with
        `git cherry-pick -x`. Never commit directly on the release branch without a matching MR to `main`.

        ## Regression and sign-off
        The automated suite (Detox end-to-end tests) runs on BrowserStack against the devices in the support
        matrix. Manual regression covers what automation cannot: real GPS drives, camera capture in low light,
        barcode scanning of damaged labels and behaviour when the phone goes offline mid-route.

        | Platform | Minimum OS | Reference devices |
        |---|---|---|
        | Android | Android 9 (API 28), target SDK 34 | Pixel 8, Samsung Galaxy A54, Zebra TC58 |
        | iOS | iOS 16 | iPhone 15, iPhone SE (2nd gen), iPhone 12 |

        Sign-off requires: all P1 regression cases green, no open MOB bugs with priority Highest or High
        against the release, and a crash-free rate of at least 99.7% on the internal beta.

        ## Internal beta
        Builds go to TestFlight (internal group "Northwind Staff") and the Play internal testing track. About 60
        employees and 25 pilot drivers at Brightline Grocers run the beta. The beta runs for at least three
        working days.

        ## Staged rollout
        Both stores roll out gradually. We do not use "release to everyone" except for hotfixes of a SEV1.

        | Day | Google Play | App Store (phased release) |
        |---|---|---|
        | 1 | 1% | 1% |
        | 2 | 10% | 2% |
        | 3 | 10% | 5% |
        | 4 | 50% | 10% |
        | 5 | 50% | 20% |
        | 6 | 100% | 50% |
        | 7 | 100% | 100% |

        On Play the percentage is raised manually by the release captain; on iOS Apple's 7-day phased release
        runs automatically and the captain only pauses it if needed.

        ## Halt criteria
        Pause the rollout (Play: "Halt rollout"; App Store: "Pause phased release") immediately when any of
        these is true for the new version:

        - Crash-free sessions in Crashlytics drop **below 99.5%** (measured over at least 2,000 sessions).
        - Android ANR rate above 0.47% (Play Console vitals threshold).
        - POD upload success rate in `driver-bff` below 99.5% for devices on the new version.
        - Any SEV1 or SEV2 incident is linked to the release.
        - Support reports the same new issue from three or more tenants.

        After halting, post in #mobile with the reason, open a MOB ticket with label `release-blocker`, and
        decide with the mobile lead whether to fix forward (patch release) or roll back via remote config.

        ## Remote config and forced upgrades
        `driver-bff` serves remote config per platform. Two keys matter for releases:

        ```json
        {
          "min_supported_version": "5.10.0",
          "soft_update_prompt_below": "5.13.0",
          "feature_flags": {"offline_pod_photos": true, "new_scanner_ui": false}
        }
        ```

        Raising `min_supported_version` forces drivers to update before they can start a route. Do this only
        with Support's agreement, never during a shift start (05:00-08:00 local time in any active region), and
        never by more than one minor version at a time unless Security requires it.

        ## Over-the-air updates
        OTA bundles are published from CI to `ota.nw.internal` and served through the CDN. OTA updates follow
        the same percentages as store rollouts, controlled by `ota_rollout_percent` in remote config. OTA cannot
        change native code; if `yarn ota:check` reports native changes, the pipeline refuses to publish.

        ## Release notes
        The captain creates a child page of **Mobile** named `Driver app X.Y.Z release notes` using the release
        notes template: highlights, fixes with MOB keys, known issues and the rollout timeline.

        ## Checklist
        1. Branch cut, version bumped, release MR opened.
        2. Detox suite green on BrowserStack, manual regression signed off by QA.
        3. Internal beta for three working days; crash-free at least 99.7%.
        4. Release notes page published; support briefed.
        5. Submitted to both stores; staged rollout started.
        6. Daily check of halt criteria until 100%.
        7. Release branch merged back; tag `driver-app-vX.Y.Z` pushed.
        """, parent="eng-mobile", labels=["mobile", "release", "process"], author="jonas",
          editors=("keiko", "mateo", "jonas"), created="2024-04-15", updated="2025-07-22", version=19)

    release_notes = [
        ("5.12.0", "2025-07-08", "chloe", [
            "Route overview shows the planned break locations from the driver's shift settings.",
            "Drivers can reorder the next three drops when the dispatcher allows it (tenant setting `driver_reorder_window`).",
            "Faster app start on low-end Android devices: cold start down from 4.1 s to 2.6 s on a Galaxy A14.",
        ], [
            ("{{J:mob-sigpad}}", "Signature pad cleared itself when the phone rotated during capture."),
            ("{{J:mob-eta-tz}}", "ETA banner showed times in the phone's time zone instead of the depot's."),
            ("{{J:mob-scan-focus}}", "Barcode scanner did not focus on iPhone 15 Pro at close range."),
        ], ["Drivers on Android 9 may see a blank map tile layer for a few seconds after returning from background."]),
        ("5.13.0", "2025-08-05", "keiko", [
            "**Offline proof-of-delivery photos**: photos taken without connectivity are stored encrypted on the device "
            "and uploaded automatically when the connection returns. Up to 200 photos are kept offline.",
            "Failed-delivery reasons are now configurable per tenant.",
            "New in-app chat entry point to the dispatcher (tenants with Console Messaging only).",
        ], [
            ("{{J:mob-dup-arrived}}", "Duplicate 'arrived' events when GPS jittered near the geofence boundary."),
            ("{{J:mob-push-ios17}}", "Push notification for route changes did not open the updated route on iOS 17."),
        ], ["Photo upload progress is not shown on the drop list yet; it is visible on the drop details screen."]),
        ("5.14.0", "2025-09-02", "chloe", [
            "Android target SDK raised to 34 (Android 14).",
            "New barcode scanner engine with better performance on damaged labels (behind flag `new_scanner_ui`).",
            "Drop list groups consecutive drops at the same address.",
        ], [
            ("{{J:mob-battery}}", "Battery drain when the app stayed on the summary screen after the last drop."),
            ("{{J:mob-se-crash}}", "Crash when opening a drop with more than 50 parcels on iPhone SE."),
        ], ["Rollout on Android was halted on day 2 because of a crash on Android 14; fixed in 5.14.1."]),
        ("5.14.1", "2025-09-09", "jonas", [
            "Hotfix release for Android.",
        ], [
            ("{{J:android14-crash}}", "Crash at route start on Android 14 devices: the location foreground service is now "
                                      "declared with `foregroundServiceType=location` and started while the app is visible."),
            ("{{J:mob-photo-queue}}", "Offline photo queue could stall after 200 photos instead of evicting uploaded ones."),
        ], ["None known."]),
    ]
    for ver, day, author, highlights, fixes, known in release_notes:
        hl = "\n".join(f"- {h}" for h in highlights)
        fx = "\n".join(f"| {k} | {t} |" for k, t in fixes)
        kn = "\n".join(f"- {k}" for k in known)
        cpage(f"rn-{ver}", "ENG", f"Driver app {ver} release notes", f"""
            **Release date:** {day} -- **Release captain:** {PEOPLE[author].name} -- **Platforms:** iOS and Android

            ## Highlights
            {hl}

            ## Fixes
            | Ticket | Fix |
            |---|---|
            {fx}

            ## Known issues
            {kn}

            ## Rollout
            Staged rollout per the Driver app release process. Minimum supported version stays at 5.10.0.
            """, parent="eng-mobile", labels=["mobile", "release-notes", f"v{ver.replace('.', '-')}"], author=author,
              created=day, updated=(T(day) + timedelta(days=rng.randint(1, 6))).strftime("%Y-%m-%d"))

    # ---- Engineering practices -------------------------------------------
    cpage("eng-practices", "ENG", "Engineering practices", """
        How we write, review, ship and operate code. These are defaults, not laws; if your team does something
        differently for a good reason, write the reason down on your team page.

        !children
        """, parent="eng-home", labels=["practices"], author="ethan", created="2024-01-18", updated="2024-09-30")

    cpage("code-review", "ENG", "Code review guidelines", """
        Code review is how we share knowledge and catch mistakes. It is not a gate to show seniority.

        ## For authors
        - Keep MRs small: under 400 changed lines excluding generated code and fixtures. Split refactors from
          behaviour changes.
        - The description says **why**, links the Jira ticket, and explains how you tested. Screenshots or a
          short recording for UI changes.
        - Mark the MR as draft until CI is green and you would merge it yourself.
        - Respond to every comment, even if only with "done" or a reason why not.

        ## For reviewers
        - First review within one working day. If you cannot, say so and suggest someone else.
        - Prefix comments: `nit:` (optional), `question:`, `suggestion:`, `blocking:`. Only `blocking:` comments
          must be resolved before merge.
        - Review the tests as carefully as the code. A bug fix without a regression test needs a reason.
        - Check for: missing idempotency on retries, unbounded queries, personal data in logs, new
          configuration without defaults, and migrations that lock large tables.

        ## Approvals
        | Repository group | Approvals | Notes |
        |---|---|---|
        | Most repositories | 1 code owner | CODEOWNERS per directory |
        | `payments/*` | 2, one from Payments | PCI requirement |
        | `platform/infrastructure` | 1 SRE | Terraform plan output must be attached |
        | `platform/gatekeeper` | 1 SRE plus 1 Security | Authentication code |

        ## Database migrations
        Migrations on tables larger than 10 million rows (most of `wms-db`, `billing-db.usage_records`) need a
        comment from the owning team's lead confirming the lock behaviour. Use `CREATE INDEX CONCURRENTLY`, add
        columns without defaults first, and backfill in batches.
        """, parent="eng-practices", labels=["practices", "code-review"], author="mei",
          editors=("priya", "tomas", "mei"), created="2024-02-08", updated="2025-03-18")

    cpage("secrets", "ENG", "Secrets management with Vault", """
        !warning: Never put credentials in git, in GitLab CI variables, in Helm values, in Confluence or in Slack. If you find one, rotate it first and then tell Security in #security.

        This page explains how a service gets its credentials: API tokens for vendors, database passwords,
        signing keys. The decision to standardise on Vault is ADR-011.

        ## Where secrets live
        Static secrets go into the KV v2 engine under a path that encodes team, service and environment:

        ```text
        secret/data/<team>/<service>/<env>
        e.g. secret/data/routing/route-planner/prod
             secret/data/payments/refund-service/staging
        ```

        Your team's Vault policy lets team members write under `secret/data/<team>/*` for staging and
        request write access for prod (via `nwctl access request --role vault-prod-writer`).

        ```bash
        vault login -method=oidc
        vault kv put secret/routing/route-planner/staging mapgrid_api_key=@mapgrid.key
        vault kv get -field=mapgrid_api_key secret/routing/route-planner/staging
        ```

        ## Getting secrets into a pod
        Add the vault-agent injector annotations to the Helm values. The agent renders the secret into
        `/vault/secrets/<name>` before your container starts and keeps it updated.

        ```yaml
        podAnnotations:
          vault.hashicorp.com/agent-inject: "true"
          vault.hashicorp.com/role: "route-planner"
          vault.hashicorp.com/agent-inject-secret-mapgrid: "secret/data/routing/route-planner/prod"
          vault.hashicorp.com/agent-inject-template-mapgrid: |
            {{- with secret "secret/data/routing/route-planner/prod" -}}
            MAPGRID_API_KEY={{ .Data.data.mapgrid_api_key }}
            {{- end }}
        ```

        Read the file at startup and again on `SIGHUP` if the value can rotate. Do not copy secrets into
        environment variables in the Dockerfile.

        ## Database credentials
        Use the database secrets engine instead of static passwords. Each pod gets its own Postgres user with a
        lease TTL of **1 hour** (maximum 24 hours); vault-agent renews it. Connection pools must tolerate
        credential rotation: HikariCP `maxLifetime` should be below the lease TTL (we use 30 minutes).

        ## Rotation
        | Secret type | Rotation |
        |---|---|
        | Dynamic DB credentials | Automatic, 1 h lease |
        | Vendor API keys (MapGrid, Twilio, SES) | Every 180 days, tracked in the SEC Jira project |
        | Payment provider keys (Stripe, Adyen) | Every 90 days, Payments owns it |
        | JWT signing keys (gatekeeper) | Every 90 days, automatic via Vault transit |

        ## Local development
        Local stacks use fake credentials from `.env.dev` files that are safe to commit. If a local run needs a
        real sandbox key, read it from Vault with your own token; never save it in the repository.
        """, parent="eng-practices", labels=["security", "vault", "secrets"], author="daniel",
          editors=("priya", "daniel"), created="2024-09-05", updated="2025-05-27", version=8)

    cpage("logging", "ENG", "Logging and tracing conventions", """
        All services log JSON to stdout; Promtail ships it to Loki. Logs are kept for 30 days, traces in Tempo
        for 14 days.

        ## Required fields
        | Field | Example | Notes |
        |---|---|---|
        | `ts` | 2025-06-03T08:14:02.114Z | RFC 3339, UTC |
        | `level` | info | debug, info, warn, error |
        | `msg` | route plan stored | Short, constant string; put variables in fields |
        | `service` | route-planner | Set from the Helm chart |
        | `trace_id` | 4bf92f3577b34da6a3ce929d0e0e4736 | From the OpenTelemetry context |
        | `tenant_id` | t_8812 | Whenever the request belongs to a tenant |

        ## Personal data
        Do not log names, email addresses, phone numbers, delivery addresses or free-text delivery notes. Log
        ids instead (`order_id`, `driver_id`). Coordinates are allowed at three decimals (about 100 m) at most.
        The `pii-lint` CI job greps for common offenders such as `email=` and `phone`.

        ## Levels
        `error` means someone should look at it; if nobody would, it is `warn`. Do not log and rethrow the same
        error at every layer; log once at the boundary.

        ## Tracing
        Use the OpenTelemetry SDK for your language with the `nw-otel` wrapper, which sets the sampler to 10%
        head sampling plus 100% for errors and for requests slower than 2 s.
        """, parent="eng-practices", labels=["observability", "logging"], author="ben", created="2024-03-21",
          updated="2025-02-11")

    cpage("feature-flags", "ENG", "Feature flags with Unleash", """
        We use a self-hosted Unleash at `unleash.nw.internal` for backend flags, and `driver-bff` remote config for
        the driver app (see the Driver app release process).

        - Name flags `<team>.<feature>`, for example `routing.keep-dispatched-reoptimize`.
        - Every flag has an owner and a Jira ticket for its removal. Flags at 100% for more than 90 days show up
          in the weekly "stale flags" report in #eng-questions.
        - Per-tenant rollouts use the `tenantId` context field. Enterprise tenants are never in the first
          rollout group without their account manager's consent.
        - Flags are not configuration. Timeouts, limits and URLs go into Helm values.
        """, parent="eng-practices", labels=["feature-flags", "practices"], author="oskar", created="2024-07-30",
          updated="2025-01-14")

    # ---- Support engineering ------------------------------------------------
    cpage("eng-support", "ENG", "Support engineering", """
        Pages shared between Support and Engineering: how tickets flow, when to escalate and how to triage the
        most common customer reports.

        !children
        """, parent="eng-home", labels=["support"], author="marcus", created="2024-03-12", updated="2025-04-02")

    cpage("escalation", "ENG", "Support escalation matrix and SLAs", """
        Support handles tickets in Zendesk. This page defines ticket priorities, the response times we promise
        per plan, and how Support escalates to Engineering.

        ## Priorities
        | Priority | Definition | Examples |
        |---|---|---|
        | P1 | Production unusable for the tenant, no workaround | Cannot plan or dispatch routes; scanners cannot pick |
        | P2 | Major function degraded, workaround exists | Optimisation slow; POD photos delayed |
        | P3 | Minor issue or single user affected | One driver cannot log in; report shows wrong totals |
        | P4 | Question or feature request | How do I configure time windows? |

        ## First response targets
        | Plan | P1 | P2 | P3 | P4 |
        |---|---|---|---|---|
        | Enterprise | 15 minutes, 24/7 | 1 hour, 24/7 | 4 business hours | 1 business day |
        | Business | 1 hour, business hours | 4 business hours | 1 business day | 2 business days |
        | Starter | 4 business hours | 1 business day | 2 business days | 3 business days |

        Business hours are 07:00-19:00 CET for EU tenants and 07:00-19:00 US Eastern for NA tenants. The
        Enterprise targets are contractual; missing a P1 target triggers a service credit review with the
        account manager.

        ## Escalating to Engineering
        1. P1: declare in Slack with `/page <team>` (for example `/page routing`), which pages the team's
           PagerDuty primary, and open an OPS ticket with label `customer-escalation`. If several tenants are
           affected, ask SRE to declare an incident.
        2. P2: OPS ticket with label `customer-escalation` and the component set; the team triages within one
           business day.
        3. P3/P4: OPS ticket without the label, or a feature request in the product board.

        Always include: tenant id, region, what the customer sees (screenshots), time in UTC, and the
        `X-Trace-Id` if the customer has one. For WMS errors include the `WMS-` code.

        ## Who is on shift
        The support rota is in Zendesk and pinned in #support. Out of hours, Enterprise P1 tickets page the
        support on-call, who escalates as above.
        """, parent="eng-support", labels=["support", "sla", "escalation"], author="marcus",
          editors=("sofia", "marcus"), created="2024-03-12", updated="2025-06-30", version=11)

    cpage("support-triage", "ENG", "Triage checklist for customer-reported route issues", """
        Most "the route is wrong" tickets are configuration, not bugs. Go through this list before escalating.

        1. **Which plan?** Get the `route_plan_id` (console URL or API response). Check the planning date and
           that the tenant is in the region you are looking at.
        2. **Unassigned stops?** Look at `unassigned[].reason`. `TIME_WINDOW_INFEASIBLE` almost always means the
           time window is shorter than travel plus service time, or the shift ends too early.
        3. **Time zones.** v2 times are depot-local; v1 times are UTC. Integrations migrating from v1 often send
           UTC to v2 and get routes two hours off in summer.
        4. **Vehicle profile.** A van routed as `car` will take roads a 7.5 t truck cannot. HGV restrictions depend
           on OpenStreetMap data.
        5. **ETAs off?** New depots have no historical speed profile for their area for the first weeks, so ETAs
           use free-flow speeds. Check the depot's `speed_profile_status` in the admin tool.
        6. **Geocoding.** Addresses geocoded with low confidence are flagged in the console with a yellow pin.
           Ask the customer to send coordinates for rural addresses.

        If it still looks like a bug, escalate per the **Support escalation matrix and SLAs** with the plan id,
        the stop ids and a screenshot of the map.
        """, parent="eng-support", labels=["support", "routing", "triage"], author="sofia",
          editors=("mei", "sofia"), created="2024-09-17", updated="2025-05-06")

    # ---- Security -----------------------------------------------------------
    cpage("eng-security", "ENG", "Security", """
        Security policies and how-tos that every engineer needs. Sensitive security material lives in the SEC
        Jira project and is not published here.

        !children
        """, parent="eng-home", labels=["security"], author="olivia", created="2024-02-02", updated="2025-03-03")

    cpage("vuln-mgmt", "ENG", "Vulnerability management and patch SLAs", """
        ## Sources
        - Trivy image scans in CI (every pipeline) and nightly against running images.
        - Renovate for dependency updates; it opens MRs grouped per ecosystem every Monday.
        - The annual external penetration test and the bug bounty inbox (security@northwind.example).

        ## Fix deadlines
        | Severity (CVSS or our rating) | Internet-facing | Internal only |
        |---|---|---|
        | Critical (9.0+) | 7 days | 14 days |
        | High (7.0-8.9) | 30 days | 45 days |
        | Medium (4.0-6.9) | 90 days | 120 days |
        | Low | Best effort | Best effort |

        The clock starts when the finding is triaged into the SEC project, not when the CVE is published.

        ## Exceptions
        If a finding cannot be fixed in time (no patched version, or not exploitable in our setup), open a
        risk acceptance in SEC with the reasoning and a review date. Exceptions for Critical findings need the
        Head of Security. A Trivy finding with an accepted exception is suppressed through `.trivyignore` with
        the SEC key in a comment; suppressions without a key fail the `trivy-ignore-lint` job.
        """, parent="eng-security", labels=["security", "vulnerabilities", "policy"], author="daniel",
          created="2024-05-20", updated="2025-04-14")

    cpage("sec-incident", "ENG", "Reporting a security incident", """
        If you think something is wrong, report it. False alarms are fine; silence is not.

        ## What to report
        Phishing you clicked on, a lost or stolen laptop or phone, credentials pasted somewhere public, a
        customer telling us they see another tenant's data, unexpected logins, or anything that feels off.

        ## How
        | Situation | Do this |
        |---|---|
        | Suspicious email you did not interact with | Use the "Report phishing" button in Gmail |
        | You clicked a link or entered credentials | Page Security: `/page security` in Slack, then change your Okta password |
        | Lost or stolen device | Tell #help-it and page Security; IT wipes the device via Kandji |
        | Leaked secret | Rotate it if you can, then page Security |
        | Possible data exposure between tenants | Page Security and SRE; this is a SEV1 until proven otherwise |

        ## What not to do
        Do not investigate on your own, do not delete evidence (emails, logs), and do not discuss details in
        public channels. Security will create a private incident channel.
        """, parent="eng-security", labels=["security", "incident"], author="olivia", created="2024-02-02",
          updated="2025-01-20")


# ===========================================================================
# Confluence: SRE space
# ===========================================================================

def conf_sre():
    cpage("sre-home", "SRE", "SRE Home", """
        The Site Reliability Engineering space: on-call, incident management, runbooks and postmortems.
        The SRE team is Priya Raman (lead), Ben Adeyemi and Nadia Petrova. Reach us in #sre; for live incidents
        use #sre-incidents.

        ## Most used pages
        - **On-call handbook**
        - **Incident management process** (severity definitions)
        - **Production deploy windows and change freezes**
        - **Runbooks** (linked from every paging alert)

        !children
        """, labels=["home"], author="priya", created="2024-01-15", updated="2025-09-20", version=14)

    cpage("oncall", "SRE", "On-call handbook", """
        !info: This handbook applies to every engineer on a PagerDuty rotation, not only SRE. Team-specific details (which dashboards, which runbooks) live on team pages.

        !toc

        ## Rotations
        | Rotation | Who | Hours | Handover |
        |---|---|---|---|
        | SRE Primary / SRE Secondary | SRE team plus volunteers from Routing and Warehouse | 24/7 | Monday 10:00 CET |
        | Routing Primary | Routing team | 24/7 | Monday 10:00 CET |
        | Warehouse Primary | Warehouse team | 24/7 (DCs run night shifts) | Monday 10:00 CET |
        | Payments Primary | Payments team | 24/7 | Tuesday 10:00 CET |
        | Mobile Backend | Mobile team | 05:00-22:00 CET, 7 days | Monday 10:00 CET |
        | Data Platform | Data team | Business hours only | Monday 10:00 CET |

        A shift is one week. You can swap shifts freely: create an override in PagerDuty and post it in your
        team channel. You are responsible for your shift until the override exists.

        ## Response expectations
        These are the numbers everything else is built around:

        - **Acknowledge a page within 5{nbsp}minutes.** Acknowledging means "I have seen it and I am looking", not
          "it is fixed".
        - Be at a laptop and working on it within **15 minutes** of the page.
        - If a page is not acknowledged within 15 minutes, PagerDuty escalates to the secondary. After 30
          minutes it escalates to the team's engineering manager, after 45 minutes to the VP Engineering.
        - For a suspected SEV1, declare an incident as soon as you suspect it, not when you are sure.

        In practice this means: while on call, carry your laptop and phone, stay within reach of a reliable
        internet connection, and do not be in a state where you cannot work (the pint rule: if you would not
        drive, you should not be on call; swap the shift instead).

        ## Before your shift starts
        1. Read the handover note from the previous on-call in #sre-handover (or your team channel).
        2. Check that PagerDuty notifications bypass Do Not Disturb on your phone. Send yourself a test
           notification from the PagerDuty app.
        3. Check that Tailscale, `nwctl login` and your YubiKey work. Elevation during an incident is not the
           moment to discover an expired enrolment.
        4. Look at open incidents, ongoing maintenance, and any deploy freeze in effect.

        ## When you get paged
        1. **Acknowledge** in PagerDuty.
        2. **Assess** using the runbook linked in the alert annotation (`runbook_url`). Look at the service
           overview dashboard. Is it customer-facing? How many tenants?
        3. **Declare** if it is customer-facing or you need help: `/incident declare` in Slack creates
           `#inc-YYYYMMDD-<slug>`, a Zoom bridge and a PagerDuty incident. See the Incident management process
           for severities and roles.
        4. **Mitigate first, debug later.** Roll back, fail over, scale up, turn off the feature flag. Root
           cause analysis can wait until customers are fine.
        5. **Communicate.** Post what you know and what you are doing in the incident channel, even if it is
           "still looking".
        6. **Hand off** if the incident will outlast your energy. A tired on-call makes incidents worse.

        ## Common pages and first moves
        The runbook linked from the alert is always the authority. This table is a cheat sheet for the pages
        that make up most of our volume.

        | Alert | First thing to look at | Most common fix |
        |---|---|---|
        | `RoutePlannerConsumerLagHigh` | Is the lag on all partitions or a few? | See the runbook; beware of rebalance storms |
        | `RoutePlannerOptimizeLatencyHigh` | Solver CPU throttling, OSRM latency | Scale route-planner; check for one tenant sending huge problems |
        | `WmsScannerSyncBacklog` | One DC or all DCs? | One DC: site network; all: wms-db locks |
        | `PgBouncerClientWaiting` | Is it the 1st of the month? | Long transactions or the invoice run |
        | `DriverBffErrorRate` | Which dependency errors: gatekeeper, Redis, S3? | Follow the dependency; driver-bff itself rarely breaks |
        | `RefundDLQNotEmpty` | Provider status pages | Replay after the provider recovers |
        | `VaultSealed` | KMS permissions, raft quorum | Restart the sealed pod after fixing permissions |
        | `KubeNodesNotReadyMany` | AWS Health Dashboard | Declare an incident; it is rarely us |

        If the alert has fired before in the last month, search #sre-incidents and the OPS project for the alert
        name; someone has probably written down what they did.

        ## Working with Support during incidents
        Support talks to customers; you talk to Support. Do not reply to customers directly in shared Slack
        channels or by email during an incident, even if you know them well, because promises made in two
        places tend to disagree. What Support needs from you, in plain language:

        - which tenants, regions or features are affected (or "we do not know yet");
        - whether data is at risk or only delayed;
        - a workaround if there is one (for example "plan manually in the console", "scanners keep working
          offline");
        - when the next update will come.

        The comms lead posts this in #support with every status page update. If Support asks a question in the
        incident channel, answer it or say who will; unanswered questions from Support turn into escalations
        from customers.

        ## FAQ
        **I was paged for something that belongs to another team. What do I do?** Acknowledge, check it is not
        caused by your service, and page the owning team with `/page <team>`. Stay until they acknowledge.

        **Can I ignore a page that resolves itself after two minutes?** Acknowledge it anyway and open an
        `alert-noise` ticket if it keeps happening. Flapping alerts are data.

        **Can I deploy a fix at night?** Yes, during an incident rollbacks and fixes are allowed at any time.
        Outside incidents the normal deploy windows apply.

        **I do not know what to do.** Escalate. Nobody will ever be upset about being woken up for a real
        problem, and the secondary is there for exactly this.

        **My phone did not ring.** Check PagerDuty's notification rules and the phone's focus modes, then tell
        your manager so the page is counted as missed, not ignored.

        ## Alert hygiene
        Every page should be actionable. If you were paged and there was nothing to do, or the runbook did not
        help, open an OPS ticket with the label `alert-noise` before the end of your shift. The weekly ops review
        (Thursday 14:00 CET) goes through all `alert-noise` tickets. Alerts that page more than three times in a
        month without action are demoted to Slack-only or deleted.

        ## Escalation contacts
        | Need | Who | How |
        |---|---|---|
        | Second pair of hands | Your secondary | PagerDuty "Escalate" |
        | Another team's service | That team's primary | `/page <team>` in Slack |
        | Security concern | Security on-call | `/page security` |
        | AWS-level problem | AWS Enterprise Support | Case severity "Business-critical", via console |
        | Customer communication | Support lead on shift | #support, pinned rota |
        | Business decision (e.g. disable a feature for all tenants) | VP Engineering, Ethan Brooks | Phone via PagerDuty |

        ## Handover note template
        ```text
        Shift: 2025-W37, SRE Primary, Ben Adeyemi
        Pages: 6 (2 out of hours)
        Incidents: SEV2 2025-09-12 route plan delays (OPS follow-ups filed)
        Noise: KubeHpaMaxedOut paged twice for driver-bff, no action needed -> OPS ticket with label alert-noise
        Ongoing: ClickHouse ch-prod-03 disk at 81%, Data Platform watching
        Watch out: invoice run on the 1st, PgBouncer alerts likely if the run is slow
        ```

        ## Shadowing and reverse shadowing
        New people on a rotation start with one **shadow** shift: they receive every page on a secondary
        schedule, join every incident call, and write down every question. After the first shift on the
        rotation itself, they do one **reverse shadow** shift: they are primary, and an experienced engineer
        receives the same pages as backup and stays silent unless asked. This is the moment to practise
        declaring incidents and writing status updates while someone has your back.

        Shadow shifts are paid like secondary shifts. Add them in PagerDuty as an override on the "Shadow"
        schedule of your team, so that they show up in the on-call report.

        ## Your on-call kit
        - Laptop with charger, and a phone with the PagerDuty app. A mobile hotspot or a second SIM is
          strongly recommended if your home internet is not reliable.
        - YubiKey on your keyring, not in the laptop bag that stays in the office.
        - Bookmarks: Grafana "Service Overview" for your services, the runbooks index, the status page admin,
          ArgoCD, the PagerDuty incident list.
        - The `nwctl` CLI logged in at the start of the shift (tokens last 12 hours; log in again in the
          evening if your shift spans the night).
        - Numbers for the escalation contacts in your phone, in case Slack itself is the problem.

        If something in this kit is missing or broken at the start of your shift, fix it before anything
        else or swap the shift; a page at 03:00 is not the time to discover that the YubiKey is in the office.

        ## Looking after yourself
        - If you were paged more than twice between 00:00 and 06:00, hand the next night to your secondary and
          tell your manager. That is expected, not a favour.
        - After a night with more than two hours of incident work, take the next morning off.
        - Nobody should be on call more than one week in four. If your rotation is smaller than four people,
          tell your manager; that is a staffing problem, not yours.

        ## Compensation
        On-call is paid: EUR{nbsp}350 per week as primary, EUR{nbsp}150 per week as secondary, plus time off in lieu for
        out-of-hours incident work. Log incident time in the HR system under "On-call incident time" by the end
        of the month. The details are in the HR space.

        ## Training
        Before joining a rotation you need: the on-call training (90 minutes, recorded), one shadow shift, and
        one game day. Game days run monthly on staging; the calendar is pinned in #sre.
        """, parent="sre-home", labels=["on-call", "handbook", "pagerduty"], author="priya",
          editors=("ben", "nadia", "priya"), created="2024-01-29", updated="2025-08-21", version=22)

    cpage("incident-mgmt", "SRE", "Incident management process", """
        !toc

        ## Why this exists
        Incidents go better when everyone knows the roles, the communication rhythm and the definition of
        severities in advance. This process applies to every production incident, whoever finds it.

        ## Severity levels
        | Severity | Definition | Examples | Response |
        |---|---|---|---|
        | SEV1 | A core flow is down or wrong for many tenants, data loss or corruption, or a confirmed security breach | Route planning fails for all EU tenants; drivers cannot start routes; payments double-charged; tenant data exposed to another tenant | IC assigned immediately, VP Engineering informed, status page within 15 min, updates every 30 min |
        | SEV2 | Significant degradation with a workaround, or one Enterprise tenant fully down | Plans delayed by 30+ min; one DC cannot scan; POD photos not uploading | IC assigned, status page if customer-visible, updates every 60 min |
        | SEV3 | Minor impact, few users, no data risk | A report is slow; a single webhook endpoint failing | Handled by the on-call in the team channel |
        | SEV4 | No customer impact, near miss | Alert fired, capacity close to limit | Ticket, optional learning review |

        When in doubt, pick the higher severity. Downgrading later is cheap; upgrading late is not.

        ## Roles
        - **Incident commander (IC)**: coordinates, decides, keeps time. The IC does not debug. For SEV1 the IC
          is an experienced on-call or an engineering manager, never the person debugging.
        - **Ops lead**: drives the technical investigation and mitigation; pulls in experts.
        - **Comms lead**: updates the status page (`status.northwind.example`), Support and, for SEV1, the
          executive channel. Uses the templates in Statuspage.
        - **Scribe**: keeps the timeline in the incident channel with UTC times. Often the comms lead in SEV2.

        ## Lifecycle
        1. **Declare**: `/incident declare sev2 "Route plans delayed for EU tenants"`. The bot creates
           `#inc-YYYYMMDD-<slug>`, a Zoom bridge and a PagerDuty incident, and posts to #sre-incidents.
        2. **Mobilise**: the IC assigns roles in the channel topic.
        3. **Mitigate**: stop the bleeding. Rollbacks are always allowed during an incident, even during a
           change freeze.
        4. **Resolve**: customer impact is over. Status page set to resolved. The IC posts a summary.
        5. **Follow up**: postmortem and action items.

        ## Communication rhythm
        | Audience | SEV1 | SEV2 |
        |---|---|---|
        | Incident channel | Continuous | Continuous |
        | Status page | Within 15 min, then every 30 min | Within 30 min if customer-visible, then every 60 min |
        | #support | With every status page update | With every status page update |
        | Executives (#exec-incidents) | At declaration and every hour | At resolution |
        | Affected Enterprise tenants | Account managers call within 1 hour | Email within 4 hours |

        ## Postmortems
        Every SEV1 and SEV2 gets a written, blameless postmortem within **5 business days**, using the template
        under **Postmortems**. SEV3s get one when the on-call thinks there is something to learn.

        - Blameless means we describe what people did and why it made sense at the time. "Human error" is
          never a root cause; the question is why the system allowed it.
        - Action items are OPS (or team project) tickets with the label `postmortem`, an owner and a due date.
          High-priority action items are due within 30 days.
        - Postmortems are presented at the Thursday ops review.

        ## Security incidents
        Security incidents follow the same structure, but the channel is private, the IC is from Security, and
        nothing is posted in #sre-incidents beyond "security incident in progress, contact Security". See
        **Reporting a security incident** in the ENG space.
        """, parent="sre-home", labels=["incident", "process", "severity"], author="priya",
          editors=("ethan", "priya"), created="2024-02-05", updated="2025-07-03", version=15)

    cpage("deploy-freeze", "SRE", "Production deploy windows and change freezes", """
        We want to deploy often, but not when nobody is around to fix a bad deploy, and not when our customers
        are at peak volume.

        ## Normal deploy windows
        - Production deploys are allowed **Monday to Thursday 08:00-17:00 CET** and **Friday 08:00-15:00 CET**.
        - No production deploys from Friday 15:00 CET until Monday 08:00 CET, or on public holidays in the
          Netherlands and Germany, without approval from the SRE on-call.
        - NA-only changes (`nw-prod-use1`) may deploy until 17:00 US Eastern Monday to Thursday.
        - Database migrations on `wms-db` are not run between 01:00 and 04:00 local DC time because of cycle
          counts.

        `nwctl release promote` enforces the windows and refuses outside them unless `--exception <JIRA-KEY>`
        references an approved exception.

        ## Peak season freeze
        From **24 November to 2 January** our customers ship their highest volumes of the year. During this
        period:

        - Only fixes for incidents, security patches and pre-approved changes go to production.
        - Every production change needs approval from the VP Engineering (Ethan Brooks) or a delegate in
          #deploy-exceptions, using the template below.
        - Infrastructure changes (Terraform apply in prod, Kubernetes upgrades, database parameter changes) are
          not allowed at all unless they fix an incident.

        ## Requesting an exception
        Post in #deploy-exceptions:

        ```text
        Service: billing-api
        Change: MR payments/billing-api!NNN - fix VAT rounding for CH tenants
        Why now: invoices for Swiss tenants are wrong on the next run (1 Dec)
        Risk: low, single calculation path, covered by tests
        Rollback: nwctl release rollback billing-api (previous image)
        Ticket: PAY-xxx
        ```

        ## Always allowed
        Rollbacks and feature flag changes that turn a feature **off** are allowed at any time. Turning
        features **on** counts as a change.
        """, parent="sre-home", labels=["deploy", "policy", "change-freeze"], author="priya",
          editors=("ethan", "priya"), created="2024-10-21", updated="2025-09-29", version=6)

    cpage("runbooks", "SRE", "Runbooks", """
        Runbooks are linked from the `runbook_url` annotation of every paging alert. A runbook must tell a tired
        on-call what to check and what to do in the first 15 minutes. Keep them short; link to deeper docs.

        !children
        """, parent="sre-home", labels=["runbook"], author="priya", created="2024-01-22", updated="2025-09-16")

    cpage("rb-kafka-lag", "SRE", "Runbook: Kafka consumer lag on route-planner-ingest", """
        ## Alert
        `RoutePlannerConsumerLagHigh` pages Routing Primary when the total lag of consumer group
        `route-planner-ingest` on topic `orders.v2` is **above 50,000 messages for 10 minutes**. A Slack-only
        warning (`RoutePlannerConsumerLagWarning`) fires at 20,000.

        ```yaml
        - alert: RoutePlannerConsumerLagHigh
          expr: sum(kafka_consumergroup_lag{consumergroup="route-planner-ingest", topic="orders.v2"}) > 50000
          for: 10m
          labels: {severity: page, team: routing}
        ```

        ## Impact
        Orders that have not been ingested cannot be planned. Tenants on auto-planning (05:30 local) get plans
        without their latest orders; dispatchers see orders missing in the console. At a normal ingest rate of
        around 900 orders/s, 50k messages is roughly one minute behind, but lag during the morning batch can
        grow quickly.

        ## Diagnose
        1. Grafana: "Kafka / Consumer Groups", select `route-planner-ingest`. Is lag spread over all 48
           partitions or concentrated on a few?
        2. Check for rebalance loops: in Loki, `{app="route-planner", component="ingest"} |= "rebalance"`. Many
           rebalances per minute usually mean `max.poll.interval.ms` (300 s) is exceeded because a batch is slow.
        3. Check `routing-db`: slow inserts show up as high `route_planner_ingest_batch_seconds` p99.
        4. Partition skew: one very large tenant (keys are tenant ids) can make a few partitions lag while the
           rest are idle.

        ```bash
        nwctl kube ctx nw-prod-euw1
        kubectl -n kafka-tools exec deploy/kafka-cli -- \\
          kafka-consumer-groups.sh --bootstrap-server $MSK_BOOTSTRAP \\
          --describe --group route-planner-ingest | sort -k6 -n -r | head -20
        ```

        ## Mitigate
        - **Scale ingest**: `kubectl -n routing scale deploy/route-planner-ingest --replicas=48`. More replicas
          than partitions (48) does nothing.
        - **Rebalance loop**: lower `INGEST_MAX_POLL_RECORDS` (default 500) to 200 via the Helm value
          `ingest.maxPollRecords` and roll the deployment.
        - **Database slow**: check for blocking queries on routing-db; kill long-running analytics queries from
          the read-only roles first.
        - **Auto-planning**: if lag will not recover before 05:30 local in a region, ask the Routing lead to
          delay auto-planning for affected tenants (`routing.autoplan-delay` flag).

        !warning: Do not reset consumer offsets to latest. Skipped orders are never planned and have to be replayed by hand. Offset changes need the Routing lead.

        ## Background
        The partition count went from 24 to 48 after the September 2025 incident; see the postmortem
        "2025-09-12 Route plans delayed for EU tenants".
        """, parent="runbooks", labels=["runbook", "kafka", "route-planner"], author="mei",
          editors=("priya", "mei"), created="2024-06-03", updated="2025-09-23", version=9)

    cpage("rb-pgbouncer", "SRE", "Runbook: PgBouncer saturation on billing-db", """
        ## Alert
        `PgBouncerClientWaiting` pages Payments Primary when more than 50 clients have been waiting for a server
        connection (`cl_waiting`) for 2 minutes on `pgbouncer-billing`. Background in ADR-009.

        ## Current configuration
        `pgbouncer-billing` runs 3 replicas in namespace `billing`. The pool size is **400 server connections
        per replica** (1,200 total across the three replicas) against `max_connections = 1500` on billing-db;
        the rest is headroom for migrations, replication and admin sessions.

        ```ini
        [pgbouncer]
        pool_mode = transaction
        max_client_conn = 5000
        default_pool_size = 400
        reserve_pool_size = 50
        reserve_pool_timeout = 3
        server_idle_timeout = 300
        query_wait_timeout = 30
        ```

        ## Diagnose
        ```bash
        kubectl -n billing exec deploy/pgbouncer-billing -- psql -p 6432 -U pgbouncer pgbouncer -c "SHOW POOLS;"
        kubectl -n billing exec deploy/pgbouncer-billing -- psql -p 6432 -U pgbouncer pgbouncer -c "SHOW CLIENTS;"
        ```

        - `sv_active` at 400 and `cl_waiting` growing: the database is slow or transactions are long. Look at
          `pg_stat_activity` on billing-db for `idle in transaction` and long-running queries.
        - `sv_active` low but `cl_waiting` high: PgBouncer itself is CPU-bound (rare); scale the deployment.
        - During the invoice run (1st of the month, 03:00-07:00 UTC), `invoice-runner` holds many connections.

        ## Mitigate
        1. Kill `idle in transaction` sessions older than 5 minutes:
           `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '5 minutes';`
        2. If the invoice run is the cause and customers' payments are failing, pause it:
           `kubectl -n billing scale deploy/invoice-runner --replicas=0` and tell #payments-eng.
        3. Do not raise `default_pool_size` without checking `max_connections`; the total across replicas
           must stay below it.
        """, parent="runbooks", labels=["runbook", "postgres", "pgbouncer", "payments"], author="aisha",
          editors=("priya", "aisha"), created="2024-07-15", updated="2025-06-24", version=7)

    cpage("rb-redis", "SRE", "Runbook: Redis memory pressure", """
        We run two ElastiCache clusters. Check which one alerted before doing anything.

        | Cluster | Used for | Eviction policy | Alert |
        |---|---|---|---|
        | `redis-sessions` | Driver and console sessions (gatekeeper, driver-bff) | `noeviction` | `RedisSessionsMemoryHigh` at 75% |
        | `redis-cache` | Matrix cache, rate-limit counters, misc caches | `allkeys-lru` | `RedisCacheEvictionsHigh` (Slack only) |

        ## redis-sessions
        With `noeviction`, a full instance **rejects writes**: new logins and token refreshes fail with
        `OOM command not allowed when used memory > 'maxmemory'`. Existing sessions keep working until they
        need a refresh.

        1. Check the key count and memory per prefix:
           `redis-cli -h redis-sessions.nw.internal --bigkeys` and `INFO memory`.
        2. The usual culprit is a client creating sessions without TTL. All session keys (`sess:*`) must have a
           TTL of at most 30 days. Find keys without TTL with the `find-no-ttl` script in
           `platform/infrastructure/scripts/redis/`.
        3. Short term: scale the node type up (`cache.r7g.xlarge`) via Terraform; this is an online operation
           but takes about 20 minutes.

        ## redis-cache
        Evictions are normal for a cache. Page only if the hit rate for the matrix cache
        (`route_planner_matrix_cache_hit_ratio`) drops below 0.6, because that multiplies OSRM load.

        ## History
        Until August 2025 sessions and caches shared one cluster with `allkeys-lru`, which caused drivers to be
        signed out when caches grew. Background in ADR-015.
        """, parent="runbooks", labels=["runbook", "redis"], author="ben", editors=("ben",),
          created="2025-08-26", updated="2025-09-10", version=4)

    cpage("rb-tls", "SRE", "Runbook: Renewing the public wildcard TLS certificate", """
        !warning: The current `*.northwind.example` certificate expires on **2025-11-28**. The `PublicCertExpiringSoon` alert fires 30 days before expiry and pages SRE 7 days before.

        Internal certificates (`*.nw.internal`) are issued and renewed automatically by cert-manager from the
        Vault PKI and need no action. The public wildcard certificate for `*.northwind.example` (used by
        `api.northwind.example`, `console.northwind.example`, `auth.northwind.example`) is an OV certificate
        from DigiCert and is renewed **manually once a year**. It is served in two places: ingress-nginx in
        both production clusters, and AWS ACM for the CloudFront distribution in front of the console.

        ## 1. Create a key and CSR
        ```bash
        openssl req -new -newkey rsa:2048 -nodes \\
          -keyout wildcard-2025.key -out wildcard-2025.csr \\
          -subj "/C=NL/L=Rotterdam/O=Northwind Logistics B.V./CN=*.northwind.example"
        ```
        Do this on your laptop inside an encrypted disk image, never in a shared directory.

        ## 2. Order the renewal in DigiCert CertCentral
        Log in through the Okta tile "DigiCert". Choose "Renew" on the existing order so the validation carries
        over. Domain control is validated with a DNS TXT record in Route 53 (`_dnsauth.northwind.example`);
        SRE has write access to the hosted zone.

        ## 3. Store the certificate in Vault
        ```bash
        vault kv put secret/sre/public-tls/prod \\
          tls.crt=@wildcard-2025-fullchain.pem tls.key=@wildcard-2025.key
        ```
        External Secrets syncs it into the Kubernetes secret `public-wildcard-tls` in the `ingress-nginx`
        namespace within 5 minutes in both clusters. ingress-nginx reloads without downtime.

        ## 4. Update ACM for CloudFront
        Import the same certificate into ACM in `us-east-1` (CloudFront requires that region) and switch the
        console distribution to the new ARN in `terraform/cloudfront/console.tf`.

        ## 5. Verify
        ```bash
        for h in api.northwind.example api.us.northwind.example console.northwind.example auth.northwind.example; do
          echo | openssl s_client -connect $h:443 -servername $h 2>/dev/null | openssl x509 -noout -enddate
        done
        ```

        ## 6. Clean up
        Delete the local key and CSR, update the expiry date at the top of this page and set a calendar reminder
        for 45 days before the next expiry.
        """, parent="runbooks", labels=["runbook", "tls", "certificates", "ingress"], author="nadia",
          editors=("nadia",), created="2024-11-04", updated="2025-09-16", version=5)

    cpage("rb-pg-failover", "SRE", "Runbook: Postgres failover and replica promotion", """
        !warning: Restricted to SRE. Failing over a primary interrupts every writer for 30-120 seconds.

        ## When
        - RDS Multi-AZ failover did not happen automatically and the primary is unreachable for more than 5
          minutes.
        - Planned maintenance that requires a reboot with failover.

        ## Forced failover
        ```bash
        aws rds reboot-db-instance --db-instance-identifier wms-db-prod --force-failover
        ```
        Expect 60-120 s of errors. Applications reconnect on their own; `wms-core` needs a rollout restart if
        its Hikari pool holds stale connections (`kubectl -n wms rollout restart deploy/wms-core`).

        ## Promoting a read replica (disaster case)
        Only if the Multi-AZ pair is lost. Promotion breaks replication permanently and the replica becomes a
        standalone instance.

        1. Stop writers: scale the service to 0.
        2. `aws rds promote-read-replica --db-instance-identifier <replica>`.
        3. Update the CNAME `<db>.db.nw.internal` in Route 53 (TTL 30 s) to the promoted instance.
        4. Re-create Debezium replication slots; Data Platform must re-snapshot CDC for that database.
        5. Scale the service back up and verify writes.

        ## Afterwards
        Rebuild replicas, confirm backups run on the new primary, open a postmortem.
        """, parent="runbooks", labels=["runbook", "postgres", "failover"], author="priya", restrict="sre",
          created="2024-04-08", updated="2025-03-25")

    cpage("rb-argocd", "SRE", "Runbook: ArgoCD application stuck OutOfSync or Progressing", """
        ## Symptoms
        An application in `argocd.nw.internal` stays `OutOfSync` after a promotion, or stays `Progressing` for
        more than 10 minutes. `ArgoAppNotSynced` posts to the team channel after 15 minutes.

        ## Checks
        1. Open the app, look at the resource tree. A red pod usually means the new image does not start:
           `kubectl -n <ns> describe pod <pod>` and look for `ImagePullBackOff` or `CrashLoopBackOff`.
        2. `ImagePullBackOff` with `manifest unknown`: the CI pipeline did not push the tag. Check the pipeline
           for the promoted version.
        3. Diff that never resolves (always OutOfSync): a controller mutates a field (HPA changing replicas,
           webhook injecting annotations). Add an `ignoreDifferences` entry in the Application spec.
        4. Sync failed with `the server could not find the requested resource`: a CRD is missing in this
           cluster, often after adding an operator only in staging.

        ## Actions
        - Roll back: `nwctl release rollback <service>` sets the previous image tag in git; ArgoCD follows.
        - Never edit resources with kubectl in production to "make it green": ArgoCD will revert it, or worse,
          it will not and the cluster drifts from git.
        - Hard refresh (`argocd app get <app> --hard-refresh`) if the repo server cached an old manifest.
        """, parent="runbooks", labels=["runbook", "argocd", "deploy"], author="nadia", created="2024-05-13",
          updated="2025-04-30")

    cpage("rb-node-notready", "SRE", "Runbook: Kubernetes node NotReady", """
        ## Alert
        `KubeNodeNotReady` (Slack) when one node is NotReady for 5 minutes; `KubeNodesNotReadyMany` (page) when
        more than 10% of nodes in a node group are NotReady.

        ## One node
        Usually an EC2 instance problem. Karpenter replaces nodes that fail health checks. If the node is still
        there after 15 minutes:

        ```bash
        kubectl cordon <node>
        kubectl drain <node> --ignore-daemonsets --delete-emptydir-data --timeout=10m
        aws ec2 terminate-instances --instance-ids <id>
        ```

        Check PodDisruptionBudgets if the drain hangs; `vrp-solver` has none, `wms-core` allows one pod.

        ## Many nodes
        Suspect something shared: the VPC CNI (IP exhaustion in a subnet shows as pods stuck in
        `ContainerCreating` with `failed to assign an IP address`), an AMI rollout, or an AZ problem. Check the
        AWS Health Dashboard, then declare an incident.

        ## ClickHouse nodes
        `ch-prod-*` are EC2 instances outside Kubernetes and are not covered by this runbook.
        """, parent="runbooks", labels=["runbook", "kubernetes"], author="ben", created="2024-03-18",
          updated="2025-01-09")

    cpage("rb-geocoder", "SRE", "Runbook: Geocoder degradation (MapGrid)", """
        ## Alert
        `GeocoderCircuitOpen` pages Routing Primary when the geocoder client in route-planner has opened its
        circuit breaker for MapGrid in more than half of the pods for 5 minutes.

        ## What happens automatically
        While the circuit is open, route-planner sends geocoding requests to our self-hosted Nominatim
        (`nominatim.nw.internal`). Nominatim is good for city addresses and weak for rural addresses and new
        housing estates, so the share of low-confidence geocodes (yellow pins in the console) goes up. Orders
        keep flowing; planning does not stop.

        ## Checks
        1. MapGrid status page and the #vendor-mapgrid shared channel.
        2. Grafana "Routing / Geocoding": error rate by status code. `429` means we exceeded our contract quota
           (2,000 requests/s); `5xx` or timeouts mean MapGrid is unhealthy.
        3. If it is our quota: a tenant bulk import is usually the reason. Find it with
           `{app="route-planner"} |= "geocode" | json | line_format "{{.tenant_id}}"` and ask Support to contact
           the tenant.

        ## Actions
        - Nothing to do if Nominatim keeps up. Watch `nominatim_request_duration_seconds`.
        - If Nominatim is overloaded, scale it (`kubectl -n routing scale deploy/nominatim --replicas=6`); it needs
          about 3 minutes to warm its cache.
        - After MapGrid recovers, re-geocode low-confidence orders for the affected window with
          `nwctl routing regeocode --since <time> --confidence-below 0.7`.
        """, parent="runbooks", labels=["runbook", "geocoding", "route-planner"], author="oskar",
          editors=("mei", "oskar"), created="2025-04-07", updated="2025-07-30")

    cpage("rb-wms-sync", "SRE", "Runbook: WMS scanner sync backlog", """
        ## Alert
        `WmsScannerSyncBacklog` pages Warehouse Primary when more than 2,000 scans are queued server-side for one
        DC for 5 minutes, or when any handheld reports an offline queue older than 15 minutes.

        ## Impact
        Picks are confirmed on the handheld but not in wms-core, so stock levels lag, waves cannot be closed and
        shipment confirmations to customer ERPs are delayed.

        ## Checks
        1. Grafana "Warehouse / Scanner sync" per DC. Is it one DC (network) or all (backend)?
        2. One DC: usually Wi-Fi or the DC's internet uplink. Ask the DC shift lead in #dc-ops; the site
           contacts are pinned there.
        3. All DCs: check wms-core pods and `wms-db` locks. `SELECT * FROM pg_locks WHERE NOT granted;` on the
           replica shows waiting lock requests. Cycle counts at 02:00 local time can cause short spikes.
        4. Sequence gaps (`WMS-4402`) in the logs are harmless; devices resend.

        ## Actions
        - Backend slow: scale is fixed at 8 pods because of the DB pool budget; do not scale up. Restart pods
          stuck in full GC (look for `GC overhead` in logs).
        - Deadlocks: see the postmortem of March 2025; the `sync-apply` worker can be paused per DC with the
          flag `warehouse.sync-apply-paused.<DC>`.
        """, parent="runbooks", labels=["runbook", "wms", "scanners"], author="arjun", editors=("yusuf", "arjun"),
          created="2024-08-20", updated="2025-04-02")

    cpage("rb-vault", "SRE", "Runbook: Vault sealed or unavailable", """
        !warning: Restricted to SRE. Vault is tier 0: if it is down, pods that start or rotate credentials fail.

        ## Symptoms
        `VaultSealed` or `VaultLeaderMissing` pages SRE Primary. New pods hang in `Init:0/1` (vault-agent init
        container), and services using dynamic DB credentials start failing when leases expire (1 h).

        ## Checks
        ```bash
        vault status -address=https://vault.nw.internal
        kubectl -n vault get pods -o wide
        kubectl -n vault logs vault-0 | grep -i -E "seal|raft|leader"
        ```

        ## Actions
        - Auto-unseal uses AWS KMS key `alias/vault-unseal-prod`. If pods are sealed, check the KMS key policy
          and the IRSA role `vault-server`; a sealed Vault with KMS reachable should unseal on pod restart.
        - Raft without quorum (2 of 3 pods down): restore the third pod first; do not run `raft remove-peer`
          unless a node is permanently gone.
        - Extend leases proactively during a long outage: services keep working with their current credentials
          until the lease TTL.
        - Recovery keys are in the break-glass safe (see Break-glass access procedure); two SRE plus the Head of
          Security are required.
        """, parent="runbooks", labels=["runbook", "vault", "tier0"], author="priya", restrict="sre",
          created="2024-09-09", updated="2025-02-17")

    cpage("rb-break-glass", "SRE", "Break-glass access procedure", """
        !warning: Restricted to SRE. Every use is reviewed by Security the next working day.

        Use break-glass only during a SEV1 when just-in-time access (`nwctl access request`) is unavailable, for
        example when Okta or gatekeeper is down.

        1. Open the 1Password vault "SRE Break Glass" (requires two SRE approvals in the 1Password app).
        2. Use the `breakglass-admin` AWS IAM user credentials with the hardware MFA token from the Rotterdam
           office safe, or the virtual MFA seed stored in the vault for remote SRE.
        3. Post in #sec-ops: who, when, which incident, what you are about to do.
        4. After the incident: rotate the break-glass credentials, document every command in the incident
           timeline, and open a SEC ticket for the review.
        """, parent="runbooks", labels=["runbook", "security", "break-glass"], author="priya", restrict="sre",
          created="2024-05-02", updated="2025-05-15")

    cpage("postmortems", "SRE", "Postmortems", """
        Blameless postmortems for SEV1 and SEV2 incidents (and interesting SEV3s). Payments postmortems that
        involve cardholder data live in the PAY space and are linked here.

        ## Template
        ```text
        Title: <date> <short description>
        Severity / Duration / Incident commander / Authors
        Summary (3-5 sentences, customer impact in numbers)
        Timeline (UTC)
        Root cause and contributing factors
        Detection: how did we find out, how long did it take
        What went well / what went poorly / where we got lucky
        Action items (Jira key, owner, due date)
        ```

        ## Index
        | Date | Incident | Severity |
        |---|---|---|
        | 2025-09-12 | Route plans delayed for EU tenants | SEV2 |
        | 2025-06-18 | Duplicate card charges (PAY space) | SEV1 |
        | 2025-05-07 | Internal DNS failures after CoreDNS add-on upgrade | SEV2 |
        | 2025-03-19 | RTM1 scanners stalled by database deadlocks | SEV2 |
        | 2024-11-14 | iOS push notifications down after APNs certificate expiry | SEV2 |

        !children
        """, parent="sre-home", labels=["postmortem"], author="priya", created="2024-01-22", updated="2025-09-19")

    cpage("pm-kafka-lag", "SRE", "Postmortem: 2025-09-12 route plans delayed for EU tenants", """
        | | |
        |---|---|
        | Severity | SEV2 |
        | Duration | 02:52-05:40 UTC (2 h 48 min of customer impact) |
        | Incident commander | Ben Adeyemi |
        | Ops lead | Mei Chen |
        | Comms | Marcus Bell |
        | Authors | Mei Chen, Ben Adeyemi |
        | Status | Action items in progress |

        ## Summary
        On Friday 12 September 2025 the `route-planner-ingest` consumer group fell behind on `orders.v2` and
        peaked at **412,000 messages of lag**. Auto-planning ran at 05:30 local time for 31 EU tenants while
        their latest orders had not been ingested: 1,870 orders were missing from morning plans. Four Enterprise
        tenants (Brightline Grocers, UrbanCrate, Polar Foods, Kestrel Pharma) re-planned manually after
        ingestion caught up, and drivers at 11 depots left between 20 and 70 minutes late. No orders were lost.

        ## Timeline (UTC)
        | Time | Event |
        |---|---|
        | 02:31 | UrbanCrate's new ERP integration re-sends about 600,000 orders (a full week) after their ERP migration |
        | 02:38 | Lag on partition 17 (UrbanCrate's key) starts growing; ingest batches for that partition take 40-90 s |
        | 02:47 | First consumer exceeds `max.poll.interval.ms` (300 s) and is removed from the group; rebalance |
        | 02:52 | Rebalance storm begins: with the eager protocol every rebalance stops all 24 consumers |
        | 03:02 | `RoutePlannerConsumerLagHigh` fires (lag above 50,000 for 10 min); pages Routing Primary, Oskar Nowak |
        | 03:04 | Oskar acknowledges, follows the runbook, scales ingest from 12 to 24 replicas (= partitions) |
        | 03:15 | Scaling makes rebalances longer; lag at 180,000. Oskar declares SEV2, Ben takes IC |
        | 03:30 | Auto-planning runs at 05:30 CEST for EU tenants, with incomplete orders |
        | 03:41 | Mei joins, finds the slow upsert on `orders (tenant_id, external_ref)`: sequential scans for UrbanCrate |
        | 03:58 | `ingest.maxPollRecords` lowered from 500 to 100 and deployed; rebalances stop |
        | 04:05 | UrbanCrate's integration client throttled to 50 requests/s at the gateway, with their agreement |
        | 04:20 | Support starts calling affected Enterprise tenants; status page updated |
        | 05:40 | Lag below 5,000; all orders ingested; incident resolved |
        | 07:10 | Last manual re-plans finished |

        ## Root cause
        Three things combined:

        1. **A single hot partition.** `orders.v2` was keyed by tenant id with 24 partitions. A burst from one
           tenant went to one partition and one consumer, no matter how far we scaled.
        2. **A missing index.** Deduplication is an upsert on `(tenant_id, external_ref)`. The composite index
           existed for `orders_2024` but was not created on the `orders_2025` partition of the table, because
           the partition was created by a script that did not copy indexes. For most tenants the table scan was
           fast enough to go unnoticed; for UrbanCrate's 600k-row burst it was not.
        3. **Eager rebalancing.** Slow batches exceeded `max.poll.interval.ms`, the consumer was kicked out,
           and with the eager assignor every rebalance paused all consumers. Each rebalance took longer as we
           added replicas, so scaling out made it worse.

        ## Detection
        The alert fired 10 minutes after lag crossed 50,000, as designed, but 31 minutes after the problem
        started on partition 17. A per-partition lag alert would have caught it around 02:45.

        ## What went well
        - The runbook was followed and the on-call escalated quickly when it did not help.
        - Support and the comms lead contacted Enterprise tenants before most of them noticed.
        - No order was lost; offsets were not reset (the runbook warning worked).

        ## What went poorly
        - The runbook's first action (scale out) made the rebalance storm worse.
        - We had no limit on how fast a single tenant can push orders.
        - The missing index existed for eight months without anyone noticing.

        ## Where we got lucky
        It was a Friday in September, not a Monday in November. At peak season volumes the same burst would
        have affected NA auto-planning too.

        ## Action items
        | Ticket | Action | Owner | Status |
        |---|---|---|---|
        | {{J:kafka-lag}} | Switch ingest to the cooperative-sticky assignor and lower max.poll.records to 200 | Mei Chen | Done ({{MR:kafka-coop}}) |
        | {{J:kafka-partitions}} | Increase orders.v2 to 48 partitions and key by tenant and depot | Nadia Petrova | Done |
        | {{J:kafka-index}} | Add the missing index; check every partition of partitioned tables in CI | Oskar Nowak | Done |
        | {{J:bulk-import-limit}} | Per-tenant rate limit for order intake | Grace Liu / Oskar Nowak | In progress |
        | {{J:lag-alert-partition}} | Per-partition lag alert (10,000 on any partition for 5 min) | Ben Adeyemi | To do |

        The Slack thread from the incident: [#sre-incidents thread]({{SL:kafka-incident}}).
        """, parent="postmortems", labels=["postmortem", "kafka", "route-planner", "sev2"], author="mei",
          editors=("ben", "mei"), created="2025-09-15", updated="2025-09-26", version=7)

    cpage("pm-wms-deadlock", "SRE", "Postmortem: 2025-03-19 RTM1 scanners stalled by database deadlocks", """
        **Severity:** SEV2 -- **Duration:** 06:12-06:53 UTC -- **IC:** Priya Raman -- **Authors:** Arjun Mehta

        ## Summary
        For 41 minutes at the start of the morning shift, handhelds at the Rotterdam DC (RTM1) could not sync
        picks. About 9,400 scans queued on devices; waves could not be closed and the first trucks left 35
        minutes late. Other DCs saw brief delays only.

        ## Root cause
        The `sync-apply` worker, which applies queued scans, and the replenishment job both update rows in
        `stock_level`. Sync-apply updated rows in scan order; replenishment updated them ordered by SKU. When
        both touched the same bins in opposite order, Postgres detected deadlocks and aborted one transaction.
        Sync-apply retried immediately, which produced a deadlock storm: 2,300 deadlocks in 30 minutes. The
        replenishment job had been moved from 05:00 to 06:00 UTC the previous week for a customer, which put it
        right on top of the morning shift.

        ## Fix
        Both code paths now lock `stock_level` rows in a fixed order (`bin_id`, then `sku_id`) with
        `SELECT ... FOR UPDATE` before updating, and sync-apply retries deadlocks with jittered backoff instead of
        immediately. See {{J:wms-deadlock}} and {{MR:wms-lock-order}}.

        ## Action items
        - Lock ordering in both writers -- done.
        - Alert on `pg_stat_database.deadlocks` rate for wms-db -- done.
        - Scheduling rule: no replenishment jobs within 30 minutes of a DC's shift start -- done.
        """, parent="postmortems", labels=["postmortem", "wms", "postgres", "sev2"], author="arjun",
          editors=("priya", "arjun"), created="2025-03-21", updated="2025-04-04")

    cpage("pm-dns", "SRE", "Postmortem: 2025-05-07 internal DNS failures after CoreDNS add-on upgrade", """
        **Severity:** SEV2 -- **Duration:** 13:04-13:27 UTC -- **IC:** Ben Adeyemi -- **Authors:** Nadia Petrova

        ## Summary
        After upgrading the EKS CoreDNS add-on in `nw-prod-euw1`, DNS lookups inside the cluster timed out
        intermittently for 23 minutes. `driver-bff` returned 5xx for 6% of requests, POD uploads failed and were
        retried by the apps, and route-planner could not reach OSRM for parts of the window.

        ## Root cause
        The add-on upgrade applied the add-on's default configuration, which reset the CoreDNS deployment to 2
        replicas. Our HPA for CoreDNS had been created by hand and was not in Terraform, so the upgrade removed
        it. Two CoreDNS pods could not handle peak query volume (about 38,000 queries per second, inflated by
        `ndots:5` search-path expansion).

        ## Action items
        - CoreDNS scaling configured through the add-on's `configuration_values` in Terraform -- done.
        - NodeLocal DNSCache rolled out to all production node groups -- done.
        - `ndots:2` in pod DNS config for our own services -- in progress.
        - Add-on upgrades go through staging with a load test -- done.
        """, parent="postmortems", labels=["postmortem", "dns", "kubernetes", "sev2"], author="nadia",
          created="2025-05-09", updated="2025-05-22")

    cpage("pm-apns", "SRE", "Postmortem: 2024-11-14 iOS push notifications down after APNs certificate expiry", """
        **Severity:** SEV2 -- **Duration:** 9 h 10 min -- **IC:** Priya Raman -- **Authors:** Keiko Tanaka, Jonas Lindqvist

        ## Summary
        From 03:50 to 13:00 UTC no push notifications reached iOS drivers. Route changes made by dispatchers
        during the day did not pop up on iPhones; drivers saw them only when they opened the route list. Android
        was not affected. Several tenants reported drivers driving to cancelled drops.

        ## Root cause
        `driver-bff` authenticated to Apple Push Notification service with a certificate (`.p12`) that was
        valid for one year. Its expiry was tracked in a personal calendar of an engineer who had left. APNs
        rejected connections with `403 ExpiredProviderToken`-style errors that we logged at `warn` level only.

        ## Fix
        Switched to token-based APNs authentication (`.p8` key, which does not expire) stored in Vault. Push
        delivery failures are now an error-level metric with an alert (`PushDeliveryFailureRate`).

        ## Lessons
        Anything that expires needs an owner that is a team, not a person, and an alert. The same lesson led to
        the `PublicCertExpiringSoon` alert for our TLS certificate.
        """, parent="postmortems", labels=["postmortem", "mobile", "push", "sev2"], author="keiko",
          editors=("jonas",), created="2024-11-18", updated="2024-12-02")

    alerts = [
        ("RoutePlannerConsumerLagHigh", "Routing Primary", "lag on orders.v2 above 50,000 for 10 min", "Kafka consumer lag"),
        ("RoutePlannerOptimizeLatencyHigh", "Routing Primary", "p95 optimize latency above 8 s for 15 min", "none yet"),
        ("GeocoderCircuitOpen", "Routing Primary", "circuit open in more than 50% of pods for 5 min", "Geocoder degradation"),
        ("WmsScannerSyncBacklog", "Warehouse Primary", "more than 2,000 queued scans for one DC for 5 min", "WMS scanner sync backlog"),
        ("PgBouncerClientWaiting", "Payments Primary", "cl_waiting above 50 for 2 min", "PgBouncer saturation"),
        ("RefundDLQNotEmpty", "Payments Primary", "any message in refunds.dlq for 15 min", "Refund service design (PAY)"),
        ("InvoiceRunNotFinished", "Payments Primary", "invoice run not finished by 08:00 UTC on the 1st", "Monthly invoice run (PAY)"),
        ("RedisSessionsMemoryHigh", "SRE Primary", "redis-sessions memory above 75%", "Redis memory pressure"),
        ("PublicCertExpiringSoon", "SRE Primary", "public certificate expires in less than 7 days (Slack at 30)", "Renewing the public wildcard TLS certificate"),
        ("VaultSealed", "SRE Primary", "any Vault pod sealed for 2 min", "Vault sealed or unavailable"),
        ("KubeNodesNotReadyMany", "SRE Primary", "more than 10% of a node group NotReady for 5 min", "Kubernetes node NotReady"),
        ("PushDeliveryFailureRate", "Mobile Backend", "more than 5% of pushes failing for 10 min", "none yet"),
        ("ClickHouseDiskUsageHigh", "Data Platform (business hours)", "any ch-prod node above 85% disk", "ClickHouse guide (DATA)"),
    ]
    rows = "\n".join(f"| `{a}` | {w} | {c} | {r} |" for a, w, c, r in alerts)
    cpage("alert-catalog", "SRE", "Alert catalog (paging alerts)", f"""
        All alerts that page someone. Generated quarterly from the Prometheus rules in
        `platform/infrastructure/monitoring/rules/` and checked by hand. Slack-only alerts are not listed.

        | Alert | Pages | Condition | Runbook |
        |---|---|---|---|
        {rows}

        To add a paging alert: open an MR with the rule, a `runbook_url` annotation pointing to a runbook that
        exists, and a line in this table. Alerts without a runbook are rejected in review.
        """, parent="sre-home", labels=["alerts", "monitoring"], author="ben", created="2024-04-02",
          updated="2025-09-24", version=12)

    cpage("sre-notes", "SRE", "Ops review notes", """
        Notes from the weekly ops review, Thursday 14:00 CET. Attendance: SRE plus one person per on-call
        rotation. Agenda: incidents of the week, postmortem follow-ups, alert-noise tickets, capacity.

        !children
        """, parent="sre-home", labels=["meeting-notes"], author="priya", created="2024-01-25", updated="2025-10-02")

    notes = [
        ("2025-08-28", ["priya", "ben", "oskar", "arjun", "victor", "chloe"], [
            ("Incidents", [
                "SEV2 on 2025-08-25: drivers signed out mid-route because session keys were evicted from the shared Redis. "
                "Ben walked through the timeline. ADR-015 proposes a dedicated `redis-sessions` cluster with noeviction.",
                "SEV3: Metabase down for 40 minutes after an instance type change; no customer impact.",
            ]),
            ("Alert noise", [
                "`KubeHpaMaxedOut` for driver-bff paged 4 times this week during morning peaks without action needed. "
                "Decision: make it Slack-only and raise max replicas from 18 to 24.",
                "`WmsOutboxLag` fires during cycle counts at 02:00; Arjun will add a 15-minute `for` clause.",
            ]),
            ("Capacity", [
                "ch-prod-03 disk at 78% and growing 1.5% per week; Data Platform to look at tiered storage.",
            ]),
        ], [("ben", "Terraform for redis-sessions", "{{J:redis-split}}"),
            ("arjun", "WmsOutboxLag for-clause", None),
            ("chloe", "Raise driver-bff HPA max", None)]),
        ("2025-09-18", ["priya", "ben", "nadia", "mei", "aisha", "lena"], [
            ("Incidents", [
                "SEV2 on 2025-09-12, route plans delayed for EU tenants. Mei presented the postmortem. Main learnings: the "
                "runbook told people to scale out during a rebalance storm, and a composite index was missing on the 2025 "
                "partition of `orders`.",
                "SEV3 on 2025-09-15: Stripe webhook signature failures after the ingress change in billing; fixed same day.",
            ]),
            ("Postmortem follow-ups", [
                "Cooperative-sticky assignor deployed. Partition increase to 48 planned for Tuesday 23 Sept, 06:00 UTC.",
                "Per-partition lag alert still open; Ben to pick it up next week.",
            ]),
            ("Peak season", [
                "Freeze starts 24 November. Teams to list planned infrastructure changes before 7 November.",
                "Load test of route-planner at 2x last year's November peak scheduled for 14 October on staging.",
            ]),
        ], [("nadia", "Partition increase for orders.v2", "{{J:kafka-partitions}}"),
            ("ben", "Per-partition lag alert", "{{J:lag-alert-partition}}"),
            ("priya", "Send peak freeze reminder to #engineering", None)]),
        ("2025-10-02", ["priya", "nadia", "oskar", "yusuf", "victor", "rahul"], [
            ("Incidents", [
                "No SEV1/SEV2 this week. One SEV3: the invoice run on 1 October finished at 08:40 UTC, 40 minutes past the "
                "alert threshold, because of PgBouncer waits. Payments will split the run per region.",
            ]),
            ("Alert noise", [
                "`ClickHouseDiskUsageHigh` paged out of hours although Data Platform is business hours only; routing fixed.",
            ]),
            ("Peak season readiness", [
                "Load test on 14 October confirmed. WMS team asked for an exception to deploy the new wave planner on 1 "
                "December; Priya asked for a feature flag instead so the deploy can happen before the freeze.",
                "TLS wildcard certificate expires 28 November, inside the freeze window. Nadia will renew it in the first "
                "week of November.",
            ]),
        ], [("victor", "Split invoice run per region", None),
            ("nadia", "Renew public wildcard certificate before the freeze", None)]),
    ]
    for day, attendees, sections, actions in notes:
        att = ", ".join(PEOPLE[a].name for a in attendees)
        body = "".join(f"\n### {h}\n" + "\n".join(f"- {i}" for i in items) + "\n" for h, items in sections)
        acts = "\n".join(f"| {PEOPLE[w].name} | {t} | {k.replace('{{J:', '{{JM:') if k else ''} |" for w, t, k in actions)
        md = f"**Date:** {day}\n**Attendees:** {att}\n\n## Notes\n{body}\n## Action items\n| Owner | Action | Ticket |\n|---|---|---|\n{acts}\n"
        cpage(f"sre-notes-{day}", "SRE", f"{day} Ops review", md, parent="sre-notes",
              labels=["meeting-notes", "ops-review"], author=attendees[0], created=day,
              updated=(T(day) + timedelta(days=1)).strftime("%Y-%m-%d"), version=2)


# ===========================================================================
# Confluence: PAY space
# ===========================================================================

def conf_pay():
    cpage("pay-home", "PAY", "Payments Home", """
        Payments team space: billing architecture, payment providers, refunds, invoicing and the runbooks that go
        with them. The team: Tomás Herrera (EM), Aisha Okafor, Victor Santos, Ingrid Halvorsen (PM).

        !note: Parts of the billing system are in PCI DSS scope. Before you change anything in `payments/*`, read **PCI DSS scope and cardholder data**.

        !children
        """, labels=["home"], author="tomas", created="2024-01-17", updated="2025-07-01", version=9)

    cpage("billing-arch", "PAY", "Billing system architecture", """
        !toc

        ## Purpose and scope
        The billing system turns what tenants use into invoices and collects the money. It consists of
        `billing-api` (Java 21, Spring Boot), `invoice-runner` (a batch entry point of the same codebase),
        `refund-service` (Go) and `doc-renderer` (PDF rendering). This page describes the domain model, the
        main flows and the decisions that are easy to get wrong. Provider specifics are on **Payment provider
        integrations**.

        ## Domain model
        | Entity | Table | Notes |
        |---|---|---|
        | Tenant billing account | `billing_accounts` | Legal entity, VAT id, currency, payment terms |
        | Subscription | `subscriptions` | Plan (Starter, Business, Enterprise), monthly or annual |
        | Usage record | `usage_records` | One row per metered event; partitioned monthly, about 900 million rows |
        | Invoice | `invoices`, `invoice_lines` | Draft, finalised, paid, void; immutable once finalised |
        | Payment attempt | `payment_attempts` | One per collection attempt; carries the idempotency key |
        | Refund | `refunds` | Requested by support or API, processed by refund-service |
        | Credit note | `credit_notes` | Corrects a finalised invoice; never edit invoices |
        | Ledger entry | `ledger_entries` | Double-entry journal, exported to finance daily |

        Money is stored as `BIGINT` minor units plus an ISO 4217 currency code. Never use floating point for
        amounts; the `Money` type in `billing-core` rejects it at compile time.

        ## Metering
        We charge for three things, depending on the plan:

        - **Routes planned** (from `routes.planned.v1`), counted per route, not per optimisation call.
        - **Monthly active drivers**: a driver with at least one completed drop in the calendar month (from
          `delivery.events.v1`).
        - **Warehouse transactions** for tenants on transaction pricing (from `wms.inventory.events.v1`).

        The metering consumers write `usage_records` with the source event id as a unique key, so replays from
        Kafka are idempotent. Late events (up to 72 hours after month end) are still counted for the previous
        month; later events go into the current month with a `late` flag that finance reviews.

        ## Invoice run
        `invoice-runner` runs as a Kubernetes CronJob at **03:00 UTC on the 1st** of every month. A KEDA cron
        trigger scales `billing-api` to 60 pods at 02:30 UTC.

        1. For every active billing account, aggregate last month's usage and the subscription fee into a draft
           invoice.
        2. Apply tax: reverse charge for EU B2B customers with a VAT id validated through VIES (validation
           cached for 30 days), local VAT otherwise. Swiss and UK tenants have their own rules.
        3. Finalise the invoice: assign the sequential invoice number (`NW-2025-000123`, gapless per legal
           entity, generated inside the finalising transaction).
        4. Render the PDF through `doc-renderer` to `s3://nw-prod-invoices/<year>/<month>/`. German and Dutch
           public-sector tenants also get an XRechnung or UBL e-invoice through our Peppol access point.
        5. Publish `invoice.issued` to `billing.invoices.v1`; notification-service emails the invoice.
        6. For tenants with automatic payment, create a payment attempt (see below).

        The run must finish by 08:00 UTC (`InvoiceRunNotFinished` alert); the SLO is 09:00 UTC. The run is
        idempotent per billing account and period, so restarting it is safe. Operational steps are in
        **Runbook: monthly invoice run**.

        ## Payment collection
        | Method | Provider | Regions | Notes |
        |---|---|---|---|
        | Card | Stripe | EU, UK | PaymentIntents, off-session merchant-initiated transactions |
        | SEPA Direct Debit | Stripe | EU | Mandate collected at signup; settles in up to 5 business days |
        | Card, ACH | Adyen | NA | Adyen merchant account per legal entity |
        | Card (large EU tenants) | Adyen | EU | Tenants migrated in 2025 for lower fees |
        | Bank transfer | none | all | Enterprise only, net 30; reconciled from camt.053 statements imported at 06:00 UTC |

        Every payment attempt has an **idempotency{nbsp}key** derived from the invoice and the attempt number:
        `inv_<invoice_id>_a<attempt>`. The attempt number increases only when dunning starts a new collection
        attempt. Transport-level retries of the same attempt (timeouts, 5xx, connection resets) **must reuse the
        same key**. Generating a fresh key on a retry is exactly how we double-charged customers in June 2025;
        see the postmortem in this space.

        ## Refunds and credit notes
        A refund always references a payment attempt and usually a credit note. Refunds are asynchronous:
        billing-api validates and stores the request and publishes to `payments.refunds.v1`; refund-service
        talks to the provider. Retry behaviour, approval limits and the dead-letter queue are described on
        **Refund service design**.

        ## Ledger and finance export
        Every financial event writes balanced entries to `ledger_entries` (debit and credit in the same
        transaction). A job at 05:00 UTC exports the previous day's entries to the finance system as CSV over
        SFTP. The sum of each day's entries must be zero per currency; the export refuses to run otherwise and
        alerts #payments-eng.

        ## Currencies
        We invoice in EUR, GBP, USD and CHF. The invoice currency is fixed on the billing account. A payment
        method in another currency is rejected (`BIL-2007`); we do not convert currencies.

        ## Data stores and connections
        `billing-db` is RDS Postgres 15 in a dedicated VPC subnet that is part of the cardholder data environment
        boundary. All services connect through `pgbouncer-billing` in transaction mode (ADR-009). Long
        transactions hurt every billing service at once, so batch jobs commit every 500 rows.

        ## Observability
        - Dashboard "Payments / Billing overview": payment success rate per provider and method, invoice run
          progress, refund queue depth.
        - Alerts: `BillingPaymentErrorRate` (more than 5% of attempts failing with provider errors for 10 min),
          `InvoiceRunNotFinished`, `RefundDLQNotEmpty`, `PgBouncerClientWaiting`, `DuplicateChargeSuspected`
          (more than one succeeded attempt per invoice, added after June 2025).

        ## Worked example: from routes to an invoice
        A Business-plan tenant in the Netherlands with a monthly subscription, VAT id validated, paying by SEPA
        Direct Debit. Usage in September:

        | Meter | Usage | Included | Billable | Unit price | Amount |
        |---|---|---|---|---|---|
        | Subscription (Business) | 1 | | 1 | EUR 1,200.00 | EUR 1,200.00 |
        | Routes planned | 4,812 | 4,000 | 812 | EUR 0.35 | EUR 284.20 |
        | Monthly active drivers | 131 | 100 | 31 | EUR 9.00 | EUR 279.00 |

        The invoice run on 1 October aggregates these from `usage_records`, creates invoice lines, applies 21%
        Dutch VAT (domestic B2B, no reverse charge), finalises the invoice with the next number for Northwind
        Logistics B.V. and creates a payment attempt with idempotency key `inv_<invoice_id>_a1`. SEPA settles
        three to five business days later; the webhook from the provider marks the invoice paid and writes the
        ledger entries.

        Routes are counted once per route and billing period, regardless of how often a plan was re-optimised.
        Active drivers are counted from completed drops, so a driver who only logged in is not billed.

        ## Environments and testing
        - **Local**: the `fakepay` provider replaces Stripe and Adyen. It is deterministic: specific card numbers
          succeed, fail or require authentication, which makes tests reproducible.
        - **Staging**: provider test environments. Staging data is anonymised production data, so billing
          accounts exist, but payment methods are replaced by test methods during the weekly refresh.
        - **Contract tests**: every `PaymentGateway` operation is tested against stripe-mock with injected
          timeouts and errors, to check idempotency keys and final provider state.
        - **Invoice snapshots**: a golden-file test renders invoices for 40 representative accounts and compares
          PDFs and UBL files; intended changes update the golden files in the same MR.

        ## FAQ
        **Can we change an invoice after it was sent?** No. Issue a credit note and, if needed, a new invoice.

        **A customer wants to pay in another currency. Can we convert?** No, see the Currencies section; the
        billing account currency can be changed by Finance for future invoices.

        **Why is the NA invoice run in the European night?** Historical; runs per region are being introduced
        so that each region runs at a sensible local time.

        **Who can see card details?** Nobody at Northwind. We store provider tokens and the last four digits.

        ## Glossary
        | Term | Meaning |
        |---|---|
        | Billing account | The legal entity we invoice; one tenant can have several |
        | Billing period | A calendar month in UTC |
        | Meter | Something we count for pricing: routes planned, monthly active drivers, warehouse transactions |
        | Included quantity | Usage covered by the subscription fee before overage pricing starts |
        | Payment attempt | One try to collect an invoice; has its own idempotency key |
        | Collection attempt number | Increases with each dunning retry; transport retries do not change it |
        | Credit note | Document that reduces a finalised invoice, fully or partially |
        | Reverse charge | EU B2B rule where the customer accounts for VAT; the invoice shows 0% VAT and a note |
        | Dunning | The schedule of retries and reminders after a failed payment |
        | Net 30 | Bank transfer due 30 days after the invoice date (Enterprise only) |
        | CDE | Cardholder data environment, the part of our systems in PCI scope |
        | Interchange++ | Card pricing that passes through scheme and issuer fees, used for some Adyen tenants |

        ## Changes in 2025
        | When | Change | Why |
        |---|---|---|
        | February | UK invoice template with UK VAT number | UK tax requirements |
        | June | `PaymentGateway` abstraction for Stripe and Adyen | One retry and error-mapping path before moving more tenants to Adyen |
        | June | Idempotency key derived once per payment attempt | Duplicate charges on 18 June |
        | July | Three Enterprise tenants moved to Adyen for cards | Commercial agreement (interchange++) |
        | July | `DuplicateChargeSuspected` alert | Detection gap found in the June postmortem |
        | September | Routes meter deduplicated per route and period | Re-optimisations were counted as new routes |
        | September | Leitweg-ID (BT-10) in XRechnung | German public-sector e-invoicing |
        | October | Invoice run split per region (in progress) | Long runs overlapping EU business hours |

        Each change has a PAY ticket and a merge request in `payments/billing-api`; the ticket is the place for
        the discussion, the MR for the technical details.

        ## Things that are easy to get wrong
        - Invoice numbers must be gapless. Never allocate a number outside the finalising transaction.
        - Finalised invoices are immutable. Corrections are credit notes.
        - A failed payment is not a failed invoice: dunning handles retries; see **Dunning and failed payment
          handling**.
        - Time zones: the billing period is the calendar month in UTC for all tenants, including NA. Contracts
          say so; do not "fix" it.
        """, parent="pay-home", labels=["architecture", "billing"], author="tomas",
          editors=("aisha", "victor", "tomas"), created="2024-02-14", updated="2025-07-10", version=18)

    cpage("refund-design", "PAY", "Refund service design", """
        !info: Owner: Aisha Okafor. Code: `payments/refund-service`. Topic: `payments.refunds.v1`.

        ## Flow
        1. A support agent (backoffice) or a tenant (API, for marketplace tenants) requests a refund.
           billing-api checks that the amount does not exceed the captured amount minus earlier refunds, writes
           a `refunds` row with status `REQUESTED` and publishes a message to `payments.refunds.v1`.
        2. refund-service consumes the message, looks up the original payment attempt and calls the provider
           (Stripe Refunds API or Adyen `/refunds`) with idempotency key `rf_<refund_id>`.
        3. The outcome is written back through billing-api: `SUCCEEDED`, `FAILED` with a reason, or
           `PENDING` for SEPA and ACH where the provider confirms asynchronously via webhook.

        ## Retries
        Transient failures (timeouts, HTTP 5xx, HTTP 429, connection resets) are retried **3 times with
        exponential backoff**: 2 s, 4 s and 8 s, each with plus or minus 20% jitter. The same idempotency key is
        used for every retry, so a retry after a timeout cannot refund twice. After the third failed retry the
        message is published to **`refunds.dlq`** with the last error attached, and the refund stays
        `REQUESTED`.

        ```yaml
        refund:
          maxRetries: 3            # REFUND_MAX_RETRIES
          backoffBase: 2s          # REFUND_BACKOFF_BASE, doubled per attempt
          backoffJitter: 0.2
          dlqTopic: refunds.dlq
          consumerConcurrency: 4   # per pod, 3 pods
        ```

        Non-retryable errors fail immediately without retries: `charge_already_refunded`, `charge_disputed`,
        `amount_too_large`, and Adyen refusal reasons. These set status `FAILED` and notify the requester.

        ## Dead-letter queue
        `RefundDLQNotEmpty` pages Payments Primary if anything sits in `refunds.dlq` for 15 minutes. Most DLQ
        entries come from provider outages. Replay once the provider is healthy:

        ```bash
        nwctl payments refunds replay-dlq --since 2025-06-19T00:00:00Z --dry-run
        nwctl payments refunds replay-dlq --since 2025-06-19T00:00:00Z
        ```

        Replays are safe because of the idempotency key.

        ## Approval rules
        | Amount (EUR equivalent) | Approval |
        |---|---|
        | up to 500 | Support agent |
        | 500 to 5,000 | Support lead |
        | above 5,000 | Support lead plus Payments EM or Finance (four-eyes in backoffice) |

        ## Limits
        - Card refunds are possible up to 180 days after the charge on Stripe; older refunds are paid by bank
          transfer by Finance, and the refund record is marked `MANUAL`.
        - Partial refunds are allowed; at most 10 partial refunds per payment.
        - Refunds for payments in a dispute are blocked until the dispute closes.
        """, parent="pay-home", labels=["refunds", "design", "payments"], author="aisha",
          editors=("victor", "aisha"), created="2024-05-06", updated="2025-06-26", version=10)

    bil = [
        ("BIL-1001", 400, "Invalid billing account id", "Check the tenant mapping"),
        ("BIL-1004", 422, "VAT id format invalid for the country", "Ask the customer for the VAT id including country prefix"),
        ("BIL-1010", 409, "Subscription change overlaps an existing pending change", "Cancel the pending change first"),
        ("BIL-2001", 402, "Card declined by the issuer (generic)", "Customer must contact their bank or use another card"),
        ("BIL-2002", 402, "Insufficient funds", "Dunning retries automatically"),
        ("BIL-2003", 402, "Authentication required (SCA / 3-D Secure)", "Customer completes authentication from the emailed link"),
        ("BIL-2005", 402, "SEPA mandate revoked or missing", "Customer must set up a new mandate in the console"),
        ("BIL-2007", 422, "Currency mismatch: payment method currency differs from the billing account currency",
         "We do not convert. Customer adds a payment method in the account currency, or Finance changes the account currency before the next invoice"),
        ("BIL-2010", 504, "Payment provider timeout", "Retried with the same idempotency key; no action unless it persists"),
        ("BIL-2012", 502, "Payment provider returned an unexpected error", "Check provider status; escalate to #payments-eng"),
        ("BIL-3001", 409, "Invoice already finalised", "Issue a credit note instead of editing"),
        ("BIL-3004", 422, "VAT id not valid in VIES", "Invoice is issued with local VAT; re-validate after the customer fixes it"),
        ("BIL-3008", 422, "Credit note amount exceeds the remaining invoice amount", "Check earlier credit notes"),
        ("BIL-3012", 423, "Invoice run in progress for this account", "Retry after the run finishes (usually before 08:00 UTC on the 1st)"),
    ]
    rows = "\n".join(f"| {c} | {h} | {m} | {a} |" for c, h, m, a in bil)
    cpage("bil-errors", "PAY", "Billing API error codes", f"""
        Error codes returned by `billing-api` to the console, the public billing endpoints and backoffice. The
        codes also appear in support tickets and in the payment failure emails customers receive.

        - `BIL-1xxx`: validation of accounts and subscriptions
        - `BIL-2xxx`: payment collection
        - `BIL-3xxx`: invoices, tax and credit notes

        | Code | HTTP | Meaning | What to do |
        |---|---|---|---|
        {rows}

        Provider decline codes (Stripe `decline_code`, Adyen `refusalReasonCode`) are mapped to `BIL-2xxx` codes
        in `ProviderErrorMapper.java`. Unmapped provider errors become `BIL-2012`; if you see a new one often, add a
        mapping.
        """, parent="pay-home", labels=["error-codes", "billing", "support"], author="victor",
          editors=("marcus", "victor"), created="2024-06-03", updated="2025-05-19", version=8)

    cpage("providers", "PAY", "Payment provider integrations (Stripe and Adyen)", """
        ## Who uses what
        Stripe handles cards and SEPA Direct Debit for EU and UK tenants. Adyen handles cards and ACH for North
        America and cards for large EU tenants that negotiated interchange++ pricing. The provider is stored per
        payment method, not per tenant, so one tenant can have both.

        ## Stripe
        - API version pinned to `2024-06-20` in `StripeConfig.java`; upgrade deliberately, never implicitly.
        - Webhooks arrive at `https://api.northwind.example/billing/webhooks/stripe` and are verified with the
          endpoint secret from Vault (`secret/data/payments/billing-api/prod`, key `stripe_webhook_secret`).
          Signature verification needs the raw request body.
        - Events we handle: `payment_intent.succeeded`, `payment_intent.payment_failed`, `charge.refunded`,
          `charge.dispute.created`, `mandate.updated`.

        ## Adyen
        - Checkout API v71, one merchant account per legal entity (Northwind Logistics B.V., Northwind
          Logistics Inc.).
        - Notifications (webhooks) use HMAC signatures; keys are per merchant account and stored in Vault.
        - Adyen requires us to accept notifications within 10 seconds and respond `[accepted]`; processing is
          asynchronous through an internal queue.

        ## Sandboxes
        Both providers have test environments. Test API keys live under `secret/data/payments/billing-api/staging`.
        Staging and local stacks never talk to live endpoints; the `ProviderEnvironmentGuard` refuses live keys
        when `SPRING_PROFILES_ACTIVE` is not `prod`.

        ## Provider outages
        If a provider has an outage, payment attempts fail with `BIL-2010` or `BIL-2012` and dunning retries
        later. Do not switch a tenant's provider during an outage; mandates and stored cards do not move between
        providers.
        """, parent="pay-home", labels=["stripe", "adyen", "integrations"], author="victor",
          editors=("aisha", "victor"), created="2024-03-11", updated="2025-09-16", version=13)

    cpage("invoice-run", "PAY", "Runbook: monthly invoice run", """
        ## Schedule
        CronJob `invoice-runner` in namespace `billing`, 03:00 UTC on the 1st. Expect completion around 06:30 UTC.
        `InvoiceRunNotFinished` pages Payments Primary if it is not finished at 08:00 UTC.

        ## Watching it
        Dashboard "Payments / Invoice run": accounts processed vs. total, error count, PDF render queue. The job
        logs a progress line every 1,000 accounts.

        ## If it is slow
        1. PgBouncer waits? See the PgBouncer runbook in the SRE space. The run competes with daytime traffic
           after 07:00 UTC in the EU.
        2. `doc-renderer` backlog? Scale it: `kubectl -n billing scale deploy/doc-renderer --replicas=12`.
        3. VIES (EU VAT validation) down? The run falls back to cached validations; accounts without cache are
           invoiced with local VAT and flagged for review.

        ## If it fails for some accounts
        The run is idempotent per account and period. Re-run for the failed accounts only:

        ```bash
        kubectl -n billing create job invoice-rerun-$(date +%s) --from=cronjob/invoice-runner -- \\
          --period 2025-09 --accounts-file /config/failed-accounts.txt
        ```

        ## Never
        - Never delete a finalised invoice or reuse its number.
        - Never run the job for the current (unfinished) month.
        """, parent="pay-home", labels=["runbook", "invoicing"], author="victor", created="2024-04-29",
          updated="2025-10-02", version=6)

    cpage("pm-dup-charges", "PAY", "Postmortem: 2025-06-18 duplicate card charges", """
        | | |
        |---|---|
        | Severity | SEV1 |
        | Customer impact window | 10:02-11:47 UTC (charges); refunds completed 2025-06-19 14:10 UTC |
        | Incident commander | Priya Raman |
        | Ops lead | Aisha Okafor |
        | Comms | Tomás Herrera, Marcus Bell |
        | Authors | Aisha Okafor, Victor Santos |

        !warning: Contains payment data in aggregate form only. Do not add card or customer details to this page.

        ## Summary
        During the daily dunning run on 18 June 2025, **449 invoices were charged more than once**: 412 twice and
        37 three times, across 389 tenants. The total overcharge was **EUR 186,940.22**. Every duplicate was
        refunded within 28 hours. Stripe API latency was elevated that morning; our HTTP client retried timed-out
        requests, and because of a refactoring four days earlier each retry carried a **new idempotency key**, so
        Stripe correctly treated every retry as a new payment.

        ## Background
        Payment attempts must be idempotent across transport retries: the idempotency key is derived from the
        invoice id and the collection attempt number, and the HTTP client may retry up to 3 times on timeouts.
        On 14 June, {{MR:payment-gateway-refactor}} moved Stripe calls behind a new `PaymentGateway`
        abstraction. In the new code the key was generated inside the retry closure:

        ```java
        // before the fix (simplified)
        return retry.execute(() -> stripe.paymentIntents().confirm(
            intentId, params, RequestOptions.builder()
                .setIdempotencyKey(UUID.randomUUID().toString())   // new key per retry!
                .build()));
        ```

        ## Timeline (UTC)
        | Time | Event |
        |---|---|
        | 06-14 15:20 | Refactoring merged and deployed; unit tests green (gateway mocked, no timeout simulation) |
        | 06-18 10:00 | Daily dunning run starts; 3,112 invoices due for a retry |
        | 10:02 | Stripe p95 latency rises to 9-14 s (Stripe status page: "elevated latency" 09:55-11:30) |
        | 10:02-11:40 | Our 10 s client timeout triggers retries; duplicates start |
        | 11:31 | Kestrel Pharma's finance team calls their account manager about two identical charges |
        | 11:38 | Support posts in #payments-eng; Aisha confirms duplicates in Stripe dashboard |
        | 11:47 | Dunning run stopped (`kubectl -n billing scale deploy/dunning-worker --replicas=0`); SEV1 declared |
        | 12:30 | Query identifies all invoices with more than one succeeded payment attempt |
        | 14:05 | Fix deployed ({{MR:idem-fix}}); dunning remains paused |
        | 15:00 | Bulk refunds start through refund-service, in batches of 50 |
        | 06-19 14:10 | Last refund succeeded; SEPA duplicates (23) refunded via SEPA credit transfer |
        | 06-20 10:00 | Dunning resumed after review |

        ## Root cause
        The idempotency key was generated per HTTP attempt instead of per payment attempt. The previous
        implementation created the key before the retry loop; the refactoring changed that without anyone
        noticing, because:

        - unit tests mocked the gateway and never simulated a timeout followed by a success;
        - the MR was large (1,900 changed lines) and the key generation moved inside an unrelated-looking diff;
        - we had no alert for more than one succeeded payment per invoice.

        ## Detection
        A customer found it, 89 minutes after the first duplicate. That is the part of this incident we are
        least happy with.

        ## Customer handling
        Account managers called all Enterprise tenants affected (14) the same day. All other tenants received
        an email on 19 June explaining the duplicate charge and the refund. Card refunds take 5-10 business days
        to appear on statements; several customers asked for faster resolution, and Finance paid 6 of them by
        bank transfer instead.

        ## What went well
        - refund-service handled 486 refunds without manual intervention; idempotent refunds meant batches
          could be re-run safely.
        - Stripe support confirmed the latency event quickly and helped reconcile.

        ## What went poorly
        - No automated detection.
        - The refactoring MR mixed a mechanical move with behaviour changes.
        - The dunning run had no circuit breaker on provider latency.

        ## Action items
        | Ticket | Action | Owner | Status |
        |---|---|---|---|
        | {{J:dup-charge-idem}} | Generate the idempotency key outside the retry; reuse it on every retry | Aisha Okafor | Done |
        | {{J:dup-charge-alert}} | `DuplicateChargeSuspected` alert: more than one succeeded attempt per invoice | Victor Santos | Done |
        | {{J:dup-charge-contract}} | Contract tests with stripe-mock and injected timeouts for every gateway call | Victor Santos | In progress |
        | {{J:dunning-breaker}} | Dunning pauses itself when provider p95 latency exceeds 5 s | Aisha Okafor | To do |

        Incident thread: [#payments-eng]({{SL:dup-charges}}).
        """, parent="pay-home", labels=["postmortem", "sev1", "stripe", "idempotency"], author="aisha",
          editors=("tomas", "victor", "aisha"), created="2025-06-20", updated="2025-07-08", version=11)

    cpage("pci", "PAY", "PCI DSS scope and cardholder data", """
        We never see full card numbers. Card details are collected by Stripe Elements and the Adyen Drop-in
        component directly in the browser or app and exchanged for tokens. Our systems store provider tokens,
        the card brand, the last four digits and the expiry month/year.

        ## What is in scope
        Even without card numbers, systems that can affect the security of payment pages are in scope:

        - `billing-api`, `refund-service`, `billing-db`, `pgbouncer-billing` (namespace `billing`, dedicated node
          group with restricted SSH and no shared tenancy with other namespaces).
        - The console pages that embed the payment components, and the CDN configuration serving them.
        - CI pipelines that build those services.

        ## Rules for engineers
        - Two approvals on every MR in `payments/*`.
        - No production data in staging, not even tokens.
        - Access to the `billing` namespace and billing-db uses the `billing-pci` JIT role (1 hour maximum).
        - Logs from payments services must never contain tokens, full names with addresses, or bank account
          numbers (IBAN masked to the last 4 characters).

        ## Annual assessment
        We complete a Self-Assessment Questionnaire with an external QSA review every September. Evidence is
        collected in the SEC Jira project under the `pci-2025` label.
        """, parent="pay-home", labels=["pci", "compliance", "security"], author="tomas", editors=("olivia",),
          created="2024-02-20", updated="2025-09-05")

    cpage("dunning", "PAY", "Dunning and failed payment handling", """
        When an automatic payment fails, the `dunning-worker` retries on a schedule and emails the customer.

        | Day after due date | Action |
        |---|---|
        | 0 | Payment fails; email "payment failed" with the reason and a link to update the payment method |
        | 3 | Retry 1 |
        | 7 | Retry 2; email reminder |
        | 14 | Retry 3; email "final reminder"; account manager informed for Business and Enterprise |
        | 30 | Starter and Business: account set to read-only (planning disabled, drivers can finish routes). Enterprise: no automatic action |

        Retries run in the daily dunning run at 10:00 UTC. Each retry is a new collection attempt with a new
        attempt number, and therefore a new idempotency key; HTTP retries inside one attempt keep the key.

        ## SEPA returns
        SEPA debits can be returned up to 8 weeks later (13 months for unauthorised ones). Return reason
        `AM04` (insufficient funds) re-enters dunning; `MD01` (no mandate) and `MD06` (refund requested by the
        customer) stop automatic collection and create a task for Finance.

        ## Pausing dunning
        Support leads can pause dunning per account for up to 30 days (for disputes or agreed payment plans).
        Payments can pause the whole run: scale `dunning-worker` to 0 and post in #payments-eng.
        """, parent="pay-home", labels=["dunning", "billing"], author="ingrid", editors=("aisha",),
          created="2024-08-12", updated="2025-06-27")

    pay_notes = [
        ("2025-07-02", "Payments retro: sprint 2025-13", ["tomas", "aisha", "victor", "ingrid"], [
            ("What went well", [
                "Duplicate charge refunds were complete in 28 hours; Finance thanked the team.",
                "Adyen migration of the first three EU tenants went live without a single failed payment.",
            ]),
            ("What did not go well", [
                "The PaymentGateway refactor was one huge MR. Agreement: mechanical moves and behaviour changes go in separate MRs.",
                "Contract tests against stripe-mock still do not cover timeouts.",
            ]),
            ("Try next sprint", [
                "Pair review for anything touching idempotency keys or money arithmetic.",
                "Ingrid to bring the cost-centre invoice split request to refinement (three Enterprise tenants asking).",
            ]),
        ]),
        ("2025-09-17", "Payments planning: sprint 2025-19", ["tomas", "aisha", "victor", "ingrid"], [
            ("Goals", [
                "Finish the dunning circuit breaker before peak season.",
                "Invoice run split per region so that NA does not wait for EU (invoice run finished late on 1 September).",
                "Discovery for invoice split by cost centre: Ingrid has interviewed Brightline Grocers and Harbor & Vale Freight.",
            ]),
            ("Capacity", [
                "Victor on leave 29 September to 3 October. Aisha on Payments Primary rotation week 39.",
            ]),
            ("Risks", [
                "Stripe API version upgrade deadline from Stripe is in Q1 2026; not this sprint, but we should not let it slide into the freeze.",
            ]),
        ]),
    ]
    for day, title, attendees, sections in pay_notes:
        att = ", ".join(PEOPLE[a].name for a in attendees)
        body = "".join(f"\n## {h}\n" + "\n".join(f"- {i}" for i in items) + "\n" for h, items in sections)
        cpage(f"pay-notes-{day}", "PAY", title, f"**Date:** {day}\n**Participants:** {att}\n{body}",
              parent="pay-home", labels=["meeting-notes", "sprint"], author=attendees[0], created=day,
              updated=day, version=1)


# ===========================================================================
# Confluence: DATA space
# ===========================================================================

def conf_data():
    cpage("data-home", "DATA", "Data Platform Home", """
        The Data Platform team (Lena Fischer, Rahul Deshpande, Wen Zhao) runs the pipelines from production
        systems into the lake and ClickHouse, the dbt models on top, and Metabase. We are on call during business
        hours only. Ask in #data-platform; request data extracts and new models through the DATA Jira project.

        !children
        """, labels=["home"], author="lena", created="2024-01-19", updated="2025-08-22", version=7)

    cpage("data-arch", "DATA", "Data platform architecture", """
        !toc

        ## Goals
        The data platform has three jobs: power the analytics reports tenants see in the console, give
        Northwind's own teams (product, finance, operations) a reliable warehouse, and do both without copying
        personal data to places it does not need to be.

        ## Overview
        ```text
        Postgres (routing-db, wms-db, billing-db*) --Debezium--> Kafka (cdc.*) --S3 sink--> lake raw (Iceberg)
        Kafka event topics (telemetry, routes, deliveries, inventory) --+--> ClickHouse (nw_events)
                                                                       +--> lake raw (Iceberg)
        SaaS tools (Zendesk, HubSpot) --Airbyte--> lake raw
        lake raw --dbt on Trino--> staged --> marts --> Metabase, finance exports
        ClickHouse <--dbt-clickhouse-- aggregates for console reports
        * billing-db: non-PCI tables only
        ```

        ## Ingestion
        ### Change data capture
        Debezium 2.5 runs on the Kafka Connect cluster `connect-cdc` (3 workers on EKS). Each source database
        has one connector with a dedicated logical replication slot and publication. CDC topics are named
        `cdc.<database>.<schema>.<table>`. The tables captured are listed in the connector configs in
        `data/cdc-connectors`; adding a table needs a merge request and a review by the owning team, because
        every captured column ends up in the lake. Details on **Change data capture with Debezium**.

        ### Events
        Application events already in Kafka (`telemetry.gps.v1`, `routes.planned.v1`, `delivery.events.v1`,
        `wms.inventory.events.v1`, `billing.invoices.v1`) are consumed by two sink connectors on `connect-sinks`:
        the ClickHouse sink for low-latency analytics, and the S3 sink writing Parquet into Iceberg tables.

        ### Third-party tools
        Airbyte OSS (`airbyte.nw.internal`) loads Zendesk tickets and HubSpot companies and deals every six
        hours into `raw_saas`. Airbyte connections are owned by Data Platform; credentials live in Vault.

        ## Storage
        ### Lake
        S3 bucket `nw-lake-prod` (eu-west-1) with Apache Iceberg tables registered in AWS Glue. Three layers:

        | Layer | Schema prefix | Contents | Who writes |
        |---|---|---|---|
        | Raw | `raw_*` | Exactly what arrived, append-only | Connectors, Airbyte |
        | Staged | `stg_*` | Typed, deduplicated, pseudonymised | dbt |
        | Marts | `marts_*` | Business entities and metrics | dbt |

        Trino (`trino.nw.internal`, 1 coordinator and 4 to 12 autoscaled workers) is the query engine for the
        lake. Iceberg snapshots are expired after 7 days and orphan files cleaned weekly.

        ### ClickHouse
        Console reports need sub-second aggregations per tenant, which Trino on S3 cannot deliver. ClickHouse
        (decision in ADR-007) holds event tables in the `nw_events` database and pre-aggregated report tables in
        `nw_reports`. See **Working with ClickHouse**.

        ## Transformation
        The dbt project `nw_analytics` in `data/pipelines/dbt` has about 340 models. It builds on Trino for the
        lake and with the `dbt-clickhouse` adapter for the ClickHouse report tables. The nightly build runs from
        the Airflow DAG `dbt_nightly` at 02:15 UTC; marts are expected to be fresh by 06:00 UTC, which is checked
        by source freshness tests. Conventions are on the **dbt style guide**.

        ## Orchestration
        Airflow 2.9 on EKS with the KubernetesExecutor (`airflow.nw.internal`). DAGs live in
        `data/pipelines/dags` and are deployed by git-sync from `main`. Every DAG has an owning team and a
        failure callback to #data-alerts. See **Airflow: writing and owning DAGs**.

        ## Consumption
        - **Metabase** (`metabase.nw.internal`) for internal dashboards. Collections per team; the "Certified"
          collection only contains questions built on marts.
        - **Console reports** query `nw_reports` in ClickHouse through the `reports-api` service.
        - **Finance exports**: monthly revenue and usage reconciliation from `marts_finance` to the finance
          team's SFTP folder.
        - **Ad-hoc**: Trino through DBeaver or the `trino` CLI; Jupyter on `notebooks.nw.internal` for the
          product analytics team.

        ## Personal data
        Drivers and delivery recipients are the main personal data subjects. Rules:

        - Driver ids are pseudonymised in the staged layer with a keyed hash (`driver_key`). The key lives in
          Vault and is rotated yearly; rotation re-keys the staged layer.
        - Recipient names, phone numbers and free-text delivery notes are dropped in staging. Addresses are
          reduced to postcode and a geohash of precision 6.
        - The `restricted` schemas (raw layer) are readable only by Data Platform engineers.
        - Erasure requests are executed weekly by the `gdpr_erasure` DAG across lake and ClickHouse.
        - How long each kind of data is kept is defined in the **Data retention and deletion policy**.

        ## North America
        NA production data stays in us-east-1. A pseudonymised subset (no recipient data at all) is replicated
        to the EU lake for global reporting, under the intra-group data transfer agreement. There is no NA
        ClickHouse; NA console reports query the EU cluster with pseudonymised data.

        ## Data quality
        dbt tests (unique, not_null, relationships, accepted_values) on every model's primary key and foreign
        keys, plus Elementary for anomaly detection on volumes and freshness. Test failures on certified models
        block the publish step of `dbt_nightly`, so Metabase keeps showing yesterday's data rather than wrong data.

        ## Ownership and support
        Data Platform owns ingestion, storage, orchestration and the core marts. Analytics engineers in product
        teams own their team's marts. On-call is business hours only; pipelines that must run at night (the
        nightly dbt build, finance exports) retry automatically, and failures are handled the next morning unless
        console reports are affected, in which case SRE Primary is paged.

        ## Adding a new data source
        1. Open a DATA ticket describing the source, the owner, the business question and the personal data in it.
        2. For a production database table: a merge request to `data/cdc-connectors` reviewed by the owning team.
           Exclude free-text columns unless there is a clear need.
        3. For a SaaS tool: an Airbyte connection with credentials in Vault and a sync schedule no more frequent
           than needed.
        4. A staged dbt model with tests on the primary key, documented columns and pseudonymisation where needed.
        5. Ownership tags on every new model, and an entry on the Airflow DAG list if a new DAG is involved.

        ## When things break
        - **Sink connector stalled**: data stops arriving in ClickHouse or the lake while Kafka keeps it for 7 days.
          Restart the task from the Kafka Connect REST API; no data is lost if it is fixed within the topic
          retention. Source freshness tests alert after 2 hours.
        - **dbt_nightly failed**: certified marts keep yesterday's data. Fix and re-run the failed models with
          `dbt build --select result:error+ --state last_run/`.
        - **Trino slow**: usually a query without partition filters on a raw table. Trino's UI shows the query
          and the user; ask them to use a mart.
        - **Replication slot growing**: see **Change data capture with Debezium**; this one can affect
          production databases and is always urgent.

        ## Roadmap 2026
        - Re-evaluate ClickHouse Cloud against our self-managed cluster (cost and on-call load).
        - Move the Iceberg catalog from Glue to a REST catalog so Trino and Spark share it.
        - A small NA lake for tenants that require data to stay in the US.
        - Column-level lineage from dbt into the data catalog, so that "where does this number come from"
          questions answer themselves.

        ## Costs (monthly, Q3 2025)
        | Component | Approx. cost |
        |---|---|
        | ClickHouse EC2 and EBS | EUR 7,900 |
        | Trino and Airflow on EKS | EUR 3,400 |
        | S3 and Glue | EUR 1,800 |
        | MSK share for CDC and sinks | EUR 1,200 |
        """, parent="data-home", labels=["architecture", "data-platform"], author="lena",
          editors=("rahul", "wen", "lena"), created="2024-02-22", updated="2025-09-26", version=16)

    cpage("retention", "DATA", "Data retention and deletion policy", """
        !info: Approved by Legal and the Head of Security on 2025-02-10. Changes need the same approval. Contract-specific retention for a tenant overrides the defaults below and is recorded in the tenant's billing account.

        ## Retention periods
        | Data | Where | Kept for | Then |
        |---|---|---|---|
        | Raw GPS pings from the driver app | ClickHouse `gps_pings`, lake `raw_telemetry` | **90 days** | Downsampled to 1-minute points per driver, kept 25 months |
        | Downsampled driver tracks | ClickHouse `gps_tracks_1m`, lake | 25 months | Deleted |
        | Proof-of-delivery photos and signatures | S3 `nw-prod-pod-photos` | 13 months | Deleted by S3 lifecycle rule |
        | Route plans | routing-db | 400 days | Deleted by nightly job |
        | Orders and delivery events | routing-db, lake | 3 years | Aggregated, recipient data removed |
        | Invoices, credit notes, ledger | billing-db, S3 | 10 years | Required by tax law (NL, DE) |
        | Application logs | Loki | 30 days | Deleted |
        | Traces | Tempo | 14 days | Deleted |
        | Kafka topics | MSK | 7 days (compacted topics: latest value) | Deleted |
        | Support tickets | Zendesk | 3 years after closing | Deleted |

        ## Tenant offboarding
        When a contract ends, the tenant's operational data is deleted 30 days after the end date unless the
        tenant asked for an export. Backups age out within 35 days after deletion. Invoices are kept for the
        legal period.

        ## Erasure requests
        Requests from drivers or recipients under GDPR article 17 arrive through the tenant (the tenant is the
        controller; we are the processor). Support creates a DATA ticket with label `erasure`; the `gdpr_erasure`
        DAG executes it in the weekly run. We confirm completion to the tenant within 30 days of the request.

        ## Exceptions
        Legal holds (litigation, investigations) suspend deletion for the affected tenant. Legal holds are set by
        the Head of Security and listed in the SEC project.
        """, parent="data-home", labels=["policy", "retention", "gdpr", "privacy"], author="lena",
          editors=("olivia", "lena"), created="2024-06-17", updated="2025-02-12", version=6)

    cpage("dbt-style", "DATA", "dbt style guide", """
        ## Layers and naming
        | Prefix | Layer | Materialisation |
        |---|---|---|
        | `stg_<source>__<table>` | One per source table, renaming and typing only | view or incremental |
        | `int_<entity>_<verb>` | Intermediate logic, not exposed | ephemeral or table |
        | `fct_<event>` | Facts, one row per event | incremental |
        | `dim_<entity>` | Dimensions | table |
        | `rpt_<report>` | ClickHouse report tables for the console | incremental (dbt-clickhouse) |

        ## SQL
        - Lower-case keywords, trailing commas, one column per line, CTEs instead of subqueries.
        - Import CTEs at the top (`with orders as (select * from {{ ref('stg_routing__orders') }})`).
        - No `select *` in marts.
        - Time columns in UTC with the suffix `_at`; local dates with the suffix `_local_date`.

        ## Tests
        Every model has `unique` and `not_null` tests on its primary key. Facts have `relationships` tests to
        their dimensions. Incremental models declare `unique_key` and are tested with a full refresh in CI once
        a week.

        ## CI
        Merge requests run `dbt build --select state:modified+ --defer --state prod-manifest/` against a
        throwaway Trino schema. Models that take more than 10 minutes in CI need a comment explaining why.

        ## Documentation
        Every mart model has a description and column descriptions in YAML. Metric logic is documented once, on
        the Metric definitions page, and models link to it instead of restating it.
        """, parent="data-home", labels=["dbt", "style-guide"], author="wen", editors=("rahul", "wen"),
          created="2024-03-26", updated="2025-04-17")

    cpage("metrics", "DATA", "Metric definitions: delivery performance", """
        These are the official definitions used in console reports and in Metabase "Certified" questions. If a
        dashboard disagrees with this page, the dashboard is wrong.

        ## On-time delivery rate (OTD)
        Share of drops with a customer time window that were completed inside that window, allowing a
        **10-minute grace period** after the window closes.

        ```sql
        countIf(completed_at <= window_end + interval 10 minute and completed_at >= window_start)
          / countIf(has_time_window and status in ('completed', 'failed'))
        ```

        - Drops cancelled by the customer are excluded from numerator and denominator.
        - Failed drops (nobody home, refused) count as not on time.
        - Early arrivals count as on time only if the drop was completed inside the window; a driver waiting
          outside is fine.

        ## First-attempt delivery rate
        Completed drops whose first attempt succeeded, divided by all drops that were attempted at least once.

        ## Dwell time
        Time between the app's "arrived" event (geofence 75 m around the drop) and the POD capture. Drops with a
        dwell time above 2 hours are excluded as data errors.

        ## Driver utilisation
        Sum of driving and service time divided by shift length, per driver and day. Breaks are excluded from
        both.

        ## Planned vs. actual distance
        Actual distance from downsampled GPS tracks divided by planned distance from the route plan. Values
        between 0.95 and 1.15 are normal; much higher values usually mean detours or a wrong vehicle profile.
        """, parent="data-home", labels=["metrics", "definitions", "reporting"], author="wen",
          editors=("grace", "wen"), created="2024-04-09", updated="2025-03-31", version=9)

    cpage("clickhouse-guide", "DATA", "Working with ClickHouse", """
        ## Cluster
        | | |
        |---|---|
        | Version | 24.3 LTS (upgraded from 23.8 on 2025-08-20) |
        | Nodes | `ch-prod-01` to `ch-prod-06`, r6i.4xlarge |
        | Layout | 3 shards x 2 replicas, cluster name `nw` |
        | Coordination | ClickHouse Keeper on `chk-prod-01..03` |
        | Load balancer | `ch-prod-lb.nw.internal:9440` (TLS, native protocol), `:8443` HTTPS |

        ## Databases
        - `nw_events`: raw events from Kafka (`gps_pings`, `route_events`, `delivery_events`,
          `inventory_events`). `ReplicatedMergeTree`, partitioned by month, ordered by `(tenant_id, event_time)`.
        - `nw_reports`: aggregates built by dbt for the console.
        - `scratch`: anyone may create tables; dropped after 14 days.

        ## Storage
        Tables in `nw_events` use the storage policy `hot_cold`: new parts go to local gp3 volumes and are moved
        to the S3-backed disk after 30 days (`TTL event_time + INTERVAL 30 DAY TO VOLUME 'cold'`).
        `ClickHouseDiskUsageHigh` alerts at 85% on any node.

        ## Querying
        - Always filter on `tenant_id` and a time range; the primary key is built for it.
        - Avoid `FINAL` on large tables; use `argMax` patterns for latest-state queries.
        - Distributed tables are named `<table>_all`; query those, not the local shards.
        - Set `max_execution_time` in ad-hoc sessions; the default profile kills queries after 300 s.

        ```bash
        clickhouse-client --host ch-prod-lb.nw.internal --port 9440 --secure \\
          --user $USER --password "$(vault read -field=password database/creds/clickhouse-readonly)"
        ```

        ## DDL
        Use `ON CLUSTER nw` for every DDL statement and make schema changes through the migrations folder
        `data/pipelines/clickhouse/migrations`, never by hand in production.
        """, parent="data-home", labels=["clickhouse", "guide"], author="rahul", editors=("lena", "rahul"),
          created="2024-06-04", updated="2025-08-26", version=10)

    cpage("airflow-guide", "DATA", "Airflow: writing and owning DAGs", """
        ## Where DAGs live
        `data/pipelines/dags/<team>/`. git-sync deploys `main` every 60 seconds. Staging Airflow syncs the
        `staging` branch.

        ## Required defaults
        ```python
        default_args = {
            "owner": "data-platform",            # team, not a person
            "retries": 2,
            "retry_delay": timedelta(minutes=10),
            "on_failure_callback": notify_slack("#data-alerts"),
            "execution_timeout": timedelta(hours=2),
        }
        ```

        Tag every DAG with the owning team and a tier: `tier-1` (console reports depend on it, SRE is paged on
        failure), `tier-2` (internal dashboards) or `tier-3` (best effort).

        ## Pools
        | Pool | Slots | For |
        |---|---|---|
        | `trino` | 16 | Tasks that run queries on Trino |
        | `clickhouse` | 8 | Tasks that write to ClickHouse |
        | `default_pool` | 64 | Everything else |

        ## Good practice
        - Tasks must be idempotent: re-running a task for the same interval gives the same result.
        - Use `data_interval_start` and `data_interval_end`, never `datetime.now()`.
        - Do not pass data between tasks through XCom beyond small metadata.
        - Sensors in `reschedule` mode only.

        ## Important DAGs
        | DAG | Schedule (UTC) | Tier |
        |---|---|---|
        | `dbt_nightly` | 02:15 daily | tier-1 |
        | `daily_shipments_rollup` | 04:00 daily | tier-1 |
        | `gdpr_erasure` | Sunday 03:00 | tier-1 |
        | `finance_usage_export` | 05:30 on the 2nd | tier-2 |
        | `osrm_speed_profiles` | Saturday 22:00 | tier-2 |
        """, parent="data-home", labels=["airflow", "guide"], author="rahul", created="2024-05-14",
          updated="2025-07-21")

    cpage("cdc", "DATA", "Change data capture with Debezium", """
        ## Setup
        One Debezium Postgres connector per source database on the `connect-cdc` Kafka Connect cluster. Each
        connector uses the `pgoutput` plugin, a publication listing the captured tables, and its own replication
        slot (`debezium_<db>`).

        | Source | Connector | Slot | Captured tables |
        |---|---|---|---|
        | routing-db | `cdc-routing` | `debezium_routing` | orders, route_plans, routes, stops, vehicles |
        | wms-db | `cdc-wms` | `debezium_wms` | 41 tables, see config |
        | billing-db | `cdc-billing` | `debezium_billing` | subscriptions, invoices, invoice_lines (no payment tables) |

        Connector configs are JSON files in `data/cdc-connectors/connectors/` and are applied by CI with the
        Kafka Connect REST API. Do not change connectors through the REST API by hand; CI will overwrite it.

        ## Snapshots
        New tables are added with incremental snapshots (signal table `debezium_signal`), which do not block
        streaming. A full re-snapshot of wms-db takes about 9 hours and should be avoided.

        ## Replication slots need care
        A logical replication slot keeps WAL on the primary until the connector confirms it. If a connector is
        stopped or stuck, WAL accumulates and the primary's disk fills. Rules:

        - `CdcReplicationSlotLag` alerts #data-platform when a slot retains more than 20 GB of WAL, and pages SRE
          at 100 GB.
        - Never leave a connector paused over a weekend.
        - Dropping a slot means a re-snapshot of that database; coordinate with the owning team.

        ## Schema changes
        Adding a nullable column is safe. Renaming or dropping a column in a captured table breaks downstream
        dbt models; announce it in #data-platform a week ahead.
        """, parent="data-home", labels=["cdc", "debezium", "kafka"], author="rahul", editors=("lena",),
          created="2024-07-08", updated="2025-06-05", version=7)

    data_notes = [
        ("2025-08-21", ["lena", "rahul", "wen"], [
            ("ClickHouse 24.3 upgrade", [
                "Rolling upgrade from 23.8 to 24.3 completed on 2025-08-20, replica by replica, no downtime.",
                "Two console report queries got slower because of the changed default for `optimize_read_in_order`; Rahul set it per profile.",
                "`daily_shipments_rollup` ran 2.5x longer after the upgrade; ticket filed.",
            ]),
            ("Disk", [
                "ch-prod-03 at 83%. The `hot_cold` storage policy is ready in staging; rollout to production next week.",
            ]),
            ("Requests", [
                "Product wants first-attempt delivery rate per depot in the console. Wen to scope the mart change.",
            ]),
        ]),
        ("2025-09-25", ["lena", "rahul", "wen", "grace"], [
            ("Status", [
                "`hot_cold` storage policy live on all `nw_events` tables; local disk usage down to 41-48% per node.",
                "Debezium upgraded to 2.5 with heartbeats; WAL retention on wms-db back to normal.",
            ]),
            ("Peak season", [
                "ClickHouse capacity looks fine for 2x GPS volume. Trino workers autoscale to 12; Rahul will test 16.",
                "No ClickHouse or Airflow upgrades between 24 November and 2 January.",
            ]),
            ("Product analytics", [
                "Grace asked for ETA accuracy per depot to track the multi-drop ETA fix in route-planner; Wen builds "
                "`fct_eta_accuracy` from delivery events and planned ETAs.",
            ]),
        ]),
    ]
    for day, attendees, sections in data_notes:
        att = ", ".join(PEOPLE[a].name for a in attendees)
        body = "".join(f"\n## {h}\n" + "\n".join(f"- {i}" for i in items) + "\n" for h, items in sections)
        cpage(f"data-notes-{day}", "DATA", f"{day} Data platform sync", f"**Date:** {day}\n**Attendees:** {att}\n{body}",
              parent="data-home", labels=["meeting-notes"], author=attendees[0], created=day, updated=day, version=1)


# ===========================================================================
# Confluence: HR space (all pages restricted to group "hr")
# ===========================================================================

def conf_hr():
    cpage("hr-home", "HR", "People & HR", """
        Policies and processes of the People team. Questions: #ask-people or people@northwind.example.
        Employees read these policies in the employee handbook in the HR system; this space is the working copy
        maintained by the People team and is restricted to the hr group while drafts are in progress.

        !children
        """, labels=["home"], author="hannah", created="2024-01-10", updated="2025-06-02")

    cpage("hr-parental", "HR", "Parental leave policy", """
        !info: Applies to all employees in the Netherlands, Germany and the UK from 1 January 2025. Where local law is more generous, local law applies.

        ## Birthing parent
        20 weeks of fully paid leave, on top of any statutory leave that is already paid at 100%. Leave can
        start up to 6 weeks before the due date.

        ## Non-birthing parent (including adoption and surrogacy)
        16 weeks of fully paid leave, to be taken within the first 12 months after the birth or placement.
        The first 2 weeks must be taken in one block; the rest can be split into blocks of at least one week.

        ## Returning to work
        - Four weeks of phased return at 60% working time with full pay.
        - Keeping-in-touch days (up to 10) are optional and paid.
        - Your role is kept for you; if the team changed, your manager discusses options with you before you
          return.

        ## How to request
        Tell your manager and the People team at least 15 weeks before the expected date. Submit the leave in
        the HR system under "Parental leave" with the expected date; we handle the statutory paperwork (UWV in
        the Netherlands, Elterngeld information in Germany, SMP/ShPP in the UK).
        """, parent="hr-home", labels=["policy", "leave"], author="hannah", created="2024-11-18", updated="2025-01-06",
          version=5)

    cpage("hr-expenses", "HR", "Expense policy", """
        ## Principles
        Spend company money as if it were your own, and keep the receipt. Expenses are submitted in Pleo within
        30 days; older expenses need your manager's and Finance's approval.

        ## Limits without pre-approval
        | Category | Limit |
        |---|---|
        | Meals while travelling | EUR 60 per day |
        | Team lunch (manager approval) | EUR 25 per person |
        | Books and courses | Learning budget, see the learning budget page |
        | Software and subscriptions | Not allowed; request through IT |
        | Home office equipment | See the remote work page |
        | Taxi or ride-hailing | When public transport is unreasonable (late evening, heavy luggage) |

        ## Not reimbursed
        Alcohol (except at approved team events), fines, upgrades to business class, personal entertainment and
        tips above 10%.

        ## On-call
        Meals during out-of-hours incident work longer than two hours are reimbursed up to EUR 25.
        """, parent="hr-home", labels=["policy", "expenses"], author="hannah", created="2024-02-05",
          updated="2025-03-14")

    cpage("hr-travel", "HR", "Business travel policy", """
        - Book through the travel tool (TravelPerk). Trains for journeys under 6 hours door to door; economy
          flights otherwise.
        - Hotels up to EUR 180 per night (EUR 250 in London, Paris and New York).
        - Trips outside the EU/UK need your manager's approval two weeks ahead, and Security's travel briefing
          for some destinations (your laptop may need a loaner).
        - Travel time outside working hours counts as working time up to 4 hours per trip.
        - Visits to customer DCs require safety shoes and a hi-vis vest; Facilities lends them from the Rotterdam
          office.
        """, parent="hr-home", labels=["policy", "travel"], author="hannah", created="2024-02-05", updated="2024-10-09")

    cpage("hr-perf", "HR", "Performance and growth cycle 2025", """
        ## Timeline
        | When | What |
        |---|---|
        | 1-12 September | Self-reflection and peer feedback (3-5 peers chosen with your manager) |
        | 15-26 September | Manager writes the review; calibration per department |
        | 29 September-10 October | Review conversations |
        | 1 November | Salary changes effective |

        ## What we look at
        Impact, craft and collaboration, against the expectations of your level in the career framework
        (engineering levels E1 to E7). Promotions are decided in calibration and need a written case with
        examples from the last 12 months.

        ## Ratings
        We use three outcomes: "exceeds", "meets" and "below" expectations. There is no forced distribution.
        "Below" always comes with a written development plan and support, never as a surprise: your manager must
        have raised the concern at least two months earlier.

        ## Confidentiality
        Calibration notes are visible to the People team and the department's managers only.
        """, parent="hr-home", labels=["performance", "process"], author="hannah", created="2025-07-14",
          updated="2025-08-25", version=4)

    cpage("hr-remote", "HR", "Remote work and home office equipment", """
        Northwind is office-optional. Rotterdam and Leipzig offices are open Monday to Friday; teams agree on
        their own anchor days.

        ## Home office budget
        EUR 750 once, plus EUR 250 every two years, for a desk, chair, monitor or headset. Order through the
        equipment portal or expense it with the receipt.

        ## Internet allowance
        EUR 30 per month, paid with salary, for employees working from home at least two days per week.

        ## Working from abroad
        Up to 30 working days per year from another country, outside sanctioned countries, with your manager's
        approval and a request in the HR system at least two weeks ahead (tax and social security checks).
        On-call shifts can be done abroad if the connectivity rules in the on-call handbook are met.
        """, parent="hr-home", labels=["policy", "remote-work", "equipment"], author="hannah", created="2024-03-01",
          updated="2025-04-22")

    cpage("hr-holidays", "HR", "Public holidays 2025", """
        Offices are closed on the public holidays of their country. Remote employees follow the holidays of the
        country in their employment contract.

        | Date | Netherlands | Germany (Saxony) | UK |
        |---|---|---|---|
        | 1 January | yes | yes | yes |
        | 18 April (Good Friday) | no | yes | yes |
        | 21 April (Easter Monday) | yes | yes | yes |
        | 26 April (King's Day) | yes | no | no |
        | 5 May (Liberation Day) | yes (2025) | no | no |
        | 29 May (Ascension) | yes | yes | no |
        | 9 June (Whit Monday) | yes | yes | no |
        | 25 August (Summer bank holiday) | no | no | yes |
        | 19 November (Day of Repentance) | no | yes | no |
        | 25-26 December | yes | yes | yes |

        Production deploys are not allowed on Dutch and German public holidays (see the SRE deploy windows page).
        On-call shifts still run on holidays; holiday shifts earn an extra day off.
        """, parent="hr-home", labels=["holidays", "calendar"], author="hannah", created="2024-12-02",
          updated="2025-01-08")

    cpage("hr-learning", "HR", "Learning budget", """
        Every employee has EUR 1,500 per calendar year and three learning days for courses, conferences, books
        and certifications. The budget does not roll over.

        - Conferences: the ticket counts against the budget; travel and hotel are paid from the team's travel
          budget if your manager approves.
        - Certifications required for your role (for example PCI or cloud certifications for Security and SRE)
          are paid by the company and do not count against your budget.
        - Books are always fine, no approval needed. O'Reilly online access is available to all engineers.
        - If you leave within 12 months of a course costing more than EUR 1,000, a pro-rated part may be
          reclaimed. This is in your contract.
        """, parent="hr-home", labels=["learning", "benefits"], author="hannah", created="2024-02-19", updated="2025-01-15")

    cpage("hr-manager-onboarding", "HR", "Manager checklist: onboarding a new hire", """
        ## Two weeks before the start date
        1. File the IT onboarding ticket (laptop, accounts, team groups). Engineers need the "engineering" and
           team Okta groups; production access is never part of onboarding.
        2. Pick an onboarding buddy and tell them.
        3. Plan the first week in the calendar: team meetings, 1:1s, the security awareness training on day 2.

        ## First day
        Welcome, lunch with the team, hand over to the buddy. Check that the laptop works before lunch.

        ## First month
        - Weekly 1:1s, 30/60/90 day goals written down by the end of week 2.
        - Probation: 2 months in NL contracts, 6 months in DE contracts. Book the probation conversation two
          weeks before it ends.
        - Engineers: the first on-call shadow shift after week 2, the rotation not before month 2.
        """, parent="hr-home", labels=["onboarding", "managers"], author="hannah", created="2024-03-18",
          updated="2025-05-20")

    cpage("hr-sick", "HR", "Sick leave and absence reporting", """
        If you are sick, tell your manager before 10:00 on the first day (Slack or phone) and register the
        absence in the HR system. You do not have to say what is wrong.

        - Netherlands: the occupational health service (arbodienst) may contact you after a week of absence.
        - Germany: a doctor's certificate (eAU) is needed from the fourth calendar day.
        - UK: self-certification for up to 7 days, a fit note after that.

        If you are on call and fall sick, hand the pager to your secondary immediately and tell your team
        channel; do not try to push through the shift.
        """, parent="hr-home", labels=["policy", "leave"], author="hannah", created="2024-02-07", updated="2024-09-12")


# ===========================================================================
# Jira: OPS
# ===========================================================================

def jira_ops():
    jira("kafka-lag", "OPS", "Bug", "route-planner-ingest stuck in rebalance loop, lag above 400k on orders.v2", """
        Opened during the SEV2 on 2025-09-12 (incident channel #inc-20250912-route-delays).

        RoutePlannerConsumerLagHigh fired at 03:02 UTC. Lag on orders.v2 for group route-planner-ingest kept growing
        after we scaled ingest from 12 to 24 replicas. Peak lag 412,000 messages at 03:50 UTC.

        Logs from the ingest pods show the group rebalancing every 20-40 seconds:

        level=warn ts=2025-09-12T02:47:13.882Z component=ingest msg="member evicted: poll interval exceeded" group=route-planner-ingest member=ingest-7f9c4b-xk2lp max_poll_interval=5m0s
        level=info ts=2025-09-12T02:47:14.103Z component=ingest msg="rebalance started" group=route-planner-ingest protocol=eager generation=8812
        level=info ts=2025-09-12T02:47:51.540Z component=ingest msg="partitions assigned" count=1 generation=8813

        Partition 17 (UrbanCrate's key) has a batch time of 40-90 s, the other partitions are fast. Every time the
        consumer owning partition 17 exceeds max.poll.interval.ms, the whole group rebalances and all consumers stop.

        Short-term fix applied at 03:58 UTC: ingest.maxPollRecords 500 -> 100. Follow-up in this ticket: switch to
        the cooperative-sticky assignor so that a rebalance does not stop every consumer.
        """, status="Done", priority="Highest", components=["route-planner", "kafka"],
         labels=["incident", "sev2", "postmortem"], assignee="mei", reporter="oskar", created="2025-09-12 03:20",
         updated="2025-09-17 11:05", comments=[
             ("mei", "2025-09-12 04:40", "Root cause of the slow batches: the upsert on orders (tenant_id, external_ref) does a "
                                         "sequential scan on the orders_2025 partition. The index exists on orders_2024 only. "
                                         "Separate ticket {{J:kafka-index}}."),
             ("oskar", "2025-09-15 16:12", "Cooperative-sticky assignor and maxPollRecords=200 in {{MR:kafka-coop}}. Tested on "
                                           "staging with a synthetic 500k burst on one partition: no full-group stops, lag "
                                           "recovered in 11 minutes."),
             ("ben", "2025-09-17 11:05", "Deployed to both regions. Postmortem: {{CURL:pm-kafka-lag}}. Closing; remaining "
                                         "actions have their own tickets."),
         ])

    jira("kafka-partitions", "OPS", "Task", "Increase orders.v2 from 24 to 48 partitions and key by tenant and depot", """
        Postmortem action for the 2025-09-12 incident. With tenant_id as key, one tenant's burst lands on one partition.

        Plan:
        1. Change the producer key from tenant_id to tenant_id + ":" + depot_id. Ordering only matters per depot,
           because planning batches are per depot.
        2. Increase partitions 24 -> 48 in Terraform (kafka module, topic orders.v2).
        3. Scale route-planner-ingest max replicas to 48.

        Increasing partitions changes the key-to-partition mapping. In-flight orders of the same depot could be
        consumed out of order for a few seconds; acceptable because ingest deduplicates and planning is not
        triggered per message. We do the change at 06:00 UTC on a Tuesday, after the EU auto-planning window.
        """, status="Done", priority="High", components=["kafka", "infrastructure"], labels=["postmortem"],
         assignee="nadia", reporter="mei", created="2025-09-15 09:30", updated="2025-09-23 07:02", comments=[
             ("nadia", "2025-09-19 14:20", "Terraform change in {{MR:orders-partitions}}, producer key change is in the "
                                           "order intake MR linked from there."),
             ("nadia", "2025-09-23 07:02", "Done at 06:04 UTC. 48 partitions, lag 0, no duplicate plans observed."),
         ])

    jira("kafka-index", "OPS", "Task", "Missing (tenant_id, external_ref) index on orders_2025 partition in routing-db", """
        The composite index orders_tenant_external_ref_idx exists on orders_2024 but not on orders_2025. The 2025
        partition was created by scripts/partitions/create_year.sql, which does not copy indexes.

        To do:
        - CREATE INDEX CONCURRENTLY on orders_2025 (about 180M rows, expect 25-40 minutes).
        - Fix create_year.sql to create the partition with CREATE TABLE ... PARTITION OF, which inherits indexes
          from the parent.
        - Add a CI check (schema-lint) that compares indexes across all partitions of partitioned tables.
        """, status="Done", priority="High", components=["route-planner"], labels=["postmortem", "postgres"],
         assignee="oskar", reporter="mei", created="2025-09-12 07:10", updated="2025-09-18 10:44", comments=[
             ("oskar", "Index created on prod EU at 2025-09-12 19:02 UTC (31 min), NA at 19:40. Upsert p99 went from 4.2 s to 6 ms."),
             ("oskar", "schema-lint check added; it also found a missing index on route_events_2025. Fixed that too."),
         ])

    jira("bulk-import-limit", "OPS", "Story", "Per-tenant rate limit for order intake", """
        As the platform, we want to limit how fast a single tenant can push orders, so that one tenant's bulk
        import cannot delay planning for everyone else.

        Context: on 2025-09-12 UrbanCrate re-sent 600,000 orders in a few minutes after an ERP migration.

        Acceptance criteria:
        - Token bucket per tenant on POST /v2/orders and the EDI intake: default 200 orders/s, burst 2,000.
        - Limit configurable per tenant in the admin tool (Enterprise tenants may get more).
        - Exceeding the limit returns 429 with code RP-429-TENANT_INTAKE_LIMIT and Retry-After.
        - Metric and Grafana panel: throttled requests per tenant.
        - Support is informed before rollout; tenants with large nightly imports are contacted.
        """, status="In Progress", priority="High", components=["route-planner"], labels=["postmortem", "api"],
         assignee="oskar", reporter="grace", created="2025-09-16 10:02", updated="2025-10-06 15:31", comments=[
             ("grace", "Checked with Support: Brightline Grocers imports up to 45,000 orders at 22:00 in one go. At 200/s "
                       "that takes under 4 minutes, fine. UrbanCrate agreed to spread their re-sync."),
             ("oskar", "Implementation uses redis-cache for the buckets (not redis-sessions). If redis-cache is "
                       "unavailable we fail open, not closed."),
             ("mei", "Fail open is right. Please add the limit to the API reference changelog when it ships."),
         ])

    jira("lag-alert-partition", "OPS", "Task", "Per-partition consumer lag alert for route-planner-ingest", """
        The group-level alert (sum of lag above 50,000 for 10 minutes) fired 31 minutes after partition 17 started
        lagging on 2025-09-12. Add a second alert on the maximum lag of any single partition:

        max by (partition) (kafka_consumergroup_lag{consumergroup="route-planner-ingest", topic="orders.v2"}) > 10000 for 5m

        Route to Routing Primary. Update the runbook and the alert catalog.
        """, status="To Do", priority="Medium", components=["observability", "kafka"], labels=["postmortem", "alerting"],
         assignee="ben", reporter="mei", created="2025-09-15 11:45", updated="2025-09-18 15:20", comments=[
             ("ben", "Will pick this up in week 40. Need to check the exporter's cardinality first, 48 partitions x 30 groups."),
         ])

    jira("redis-split", "OPS", "Task", "Create redis-sessions cluster and move driver sessions off the shared cache", """
        Follow-up from the SEV2 on 2025-08-25 (drivers signed out mid-route). Decision in ADR-015.

        Steps:
        1. Terraform: new ElastiCache replication group redis-sessions (cache.r7g.large, 2 replicas, Multi-AZ,
           maxmemory-policy noeviction, TLS, AUTH token in Vault).
        2. gatekeeper and driver-bff: write sessions to both clusters, read from redis-sessions with fallback to the
           old cluster (one release).
        3. After 30 days (refresh token lifetime), remove the fallback.
        4. Rename the old cluster to redis-cache in config and dashboards.
        5. Alert RedisSessionsMemoryHigh at 75%.
        """, status="Done", priority="High", components=["infrastructure", "gatekeeper", "driver-bff"],
         labels=["postmortem", "redis"], assignee="ben", reporter="priya", created="2025-08-26 08:15",
         updated="2025-09-29 13:40", comments=[
             ("ben", "Terraform in {{MR:redis-sessions-tf}}. Applied in EU and NA."),
             ("jonas", "driver-bff dual-write deployed with 2025.09.1. Reads from redis-sessions since 2025-09-02."),
             ("ben", "Fallback removed on 2025-09-29. Closing."),
         ])

    jira("geocoder-stall", "OPS", "Bug", "Route planning stalls when MapGrid geocoding responds slowly", """
        On 2025-03-27 between 07:10 and 07:55 UTC MapGrid's geocoding API had p99 latency of about 30 s. Order
        intake in route-planner stalled completely: orders were not geocoded, so they never reached orders.v2, and
        dispatchers saw empty planning boards.

        Goroutine dump from one pod showed 1,900 goroutines blocked in net/http.(*persistConn).roundTrip from
        internal/geocode.(*Client).Geocode. The geocode client uses http.DefaultClient, which has no timeout, and
        intake waits for every geocode before publishing.

        Proposal:
        - 3 s timeout per geocode request.
        - Circuit breaker around MapGrid; when open, send requests to our Nominatim.
        - Alert when the circuit is open in most pods (runbook to be written).
        """, status="Done", priority="Highest", components=["route-planner"], labels=["incident", "geocoding"],
         assignee="oskar", reporter="mei", created="2025-03-27 09:02", updated="2025-04-16 12:30", comments=[
             ("oskar", "Implementation in {{MR:geocoder-cb}}. Threshold and open duration are configurable, defaults in the MR."),
             ("grace", "From the product side: low-confidence geocodes during a MapGrid outage are acceptable as long as "
                       "dispatchers see the yellow pins. Stalling is not."),
             ("oskar", "Deployed 2025-04-15. Runbook: {{CURL:rb-geocoder}}."),
         ])

    jira("wms-deadlock", "OPS", "Bug", "Deadlocks between sync-apply and replenishment on stock_level stall RTM1 scanners", """
        SEV2 on 2025-03-19, 06:12-06:53 UTC. Handhelds at RTM1 could not sync; about 9,400 scans queued.

        wms-db log, repeated about 2,300 times in 30 minutes:

        ERROR:  deadlock detected
        DETAIL:  Process 28114 waits for ShareLock on transaction 991823551; blocked by process 28120.
                 Process 28120 waits for ShareLock on transaction 991823547; blocked by process 28114.
        HINT:  See server log for query details.
        CONTEXT:  while updating tuple (18211,7) in relation "stock_level"

        sync-apply updates stock_level rows in scan order; the replenishment job (moved to 06:00 UTC last week)
        updates them ordered by sku_id. sync-apply retries a deadlock immediately, which makes it worse.
        """, status="Done", priority="Highest", components=["wms-core"], labels=["incident", "sev2", "postgres"],
         assignee="arjun", reporter="yusuf", created="2025-03-19 06:40", updated="2025-04-03 09:12", comments=[
             ("arjun", "Fix in {{MR:wms-lock-order}}: both writers lock rows with SELECT ... FOR UPDATE ordered by (bin_id, "
                       "sku_id) before updating, and sync-apply retries deadlocks with jittered backoff (50-500 ms)."),
             ("yusuf", "Replenishment job moved back to 05:00 UTC and we added a scheduler rule: nothing heavy within 30 "
                       "minutes of a DC shift start."),
             ("priya", "Postmortem published: {{CURL:pm-wms-deadlock}}"),
         ])

    jira("wms-4307", "OPS", "Bug", "LEJ2 pickers lose stock holds on large multi-line orders before picking finishes", """
        Reported by the LEJ2 (Leipzig) shift lead via Support. Pickers working orders with 150+ lines for a pharma
        tenant get "Reservation expired" (WMS-4307) on the last aisles and have to ask a supervisor to re-release
        the order. It happens several times per shift since the tenant started consolidating weekly orders.

        Reservations are created when the wave is released and expire after 45 minutes (tenant default). A
        150-line order in LEJ2 takes 55-70 minutes to pick because the cold-chain zone is at the far end.

        Options:
        1. Raise the tenant's reservation TTL to 120 minutes (config change, today).
        2. Extend the reservation automatically while the picking session is active (heartbeat already exists for
           bin locks).
        3. Split large orders into multiple pick tasks at wave release.
        """, status="In Progress", priority="High", components=["wms-core"], labels=["customer-escalation", "LEJ2"],
         assignee="arjun", reporter="fatima", created="2025-07-29 13:20", updated="2025-09-04 10:18", comments=[
             ("yusuf", "Option 1 applied for the tenant as a stopgap (reservation_ttl_minutes=120). Option 2 is the real fix."),
             ("arjun", "Option 2: extend reservations on each pick confirmation, capped at 4 hours. Draft in "
                       "{{MR:wms-reservation-extend}}."),
             ("fatima", "LEJ2 confirms no more expiries since the TTL change. Keeping the ticket open for the real fix."),
         ])

    jira("noise-hpa", "OPS", "Task", "KubeHpaMaxedOut pages for driver-bff during morning peak without action needed", """
        Paged 4 times in week 34 between 05:30 and 06:30 CET. Every time driver-bff had reached 18 replicas, latency was
        normal and nothing needed doing. The alert is not actionable.

        Proposal: make KubeHpaMaxedOut Slack-only for all services, raise driver-bff maxReplicas to 24, and keep
        paging on the symptom (DriverBffErrorRate, latency SLO burn) instead.
        """, status="Done", priority="Low", components=["observability", "driver-bff"], labels=["alert-noise"],
         assignee="chloe", reporter="ben", created="2025-08-22 06:50", updated="2025-09-01 14:00", comments=[
             ("chloe", "maxReplicas 24 merged in the driver-bff chart. Alert routing change in platform/infrastructure."),
         ])

    jira("noise-outbox", "OPS", "Task", "WmsOutboxLag fires during 02:00 cycle counts", """
        WmsOutboxLag (outbox older than 60 s) fires at night at every DC because cycle counts write thousands of
        inventory events in a few seconds. It recovers within 5-10 minutes without action.

        Add for: 15m to the rule, and split the alert: page only if the oldest outbox row is older than 15 minutes.
        """, status="Done", priority="Low", components=["wms-core", "observability"], labels=["alert-noise"],
         assignee="arjun", reporter="priya", created="2025-08-28 15:10", updated="2025-09-03 11:22")

    jira("brightline-breaks", "OPS", "Bug", "Brightline Grocers: driver breaks planned after the legal 4.5 h driving limit", """
        Customer escalation (Zendesk #48213, Enterprise, P2).

        Brightline's dispatchers report that for routes longer than 6 hours the planned 45-minute break is placed
        after 5 h 10 min of driving on some routes. EU rules (Regulation 561/2006) require a break after at most
        4.5 h of driving. Their drivers take the break earlier, which shifts all later ETAs and causes missed time
        windows in the afternoon.

        Example: route_plan_id rp_01J6Y2B8XK4Q, vehicle truck-12, planning date 2025-08-04.

        Suspected cause: the solver counts service time at drops as driving time reset, but the rule only allows
        breaks (not service time) to reset the counter.
        """, status="Done", priority="High", components=["route-planner"], labels=["customer-escalation", "solver"],
         assignee="ravi", reporter="sofia", created="2025-08-05 10:40", updated="2025-08-21 16:02", comments=[
             ("ravi", "Confirmed. The break constraint in vrp-solver resets the driving counter on any non-driving "
                      "interval longer than 15 min, which includes long unloads. Fix: only break intervals reset it."),
             ("ravi", "Fixed in vrp-solver 2025.08.2; plans for Brightline re-checked for two weeks of history: no "
                      "violations."),
             ("sofia", "Customer confirmed. Closing the Zendesk ticket."),
         ])

    jira("hv-bridge", "OPS", "Bug", "Harbor & Vale Freight: HGV routed under a 3.6 m bridge near Waalhaven", """
        Customer escalation, P1 initially (a driver had to reverse 400 m with a 4.0 m trailer; nobody hurt).

        The HGV profile routed truck hv-031 through Sluisjesdijk under a railway bridge with 3.6 m clearance.
        OpenStreetMap has no maxheight tag on that way. Our HGV profile only avoids low bridges when maxheight is
        tagged.

        Immediate action: added the maxheight tag to OSM (changeset by Mei) and a local override in
        osrm-profiles/overrides/nl.csv, and triggered an OSRM rebuild for the NL region.
        """, status="Done", priority="Highest", components=["route-planner"], labels=["customer-escalation", "osrm", "safety"],
         assignee="mei", reporter="marcus", created="2025-06-11 08:05", updated="2025-06-19 12:11", comments=[
             ("mei", "Override live after the rebuild at 14:30 UTC. I also asked Harbor & Vale for their list of known "
                     "low bridges; they sent 14, three were missing in OSM."),
             ("grace", "Product follow-up: allow tenants to upload their own restricted roads. Added to the roadmap board."),
         ])

    jira("coredns", "OPS", "Bug", "CoreDNS add-on upgrade removed HPA; DNS timeouts in nw-prod-euw1", """
        SEV2 on 2025-05-07 13:04-13:27 UTC. After upgrading the CoreDNS EKS add-on to v1.11.4-eksbuild.2, CoreDNS ran
        with 2 replicas; the hand-made HPA was deleted by the add-on's default configuration.

        Symptoms: "dial tcp: lookup osrm-eu.nw.internal: i/o timeout" in route-planner, 5xx from driver-bff, CoreDNS
        pods at 100% CPU.

        Mitigation: scaled CoreDNS to 8 replicas by hand at 13:21.
        """, status="Done", priority="Highest", components=["infrastructure"], labels=["incident", "sev2", "dns"],
         assignee="nadia", reporter="ben", created="2025-05-07 13:30", updated="2025-05-21 10:00", comments=[
             ("nadia", "CoreDNS autoscaling now configured via the add-on's configuration_values in Terraform, so upgrades "
                       "keep it. Postmortem: {{CURL:pm-dns}}"),
         ])

    jira("nodelocal-dns", "OPS", "Task", "Roll out NodeLocal DNSCache to production node groups", """
        Postmortem action from the CoreDNS incident. NodeLocal DNSCache runs a caching DNS agent on every node as a
        DaemonSet, so most lookups never reach CoreDNS.

        Rollout: staging first, then nw-prod-use1, then nw-prod-euw1, node group by node group. Watch for the
        known conntrack issue with UDP on older kernels (our AMIs are on 6.1, should be fine).
        """, status="Done", priority="Medium", components=["infrastructure"], labels=["postmortem", "dns"],
         assignee="nadia", reporter="nadia", created="2025-05-09 09:00", updated="2025-06-04 15:45", comments=[
             ("nadia", "Live everywhere. CoreDNS QPS dropped from ~38k to ~3k at peak."),
         ])

    jira("ndots", "OPS", "Task", "Set ndots:2 in pod DNS config for our services", """
        Kubernetes defaults to ndots:5, so a lookup for api.stripe.com tries five search domains first. That
        multiplies DNS queries by up to 6 for external names.

        Add dnsConfig.options ndots=2 to the shared Helm library chart (nw-service). Services that rely on short
        names of the form service.namespace (two labels) still work because the search path is tried first for
        names with fewer than 2 dots.
        """, status="In Progress", priority="Low", components=["infrastructure"], labels=["postmortem", "dns"],
         assignee="nadia", reporter="nadia", created="2025-05-09 09:20", updated="2025-09-30 10:12", comments=[
             ("nadia", "Rolled out to routing and mobile namespaces. billing waits for the freeze to end; not worth the risk."),
         ])

    jira("tls-renew-2025", "OPS", "Task", "Renew *.northwind.example certificate before 2025-11-28", """
        The public wildcard certificate expires on 2025-11-28, inside the peak season freeze. Renew it in the first
        week of November following the runbook: {{CURL:rb-tls}}

        Also check whether DigiCert's shorter maximum validity changes affect next year's renewal and whether we
        should move the public certificate to ACME automation.
        """, status="To Do", priority="High", components=["infrastructure"], labels=["certificates"],
         assignee="nadia", reporter="priya", created="2025-10-02 15:30", updated="2025-10-02 15:30")

    jira("argocd-hpa", "OPS", "Bug", "ArgoCD app driver-bff-prod permanently OutOfSync because of HPA-managed replicas", """
        Since the HPA change the driver-bff-prod application shows OutOfSync all the time: the Deployment manifest sets
        replicas: 6 and the HPA changes it. The ArgoCDAppNotSynced notification in #mobile is now useless.

        Fix: remove spec.replicas from the chart when autoscaling is enabled, and add ignoreDifferences for
        /spec/replicas on Deployments in the ApplicationSet template.
        """, status="Done", priority="Low", components=["ci-cd"], labels=["argocd"], assignee="nadia", reporter="chloe",
         created="2025-09-02 09:40", updated="2025-09-05 11:00")

    jira("load-test", "OPS", "Task", "Load test route-planner at 2x last November's peak on staging", """
        Before the peak season freeze we want evidence that route-planner, vrp-solver and routing-db handle twice the
        peak of November 2024 (about 1,800 orders/s intake, 420 optimisations per minute at 05:30 CET).

        Scope: order intake, ingest consumer, optimize API (sync and async), OSRM. Not in scope: driver-bff.
        Scheduled for 2025-10-14 on nw-staging-euw1 scaled to production size (temporary node group).
        Tooling: k6 scripts in platform/route-planner/loadtest, synthetic tenants from the seed generator.
        """, status="To Do", priority="High", components=["route-planner", "infrastructure"], labels=["peak-season"],
         assignee="ravi", reporter="priya", created="2025-09-19 10:00", updated="2025-10-03 09:30", comments=[
             ("ravi", "Scripts updated for the 48-partition topic. I will also run a 600k-order burst from one tenant to "
                      "verify the intake rate limit once it is deployed."),
         ])

    jira("nwctl-502", "OPS", "Bug", "nwctl access request fails with 'approval webhook returned 502' for db-readonly", """
        Since this morning every nwctl access request --role db-readonly fails:

        $ nwctl access request --role db-readonly --target routing-db --ttl 8h --reason "OPS-2xx"
        Error: create request: approval webhook returned 502 Bad Gateway (request id 7c1d0f2e)

        kube-readonly still works. Looks like the Slack approval bot for #access-requests cannot reach the access
        broker.
        """, status="Done", priority="High", components=["ci-cd", "gatekeeper"], labels=["access"], assignee="nadia",
         reporter="rahul", created="2025-07-08 08:50", updated="2025-07-08 12:15", comments=[
             ("nadia", "The access-broker pod restarted with a new Vault role name after yesterday's chart change and "
                       "could not read the Slack signing secret. Fixed the role binding; requests work again."),
             ("rahul", "Confirmed, got my grant. Thanks!"),
         ])

    jira("jwks-cache", "OPS", "Bug", "Console 401s for 4 minutes after gatekeeper signing key rotation", """
        On 2025-06-30 at 00:00 UTC the scheduled signing key rotation in gatekeeper happened. For about 4 minutes the
        console API (reports-api and console-bff) rejected freshly issued tokens with 401 "kid not found".

        gatekeeper publishes the new key in JWKS at rotation time and starts signing with it immediately. Our
        verifiers cache JWKS for 5 minutes and only refetch on schedule, not on an unknown kid.

        Fix options: (a) publish the next key 24 h before using it (pre-publication), (b) verifiers refetch JWKS on an
        unknown kid, rate-limited. Both, ideally.
        """, status="Done", priority="Medium", components=["gatekeeper"], labels=["auth"], assignee="nadia",
         reporter="ben", created="2025-06-30 07:15", updated="2025-07-15 13:02", comments=[
             ("nadia", "Both done: gatekeeper now pre-publishes the next key 24 h ahead, and nw-auth-go refetches JWKS on "
                       "unknown kid at most once per 30 s."),
         ])

    jira("webhook-disabled-notify", "OPS", "Bug", "Tenants not notified when their webhook endpoint is disabled", """
        The webhook docs promise an email to the technical contact when an endpoint is disabled after 72 hours of
        failures. notification-service disables the endpoint but the email template webhook_disabled was never
        wired up. Found through a Kestrel Pharma ticket: they lost a week of delivery.completed events.
        """, status="In Progress", priority="Medium", components=["notification-service"], labels=["webhooks", "customer-escalation"],
         assignee="ben", reporter="sofia", created="2025-09-08 14:25", updated="2025-09-26 09:10", comments=[
             ("ben", "Email wiring done; also adding a banner in the console integrations page. Replay window for Kestrel "
                     "extended to 14 days manually so they can recover the events."),
         ])

    jira("nominatim-oom", "OPS", "Bug", "Nominatim pods OOMKilled when the geocoder circuit opens", """
        During the MapGrid slowdown on 2025-07-17 the circuit opened as designed and traffic moved to Nominatim. Two of
        the three nominatim pods were OOMKilled within 6 minutes (limit 4Gi), so fallback capacity halved exactly when
        we needed it.

        Memory grows with the number of concurrent requests; raise the limit to 6Gi, run 4 replicas at all times, and
        cap concurrency in the client (max 200 in-flight fallback requests per route-planner pod).
        """, status="Done", priority="High", components=["route-planner", "geocoding"], labels=["geocoding"],
         assignee="oskar", reporter="oskar", created="2025-07-17 11:02", updated="2025-07-24 16:30")

    jira("runner-disk", "OPS", "Bug", "GitLab shared runners: docker-in-docker jobs fail with 'no space left on device'", """
        Several pipelines fail in the build stage:

        failed to copy files: write /var/lib/docker/overlay2/.../merged/usr/lib/jvm/...: no space left on device

        The dind sidecar uses an emptyDir on the node's root volume (50 GiB). The JDK-based builds (billing-api,
        wms-core) pull large base images and the volume fills up when several run on the same node.
        """, status="Done", priority="Medium", components=["ci-cd"], labels=["gitlab-runner"], assignee="ben",
         reporter="victor", created="2025-04-23 10:30", updated="2025-04-25 17:45", comments=[
             ("ben", "Runner node group now has a 200 GiB gp3 data volume for /var/lib/docker and a nightly prune. Also "
                     "moved the JVM builds to kaniko, which does not need dind."),
         ])

    jira("pg16", "OPS", "Epic", "Upgrade routing-db, wms-db and billing-db to Postgres 16", """
        RDS standard support for Postgres 15 continues, but we want 16 for logical replication from standbys (less
        load on primaries from Debezium) and the improved vacuum behaviour.

        Order: routing-db (January), billing-db (February, after the invoice run), wms-db (March, largest).
        Constraint: nothing during the peak freeze. Blue/green deployments in RDS; Debezium slots must be re-created
        after switchover.
        """, status="To Do", priority="Medium", components=["infrastructure", "postgres"], labels=["2026-q1"],
         assignee="priya", reporter="priya", created="2025-09-24 14:00", updated="2025-09-24 14:00")

    jira("osrm-checksum", "OPS", "Bug", "osrm-rebuild failed: europe-latest.osm.pbf checksum mismatch", """
        The weekly osrm-rebuild pipeline failed on Saturday:

        ERROR: md5 mismatch for europe-latest.osm.pbf: expected 4f1c2a..., got 9d03b7...

        The mirror we download from published the new extract while we were downloading. The rebuild kept the old
        graph, so routing is fine, but the Harbor & Vale bridge overrides from last week were not applied to the NA
        build either (unrelated region, same pipeline run).
        """, status="Done", priority="Low", components=["route-planner", "ci-cd"], labels=["osrm"], assignee="mei",
         reporter="mei", created="2025-06-21 22:40", updated="2025-06-23 09:20", comments=[
             ("mei", "Pipeline now downloads to a temp file, verifies, and retries up to 3 times with 30 min in between."),
         ])

    jira("eks-131", "OPS", "Task", "Upgrade EKS clusters from 1.30 to 1.31", """
        Standard support for 1.30 on EKS ends in July 2026, but we do not want to upgrade in Q1 while the Postgres
        upgrades run. Upgrade staging in October and production before 14 November.

        Checklist: deprecated API scan (pluto), add-on compatibility (CoreDNS, VPC CNI, EBS CSI, Karpenter),
        ingress-nginx version, vault-agent injector, node AMIs.
        """, status="In Progress", priority="Medium", components=["infrastructure", "kubernetes"], labels=["peak-season"],
         assignee="ben", reporter="priya", created="2025-09-10 09:05", updated="2025-10-07 16:40", comments=[
             ("ben", "Staging upgraded on 2025-10-07. Karpenter needed 1.0.6; no other surprises."),
         ])


# ===========================================================================
# Jira: PAY
# ===========================================================================

def jira_pay():
    jira("payment-gateway-refactor", "PAY", "Story", "Introduce PaymentGateway abstraction for Stripe and Adyen", """
        billing-api calls Stripe from 14 places and Adyen from 6, each with its own retry and error mapping. Before we
        move more EU tenants to Adyen we want one PaymentGateway interface with provider implementations.

        Acceptance criteria:
        - PaymentGateway with confirmPayment, refund, createMandate, fetchPaymentStatus.
        - Shared retry policy (3 retries on timeouts and 5xx) and shared error mapping to BIL-2xxx codes.
        - Provider chosen per payment method.
        - No behaviour change for customers.
        """, status="Done", priority="Medium", components=["billing-api"], labels=["tech-debt", "adyen"],
         assignee="victor", reporter="tomas", created="2025-05-12 10:00", updated="2025-06-14 15:30", comments=[
             ("victor", "MR is up: {{MR:payment-gateway-refactor}}. It is big, sorry; most of it is moving code."),
             ("tomas", "Merged and deployed 2025-06-14."),
         ])

    jira("dup-charge-idem", "PAY", "Bug", "Idempotency key regenerated on every Stripe retry in PaymentGateway", """
        Root cause of the duplicate charges on 2025-06-18 (SEV1).

        StripePaymentGateway.confirmPayment builds RequestOptions inside the lambda passed to RetryTemplate, so every
        retry after a timeout sends a new UUID as Idempotency-Key. Stripe treats each as a new confirmation. Before the
        refactor the key was derived from the payment attempt (inv_<invoice_id>_a<attempt>) outside the loop.

        Affected: 449 invoices (412 charged twice, 37 three times), EUR 186,940.22.

        Fix: derive the key from the payment attempt once, before the retry, and pass it in. Same review for
        AdyenPaymentGateway (Adyen uses the Idempotency-Key header too) and for refunds.
        """, status="Done", priority="Highest", components=["billing-api"], labels=["incident", "sev1", "idempotency"],
         assignee="aisha", reporter="aisha", created="2025-06-18 11:50", updated="2025-06-24 10:05", comments=[
             ("aisha", "2025-06-18 14:02", "Fix in {{MR:idem-fix}}, deployed 14:05 UTC. Adyen gateway had the same bug but no "
                                           "Adyen timeouts happened today, so no Adyen duplicates."),
             ("victor", "Regression test added: stripe-mock behind toxiproxy with a 12 s delay on the first call, asserting "
                        "that all retries carry the same key and that exactly one PaymentIntent is confirmed."),
             ("tomas", "Postmortem: {{CURL:pm-dup-charges}}"),
         ])

    jira("dup-charge-alert", "PAY", "Task", "Alert when an invoice has more than one succeeded payment attempt", """
        We learned about the duplicate charges from a customer. Add DuplicateChargeSuspected:

        - Metric from billing-api: count of invoices with more than one payment_attempt in status SUCCEEDED in the last
          hour (query every minute against the replica).
        - Page Payments Primary on any value above 0 for 2 minutes.
        - Runbook: stop dunning-worker, check the Stripe/Adyen dashboards, start refunds.
        """, status="Done", priority="High", components=["billing-api", "observability"], labels=["postmortem", "alerting"],
         assignee="victor", reporter="tomas", created="2025-06-20 09:00", updated="2025-07-02 13:44")

    jira("dup-charge-contract", "PAY", "Task", "Contract tests with stripe-mock and injected timeouts for every gateway call", """
        Unit tests mocked PaymentGateway and never exercised timeouts. Add a contract test suite that runs each gateway
        operation against stripe-mock (and Adyen's test endpoints in nightly) behind toxiproxy with: a timeout followed by
        success, a 500 followed by success, and a connection reset. Assert idempotency keys and final provider state.
        """, status="In Progress", priority="High", components=["billing-api"], labels=["postmortem", "testing"],
         assignee="victor", reporter="tomas", created="2025-06-20 09:10", updated="2025-09-12 16:10", comments=[
             ("victor", "Stripe part done and running in CI (adds 2 min). Adyen nightly job still flaky because of their test "
                        "environment's rate limits."),
         ])

    jira("dunning-breaker", "PAY", "Story", "Pause the dunning run automatically when provider latency is high", """
        The duplicate charges happened during a Stripe latency spike. Even with correct idempotency, running thousands
        of retries into a degraded provider is pointless.

        Acceptance criteria:
        - dunning-worker checks provider p95 latency (from our client metrics) before each batch of 50.
        - Above 5 s p95 over the last 5 minutes it pauses for 10 minutes and posts in #payments-eng.
        - After 3 pauses in a run it stops the run and pages Payments Primary.
        """, status="To Do", priority="High", components=["billing-api"], labels=["postmortem", "dunning"],
         assignee="aisha", reporter="tomas", created="2025-06-20 09:20", updated="2025-09-17 11:00", comments=[
             ("tomas", "Planned for sprint 2025-19, must be done before the freeze."),
         ])

    jira("stripe-webhook-sig", "PAY", "Bug",
         "Stripe webhooks rejected: No signatures found matching the expected signature for payload", """
        Since the billing-api release 2025.09.2 (deployed 2025-09-15 08:30 UTC) about 7% of Stripe webhooks fail
        verification and are answered with 400. Stripe retries them, and the Stripe dashboard shows the endpoint as
        degraded.

        billing-api log:

        WARN  c.n.b.webhooks.StripeWebhookController - webhook rejected: com.stripe.exception.SignatureVerificationException: No signatures found matching the expected signature for payload
            at com.stripe.net.Webhook$Signature.verifyHeader(Webhook.java:150)
            at com.stripe.net.Webhook.constructEvent(Webhook.java:68)
            at com.northwind.billing.webhooks.StripeWebhookController.receive(StripeWebhookController.java:57)

        Only some events fail. So far every failing event contains a non-ASCII character in the customer name or
        address (for example "Müller Logistik GmbH", "Société Transports Rhône").

        2025.09.2 added the RequestLoggingFilter for tracing, which wraps the request in ContentCachingRequestWrapper.
        """, status="Done", priority="High", components=["billing-api", "stripe"], labels=["webhooks", "regression"],
         assignee="aisha", reporter="victor", created="2025-09-15 11:05", updated="2025-09-16 09:30", comments=[
             ("aisha", "2025-09-15 13:10", "Found it. The controller now reads the body with request.getReader() after the filter cached it, and the "
                       "wrapper decodes with ISO-8859-1 because Stripe's Content-Type has no charset. We then re-encode as "
                       "UTF-8 and verify the signature over different bytes. ASCII-only payloads are unaffected, hence 7%."),
             ("aisha", "2025-09-15 16:52", "Fix: the controller takes the raw body as byte[] (@RequestBody byte[]) and verifies over those bytes; the "
                       "logging filter skips /billing/webhooks/**. Deployed 2025.09.3 at 16:40 UTC."),
             ("victor", "2025-09-16 08:31", "Stripe retried all failed events within 3 hours, nothing lost. Thread in #payments-eng: {{SL:stripe-sig}}"),
         ])

    jira("cost-centre-split", "PAY", "Story", "Split the monthly invoice by cost centre", """
        Feature request from three Enterprise tenants (Brightline Grocers, Harbor & Vale Freight, Polar Foods).

        Today every tenant gets one invoice per month for everything. Large customers run depots and warehouses as
        separate business units with their own budgets and purchase orders. Their accounts payable teams currently
        split our invoice by hand in a spreadsheet every month, which delays payment by 2-3 weeks.

        What they ask for:
        - Define cost centres in the console (name, optional PO number, billing contact).
        - Assign depots, warehouses and user seats to cost centres.
        - One invoice per cost centre per month, each with its own PO number and invoice number, or alternatively one
          invoice with a subtotal per cost centre (Polar Foods prefers this).

        Open questions: how do we handle usage that does not belong to a depot (API calls, console seats)? Do payment
        methods differ per cost centre? Effect on dunning when one cost centre pays and another does not?
        """, status="To Do", priority="Medium", components=["billing-api", "console"], labels=["feature-request", "enterprise"],
         assignee="ingrid", reporter="ingrid", created="2025-07-03 09:40", updated="2025-09-18 14:25", comments=[
             ("marcus", "Support gets about two tickets per month asking for this, always Enterprise."),
             ("aisha", "Technically the cheap version is subtotals on one invoice (grouping invoice_lines). Separate invoices "
                       "means separate numbering and dunning per cost centre, that is a lot more work."),
             ("ingrid", "Interviews done with Brightline and Harbor & Vale: both need separate invoices with separate PO numbers; "
                        "subtotals do not help their AP process. Polar Foods is fine with subtotals. Proposing to do "
                        "subtotals first (Q4) and separate invoices in Q1."),
         ])

    jira("chf-vat", "PAY", "Bug", "VAT amount differs by CHF 0.01 between invoice PDF and ledger for Swiss tenants", """
        Finance reconciliation found 23 September invoices for Swiss tenants where the VAT amount on the PDF differs by
        0.01 from the ledger entry.

        Swiss VAT (8.1%) must be rounded to 0.05 CHF on invoices in our setup, but the ledger rounds to 0.01. The PDF
        renderer uses the invoice_lines values (rounded to 0.05), the ledger recomputes from net amounts.
        """, status="Done", priority="Medium", components=["billing-api"], labels=["tax", "finance"], assignee="victor",
         reporter="ingrid", created="2025-10-02 08:30", updated="2025-10-07 17:10", comments=[
             ("victor", "Ledger now books the rounded VAT from the invoice lines and the rounding difference to account 4990. "
                        "Needs an exception for the freeze? No, freeze starts 24 Nov. Deployed."),
         ])

    jira("invoice-run-split", "PAY", "Task", "Split the invoice run per region so NA does not wait for EU", """
        The invoice runs on 1 September and 1 October finished at 07:52 and 08:40 UTC. NA tenants are invoiced at the end
        of the run although it is the middle of the night for them, and the long run overlaps with EU business hours,
        which causes PgBouncer waits.

        Plan: separate CronJobs invoice-runner-eu (03:00 UTC) and invoice-runner-na (08:00 UTC), each with its own KEDA
        scale-up. No change to invoice numbering: numbering is per legal entity and the entities are per region already.
        """, status="In Progress", priority="High", components=["billing-api", "invoicing"], labels=["peak-season"],
         assignee="victor", reporter="tomas", created="2025-10-02 09:15", updated="2025-10-08 10:20")

    jira("adyen-eu-migration", "PAY", "Task", "Move card payments of three EU Enterprise tenants from Stripe to Adyen", """
        Commercial agreement: Kestrel Pharma, Polar Foods and UrbanCrate move card payments to Adyen with interchange++
        pricing from the July invoices.

        Card details cannot be moved by us. Customers add the card again through the Adyen Drop-in in the console; the
        old Stripe payment method is detached after the first successful Adyen charge. Account managers coordinate.
        """, status="Done", priority="Medium", components=["billing-api", "adyen"], labels=["adyen", "enterprise"],
         assignee="aisha", reporter="ingrid", created="2025-05-26 13:00", updated="2025-07-04 11:45", comments=[
             ("aisha", "All three charged successfully through Adyen on 1 July. Stripe methods detached."),
         ])

    jira("sepa-md06", "PAY", "Bug", "SEPA return reason MD06 re-enters dunning instead of stopping collection", """
        A customer disputed a SEPA debit with their bank (return reason MD06, refund requested by the debtor). Dunning
        treated it like AM04 and debited again 3 days later, which the customer rightly complained about.

        Expected: MD01 and MD06 stop automatic collection and create a Finance task. AM04 re-enters dunning.
        """, status="Done", priority="High", components=["billing-api", "dunning"], labels=["sepa"], assignee="aisha",
         reporter="fatima", created="2025-04-14 10:10", updated="2025-04-17 15:00")

    jira("refund-180d", "PAY", "Bug", "Refunds older than 180 days fail with charge_expired_for_refund and end in the DLQ", """
        Stripe does not allow card refunds for charges older than 180 days and answers with the error code
        charge_expired_for_refund. refund-service treats it as retryable, retries 3 times and sends the message to
        refunds.dlq, which pages Payments Primary at night for something nobody can fix.

        Expected: classify as non-retryable, set the refund to MANUAL and create a Finance task for a bank transfer.
        """, status="Done", priority="Medium", components=["refund-service"], labels=["refunds", "alert-noise"],
         assignee="victor", reporter="aisha", created="2025-03-06 07:55", updated="2025-03-11 12:30", comments=[
             ("victor", "Added to the non-retryable list in {{MR:refund-nonretryable}}."),
         ])

    jira("refund-approval-ui", "PAY", "Story", "Backoffice: show the approval chain on refunds above EUR 5,000", """
        Support leads approve refunds between 500 and 5,000 EUR; above that a second approver from Payments or Finance
        is required. The backoffice shows only "pending approval" without saying who approved already or who is
        expected to approve next.

        Acceptance criteria: approval history with names and timestamps; the next required role; Slack notification to
        #payments-approvals when a refund is waiting for the second approval for more than 4 business hours.
        """, status="To Do", priority="Low", components=["backoffice"], labels=["refunds", "ux"], assignee=None,
         reporter="marcus", created="2025-08-11 12:00", updated="2025-08-11 12:00")

    jira("xrechnung-bt10", "PAY", "Bug", "XRechnung e-invoices rejected: BT-10 Buyer reference missing", """
        A German public-sector tenant's portal rejects our September e-invoice:

        [BR-DE-15] Das Element "Buyer reference" (BT-10) muss übermittelt werden.

        For German public administration the Leitweg-ID must be sent in BT-10. We store it in billing_accounts.po_number,
        but the UBL/XRechnung mapper only fills BT-13 (purchase order reference).
        """, status="Done", priority="High", components=["billing-api", "invoicing"], labels=["e-invoicing"],
         assignee="victor", reporter="fatima", created="2025-09-04 09:30", updated="2025-09-10 14:55", comments=[
             ("victor", "New field leitweg_id on billing accounts; mapped to BT-10. Re-sent the September invoice; accepted."),
         ])

    jira("stripe-api-upgrade", "PAY", "Task", "Upgrade the pinned Stripe API version", """
        We pin Stripe API version 2024-06-20. Stripe has announced the end of some behaviours we rely on for that
        version in 2026. Review the changelog between our version and the current one, especially PaymentIntent
        confirmation, SEPA mandate objects and webhook payload changes, and upgrade on staging first.

        Must not happen between 24 November and 2 January.
        """, status="To Do", priority="Medium", components=["billing-api", "stripe"], labels=["tech-debt"],
         assignee="aisha", reporter="tomas", created="2025-09-17 13:30", updated="2025-09-17 13:30")

    jira("dunning-language", "PAY", "Bug", "Dunning emails sent in English to French tenants", """
        Lyon-based tenants receive the "payment failed" and reminder emails in English. The invoice emails are French.
        The dunning templates read the language from the user who created the subscription, not from the billing
        account's invoice_language.
        """, status="In Progress", priority="Low", components=["billing-api", "dunning"], labels=["i18n"],
         assignee="victor", reporter="sofia", created="2025-09-22 15:00", updated="2025-10-01 10:05")

    jira("metering-reopt", "PAY", "Bug", "Routes planned counted twice when a plan is re-optimised", """
        Usage for UrbanCrate in August shows 31,204 routes planned, their own count is 18,990. Every reoptimize call
        publishes routes.planned.v1 again for all routes of the plan, and metering counts each message.

        Pricing counts routes, not optimisation calls. Metering must deduplicate on route id per billing period.
        """, status="Done", priority="Highest", components=["billing-api", "metering"], labels=["billing-error", "customer-escalation"],
         assignee="aisha", reporter="ingrid", created="2025-09-03 10:20", updated="2025-09-12 09:00", comments=[
             ("aisha", "Unique key on usage_records is now (billing_period, meter, route_id) for the routes meter. Recomputed "
                       "August for all tenants: 41 tenants were overcharged; credit notes issued automatically."),
             ("ingrid", "Account managers informed the 41 tenants before the credit notes went out."),
         ])

    jira("credit-note-vat", "PAY", "Bug", "Credit note PDF shows the negative VAT line twice", """
        Credit notes with more than one VAT rate render the VAT summary twice in the PDF (doc-renderer template
        credit_note.hbs iterates vat_lines inside the lines loop). Amounts in the data are correct; only the PDF is wrong.
        """, status="Done", priority="Low", components=["doc-renderer"], labels=["invoicing"], assignee="victor",
         reporter="ingrid", created="2025-05-05 11:11", updated="2025-05-06 16:00")


# ===========================================================================
# Jira: MOB
# ===========================================================================

def jira_mob():
    jira("android14-crash", "MOB", "Bug", "Crash at route start on Android 14 (5.14.0): location foreground service", """
        Crashlytics: 5.14.0 on Android 14 crashes when the driver taps "Start route". Crash-free sessions for 5.14.0
        Android dropped to 97.8% on day 2 of the rollout (10%). Rollout halted on 2025-09-04 per the release process.

        Affected: Android 14 (API 34) only. 5.14.0 raised targetSdk to 34.

        Top crash (81% of events):

        FATAL EXCEPTION: main
        Process: com.northwind.driver, PID: 18822
        android.app.MissingForegroundServiceTypeException: Starting FGS without a type  callerApp=ProcessRecord{9f3c2e1 18822:com.northwind.driver/u0a312} targetSDK=34
            at android.app.MissingForegroundServiceTypeException$1.createFromParcel(MissingForegroundServiceTypeException.java:53)
            at android.os.Parcel.readParcelableInternal(Parcel.java:4882)
            at android.app.Service.startForeground(Service.java:863)
            at com.northwind.driver.location.LocationTrackingService.onStartCommand(LocationTrackingService.kt:88)
            at android.app.ActivityThread.handleServiceArgs(ActivityThread.java:4912)

        Second crash (19%), when a route is started from a push notification while the app is in the background:

        android.app.ForegroundServiceStartNotAllowedException: startForegroundService() not allowed due to mAllowStartForeground false: service com.northwind.driver/.location.LocationTrackingService
            at com.northwind.driver.location.LocationModule.startTracking(LocationModule.kt:142)

        Steps to reproduce:
        1. Pixel 8 on Android 14, app 5.14.0 from the Play internal track.
        2. Log in as a test driver with a dispatched route.
        3. Tap "Start route".

        Expected: route starts, location tracking notification appears.
        Actual: app crashes immediately.
        """, status="Done", priority="Highest", components=["driver-app", "android"], labels=["crash", "release-blocker"],
         assignee="chloe", reporter="mateo", created="2025-09-04 07:45", updated="2025-09-10 12:00", comments=[
             ("chloe", "Android 14 requires every foreground service to declare a type, both in the manifest "
                       "(android:foregroundServiceType=\"location\") and in startForeground(), plus the "
                       "FOREGROUND_SERVICE_LOCATION permission. Our native module @nw/location predates that."),
             ("chloe", "The background case is a different rule: apps cannot start a foreground service from the background "
                       "since Android 12. The push handler now only schedules the route start, and tracking starts when the "
                       "driver opens the app. Fix in {{MR:android14-fgs}}."),
             ("mateo", "Verified on Pixel 8 (14), Galaxy A54 (14), Pixel 6 (13), Zebra TC58 (13). Ships as 5.14.1."),
             ("jonas", "5.14.1 at 100% on 2025-09-10, crash-free back at 99.86%."),
         ])

    jira("mob-sigpad", "MOB", "Bug", "Signature pad clears when the phone rotates during capture", """
        Drivers at Polar Foods sign on the phone in landscape sometimes. If the device rotates while the customer signs,
        the signature pad is cleared and the customer has to sign again. Happens on iOS and Android.

        The SignatureCapture screen is re-mounted on orientation change and keeps strokes in component state.
        """, status="Done", priority="Medium", components=["driver-app"], labels=["pod"], assignee="keiko",
         reporter="sofia", created="2025-06-16 10:00", updated="2025-07-01 15:20", comments=[
             ("keiko", "Strokes moved to the POD store and the screen is locked to portrait while signing, as drivers asked."),
         ])

    jira("mob-eta-tz", "MOB", "Bug", "ETA banner shows times in the phone's time zone instead of the depot's", """
        UrbanCrate drivers who drive routes from the Manchester depot keep their phones on CET. The ETA banner formats
        the ETA in the device time zone, while the drop list shows depot-local times. Result: the banner is one hour
        off from the list, and drivers arrive early or late for time windows.

        Expected: all times in the app in the depot's time zone, with the zone shown when it differs from the device.
        """, status="Done", priority="Medium", components=["driver-app"], labels=["eta", "time-zones"], assignee="chloe",
         reporter="fatima", created="2025-06-19 13:30", updated="2025-07-02 11:00")

    jira("mob-scan-focus", "MOB", "Bug", "Barcode scanner does not focus at close range on iPhone 15 Pro", """
        Scanning small parcel labels (under 3 cm) fails on iPhone 15 Pro and Pro Max. The camera does not focus closer
        than about 20 cm with the main lens. iOS switches to the ultra-wide lens for macro only if the app allows
        automatic lens switching, which our scanner view disables.
        """, status="Done", priority="Medium", components=["driver-app", "ios"], labels=["scanner"], assignee="keiko",
         reporter="mateo", created="2025-06-24 09:15", updated="2025-07-03 17:45", comments=[
             ("keiko", "Using the virtual device (builtInTripleCamera / DualWide) so iOS can switch to macro. Verified on 15 Pro."),
         ])

    jira("mob-dup-arrived", "MOB", "Bug", "Duplicate 'arrived' events when GPS jitters near the geofence boundary", """
        Dwell time reports for some tenants show drops with 3-6 "arrived" events. When a vehicle stops right at the 75 m
        geofence boundary, GPS jitter moves the position in and out of the fence and each entry emits arrived.

        Fix idea: hysteresis (enter at 75 m, exit at 120 m) and emit arrived at most once per drop unless the driver
        left for more than 5 minutes.
        """, status="Done", priority="Medium", components=["driver-app"], labels=["geofence", "data-quality"],
         assignee="chloe", reporter="wen", created="2025-07-09 10:40", updated="2025-08-01 14:10")

    jira("mob-push-ios17", "MOB", "Bug", "Route change push does not open the updated route on iOS 17", """
        Tapping the "Your route was updated" notification on iOS 17 opens the app on the home screen instead of the
        route. iOS 16 works. The deep link handler runs before the navigation container is ready when the app is
        launched cold from a notification.
        """, status="Done", priority="High", components=["driver-app", "ios"], labels=["push"], assignee="keiko",
         reporter="mateo", created="2025-07-14 08:20", updated="2025-07-30 16:00")

    jira("mob-battery", "MOB", "Bug", "Battery drain when the app stays on the summary screen after the last drop", """
        Drivers who finish their route and leave the phone on the "Route complete" summary screen lose 15-20% battery per
        hour. Location tracking keeps running at high accuracy until the driver taps "End shift", and many do not.

        Expected: tracking switches to low power after the last drop and stops after 30 minutes at the depot.
        """, status="Done", priority="High", components=["driver-app"], labels=["battery", "location"], assignee="chloe",
         reporter="marcus", created="2025-08-06 12:00", updated="2025-08-27 10:30")

    jira("mob-se-crash", "MOB", "Bug", "Crash opening a drop with more than 50 parcels on iPhone SE", """
        Opening a drop with many parcels (wholesale deliveries with 50-120 parcels) crashes on iPhone SE (2nd gen) with
        a memory warning followed by termination. The parcel list renders all parcel thumbnails at once.

        Fix: virtualised list (FlashList) and thumbnails loaded lazily.
        """, status="Done", priority="High", components=["driver-app", "ios"], labels=["crash", "performance"],
         assignee="keiko", reporter="mateo", created="2025-08-12 15:30", updated="2025-08-28 09:45")

    jira("mob-photo-queue", "MOB", "Bug", "Offline photo queue stalls after 200 photos", """
        With offline POD photos (5.13), the device keeps at most 200 photos. When the limit is reached the queue should
        evict photos that were already uploaded, but eviction only runs at app start. A driver with a long offline
        stretch hit the limit and could not take more POD photos until he restarted the app.
        """, status="Done", priority="High", components=["driver-app"], labels=["pod", "offline"], assignee="chloe",
         reporter="sofia", created="2025-09-03 14:00", updated="2025-09-09 10:00")

    jira("offline-pod-photos", "MOB", "Story", "Capture proof-of-delivery photos without connectivity", """
        Drivers in basements, rural areas and underground loading docks often have no signal. Today the photo step
        fails and the driver has to go back outside, or skips the photo, which breaks the tenant's POD requirements.

        As a driver, I want to take POD photos offline and have them uploaded automatically later.

        Acceptance criteria:
        - Photos are stored encrypted (AES-256, key in Keychain/Keystore) in app storage.
        - Upload resumes automatically when connectivity returns, including after an app restart.
        - Up to 200 photos are kept offline; the driver is warned at 150.
        - The drop is marked completed immediately with "photo pending upload".
        - Tenants see pending photos in the console with the capture time, not the upload time.
        """, status="Done", priority="High", components=["driver-app", "driver-bff"], labels=["pod", "offline", "feature"],
         assignee="keiko", reporter="grace", created="2025-05-19 10:00", updated="2025-08-06 09:00", comments=[
             ("keiko", "Native module @nw/outbox extended for binary payloads; driver-bff accepts captured_at on uploads."),
             ("grace", "Shipped. Support article updated by Marcus's team."),
         ])

    jira("dark-mode", "MOB", "Story", "Dark theme for drivers on night and early-morning shifts", """
        Feature request collected by Support from drivers at four tenants: the white screens are blinding in the cab
        at 04:00 and some drivers turn the brightness down so far that they cannot read the next drop.

        Proposal: follow the system theme, plus a manual switch in settings. Map tiles need a dark style too.
        """, status="To Do", priority="Low", components=["driver-app"], labels=["feature-request", "ux"], assignee=None,
         reporter="marcus", created="2025-08-19 11:00", updated="2025-09-02 10:30", comments=[
             ("jonas", "Design system tokens are ready for it. Map style is the bigger part; MapLibre supports a dark style."),
         ])

    jira("font-scale", "MOB", "Story", "Support large system font sizes on drop details", """
        With the system font size at 200% (Android) or the largest Dynamic Type size (iOS), the drop details screen
        truncates the address and the "Complete drop" button is pushed off screen. Two tenants have drivers who need
        large text.

        Acceptance: all drop flow screens usable at 200% font scale; buttons never hidden; addresses wrap.
        """, status="In Progress", priority="Medium", components=["driver-app"], labels=["accessibility"],
         assignee="keiko", reporter="grace", created="2025-08-25 14:15", updated="2025-10-01 12:40")

    jira("appstore-511", "MOB", "Bug", "App Store rejected 5.11.0: location purpose string (Guideline 5.1.1)", """
        Apple rejected the 5.11.0 submission:

        Guideline 5.1.1 - Legal - Privacy - Data Collection and Storage. Your app's location permission request does not
        sufficiently explain how the app will use the requested information.

        Our NSLocationAlwaysAndWhenInUseUsageDescription says "Northwind Driver uses your location." We also show the
        system prompt before our own explanation screen.
        """, status="Done", priority="Highest", components=["driver-app", "ios"], labels=["app-store", "release-blocker"],
         assignee="keiko", reporter="jonas", created="2025-06-02 08:00", updated="2025-06-05 17:20", comments=[
             ("keiko", "New purpose string explains tracking during active routes for ETAs and POD location, and the "
                       "explanation screen now comes before the system prompt. Resubmitted, approved in 30 hours."),
         ])

    jira("a14-camera", "MOB", "Bug", "Galaxy A14: black camera preview on POD capture", """
        On Samsung Galaxy A14 (Android 13) the POD camera preview is black; taking the photo still works and the photo is
        fine. About 300 drivers across UrbanCrate and two other tenants use this device.

        The preview uses a 16:9 surface at 1920x1080, which the A14's back camera does not support in combination with
        the image analysis use case we added for blur detection.
        """, status="In Progress", priority="High", components=["driver-app", "android"], labels=["camera", "device-specific"],
         assignee="chloe", reporter="fatima", created="2025-09-24 09:30", updated="2025-10-06 11:00", comments=[
             ("chloe", "Reproduced on a device from the cabinet. Falling back to 4:3 when the combination is not supported "
                       "fixes it; checking the blur detection still works at the lower resolution."),
         ])

    jira("new-scanner-rollout", "MOB", "Task", "Rollout plan for the new scanner engine (flag new_scanner_ui)", """
        The new scanner engine shipped in 5.14.0 behind the remote config flag new_scanner_ui (off).

        Plan: internal beta drivers (week 40), then 10% of drivers at two tenants that reported damaged-label problems
        (week 41), then everyone after peak season. Success metric: share of manual barcode entries per drop, currently
        6.1%.
        """, status="In Progress", priority="Medium", components=["driver-app"], labels=["scanner", "rollout"],
         assignee="jonas", reporter="jonas", created="2025-09-22 10:00", updated="2025-10-06 09:00")

    jira("min-version-510", "MOB", "Task", "Raise min_supported_version to 5.10.0", """
        Versions below 5.10 poll driver-bff instead of using push and produce about a third of driver-bff's request
        volume while being 4% of active devices. They also lack the fix for the session refresh bug.

        Plan agreed with Support: soft update prompt for two weeks, then raise min_supported_version on a Tuesday at
        11:00 CET (outside shift starts in all regions).
        """, status="Done", priority="Medium", components=["driver-app", "driver-bff"], labels=["remote-config"],
         assignee="jonas", reporter="jonas", created="2025-06-23 10:00", updated="2025-07-15 11:05", comments=[
             ("marcus", "Support has the macro ready and the help centre article is updated."),
             ("jonas", "Raised on 2025-07-15 11:00 CET. 212 devices updated within the hour; no tickets so far."),
         ])

    jira("heic-413", "MOB", "Bug", "POD upload fails with 413 for HEIC photos over 10 MB", """
        iPhones with 48 MP cameras produce HEIC photos of 10-14 MB when drivers use the full-resolution setting.
        driver-bff rejects them:

        POST /v1/drops/{drop_id}/pod/photos -> 413 Request Entity Too Large (ingress body limit 10m)

        The app retries forever, which drains battery and blocks the offline queue behind it.
        """, status="Done", priority="High", components=["driver-app", "driver-bff"], labels=["pod", "ios"],
         assignee="keiko", reporter="sofia", created="2025-08-14 09:00", updated="2025-08-20 13:30", comments=[
             ("keiko", "App now converts to JPEG at max 2048 px on the long edge before upload (about 600 KB). 413 is treated "
                       "as non-retryable and surfaced to the driver."),
         ])

    jira("ota-background", "MOB", "Bug", "OTA update not applied on iOS when the app was suspended for more than 24 h", """
        Some iOS devices stay on old JS bundles for days. The OTA check runs on app launch only; iOS rarely cold-launches
        the app for drivers who never swipe it away, and resume from suspension does not trigger the check.

        Fix: check for updates on resume when the last check is older than 6 hours; apply on next cold start or when the
        driver is not on an active route.
        """, status="To Do", priority="Medium", components=["driver-app", "ios"], labels=["ota"], assignee=None,
         reporter="jonas", created="2025-09-29 16:00", updated="2025-09-29 16:00")


# ===========================================================================
# Jira: DATA and SEC
# ===========================================================================

def jira_data():
    jira("shipments-rollup-timeout", "DATA", "Bug", "daily_shipments_rollup times out after the ClickHouse 24.3 upgrade", """
        Since the ClickHouse upgrade on 2025-08-20 the Airflow DAG daily_shipments_rollup (tier-1, 04:00 UTC) fails on the
        task build_rpt_shipments_daily after three attempts. The console "Shipments" report therefore shows data up to
        the day before yesterday.

        Error from the task log:

        clickhouse_driver.errors.ServerException: Code: 159. DB::Exception: Timeout exceeded: elapsed 300.012 seconds,
        maximum: 300. (TIMEOUT_EXCEEDED) (version 24.3.7.30 (official build))

        Before the upgrade the query took 70-90 s. The query joins delivery_events_all (about 800M rows for 90 days)
        with route_events_all and aggregates per tenant, depot and day.
        """, status="Done", priority="Highest", components=["airflow", "clickhouse"], labels=["tier-1", "regression"],
         assignee="rahul", reporter="wen", created="2025-08-21 06:30", updated="2025-08-27 10:15", comments=[
             ("rahul", "24.3 enables the new query analyzer by default (allow_experimental_analyzer=1). With it, the JOIN is "
                       "planned with the big table on the right side, so ClickHouse builds an 800M-row hash table. EXPLAIN "
                       "confirms. Setting allow_experimental_analyzer=0 for this query brings it back to 85 s."),
             ("rahul", "Proper fix: rewrote the query to pre-aggregate route_events per route in a subquery and join the small "
                       "side. 41 s with the new analyzer. Setting removed again. Backfilled 20-26 August."),
             ("wen", "Console report is current again. Added a freshness test so this alerts before customers notice."),
         ])

    jira("wal-bloat", "DATA", "Bug", "Disk on wms-db primary fills up: WAL retained by debezium_wms slot", """
        On 2025-09-06 at 03:10 UTC the RDS FreeStorageSpace alarm for wms-db fired at 15% free. pg_replication_slots
        showed the Debezium slot holding back 182 GB of WAL:

        slot_name       | active | restart_lsn    | confirmed_flush_lsn | retained_wal
        debezium_wms    | t      | 3A1/9C2E1F08   | 3A1/9C2E2A40        | 182 GB

        The connector was running and healthy, but confirmed_flush_lsn had not moved since Friday 18:40 UTC. Over the
        weekend the captured tables (inventory, orders, shipments) barely change, while uncaptured tables such as
        bin_lock and scanner_sync_queue generate a lot of WAL. Debezium only confirms an LSN when it receives a change
        for a captured table, so Postgres has to keep all WAL since the last captured change.

        Mitigation at 03:40 UTC: an UPDATE on a captured table (debezium_signal) to give the connector an event, after
        which the slot advanced and RDS recycled the WAL within 20 minutes.
        """, status="Done", priority="Highest", components=["cdc", "wms-db"], labels=["incident", "debezium", "postgres"],
         assignee="rahul", reporter="ben", created="2025-09-06 03:55", updated="2025-09-24 11:20", comments=[
             ("lena", "This is the classic low-traffic-table problem. We need heartbeats with an action query that writes to a "
                      "table in the publication, so the slot advances even when nothing we capture changes."),
             ("rahul", "2025-09-22 10:15", "Done together with the Debezium 2.5 upgrade: {{MR:cdc-heartbeat}}. Slot lag on wms-db now stays under "
                       "200 MB over the weekend."),
             ("ben", "2025-09-22 11:30", "Reviewed the CdcReplicationSlotLag thresholds while at it: 20 GB to Slack and "
                                       "100 GB paging stay as they are."),
         ])

    jira("hot-cold", "DATA", "Task", "Roll out the hot_cold storage policy to all nw_events tables", """
        After ch-prod-03 ran out of disk on 2025-08-12 (thread in #data-platform), move event data older than 30 days to
        the S3-backed volume.

        - Storage policy hot_cold: volume hot (local gp3), volume cold (disk s3_cold, with a 200 GB local cache).
        - ALTER TABLE ... MODIFY SETTING storage_policy = 'hot_cold' and TTL event_time + INTERVAL 30 DAY TO VOLUME 'cold'
          for gps_pings, route_events, delivery_events, inventory_events.
        - Check console report latency for queries older than 30 days (should be acceptable, mostly monthly reports).
        """, status="Done", priority="High", components=["clickhouse"], labels=["capacity"], assignee="rahul",
         reporter="lena", created="2025-08-13 09:00", updated="2025-09-05 15:00", comments=[
             ("rahul", "Live on all four tables. Local disk 41-48% per node. Monthly report p95 went from 0.7 s to 1.3 s for "
                       "ranges older than 30 days, acceptable according to Grace."),
         ])

    jira("first-attempt-depot", "DATA", "Story", "First-attempt delivery rate per depot in the console", """
        Product wants the first-attempt delivery rate (definition on the Metric definitions page) per depot and week in
        the console's Delivery performance report.

        - New dbt model rpt_first_attempt_weekly (dbt-clickhouse, incremental by week).
        - reports-api endpoint extension; console chart by Mobile/Web team.
        - Backfill 13 months.
        """, status="In Progress", priority="Medium", components=["dbt", "clickhouse"], labels=["console-reports"],
         assignee="wen", reporter="grace", created="2025-08-22 10:30", updated="2025-10-03 14:00")

    jira("eta-accuracy", "DATA", "Story", "fct_eta_accuracy: ETA accuracy per depot", """
        To measure the ETA fix for multi-drop routes in route-planner we need ETA accuracy per depot and per stop
        position on the route.

        Definition: actual arrival (arrived event) minus the ETA planned at dispatch, per drop. Report median and p90
        absolute error, split by stop sequence buckets (1-10, 11-30, 31+).
        """, status="In Progress", priority="Medium", components=["dbt"], labels=["routing", "metrics"], assignee="wen",
         reporter="grace", created="2025-09-25 11:00", updated="2025-10-06 16:20", comments=[
             ("wen", "First version in Metabase (uncertified). Error grows roughly linearly with stop sequence on routes above "
                     "30 drops, which matches what Routing described."),
         ])

    jira("gdpr-iceberg", "DATA", "Bug", "gdpr_erasure DAG failed: Iceberg commit conflict on raw_telemetry", """
        The weekly gdpr_erasure run on Sunday failed on delete_raw_telemetry:

        org.apache.iceberg.exceptions.CommitFailedException: Commit failed: base metadata location ... is not the current
        metadata location; concurrent modification by the S3 sink compaction

        The erasure DELETE and the sink's compaction commit at the same time. 6 erasure requests were not executed; they
        are due within 30 days of the request, so there is time, but the DAG must retry on commit conflicts.
        """, status="Done", priority="High", components=["airflow", "lake"], labels=["gdpr", "erasure"], assignee="rahul",
         reporter="lena", created="2025-07-06 09:00", updated="2025-07-09 12:00", comments=[
             ("rahul", "Iceberg commit retries raised (commit.retry.num-retries=10) and compaction paused during the erasure "
                       "window. Re-ran; all 6 requests executed and confirmed to the tenants via Support."),
         ])

    jira("airbyte-zendesk", "DATA", "Bug", "Airbyte Zendesk sync fails after Zendesk pagination change", """
        The Zendesk to lake connection fails since Tuesday:

        Failure in source: HTTPError 400 for /api/v2/incremental/tickets.json: "Offset pagination is not supported for
        this endpoint, use cursor pagination"

        Our connector version is from January. Support dashboards in Metabase are stale.
        """, status="Done", priority="Medium", components=["airbyte"], labels=["saas-ingestion"], assignee="lena",
         reporter="marcus", created="2025-05-20 08:40", updated="2025-05-22 10:10")

    jira("metabase-tenant-health", "DATA", "Bug", "Metabase 'Tenant health' dashboard takes 40 s to load", """
        The Customer Success team's Tenant health dashboard runs 14 questions against Trino, three of which scan
        raw_telemetry without a partition filter. Load time 35-45 s, sometimes timing out.

        Proposal: move the three questions to the marts (fct_route_daily) and cache the dashboard for 1 hour.
        """, status="Done", priority="Low", components=["metabase"], labels=["performance"], assignee="wen",
         reporter="marcus", created="2025-06-10 14:00", updated="2025-06-18 09:30")

    jira("dbt-unique-deliveries", "DATA", "Bug", "dbt test unique_fct_deliveries_delivery_id fails after late events", """
        dbt_nightly failed at the test step:

        Failure in test unique_fct_deliveries_delivery_id (models/marts/core/fct_deliveries.yml)
          Got 212 results, configured to fail if != 0

        Late delivery events (phones that were offline for days) arrive after the incremental window of 3 days and are
        inserted as new rows instead of merged.
        """, status="Done", priority="High", components=["dbt"], labels=["data-quality"], assignee="wen", reporter="wen",
         created="2025-08-04 05:10", updated="2025-08-06 11:00", comments=[
             ("wen", "Incremental predicate now uses received_at instead of event time, with unique_key delivery_id and "
                     "merge strategy. Duplicates cleaned."),
         ])

    jira("kestrel-extract", "DATA", "Task", "Data extract: anonymised route sample for Kestrel Pharma QBR", """
        Account management asked for a three-month sample of Kestrel Pharma's routes for their quarterly business review:
        planned vs. actual distance and OTD per depot and week. Tenant data only, no driver identifiers.

        Deliver as CSV through the console's secure file share, not by email.
        """, status="Done", priority="Low", components=["extracts"], labels=["request"], assignee="wen", reporter="grace",
         created="2025-09-09 10:00", updated="2025-09-12 16:00")

    jira("debezium-25", "DATA", "Task", "Upgrade Debezium 2.4 to 2.5 on connect-cdc", """
        2.5 fixes the incremental snapshot issue with composite primary keys we hit on wms-db in June, and we want it
        before enabling heartbeats (see the WAL incident).

        Rolling upgrade of the three connect-cdc workers; connectors restart from stored offsets.
        """, status="Done", priority="Medium", components=["cdc"], labels=["upgrade"], assignee="rahul", reporter="lena",
         created="2025-09-08 10:00", updated="2025-09-19 15:00")

    jira("trino-16", "DATA", "Task", "Test Trino autoscaling up to 16 workers before peak season", """
        November month-end reports doubled Trino load last year. Test the autoscaler with 16 workers (currently max 12)
        and check that the Glue catalog and S3 request rates keep up.
        """, status="To Do", priority="Low", components=["trino"], labels=["peak-season"], assignee="rahul", reporter="lena",
         created="2025-09-25 14:00", updated="2025-09-25 14:00")

    jira("speed-profile-lys1", "DATA", "Bug", "osrm_speed_profiles DAG produces no profile for new depot LYS1", """
        Lyon (LYS1) went live in July, but the weekly speed profile job skips depots with fewer than 10,000 GPS traces in
        the last 28 days, and LYS1 only had 6,300. route-planner therefore uses free-flow speeds around Lyon and ETAs are
        optimistic by 10-25% in the morning peak (support tickets from the Lyon tenant).

        Lower the threshold for new depots and borrow the regional profile (FR-ARA) until enough traces exist.
        """, status="Done", priority="Medium", components=["airflow"], labels=["routing", "eta"], assignee="rahul",
         reporter="mei", created="2025-08-18 09:30", updated="2025-08-29 10:00")

    jira("ch-alert-routing", "DATA", "Task", "ClickHouseDiskUsageHigh pages SRE out of hours", """
        Data Platform is business-hours only, but ClickHouseDiskUsageHigh is routed to the Data Platform PagerDuty service
        with 24/7 urgency, so SRE got paged through the fallback escalation on 2025-09-28 at 02:10 for 86% disk on
        ch-prod-05 (a merge spike, back to 79% at 02:40).

        Set low urgency outside business hours; page SRE only above 92%.
        """, status="Done", priority="Low", components=["clickhouse", "observability"], labels=["alert-noise"],
         assignee="lena", reporter="priya", created="2025-09-29 09:00", updated="2025-10-01 10:00")


def jira_sec():
    jira("sec-phish", "SEC", "Task", "Phishing campaign impersonating DigiCert renewal notices (2025-09-22)", """
        Five employees (three in SRE) received emails "Action required: your certificate *.northwind.example expires in
        3 days" from digicert-renewals[.]support with a link to a fake CertCentral login. The timing matches our real
        renewal window, so the sender probably used certificate transparency logs.

        One employee entered credentials; Okta blocked the login because of the missing WebAuthn factor.

        Actions: block sender domain and URL, reset the affected password, search mail logs for other recipients, send a
        short warning in #announcements.
        """, status="Done", priority="High", components=["email", "phishing"], labels=["phishing", "incident"],
         assignee="daniel", reporter="nadia", created="2025-09-22 08:40", updated="2025-09-23 15:00", comments=[
             ("daniel", "12 recipients in total, all messages removed from mailboxes. One credential entry, password reset, no "
                        "successful session. WebAuthn enforcement did its job."),
         ])

    jira("sec-idor", "SEC", "Bug", "Pentest 2025: job status of other tenants readable via GET /v2/jobs/{job_id}", """
        Finding NW-PT-2025-03 (High) from the external penetration test.

        An authenticated client of tenant A can read the status of optimisation jobs of tenant B by guessing or
        enumerating job ids. Job ids are ULIDs, so they are time-ordered and partially predictable. The response contains
        the route_plan_id and counts, not routes or addresses, but the route_plan_id can then be used against
        GET /v2/routes/{id}, which correctly returns 404 for other tenants.

        Root cause: the jobs handler looks up the job by id only and does not check tenant_id.
        """, status="Done", priority="Highest", components=["route-planner", "api"], labels=["pentest-2025", "idor"],
         assignee="mei", reporter="daniel", created="2025-05-14 10:00", updated="2025-05-16 18:00", comments=[
             ("mei", "Fixed: job lookup scoped by tenant, 404 for other tenants (same as routes). Added a generic test that runs "
                     "every GET endpoint with a foreign tenant's ids. Deployed 2025-05-15."),
             ("daniel", "Access logs for the last 90 days checked: no cross-tenant job reads except the pentester's. Retest "
                        "passed."),
         ])

    jira("sec-stacktrace", "SEC", "Bug", "Pentest 2025: stack traces on console 500 error pages", """
        Finding NW-PT-2025-07 (Medium). The console's API gateway returns Spring Boot whitelabel errors with stack traces
        for some malformed requests to the reports endpoints, disclosing framework versions and package names.

        Set server.error.include-stacktrace=never and include-message=never for reports-api and console-bff, and return
        problem JSON with a trace id.
        """, status="Done", priority="Medium", components=["console"], labels=["pentest-2025"], assignee="daniel",
         reporter="daniel", created="2025-05-14 10:20", updated="2025-06-02 09:00")

    jira("sec-mapgrid-rotate", "SEC", "Task", "Rotate MapGrid API key (180-day rotation)", """
        Scheduled rotation. Create a new key in the MapGrid portal, write it to secret/data/routing/route-planner/prod and
        the NA path, roll route-planner, verify geocoding, then revoke the old key after 24 hours.
        """, status="To Do", priority="Medium", components=["secrets"], labels=["rotation"], assignee="oskar",
         reporter="daniel", created="2025-10-01 09:00", updated="2025-10-01 09:00")

    jira("sec-webauthn", "SEC", "Story", "Enforce phishing-resistant MFA (WebAuthn) for AWS console and nwctl elevation", """
        Push-based MFA can be phished or fatigued. Require WebAuthn (YubiKey or platform authenticator) for:
        - the Okta apps AWS, DigiCert, Stripe and Adyen dashboards;
        - nwctl access request elevation to any operator or write role.

        Rollout: SRE and Payments first, then everyone with production access. Hardware keys distributed by IT.
        """, status="Done", priority="High", components=["okta", "iam"], labels=["mfa"], assignee="daniel", reporter="olivia",
         created="2025-03-03 10:00", updated="2025-04-28 14:00", comments=[
             ("sam", "All 64 engineers with production access have a registered YubiKey. Spare keys in the Rotterdam safe."),
         ])

    jira("sec-s3-replica", "SEC", "Bug", "Replica bucket of nw-prod-pod-photos has no public access block", """
        AWS Config rule s3-bucket-level-public-access-prohibited flagged nw-prod-pod-photos-replica (us-east-1 replica of
        POD photos used for disaster recovery). The bucket policy does not grant public access and no object ACLs are
        public, so nothing is exposed, but the account-level block was not applied to buckets created by the replication
        module.
        """, status="Done", priority="High", components=["aws", "s3"], labels=["cloud-posture"], assignee="nadia",
         reporter="daniel", created="2025-07-21 08:00", updated="2025-07-21 16:30", comments=[
             ("nadia", "Public access block enabled on the bucket and added to the Terraform replication module. Checked all "
                       "other buckets: compliant."),
         ])

    jira("sec-lost-laptop", "SEC", "Task", "Lost laptop reported 2025-07-14 (train, Leipzig)", """
        An engineer from the Warehouse team left their MacBook on a train from Leipzig. FileVault enabled, screen locked.

        Actions: device locked and wipe command queued in Kandji, Okta sessions revoked, SSH keys and GitLab tokens
        revoked, nwctl grants revoked. No production grants were active at the time.
        """, status="Done", priority="Medium", components=["endpoint"], labels=["lost-device"], assignee="sam",
         reporter="daniel", created="2025-07-14 19:30", updated="2025-07-16 10:00", comments=[
             ("sam", "Wipe confirmed by Kandji on 2025-07-15 07:12 when the device came online. Replacement laptop shipped."),
         ])

    jira("sec-ingress-nginx", "SEC", "Task", "Patch ingress-nginx admission controller vulnerabilities (March 2025 advisory)", """
        The ingress-nginx maintainers published several vulnerabilities in the admission controller, the worst rated
        critical (unauthenticated configuration injection leading to code execution from inside the cluster network).

        Our admission webhook is only reachable inside the cluster, but Critical means 7 days for internet-facing
        components. Upgrade the controller to v1.12.1 in all clusters; as an immediate mitigation, restrict access to the
        admission webhook with a NetworkPolicy.
        """, status="Done", priority="Highest", components=["kubernetes", "ingress"], labels=["cve", "patching"],
         assignee="ben", reporter="daniel", created="2025-03-25 07:30", updated="2025-03-27 18:00", comments=[
             ("ben", "NetworkPolicy applied 2025-03-25 11:00. Upgraded staging the same day, production on 2025-03-27."),
         ])

    jira("sec-pci-2025", "SEC", "Task", "PCI DSS SAQ 2025: evidence collection", """
        Collect evidence for the 2025 self-assessment: network diagram of the billing namespace, firewall and security
        group review, access reviews for billing-pci grants, vulnerability scan reports, change records for payments
        repositories, and the incident response test (tabletop run on 2025-08-19).

        Deadline for the QSA review: 2025-10-24.
        """, status="In Progress", priority="High", components=["compliance"], labels=["pci-2025"], assignee="olivia",
         reporter="olivia", created="2025-08-01 09:00", updated="2025-10-06 15:00", comments=[
             ("tomas", "Change records exported from GitLab for payments/* (merged MRs with approvals)."),
             ("daniel", "Quarterly ASV scans attached, all passing."),
         ])


# ===========================================================================
# GitLab issues
# ===========================================================================

def gitlab_issues():
    I = "issue"
    gitlab("eta-multidrop", I, "platform/route-planner",
           "ETA overestimated for later stops on long routes: morning peak speeds applied all day", """
        ## Summary
        On routes with many drops, predicted arrival times drift further from reality the later the stop is in the
        route. By stop 30-40 we predict arrivals **35-60 minutes later** than the driver actually arrives. Dispatchers at
        Brightline Grocers and UrbanCrate have started to ignore our ETAs and customers get "your delivery is late"
        notifications for deliveries that then arrive early.

        ## Data
        From the first cut of `fct_eta_accuracy` (DATA, Wen):

        | Stop sequence | Median error | p90 error |
        |---|---|---|
        | 1-10 | +3 min | +9 min |
        | 11-30 | +14 min | +31 min |
        | 31+ | +38 min | +64 min |

        Positive = predicted later than actual.

        ## Cause (so far)
        1. `matrix.Build` requests the OSRM matrix once, with the speed profile for the **route start time** (usually
           05:30-07:00, morning peak). Every leg of the route uses peak speeds, including legs driven at 11:00 or 14:00.
        2. Service time per drop is the tenant default (8 min) for every drop. Drivers at residential drops with one parcel
           need about 3 minutes.

        ## Proposal
        - Time-dependent travel times: bucket the route day into hourly slices and request matrices per slice that the
          route actually touches (at most 4 matrices, cached in redis-cache).
        - Learned service time per stop type from delivery events (p50 of dwell time per tenant, depot and parcel-count
          bucket), with the tenant default as fallback.

        ```go
        // today
        m, err := p.matrix.Build(ctx, stops, vehicle.Profile, plan.StartTime)
        // proposal
        m, err := p.matrix.BuildTimeDependent(ctx, stops, vehicle.Profile, plan.StartTime, plan.ShiftEnd)
        ```

        /cc @gliu for product sign-off, @wzhao for the accuracy data.
        """, author="ravi", assignees=["ravi"], labels=["type::bug", "team::routing", "eta", "priority::2"],
           state="opened", created="2025-09-26 10:14", updated="2025-10-07 15:40", notes=[
               ("mei", "Agree with both parts. The time-dependent matrix will roughly double OSRM load at 05:30. Can we check "
                       "in the load test on 14 Oct?"),
               ("ravi", "Yes, added a scenario to the load test. Prototype on staging: p90 error for stops 31+ goes from +64 to "
                        "+12 min on last week's Brightline routes."),
               ("grace", "Great. Please ship behind a per-tenant flag so we can start with Brightline and UrbanCrate."),
           ])

    gitlab("keep-dispatched", I, "platform/route-planner", "Reoptimize should be able to skip dispatched routes", """
        ## Problem
        `POST /v2/routes/{id}/reoptimize` fails with `RP-409-ROUTE_LOCKED` as soon as one route of the plan is
        dispatched. In practice dispatchers dispatch the first wave of routes at 06:00 and want to re-plan the rest when
        late orders arrive. Today they have to undispatch, which sends "route cancelled" pushes to drivers.

        ## Proposal
        New option `"keep_dispatched": true`: dispatched routes are frozen (stops, sequence, vehicle) and only the
        remaining stops and vehicles are optimised.

        ## Acceptance
        - [x] API option, documented in the API reference changelog
        - [x] Frozen routes are returned unchanged in the response
        - [x] Stops already assigned to dispatched routes cannot move
        """, author="grace", assignees=["oskar"], labels=["type::feature", "team::routing", "api"], state="closed",
           created="2025-07-01 09:00", updated="2025-08-19 14:20", notes=[
               ("oskar", "Implemented behind `routing.keep-dispatched-reoptimize`; enabled for all tenants on 2025-08-19."),
           ])

    gitlab("solver-oom-jobs", I, "platform/route-planner", "Async optimize jobs stuck in `queued` after vrp-solver OOMKill", """
        ## What happens
        When the solver sidecar is OOMKilled during an async job (250 stops, 40 vehicles), the job row stays `queued`
        forever. The tenant polls `GET /v2/jobs/{id}` until they give up; no `route.optimization_failed` webhook.

        ```text
        kubectl -n routing get pod route-planner-6b8d7c-q2m9x -o jsonpath='{.status.containerStatuses[?(@.name=="vrp-solver")].lastState}'
        {"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"2025-06-03T05:41:12Z"}}
        ```

        ## Fix
        - Job leases: a worker holds a 60 s lease and renews it; expired leases are retried once, then failed with
          `RP-503-SOLVER_UNAVAILABLE`.
        - Raise the sidecar memory limit from 3 to 4 GiB.
        """, author="oskar", assignees=["oskar"], labels=["type::bug", "team::routing", "solver"], state="closed",
           created="2025-06-03 08:00", updated="2025-06-12 11:00")

    gitlab("pallets-capacity", I, "platform/route-planner", "Solver ignores `pallets` capacity when `kg` is not set", """
        ## Steps to reproduce
        1. Optimize with vehicles that only have `"capacity": {"pallets": 16}` and stops with `"demand": {"pallets": 2}`.
        2. Look at the result.

        ## Expected
        At most 8 stops per vehicle.

        ## Actual
        One vehicle gets 14 stops (28 pallets). If `kg` is present as well, pallets are respected.

        ## Notes
        `problem.go` only adds the pallets dimension inside the `if v.Capacity.Kg > 0` branch.
        """, author="sofia", assignees=["ravi"], labels=["type::bug", "team::routing", "solver", "customer-reported"],
           state="opened", created="2025-10-01 13:10", updated="2025-10-03 09:00", notes=[
               ("ravi", "Confirmed, silly nesting bug. Fix is small, will go out with the next release."),
           ])

    gitlab("v1-sunset", I, "platform/route-planner", "v1 API sunset: tenants still calling /v1/plan", """
        v1 is switched off on **2025-12-31**. Tenants still calling it in September (from access logs):

        | Tenant | Calls/day | Contact status |
        |---|---|---|
        | Mistral Home | ~4,200 | Migration planned for November |
        | Fjord Fresh | ~900 | No answer yet |
        | two Starter tenants | <100 | Emailed |

        Support is contacting the remaining tenants. Because of the freeze, the switch-off itself is a config change
        (`routing.v1-enabled=false`), no deploy.
        """, author="grace", assignees=["grace"], labels=["type::task", "team::routing", "api", "deprecation"],
           state="opened", created="2025-09-10 10:00", updated="2025-10-02 16:00")

    gitlab("flaky-webhook-test", I, "platform/route-planner", "Flaky test: TestOptimizeAsyncWebhook times out in CI", """
        Fails about 1 in 15 pipelines:

        ```text
        --- FAIL: TestOptimizeAsyncWebhook (30.01s)
            optimize_async_test.go:142: timed out waiting for webhook delivery
        ```

        The test uses the real notification-service client with a 10 s backoff on the first retry. When the fake webhook
        server is not ready on the first attempt, the retry comes too late for the 30 s test timeout.
        """, author="oskar", assignees=["oskar"], labels=["type::bug", "team::routing", "flaky-test"], state="closed",
           created="2025-07-22 08:14", updated="2025-07-23 12:30", notes=[
               ("oskar", "Fake server now started and health-checked before the job is submitted. 200 runs green."),
           ])

    gitlab("karpenter-solver", I, "platform/infrastructure", "Karpenter consolidation evicts route-planner pods mid-solve", """
        ## Problem
        Karpenter consolidates underutilised nodes and evicts pods. route-planner pods running a 120 s async solve get
        evicted; the job is retried (since the lease fix) but tenants see jobs take twice as long, and the morning peak is
        when consolidation is most active (scale-up followed by scale-down).

        ## Options
        - `karpenter.sh/do-not-disrupt: "true"` on pods while a solve is running (annotation set and removed by the app).
        - A PodDisruptionBudget (would block node rotation for too long).
        - Disruption budget on the NodePool: no consolidation 04:00-08:00 UTC.
        """, author="nadia", assignees=["nadia"], labels=["type::bug", "team::sre", "karpenter"], state="closed",
           created="2025-06-16 09:20", updated="2025-06-27 10:00", notes=[
               ("mei", "Prefer the NodePool disruption budget, the app should not talk to the Kubernetes API."),
               ("nadia", "Done with a NodePool budget `nodes: 0` for the schedule 04:00-08:00 UTC on weekdays."),
           ])

    gitlab("tf-lock", I, "platform/infrastructure", "Terraform state lock left behind after cancelled CI job", """
        Cancelling a `terraform apply` job in GitLab CI kills the runner pod without releasing the DynamoDB lock:

        ```text
        Error: Error acquiring the state lock
        Lock Info:
          ID:        3b9e3f1c-5a2e-8d4b-7c61-0e2f9a1d4b77
          Path:      nw-terraform-state/prod/eks/terraform.tfstate
          Operation: OperationTypeApply
          Who:       runner@runner-x8k2p-project-418-concurrent-0
        ```

        ## Workaround
        `terraform force-unlock <ID>` after checking that no apply is actually running (check the pipeline list!).

        ## Fix
        Trap SIGTERM in the CI wrapper and let Terraform exit cleanly; raise the job's termination grace period to 120 s.
        """, author="ben", assignees=["ben"], labels=["type::bug", "team::sre", "terraform", "ci"], state="closed",
           created="2025-04-09 14:00", updated="2025-04-15 10:00")

    gitlab("graviton-runners", I, "platform/infrastructure", "Move GitLab CI runners to Graviton (arm64)", """
        ## Why
        Runners are about 22% of our EKS compute bill. Graviton instances are roughly 20% cheaper for the same build
        time in our test with route-planner and driver-bff.

        ## Blockers
        - JVM builds: fine on arm64.
        - `vrp-solver` C++ build: OR-Tools arm64 build works, but the production image must stay amd64 until the
          production node groups move. Needs multi-arch builds with `docker buildx`.
        - Mobile builds run on macOS runners, not affected.
        """, author="ben", assignees=["ben"], labels=["type::feature", "team::sre", "ci", "cost"], state="opened",
           created="2025-08-04 11:00", updated="2025-09-15 09:00")

    gitlab("dashboard-saturation", I, "platform/infrastructure", "Service Overview dashboard template: add saturation panels", """
        The generated "Service Overview" dashboards show traffic, errors and latency, but not saturation. During the
        September Kafka incident people had to build ad-hoc panels for CPU throttling and consumer lag.

        Add to the jsonnet template:
        - CPU throttling ratio per container
        - memory working set vs. limit
        - Kafka consumer lag for services with a consumer group (from the `consumer_groups` field in the service catalog)
        - DB pool usage (Hikari / pgx) where exported
        """, author="priya", assignees=["ben"], labels=["type::task", "team::sre", "observability"], state="opened",
           created="2025-09-16 15:00", updated="2025-09-30 11:00")

    gitlab("thanos-overlap", I, "platform/infrastructure", "Thanos compactor halted: overlapping blocks", """
        `thanos_compact_halted` is 1 since Saturday; long-range Grafana queries (more than 2 weeks) are slow.

        ```text
        level=error msg="critical error detected; halting" err="compaction: group 0@5679675083797525161: pre compaction
        overlap check: overlaps found while gathering blocks. [mint: 1751328000000, maxt: 1751335200000, range: 2h0m0s,
        blocks: 2]"
        ```

        Cause: two Prometheus replicas uploaded blocks with identical external labels after the replica label was
        dropped in a chart change.
        """, author="nadia", assignees=["nadia"], labels=["type::bug", "team::sre", "observability"], state="closed",
           created="2025-07-05 10:00", updated="2025-07-07 15:30", notes=[
               ("nadia", "Replica label restored, overlapping blocks marked for deletion with `thanos tools bucket mark`, "
                         "compactor restarted. Caught up in 9 hours."),
           ])

    gitlab("refresh-revoke", I, "platform/gatekeeper", "Refresh tokens stay valid after a driver is deactivated", """
        ## Summary
        When a tenant admin deactivates a driver in the console, the driver's existing refresh token keeps working for up
        to 30 days. A dismissed driver can keep using the app and see routes and customer addresses.

        ## Expected
        Deactivation revokes all refresh tokens of that driver immediately; access tokens expire within 15 minutes.

        ## Details
        `UserDeactivated` events are consumed by gatekeeper only for console users, not for drivers (different
        subject type).
        """, author="daniel", assignees=["nadia"], labels=["type::bug", "security", "team::sre"], state="closed",
           confidential=True, created="2025-08-07 10:00", updated="2025-08-12 17:00", notes=[
               ("nadia", "Fixed: driver deactivation revokes refresh tokens and adds the subject to a 15-minute deny list so "
                         "that outstanding access tokens are rejected too."),
               ("daniel", "Verified. Checked the logs: 3 deactivated drivers used the app after deactivation in the last 90 "
                          "days; tenants informed by their account managers."),
           ])

    gitlab("entra-federation", I, "platform/gatekeeper", "Support Microsoft Entra ID for console SSO federation", """
        Enterprise tenants can federate console login with their IdP through SAML today. Two tenants want OIDC with
        Microsoft Entra ID, including group claims to map console roles (dispatcher, admin, read-only).

        ## Scope
        - OIDC federation per tenant with discovery URL, client id and secret (secret in Vault).
        - Group-to-role mapping in the tenant settings.
        - Just-in-time user provisioning on first login.
        """, author="nadia", assignees=["nadia"], labels=["type::feature", "team::sre", "sso"], state="opened",
           created="2025-09-01 09:30", updated="2025-09-25 14:00")

    gitlab("token-ratelimit", I, "platform/gatekeeper", "Rate limit /oauth2/token per client_id", """
        A misconfigured integration of one tenant requested a new client-credentials token for every API call (about
        1,100 token requests per minute). Harmless this time, but `/oauth2/token` has no rate limit, so a leaked client id
        could be used to hammer it or brute-force secrets.

        Proposal: 60 token requests per minute per client_id, 10 failed authentications per minute per client_id before a
        5-minute lockout, and an email to the tenant's technical contact.
        """, author="daniel", assignees=["nadia"], labels=["type::feature", "security", "team::sre"], state="opened",
           confidential=True, created="2025-09-12 13:00", updated="2025-09-19 10:00")

    gitlab("stale-bin-locks", I, "warehouse/wms-core", "Pickers blocked for 2 minutes by locks of crashed handhelds", """
        ## Problem
        When NW Picker is killed (battery swap, crash), its bin locks stay until the 120 s lease expires. The next picker
        sent to that bin is blocked. At MAN1 with battery swaps at shift change this happens dozens of times per shift.

        ## Proposal
        - On app start, the handheld sends `ReleaseSession(previous_session_id)`; the server releases all locks of that
          session immediately.
        - Shorten the lease to 60 s with a 15 s heartbeat (battery impact acceptable according to the Zebra profile).
        """, author="yusuf", assignees=["arjun"], labels=["type::feature", "team::warehouse", "picking"], state="opened",
           created="2025-09-09 08:00", updated="2025-10-02 10:00", notes=[
               ("arjun", "Release on start is easy. For the shorter lease I'd like data from MAN1 on heartbeat loss in the far "
                         "aisles first, otherwise we trade stale locks for stolen locks."),
           ])

    gitlab("cycle-count-batch", I, "warehouse/wms-core", "Cycle count batch of 5,000 bins is too large for LEJ2's cold zone", """
        The nightly cycle count locks bins in batches of 5,000. In LEJ2 the cold-chain zone runs a night shift that picks
        between 02:00 and 03:00, and large batches block it (`BIN_BLOCKED`).

        Make the batch size configurable per DC and zone (`wms.cycle-count.batch-size`), default stays 5,000; LEJ2 cold
        zone 500 with a pause of 30 s between batches.
        """, author="arjun", assignees=["arjun"], labels=["type::feature", "team::warehouse", "inventory"], state="closed",
           created="2025-05-27 09:00", updated="2025-06-06 14:00")

    gitlab("edi-una", I, "warehouse/wms-core", "EDI DESADV parser fails when UNA segment defines non-default separators", """
        A new tenant's ERP sends DESADV messages with a UNA service string advice that uses `;` as the data element
        separator. Our parser ignores UNA and assumes the defaults, so every ASN fails with `WMS-4501 ASN_PARSE_ERROR`.

        ```text
        UNA:;.? '
        UNB;UNOC:3;4012345000009:14;5412345000013:14;250912:0610;00000000000778'
        ```

        ## Fix
        Read the UNA segment when present and configure the tokenizer accordingly.
        """, author="arjun", assignees=["arjun"], labels=["type::bug", "team::warehouse", "edi"], state="closed",
           created="2025-09-12 11:00", updated="2025-09-16 16:00")

    gitlab("wave-planner-v2", I, "warehouse/wms-core", "Wave planner v2: rollout plan before peak season", """
        ## Goal
        Wave planner v2 groups orders by carrier cut-off time and pick path instead of by order creation time. Pilot at
        RTM1 showed 14% shorter pick paths.

        ## Rollout
        1. Deploy dark (flag `warehouse.wave-planner-v2`, off) before 20 November so no deploy is needed in the freeze.
        2. Enable per DC: RTM1 (already piloted), MAN1, LEJ2, LYS1, one per week.
        3. Rollback = flag off; waves already released stay as they are.
        """, author="yusuf", assignees=["yusuf", "arjun"], labels=["type::feature", "team::warehouse", "peak-season"],
           state="opened", created="2025-10-01 09:00", updated="2025-10-06 13:00", notes=[
               ("priya", "Thanks for making it a flag instead of a freeze exception. Please add the flag to the peak readiness "
                         "list in the ops review."),
           ])

    gitlab("sku-trailing-space", I, "warehouse/wms-core", "Item master sync creates duplicate SKUs when codes have trailing spaces", """
        Polar Foods' ERP pads SKU codes to 18 characters with spaces in one of their two export jobs. Item master sync
        treats `"PF-100233"` and `"PF-100233         "` as different items, so stock is split across two item records and
        reservations fail with `NO_STOCK_AVAILABLE` although stock exists.

        Fix: trim SKU codes on import and merge the 312 duplicates (migration with a dry-run report first).
        """, author="fatima", assignees=["arjun"], labels=["type::bug", "team::warehouse", "integration", "customer-reported"],
           state="closed", created="2025-04-28 14:00", updated="2025-05-08 10:00")

    gitlab("spring-boot-33", I, "warehouse/wms-core", "Upgrade to Spring Boot 3.3 and Kotlin 2.0", """
        Spring Boot 3.2 OSS support ended. Upgrade path: 3.2 -> 3.3, Kotlin 1.9 -> 2.0 (K2 compiler), Hibernate 6.5.

        Known pitfalls: K2 changes some smart casts; Hibernate 6.5 changes the default for `@Enumerated` arrays in our
        `bin_attributes` mapping. Plan: staging soak for one week including a night of cycle counts.
        """, author="yusuf", assignees=["arjun"], labels=["type::task", "team::warehouse", "upgrade"], state="opened",
           created="2025-08-18 10:00", updated="2025-09-29 15:00")

    gitlab("cost-centre-subtotals", I, "payments/billing-api", "Invoice subtotals per cost centre (phase 1 of {{J:cost-centre-split}})", """
        ## Scope of phase 1
        One invoice per tenant as today, with invoice lines grouped by cost centre and a subtotal per group. Separate
        invoices per cost centre are phase 2.

        ## Tasks
        - [ ] `cost_centres` table and API (CRUD, console later)
        - [ ] assignment of depots and warehouses to cost centres
        - [ ] invoice line grouping in `InvoiceAssembler`
        - [ ] PDF template: grouped lines with subtotals
        - [ ] UBL/XRechnung: cost centre as line-level `AccountingCost` (BT-133)

        Usage without a depot (API calls, console seats) goes to a default group "Unassigned".
        """, author="aisha", assignees=["aisha"], labels=["type::feature", "team::payments", "invoicing"], state="opened",
           created="2025-09-22 10:00", updated="2025-10-06 12:00")

    gitlab("invoice-it-tz", I, "payments/billing-api", "InvoiceRunnerIT fails on runners with a non-UTC time zone", """
        `InvoiceRunnerIT.periodBoundaries` fails on the new arm64 runners:

        ```text
        expected: <2025-08-31T23:59:59.999Z> but was: <2025-08-31T21:59:59.999Z>
        ```

        The test builds the expected period end with `LocalDate.atTime(...).atZone(ZoneId.systemDefault())`. The billing
        period is always UTC; the test should say so.
        """, author="victor", assignees=["victor"], labels=["type::bug", "team::payments", "flaky-test"], state="closed",
           created="2025-08-27 09:00", updated="2025-08-27 15:00")

    gitlab("iban-audit-log", I, "payments/billing-api", "Full IBAN visible in backoffice audit log entries", """
        The audit log entry for `payment_method.updated` stores the request body, which for SEPA methods contains the full
        IBAN. Backoffice users with the `support` role can see it in the audit view. Masking rules (last 4 characters)
        are applied in the payment method view but not in the audit view.

        ## To do
        - Mask IBANs before writing audit entries.
        - Migrate existing audit entries (about 4,100).
        - Check other audit event types for bank details.
        """, author="daniel", assignees=["victor"], labels=["type::bug", "security", "team::payments", "pci"],
           state="closed", confidential=True, created="2025-06-25 10:00", updated="2025-07-03 12:00")

    gitlab("legacy-charges-api", I, "payments/billing-api", "Remove the legacy Stripe Charges API code path", """
        Tenants created before 2022 still have a code path that uses the Charges API instead of PaymentIntents. After the
        PaymentGateway refactor no tenant uses it (checked: zero calls in 60 days). Remove `LegacyChargeService`, its
        tests and the `stripe.legacy-charges.enabled` property.
        """, author="victor", assignees=["victor"], labels=["type::task", "team::payments", "tech-debt"], state="opened",
           created="2025-08-20 11:00", updated="2025-08-20 11:00")

    gitlab("dlq-tenant-filter", I, "payments/refund-service", "replay-dlq: add a --tenant filter", """
        During the duplicate charge cleanup we wanted to replay DLQ messages for one tenant first (Kestrel Pharma) to
        confirm with their finance team. `nwctl payments refunds replay-dlq` only supports `--since`.

        Add `--tenant <id>` and `--refund-id <id>` filters. Messages not matching stay in the DLQ.
        """, author="aisha", assignees=["victor"], labels=["type::feature", "team::payments", "refunds", "tooling"],
           state="closed", created="2025-06-23 10:00", updated="2025-07-09 09:00")

    gitlab("refund-histogram", I, "payments/refund-service", "Refund latency histogram buckets are too coarse", """
        `refund_duration_seconds` uses the default Prometheus buckets (.005 to 10 s). Refunds including retries take
        2-20 s, so almost everything lands in the +Inf bucket and the p95 panel is useless.

        Use buckets `0.5, 1, 2, 4, 8, 15, 30, 60`.
        """, author="victor", assignees=["victor"], labels=["type::task", "team::payments", "observability"],
           state="closed", created="2025-07-15 10:00", updated="2025-07-16 10:00")

    gitlab("xiaomi-location", I, "mobile/driver-app", "Android: location updates stop after ~10 minutes on Xiaomi devices", """
        ## Devices
        Xiaomi Redmi Note 12 and 13 (MIUI / HyperOS), 40+ drivers at UrbanCrate.

        ## Symptom
        The dispatcher map freezes the driver's position after about 10 minutes with the screen off. ETAs stop updating.

        ## Cause
        MIUI battery saver kills foreground services of apps not on its "no restrictions" list, even with the
        notification visible. This is outside the Android spec; no API allows us to opt out.

        ## Options
        - In-app guide that deep-links to the MIUI battery settings on first route start (dontkillmyapp-style).
        - Detect missing location updates server-side and push a silent wake-up (FCM high priority).
        """, author="chloe", assignees=["chloe"], labels=["type::bug", "team::mobile", "android", "location"],
           state="opened", created="2025-07-28 10:00", updated="2025-09-18 14:00")

    gitlab("detox-offline-photo", I, "mobile/driver-app", "Detox end-to-end test for the offline POD photo flow", """
        The offline photo flow (5.13) has unit tests but no end-to-end test. Add a Detox scenario:

        1. Start a route, go offline (`device.setURLBlacklist` plus airplane mode on Android emulators).
        2. Complete 3 drops with photos.
        3. Restart the app while offline.
        4. Go online; assert that 3 uploads happen and the drops show "photo uploaded".
        """, author="mateo", assignees=["mateo"], labels=["type::task", "team::mobile", "testing"], state="closed",
           created="2025-08-11 10:00", updated="2025-08-29 16:00")

    gitlab("rn-076", I, "mobile/driver-app", "Upgrade React Native 0.74 to 0.76", """
        0.76 makes the New Architecture the default (we already run it) and brings the new debugger. Native modules to
        check: `@nw/location`, `@nw/scanner`, `@nw/outbox`, MapLibre, the camera library.

        Timing: after 5.15, before the freeze only if the upgrade is done by 7 November; otherwise January.
        """, author="jonas", assignees=["keiko", "chloe"], labels=["type::task", "team::mobile", "upgrade"], state="opened",
           created="2025-09-24 09:00", updated="2025-10-03 10:00")

    gitlab("live-activity", I, "mobile/driver-app", "iOS Live Activity: next drop and ETA on the lock screen", """
        Drivers mount phones in the cab and the screen often locks. A Live Activity could show the next drop address,
        ETA and time window on the lock screen and in the Dynamic Island.

        Needs: ActivityKit widget extension (Swift), updates through push (APNs `liveactivity` push type) from driver-bff,
        and a fallback for iOS 16.0 (Live Activities need 16.1).
        """, author="keiko", assignees=[], labels=["type::feature", "team::mobile", "ios"], state="opened",
           created="2025-09-03 15:00", updated="2025-09-03 15:00")

    gitlab("hermes-symbols", I, "mobile/driver-app", "Crashlytics shows unsymbolicated JS stack traces for Hermes bundles", """
        Since 5.12 JS crashes in Crashlytics show `index.android.bundle:1:284211` instead of source locations. The source
        map upload step in CI uploads the Metro source map, but Hermes bytecode needs the composed source map
        (`compose-source-maps.js`).
        """, author="chloe", assignees=["chloe"], labels=["type::bug", "team::mobile", "ci", "crash-reporting"],
           state="closed", created="2025-07-16 10:00", updated="2025-07-18 12:00")

    gitlab("offline-photo-skip", I, "mobile/driver-app", "Drop can be completed without the required photo while offline", """
        ## Steps
        1. Tenant setting: photo required for every drop.
        2. Go offline, open the camera, then press back without taking a photo.
        3. "Complete drop" is enabled and the drop completes.

        ## Expected
        The complete button stays disabled until a photo is captured, online or offline.

        ## Cause
        The offline branch checks `photoRequired` against the cached tenant settings, which are loaded lazily and are
        `undefined` after a cold start offline.
        """, author="mateo", assignees=["keiko"], labels=["type::bug", "team::mobile", "pod", "offline"], state="opened",
           created="2025-10-06 11:00", updated="2025-10-07 09:30")

    gitlab("airflow-deferrable", I, "data/pipelines", "Airflow: move long KubernetesPodOperator tasks to deferrable mode", """
        Long-running pod tasks (dbt builds, Trino exports) occupy a worker slot for the whole run. With deferrable mode the
        triggerer waits for the pod and the slot is free. Expected to cut scheduler pressure at 02:00-05:00 UTC when
        `dbt_nightly` and `daily_shipments_rollup` run.
        """, author="rahul", assignees=["rahul"], labels=["type::task", "team::data", "airflow"], state="opened",
           created="2025-09-02 10:00", updated="2025-09-20 11:00")

    gitlab("freshness-telemetry", I, "data/pipelines", "Add dbt source freshness checks for raw_telemetry", """
        When the S3 sink stalled for 14 hours in August, nothing alerted because `raw_telemetry` has no freshness check.

        ```yaml
        sources:
          - name: raw_telemetry
            loaded_at_field: _ingested_at
            freshness:
              warn_after: {count: 2, period: hour}
              error_after: {count: 6, period: hour}
        ```
        """, author="wen", assignees=["wen"], labels=["type::task", "team::data", "data-quality"], state="closed",
           created="2025-08-29 09:00", updated="2025-09-01 10:00")

    gitlab("otd-grace", I, "data/pipelines", "Certified OTD question in Metabase uses a 15-minute grace period", """
        The Metabase question "OTD by tenant (certified)" uses `window_end + interval 15 minute`. The metric definition
        says 10 minutes, and the console uses 10 minutes. Customer Success compared both and got different numbers for
        the same tenant (93.1% vs 91.4%).

        Fix the question to use `fct_drops.is_on_time` from the mart instead of recomputing the logic in SQL.
        """, author="marcus", assignees=["wen"], labels=["type::bug", "team::data", "metabase", "metrics"], state="closed",
           created="2025-06-30 10:00", updated="2025-07-02 14:00")

    gitlab("erasure-tracks", I, "data/pipelines", "gdpr_erasure does not delete from ClickHouse gps_tracks_1m", """
        The erasure DAG deletes raw pings from `gps_pings` and the lake but not the downsampled tracks in
        `gps_tracks_1m`, which are kept for 25 months. Erasure requests must cover all copies.

        Add `ALTER TABLE nw_events.gps_tracks_1m ON CLUSTER nw DELETE WHERE driver_key IN (...)` as a lightweight delete
        and verify with a count before and after.
        """, author="lena", assignees=["rahul"], labels=["type::bug", "team::data", "gdpr"], state="closed",
           created="2025-07-10 10:00", updated="2025-07-17 12:00")

    gitlab("capture-returns", I, "data/cdc-connectors", "Capture wms-db table shipments_returns", """
        Finance needs returns in the lake to reconcile credit notes. Add `public.shipments_returns` to the `cdc-wms`
        publication and connector `table.include.list`, with an incremental snapshot for existing rows (about 2.1M).

        Warehouse team review needed: the table contains a free-text `reason_note` column that we should exclude
        (`column.exclude.list`).
        """, author="wen", assignees=["rahul"], labels=["type::feature", "team::data", "cdc"], state="closed",
           created="2025-07-24 10:00", updated="2025-08-05 11:00")

    gitlab("connector-validate", I, "data/cdc-connectors", "Validate connector configs in CI before applying", """
        A typo in `table.include.list` (`public.oders`) was applied by CI last month and the connector silently captured
        nothing for that table for two days.

        Add a CI job that calls `PUT /connector-plugins/{plugin}/config/validate` on the staging Connect cluster and fails
        on errors, and a check that every table in `table.include.list` exists in the source schema.
        """, author="rahul", assignees=["rahul"], labels=["type::task", "team::data", "ci"], state="opened",
           created="2025-09-29 10:00", updated="2025-09-29 10:00")


# ===========================================================================
# GitLab merge requests
# ===========================================================================

def gitlab_mrs():
    M = "mr"
    gitlab("geocoder-cb", M, "platform/route-planner", "{{J:geocoder-stall}}: timeout, circuit breaker and Nominatim fallback for geocoding", """
        ## What
        - Geocode requests get a 3 s timeout (the client used `http.DefaultClient`, no timeout at all).
        - A circuit breaker (sony/gobreaker) wraps the MapGrid client. While it is open, requests go to our Nominatim.
        - New metrics `geocoder_circuit_state{provider}` and `geocoder_requests_total{provider,outcome}`, and the alert
          `GeocoderCircuitOpen`.

        ## Why
        On 2025-03-27 a slow MapGrid stalled order intake for 45 minutes ({{J:geocoder-stall}}).

        ## Configuration
        New keys in `config/route-planner.yaml`, all overridable through Helm values:

        ```yaml
        geocoder:
          timeout: 3s
          circuit_breaker:
            failure_threshold: 20       # consecutive failures that open the circuit
            failure_ratio: 0.5          # ...or this failure ratio within the interval
            min_requests: 40            # minimum requests in the interval before the ratio counts
            interval: 10s
            open_duration: 30s          # how long to stay open before probing MapGrid again
            half_open_max_requests: 5
          fallback:
            provider: nominatim
            url: http://nominatim.routing.svc.cluster.local:8080
        ```

        With these defaults the circuit opens after `geocoder.circuit_breaker.failure_threshold` = 20 consecutive failed
        MapGrid calls, or when at least half of 40+ calls in 10 s fail.

        ## How to test
        `make test` covers the breaker state machine. On staging: `toxiproxy-cli toxic add mapgrid -t latency -a latency=8000`
        and watch orders flow with yellow-pin geocodes.
        """, author="oskar", assignees=["oskar"], reviewers=["ravi", "mei"],
           labels=["team::routing", "geocoding", "workflow::merged"], state="merged",
           source_branch="OPS-geocoder-circuit-breaker", created="2025-04-02 09:30", updated="2025-04-15 10:05", notes=[
               ("ravi", "blocking: counting only consecutive failures means a 50% error rate never opens the breaker, since every "
                        "other call succeeds. That is exactly what MapGrid looked like on the 27th (timeouts mixed with fast "
                        "answers). Can we add a ratio-based trip?"),
               ("oskar", "Good catch. ReadyToTrip is now `ConsecutiveFailures >= failure_threshold || (Requests >= min_requests "
                         "&& ratio >= failure_ratio)`. Replayed the 27 March traffic from the access logs: the circuit opens "
                         "after 11 s."),
               ("mei", "question: do timeouts count as failures? And 429s? If we are over quota, falling back is what we want."),
               ("oskar", "Timeouts, 5xx and 429 count. 4xx other than 429 do not (bad address input is not MapGrid's fault)."),
               ("mei", "nit: `open_duration` of 30 s means we probe MapGrid every 30 s with up to 5 requests during an outage. "
                       "Fine by me, just mention it in the runbook."),
               ("mei", "SYS:approved this merge request"),
               ("ravi", "SYS:approved this merge request"),
               ("oskar", "SYS:merged"),
           ])

    gitlab("kafka-coop", M, "platform/route-planner", "{{J:kafka-lag}}: cooperative-sticky rebalancing and smaller poll batches for ingest", """
        ## What
        - Ingest consumer uses the `cooperative-sticky` balancer instead of eager range assignment. A member leaving the
          group no longer stops all other members.
        - `ingest.maxPollRecords` default 500 -> 200.
        - Batch processing checks the poll deadline and commits partial progress if a batch approaches
          `max.poll.interval.ms` (at 80%).

        ## Why
        Rebalance storm during the SEV2 on 2025-09-12: one slow partition caused repeated full-group stops.

        ## Rollout notes
        Switching from eager to cooperative needs two rolling deploys: first with both protocols listed, then with
        cooperative only. This MR contains step 1; the follow-up MR removes the eager balancer.

        ```go
        kgo.Balancers(kgo.CooperativeStickyBalancer(), kgo.RangeBalancer()), // step 1: both
        ```

        ## Testing
        Staging with a synthetic 500k-message burst on one partition (script `loadtest/burst_one_partition.go`): no full-group
        stops, lag recovered in 11 minutes. Before: 140 rebalances in 30 min.
        """, author="mei", assignees=["mei"], reviewers=["oskar"], labels=["team::routing", "kafka", "postmortem"],
           state="merged", source_branch="OPS-ingest-cooperative-sticky", created="2025-09-13 10:00",
           updated="2025-09-16 09:40", notes=[
               ("oskar", "question: with cooperative-sticky, do we still get `OnPartitionsRevoked` for all partitions on shutdown? "
                         "We rely on it to flush the batch buffer."),
               ("mei", "We get `OnPartitionsLost`/`OnPartitionsRevoked` only for the partitions actually moving; on shutdown all "
                       "of them are revoked. Added a test for the shutdown flush."),
               ("oskar", "nit: the 80% deadline check reads the config on every record; hoist it out of the loop."),
               ("mei", "Done."),
               ("oskar", "SYS:approved this merge request"),
               ("mei", "SYS:merged"),
           ])

    gitlab("eta-time-dependent", M, "platform/route-planner", "Draft: time-dependent travel-time matrices for long routes", """
        ## What
        Implements the first half of {{GI:eta-multidrop}}: matrices per hourly slice touched by the route instead of one matrix
        for the route start time. Behind the per-tenant flag `routing.time-dependent-matrix`.

        ## Not in this MR
        Learned service times per stop type (separate MR, needs the DATA mart).

        ## Numbers (staging, last week's Brightline routes)
        | Stop sequence | p90 ETA error before | after |
        |---|---|---|
        | 1-10 | +9 min | +7 min |
        | 11-30 | +31 min | +10 min |
        | 31+ | +64 min | +12 min |

        OSRM requests per optimisation: 1 -> up to 4. Matrix cache keys now include the slice hour.
        """, author="ravi", assignees=["ravi"], reviewers=["mei"], labels=["team::routing", "eta", "workflow::in review"],
           state="opened", draft=True, source_branch="eta-time-dependent-matrix", created="2025-10-03 14:00",
           updated="2025-10-08 10:10", notes=[
               ("mei", "Looks good so far. Please add a guard so a route spanning more than 4 slices uses the nearest slice "
                       "instead of issuing more matrix requests, otherwise a 14-hour shift does 14 requests."),
               ("ravi", "Will do; capping at 4 slices and merging adjacent hours with similar profiles."),
           ])

    gitlab("jobs-tenant-scope", M, "platform/route-planner", "Scope job lookups by tenant", """
        Fixes {{J:sec-idor}}.

        - `jobs.Get(ctx, id)` -> `jobs.GetForTenant(ctx, tenantID, id)`; returns `ErrNotFound` for other tenants' jobs, so the
          API answers 404 exactly like for routes.
        - New test helper `crossTenantGETs` runs every GET endpoint with ids belonging to another tenant and expects 404.
          It found nothing else.
        """, author="mei", assignees=["mei"], reviewers=["oskar", "daniel"], labels=["team::routing", "security"],
           state="merged", source_branch="scope-jobs-by-tenant", created="2025-05-14 16:00", updated="2025-05-15 11:00",
           notes=[
               ("daniel", "Thanks. Please do not mention the pentest in the commit message; the MR title is fine."),
               ("oskar", "SYS:approved this merge request"),
               ("daniel", "SYS:approved this merge request"),
           ])

    gitlab("intake-ratelimit", M, "platform/route-planner", "{{J:bulk-import-limit}}: per-tenant token bucket for order intake", """
        ## What
        Token bucket per tenant in front of `POST /v2/orders` and the EDI intake. Defaults: 200 orders/s, burst 2,000.
        Over the limit: 429 with `RP-429-TENANT_INTAKE_LIMIT` and `Retry-After`.

        Buckets live in redis-cache (Lua script, one round trip). If Redis is unavailable we **fail open** and count it
        in `intake_ratelimit_redis_errors_total`.

        ## Config
        ```yaml
        intake:
          rate_limit:
            default_per_second: 200
            default_burst: 2000
            overrides:            # managed from the admin tool, cached 60 s
              t_1042: {per_second: 600, burst: 10000}
        ```
        """, author="oskar", assignees=["oskar"], reviewers=["mei"], labels=["team::routing", "api", "postmortem"],
           state="opened", source_branch="OPS-intake-rate-limit", created="2025-10-01 11:00", updated="2025-10-07 16:00",
           notes=[
               ("mei", "suggestion: count bulk requests by number of orders, not by request. Otherwise one bulk call with 5,000 "
                       "orders costs one token."),
               ("oskar", "Right, bulk now consumes one token per order and is rejected as a whole if the bucket is short."),
           ])

    gitlab("webhook-test-fix", M, "platform/route-planner", "Fix flaky TestOptimizeAsyncWebhook", """
        Closes {{GI:flaky-webhook-test}}. The fake webhook server is started and health-checked before the job is submitted;
        the notification client in tests uses a 100 ms retry backoff. Ran the test 200 times locally and in CI.
        """, author="oskar", assignees=["oskar"], reviewers=["ravi"], labels=["team::routing", "flaky-test"], state="merged",
           source_branch="fix-flaky-async-webhook-test", created="2025-07-23 09:00", updated="2025-07-23 12:30",
           notes=[("ravi", "SYS:approved this merge request")])

    gitlab("orders-partitions", M, "platform/infrastructure", "{{J:kafka-partitions}}: orders.v2 to 48 partitions", """
        ## Change
        ```hcl
        module "topic_orders_v2" {
          source             = "../modules/kafka-topic"
          name               = "orders.v2"
        - partitions         = 24
        + partitions         = 48
          replication_factor = 3
          config = {
            "min.insync.replicas" = "2"
            "retention.ms"        = "604800000"
          }
          owner = "routing"
        }
        ```

        Also raises the HPA max of `route-planner-ingest` to 48.

        ## Plan output
        `~ module.topic_orders_v2.kafka_topic.this` (1 to change, in place). Partition increases are online; they cannot be
        reverted.

        ## Schedule
        Apply on Tuesday 2025-09-23 at 06:00 UTC, after EU auto-planning. The producer key change (tenant + depot) is
        deployed the day before.
        """, author="nadia", assignees=["nadia"], reviewers=["ben", "mei"], labels=["team::sre", "kafka", "terraform"],
           state="merged", source_branch="orders-v2-48-partitions", created="2025-09-19 14:00", updated="2025-09-23 06:10",
           notes=[
               ("ben", "Plan looks right. Reminder that consumers must be restarted or they only notice new partitions after "
                       "`metadata.max.age.ms` (5 min). Either is fine."),
               ("mei", "We'll let the metadata refresh pick it up, no restart needed. Ingest HPA change is in the same apply?"),
               ("nadia", "Yes, same apply, different module."),
               ("mei", "SYS:approved this merge request"),
               ("ben", "SYS:approved this merge request"),
               ("nadia", "SYS:merged"),
           ])

    gitlab("redis-sessions-tf", M, "platform/infrastructure", "{{J:redis-split}}: redis-sessions replication group", """
        ## What
        New ElastiCache replication group `redis-sessions` in both production regions and staging:

        ```hcl
        resource "aws_elasticache_replication_group" "sessions" {
          replication_group_id       = "redis-sessions"
          node_type                  = "cache.r7g.large"
          num_cache_clusters         = 3
          automatic_failover_enabled = true
          multi_az_enabled           = true
          transit_encryption_enabled = true
          parameter_group_name       = aws_elasticache_parameter_group.sessions.name  # maxmemory-policy noeviction
        }
        ```

        AUTH token generated into Vault at `secret/data/sre/redis-sessions/<env>`. CloudWatch alarm and Prometheus rule
        `RedisSessionsMemoryHigh` at 75%.

        The existing cluster is renamed to `redis-cache` only in DNS (CNAME); the AWS resource keeps its old id to avoid a
        replacement.
        """, author="ben", assignees=["ben"], reviewers=["nadia", "priya"], labels=["team::sre", "redis", "terraform"],
           state="merged", source_branch="redis-sessions-cluster", created="2025-08-26 14:00", updated="2025-08-28 16:00",
           notes=[
               ("nadia", "question: three nodes for sessions? The data set is ~2 GB."),
               ("ben", "Primary plus two replicas so a single AZ loss keeps a replica for failover. Memory is not the reason."),
               ("priya", "SYS:approved this merge request"),
               ("nadia", "SYS:approved this merge request"),
           ])

    gitlab("coredns-tf", M, "platform/infrastructure", "{{J:coredns}}: manage CoreDNS autoscaling through add-on configuration", """
        Removes the hand-made HPA and configures autoscaling via `configuration_values` of the `coredns` EKS add-on, so add-on
        upgrades keep it:

        ```hcl
        configuration_values = jsonencode({
          autoScaling = { enabled = true, minReplicas = 6, maxReplicas = 20 }
          resources   = { requests = { cpu = "250m", memory = "128Mi" } }
        })
        ```
        """, author="nadia", assignees=["nadia"], reviewers=["ben"], labels=["team::sre", "dns", "terraform"], state="merged",
           source_branch="coredns-addon-config", created="2025-05-08 10:00", updated="2025-05-09 15:00",
           notes=[("ben", "SYS:approved this merge request")])

    gitlab("nodelocal-dns", M, "platform/infrastructure", "{{J:nodelocal-dns}}: NodeLocal DNSCache DaemonSet", """
        Adds NodeLocal DNSCache (link-local 169.254.20.10) to all node groups and points kubelet `clusterDNS` at it via the
        Karpenter EC2NodeClass user data. Rolled out node group by node group; pods pick it up when they are rescheduled.
        """, author="nadia", assignees=["nadia"], reviewers=["ben"], labels=["team::sre", "dns"], state="merged",
           source_branch="nodelocal-dnscache", created="2025-05-12 10:00", updated="2025-05-28 11:00",
           notes=[
               ("ben", "nit: add a dashboard panel for the cache hit rate, otherwise we'll never know if it works."),
               ("nadia", "Added to the CoreDNS dashboard."),
               ("ben", "SYS:approved this merge request"),
           ])

    gitlab("runner-volume", M, "platform/infrastructure", "GitLab runners: dedicated 200 GiB volume for docker and nightly prune", """
        Fixes {{J:runner-disk}}. Runner nodes get a second gp3 volume mounted at `/var/lib/docker`; a CronJob prunes images
        older than 48 h every night at 01:00 UTC.
        """, author="ben", assignees=["ben"], reviewers=["nadia"], labels=["team::sre", "ci"], state="merged",
           source_branch="runner-docker-volume", created="2025-04-24 10:00", updated="2025-04-25 17:00",
           notes=[("nadia", "SYS:approved this merge request")])

    gitlab("ingress-nginx-1121", M, "platform/infrastructure", "Bump ingress-nginx controller to v1.12.1 ({{J:sec-ingress-nginx}})", """
        - Chart 4.12.1 / controller v1.12.1 in all clusters.
        - NetworkPolicy restricting the admission webhook to the API server stays as defence in depth.
        - Tested on staging: all ingresses reconcile, no config diffs except the image tag.
        """, author="ben", assignees=["ben"], reviewers=["nadia", "daniel"], labels=["team::sre", "security", "ingress"],
           state="merged", source_branch="ingress-nginx-1-12-1", created="2025-03-25 12:00", updated="2025-03-27 16:00",
           notes=[
               ("daniel", "Thanks for the fast turnaround. Please attach the staging verification to the SEC ticket."),
               ("daniel", "SYS:approved this merge request"),
           ])

    gitlab("wms-lock-order", M, "warehouse/wms-core", "{{J:wms-deadlock}}: lock stock_level rows in a fixed order", """
        ## What
        - `SyncApplyService` and `ReplenishmentJob` lock the affected `stock_level` rows with
          `SELECT ... ORDER BY bin_id, sku_id FOR UPDATE` before updating them.
        - Deadlocks (SQLState `40P01`) in sync-apply are retried up to 5 times with jittered backoff (50-500 ms) instead of
          immediately.
        - New metric `wms_db_deadlocks_total` (from `pg_stat_database`) and alert at more than 10 per minute.

        ```kotlin
        val rows = stockLevelRepo.lockForUpdate(keys.sortedWith(compareBy({ it.binId }, { it.skuId })))
        ```

        ## Test
        `DeadlockIT` runs both writers concurrently against Testcontainers Postgres with overlapping bins in opposite
        order: 0 deadlocks in 1,000 iterations (before: deadlock in ~30% of iterations).
        """, author="arjun", assignees=["arjun"], reviewers=["yusuf"], labels=["team::warehouse", "postgres", "incident"],
           state="merged", source_branch="OPS-stock-level-lock-order", created="2025-03-20 09:00",
           updated="2025-03-24 14:00", notes=[
               ("yusuf", "question: the replenishment job touches up to 20k rows per run. Locking all of them up front holds the "
                         "locks for the whole transaction; can we chunk it?"),
               ("arjun", "It already commits per replenishment task (max ~200 rows). The ordering is within each chunk; across "
                         "chunks there is no overlap in time."),
               ("yusuf", "SYS:approved this merge request"),
           ])

    gitlab("wms-reservation-extend", M, "warehouse/wms-core", "Draft: {{J:wms-4307}} extend reservations on pick confirmation", """
        Each pick confirmation extends the reservation of the remaining lines of the order by the tenant's TTL, capped at
        4 hours from wave release. Stops large orders from expiring halfway through the pick.

        Open question: should supervisors see that a reservation was extended? Currently only a log line.
        """, author="arjun", assignees=["arjun"], reviewers=["yusuf"], labels=["team::warehouse", "reservations"],
           state="opened", draft=True, source_branch="OPS-reservation-extend-on-pick", created="2025-08-28 10:00",
           updated="2025-09-04 10:00", notes=[
               ("yusuf", "Yes, show it in the order timeline in WMS Admin. Supervisors at LEJ2 will ask."),
           ])

    gitlab("edi-una-fix", M, "warehouse/wms-core", "EDI: honour UNA service string advice", """
        Closes {{GI:edi-una}}. The EDIFACT tokenizer reads the UNA segment if present (component, data element, decimal,
        release and segment terminator characters) and falls back to the defaults otherwise. Test fixtures added for `;`
        separators and for a release character inside free text.
        """, author="arjun", assignees=["arjun"], reviewers=["yusuf"], labels=["team::warehouse", "edi"], state="merged",
           source_branch="edi-una-support", created="2025-09-15 09:00", updated="2025-09-16 15:00",
           notes=[("yusuf", "SYS:approved this merge request")])

    gitlab("spring-33-mr", M, "warehouse/wms-core", "Draft: Spring Boot 3.3, Kotlin 2.0, Hibernate 6.5", """
        Implements {{GI:spring-boot-33}}.

        - K2 smart cast changes fixed in 14 places.
        - `BinAttributes` enum array mapping pinned to `@JdbcTypeCode(SqlTypes.ARRAY)` to keep the existing column format.
        - Startup time unchanged (41 s), heap after warm-up -6%.

        Staging soak started 2025-09-29.
        """, author="arjun", assignees=["arjun"], reviewers=["yusuf"], labels=["team::warehouse", "upgrade"], state="opened",
           draft=True, source_branch="spring-boot-3.3", created="2025-09-26 10:00", updated="2025-10-06 10:00")

    gitlab("payment-gateway-refactor", M, "payments/billing-api", "{{J:payment-gateway-refactor}}: PaymentGateway abstraction for Stripe and Adyen", """
        ## What
        - New `PaymentGateway` interface (`confirmPayment`, `refund`, `createMandate`, `fetchPaymentStatus`).
        - `StripePaymentGateway` and `AdyenPaymentGateway` implementations; the 20 call sites now go through the interface.
        - Shared `RetryTemplate`: 3 retries on timeouts, 5xx and connection resets, exponential backoff starting at 500 ms.
        - Shared error mapping to `BIL-2xxx` in `ProviderErrorMapper`.

        ## Size
        1,900 changed lines; about 1,400 are moved code. Suggest reviewing commit by commit.

        ## Tests
        Unit tests for every call site with a mocked gateway; existing integration tests green.
        """, author="victor", assignees=["victor"], reviewers=["aisha", "tomas"], labels=["team::payments", "refactoring"],
           state="merged", source_branch="PAY-payment-gateway", created="2025-06-02 10:00", updated="2025-06-14 15:20",
           notes=[
               ("aisha", "This is a lot to review. Could we split the mechanical move from the retry/error mapping changes?"),
               ("victor", "I tried, but the retry template is what makes the interface useful. I've structured the commits so "
                          "the move is commits 1-6 and behaviour changes are 7-9."),
               ("aisha", "OK, reviewed commit by commit. nit: `ProviderErrorMapper` maps Adyen refusal 24 (CVC declined) to "
                         "BIL-2012; should be BIL-2001."),
               ("victor", "Fixed."),
               ("tomas", "Approving. Let's deploy on a Tuesday and watch payment success rates for a day."),
               ("tomas", "SYS:approved this merge request"),
               ("aisha", "SYS:approved this merge request"),
               ("victor", "SYS:merged"),
           ])

    gitlab("idem-fix", M, "payments/billing-api", "{{J:dup-charge-idem}}: reuse the idempotency key across retries", """
        ## What
        The idempotency key is derived from the payment attempt (`inv_<invoice_id>_a<attempt>`) **before** entering the retry
        template and passed into the gateway call. Same fix for Adyen and for refunds.

        ```diff
        -return retry.execute(() -> stripe.paymentIntents().confirm(intentId, params,
        -    RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build()));
        +String key = IdempotencyKeys.forAttempt(attempt);   // inv_<invoice_id>_a<attempt>
        +RequestOptions opts = RequestOptions.builder().setIdempotencyKey(key).build();
        +return retry.execute(() -> stripe.paymentIntents().confirm(intentId, params, opts));
        ```

        ## Tests
        - Regression test with stripe-mock behind toxiproxy: 12 s latency on the first call, success on the retry. Asserts
          all requests carry the same key and exactly one PaymentIntent is confirmed.
        - ArchUnit rule: no `UUID.randomUUID()` inside classes in `..gateway..`.

        ## Deploy
        Hotfix, deployed 2025-06-18 14:05 UTC during the SEV1. Dunning stays paused until the refunds are done.
        """, author="aisha", assignees=["aisha"], reviewers=["victor", "tomas"], labels=["team::payments", "incident", "sev1"],
           state="merged", source_branch="PAY-idempotency-key-outside-retry", created="2025-06-18 12:40",
           updated="2025-06-18 14:02", notes=[
               ("victor", "Checked all gateway methods: refund() had the same pattern, fixed here too. Adyen refunds as well."),
               ("tomas", "Two approvals under incident conditions; retro review with the whole team tomorrow."),
               ("victor", "SYS:approved this merge request"),
               ("tomas", "SYS:approved this merge request"),
               ("aisha", "SYS:merged"),
           ])

    gitlab("stripe-raw-body", M, "payments/billing-api", "{{J:stripe-webhook-sig}}: verify Stripe signatures over the raw body", """
        - `StripeWebhookController.receive` takes `@RequestBody byte[]` and passes the exact bytes to
          `Webhook.constructEvent`.
        - `RequestLoggingFilter` skips `/billing/webhooks/**` (it also should not log payment payloads at all).
        - Test with a payload containing "Müller Logistik GmbH" signed over UTF-8 bytes.
        """, author="aisha", assignees=["aisha"], reviewers=["victor", "tomas"], labels=["team::payments", "stripe", "webhooks"],
           state="merged", source_branch="PAY-stripe-webhook-raw-body", created="2025-09-15 14:30", updated="2025-09-15 16:35",
           notes=[
               ("victor", "Same issue for Adyen HMAC verification? Adyen notifications go through the same filter."),
               ("aisha", "Adyen computes the HMAC over specific fields, not the raw body, so it survived. The filter exclusion "
                         "covers both anyway."),
               ("victor", "SYS:approved this merge request"),
               ("tomas", "SYS:approved this merge request"),
           ])

    gitlab("metering-dedup", M, "payments/billing-api", "{{J:metering-reopt}}: count routes planned once per route and period", """
        - Unique constraint on `usage_records (billing_period, meter, route_id)` for the `routes_planned` meter
          (partial unique index, created concurrently on each monthly partition).
        - Consumer uses `INSERT ... ON CONFLICT DO NOTHING`.
        - One-off job `RecomputeRoutesPlannedJob` for August 2025 generates credit notes for overcharged tenants (dry-run
          report attached: 41 tenants, EUR 23,410 total).
        """, author="aisha", assignees=["aisha"], reviewers=["victor", "tomas"], labels=["team::payments", "metering"],
           state="merged", source_branch="PAY-routes-meter-dedup", created="2025-09-05 10:00", updated="2025-09-11 17:00",
           notes=[
               ("tomas", "Please run the credit note job only after Ingrid confirms account managers have informed the tenants."),
               ("tomas", "SYS:approved this merge request"),
               ("victor", "SYS:approved this merge request"),
           ])

    gitlab("xrechnung-fix", M, "payments/billing-api", "{{J:xrechnung-bt10}}: Leitweg-ID in BT-10 for German public sector", """
        New optional `leitweg_id` on billing accounts (validated format `^[0-9]{2,12}(-[0-9A-Z]{1,30})?-[0-9]{2}$`), mapped to
        `cbc:BuyerReference` (BT-10) in UBL/XRechnung. Validated with the KoSIT validator in CI.
        """, author="victor", assignees=["victor"], reviewers=["aisha", "tomas"], labels=["team::payments", "e-invoicing"],
           state="merged", source_branch="PAY-xrechnung-buyer-reference", created="2025-09-05 11:00", updated="2025-09-09 15:00",
           notes=[("aisha", "SYS:approved this merge request"), ("tomas", "SYS:approved this merge request")])

    gitlab("invoice-run-regions", M, "payments/billing-api", "{{J:invoice-run-split}}: separate invoice runs for EU and NA", """
        - Two CronJobs, `invoice-runner-eu` (03:00 UTC) and `invoice-runner-na` (08:00 UTC), selecting accounts by legal entity.
        - KEDA cron triggers per run.
        - `InvoiceRunNotFinished` becomes two alerts with their own deadlines (08:00 and 13:00 UTC).
        """, author="victor", assignees=["victor"], reviewers=["aisha"], labels=["team::payments", "invoicing", "peak-season"],
           state="opened", source_branch="PAY-invoice-run-per-region", created="2025-10-06 10:00", updated="2025-10-08 10:00",
           notes=[
               ("aisha", "suggestion: keep a manual `invoice-runner-all` job template for reruns so the runbook does not need "
                         "two commands."),
           ])

    gitlab("chf-rounding", M, "payments/billing-api", "{{J:chf-vat}}: book rounded Swiss VAT in the ledger", """
        Ledger entries for VAT now use the rounded amount from the invoice lines (0.05 CHF for Swiss invoices) and post the
        difference to the rounding account 4990. Finance signed off on the account.
        """, author="victor", assignees=["victor"], reviewers=["aisha", "tomas"], labels=["team::payments", "tax"],
           state="merged", source_branch="PAY-chf-vat-rounding", created="2025-10-03 09:00", updated="2025-10-07 17:00",
           notes=[("aisha", "SYS:approved this merge request"), ("tomas", "SYS:approved this merge request")])

    gitlab("refund-nonretryable", M, "payments/refund-service", "{{J:refund-180d}}: treat charge_expired_for_refund as non-retryable", """
        Adds `charge_expired_for_refund` to the non-retryable Stripe error codes. Such refunds get status `MANUAL` and a
        Finance task via billing-api instead of 3 retries and a trip to `refunds.dlq`.

        ```go
        var nonRetryable = map[string]bool{
            "charge_already_refunded":   true,
            "charge_disputed":           true,
            "amount_too_large":          true,
            "charge_expired_for_refund": true, // new
        }
        ```
        """, author="victor", assignees=["victor"], reviewers=["aisha", "tomas"], labels=["team::payments", "refunds"],
           state="merged", source_branch="PAY-refund-expired-nonretryable", created="2025-03-07 10:00",
           updated="2025-03-10 14:00", notes=[
               ("aisha", "nit: add a table-driven test for the classifier so the list and the tests cannot drift."),
               ("victor", "Done."),
               ("aisha", "SYS:approved this merge request"),
               ("tomas", "SYS:approved this merge request"),
           ])

    gitlab("dlq-filter-mr", M, "payments/refund-service", "replay-dlq: --tenant and --refund-id filters", """
        Closes {{GI:dlq-tenant-filter}}. Non-matching messages are re-published to `refunds.dlq` unchanged (same key and
        headers) so their order is kept. `--dry-run` prints what would be replayed.
        """, author="victor", assignees=["victor"], reviewers=["aisha", "tomas"], labels=["team::payments", "tooling"],
           state="merged", source_branch="replay-dlq-filters", created="2025-07-01 10:00", updated="2025-07-09 09:00",
           notes=[("aisha", "SYS:approved this merge request"), ("tomas", "SYS:approved this merge request")])

    gitlab("android14-fgs", M, "mobile/driver-app", "{{J:android14-crash}}: foreground service type for location tracking on Android 14", """
        ## What
        - Manifest: `android:foregroundServiceType="location"` on `LocationTrackingService` and the
          `FOREGROUND_SERVICE_LOCATION` permission.
        - `startForeground(id, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION)` on API 29+.
        - Route start from a push notification no longer starts the service from the background; it stores a pending
          start that runs when the app comes to the foreground, and the notification says "Open the app to start
          tracking".
        - Version 5.14.1.

        ## Testing
        Mateo's matrix: Pixel 8 (14), Galaxy A54 (14), Pixel 6 (13), Zebra TC58 (13), Galaxy A14 (13). Route start from the
        app and from a push, background/foreground transitions, device reboot during a route.
        """, author="chloe", assignees=["chloe"], reviewers=["jonas", "keiko"], labels=["team::mobile", "android", "hotfix"],
           state="merged", source_branch="MOB-android14-fgs-type", target_branch="release/5.14", created="2025-09-05 10:00",
           updated="2025-09-08 16:00", notes=[
               ("keiko", "question: does the pending start survive the app being killed? Drivers swipe the app away a lot."),
               ("chloe", "Yes, it is persisted in MMKV and checked on launch."),
               ("jonas", "Please cherry-pick to main as well (`git cherry-pick -x`), the release branch MR alone is not enough."),
               ("chloe", "Done: main has the same commits."),
               ("jonas", "SYS:approved this merge request"),
               ("keiko", "SYS:approved this merge request"),
           ])

    gitlab("photo-queue-evict", M, "mobile/driver-app", "{{J:mob-photo-queue}}: evict uploaded photos when the offline queue is full", """
        Eviction of already uploaded photos now runs whenever the queue reaches its limit, not only at app start. If the
        queue is full of photos that are **not** uploaded yet, the driver sees a clear message instead of a silent failure.
        """, author="chloe", assignees=["chloe"], reviewers=["keiko"], labels=["team::mobile", "pod", "offline"],
           state="merged", source_branch="MOB-photo-queue-evict", created="2025-09-04 10:00", updated="2025-09-08 11:00",
           notes=[("keiko", "SYS:approved this merge request")])

    gitlab("heic-convert", M, "mobile/driver-app", "{{J:heic-413}}: convert POD photos to JPEG before upload", """
        Photos are converted to JPEG (quality 0.8, max 2048 px long edge) before they enter the upload queue. 413 responses
        are non-retryable and shown to the driver. Average upload size drops from 3.1 MB to 0.6 MB.
        """, author="keiko", assignees=["keiko"], reviewers=["chloe"], labels=["team::mobile", "pod", "ios"], state="merged",
           source_branch="MOB-heic-to-jpeg", created="2025-08-15 10:00", updated="2025-08-19 15:00",
           notes=[
               ("chloe", "question: EXIF location is stripped by the conversion? Tenants use photo location as evidence."),
               ("keiko", "We keep GPS EXIF tags and the capture time; everything else is dropped."),
               ("chloe", "SYS:approved this merge request"),
           ])

    gitlab("eta-tz-mr", M, "mobile/driver-app", "{{J:mob-eta-tz}}: format all route times in the depot time zone", """
        New `formatDepotTime(iso, depotTz)` helper used by the ETA banner, drop list and drop details. When the device time
        zone differs from the depot's, times show the zone abbreviation (e.g. "09:40 BST").
        """, author="chloe", assignees=["chloe"], reviewers=["keiko"], labels=["team::mobile", "time-zones"], state="merged",
           source_branch="MOB-depot-timezone", created="2025-06-25 10:00", updated="2025-07-01 10:00",
           notes=[("keiko", "SYS:approved this merge request")])

    gitlab("rn-076-mr", M, "mobile/driver-app", "Draft: React Native 0.76", """
        Work in progress for {{GI:rn-076}}. Builds on both platforms; `@nw/scanner` needs a fix for the new codegen. Detox
        suite: 3 failures, all in scanner tests.
        """, author="keiko", assignees=["keiko"], reviewers=["jonas"], labels=["team::mobile", "upgrade"], state="opened",
           draft=True, source_branch="rn-0.76", created="2025-10-02 10:00", updated="2025-10-07 17:00")

    gitlab("rollup-rewrite", M, "data/pipelines", "{{J:shipments-rollup-timeout}}: rewrite rpt_shipments_daily join", """
        Pre-aggregates `route_events` per route in a subquery before joining `delivery_events`, so the hash table is built from
        the small side (about 1.2M routes instead of 800M events). 41 s with the new analyzer; the temporary
        `allow_experimental_analyzer=0` setting is removed.

        ```sql
        with routes as (
            select tenant_id, route_id, any(depot_id) as depot_id, min(event_time) as started_at
            from nw_events.route_events_all
            where event_time >= {{ start }} - interval 1 day
            group by tenant_id, route_id
        )
        select d.tenant_id, r.depot_id, toDate(d.event_time) as day, count() as drops, ...
        ```
        """, author="rahul", assignees=["rahul"], reviewers=["wen", "lena"], labels=["team::data", "clickhouse", "airflow"],
           state="merged", source_branch="DATA-shipments-rollup-join", created="2025-08-25 10:00", updated="2025-08-27 09:00",
           notes=[
               ("wen", "Numbers match the old query for 14 sampled tenant-days, diff 0."),
               ("lena", "SYS:approved this merge request"),
           ])

    gitlab("otd-grace-fix", M, "data/pipelines", "Metabase certified OTD question uses fct_drops.is_on_time", """
        Closes {{GI:otd-grace}}. The question now selects `avg(is_on_time)` from the mart instead of recomputing the window
        logic with a 15-minute grace period. Numbers now match the console.
        """, author="wen", assignees=["wen"], reviewers=["lena"], labels=["team::data", "metabase"], state="merged",
           source_branch="otd-certified-question", created="2025-07-01 10:00", updated="2025-07-02 14:00",
           notes=[("lena", "SYS:approved this merge request")])

    gitlab("gdpr-retries", M, "data/pipelines", "{{J:gdpr-iceberg}}: commit retries and compaction pause for gdpr_erasure", """
        - `commit.retry.num-retries=10`, `commit.retry.min-wait-ms=1000` on the erasure DELETE statements.
        - The erasure DAG pauses the S3 sink compaction task (Airflow pool `iceberg-maintenance` set to 0) while it runs.
        """, author="rahul", assignees=["rahul"], reviewers=["lena"], labels=["team::data", "gdpr", "iceberg"],
           state="merged", source_branch="gdpr-erasure-commit-retries", created="2025-07-07 10:00", updated="2025-07-08 16:00",
           notes=[("lena", "SYS:approved this merge request")])

    gitlab("cdc-heartbeat", M, "data/cdc-connectors", "Debezium 2.5 and heartbeats for all Postgres connectors ({{J:wal-bloat}})", """
        ## Why
        On 2025-09-06 the `debezium_wms` slot retained 182 GB of WAL on wms-db because none of the captured tables changed
        over the weekend while other tables generated plenty of WAL ({{J:wal-bloat}}). Debezium only confirms LSNs when it
        sees changes for captured tables.

        ## What
        - Connect image `connect-cdc:2.5.4` (Debezium 2.5).
        - Heartbeats on every Postgres connector, with an action query that writes to a small table that is part of the
          publication, so every heartbeat produces a change event and the slot advances:

        ```json
        {
          "heartbeat.interval.ms": "10000",
          "heartbeat.action.query": "INSERT INTO debezium_heartbeat (id, ts) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts",
          "topic.heartbeat.prefix": "__debezium-heartbeat",
          "table.include.list": "public.inventory,public.orders,public.shipments,public.debezium_heartbeat,..."
        }
        ```

        - Migration for `debezium_heartbeat (id int primary key, ts timestamptz)` in routing-db, wms-db and billing-db
          (reviewed by the owning teams).
        - `__debezium-heartbeat.*` topics: 1 partition, 1 hour retention.

        ## Result on staging
        Slot lag on wms-db stays below 200 MB with no writes to captured tables for 48 h (before: grew ~4 GB/hour).
        """, author="rahul", assignees=["rahul"], reviewers=["lena", "arjun"], labels=["team::data", "cdc", "debezium"],
           state="merged", source_branch="debezium-2.5-heartbeats", created="2025-09-15 10:00", updated="2025-09-19 14:30",
           notes=[
               ("arjun", "Migration on wms-db looks fine from our side. One row, updated every 10 s, that is nothing."),
               ("lena", "question: why 10 s and not 60 s? WAL is recycled per segment anyway."),
               ("rahul", "10 s also gives us a cheap liveness signal per connector (heartbeat topic lag). 60 s would be fine for "
                         "the WAL problem alone."),
               ("lena", "OK. nit: put the heartbeat table into the excluded list of the S3 sink, nobody needs it in the lake."),
               ("rahul", "Done."),
               ("lena", "SYS:approved this merge request"),
               ("arjun", "SYS:approved this merge request"),
           ])

    gitlab("capture-returns-mr", M, "data/cdc-connectors", "Capture wms-db shipments_returns (without reason_note)", """
        Closes {{GI:capture-returns}}. Adds the table to the publication and `table.include.list`, excludes
        `public.shipments_returns.reason_note` via `column.exclude.list`, and triggers an incremental snapshot through the
        signal table after deploy.
        """, author="rahul", assignees=["rahul"], reviewers=["lena", "arjun"], labels=["team::data", "cdc"], state="merged",
           source_branch="capture-shipments-returns", created="2025-07-30 10:00", updated="2025-08-05 11:00",
           notes=[("arjun", "SYS:approved this merge request"), ("lena", "SYS:approved this merge request")])

    gitlab("jwks-prepublish", M, "platform/gatekeeper", "{{J:jwks-cache}}: pre-publish the next signing key 24 h before rotation", """
        - JWKS contains the current key and the next key from 24 h before rotation until 24 h after.
        - `nw-auth-go` verifier refetches JWKS on an unknown `kid`, at most once per 30 s.
        """, author="nadia", assignees=["nadia"], reviewers=["ben", "daniel"], labels=["team::sre", "auth"], state="merged",
           source_branch="jwks-prepublication", created="2025-07-02 10:00", updated="2025-07-15 12:00",
           notes=[("daniel", "SYS:approved this merge request"), ("ben", "SYS:approved this merge request")])

    gitlab("driver-revoke-mr", M, "platform/gatekeeper", "Revoke driver refresh tokens on deactivation", """
        Fixes {{GI:refresh-revoke}}. Handles `UserDeactivated` for subject type `driver`: deletes refresh tokens from
        redis-sessions and adds the subject to a 15-minute deny list checked by the token introspection path.
        """, author="nadia", assignees=["nadia"], reviewers=["daniel"], labels=["team::sre", "security"], state="merged",
           source_branch="revoke-driver-tokens", created="2025-08-08 10:00", updated="2025-08-12 16:00",
           notes=[("daniel", "SYS:approved this merge request")])

    gitlab("karpenter-budget", M, "platform/infrastructure", "NodePool disruption budget: no consolidation during morning planning", """
        Closes {{GI:karpenter-solver}}.

        ```yaml
        disruption:
          consolidationPolicy: WhenEmptyOrUnderutilized
          budgets:
            - nodes: "10%"
            - nodes: "0"
              schedule: "0 4 * * mon-fri"
              duration: 4h
        ```
        """, author="nadia", assignees=["nadia"], reviewers=["mei"], labels=["team::sre", "karpenter"], state="merged",
           source_branch="karpenter-morning-budget", created="2025-06-25 10:00", updated="2025-06-27 10:00",
           notes=[("mei", "SYS:approved this merge request")])


# ===========================================================================
# Slack threads
# ===========================================================================

def slack_sre():
    slack("kafka-incident", "sre-incidents", "2025-09-12 03:02", [
        ("alertmanager", ":rotating_light: *[FIRING:1] RoutePlannerConsumerLagHigh* (routing, severity=page)\n"
                         "consumer group `route-planner-ingest` lag on `orders.v2` is 61,204 messages (threshold 50,000 for 10m)\n"
                         "<https://grafana.nw.internal/d/kafka-cg?var-group=route-planner-ingest|Dashboard> | "
                         "<{{CURL:rb-kafka-lag}}|Runbook>"),
        ("oskar", 2, "ack, looking. Lag is climbing on all partitions, not just one. Following the runbook, scaling ingest 12 -> 24"),
        ("oskar", 11, "scaling made it worse, rebalances take longer now and lag is at 180k. Declaring SEV2. EU auto-planning "
                      "runs at 05:30 CEST, that is in 15 minutes"),

        ("ben", 2, "I'll take IC. Channel: <#C07INC0912|inc-20250912-route-delays>. {{U:mei}} can you join? {{U:marcus}} heads-up "
                   "for support, some tenants will have plans missing orders."),
        ("mei", 9, "here. The group is in a rebalance storm: one member keeps exceeding max.poll.interval.ms. Partition 17 batches "
                   "take 40-90s. That's UrbanCrate's key, they are re-sending a whole week after their ERP migration"),
        ("mei", 8, "and the upsert on orders (tenant_id, external_ref) is doing seq scans on orders_2025 :face_with_spiral_eyes: the "
                   "index is only on the 2024 partition. Lowering maxPollRecords to 100 first to stop the rebalances, index after"),
        ("oskar", 17, "maxPollRecords=100 deployed at 03:58 UTC, rebalances stopped. Lag going down ~6k/min"),
        ("grace", 6, "Talked to UrbanCrate, they agreed to throttle. We capped their client at 50 req/s at the gateway"),
        ("ben", 95, "Lag < 5k, all orders ingested. Resolving. Support is re-planning with the 4 Enterprise tenants. Follow-ups: "
                    "{{J:kafka-lag}}, {{J:kafka-index}}, postmortem on Monday."),
        ("priya", 30, "Thanks all. Note for the runbook: scaling out during a rebalance storm is the wrong first move. Mei, can you "
                      "update it when you write the postmortem?"),
    ], reactions={0: [("eyes", ["oskar", "ben"])], 8: [("raised_hands", ["mei", "grace", "marcus", "oskar"])],
                  9: [("+1", ["mei"])]})

    slack("redis-logout", "sre-incidents", "2025-08-25 07:41", [
        ("marcus", "Several tenants (UrbanCrate, Polar Foods, Brightline) report drivers being logged out mid-route since ~07:15, "
                   "the app shows \"Session expired, please sign in again\". Anything going on?"),
        ("ben", "looking. gatekeeper error rate is normal, token refresh returns `invalid_grant` for a lot of drivers though"),
        ("ben", "found it. The shared Redis is at maxmemory and evicting like crazy:\n```used_memory_human:12.98G\n"
                "maxmemory_human:13.07G\nmaxmemory_policy:allkeys-lru\nevicted_keys:1184221```\n"
                "allkeys-lru evicts *any* key, including `sess:*` refresh token entries. The matrix cache grew a lot since the "
                "new depots came online, so session keys are getting pushed out"),
        ("jonas", "ugh, so drivers lose their refresh token and have to log in again. Anything we can do right now?"),
        ("ben", "Short term: dropped the matrix cache TTL from 6h to 1h and unlinked the biggest `mcache:*` keys (SCAN + UNLINK, "
                "no FLUSHALL). Memory at 71% now, evictions stopped at 07:58. Drivers who were logged out need to sign in once."),
        ("priya", "Declaring this SEV2 retroactively for the record. Sessions must never live in an evicting cache. "
                  "{{U:ben}} can you write up a proposal for a separate sessions cluster with noeviction?"),
        ("ben", "Yes. Ticket {{J:redis-split}}, ADR draft today."),
        ("marcus", "Thanks, telling tenants it's resolved and drivers need to log in once."),
    ], reactions={2: [("dart", ["priya", "jonas"])], 4: [("pray", ["marcus", "jonas"])]})

    slack("dns-timeouts", "sre-incidents", "2025-05-07 13:08", [
        ("alertmanager", ":rotating_light: *[FIRING:3] DriverBffErrorRate* (mobile, severity=page) 5xx ratio 6.2% over 5m"),
        ("chloe", "driver-bff logs are full of `getaddrinfo EAI_AGAIN osrm-eu.nw.internal` and `redis-sessions` lookups failing. DNS?"),
        ("nadia", "I upgraded the CoreDNS add-on 10 min ago. Checking... it's running 2 replicas at 100% CPU, our HPA is gone"),
        ("nadia", "scaled CoreDNS to 8 by hand, errors dropping. Will put the autoscaling into the add-on config so it survives "
                  "upgrades. {{J:coredns}}"),
        ("ben", "Resolved 13:27. Postmortem owner Nadia."),
    ])

    slack("vault-sealed", "sre-incidents", "2025-04-22 09:12", [
        ("alertmanager", ":rotating_light: *[FIRING:1] VaultSealed* vault-2 sealed for 2m (sre, severity=page)"),
        ("priya", "vault-2 came up on a new node after Karpenter replaced it, and it can't auto-unseal: `AccessDeniedException` "
                  "on kms:Decrypt. The IRSA role annotation is missing on the StatefulSet after last week's chart bump"),
        ("priya", "re-added the annotation, restarted vault-2, unsealed and joined raft. Quorum was fine throughout (2 of 3). "
                  "Adding a test in the chart CI for the annotation."),
    ])

    slack("argocd-billing", "sre-incidents", "2025-07-29 10:35", [
        ("victor", "billing-api-prod has been Progressing for 12 minutes after I promoted 2025.07.4. New pods in ImagePullBackOff"),
        ("nadia", "`manifest unknown` for the tag. Your pipeline failed at the push stage (registry 503) but the promote job "
                  "still ran because it only checks the build stage. Roll back with `nwctl release rollback billing-api` and "
                  "re-run the pipeline"),
        ("victor", "rolled back, old pods never went away so no impact. Thanks!"),
        ("nadia", "I'll make promote check that the image exists. Silly gap."),
    ])

    slack("mapgrid-slow", "sre-incidents", "2025-07-17 10:49", [
        ("alertmanager", ":rotating_light: *[FIRING:1] GeocoderCircuitOpen* circuit open in 9/12 route-planner pods (routing)"),
        ("oskar", "MapGrid status page says degraded performance in EU. Fallback to Nominatim is working, yellow pins going up as "
                  "expected"),
        ("oskar", "hmm, 2 of 3 nominatim pods just got OOMKilled. Scaling to 6 and bumping the limit to 6Gi by hand"),
        ("oskar", "stable now. MapGrid recovered at 11:32, circuit closed. Ticket for the OOM: {{J:nominatim-oom}}. I'll run the "
                  "regeocode for low-confidence orders from 10:40-11:32"),
    ])

    slack("rtm1-scanners", "sre-incidents", "2025-03-19 06:18", [
        ("yusuf", "RTM1 shift lead says scanners are not syncing since ~06:10. Backlog alert fired too"),
        ("arjun", "wms-db is logging deadlocks on stock_level non-stop, sync-apply vs the replenishment job that was moved to "
                  "06:00 last week. Pausing sync-apply for RTM1 won't help, it's the replenishment job that's new"),
        ("priya", "Taking IC. Can we stop the replenishment job?"),
        ("arjun", "stopped it at 06:49, deadlocks gone, backlog draining"),
        ("arjun", "drained at 06:53. Ticket {{J:wms-deadlock}}, fix will be lock ordering."),
    ])

    slack("na-502", "sre-incidents", "2025-03-26 15:02", [
        ("sofia", "Is anyone else seeing 502s from api.us.northwind.example? A US tenant reports intermittent 502 on optimize"),
        ("ben", "yes: the NLB health check still points at the old ingress-nginx admission port after yesterday's upgrade, so half "
                "the targets flap. Fixing the target group config now"),
        ("ben", "fixed 15:14, all targets healthy."),
    ])

    slack("wal-alarm", "sre-incidents", "2025-09-06 03:12", [
        ("pagerduty", ":red_circle: Triggered: *RDS FreeStorageSpace < 15%* on wms-db-prod (SRE Primary) -- assigned to Ben Adeyemi"),
        ("ben", "wms-db free storage dropping ~4 GB/h. Not data growth: `pg_replication_slots` says debezium_wms retains 182 GB of "
                "WAL. Connector is RUNNING though"),
        ("ben", "paging Data Platform is not possible at night (business hours). Trying the trick from the CDC page: an update on "
                "a captured table so the connector gets an event and confirms an LSN"),
        ("ben", "```UPDATE debezium_signal SET data = data WHERE id = 'noop';```\nslot advanced, RDS is recycling WAL, free space "
                "back to 41% at 04:05"),
        ("rahul", 320, "Thanks Ben, sorry about that. Weekend with no changes on captured tables = slot never advances. Heartbeats fix "
                       "this properly, ticket {{J:wal-bloat}}"),
    ], reactions={3: [("muscle", ["rahul", "lena", "priya"])]})

    slack("partition-heads-up", "sre-incidents", "2025-09-22 15:30", [
        ("nadia", "Heads-up: tomorrow (Tue 23 Sept) 06:00 UTC we increase `orders.v2` from 24 to 48 partitions "
                  "({{MR:orders-partitions}}). No downtime expected. Routing is aware. If you see ingest weirdness between 06:00 "
                  "and 06:30 UTC, ping me."),
        ("mei", "Producer key change (tenant+depot) is deployed since 14:00 today, so we're ready."),
        ("nadia", 900, "Done at 06:04. 48 partitions, lag 0."),
    ], reactions={2: [("tada", ["mei", "ben", "oskar"])]})

    slack("ch-page-night", "sre-incidents", "2025-09-28 02:14", [
        ("priya", "Got paged at 02:10 for ClickHouseDiskUsageHigh on ch-prod-05 (86%) via the Data Platform fallback. Data Platform is "
                  "business hours, so this shouldn't reach us unless it's critical. It's a merge spike, already back to 80%"),
        ("lena", 430, "Sorry! Routing was wrong. Low urgency out of hours, and SRE only above 92%. {{J:ch-alert-routing}}"),
    ])


def slack_payments():
    slack("dup-charges", "payments-eng", "2025-06-18 11:38", [
        ("marcus", "Kestrel Pharma's finance team says they were charged twice today for their May invoice, same amount, 4 minutes "
                   "apart. Can someone look? Account manager is on the phone with them"),
        ("aisha", "looking at Stripe... yes, two PaymentIntents confirmed for the same invoice. And it's not just them, I see "
                  "more duplicates in today's dunning run"),
        ("aisha", "Stripe has elevated latency since 09:55. Our client times out at 10s and retries, and every retry has a NEW "
                  "idempotency key :scream: that's the PaymentGateway refactor"),
        ("tomas", "Stop the dunning run now please. Declaring SEV1, {{U:priya}} can you IC?"),
        ("aisha", "dunning-worker scaled to 0 at 11:47"),
        ("priya", "IC. Channel <#C07INC0618|inc-20250618-duplicate-charges>. Aisha ops lead, Tomás comms with Marcus."),
        ("victor", 40, "query for all invoices with >1 succeeded attempt today: 449 invoices, 412 twice, 37 three times. "
                       "EUR 186,940.22 overcharged. 23 of them are SEPA"),
        ("aisha", 95, "fix merged and deployed ({{MR:idem-fix}}), key is derived before the retry again"),
        ("tomas", 60, "Refunds start at 15:00 in batches of 50 through refund-service. Dunning stays off until we've reviewed. "
                      "Account managers call Enterprise tenants today, email to everyone else tomorrow."),
        ("victor", 1400, "All card refunds succeeded. SEPA duplicates refunded by credit transfer via Finance. Closing the refund "
                         "part. Postmortem draft by Friday."),
    ], reactions={3: [("+1", ["aisha", "victor"])], 9: [("pray", ["marcus", "tomas", "ingrid"])]})

    slack("stripe-sig", "payments-eng", "2025-09-15 10:52", [
        ("victor", "Stripe dashboard shows our webhook endpoint as failing for ~7% of events since this morning: `No signatures "
                   "found matching the expected signature for payload`. Only since 2025.09.2"),
        ("aisha", "all the failing ones I looked at have umlauts or accents in the customer name. Smells like an encoding thing. "
                  "2025.09.2 added the RequestLoggingFilter..."),
        ("aisha", "yep, ContentCachingRequestWrapper + getReader() decodes as ISO-8859-1, we re-encode to UTF-8 and verify "
                  "over different bytes. Fix: verify over the raw byte[] and skip the filter for webhooks. {{J:stripe-webhook-sig}}"),
        ("tomas", "Stripe retries for 3 days so nothing is lost, but let's get it out today please"),
        ("aisha", 330, "2025.09.3 deployed 16:40, failures at 0, Stripe is redelivering the backlog"),
    ], reactions={4: [("white_check_mark", ["victor", "tomas"])]})

    slack("adyen-sandbox", "payments-eng", "2025-08-06 14:20", [
        ("ravi", "Silly question from a non-payments person: I'm testing the console checkout flow on staging for the NA tenant "
                 "fixture. Which Adyen test merchant account does staging use? The config just says `${ADYEN_MERCHANT_ACCOUNT}`"),
        ("aisha", "Not silly! Staging and local use the Adyen *test* environment with two merchant accounts, one per legal entity:\n"
                  "• `NorthwindLogisticsECOM_TEST` for Northwind Logistics B.V. (EU tenants)\n"
                  "• `NorthwindLogisticsInc_TEST` for Northwind Logistics Inc. (NA tenants)\n"
                  "The API key and HMAC key are in Vault under `secret/data/payments/billing-api/staging`. Your NA fixture "
                  "should use the Inc one."),
        ("aisha", "For cards use the numbers from Adyen's test card page; the ones marked for 3DS2 challenge flow are useful to "
                  "test SCA. Never put a real card into the test environment."),
        ("ravi", "perfect, thanks :pray:"),
    ], reactions={1: [("bookmark", ["ravi", "victor"])]})

    slack("invoice-run-late", "payments-eng", "2025-10-01 08:21", [
        ("victor", "Invoice run still going, 88% done. PgBouncer cl_waiting around 60-80 since EU business hours started, run slowed "
                   "down a lot after 07:00"),
        ("tomas", "Customers' payments failing?"),
        ("victor", "No, console payments are fine, only the batch is slow. I'd rather let it finish than pause it"),
        ("tomas", "Agreed. Let's prioritise splitting the run per region, this is the second month in a row."),
        ("victor", 25, "Finished 08:40. Ticket {{J:invoice-run-split}}."),
    ])

    slack("refund-stuck", "payments-eng", "2025-05-28 16:05", [
        ("fatima", "A refund for Mistral Home has been REQUESTED for 2 hours, customer is asking. Refund id rf_01HZ3K8T2W"),
        ("victor", "It's in refunds.dlq: Adyen returned 500s between 13:50 and 14:30 (their status page confirms). Replaying now "
                   "that they're healthy"),
        ("victor", "replayed, SUCCEEDED. The customer will see it in 5-10 business days as usual for cards."),
    ])

    slack("refund-approval", "payments-eng", "2025-08-14 11:00", [
        ("marcus", "Quick one: who needs to approve a EUR 7,200 refund for Harbor & Vale? I approved as support lead, backoffice "
                   "still says pending"),
        ("tomas", "Above 5k it needs a second approver from Payments or Finance. I've approved it now. We should make the "
                  "backoffice say who is next, there's a ticket for that: {{J:refund-approval-ui}}"),
    ])

    slack("bil-2005-spike", "payments-eng", "2025-07-03 09:15", [
        ("sofia", "Getting a bunch of BIL-2005 (SEPA mandate missing) tickets this morning, all Dutch tenants of the same bank. "
                  "Known?"),
        ("aisha", "Yes, that bank migrated creditor references last week and returned our debits with MD01. Those tenants need to "
                  "re-confirm the mandate in the console. Ingrid is preparing an email with the steps."),
        ("ingrid", "Email goes out at 11:00 to the 27 affected tenants, support macro is `sepa-mandate-reconfirm`."),
    ])

    slack("cost-centre-ask", "payments-eng", "2025-09-18 15:40", [
        ("ingrid", "Brightline asked again about separate invoices per business unit. I told them subtotals in Q4, separate "
                   "invoices Q1 at the earliest. Story with the interview notes: {{J:cost-centre-split}}"),
        ("aisha", "Subtotals issue is up on GitLab as well: {{GI:cost-centre-subtotals}}"),
    ])


def slack_mobile():
    slack("android-crash-spike", "mobile", "2025-09-04 07:20", [
        ("mateo", "Crashlytics velocity alert on 5.14.0 Android: crash-free sessions 97.8% on day 2 (10% rollout). All Android 14. "
                  "That's below our 99.5% halt threshold"),
        ("jonas", "Halting the Play rollout now. iOS unaffected, keep going there."),
        ("chloe", "Stack trace says we start the location foreground service without a type. targetSdk 34 requires it. Our native "
                  "module never declared it because on 33 it wasn't needed"),
        ("jonas", "Halted at 10%. {{U:mateo}} please file a MOB ticket with the traces, label release-blocker"),
        ("mateo", "{{J:android14-crash}}"),
        ("chloe", 300, "There's a second crash for route starts from push while backgrounded. Fixing both, hotfix 5.14.1"),
        ("jonas", 8000, "5.14.1 at 100% on Android, crash-free 99.86%. Thanks all :tada:"),
    ], reactions={1: [("octagonal_sign", ["mateo", "chloe", "keiko"])], 6: [("tada", ["chloe", "mateo", "keiko"])]})

    slack("xiaomi", "mobile", "2025-07-28 09:40", [
        ("fatima", "UrbanCrate dispatchers see drivers 'frozen' on the map, all on Xiaomi Redmi phones. Location stops after ~10 min"),
        ("chloe", "Classic MIUI battery saver killing foreground services. Nothing in the Android API lets us opt out. Short term: "
                  "drivers set the app to 'No restrictions' in battery settings. I'll write up options: {{GI:xiaomi-location}}"),
        ("fatima", "Sending them the steps, thanks."),
    ])

    slack("testflight-513", "mobile", "2025-07-30 16:10", [
        ("keiko", ":iphone: *Northwind Driver 5.13.0 (build 48211)* is on TestFlight (Northwind Staff) and Play internal testing. "
                  "Highlights: offline POD photos, configurable failed-delivery reasons. Please use it on your real phone for the "
                  "next 3 days and report anything in this thread."),
        ("mateo", "Regression signed off on my side, 2 known minor issues in the release notes draft"),
        ("sofia", "Support has the notes, help centre article for offline photos is ready"),
    ], reactions={0: [("rocket", ["jonas", "chloe", "mateo", "grace"])]})

    slack("min-version", "mobile", "2025-08-20 11:15", [
        ("sofia", "What's our min_supported_version right now? A driver on 5.9.3 says the app makes him update"),
        ("jonas", "5.10.0 since 15 July. Below that the app forces an update before a route can start."),
    ])

    slack("apns-down", "mobile", "2024-11-14 09:05", [
        ("marcus", "Several tenants say iPhone drivers don't get route change notifications since this morning. Android fine"),
        ("keiko", "driver-bff logs: APNs rejects our connection, certificate expired at 03:50 UTC. The .p12 cert was due for "
                  "renewal and nobody had it on their radar"),
        ("jonas", "Declaring SEV2. Keiko, fastest path?"),
        ("keiko", "Switching to token-based auth (.p8 key, doesn't expire). Creating the key in the Apple developer account now, "
                  "will store it in Vault"),
        ("keiko", 240, "Deployed, pushes flowing again at 13:00. Postmortem to follow."),
    ])

    slack("a14-cabinet", "mobile", "2025-09-24 10:02", [
        ("chloe", "Does anyone have a Galaxy A14 in the device cabinet? Need to reproduce the black camera preview"),
        ("mateo", "Yes, shelf 3, the one with the orange case. Battery is dead, charger next to it"),
    ])

    slack("heic-413", "mobile", "2025-08-14 08:30", [
        ("sofia", "POD uploads failing for a few iPhone 15 Pro drivers, photos stuck at 'uploading'"),
        ("keiko", "413 from the ingress, 48MP HEIC photos are 10-14 MB and our limit is 10m. We should convert to JPEG on device "
                  "anyway. {{J:heic-413}}"),
        ("jonas", "Agree on converting. Don't raise the ingress limit please, we'd pay for it in storage."),
    ])

    slack("ota-rollout", "mobile", "2025-08-12 13:00", [
        ("keiko", "OTA 5.13.0-ota2 (fix for the drop list sort order) at 10% since yesterday, no new crashes. Going to 100%?"),
        ("jonas", "Go :+1:"),
        ("keiko", "ota_rollout_percent=100 set at 13:05"),
    ])

    slack("detox-flaky", "mobile", "2025-09-17 17:20", [
        ("mateo", "Detox on BrowserStack: scanner tests time out on the Galaxy A54 about 1 in 5 runs. Only that device"),
        ("chloe", "The A54 on BrowserStack has no physical camera, our mock camera feed takes longer to start there. I'd bump the "
                  "wait for the scanner view from 5s to 15s for that device profile"),
        ("mateo", "ok, trying that"),
    ])


def slack_data():
    slack("clickhouse-disk", "data-platform", "2025-08-12 09:05", [
        ("wen", "Console reports for 'Delivery performance' are empty for yesterday and ClickHouse inserts are failing from the sink:\n"
                "```Code: 243. DB::Exception: Cannot reserve 12.40 GiB, not enough space. (NOT_ENOUGH_SPACE)```"),
        ("rahul", "ch-prod-03 is at 97% disk. Merges need free space for the new part, so they fail, parts pile up, and then "
                  "inserts get rejected with TOO_MANY_PARTS as well. ch-prod-04 (its replica) is at 91%"),
        ("lena", "What's eating it?"),
        ("rahul", "`gps_pings` is 68% of the disk. The shard got more than its share since the two big tenants' keys hash there. "
                  "Also someone left 400 GB in `scratch`"),
        ("rahul", "Doing now: dropped the scratch tables older than 14 days, and moving `gps_pings` partitions older than 60 days "
                  "to the S3 disk:\n```ALTER TABLE nw_events.gps_pings ON CLUSTER nw MOVE PARTITION 202505 TO DISK 's3_cold';```"),
        ("rahul", 50, "ch-prod-03 at 83%, merges running, sink caught up. Reports will be complete after the next dbt run"),
        ("lena", "Good. Let's not do this by hand again: proper storage policy with a TTL move to S3 after 30 days for all "
                 "nw_events tables. {{U:rahul}} can you own it? {{J:hot-cold}}"),
        ("rahul", "yes, staging first this week"),
    ], reactions={5: [("raised_hands", ["wen", "lena"])]})

    slack("rollup-failed", "data-platform", "2025-08-21 06:10", [
        ("wen", "daily_shipments_rollup failed again with TIMEOUT_EXCEEDED, second day in a row. Started after the 24.3 upgrade"),
        ("rahul", "24.3 turned on the new analyzer by default and it plans that join the wrong way round. I'll take it. "
                  "{{J:shipments-rollup-timeout}}"),
    ])

    slack("raw-telemetry-access", "data-platform", "2025-06-03 13:30", [
        ("grace", "Can I get read access to raw_telemetry in Trino? I want to look at GPS traces for the Lyon depot"),
        ("lena", "raw_* is restricted to Data Platform because it has un-pseudonymised driver ids. Use `stg_telemetry__gps_pings` "
                 "(driver_key instead of driver_id) or `fct_route_daily`. If something is missing there, tell us and we add it."),
        ("grace", "stg works for me, thanks"),
    ])

    slack("add-cdc-table", "data-platform", "2025-07-23 11:00", [
        ("wen", "How do I get a new wms-db table into the lake? Finance wants shipments_returns"),
        ("rahul", "MR to data/cdc-connectors adding it to the publication and table.include.list, Warehouse has to review "
                  "(anything captured ends up in the lake). Exclude free-text columns. After merge we trigger an incremental "
                  "snapshot. Open an issue and assign me"),
        ("wen", "{{GI:capture-returns}}"),
    ])

    slack("trino-memory", "data-platform", "2025-05-15 15:45", [
        ("ingrid", "My Trino query dies with `Query exceeded per-node memory limit of 20GB`. It's just usage per tenant for 2024"),
        ("wen", "You're scanning raw usage events without a partition filter. Use `marts_finance.fct_usage_monthly`, it's one "
                "row per tenant, meter and month. Should take a second"),
        ("ingrid", "1.4 seconds. I owe you a coffee"),
    ])

    slack("otd-mismatch", "data-platform", "2025-06-30 09:20", [
        ("marcus", "Why does Metabase say Kestrel's OTD in May was 93.1% while the console says 91.4%?"),
        ("wen", "The certified Metabase question recomputes OTD with a 15 min grace period, the official definition (and the "
                "console) uses 10 min. Metabase is wrong. Fixing: {{GI:otd-grace}}"),
    ])

    slack("old-gps", "data-platform", "2025-09-10 10:30", [
        ("ravi", "For the ETA work I need raw GPS pings from March for a few Brightline routes. Are they still around?"),
        ("rahul", "Raw pings are deleted after 90 days (retention policy), so March is gone. You can use `gps_tracks_1m`, "
                  "1-minute points per driver. Not as precise for dwell times, but fine for leg durations"),
        ("ravi", "1-minute points are good enough for leg durations, thanks"),
    ])

    slack("dbt-ci-slow", "data-platform", "2025-08-07 14:00", [
        ("wen", "dbt CI takes 25 min on my MR that only touches one mart. Is state:modified+ not working?"),
        ("rahul", "The prod manifest artifact expired (we keep 7 days) after dbt_nightly failed for a week in July... it's fixed "
                  "now, the last nightly uploaded a new one. Retry your pipeline"),
        ("wen", "4 minutes now :+1:"),
    ])


def slack_it():
    slack("vpn-macos", "help-it", "2025-08-19 09:12", [
        ("arjun", "My Tailscale VPN keeps dropping every few minutes since I updated my Mac to Sonoma 14.6. grafana.nw.internal "
                  "stops resolving, then comes back. Home Wi-Fi, works fine on my phone's hotspot"),
        ("sam", "We've seen this a few times. It's usually the \"Limit IP address tracking\" option on your Wi-Fi network (part of "
                "iCloud Private Relay), which interferes with the VPN's DNS. Go to System Settings > Wi-Fi > Details (next to your "
                "network) and turn off *Limit IP address tracking*. Then quit and reopen Tailscale."),
        ("sam", "Also check the Tailscale version: you want the standalone package from Self Service (1.76 or newer), not the App "
                "Store version; the App Store one has had issues with network extensions after macOS updates."),
        ("arjun", "Turned it off, no drops for the last hour. And I was indeed on the App Store version, switched. Thanks Sam!"),
        ("sam", "Great. If it comes back, run `tailscale bugreport` and post the ID here."),
    ], reactions={1: [("bulb", ["arjun", "rahul"])], 3: [("white_check_mark", ["sam"])]})

    slack("okta-new-phone", "help-it", "2025-06-09 08:40", [
        ("victor", "Got a new phone and forgot to move Okta Verify. Can't log in to anything"),
        ("sam", "I'll reset your Okta Verify factor, but I need to verify it's you first: I'll call you on Zoom with video in 2 min "
                "(that's our policy for factor resets). After that, enroll on the new phone at northwind.okta.com"),
        ("victor", "done, thanks!"),
    ])

    slack("yubikey-nwctl", "help-it", "2025-04-30 10:15", [
        ("ravi", "nwctl access request says `WebAuthn assertion required` but my YubiKey never blinks"),
        ("sam", "Is the key registered in Okta as a Security Key (WebAuthn)? Registration in the Okta dashboard > Settings > "
                "Security methods. `nwctl doctor` should then show `webauthn: ok`"),
        ("ravi", "It wasn't registered, only as OTP. Works now"),
    ])

    slack("second-monitor", "help-it", "2025-05-12 12:00", [
        ("wen", "Can I get a second monitor for home?"),
        ("sam", "Home office equipment comes out of your home office budget, order it in the equipment portal and it's shipped to "
                "you. The People team's page on remote work has the amounts."),
    ])

    slack("grafana-nxdomain", "help-it", "2025-07-02 09:00", [
        ("ingrid", "grafana.nw.internal gives DNS_PROBE_FINISHED_NXDOMAIN, other sites work"),
        ("sam", "`*.nw.internal` only resolves over the VPN. Is Tailscale connected? `tailscale status` should list you as online"),
        ("ingrid", "it was disconnected after a reboot. Works, sorry!"),
        ("sam", "No worries, it's the most common question here :slightly_smiling_face:"),
    ])

    slack("gitlab-ssh", "help-it", "2025-03-17 09:30", [
        ("mateo", "git push says `Permission denied (publickey)` since this morning, nothing changed on my side"),
        ("sam", "GitLab SSH keys expire after 365 days by policy. Check Preferences > SSH Keys, yours probably expired yesterday. "
                "Add a new one (ed25519)"),
        ("mateo", "expired on 16 March exactly. Fixed"),
    ])

    slack("keyboard-loaner", "help-it", "2025-09-03 08:20", [
        ("oskar", "Coffee in my laptop keyboard :( Is there a loaner?"),
        ("sam", "Come by the IT desk in Rotterdam, we have loaners. Bring the laptop, we'll send it for repair. Your files are in "
                "Google Drive anyway, right? :eyes:"),
        ("oskar", "on my way"),
    ])

    slack("sec-jira-access", "help-it", "2025-08-27 11:05", [
        ("chloe", "How do I get access to the SEC Jira project? I was asked to update a ticket about an app dependency"),
        ("sam", "SEC access is managed by Security, not IT. Ask Daniel Kim, he can add you to the ticket as a participant without "
                "giving you the whole project"),
    ])


def slack_secops():
    slack("phish-digicert", "sec-ops", "2025-09-22 08:31", [
        ("nadia", "Got a very convincing 'DigiCert renewal' email: our wildcard cert name, expires in 3 days, link to "
                  "digicert-renewals[.]support. Our real renewal is in November. Reported via the Gmail button"),
        ("daniel", "Thanks. Seeing 12 recipients, 5 in SRE and Payments. They probably scraped CT logs for our cert. Blocking "
                   "the domain and pulling the messages. {{J:sec-phish}}"),
        ("daniel", "One person entered credentials; Okta blocked the login because there was no WebAuthn. Password reset done."),
        ("olivia", "Good outcome, and a good argument for the WebAuthn rollout. Short warning in #announcements please, no names."),
    ])

    slack("pentest-idor", "sec-ops", "2025-05-14 09:40", [
        ("daniel", "Pentesters reported a High: job status of other tenants readable via GET /v2/jobs/{id}. No route data, but "
                   "route_plan_id and counts. {{J:sec-idor}}"),
        ("ethan", "Fix priority today. Do we know if anyone exploited it?"),
        ("daniel", "Checking 90 days of access logs for cross-tenant job reads now."),
        ("mei", "Fix is small, MR by tonight."),
        ("daniel", 1500, "Logs clean except the pentester. Fix deployed 2025-05-15, retest passed."),
    ])

    slack("lost-laptop", "sec-ops", "2025-07-14 19:10", [
        ("sam", "Warehouse engineer left their MacBook on the train from Leipzig. FileVault on, locked. Locking + wipe queued in "
                "Kandji, revoking Okta sessions"),
        ("daniel", "Thanks. I'll revoke GitLab tokens, SSH keys and nwctl grants. Ticket {{J:sec-lost-laptop}}"),
    ])

    slack("breakglass-drill", "sec-ops", "2025-06-05 10:00", [
        ("priya", "Break-glass drill Thursday 14:00 CET on staging: simulated Okta outage, two SRE open the break-glass vault and "
                  "use the breakglass-admin user. Daniel observes."),
        ("daniel", "I'll time it. Last drill took 19 minutes from decision to console access, target is under 10."),
        ("priya", 2900, "Drill done: 8 minutes. One finding: the hardware MFA token's battery indicator was low, replaced."),
    ])


def jira_more():
    """Smaller everyday tickets: the background noise every tracker has."""
    jira("grafana-sso-org", "OPS", "Task", "New hires land in Grafana's default org without team folders", """
        Grafana auto-provisions users from Okta into the Main org with the Viewer role, but team folders are assigned by
        Okta group, and the group sync only runs at login. New engineers whose Okta groups are added after their first
        login never get their team folders until they log out and in again.

        Fix: enable Grafana's team sync on every request (Enterprise feature we do not have) or run the sync job hourly via
        the Grafana API.
        """, status="Done", priority="Low", components=["observability"], labels=["onboarding"], assignee="ben",
         reporter="nadia", created="2025-02-10 10:00", updated="2025-02-14 15:00")

    jira("runbook-lint", "OPS", "Task", "CI lint: every paging alert must have a runbook_url that resolves", """
        Three paging alerts point to Confluence pages that were moved or deleted (404). Add a CI job in
        platform/infrastructure that checks every rule with severity=page for a runbook_url annotation and does a HEAD
        request against Confluence with a service account.
        """, status="Done", priority="Medium", components=["observability", "ci-cd"], labels=["alerting"], assignee="ben",
         reporter="priya", created="2025-04-14 09:00", updated="2025-04-29 16:00", comments=[
             ("ben", "Job added. It found 3 broken links and 2 alerts without runbook; Routing and Warehouse fixed theirs."),
         ])

    jira("staging-refresh-oom", "OPS", "Bug", "Weekly staging refresh failed: anonymisation job OOMKilled on wms-db dump", """
        The Sunday 02:00 UTC staging refresh failed at the anonymise step for wms-db (exit code 137). Staging kept last week's
        data, so nothing is broken, but the warehouse team's test fixtures for LYS1 are missing.

        The anonymiser loads whole tables into memory to build the pseudonym mapping; scanner_sync_queue grew to 60M rows.
        Exclude scanner_sync_queue (it is transient) and stream the rest.
        """, status="Done", priority="Medium", components=["infrastructure"], labels=["staging"], assignee="nadia",
         reporter="yusuf", created="2025-06-16 08:00", updated="2025-06-23 10:00")

    jira("pl-translations", "MOB", "Story", "Polish translations for configurable failed-delivery reasons", """
        Failed-delivery reasons became configurable per tenant in 5.13. Tenants enter the texts in the console in one language
        only. UrbanCrate's Polish drivers in the Netherlands see Dutch reasons.

        Acceptance: the console lets tenants enter reasons in several languages; the app picks the device language with
        fallback to the tenant's default.
        """, status="To Do", priority="Low", components=["driver-app", "console"], labels=["i18n", "feature-request"],
         assignee=None, reporter="fatima", created="2025-08-26 10:00", updated="2025-08-26 10:00")

    jira("bff-polling-spike", "MOB", "Bug", "driver-bff p99 latency spike at 05:30 CET from polling app versions", """
        Every weekday between 05:25 and 05:40 CET driver-bff p99 latency goes from 180 ms to 2.4 s. The spike comes from app
        versions below 5.10 polling /v1/routes/current every 15 s on shift start, plus the auto-planning fan-out.

        Short term: cache /v1/routes/current per driver for 10 s. Long term: raise min_supported_version (separate ticket).
        """, status="Done", priority="Medium", components=["driver-bff"], labels=["performance"], assignee="jonas",
         reporter="ben", created="2025-06-18 08:30", updated="2025-06-27 11:00")

    jira("metabase-050", "DATA", "Task", "Upgrade Metabase to v0.50", """
        Security fixes and the new dashboard tabs. Metabase's application database is Postgres on RDS (metabase-db); take a
        snapshot before the upgrade, the migration is not reversible. Test the certified collection's questions on staging.
        """, status="Done", priority="Low", components=["metabase"], labels=["upgrade"], assignee="lena", reporter="lena",
         created="2025-04-07 10:00", updated="2025-04-10 14:00")

    jira("zendesk-tags", "DATA", "Bug", "Zendesk ticket tags missing in raw_saas after the Airbyte connector upgrade", """
        Since the connector upgrade on 22 May the tags column in raw_saas.zendesk_tickets is empty for new tickets. Support's
        Metabase dashboard by tag (e.g. customer-escalation, wms-error) shows nothing for June.

        The new connector version moved tags into a separate stream ticket_tags that we did not enable.
        """, status="Done", priority="Medium", components=["airbyte"], labels=["saas-ingestion"], assignee="lena",
         reporter="marcus", created="2025-06-05 09:00", updated="2025-06-06 12:00")

    jira("bank-transfer-banner", "PAY", "Bug", "Console shows 'Payment failed' banner to bank-transfer customers", """
        Enterprise tenants on bank transfer (net 30) see a red "Payment failed, update your payment method" banner from day 1
        of the month until their transfer arrives. The banner checks for an unpaid invoice with no successful attempt, but
        bank-transfer invoices never have payment attempts.

        Expected: no banner before the due date; after the due date a neutral reminder with the bank details.
        """, status="Done", priority="Medium", components=["console", "billing-api"], labels=["customer-escalation"],
         assignee="victor", reporter="sofia", created="2025-08-04 10:00", updated="2025-08-08 16:00")

    jira("gbp-template", "PAY", "Task", "Invoice template for GBP with the UK VAT number", """
        UK tenants must receive invoices showing our UK VAT registration number and VAT in GBP. The current template shows
        the Dutch VAT number for all EU and UK tenants. Add a template variant selected by billing account country GB.
        """, status="Done", priority="Medium", components=["doc-renderer", "invoicing"], labels=["tax", "uk"],
         assignee="victor", reporter="ingrid", created="2025-02-17 10:00", updated="2025-02-28 15:00")

    jira("sec-access-review-q3", "SEC", "Task", "Quarterly access review: production JIT roles (Q3 2025)", """
        Review of who may request which JIT role (kube-operator, db-write, aws-poweruser, billing-pci) and of the grants
        actually used in Q3. Team leads confirm their team lists; unused eligibilities older than 6 months are removed.
        """, status="In Progress", priority="Medium", components=["iam"], labels=["access-review", "pci-2025"],
         assignee="daniel", reporter="olivia", created="2025-10-01 09:30", updated="2025-10-08 11:00", comments=[
             ("daniel", "Routing, Warehouse and Payments confirmed. 9 stale eligibilities removed so far."),
         ])


# ===========================================================================
# Assembly: keys, ids, timestamps, placeholder resolution
# ===========================================================================

def place_times(start: datetime, end: datetime, items: list[tuple]) -> list[tuple[str, datetime, str]]:
    """items: (who, body) or (who, 'YYYY-MM-DD HH:MM', body) -> (who, when, body), chronological."""
    out, pending, prev = [], [], start

    def flush(upper):
        nonlocal prev
        for (who, body), when in zip(pending, spread(prev, upper, len(pending))):
            out.append((who, when, body))
            prev = when
        pending.clear()

    for it in items:
        if len(it) == 3:
            when = T(it[1])
            flush(when)
            out.append((it[0], when, it[2]))
            prev = when
        else:
            pending.append(it)
    flush(max(end, prev + timedelta(minutes=30)))
    # A comment that says "deployed on 2025-09-18" cannot have been written before that day.
    fixed, last = [], None
    for who, when, body in out:
        mentioned = [d for d in re.findall(r"\b(20\d\d-\d\d-\d\d)\b", body) if d <= "2025-10-09"]
        if mentioned and max(mentioned) > when.strftime("%Y-%m-%d"):
            when = datetime.fromisoformat(max(mentioned)).replace(
                hour=rng.randint(12, 16), minute=rng.randint(0, 59), second=rng.randint(0, 59),
                microsecond=rng.randint(0, 999) * 1000, tzinfo=UTC)
        if last and when <= last:
            when = last + timedelta(minutes=rng.randint(4, 90), seconds=rng.randint(0, 59))
        fixed.append((who, when, body))
        last = when
    return fixed


def assign_numbers(items: list[dict], key_fn, start_fn) -> None:
    """Per group (project), number items in creation order with small random gaps."""
    groups: dict[str, list[dict]] = {}
    for it in items:
        groups.setdefault(key_fn(it), []).append(it)
    for g, lst in groups.items():
        lst.sort(key=lambda x: x["_created"])
        n = start_fn(g)
        for it in lst:
            it["_num"] = n
            n += rng.randint(1, 4)



# ---------------------------------------------------------------------------
# Composition layer: the structure every real tracker accumulates around the
# hand-written core (environment blocks, team templates, triage and release
# comments, GitLab system notes). Fill-ins come from each item's own fields.
# ---------------------------------------------------------------------------

SPRINT_EPOCH = datetime(2025, 1, 6, tzinfo=UTC)


def sprint_of(d: datetime) -> str:
    return f"{d.year}-{max(1, (d - SPRINT_EPOCH).days // 14 + 1):02d}"


def calver(service: str, d: datetime) -> str:
    return f"{service} {d.year}.{d.month:02d}.{min(4, d.day // 8 + 1)}"


def app_version(d: datetime) -> str:
    for cutoff, ver in [("2025-06-03", "5.10.2"), ("2025-07-08", "5.11.1"), ("2025-08-05", "5.12.0"),
                        ("2025-09-02", "5.13.1"), ("2025-09-09", "5.14.0")]:
        if d < datetime.fromisoformat(cutoff).replace(tzinfo=UTC):
            return ver
    return "5.14.1"


def build_no(d: datetime) -> int:
    return 47000 + (d - datetime(2025, 1, 1, tzinfo=UTC)).days * 7 + rng.randint(0, 6)


SERVICE_OF = {
    "route-planner": "route-planner", "kafka": "route-planner", "geocoding": "route-planner", "api": "route-planner",
    "wms-core": "wms-core", "billing-api": "billing-api", "metering": "billing-api", "invoicing": "billing-api",
    "dunning": "billing-api", "stripe": "billing-api", "adyen": "billing-api", "refund-service": "refund-service",
    "doc-renderer": "doc-renderer", "backoffice": "backoffice", "console": "console-bff",
    "driver-bff": "driver-bff", "gatekeeper": "gatekeeper", "notification-service": "notification-service",
}
LEAD_OF = {
    "route-planner": "mei", "kafka": "mei", "geocoding": "mei", "api": "mei", "wms-core": "yusuf",
    "gatekeeper": "priya", "driver-bff": "jonas", "notification-service": "priya",
}
PROJECT_LEAD = {"OPS": "priya", "PAY": "tomas", "MOB": "jonas", "DATA": "lena", "SEC": "olivia"}
TEAM_BOARD = {"OPS": "Ops", "PAY": "Payments", "MOB": "Mobile", "DATA": "Data Platform", "SEC": "Security"}

DOD = {
    "OPS": ["Deployed to EU and NA", "Runbook and alert catalog updated if alerts or procedures changed",
            "Terraform plan attached to the MR for infrastructure changes", "Dashboards still make sense afterwards"],
    "PAY": ["Two approvals on every MR (PCI)", "Contract tests green", "Finance informed if invoice output changes",
            "Support briefed with customer-facing wording"],
    "MOB": ["Tested on the device matrix (Pixel 8, Galaxy A54, iPhone 15, iPhone SE)",
            "Translations requested for en, nl, de, fr and pl", "Remote config or feature flag documented",
            "Support briefed before the rollout starts"],
    "DATA": ["dbt tests on every new model", "Columns documented in the model YAML", "Owner and tier tags set",
             "Backfill plan written down if history changes"],
    "SEC": ["Evidence attached to the ticket", "Owner confirmed the change", "Follow-up date set if risk accepted"],
}

TRIAGE = [
    "Triaged: {priority} priority is right. {first}, can you pick this up in sprint {sprint}?",
    "Moved to the {board} board for sprint {sprint}. {first} owns it; ping me if it needs more hands.",
    "Looked at this in refinement. Estimated {points} points, scope as described. {first} will take it.",
    "Thanks for the detailed report. Putting it into sprint {sprint}; {first} has the most context here.",
    "Accepted into sprint {sprint} with {priority} priority. Please keep the ticket updated as you go.",
    "{first}, this one is yours for sprint {sprint}. Shout if the estimate ({points} points) turns out to be wrong.",
]
TRIAGE_SELF = [
    "Taking this myself for sprint {sprint}.",
    "I'll handle this one in sprint {sprint}, estimated {points} points.",
]
IN_PROGRESS = [
    "Working on it in branch `{branch}`. MR should be up in a day or two.",
    "Started on `{branch}`. First part is done, tests next.",
    "In progress (`{branch}`). Nothing blocking so far.",
    "Picked up today, branch `{branch}`. I'll post an update here once staging has it.",
]
VERIFIED = [
    "Verified on staging with {ver}. Will close after the production deploy.",
    "QA: retested with {ver} on staging, cannot reproduce anymore. Good to ship.",
    "Checked on staging ({ver}): fixed. Also ran the neighbouring regression cases, all green.",
    "Confirmed fixed with {ver}. Leaving a note in the release notes for Support.",
]
RELEASED = [
    "Released with {ver}: EU on {d1}, NA on {d2}.",
    "Deployed: {ver} is live in nw-prod-euw1 since {d1} and in nw-prod-use1 since {d2}.",
    "Shipped in {ver} (EU {d1}, NA {d2}). Closing.",
]
APP_RELEASED = [
    "Fix is in {ver}, rollout per the release process.",
    "Shipped with {ver}; Crashlytics and support tickets look clean since the rollout reached 100%.",
]
SUPPORT = [
    "Customer updated in Zendesk #{zd}. They asked to be told when the fix is live.",
    "Zendesk #{zd} linked. I told the tenant we are working on it and will update them by the end of the week.",
    "Two more tickets about this today (Zendesk #{zd} and #{zd2}); linking them here.",
    "Customer confirmed in Zendesk #{zd} that it works for them now. Thanks all.",
]
BACKLOG = [
    "Backlog grooming: keeping this, but not before the peak season freeze ends (2 January).",
    "Still relevant. Parking it in the backlog until we have capacity in Q1.",
    "Reviewed in backlog grooming: valid, low urgency. Leaving unassigned for now.",
]
SEC_NOTES = [
    "Evidence (screenshots, command output) attached for the audit folder.",
    "Added to the monthly security report for the leadership meeting.",
    "Risk register updated; no residual risk after the actions above.",
]

DETECTED = {
    "incident": "PagerDuty alert, then incident channel",
    "customer-escalation": "customer report via Support",
    "alert-noise": "on-call feedback (alert-noise)",
    "regression": "dashboards after a deploy",
    "pentest-2025": "external penetration test 2025",
    "billing-error": "Finance reconciliation",
}


def slugify(s: str, n=40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:n].rstrip("-")


def first_name(k):
    return PEOPLE[k].name.split(" ")[0]


def enrich_jira_item(it: dict) -> None:
    c: datetime = it["_created"]
    proj, itype, status, labels = it["project"], it["itype"], it["status"], it["labels"]
    comps = it["components"]
    service = next((SERVICE_OF[x] for x in comps if x in SERVICE_OF), None)
    extra = []
    if itype == "Bug":
        lines = []
        if proj == "MOB":
            plat = [x for x in comps if x in ("ios", "android")] or ["ios", "android"]
            lines.append(f"App version: {app_version(c)} (build {build_no(c)})")
            lines.append("Platforms: " + ", ".join({"ios": "iOS", "android": "Android"}[x] for x in plat))
        else:
            region = "production EU and NA" if rng.random() < 0.3 else "production EU (nw-prod-euw1)"
            lines.append(f"Environment: {region}")
            if service:
                lines.append(f"Version: {calver(service, c)}")
        how = next((DETECTED[l] for l in labels if l in DETECTED), None)
        if how:
            lines.append(f"Detected by: {how}")
        lines.append(f"First seen: {c.strftime('%Y-%m-%d')}")
        extra.append("\n".join(lines))
    elif itype in ("Story", "Task", "Epic") and rng.random() < 0.75:
        keep = sorted(rng.sample(range(len(DOD[proj])), rng.randint(2, min(4, len(DOD[proj])))))
        extra.append("Definition of done:\n" + "\n".join(f"- {DOD[proj][i]}" for i in keep))
    if extra:
        it["desc"] = textwrap.dedent(it["desc"]).strip() + "\n\n" + "\n\n".join(extra)

    fill = dict(sprint=sprint_of(c), points=rng.choice([2, 3, 5, 8]), priority=it["priority"],
                board=TEAM_BOARD[proj], zd=rng.randint(46000, 51999), zd2=rng.randint(46000, 51999))
    lead = next((LEAD_OF[x] for x in comps if x in LEAD_OF), PROJECT_LEAD[proj])
    head, tail = [], []
    if proj == "SEC":
        tail.append((lead, rng.choice(SEC_NOTES)))
    elif status == "To Do" and not it["assignee"]:
        tail.append((lead, rng.choice(BACKLOG)))
    elif it["assignee"] and it["assignee"] != it["reporter"] and "incident" not in labels:
        tmpl = rng.choice(TRIAGE_SELF if lead == it["assignee"] else TRIAGE)
        head.append((lead, tmpl.format(first=first_name(it["assignee"]), **fill)))
    if "customer-escalation" in labels:
        tail.append((rng.choice(["sofia", "fatima", "marcus"]), rng.choice(SUPPORT).format(**fill)))
    if status == "In Progress" and it["assignee"]:
        branch = f"{it['key']}-{slugify(it['summary'], 32)}"
        tail.append((it["assignee"], rng.choice(IN_PROGRESS).format(branch=branch)))
    said = " ".join(x[-1] for x in it["comments"]).lower()
    if status == "Done" and itype == "Bug":
        if proj == "MOB":
            if "verified" not in said:
                fixed_in = app_version(c + timedelta(days=12))
                if fixed_in == app_version(c):
                    a, b, p = fixed_in.split(".")
                    fixed_in = f"{a}.{b}.{int(p) + 1}"
                tail.append(("mateo", rng.choice(VERIFIED).format(ver=f"{fixed_in} build {build_no(c) + 40}")))
        elif service and rng.random() < 0.8 and not re.search(r"deployed|released|shipped|\blive\b", said):
            rel = c + timedelta(days=rng.randint(2, 9))
            tail.append((it["assignee"] or lead, rng.choice(RELEASED).format(
                ver=calver(service, rel), d1=rel.strftime("%Y-%m-%d"),
                d2=(rel + timedelta(days=1)).strftime("%Y-%m-%d"))))
    # keep explicitly timed comments in order: new untimed comments go before the first / after the last
    it["comments"] = pin_near_start(c, head, it["comments"]) + it["comments"] + tail


def pin_near_start(c: datetime, head: list, existing: list) -> list:
    """Give triage-style items a time shortly after creation, unless an existing timed item comes first."""
    first = next((datetime.strptime(x[1], "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for x in existing if len(x) == 3), None)
    out, t = [], c
    for who, body in head:
        t = t + timedelta(minutes=rng.randint(6, 150))
        if first is not None and t >= first:
            out.append((who, body))
        else:
            out.append((who, t.strftime("%Y-%m-%d %H:%M"), body))
    return out


MR_TEMPLATES = {
    "platform": ["Jira key in the title", "Tests added or updated", "Dashboards and alerts updated if behaviour changed",
                 "Runbook updated if on-call is affected", "Safe to roll back (no irreversible migration)"],
    "warehouse": ["Migration reviewed for lock behaviour on large tables", "Compatible with NW Picker 3.8.0 and newer",
                  "New error codes added to ErrorCode.kt and the error reference", "Tested against a DC layout fixture"],
    "payments": ["No card data, tokens or IBANs in logs", "Two approvals, one from Payments",
                 "Idempotency reviewed for every provider call", "Money arithmetic uses the Money type",
                 "Finance informed if invoice output changes"],
    "mobile": ["Tested on Android and iOS", "Works offline (or degrades gracefully)",
               "Translations requested (en, nl, de, fr, pl)", "Feature flag or remote config documented",
               "Screenshots or recording attached for UI changes"],
    "data": ["dbt build green in CI", "Model YAML documentation updated", "Owner and tier tags set",
             "Backfill plan described if history changes", "No personal data added to staged or mart layers"],
}
ISSUE_TRIAGE = [
    "Thanks! Adding this to the {board} board, sprint {sprint}.",
    "Triaged, {label}. {first} will take a look.",
    "Confirmed it's ours. Scheduling for sprint {sprint}.",
    "Good write-up. Linking it from the team board; {first} has context.",
]
COMMIT_MSGS = ["Address review comments", "Add tests for the edge cases from review", "Fix lint", "Rename per review",
               "Update docs", "Handle nil config in tests", "Simplify error handling", "Extract helper"]
GROUP_TEAM = {"platform": "Platform", "warehouse": "Warehouse", "payments": "Payments", "mobile": "Mobile",
              "data": "Data Platform"}


def _sha():
    return "".join(rng.choice("0123456789abcdef") for _ in range(8))


def enrich_gitlab_item(it: dict, mentions: dict[str, list[str]]) -> None:
    c: datetime = it["_created"]
    group = it["project"].split("/")[0]
    fill = dict(sprint=sprint_of(c), board=GROUP_TEAM[group], label=next(
        (l for l in it["labels"] if l.startswith("type::")), "type::task"),
        first=first_name(it["assignees"][0]) if it["assignees"] else "someone")
    desc = textwrap.dedent(it["desc"]).strip()
    head, tail = [], []
    if it["kind"] == "mr":
        m = re.search(r"\{\{J:([\w.-]+)\}\}", it["title"])
        items = MR_TEMPLATES[group]
        checks = "\n".join(f"- [{'x' if rng.random() < 0.8 else ' '}] {x}" for x in items)
        desc += f"\n\n## Checklist\n{checks}"
        if m:
            desc += f"\n\nJira: https://northwind.atlassian.net/browse/{{{{J:{m.group(1)}}}}}"
        for r in it["reviewers"][:1]:
            head.append((it["author"], f"SYS:requested review from @{PEOPLE[r].username}"))
        if rng.random() < 0.6 and it["notes"]:
            n = rng.randint(1, 3)
            lis = "".join(f"<li>{_sha()} - {rng.choice(COMMIT_MSGS)}</li>" for _ in range(n))
            word = "commit" if n == 1 else "commits"
            pos = max(1, len(it["notes"]) // 2)
            notes = it["notes"]
            if not any(len(x) == 3 for x in notes):
                it["notes"] = notes[:pos] + [(it["author"], f"SYS:added {n} {word}\n\n<ul>{lis}</ul>")] + notes[pos:]
    else:
        labels = it["labels"]
        if "type::bug" in labels:
            svc = it["project"].split("/")[1]
            env = ["## Environment"]
            if group == "mobile":
                env.append(f"- App version: {app_version(c)} (build {build_no(c)})")
                env.append("- Platform: " + ("Android" if "android" in labels else "iOS" if "ios" in labels
                                              else "Android and iOS"))
            elif group == "data":
                env.append("- Environment: production (Airflow `airflow.nw.internal`, Trino, ClickHouse `nw`)")
            else:
                env.append("- Environment: " + rng.choice(["production EU", "production EU and NA", "staging and production"]))
                env.append(f"- Version: {calver(svc, c)}")
            env.append(f"- First seen: {c.strftime('%Y-%m-%d')}")
            sev = rng.choice(["S2: degraded, workaround exists", "S3: minor, limited impact", "S2: customer-visible"])
            desc += "\n\n" + "\n".join(env) + f"\n\n## Severity\n{sev}"
        elif "type::feature" in labels and rng.random() < 0.8:
            dod = DOD[{"platform": "OPS", "warehouse": "OPS", "payments": "PAY", "mobile": "MOB", "data": "DATA"}[group]]
            keep = sorted(rng.sample(range(len(dod)), rng.randint(2, min(4, len(dod)))))
            desc += "\n\n## Definition of done\n" + "\n".join(f"- [ ] {dod[i]}" for i in keep)
        for a in it["assignees"][:1]:
            head.append((it["author"], f"SYS:assigned to @{PEOPLE[a].username}"))
        if it["state"] == "opened" and it["assignees"]:
            head.append((it["assignees"][0], 'SYS:added ~"workflow::in progress" label'))
        lead = {"platform": "priya", "warehouse": "yusuf", "payments": "tomas", "mobile": "jonas", "data": "lena"}[group]
        if it["project"] == "platform/route-planner":
            lead = "mei"
        if lead != it["author"] and not it["confidential"]:
            head.append((lead, rng.choice(ISSUE_TRIAGE).format(**fill)))
        for mr_ref in mentions.get(it["ref"], []):
            tail.append((GL_BY_REF[mr_ref]["author"], f"SYS:mentioned in merge request {{{{MR:{mr_ref}}}}}"))
        if it["state"] == "closed":
            tail.append((it["assignees"][0] if it["assignees"] else it["author"], "SYS:closed"))
    it["desc"] = desc
    it["notes"] = pin_near_start(c, head, it["notes"]) + it["notes"] + tail


JIRA: list[dict] = []
GL_ISSUES: list[dict] = []
GL_MRS: list[dict] = []


def person_ref(k):
    p = PEOPLE[k]
    return {"displayName": p.name, "emailAddress": p.email}


def build_jira():
    for it in JIRA_PENDING:
        it["_created"] = T(it["created"])
    assign_numbers(JIRA_PENDING, lambda x: x["project"], lambda g: JIRA_PROJECTS[g][1])
    for it in JIRA_PENDING:
        it["key"] = f"{it['project']}-{it['_num']}"
    for it in sorted(JIRA_PENDING, key=lambda x: x["_created"]):
        enrich_jira_item(it)
    next_id, next_cid = 10012, 20417
    for it in sorted(JIRA_PENDING, key=lambda x: x["_created"]):
        next_id += rng.randint(1, 6)
        c = it["_created"]
        u = T(it["updated"]) if it["updated"] else clamp(c + timedelta(days=rng.randint(1, 20)))
        u = max(u, c)
        comments = []
        for who, when, body in place_times(c, u, it["comments"]):
            next_cid += rng.randint(1, 40)
            comments.append({"id": str(next_cid), "author": person_ref(who),
                             "body": textwrap.dedent(body).strip(), "created": iso_jira(when),
                             "updated": iso_jira(when)})
            u = max(u, when)
        f = {
            "summary": it["summary"],
            "description": textwrap.dedent(it["desc"]).strip(),
            "issuetype": {"name": it["itype"]},
            "status": {"name": it["status"]},
            "resolution": {"name": "Done"} if it["status"] == "Done" else None,
            "priority": {"name": it["priority"]},
            "project": {"key": it["project"], "name": JIRA_PROJECTS[it["project"]][0]},
            "assignee": person_ref(it["assignee"]) if it["assignee"] else None,
            "reporter": person_ref(it["reporter"]),
            "labels": it["labels"],
            "components": [{"name": n} for n in it["components"]],
            "created": iso_jira(c),
            "updated": iso_jira(u),
            "comment": {"comments": comments, "total": len(comments)},
            "security": {"name": "security-team"} if it["project"] == "SEC" else None,
        }
        doc = {"id": str(next_id), "key": it["key"],
               "self": f"https://northwind.atlassian.net/rest/api/3/issue/{next_id}", "fields": f}
        it["doc"] = doc
        JIRA.append(doc)


_BRANCH_PREFIX = re.compile(r"^(OPS|PAY|MOB|DATA|SEC)-(?=[a-z])")


def gl_user(k):
    p = PEOPLE[k]
    return {"username": p.username, "name": p.name}


def build_gitlab():
    for it in GL_PENDING:
        it["_created"] = T(it["created"])
    assign_numbers(GL_PENDING, lambda x: f"{x['project']}|{x['kind']}",
                   lambda g: GITLAB_PROJECTS[g.split("|")[0]][1 if g.endswith("|issue") else 2])
    mentions: dict[str, list[str]] = {}
    for it in GL_PENDING:
        if it["kind"] == "mr":
            for ref in re.findall(r"\{\{GI:([\w.-]+)\}\}", it["desc"]):
                mentions.setdefault(ref, []).append(it["ref"])
    for it in sorted(GL_PENDING, key=lambda x: x["_created"]):
        enrich_gitlab_item(it, mentions)
    next_issue_id, next_mr_id, next_note = 84012, 301207, 1204331
    for it in sorted(GL_PENDING, key=lambda x: x["_created"]):
        pid = GITLAB_PROJECTS[it["project"]][0]
        c = it["_created"]
        u = T(it["updated"]) if it["updated"] else clamp(c + timedelta(days=rng.randint(1, 14)))
        u = max(u, c)
        notes = []
        for who, when, body in place_times(c, u, it["notes"]):
            next_note += rng.randint(3, 400)
            system = body.startswith("SYS:")
            notes.append({"id": next_note, "type": None, "body": body[4:] if system else textwrap.dedent(body).strip(),
                          "author": gl_user(who), "created_at": iso_z(when), "updated_at": iso_z(when),
                          "system": system})
            u = max(u, when)
        n = it["_num"]
        is_mr = it["kind"] == "mr"
        sep = "!" if is_mr else "#"
        path = "merge_requests" if is_mr else "issues"
        doc = {
            "id": None,
            "iid": n,
            "project_id": pid,
            "title": it["title"],
            "description": textwrap.dedent(it["desc"]).strip(),
            "state": it["state"],
            "labels": it["labels"],
            "author": gl_user(it["author"]),
            "assignees": [gl_user(a) for a in it["assignees"]],
            "created_at": iso_z(c),
            "updated_at": iso_z(u),
            "closed_at": iso_z(u) if it["state"] == "closed" else None,
            "web_url": f"https://gitlab.northwind.example/{it['project']}/-/{path}/{n}",
            "references": {"short": f"{sep}{n}", "relative": f"{sep}{n}", "full": f"{it['project']}{sep}{n}"},
            "confidential": it["confidential"],
            "notes": notes,
        }
        if is_mr:
            next_mr_id += rng.randint(1, 90)
            doc["id"] = next_mr_id
            branch = it["source_branch"] or re.sub(r"[^a-z0-9]+", "-", it["title"].lower()).strip("-")[:48]
            m = re.search(r"\{\{J:([\w.-]+)\}\}", it["title"])
            if m and _BRANCH_PREFIX.match(branch):
                branch = _BRANCH_PREFIX.sub("{{J:%s}}-" % m.group(1), branch)
            doc.update({
                "source_branch": branch,
                "target_branch": it["target_branch"],
                "merge_status": "can_be_merged" if it["state"] != "opened" or not it["draft"] else "checking",
                "draft": it["draft"],
                "reviewers": [gl_user(r) for r in it["reviewers"]],
                "merged_at": iso_z(u) if it["state"] == "merged" else None,
            })
            GL_MRS.append(doc)
        else:
            next_issue_id += rng.randint(1, 120)
            doc["id"] = next_issue_id
            GL_ISSUES.append(doc)
        it["doc"] = doc


_PH = re.compile(r"\{\{(J|JM|MR|MRURL|GI|GIURL|CT|CURL|SL|U):([\w.-]+)\}\}")


def _resolve_one(kind: str, ref: str, xml: bool) -> str:
    if kind == "J":
        return JIRA_BY_REF[ref]["key"]
    if kind == "JM":
        return ('<ac:structured-macro ac:name="jira" ac:schema-version="1">'
                '<ac:parameter ac:name="server">Northwind Jira</ac:parameter>'
                f'<ac:parameter ac:name="key">{JIRA_BY_REF[ref]["key"]}</ac:parameter></ac:structured-macro>')
    if kind in ("MR", "GI"):
        it = GL_BY_REF[ref]
        assert it["kind"] == ("mr" if kind == "MR" else "issue"), ref
        return it["doc"]["references"]["full"]
    if kind in ("MRURL", "GIURL"):
        return GL_BY_REF[ref]["doc"]["web_url"]
    if kind == "CT":
        t = CONF_BY_REF[ref]["title"]
        return _esc(t) if xml else t
    if kind == "CURL":
        p = CONF_BY_REF[ref]
        return p["_links"]["base"] + p["_links"]["webui"]
    if kind == "SL":
        return SLACK_BY_REF[ref]["permalink"]
    if kind == "U":
        return f"<@{PEOPLE[ref].slack_id}>"
    raise KeyError(kind)


def resolve(obj, xml=False):
    if isinstance(obj, str):
        return _PH.sub(lambda m: _resolve_one(m.group(1), m.group(2), xml), obj)
    if isinstance(obj, list):
        return [resolve(x, xml) for x in obj]
    if isinstance(obj, dict):
        return {k: resolve(v, xml) for k, v in obj.items()}
    return obj


# ===========================================================================
# Evaluation queries
# ===========================================================================

# (query, kind, ref). Roughly half keyword-style (exact codes, config keys, error text) and half paraphrased,
# avoiding the words of the answer document's title.
QUERIES = [
    # keyword-friendly
    ("what does error code WMS-4102 mean", "conf", "wms-errors"),
    ("BIL-2007 payment error", "conf", "bil-errors"),
    ("RoutePlannerConsumerLagHigh fired, what should I check", "conf", "rb-kafka-lag"),
    ("pgbouncer default_pool_size for billing-db", "conf", "rb-pgbouncer"),
    ("RP-422-STOPS_LIMIT maximum stops per optimize request", "conf", "rp-api"),
    ("geocoder.circuit_breaker.failure_threshold", "mr", "geocoder-cb"),
    ("debezium heartbeat.interval.ms setting", "mr", "cdc-heartbeat"),
    ("MissingForegroundServiceTypeException driver app", "jira", "android14-crash"),
    ("No signatures found matching the expected signature for payload", "jira", "stripe-webhook-sig"),
    ("daily_shipments_rollup TIMEOUT_EXCEEDED after clickhouse upgrade", "jira", "shipments-rollup-timeout"),
    ("XRechnung rejected BR-DE-15 buyer reference", "jira", "xrechnung-bt10"),
    ("KubeHpaMaxedOut paging for driver-bff", "jira", "noise-hpa"),
    ("which Adyen test merchant account does staging use", "slack", "adyen-sandbox"),
    ("ClickHouse NOT_ENOUGH_SPACE inserts failing on ch-prod-03", "slack", "clickhouse-disk"),
    ("thanos compactor halted overlaps found", "issue", "thanos-overlap"),
    # paraphrased / semantic
    ("how quickly must I respond when I get paged", "conf", "oncall"),
    ("which outages count as the highest severity level", "conf", "incident-mgmt"),
    ("can I ship code to prod on a friday afternoon", "conf", "deploy-freeze"),
    ("why were some customers billed twice in june", "conf", "pm-dup-charges"),
    ("why was elasticsearch replaced for reporting on GPS data", "conf", "adr-007"),
    ("where should I keep the credentials my service needs", "conf", "secrets"),
    ("how long do we hold on to driver location history", "conf", "retention"),
    ("what crash rate makes us stop a staged mobile rollout", "conf", "driver-release"),
    ("since when can couriers snap proof photos with no mobile signal", "conf", "rn-5.13.0"),
    ("how long do we have to answer an urgent ticket from a top-tier customer", "conf", "escalation"),
    ("what happens automatically when our address lookup vendor is slow", "conf", "rb-geocoder"),
    ("can a client receive separate bills for each of its departments", "jira", "cost-centre-split"),
    ("why did free storage on the warehouse database drop during a quiet weekend", "jira", "wal-bloat"),
    ("vans show up far ahead of the predicted arrival on drives with dozens of drops", "issue", "eta-multidrop"),
    ("my VPN keeps disconnecting on my laptop at home", "slack", "vpn-macos"),
]


def query_rows():
    rows = []
    for q, kind, ref in QUERIES:
        if kind == "conf":
            rows.append((q, "confluence/pages.jsonl", CONF_BY_REF[ref]["id"]))
        elif kind == "jira":
            rows.append((q, "jira/issues.jsonl", JIRA_BY_REF[ref]["key"]))
        elif kind == "issue":
            rows.append((q, "gitlab/issues.jsonl", GL_BY_REF[ref]["doc"]["references"]["full"]))
        elif kind == "mr":
            rows.append((q, "gitlab/merge_requests.jsonl", GL_BY_REF[ref]["doc"]["references"]["full"]))
        elif kind == "slack":
            t = SLACK_BY_REF[ref]
            rows.append((q, "slack/threads.jsonl", f"{t['channel']['id']}/{t['thread_ts']}"))
    return rows


README = """\
# Northwind Logistics sample corpus

A bundled, **fictional** corpus for trying Sluice end to end. Northwind Logistics is a made-up mid-size logistics
SaaS company (route planning, warehouse management, billing, a driver app, a data platform). Every person,
customer, hostname, incident and number in here was written for Sluice; nothing is copied from a real company.

Regenerate with:

    python3 scripts/gen_sample.py

The generator is stdlib-only and deterministic (fixed seed, no clock), so the files are byte-for-byte
reproducible. Edit the generator, not the JSONL files.

## Files

| File | Lines | Shape |
|---|---|---|
| `confluence/pages.jsonl` | {conf} | Confluence REST content (`expand=body.storage,version,history,ancestors,space,metadata.labels,restrictions.read`) |
| `jira/issues.jsonl` | {jira} | Jira REST v3 issue, but `description` and comment `body` are plain text (not ADF) |
| `gitlab/issues.jsonl` | {gli} | GitLab API v4 issue plus an inline `notes` array |
| `gitlab/merge_requests.jsonl` | {glm} | GitLab API v4 merge request plus an inline `notes` array |
| `slack/threads.jsonl` | {slack} | One thread per line: `channel`, `thread_ts`, `permalink`, `messages[]` (Web API message objects) |
| `queries.tsv` | {queries} | Evaluation queries: `query`, `file`, `external_id` of the single best document |

One JSON object per line, UTF-8. Total size: {size} bytes.

## Things worth knowing

- **Confluence** bodies are storage-format XHTML: headings, lists, tables, `ac:structured-macro` (code with
  CDATA, info/warning/note panels, toc, children, status, jira), and entities such as `&amp;`, `&nbsp;`,
  `&mdash;`. Spaces: ENG, SRE, PAY, DATA, HR. HR pages are readable by group `hr` only, a few SRE runbooks by
  group `sre` only (`restrictions.read.groups`); everything else has empty restrictions (public).
  `ancestors` is ordered root first. Several pages are long enough (1,500+ words) to split into many chunks.
- **Jira** projects OPS, PAY, MOB, DATA, SEC. SEC issues carry `"security": {{"name": "security-team"}}`;
  others have `"security": null`. Some issues are unassigned (`"assignee": null`); `resolution` is null
  unless the issue is done. Timestamps use Jira's `+0000` offset format.
- **GitLab**: some issues are `"confidential": true`. Notes include system notes (`"system": true`,
  e.g. approvals). MR states are `merged`, `opened` (some `draft`).
- **Slack**: `sec-ops` is a private channel (`is_private: true`, plus `members`). Messages use Slack
  mrkdwn: `<@U...>` mentions, `<#C...|name>` channel links, `<url|label>` links, code fences. Alert bots post
  `subtype: bot_message` with a `bot_id`.
- **Cross-references**: incidents are told from several sides. For example the 2025-09-12 Kafka lag incident
  has an alert thread in #sre-incidents, OPS tickets, merge requests in `platform/route-planner` and
  `platform/infrastructure`, a runbook and a postmortem that link to each other; the June 2025 duplicate
  charges do the same across #payments-eng, PAY tickets, `payments/billing-api` MRs and the PAY space.
- **External ids** used in `queries.tsv`: Confluence `id`, Jira `key`, GitLab `references.full`
  (`group/project#iid` or `group/project!iid`), Slack `channel.id + "/" + thread_ts`.

## queries.tsv

30 queries a new employee might type. About half are keyword-style (error codes, config keys, exact error
messages); the other half are paraphrased and avoid the words of the answer's title, to exercise semantic
retrieval. Each row names the one document that best answers the query; other documents may mention the
topic, but the listed one is the most complete answer. None of the answers is access-restricted.
"""


# ===========================================================================
# Output and validation
# ===========================================================================

def write_jsonl(path: Path, docs: list[dict]):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")


def _check_ts(s: str):
    if s is None:
        return
    datetime.fromisoformat(s.replace("Z", "+00:00"))


def validate(out: Path) -> dict:
    files = {
        "confluence/pages.jsonl": lambda d: d["id"],
        "jira/issues.jsonl": lambda d: d["key"],
        "gitlab/issues.jsonl": lambda d: d["references"]["full"],
        "gitlab/merge_requests.jsonl": lambda d: d["references"]["full"],
        "slack/threads.jsonl": lambda d: f"{d['channel']['id']}/{d['thread_ts']}",
    }
    counts, ids_by_file = {}, {}
    for rel, key in files.items():
        seen, raw_ids = set(), set()
        for n, line in enumerate((out / rel).read_text(encoding="utf-8").splitlines(), 1):
            d = json.loads(line)
            k = key(d)
            assert k not in seen, f"{rel}:{n}: duplicate external id {k}"
            seen.add(k)
            if "id" in d:
                assert d["id"] not in raw_ids, f"{rel}:{n}: duplicate id {d['id']}"
                raw_ids.add(d["id"])
            assert not _PH.search(line), f"{rel}:{n}: unresolved placeholder"
            if rel.startswith("confluence"):
                _check_ts(d["version"]["when"]); _check_ts(d["history"]["createdDate"])
            elif rel.startswith("jira"):
                f = d["fields"]
                _check_ts(f["created"]); _check_ts(f["updated"])
                assert f["created"] <= f["updated"], k
                for c in f["comment"]["comments"]:
                    _check_ts(c["created"])
            elif rel.startswith("gitlab"):
                for fld in ("created_at", "updated_at", "closed_at", "merged_at"):
                    _check_ts(d.get(fld))
                for nt in d["notes"]:
                    _check_ts(nt["created_at"])
            else:
                tss = [float(m["ts"]) for m in d["messages"]]
                assert tss == sorted(tss), k
                assert d["messages"][0]["ts"] == d["thread_ts"]
        counts[rel] = len(seen)
        ids_by_file[rel] = seen
    lines = (out / "queries.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "query\tfile\texternal_id"
    for line in lines[1:]:
        q, rel, ext = line.split("\t")
        assert ext in ids_by_file[rel], line
    counts["queries.tsv"] = len(lines) - 1
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "pipelines/data/sample")
    args = ap.parse_args(argv)
    out: Path = args.out

    conf_eng(); conf_sre(); conf_pay(); conf_data(); conf_hr()
    jira_ops(); jira_pay(); jira_mob(); jira_data(); jira_sec(); jira_more()
    gitlab_issues(); gitlab_mrs()
    slack_sre(); slack_payments(); slack_mobile(); slack_data(); slack_it(); slack_secops()
    jira_extras(); gitlab_extras(); mr_extras(); slack_extras()
    build_jira()
    build_gitlab()

    conf = [resolve(p, xml=True) for p in sorted(CONF, key=lambda p: int(p["id"]))]
    jira_docs = [resolve(d) for d in sorted(JIRA, key=lambda d: int(d["id"]))]
    gl_issues = [resolve(d) for d in sorted(GL_ISSUES, key=lambda d: d["id"])]
    gl_mrs = [resolve(d) for d in sorted(GL_MRS, key=lambda d: d["id"])]
    threads = [resolve(t) for t in sorted(SLACK, key=lambda t: float(t["thread_ts"]))]

    write_jsonl(out / "confluence/pages.jsonl", conf)
    write_jsonl(out / "jira/issues.jsonl", jira_docs)
    write_jsonl(out / "gitlab/issues.jsonl", gl_issues)
    write_jsonl(out / "gitlab/merge_requests.jsonl", gl_mrs)
    write_jsonl(out / "slack/threads.jsonl", threads)
    with (out / "queries.tsv").open("w", encoding="utf-8", newline="\n") as f:
        f.write("query\tfile\texternal_id\n")
        for row in query_rows():
            f.write("\t".join(row) + "\n")

    counts = validate(out)
    data_files = [out / p for p in counts if p != "queries.tsv"] + [out / "queries.tsv"]
    size = sum(p.stat().st_size for p in data_files)
    (out / "README.md").write_text(README.format(
        conf=counts["confluence/pages.jsonl"], jira=counts["jira/issues.jsonl"],
        gli=counts["gitlab/issues.jsonl"], glm=counts["gitlab/merge_requests.jsonl"],
        slack=counts["slack/threads.jsonl"], queries=counts["queries.tsv"], size=f"{size:,}"), encoding="utf-8")
    total = size + (out / "README.md").stat().st_size
    assert total < 3_000_000, total
    for k, v in counts.items():
        print(f"{v:5d}  {k}")
    print(f"{total:,} bytes in total under {out}")



# ===========================================================================
# Second pass: follow-up paragraphs and discussion added to the shorter items
# (the way tickets grow after triage: context from other teams, decisions,
# numbers found later). Applied before keys and timestamps are assigned.
# ===========================================================================

def xj(ref, add=None, comments=()):
    it = JIRA_BY_REF[ref]
    if add:
        it["desc"] = textwrap.dedent(it["desc"]).strip() + "\n\n" + textwrap.dedent(add).strip()
    it["comments"] = it["comments"] + list(comments)


def xg(ref, add=None, notes=()):
    it = GL_BY_REF[ref]
    if add:
        it["desc"] = textwrap.dedent(it["desc"]).strip() + "\n\n" + textwrap.dedent(add).strip()
    it["notes"] = it["notes"] + list(notes)


def xs(ref, messages):
    """Append replies to an existing Slack thread: (who, minutes_after_previous, text)."""
    t = SLACK_BY_REF[ref]
    last = datetime.fromtimestamp(float(t["messages"][-1]["ts"]), tz=UTC)
    for who, gap, text in messages:
        last = later(last, gap * 0.8, gap * 1.2 + 0.5)
        p = PEOPLE[who]
        t["messages"].append({"type": "message", "user": p.slack_id, "user_name": p.name, "text": text,
                              "ts": slack_ts(last), "thread_ts": t["thread_ts"]})
    t["messages"][0]["reply_count"] = len(t["messages"]) - 1
    t["messages"][0]["reply_users"] = sorted({m["user"] for m in t["messages"][1:]})


def jira_extras():
    xj("airbyte-zendesk", """
        Airbyte logs show the sync stopping after the first page of results, so even the tickets loaded before the
        error are only a fraction of the day. The Support leadership dashboard (backlog age, first response time per
        priority) has been flat since Tuesday, which is how Marcus noticed.
        """, [("lena", "Upgraded the Zendesk source connector to the current version, which uses cursor pagination for "
                       "the incremental tickets endpoint. Ran a full refresh of the tickets stream (about 210k tickets, 40 "
                       "minutes). Dashboards are current again."),
              ("marcus", "Confirmed, numbers look right. Could we get a freshness alert on this source?"),
              ("lena", "Added a dbt source freshness check on raw_saas.zendesk_tickets: warn after 12 h, error after 24 h.")])
    xj("metabase-050", """
        Things to check after the upgrade: the certified collection (34 questions), the Customer Success dashboards
        that use custom SQL with Trino-specific functions, and the Slack subscriptions that send the weekly OTD report
        to account managers every Monday at 07:00 CET.
        """, [("lena", "Staging upgrade fine; one custom SQL question used a removed variable syntax, fixed. Production "
                       "upgrade on 2025-04-10 at 07:30 UTC, took 6 minutes including migrations."),
              ("wen", "Weekly OTD subscriptions went out on Monday as usual.")])
    xj("gbp-template", """
        Legal requirement for UK invoices: our UK VAT registration number, the customer's VAT number if they have one,
        VAT shown in GBP, and the tax point date. The invoice number sequence stays per legal entity (the UK tenants are
        invoiced by Northwind Logistics B.V.).
        """, [("ingrid", "Finance confirmed the wording for the VAT line: UK VAT at 20% charged by us, so no reverse-charge "
                         "note on UK invoices."),
              ("victor", "Template `invoice_gb.hbs` added, selected when the billing account country is GB. Golden-file "
                         "tests extended with two UK accounts. March invoices will use it.")])
    xj("pg16", """
        Per database we need: a blue/green deployment created a week ahead, a replication lag check, parameter group
        diffs reviewed (work_mem, max_connections, logical replication settings), an application smoke test against the
        green instance, and a switchover window agreed with the owning team. Debezium connectors must be stopped before
        switchover and the slots re-created afterwards, followed by an incremental snapshot.
        """, [("lena", "From the data side: please give us a week's notice per database. wms-db re-snapshot is the painful "
                       "one; with incremental snapshots we can do it without blocking streaming, but it takes a day."),
              ("yusuf", "wms-db switchover only on a Sunday between 10:00 and 14:00 UTC, the quietest window across DCs.")])
    xj("sec-mapgrid-rotate", """
        Last rotation was on 2025-04-03. The key is used in both regions and by the `regeocode` job. MapGrid allows two
        active keys per account, which is what makes a zero-downtime rotation possible.
        """, [("oskar", "Plan: new key on Tuesday 7 October, EU first, NA an hour later, old key revoked on Wednesday after "
                        "checking the old key's request count in the MapGrid portal is zero.")])
    xj("pl-translations", """
        Today about 18% of UrbanCrate's drivers have their phone set to Polish, 6% to Romanian and 4% to Turkish. The app
        itself is translated into English, Dutch, German, French and Polish; only tenant-provided texts are monolingual.
        """, [("jonas", "App side is small: the remote config already supports a map of language to text. The console "
                        "form is the bigger part."),
              ("grace", "Parking until after the peak season, but I'd like it in the Q1 plan.")])
    xj("sec-access-review-q3", """
        Inputs: the JIT eligibility list exported from the access broker, the grant log for 1 July to 30 September, and
        the HR leavers list. Output: a signed-off list per team and a short summary for the PCI evidence folder.
        """, [("tomas", "Payments confirmed. Two people moved to other teams in Q3 and still had billing-pci eligibility; "
                        "removed.")])
    xj("trino-16", """
        Test plan: replay last November's month-end query log (captured from the Trino event listener) against staging
        with 16 workers, and measure queueing time, S3 request rate and Glue API throttling. Glue's default quota for
        GetPartitions is the most likely bottleneck.
        """, [("lena", "If Glue throttles, we can enable the metadata cache in the Iceberg connector rather than raising "
                       "the quota.")])
    xj("credit-note-vat", """
        Example: credit note NW-CN-2025-000341 for a Swiss and a German line shows the VAT summary block twice in the PDF.
        The UBL version of the same credit note is correct, and so are the ledger entries. Finance noticed because a
        customer asked why the VAT total on the PDF did not add up.
        """, [("victor", "Template fixed, golden files updated. Re-rendered and re-sent the 4 affected credit notes.")])
    xj("new-scanner-rollout", """
        The new engine decodes damaged and curved labels better and reads several barcodes in one frame, which needs a
        different UI (the driver taps the barcode to pick). Pilot drivers found the tap step confusing at first.
        """, [("chloe", "Added a one-time coach mark for the tap step. Manual entry share in the internal beta dropped from "
                        "6.1% to 2.4% after the first week."),
              ("grace", "Great result. Let's make sure Support has a short video before the 10% step.")])
    xj("zendesk-tags", """
        Affected dashboards: 'Tickets by tag' and 'Escalations per week'. Both use raw_saas.zendesk_tickets.tags, which
        is now always null for tickets created after 22 May.
        """, [("lena", "Enabled the ticket_tags stream and changed stg_zendesk__tickets to aggregate tags from it. "
                       "Backfilled from 22 May."),
              ("marcus", "Dashboards are back, thanks.")])
    xj("metabase-tenant-health", """
        The slow questions are 'Active drivers last 30 days', 'GPS coverage per route' and 'POD photo rate'. Each scans
        several billion rows because the date filter is applied after a join instead of on the partition column.
        """, [("wen", "Moved the three questions to fct_route_daily and fct_drops. Dashboard loads in 3.5 s now, cached for "
                      "1 hour.")])
    xj("dbt-unique-deliveries", """
        The late events come from drivers who were offline for several days (mostly rural routes in the Lyon region),
        whose phones uploaded everything at once. 212 duplicates across 9 tenants.
        """, [("lena", "Good catch on received_at. Please add a test for late arrivals to the model's CI fixtures so this "
                       "does not come back.")])
    xj("dunning-language", """
        Affected: 37 billing accounts with invoice_language fr, a handful with de. The invoice email and PDF use the
        billing account language correctly, which makes the English reminders look even more out of place.
        """, [("victor", "Templates now use billing_accounts.invoice_language with English as fallback. Translations for "
                         "the three dunning emails requested from the agency, French and German back on Friday.")])
    xj("first-attempt-depot", """
        The first-attempt rate is computed from delivery events: a drop counts as successful on the first attempt if
        its first `delivery.completed` or `delivery.failed` event is `completed`. Redelivery attempts on later routes
        reference the original drop id.
        """, [("wen", "Model and backfill done on staging. Console chart waits for the reports-api change.")])
    xj("ch-alert-routing", """
        Current routing sends all severities for Data Platform alerts to the 24/7 escalation policy, whose last level is
        SRE Primary. Data Platform's own policy only has business-hours coverage.
        """, [("priya", "Thanks. Confirmed I no longer get these at night.")])
    xj("argocd-hpa", """
        Same problem exists for route-planner-prod and wms-core-prod charts; fixing it in the shared ApplicationSet
        template covers all of them.
        """, [("nadia", "ignoreDifferences for /spec/replicas added to the ApplicationSet template; all apps in sync."),
              ("chloe", "Notifications in #mobile are quiet again, thanks!")])
    xj("dup-charge-alert", """
        The query counts invoices with two or more successful attempts created in the last hour, per provider. It runs
        against the billing-db read replica so that it cannot slow down the primary.
        """, [("victor", "Alert live. Tested by creating two successful attempts for one invoice in staging: paged within "
                         "3 minutes."),
              ("tomas", "Please also add the runbook link to the alert annotation.")])
    xj("sec-webauthn", """
        Platform authenticators (Touch ID) are allowed as a second factor next to YubiKeys, because they are phishing
        resistant too. SMS and push are removed as factors for these apps.
        """, [("daniel", "Rollout complete for all groups. Okta policy reports no remaining users with push-only factors "
                         "in the production access groups.")])
    xj("sec-stacktrace", """
        Example response (shortened): a 500 HTML page with `org.springframework.web.util.pattern.PatternParseException`
        and the full stack trace including internal package names.
        """, [("daniel", "Retest passed: 500 responses now return problem JSON with a trace id and no stack trace.")])
    xj("debezium-25", """
        Rollback plan: the previous image is still tagged; connector offsets are compatible between 2.4 and 2.5, so a
        rollback is a redeploy of the old image.
        """, [("rahul", "Upgraded on 2025-09-18, one worker at a time. No connector restarts from scratch, offsets kept.")])
    xj("mob-se-crash", """
        Reproduced with a fixture drop with 120 parcels: memory peaks at 1.1 GB while rendering thumbnails, iPhone SE
        has 3 GB RAM and iOS terminates the app around 1 GB for a foreground app in our case.
        """, [("mateo", "Verified with 150 parcels on the iPhone SE: memory stays under 300 MB, scrolling is smooth.")])
    xj("sec-s3-replica", """
        The replication module is used for three buckets; the other two are not public-facing either, but all three were
        missing the block. AWS Config now evaluates the rule within 15 minutes of bucket creation.
        """)
    xj("sepa-md06", """
        Return codes and intended behaviour:
        - AM04 (insufficient funds): re-enter dunning.
        - MD01 (no valid mandate): stop automatic collection, Finance task.
        - MD06 (refund requested by the debtor): stop automatic collection, Finance task, flag the account for the
          account manager.
        - MS02 (reason not specified by the customer): treat like MD06.
        """, [("aisha", "Mapping fixed and MS02 added. Apologised to the customer through their account manager; the "
                        "second debit was refunded.")])
    xj("adyen-eu-migration", """
        Each tenant's finance team has to re-enter card details through the Adyen Drop-in in the console; we cannot
        migrate stored cards between providers. Account managers scheduled short calls to walk them through it.
        """)
    xj("coredns", """
        Impact: 23 minutes of intermittent DNS failures in nw-prod-euw1. NA was not affected because the add-on
        upgrade had not reached that cluster yet.
        """)
    xj("bff-polling-spike", """
        The spike lines up with auto-planning at 05:30 CET: when plans are published, polling apps all see a change at
        once and fetch the full route, including all drop details and photos metadata.
        """, [("jonas", "10 s cache deployed. p99 at 05:30 went from 2.4 s to 310 ms. Raising min_supported_version is "
                        "tracked separately.")])
    xj("staging-refresh-oom", """
        The refresh runs as a Kubernetes Job with a 16 GiB memory limit. The anonymiser builds a mapping table of every
        distinct value of pseudonymised columns in memory before writing.
        """, [("nadia", "Excluded scanner_sync_queue and switched the mapping to a keyed hash (no table in memory). "
                        "Refresh takes 2 h 10 min and peaks at 3 GiB.")])
    xj("noise-outbox", """
        Last two weeks: 23 WmsOutboxLag alerts, all between 02:00 and 02:20 local DC time, all resolved on their own in
        under 10 minutes.
        """, [("arjun", "Rule changed: page if the oldest row is older than 15 minutes, Slack-only warning at 5 minutes. "
                        "No pages since.")])
    xj("nominatim-oom", """
        During the 17 July event, fallback traffic peaked at 1,400 requests/s, and Nominatim's memory per request grows
        with the number of address candidates for vague addresses.
        """, [("mei", "Let's also load test Nominatim as part of the October load test, with the circuit forced open."),
              ("oskar", "Added to the load test plan.")])
    xj("sec-lost-laptop", """
        Checklist followed from the lost-device procedure: Kandji lock and wipe, Okta session revocation, GitLab token
        and SSH key revocation, JIT grants revoked, 1Password account suspended until the replacement laptop arrives.
        """)
    xj("sec-pci-2025", """
        Open items as of early October: the network diagram needs the new NAT gateways of August, and the access review
        for billing-pci grants is waiting for Finance's confirmation of two users.
        """)
    xj("mob-push-ios17", """
        Reproduction: kill the app, change a route in the console, tap the notification. The app opens on the home tab.
        If the app was in the background (not killed), the deep link works.
        """, [("keiko", "The deep link is now queued until the navigation container reports ready. Tested on iOS 16, 17 "
                        "and 18.")])
    xj("kestrel-extract", """
        Columns: week, depot, planned distance, actual distance, drops, on-time drops, OTD. No driver or recipient data.
        The tenant's account manager receives the file and presents it; we do not send data to the customer directly.
        """)
    xj("speed-profile-lys1", """
        Until the fix, dispatchers in Lyon compensated by adding 20 minutes of buffer to every time window, which made
        plans look worse in the console's utilisation report.
        """, [("mei", "With the regional profile, morning ETAs in Lyon are within 8% at p50. Good enough until LYS1 has its "
                      "own profile in a few weeks.")])
    xj("stripe-api-upgrade", """
        Known differences to check: default payment method behaviour on PaymentIntents, the shape of mandate objects for
        SEPA, and several deprecated fields in webhook payloads that our event handlers read.
        """, [("aisha", "I will do the changelog review in sprint 2025-20 and write up the impact here.")])
    xj("tls-renew-2025", """
        Reminder from last year: the ACM import for CloudFront must happen in us-east-1, and the console distribution's
        Terraform must be applied after the import, otherwise CloudFront keeps serving the old certificate.
        """)
    xj("eta-accuracy", """
        Source events: the planned ETA comes from routes.planned.v1 at dispatch time (not later re-plans), the actual
        arrival from the app's arrived event. Drops without an arrived event (geofence never triggered) are excluded
        and counted separately.
        """)
    xj("mob-photo-queue", """
        Reported by a Polar Foods driver who worked 6 hours in a cold store without signal. After the limit, the camera
        screen showed the capture button but nothing happened on tap.
        """)
    xj("nodelocal-dns", """
        Rollback: remove the DaemonSet and reset kubelet clusterDNS; pods keep working because they fall back to the
        cluster DNS service IP after the node-local address stops answering.
        """)
    xj("dup-charge-contract", """
        Scenarios per gateway operation: timeout then success, 500 then success, connection reset before the response,
        and a 409 idempotency conflict (a retry with the same key while the first request is still being processed).
        """)
    xj("ota-background", """
        Measured in the OTA server logs: 14% of iOS devices report a bundle version older than 7 days, against 3% on
        Android.
        """, [("keiko", "This also explains why the drop list sort fix took so long to reach some iPhones.")])
    xj("osrm-checksum", """
        The rebuild pipeline runs every Saturday at 22:00 UTC and builds the EU and NA graphs, with our overrides for
        restricted roads applied on top of the OpenStreetMap extracts.
        """)
    xj("font-scale", """
        Screens in scope: route overview, drop list, drop details, POD capture (signature, photo, PIN), failed-delivery
        reasons. Screens out of scope for now: settings and the chat.
        """)
    xj("mob-battery", """
        Measured on a Pixel 8 and an iPhone 15: 17% and 15% battery per hour with the summary screen open and high
        accuracy location running; 3% per hour with the fix.
        """, [("mateo", "Verified on both platforms; the tracking notification disappears 30 minutes after the last drop "
                        "at the depot.")])
    xj("refund-approval-ui", """
        Support leads currently ask in #payments-eng who needs to approve, which takes time and is easy to forget.
        """)
    xj("runbook-lint", """
        The check runs on every MR that changes files under monitoring/rules/ and nightly for all rules, because pages
        can be moved in Confluence without anyone touching the rules.
        """)
    xj("min-version-510", """
        Affected devices at the time of planning: 212 active devices below 5.10, spread across 31 tenants. The largest
        group (74 devices) belongs to a tenant that manages phones through MDM and had paused updates.
        """)
    xj("sec-ingress-nginx", """
        Exposure check: the admission webhook service is ClusterIP only, but any pod in the cluster could reach it before
        the NetworkPolicy, which is what the advisory's attack scenario needs.
        """)
    xj("sec-phish", """
        Indicators: sender domain digicert-renewals[.]support, registered two days before the campaign; landing page on
        a shared hosting provider with a valid Let's Encrypt certificate; credential form posting to a different domain.
        """)
    xj("lag-alert-partition", """
        Open question: should the per-partition alert page or only post to #team-routing? A single hot partition at night
        may not matter until the morning planning window.
        """, [("mei", "Page between 02:00 and 06:00 UTC (before EU and NA planning windows), Slack otherwise.")])
    xj("mob-scan-focus", """
        Only the Pro models are affected, because their main camera's minimum focus distance is longer than on the
        non-Pro iPhones.
        """)
    xj("dark-mode", """
        Some tenants' MDM policies force light mode for all apps; the manual switch in the app's settings should win.
        """)
    xj("noise-hpa", """
        Symptom alerts that remain paging for driver-bff: DriverBffErrorRate and the latency SLO burn rate alert.
        """)
    xj("runner-disk", """
        Failing jobs per day before the fix: 6-15, mostly between 09:00 and 11:00 CET when most pipelines run.
        """)
    xj("gdpr-iceberg", """
        Erasure deadline: requests must be completed within 30 days of receipt. The 6 affected requests were received
        between 24 June and 3 July.
        """)
    xj("mob-sigpad", """
        Tenants with signature-only POD (no photo) are affected most; for them a cleared signature means the customer
        has to sign twice at the door.
        """)
    xj("mob-dup-arrived", """
        Downstream impact: dwell time and first-attempt metrics use the first arrived event, so the duplicates mostly
        affect the event volume in ClickHouse, but the console's event timeline looks confusing.
        """)


def gitlab_extras():
    xg("hermes-symbols", """
        ## Impact
        About 40% of our crash groups in Crashlytics are JS errors. Without symbols, each of them needs someone to map
        offsets by hand with `source-map` locally, which nobody does, so JS crashes are effectively invisible.

        ## Fix
        Run `compose-source-maps.js` after the Hermes compile step in both the Android and iOS build jobs and upload the
        composed map with the Crashlytics CLI, keyed by version and build number.
        """, [("chloe", "Done for both platforms. Verified with a deliberate crash in an internal build: file names and "
                        "line numbers show up correctly.")])
    xg("freshness-telemetry", """
        The August incident: the S3 sink task failed on a schema change in `telemetry.gps.v1` (a new optional field
        without a default in the registry), the connector stayed `RUNNING` with a failed task, and nobody noticed for 14
        hours. Kafka still had the data, so nothing was lost, but the lake was a day behind.
        """, [("rahul", "Also added a Prometheus alert on failed Kafka Connect tasks, which would have caught it within "
                        "minutes. The freshness check is the second line of defence.")])
    xg("invoice-it-tz", """
        The arm64 runners have `TZ=Europe/Amsterdam` set in the base image, the old runners had UTC. Any test that relies
        on the system default time zone is suspicious; a quick grep found two more in `billing-core`.
        """, [("victor", "Fixed all three tests to use `ZoneOffset.UTC` explicitly. Also set `-Duser.timezone=UTC` in the "
                         "Gradle test task so new tests behave the same everywhere.")])
    xg("legacy-charges-api", """
        ## Checks before removal
        - [x] No calls to `LegacyChargeService` in the last 60 days (metric `legacy_charge_calls_total` is flat at 0).
        - [x] No billing accounts with `payment_flow = 'charges'` left (migration in June moved the last 12).
        - [ ] Remove the Stripe webhook event types that only the legacy flow used (`charge.succeeded` handler).
        """)
    xg("rn-076", """
        ## Risks
        - The camera library has an open issue with 0.76 on Android with the New Architecture; a patch release is
          expected.
        - Hermes changes can affect the source map composition we fixed earlier this year.
        - Release timing: two release trains before the freeze. If the upgrade is not merged by 7 November it waits for
          January.
        """, [("jonas", "Agree with the January fallback. Let's not do a framework upgrade in the last train before peak.")])
    xg("airflow-deferrable", """
        ## Measurements
        Between 02:00 and 05:00 UTC we run up to 38 pod tasks concurrently, each holding a worker slot while mostly
        waiting. Scheduler loop duration rises from 2 s to 14 s in that window, which delays unrelated tasks.
        """, [("lena", "Please start with dbt_nightly, it holds slots longest. Keep the others for a second MR.")])
    xg("refund-histogram", """
        Current buckets (Prometheus defaults) stop at 10 s; a refund that needs two retries with our 2 s, 4 s backoff
        plus provider latency easily lands above that. The p95 panel on the Payments dashboard shows `+Inf`.
        """, [("victor", "New buckets deployed. Note that changing buckets resets the histogram history for the panel.")])
    xg("erasure-tracks", """
        ## Why it matters
        The downsampled tracks still contain a driver's position every minute for 25 months. Even with a pseudonymous
        `driver_key`, that is personal data under GDPR and must be erased on request like the raw pings.
        """, [("rahul", "Implemented as a lightweight delete plus a verification count; the DAG fails if any row remains. "
                        "Re-ran the erasure for the requests of the last 12 months.")])
    xg("spring-boot-33", """
        ## Plan
        1. Upgrade on a branch, fix compilation issues (K2), run the full test suite.
        2. Deploy to staging for a week, including at least one night with cycle counts and one inbound EDI batch.
        3. Production deploy on a Tuesday morning, outside DC shift starts.
        """)
    xg("capture-returns", """
        ## Columns
        `id`, `shipment_id`, `tenant_id`, `sku_id`, `quantity`, `reason_code`, `created_at`, `processed_at`. The
        `reason_note` column holds free text typed by warehouse staff and sometimes contains customer names.
        """, [("arjun", "Confirmed: exclude `reason_note`. `reason_code` is enough for Finance.")])
    xg("dlq-tenant-filter", """
        ## Behaviour
        - Messages are read from `refunds.dlq` from the given offset or time.
        - Matching messages are re-published to `payments.refunds.v1`.
        - Non-matching messages are re-published to `refunds.dlq` so that the consumer group can commit its offset.
        """)
    xg("connector-validate", """
        ## Proposal
        ```bash
        for f in connectors/*.json; do
          curl -s -X PUT "$CONNECT_STAGING/connector-plugins/PostgresConnector/config/validate" \\
               -H 'Content-Type: application/json' --data @"$f" | jq -e '.error_count == 0'
        done
        ```
        Plus a Python check that queries `information_schema.tables` on the staging replica for every entry in
        `table.include.list`.
        """)
    xg("detox-offline-photo", """
        The scenario found a real bug while being written: after an app restart offline, the first photo was queued
        twice. Fixed in the same release.
        """)
    xg("live-activity", """
        ## Open questions
        - Push budget: Apple limits Live Activity updates; ETA changes every minute would exceed it. Update on stop
          changes and ETA drift above 5 minutes only.
        - Privacy: the lock screen shows the next address to anyone near the phone. Tenants may need to opt in.
        """, [("grace", "Opt-in per tenant, yes. I'd like to see it with two pilot tenants in Q1.")])
    xg("token-ratelimit", """
        ## Observed
        The misconfigured integration requested about 1,100 tokens per minute for 6 hours. gatekeeper handled it, but
        token issuance p99 rose from 80 ms to 240 ms for everyone.
        """)
    xg("cycle-count-batch", """
        ## Config
        ```yaml
        wms:
          cycle-count:
            batch-size: 5000          # default
            pause-between-batches: 0s
            overrides:
              LEJ2/COLD: {batch-size: 500, pause-between-batches: 30s}
        ```
        """, [("yusuf", "Deployed; LEJ2's night shift reports no more blocked bins between 02:00 and 03:00.")])
    xg("edi-una", """
        The tenant's ERP vendor says the UNA segment is mandatory in their setup and cannot be changed. EDIFACT allows
        it, so the parser must support it.
        """)
    xg("entra-federation", """
        ## Not in scope
        SCIM provisioning (users are created on first login) and per-user MFA requirements (enforced by the tenant's own
        IdP).
        """, [("daniel", "Please make sure we validate the `iss` and `tid` claims per tenant; multi-tenant Entra apps are a "
                         "classic source of cross-tenant login bugs.")])
    xg("otd-grace", """
        Also checked the other certified questions that compute delivery metrics: only the OTD question recomputed the
        window logic; the rest already use the mart columns.
        """)
    xg("dashboard-saturation", """
        During the September incident the consumer lag panel had to be built by hand in the middle of the night. It
        should be on the dashboard of every service that consumes Kafka.
        """)
    xg("sku-trailing-space", """
        The merge migration moves stock, reservations and open pick tasks from the duplicate item to the original and
        leaves a redirect row, so that old references in EDI messages still resolve.
        """, [("fatima", "Polar Foods confirmed reservations work again for the affected SKUs.")])
    xg("iban-audit-log", """
        Root cause: the audit writer serialises the request DTO, and the DTO's `toString` masking was only applied to the
        response DTO.
        """)
    xg("graviton-runners", """
        ## Test results
        | Pipeline | amd64 (c6i) | arm64 (c7g) |
        |---|---|---|
        | route-planner | 6 min 40 s | 6 min 10 s |
        | driver-bff | 4 min 05 s | 3 min 50 s |
        | billing-api | 11 min 20 s | 12 min 05 s |
        """)
    xg("offline-photo-skip", """
        Severity: tenants use photo-required POD for high-value deliveries (pharma, electronics); a completed drop
        without a photo weakens their evidence in disputes.
        """)
    xg("v1-sunset", """
        ## Communication so far
        - 90-day notice email to all technical contacts on 2 October.
        - Banner in the developer portal.
        - Support macro `v1-sunset` with the migration guide link.
        """)
    xg("flaky-webhook-test", """
        Flaky tests cost us more than their runtime: people start re-running pipelines by reflex and miss real failures.
        """)
    xg("tf-lock", """
        Happened three times in April, always when someone cancelled a pipeline that was waiting for a slow EKS node
        group update.
        """)
    xg("thanos-overlap", """
        Impact: queries over more than two weeks hit uncompacted blocks and take 30-60 s in Grafana; queries over the
        last 2 days are served by Prometheus and are unaffected.
        """)


def mr_extras():
    xg("rn-076-mr", """
        ## Remaining
        - [ ] `@nw/scanner` codegen fix
        - [ ] Detox scanner tests on Android
        - [ ] Check source map composition still works with the new Hermes version
        """)
    xg("karpenter-budget", """
        The schedule is in UTC and covers the EU planning window (05:30 CEST = 03:30 UTC is the earliest auto-planning)
        until 08:00 UTC. NA planning is later and covered by the general 10% budget.
        """)
    xg("otd-grace-fix", """
        Checked with 5 tenants for May and June: Metabase and console numbers are identical to one decimal.
        """)
    xg("webhook-test-fix", """
        Root cause in one sentence: the test raced the fake server's startup against a 10 s retry backoff.
        """)
    xg("capture-returns-mr", """
        Snapshot of the existing 2.1M rows took 25 minutes on staging with incremental snapshots, no impact on streaming.
        """)
    xg("driver-revoke-mr", """
        The deny list lives in redis-sessions with a 15-minute TTL per entry, matching the access token lifetime, so it
        never grows beyond the number of deactivations in a quarter hour.
        """)
    xg("spring-33-mr", """
        Known difference: Hibernate 6.5 logs a warning for our `@Formula` on `Bin.occupancy`; harmless, silenced in the
        logback config.
        """)
    xg("runner-volume", """
        Cost: about EUR 40 per runner node per month for the extra gp3 volume, far less than the time lost to failed
        pipelines.
        """)
    xg("edi-una-fix", """
        Re-processed the 14 ASNs that had failed for the tenant since onboarding; all parsed and matched.
        """)
    xg("gdpr-retries", """
        Tested on staging by running the erasure while forcing a compaction: the first commit fails, the retry succeeds.
        """)
    xg("photo-queue-evict", """
        Tested with a device filled with 200 photos (150 uploaded, 50 pending): taking a new photo evicts the oldest
        uploaded one.
        """)
    xg("dlq-filter-mr", """
        Used during the duplicate-charge cleanup to replay Kestrel Pharma's refunds first, as agreed with their finance
        team.
        """)
    xg("eta-tz-mr", """
        Snapshot tests added for CET, BST and a device in a different zone from the depot.
        """)


def slack_extras():
    xs("ota-rollout", [("keiko", 30, "No new crashes after 30 minutes at 100%. The drop list sort order fix reached about "
                                     "70% of active devices so far; iOS devices that stay suspended pick it up later."),
                       ("jonas", 5, "Thanks. That iOS lag is worth its own ticket.")])
    xs("min-version", [("sofia", 3, "Thanks. Is there a way to tell the driver why? He thinks his phone is broken."),
                       ("jonas", 6, "The update screen says the version is no longer supported and links to the store. If "
                                    "his company manages phones through MDM, their IT has to push the update; that was the "
                                    "case for most of the July tickets.")])
    xs("a14-cabinet", [("chloe", 40, "Got it, reproduced the black preview on the first try. Thanks!")])
    xs("lost-laptop", [("sam", 25, "Okta sessions revoked, device shows as locked in Kandji. The wipe runs as soon as it "
                                   "connects to the internet."),
                       ("daniel", 10, "GitLab tokens and SSH keys revoked, no active nwctl grants. I'll close the ticket once "
                                      "Kandji confirms the wipe.")])
    xs("cost-centre-ask", [("tomas", 20, "Let's make sure phase 1 does not paint us into a corner for separate invoices: "
                                         "cost centre ids on invoice lines from the start."),
                           ("aisha", 8, "That's the plan, the grouping uses the same cost_centre_id that phase 2 would "
                                        "split on.")])
    xs("rollup-failed", [("wen", 4, "Thanks. Should I tell Customer Success that the Shipments report is a day behind?"),
                         ("rahul", 3, "Yes please, and that it will catch up automatically once the fix is in.")])
    xs("grafana-nxdomain", [("ingrid", 15, "Is there a way to make it connect on boot?"),
                            ("sam", 4, "Yes: Tailscale menu > Settings > Launch at login, and turn on 'Connect on launch'. "
                                       "Both are on by default for new laptops, yours predates that.")])
    xs("second-monitor", [("wen", 10, "Found it, ordered. Thanks!")])
    xs("keyboard-loaner", [("sam", 120, "Laptop is off to the repair partner, expected back in 5 working days. You have the "
                                        "loaner until then; please log out of everything on it before you return it.")])
    xs("otd-mismatch", [("marcus", 5, "Which one do I send to Kestrel for the QBR?"),
                        ("wen", 3, "The console number (91.4%). It uses the official 10-minute grace period. I'll ping you "
                                   "when Metabase is fixed so both match.")])
    xs("gitlab-ssh", [("mateo", 3, "Is there a reminder before they expire?"),
                      ("sam", 5, "GitLab emails you 7 days before expiry. It probably went to the notifications folder.")])
    xs("na-502", [("sofia", 20, "Customer confirms no more 502s. Is there anything they need to re-send?"),
                  ("ben", 5, "Only the optimize calls that got a 502. Calls with an Idempotency-Key can simply be "
                             "retried; the others should check for duplicate plans before re-submitting.")])
    xs("sec-jira-access", [("chloe", 30, "Daniel added me to the ticket, all good.")])
    xs("yubikey-nwctl", [("sam", 2, "Good. Tip: register a second key (or Touch ID) as backup, otherwise a lost key means "
                                    "another identity check with me.")])
    xs("trino-memory", [("wen", 2, "For next time: the marts_finance schema has descriptions for every table in Metabase's "
                                   "data reference, that's the quickest way to find the right one.")])
    xs("dbt-ci-slow", [("rahul", 15, "I also added an alert when the prod manifest artifact is older than 2 days, so CI "
                                     "doesn't silently fall back to building everything.")])
    xs("refund-stuck", [("fatima", 6, "Thanks! Told the customer. Should I have checked the DLQ myself?"),
                        ("victor", 4, "No, support doesn't have access to it. Post in here with the refund id like you did, "
                                      "that's exactly right.")])
    xs("add-cdc-table", [("rahul", 240, "Picked it up. Warehouse review requested from Arjun because of the free-text "
                                        "column.")])
    xs("heic-413", [("keiko", 300, "Conversion implemented, average upload size drops from 3.1 MB to 0.6 MB. Going into "
                                   "5.13.1.")])
    xs("refund-approval", [("marcus", 4, "Thanks Tomás! Customer has been waiting since Monday, so that helps.")])
    xs("detox-flaky", [("mateo", 180, "With the longer wait the A54 scanner tests passed 20 runs in a row.")])
    xs("okta-new-phone", [("sam", 3, "Also move your YubiKey registration check on your list: it's unaffected by the phone "
                                     "change, so nwctl elevation still works.")])
    xs("raw-telemetry-access", [("lena", 5, "If you need driver-level detail for a specific investigation, open a DATA "
                                            "ticket and we'll run it for you inside the restricted schema.")])
    xs("xiaomi", [("chloe", 600, "Update: the in-app guide that opens the MIUI battery settings on first route start is in "
                                 "5.13.1. Dispatcher map freezes for those drivers dropped a lot in the pilot.")])
    xs("partition-heads-up", [("ben", 3, "Nice and boring, as it should be.")])
    xs("breakglass-drill", [("olivia", 30, "Thanks both. Let's repeat in six months and add the Vault recovery keys to the "
                                           "next drill.")])


if __name__ == "__main__":
    main()
