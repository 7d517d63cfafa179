"""Copies a service doc's configuration rows into the README's single config table.

Each service documents its variables in docs/<service>.md (rows ``| `VAR` | default |
meaning |``); the README table has a "used by" column. This keeps the two in step:
``python -m tools.readme_config sla notify`` adds the rows that are missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = "| `RELAY_BATCH_SIZE` |"
DOC_NAMES = {"gateway": "api", "tickets": "event-log"}
METRICS_PORTS = {
    "SLA": ("9105", "9106"),
    "NOTIFY": ("9107", "9108"),
    "GATEWAY": ("9109", None),
    "WEBHOOKS": ("9110", None),
}


def rows_for(service: str) -> list[str]:
    prefix = service.upper() + "_"
    doc = (ROOT / "docs" / f"{DOC_NAMES.get(service, service)}.md").read_text(encoding="utf-8")
    rows = []
    for line in doc.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].strip("`").startswith(prefix):
            continue
        name, default, meaning = cells[0], cells[1], " | ".join(cells[2:])
        ports = METRICS_PORTS.get(service.upper())
        if ports and name == f"`{prefix}METRICS_PORT`":
            default = f"`{ports[0]}` in `bin/start`, off otherwise"
        if ports and ports[1] and name == f"`{prefix}RELAY_METRICS_PORT`":
            default = f"`{ports[1]}` in `bin/start`, off otherwise"
        rows.append(f"| {name} | {service} | {default} | {meaning} |")
    return rows


def main(services: list[str]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    missing = [
        row for s in services for row in rows_for(s) if row.split("|")[1].strip() not in text
    ]
    if missing:
        text = text.replace(ANCHOR, "\n".join(missing) + "\n" + ANCHOR, 1)
        readme.write_text(text, encoding="utf-8")
    print(f"added {len(missing)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
