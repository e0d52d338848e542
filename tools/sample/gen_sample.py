#!/usr/bin/env python3
"""Generate the bundled Northwind Logistics sample corpus for Sluice.

Usage:
    python3 tools/sample/gen_sample.py            # writes pipelines/data/sample/
    python3 tools/sample/gen_sample.py --out DIR  # writes somewhere else

Reads the hand-written, fictional content in tools/sample/data/ and writes confluence/pages.jsonl,
jira/issues.jsonl, gitlab/{issues,merge_requests}.jsonl, slack/threads.jsonl, queries.tsv and README.md.
Stdlib only and deterministic: one fixed seed drives every random choice and no clock is read. The seed is
consumed in the order the data files list things, so reordering entries changes ids and timestamps.

data/org.json                 people, bots, Slack channels, Confluence spaces, Jira and GitLab projects
data/composition.json         tables for the composition layer (definitions of done, triage/release comment
                              templates, MR checklists, component -> service/lead maps)
data/confluence/pages.json    pages in creation order; page REF's body is confluence/SPACE/REF.md in a small
                              markdown dialect (see storage()). "compose" entries are built from their fields
data/jira/issues.json         issues; REF's description is jira/PROJECT/REF.md
data/gitlab/*.json            issues and MRs; descriptions in gitlab/issues/REF.md, gitlab/merge_requests/REF.md
data/slack/threads.json       threads; slack/followups.json holds replies added after all threads exist
data/queries.json             evaluation queries: [query, kind, ref]
data/templates/               service page, release notes, corpus README

Comments and notes are [who, body] or [who, "YYYY-MM-DD HH:MM", body]; Slack messages [who, text] or
[who, minutes_after_previous, text]. Cross-references are placeholders resolved once keys, iids and timestamps
are known: {{J:ref}} Jira key, {{JM:ref}} Confluence Jira macro, {{MR:ref}} / {{GI:ref}} GitLab reference,
{{MRURL:ref}} / {{GIURL:ref}} web URL, {{CT:ref}} / {{CURL:ref}} Confluence title / URL, {{PL:ref}} Confluence
page link (ac:link to ri:page by title), {{SL:ref}} Slack
permalink, {{U:person}} Slack mention.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import textwrap
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote_plus

DATA = Path(__file__).resolve().parent / "data"
SEED = 20250914
rng = random.Random(SEED)
UTC = timezone.utc
CORPUS_END = datetime(2025, 10, 10, 18, 0, tzinfo=UTC)
SPRINT_EPOCH = datetime(2025, 1, 6, tzinfo=UTC)


def load(rel: str):
    return json.loads((DATA / rel).read_text(encoding="utf-8"))


def read(rel: str) -> str:
    return (DATA / rel).read_text(encoding="utf-8")


class Person:
    def __init__(self, key, name, team, title, slack_id):
        self.key, self.name, self.team, self.title, self.slack_id = key, name, team, title, slack_id
        first, last = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().split(" ", 1)
        clean = lambda s: re.sub(r"[^a-z]", "", s.lower())  # noqa: E731
        self.username = clean(first)[0] + clean(last)
        self.email = f"{clean(first)}.{clean(last)}@northwind.example"


ORG, C = load("org.json"), load("composition.json")
PEOPLE = {k: Person(k, **v) for k, v in ORG["people"].items()}
BOTS = {k: (b["user"], b["bot_id"], b["name"]) for k, b in ORG["bots"].items()}
CHANNELS, SPACES, JIRA_PROJECTS, GITLAB_PROJECTS = (ORG[k] for k in (
    "channels", "spaces", "jira_projects", "gitlab_projects"))
(SERVICE_OF, LEAD_OF, PROJECT_LEAD, TEAM_BOARD, GROUP_TEAM, DETECTED, DOD, MR_TEMPLATES, TRIAGE, TRIAGE_SELF,
 IN_PROGRESS, VERIFIED, RELEASED, SUPPORT, BACKLOG, SEC_NOTES, ISSUE_TRIAGE, COMMIT_MSGS) = (C[k] for k in (
    "service_of", "lead_of", "project_lead", "team_board", "group_team", "detected", "dod", "mr_templates", "triage",
    "triage_self", "in_progress", "verified", "released", "support", "backlog", "sec_notes", "issue_triage",
    "commit_msgs"))

# ---- Time helpers ----------------------------------------------------------------------------------------


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


# ---- Confluence storage format ---------------------------------------------------------------------------

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
                elif lines[i].strip() and lines[i].startswith("  ") and items:
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


# ---- Document registries (fed from data/, in file order) -------------------------------------------------

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
    page = {"id": pid, "type": "page", "status": "current", "title": title,
            "space": {"key": space, "name": SPACES[space]}, "ancestors": ancestors,
            "version": {"number": version, "when": iso_z(u), "by": {"displayName": by.name, "email": by.email}},
            "history": {"createdDate": iso_z(c),
                        "createdBy": {"displayName": PEOPLE[author].name, "email": PEOPLE[author].email}},
            "metadata": {"labels": {"results": [{"name": l} for l in labels]}},
            "body": {"storage": {"value": storage(md), "representation": "storage"}},
            "restrictions": {"read": {"users": [], "groups": groups}},
            "_links": {"webui": f"/spaces/{space}/pages/{pid}/{quote_plus(title)}",
                       "base": "https://northwind.atlassian.net/wiki"}}
    assert ref not in CONF_BY_REF, ref
    CONF.append(page)
    CONF_BY_REF[ref] = page


def _notes_body(sections, h):
    return "".join(f"\n{h} {t}\n" + "\n".join(f"- {i}" for i in items) + "\n" for t, items in sections.items())


def compose_page(kind, e):
    """Pages built from structured fields. Dates drawn here consume the seed exactly where the page is listed."""
    day = e.get("day")
    if kind == "service":
        md = read("templates/service-page.md").format(**{
            **e, "lead": PEOPLE[e["lead"]].name, "deps": "\n".join(f"- {d}" for d in e["deps"]),
            "slos": "\n".join(f"| {a} | {b} |" for a, b in e["slos"]),
            "alerts": ", ".join(f"`{a}`" for a in e["alerts"])})
        cpage(f"svc-{e['name']}", "ENG", f"Service: {e['name']}", md, parent="svc-catalog",
              labels=["service-catalog", e["ns"]], author=e["lead"],
              created=f"2024-0{rng.randint(2, 9)}-{rng.randint(10, 28)}",
              updated=f"2025-0{rng.randint(3, 9)}-{rng.randint(10, 28)}")
    elif kind == "release_notes":
        ver = e["ver"]
        md = read("templates/release-notes.md").format(
            day=day, captain=PEOPLE[e["author"]].name, hl="\n".join(f"- {h}" for h in e["highlights"]),
            fx="\n".join(f"| {k} | {t} |" for k, t in e["fixes"]), kn="\n".join(f"- {k}" for k in e["known"]))
        cpage(f"rn-{ver}", "ENG", f"Driver app {ver} release notes", md, parent="eng-mobile",
              labels=["mobile", "release-notes", f"v{ver.replace('.', '-')}"], author=e["author"],
              created=day, updated=(T(day) + timedelta(days=rng.randint(1, 6))).strftime("%Y-%m-%d"))
    else:
        att = ", ".join(PEOPLE[a].name for a in e["attendees"])
        if kind == "ops_review":
            acts = "\n".join(f"| {PEOPLE[w].name} | {t} | {k.replace('{{J:', '{{JM:') if k else ''} |"
                             for w, t, k in e["actions"])
            md = (f"**Date:** {day}\n**Attendees:** {att}\n\n## Notes\n{_notes_body(e['sections'], '###')}\n"
                  f"## Action items\n| Owner | Action | Ticket |\n|---|---|---|\n{acts}\n")
            cpage(f"sre-notes-{day}", "SRE", f"{day} Ops review", md, parent="sre-notes",
                  labels=["meeting-notes", "ops-review"], author=e["attendees"][0], created=day,
                  updated=(T(day) + timedelta(days=1)).strftime("%Y-%m-%d"), version=2)
        elif kind == "pay_notes":
            cpage(f"pay-notes-{day}", "PAY", e["title"],
                  f"**Date:** {day}\n**Participants:** {att}\n{_notes_body(e['sections'], '##')}",
                  parent="pay-home", labels=["meeting-notes", "sprint"], author=e["attendees"][0], created=day,
                  updated=day, version=1)
        else:
            assert kind == "data_notes", kind
            cpage(f"data-notes-{day}", "DATA", f"{day} Data platform sync",
                  f"**Date:** {day}\n**Attendees:** {att}\n{_notes_body(e['sections'], '##')}",
                  parent="data-home", labels=["meeting-notes"], author=e["attendees"][0], created=day,
                  updated=day, version=1)


JIRA_PENDING: list[dict] = []   # resolved into JIRA once keys are assigned
JIRA_BY_REF: dict[str, dict] = {}
JIRA_DEFAULTS = dict(status="To Do", priority="Medium", components=[], labels=[], assignee=None, reporter="priya",
                     created="2025-06-01", updated=None, comments=[])
GL_PENDING: list[dict] = []
GL_BY_REF: dict[str, dict] = {}
GL_DEFAULTS = dict(assignees=[], labels=[], state="opened", created="2025-06-01", updated=None, notes=[],
                   confidential=False, source_branch=None, target_branch="main", draft=False, reviewers=[])


def register(pending, by_ref, defaults, e, desc, **extra):
    it = {**defaults, **e, **extra, "desc": desc}
    for k, v in it.items():
        if isinstance(v, list):
            it[k] = list(v)
    assert it["ref"] not in by_ref, it["ref"]
    pending.append(it)
    by_ref[it["ref"]] = it


SLACK: list[dict] = []
SLACK_BY_REF: dict[str, dict] = {}


def _slack_msg(who, text, ts, thread_ts):
    if who in BOTS:
        uid, bot_id, bname = BOTS[who]
        return {"type": "message", "subtype": "bot_message", "user": uid, "bot_id": bot_id, "username": bname,
                "bot_profile": {"id": bot_id, "name": bname}, "text": text, "ts": ts, "thread_ts": thread_ts}
    p = PEOPLE[who]
    return {"type": "message", "user": p.slack_id, "text": text, "ts": ts, "thread_ts": thread_ts}


def _reply_stats(msgs):
    msgs[0]["reply_count"] = len(msgs) - 1
    msgs[0]["reply_users"] = sorted({m["user"] for m in msgs[1:]})


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
        msgs.append(_slack_msg(who, text, ts, thread_ts))
    _reply_stats(msgs)
    for idx, rs in (reactions or {}).items():
        msgs[int(idx)]["reactions"] = [
            {"name": emo, "users": [PEOPLE[u].slack_id for u in us], "count": len(us)} for emo, us in rs]
    channel_obj = {k: v for k, v in ch.items() if k != "members"}
    thread = {"channel": channel_obj, "thread_ts": thread_ts,
              "permalink": f"https://northwind.slack.com/archives/{ch['id']}/p{thread_ts.replace('.', '')}",
              "messages": msgs}
    if ch["is_private"]:
        thread["channel"]["members"] = [PEOPLE[k].slack_id for k in ch["members"]]
    SLACK.append(thread)
    SLACK_BY_REF[ref] = thread


def slack_followup(ref, messages):
    """Append replies to an existing Slack thread: (who, minutes_after_previous, text)."""
    t = SLACK_BY_REF[ref]
    last = datetime.fromtimestamp(float(t["messages"][-1]["ts"]), tz=UTC)
    for who, gap, text in messages:
        last = later(last, gap * 0.8, gap * 1.2 + 0.5)
        t["messages"].append(_slack_msg(who, text, slack_ts(last), t["thread_ts"]))
    _reply_stats(t["messages"])


def load_sources():
    for e in load("confluence/pages.json"):
        if "compose" in e:
            compose_page(e.pop("compose"), e)
        else:
            cpage(**e, md=read(f"confluence/{e['space']}/{e['ref']}.md"))
    for e in load("jira/issues.json"):
        register(JIRA_PENDING, JIRA_BY_REF, JIRA_DEFAULTS, e, read(f"jira/{e['project']}/{e['ref']}.md"))
    for kind, folder in (("issue", "issues"), ("mr", "merge_requests")):
        for e in load(f"gitlab/{folder}.json"):
            register(GL_PENDING, GL_BY_REF, GL_DEFAULTS, e, read(f"gitlab/{folder}/{e['ref']}.md"), kind=kind)
    for e in load("slack/threads.json"):
        slack(**e)
    for e in load("slack/followups.json"):
        slack_followup(**e)


# ---- Assembly: keys, ids, timestamps, placeholder resolution ---------------------------------------------

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


# Composition layer: the structure every real tracker accumulates around the hand-written core (environment
# blocks, team templates, triage and release comments, GitLab system notes). Fill-ins come from each item's fields.

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


_FIELD_LINE = re.compile(r"^[A-Z][\w /()-]{1,30}: ")
_INLINE_CODE = re.compile(r"`([^`]+)`")


def _adf_inline(text: str) -> list:
    """Text → ADF text nodes; `code` spans get the code mark."""
    nodes, pos = [], 0
    for m in _INLINE_CODE.finditer(text):
        if m.start() > pos:
            nodes.append({"type": "text", "text": text[pos:m.start()]})
        nodes.append({"type": "text", "text": m.group(1), "marks": [{"type": "code"}]})
        pos = m.end()
    if pos < len(text):
        nodes.append({"type": "text", "text": text[pos:]})
    return nodes


def _adf_paragraph(lines: list) -> dict:
    """Hard-wrapped prose joins with spaces; `Field: value` lines keep their line breaks."""
    content = []
    for i, line in enumerate(lines):
        if i > 0:
            if _FIELD_LINE.match(line) or _FIELD_LINE.match(lines[i - 1]):
                content.append({"type": "hardBreak"})
            else:
                content.append({"type": "text", "text": " "})
        content.extend(_adf_inline(line))
    return {"type": "paragraph", "content": content}


def adf(text: str) -> dict:
    """The sample's plain-text Jira bodies as Atlassian Document Format (what Jira Cloud's REST v3
    returns): paragraphs, bullet and numbered lists, tables (`| a | b |` rows), inline code."""
    blocks, para, lst, table = [], [], None, None

    def flush():
        nonlocal para, lst, table
        if para:
            blocks.append(_adf_paragraph(para))
            para = []
        if lst:
            blocks.append(lst)
            lst = None
        if table:
            blocks.append(table)
            table = None

    for raw in text.split("\n"):
        line = raw.rstrip()
        bullet = re.match(r"^\s*[-*] (.*)$", line)
        number = re.match(r"^\s*\d+\. (.*)$", line)
        if not line.strip():
            flush()
        elif line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            if para or lst:
                flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            table = table or {"type": "table", "content": []}
            kind = "tableHeader" if not table["content"] else "tableCell"
            table["content"].append({"type": "tableRow", "content": [
                {"type": kind, "content": [{"type": "paragraph", "content": _adf_inline(c)}]} for c in cells]})
        elif bullet or number:
            if para or table:
                flush()
            kind = "bulletList" if bullet else "orderedList"
            if lst is None or lst["type"] != kind:
                if lst:
                    blocks.append(lst)
                lst = {"type": kind, "content": []}
            item = (bullet or number).group(1)
            lst["content"].append({"type": "listItem", "content": [_adf_paragraph([item])]})
        elif lst and raw.startswith("  ") and lst["content"]:
            # A wrapped list item continues its paragraph.
            lst["content"][-1]["content"][0]["content"].extend([{"type": "text", "text": " "}] + _adf_inline(line.strip()))
        else:
            if lst or table:
                flush()
            para.append(line.strip())
    flush()
    return {"type": "doc", "version": 1, "content": blocks}


def build_jira():
    for it in JIRA_PENDING:
        it["_created"] = T(it["created"])
    assign_numbers(JIRA_PENDING, lambda x: x["project"], lambda g: JIRA_PROJECTS[g]["first_number"])
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
        f = {"summary": it["summary"], "description": textwrap.dedent(it["desc"]).strip(),
             "issuetype": {"name": it["itype"]}, "status": {"name": it["status"]},
             "resolution": {"name": "Done"} if it["status"] == "Done" else None,
             "priority": {"name": it["priority"]},
             "project": {"key": it["project"], "name": JIRA_PROJECTS[it["project"]]["name"]},
             "assignee": person_ref(it["assignee"]) if it["assignee"] else None,
             "reporter": person_ref(it["reporter"]), "labels": it["labels"],
             "components": [{"name": n} for n in it["components"]], "created": iso_jira(c), "updated": iso_jira(u),
             "comment": {"comments": comments, "total": len(comments)},
             "security": {"name": "security-team"} if it["project"] == "SEC" else None}
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
    assign_numbers(GL_PENDING, lambda x: f"{x['project']}|{x['kind']}", lambda g: GITLAB_PROJECTS[g.split("|")[0]][
        "first_issue_iid" if g.endswith("|issue") else "first_mr_iid"])
    mentions: dict[str, list[str]] = {}
    for it in GL_PENDING:
        if it["kind"] == "mr":
            for ref in re.findall(r"\{\{GI:([\w.-]+)\}\}", it["desc"]):
                mentions.setdefault(ref, []).append(it["ref"])
    for it in sorted(GL_PENDING, key=lambda x: x["_created"]):
        enrich_gitlab_item(it, mentions)
    next_issue_id, next_mr_id, next_note = 84012, 301207, 1204331
    for it in sorted(GL_PENDING, key=lambda x: x["_created"]):
        pid = GITLAB_PROJECTS[it["project"]]["id"]
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
        doc = {"id": None, "iid": n, "project_id": pid, "title": it["title"],
               "description": textwrap.dedent(it["desc"]).strip(), "state": it["state"], "labels": it["labels"],
               "author": gl_user(it["author"]), "assignees": [gl_user(a) for a in it["assignees"]],
               "created_at": iso_z(c), "updated_at": iso_z(u),
               "closed_at": iso_z(u) if it["state"] == "closed" else None,
               "web_url": f"https://gitlab.northwind.example/{it['project']}/-/{path}/{n}",
               "references": {"short": f"{sep}{n}", "relative": f"{sep}{n}", "full": f"{it['project']}{sep}{n}"},
               "confidential": it["confidential"], "notes": notes}
        if is_mr:
            next_mr_id += rng.randint(1, 90)
            doc["id"] = next_mr_id
            branch = it["source_branch"] or re.sub(r"[^a-z0-9]+", "-", it["title"].lower()).strip("-")[:48]
            m = re.search(r"\{\{J:([\w.-]+)\}\}", it["title"])
            if m and _BRANCH_PREFIX.match(branch):
                branch = _BRANCH_PREFIX.sub("{{J:%s}}-" % m.group(1), branch)
            doc.update({"source_branch": branch, "target_branch": it["target_branch"],
                        "merge_status": "can_be_merged" if it["state"] != "opened" or not it["draft"] else "checking",
                        "draft": it["draft"], "reviewers": [gl_user(r) for r in it["reviewers"]],
                        "merged_at": iso_z(u) if it["state"] == "merged" else None})
            GL_MRS.append(doc)
        else:
            next_issue_id += rng.randint(1, 120)
            doc["id"] = next_issue_id
            GL_ISSUES.append(doc)
        it["doc"] = doc


_PH = re.compile(r"\{\{(J|JM|MR|MRURL|GI|GIURL|CT|CURL|PL|SL|U):([\w.-]+)\}\}")


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
    if kind == "PL":
        t = CONF_BY_REF[ref]["title"]
        if not xml:
            return t
        return (f'<ac:link><ri:page ri:content-title="{_esc(t).replace(chr(34), "&quot;")}"/>'
                f'<ac:plain-text-link-body><![CDATA[{t}]]></ac:plain-text-link-body></ac:link>')
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


def query_rows():
    ext = {"conf": ("confluence/pages.jsonl", lambda r: CONF_BY_REF[r]["id"]),
           "jira": ("jira/issues.jsonl", lambda r: JIRA_BY_REF[r]["key"]),
           "issue": ("gitlab/issues.jsonl", lambda r: GL_BY_REF[r]["doc"]["references"]["full"]),
           "mr": ("gitlab/merge_requests.jsonl", lambda r: GL_BY_REF[r]["doc"]["references"]["full"]),
           "slack": ("slack", lambda r: f"thread:{SLACK_BY_REF[r]['channel']['id']}:{SLACK_BY_REF[r]['thread_ts']}")}
    return [(q, ext[kind][0], ext[kind][1](ref)) for q, kind, ref in load("queries.json")]


def _target(kind: str, ref: str):
    """(pipeline source id, external id) of a placeholder's target; None for people."""
    if kind in ("J", "JM"):
        return "jira", JIRA_BY_REF[ref]["key"]
    if kind in ("MR", "MRURL"):
        return "gitlab-mrs", GL_BY_REF[ref]["doc"]["references"]["full"]
    if kind in ("GI", "GIURL"):
        return "gitlab-issues", GL_BY_REF[ref]["doc"]["references"]["full"]
    if kind in ("CT", "CURL", "PL"):
        return "confluence", CONF_BY_REF[ref]["id"]
    if kind == "SL":
        t = SLACK_BY_REF[ref]
        return _slack_source(t), f"thread:{t['channel']['id']}:{t['thread_ts']}"
    return None


