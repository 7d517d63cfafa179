"""Seeds a DEMO organisation for local runs (never for production).

Everything it creates is marked as demo data ([نمونه]) and is idempotent, so running
``bin/start`` again seeds nothing twice: a demo admin (through the identity CLI, as a
real first admin is made), the seed's four departments, a demo agent, and a few demo
tickets. The demo password is random per checkout, kept in ``.run/`` (git-ignored).
The demo customer is a real identity account, registered and verified the way a
person does it: the code comes from the console SMS provider's outbox (local runs send
no real SMS), so the panel can be tried as a customer too.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import warnings
from pathlib import Path

from pasokh_common.errors import ServiceError

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

RUN_DIR = Path(__file__).resolve().parent.parent / ".run"
DEMO_ADMIN = {"username": "demo-admin", "phone": "09120000001", "name": "[نمونه] مدیر سامانه"}
DEMO_AGENT_ACCOUNT = {"username": "demo-agent", "name": "[نمونه] کارشناس پشتیبانی"}

DEMO_CUSTOMER_ACCOUNT = {"kind": "person", "name": "[نمونه] مشتری", "phone": "09120000002"}
DEMO_CUSTOMER_E164 = "+989120000002"
LOCAL_ADDRESS = "127.0.0.1"
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


def latest_code(notify_url: str, sent_after: float) -> str | None:
    """The newest verification code the console provider 'sent' to the demo customer."""
    import psycopg

    with psycopg.connect(notify_url) as conn:
        row = conn.execute(
            "SELECT body FROM notify.outbox WHERE recipient = %s AND template = %s"
            " AND created_at >= to_timestamp(%s) ORDER BY outbox_id DESC LIMIT 1",
            (DEMO_CUSTOMER_E164, "verification_code", sent_after),
        ).fetchone()
    match = re.search(r"\b(\d{4})\b", row[0]) if row else None
    return match.group(1) if match else None


def seed_customer(cluster, password: str, notify_url: str) -> dict:
    """The demo customer's actor: registered and verified like anyone (idempotent)."""
    credentials = {"login": DEMO_CUSTOMER_ACCOUNT["phone"], "password": password}
    try:
        session = cluster.identity.login(credentials, client_address=LOCAL_ADDRESS)
    except ServiceError:
        session = None
    if session is None:
        asked = time.time() - 1
        answer = ignore_existing(
            cluster.identity.register,
            {**DEMO_CUSTOMER_ACCOUNT, "password": password},
            LOCAL_ADDRESS,
        )
        if answer is None:  # registered by an earlier run that did not verify
            asked = time.time() - 1
            cluster.identity.resend_code(
                {"phone": DEMO_CUSTOMER_ACCOUNT["phone"]}, client_address=LOCAL_ADDRESS
            )
        code = None
        for _ in range(100):
            code = latest_code(notify_url, asked)
            if code:
                break
            time.sleep(0.1)
        if code is None:
            raise RuntimeError("no verification SMS for the demo customer in notify's outbox")
        cluster.identity.verify_phone({"phone": DEMO_CUSTOMER_ACCOUNT["phone"], "code": code})
        session = cluster.identity.login(credentials, client_address=LOCAL_ADDRESS)
    return cluster.identity.validate_token(session["access_token"])


def seed(amqp_uri: str, notify_url: str) -> list[dict]:
    opened = []
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
        password = demo_password()
        demo_agent = seed_identity(cluster, password)
        demo_customer = seed_customer(cluster, password, notify_url)
        for index, (department, subject, body, priority) in enumerate(DEMO_TICKETS):
            ticket = cluster.tickets.open_ticket(
                demo_customer,
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
    tickets = seed(os.environ["AMQP_URI"], os.environ["NOTIFY_DATABASE_URL"])
    print("Demo data (marked [نمونه], local use only):")
    print(
        f"  logins: {DEMO_ADMIN['username']} (admin), {DEMO_AGENT_ACCOUNT['username']} (agent),"
        f" {DEMO_CUSTOMER_ACCOUNT['phone']} (customer); password in .run/demo_password"
    )
    for ticket in tickets:
        print(f"  ticket {ticket['number'][:4]}-{ticket['number'][4:]}  {ticket['subject']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
