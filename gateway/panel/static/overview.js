// Supervisors: one card per department with its open tickets by status, SLA breaches
// today and the average first response in business hours
// (GET /api/v1/departments/<id>/overview).
import { get, session } from "./api.js";
import { h, mount } from "./dom.js";
import { digits, t } from "./i18n.js";
import { statusBadge } from "./widgets.js";

const OPEN = ["unanswered", "under_review", "answered"];

// Business seconds as hours:minutes.
function hoursMinutes(seconds) {
  if (seconds === null || seconds === undefined) return t("overview.none");
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return digits(`${hours}:${String(minutes).padStart(2, "0")}`);
}

export async function overviewPage() {
  const user = (session() || {}).user || {};
  const all = await get("/api/v1/departments");
  const mine = user.role === "admin" ? all : all.filter((d) => (user.departments || []).includes(d.department_id));
  const cards = await Promise.all(mine.map(async (d) => {
    const o = await get(`/api/v1/departments/${encodeURIComponent(d.department_id)}/overview`);
    return h("section", { class: "card overview", "aria-labelledby": `ov-${d.department_id}`, "data-department": d.department_id },
      h("h2", { id: `ov-${d.department_id}` }, d.name),
      h("dl", {},
        OPEN.map((s) => [h("dt", {}, statusBadge(s)), h("dd", { "data-status": s }, digits(String(o.open_by_status[s] || 0)))]),
        h("dt", {}, t("overview.breaches_today")),
        h("dd", { class: o.breaches_today ? "bad" : "", "data-testid": "breaches" }, digits(String(o.breaches_today))),
        h("dt", {}, t("overview.avg_first_response", { days: digits(String(o.window_days)) })),
        h("dd", { "data-testid": "average" }, hoursMinutes(o.average_first_response_business_seconds))));
  }));
  mount(h("h1", {}, t("overview.title")), h("p", { class: "hint" }, t("overview.hint")),
    cards.length ? h("div", { class: "grid" }, cards) : h("p", { class: "empty" }, t("queue.no_department")));
}