def _slack_source(t: dict) -> str:
    return "slack-private" if t["channel"].get("is_private") else "slack"


_EDGE = {"J": "mentions", "JM": "embeds", "MR": "mentions", "GI": "mentions", "MRURL": "links_to",
         "GIURL": "links_to", "CT": "links_to", "CURL": "links_to", "PL": "links_to", "SL": "links_to"}


def link_rows() -> list[tuple[str, str, str, str, str]]:
    """The true links between the sample's documents, from the hand-written cross-reference placeholders
    (each one a reference an author put in the text) and the Confluence page tree: what the link extractor
    is scored against. Computed before placeholders are resolved, so independent of Sluice's extractor."""
    docs = [("confluence", p["id"], p) for p in CONF]
    docs += [("jira", d["key"], d) for d in JIRA]
    docs += [("gitlab-issues", d["references"]["full"], d) for d in GL_ISSUES]
    docs += [("gitlab-mrs", d["references"]["full"], d) for d in GL_MRS]
    docs += [(_slack_source(t), f"thread:{t['channel']['id']}:{t['thread_ts']}", t) for t in SLACK]
    rows = set()
    for src, ext, obj in docs:
        for m in _PH.finditer(json.dumps(obj, ensure_ascii=False)):
            to = _target(m.group(1), m.group(2))
            if to and to != (src, ext):
                rows.add((src, ext, _EDGE[m.group(1)], *to))
    for p in CONF:
        if p.get("ancestors"):
            rows.add(("confluence", p["id"], "child_of", "confluence", p["ancestors"][-1]["id"]))
    # One row per directed pair: the strongest edge wins, as `related` shows it.
    rank = {"child_of": 4, "embeds": 3, "links_to": 2, "mentions": 1}
    best = {}
    for r in rows:
        k = (r[0], r[1], r[3], r[4])
        if k not in best or rank[r[2]] > rank[best[k][2]]:
            best[k] = r
    return sorted(best.values())


