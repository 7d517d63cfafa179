"""Seeds a DEMO organisation's tickets for local runs (never for production).

Everything it creates is marked as demo data and uses idempotency keys, so running
``bin/start`` again seeds nothing twice. Accounts and departments move to the
identity service's own seed once that service exists.
"""

from __future__ import annotations

import os
import sys

from nameko.standalone.rpc import ClusterRpcProxy

DEMO_ORGANISATION = "demo-org"
DEMO_CUSTOMER = {"id": "demo-customer-1", "role": "customer", "organisation_id": DEMO_ORGANISATION}
DEMO_AGENT = {"id": "demo-agent-1", "role": "agent", "departments": ["technical-support"]}
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


def seed(amqp_uri: str) -> list[dict]:
    opened = []
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
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
            cluster.tickets.claim(DEMO_AGENT, {"ticket_id": first["ticket_id"]})
            cluster.tickets.post_reply(
                DEMO_AGENT,
                {"ticket_id": first["ticket_id"], "body": "[نمونه] در حال بررسی هستیم."},
            )
    return opened


def main() -> int:
    tickets = seed(os.environ["AMQP_URI"])
    print("Demo data (marked [نمونه]): organisation", DEMO_ORGANISATION)
    for ticket in tickets:
        print(f"  ticket {ticket['number'][:4]}-{ticket['number'][4:]}  {ticket['subject']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
