"""Seeds a DEMO organisation for local runs (never for production).

Everything it creates is marked as demo data ([نمونه]) and is idempotent, so running
``bin/start`` again seeds nothing twice: a demo admin (through the identity CLI, as a
real first admin is made), the seed's four departments, a demo agent, and a few demo
tickets. The demo password is random per checkout, kept in ``.run/`` (git-ignored).
The demo customer is not a verified identity account yet: verifying needs the SMS code
that the notify service will send.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import warnings
from pathlib import Path

from pasokh_common.errors import ServiceError

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

RUN_DIR = Path(__file__).resolve().parent.parent / ".run"
DEMO_ADMIN = {"username": "demo-admin", "phone": "09120000001", "name": "[نمونه] مدیر سامانه"}
DEMO_AGENT_ACCOUNT = {"username": "demo-agent", "name": "[نمونه] کارشناس پشتیبانی"}

DEMO_ORGANISATION = "demo-org"
DEMO_CUSTOMER = {"id": "demo-customer-1", "role": "customer", "organisation_id": DEMO_ORGANISATION}
DEMO_DEPARTMENTS = {
    "technical-support": "پشتیبانی فنی",
    "finance": "مالی",
    "sales": "فروش",
    "complaints-and-suggestions": "انتقادات و پیشنهادات",
}
DEMO_TICKETS = [
    ("technical-support", "[نمونه] اتصال اینترنت قطع است", "از صبح امروز اینترنت ندارم.", "high"),
    ("finance", "[نمونه] صورت‌حساب ماه گذشته", "مبلغ صورت‌حساب با قرارداد نمی‌خواند.", "normal"),
    ("sales", "[نمونه] استعلام قیمت سرویس سازمانی", "برای ۵۰ کاربر قیمت می‌خواهم.", "low"),
]


def demo_password() -> str:
    RUN_DIR.mkdir(exist_ok=True)
    path = RUN_DIR / "demo_password"
    if not path.exists():
        path.write_text("Demo-" + secrets.token_urlsafe(9), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def ignore_existing(call, *args):
    """Seeding again finds what it made last time: a conflict is success here."""
    try:
        return call(*args)
    except ServiceError as error:
        if error.http_status == 409:
            return None
        raise


def seed_identity(cluster, password: str) -> dict:
    """Demo admin, departments and agent; returns the demo agent's actor."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "services.identity.cli",
            "create-admin",
            "--phone",
            DEMO_ADMIN["phone"],
            "--name",
            DEMO_ADMIN["name"],
            "--username",
            DEMO_ADMIN["username"],
        ],
        input=f"{password}\n",
        text=True,
        capture_output=True,
        check=False,
    )
    admin = cluster.identity.login({"login": DEMO_ADMIN["username"], "password": password})
    token = admin["access_token"]
    for department_id, name in DEMO_DEPARTMENTS.items():
        ignore_existing(
            cluster.identity.create_department,
            token,
            {"department_id": department_id, "name": name},
        )
    ignore_existing(
        cluster.identity.create_agent,
        token,
        {**DEMO_AGENT_ACCOUNT, "password": password, "departments": ["technical-support"]},
    )
    agent = cluster.identity.login({"login": DEMO_AGENT_ACCOUNT["username"], "password": password})
    return cluster.identity.validate_token(agent["access_token"])


def seed(amqp_uri: str) -> list[dict]:
    opened = []
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
        demo_agent = seed_identity(cluster, demo_password())
        for index, (department, subject, body, priority) in enumerate(DEMO_TICKETS):
            ticket = cluster.tickets.open_ticket(
                DEMO_CUSTOMER,
                {
                    "department": department,
                    "subject": subject,
                    "body": body,
                    "priority": priority,
                    "idempotency_key": f"demo-seed-{index}",
                },
            )
            opened.append(ticket)
        first = opened[0]
        if first["status"] == "unanswered" and first["version"] == 1:
            cluster.tickets.claim(demo_agent, {"ticket_id": first["ticket_id"]})
            cluster.tickets.post_reply(
                demo_agent,
                {"ticket_id": first["ticket_id"], "body": "[نمونه] در حال بررسی هستیم."},
            )
    return opened


def main() -> int:
    tickets = seed(os.environ["AMQP_URI"])
    print("Demo data (marked [نمونه], local use only): organisation", DEMO_ORGANISATION)
    print(
        f"  logins: {DEMO_ADMIN['username']} (admin), {DEMO_AGENT_ACCOUNT['username']} (agent);"
        f" password in .run/demo_password"
    )
    for ticket in tickets:
        print(f"  ticket {ticket['number'][:4]}-{ticket['number'][4:]}  {ticket['subject']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