# ---- Output and validation -------------------------------------------------------------------------------

def write_jsonl(path: Path, docs: list[dict]):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_slack_export(out: Path, threads: list[dict]) -> None:
    """The Slack part as a workspace export (what Slack's export tool writes and the `slack_export`
    source reads): users.json, channels.json (public), groups.json (private, with members) and one
    file of messages per channel and UTC day, replies beside their parents."""
    import shutil
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    users = [{"id": p.slack_id, "name": p.key, "real_name": p.name, "deleted": False,
              "profile": {"display_name": p.name, "real_name": p.name}} for p in PEOPLE.values()]
    users += [{"id": uid, "name": name.lower(), "real_name": name, "is_bot": True, "deleted": False,
               "profile": {"display_name": name, "real_name": name}} for uid, _, name in BOTS.values()]
    (out / "users.json").write_text(json.dumps(users, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for file, private in (("channels.json", False), ("groups.json", True)):
        chans = [{"id": c["id"], "name": c["name"], "is_private": private, "is_archived": False,
                  **({"members": [PEOPLE[k].slack_id for k in c["members"]]} if private else {})}
                 for c in CHANNELS.values() if c["is_private"] == private]
        (out / file).write_text(json.dumps(chans, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    days: dict = {}
    for t in threads:
        for m in t["messages"]:
            day = datetime.fromtimestamp(float(m["ts"]), tz=timezone.utc).strftime("%Y-%m-%d")
            days.setdefault((t["channel"]["name"], day), []).append(m)
    for (channel, day), msgs in sorted(days.items()):
        (out / channel).mkdir(exist_ok=True)
        msgs.sort(key=lambda m: float(m["ts"]))
        (out / channel / f"{day}.json").write_text(json.dumps(msgs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def validate(out: Path) -> dict:
    """Check ids, placeholders and timestamps of the written files; return the number of documents per file."""
    files = {
        "confluence/pages.jsonl": lambda d: d["id"],
        "jira/issues.jsonl": lambda d: d["key"],
        "gitlab/issues.jsonl": lambda d: d["references"]["full"],
        "gitlab/merge_requests.jsonl": lambda d: d["references"]["full"],
    }
    counts, ids_by_file = {}, {}
    for rel, key in files.items():
        seen, raw_ids = set(), set()
        for n, line in enumerate((out / rel).read_text(encoding="utf-8").splitlines(), 1):
            d = json.loads(line)
            k = key(d)
            assert k not in seen, f"{rel}:{n}: duplicate external id {k}"
            assert "id" not in d or d["id"] not in raw_ids, f"{rel}:{n}: duplicate id {d['id']}"
            seen.add(k); raw_ids.add(d.get("id"))
            assert not _PH.search(line), f"{rel}:{n}: unresolved placeholder"
            if rel.startswith("confluence"):
                stamps = [d["version"]["when"], d["history"]["createdDate"]]
            elif rel.startswith("jira"):
                f = d["fields"]
                assert f["created"] <= f["updated"], k
                stamps = [f["created"], f["updated"]] + [c["created"] for c in f["comment"]["comments"]]
            elif rel.startswith("gitlab"):
                stamps = [d.get(x) for x in ("created_at", "updated_at", "closed_at", "merged_at")]
                stamps += [nt["created_at"] for nt in d["notes"]]
            for ts in filter(None, stamps):
                datetime.fromisoformat(ts.replace("Z", "+00:00"))
        counts[rel] = len(seen)
        ids_by_file[rel] = seen
    threads = set()
    for day in sorted((out / "slack").glob("*/*.json")):
        msgs = json.loads(day.read_text(encoding="utf-8"))
        tss = [float(m["ts"]) for m in msgs]
        assert tss == sorted(tss), day
        for m in msgs:
            assert not _PH.search(m["text"]), f"{day}: unresolved placeholder"
            if m.get("thread_ts") == m["ts"]:
                channel = next(c["id"] for c in CHANNELS.values() if c["name"] == day.parent.name)
                threads.add(f"thread:{channel}:{m['ts']}")
    counts["slack"] = len(threads)
    ids_by_file["slack"] = threads
    lines = (out / "queries.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "query\tfile\texternal_id"
    for line in lines[1:]:
        q, rel, ext = line.split("\t")
        assert ext in ids_by_file[rel], line
    counts["queries.tsv"] = len(lines) - 1
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "pipelines/data/sample")
    args = ap.parse_args(argv)
    out: Path = args.out

    load_sources()
    build_jira()
    build_gitlab()

    links = link_rows()
    conf = [resolve(p, xml=True) for p in sorted(CONF, key=lambda p: int(p["id"]))]
    jira_docs = [resolve(d) for d in sorted(JIRA, key=lambda d: int(d["id"]))]
    for d in jira_docs:
        f = d["fields"]
        f["description"] = adf(f["description"])
        for c in f["comment"]["comments"]:
            c["body"] = adf(c["body"])
    gl_issues = [resolve(d) for d in sorted(GL_ISSUES, key=lambda d: d["id"])]
    gl_mrs = [resolve(d) for d in sorted(GL_MRS, key=lambda d: d["id"])]
    threads = [resolve(t) for t in sorted(SLACK, key=lambda t: float(t["thread_ts"]))]

    write_jsonl(out / "confluence/pages.jsonl", conf)
    write_jsonl(out / "jira/issues.jsonl", jira_docs)
    write_jsonl(out / "gitlab/issues.jsonl", gl_issues)
    write_jsonl(out / "gitlab/merge_requests.jsonl", gl_mrs)
    write_slack_export(out / "slack", threads)
    with (out / "queries.tsv").open("w", encoding="utf-8", newline="\n") as f:
        f.write("query\tfile\texternal_id\n")
        for row in query_rows():
            f.write("\t".join(row) + "\n")

    with (out / "links.tsv").open("w", encoding="utf-8", newline="\n") as f:
        f.write("from_source\tfrom_id\tedge\tto_source\tto_id\n")
        for row in links:
            f.write("\t".join(row) + "\n")

    counts = validate(out)
    data_files = [out / p for p in counts if p not in ("queries.tsv", "slack")] + [out / "queries.tsv"]
    data_files += sorted(p for p in (out / "slack").rglob("*.json"))
    size = sum(p.stat().st_size for p in data_files)
    (out / "README.md").write_text(read("templates/corpus-readme.md").format(
        conf=counts["confluence/pages.jsonl"], jira=counts["jira/issues.jsonl"],
        gli=counts["gitlab/issues.jsonl"], glm=counts["gitlab/merge_requests.jsonl"],
        slack=counts["slack"], queries=counts["queries.tsv"], size=f"{size:,}"), encoding="utf-8")
    total = size + (out / "README.md").stat().st_size
    assert total < 3_000_000, total
    for k, v in counts.items():
        print(f"{v:5d}  {k}")
    print(f"{total:,} bytes in total under {out}")


if __name__ == "__main__":
    main()
