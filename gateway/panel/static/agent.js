// The agent's pages: the department queue in the seed's order (the customer who has
// waited longest first) with SLA due times and at-risk marks, and one ticket with
// claim, reply, internal note, transfer, priority, merge, close and its audit trail.
import { get, post, session } from "./api.js";
import { field, formError, h, mount, submitting, toast } from "./dom.js";
import { formatDateTime, t } from "./i18n.js";
import { numberSearch } from "./customer.js";
import { conversation, filePicker, priorityBadge, statusBadge, ticketNumber } from "./widgets.js";

const PRIORITIES = ["low", "normal", "high", "urgent"];

// "At risk" is the sla service's own verdict (its SlaWarning: the policy's warning
// share of the target is used up), not a guess from the wall clock: business hours,
// holidays and the policy decide when a ticket is at risk.
export function dueMark(deadline, atRisk = false, now = Date.now()) {
  if (!deadline) return h("span", { class: "muted" }, t("queue.no_deadline"));
  const left = new Date(deadline).getTime() - now;
  const mark = left < 0 ? "breached" : atRisk ? "at-risk" : "on-time";
  return h("span", { class: `due ${mark}` },
    h("time", { datetime: deadline }, formatDateTime(deadline)),
    mark === "on-time" ? null : h("span", { class: "badge" }, t(`queue.${mark}`)));
}

async function myDepartments() {
  const user = (session() || {}).user || {};
  const all = await get("/api/v1/departments");
  const mine = user.departments && user.departments.length ? user.departments : all.map((d) => d.department_id);
  return all.filter((d) => mine.includes(d.department_id));
}

export async function queuePage(go, params) {
  const departments = await myDepartments();
  const chosen = params.get("department") || (departments[0] || {}).department_id;
  const picker = h("select", { name: "department", id: "in-queue-department" },
    departments.map((d) => h("option", { value: d.department_id, selected: d.department_id === chosen }, d.name)));
  picker.addEventListener("change", () => go(`#/agent?department=${encodeURIComponent(picker.value)}`));
  const parts = [h("h1", {}, t("queue.title")), numberSearch(go, "#/agent/ticket/"), field(t("queue.department"), picker)];
  if (!chosen) { mount(parts, h("p", { class: "empty" }, t("queue.no_department"))); return; }
  const page = await get(`/api/v1/departments/${encodeURIComponent(chosen)}/queue`, { per_page: 100 });
  const rows = page.items.map((x) => {
    const claim = x.assignee_id ? null : h("button", {
      type: "button",
      class: "secondary small",
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await post(`/api/v1/tickets/${x.ticket_id}/claim`, {});
          go(`#/agent/ticket/${x.ticket_id}`);
        } catch (error) {
          toast(error.message);
          e.target.disabled = false;
        }
      },
    }, t("queue.claim"));
    return h("li", { class: "queue-row" },
      h("a", { href: `#/agent/ticket/${x.ticket_id}`, class: "subject", dir: "auto" }, x.subject),
      h("span", { class: "meta" }, ticketNumber(x), " ", statusBadge(x.status), " ", priorityBadge(x.priority)),
      h("span", { class: "meta" }, t("queue.waiting_since"), " ",
        h("time", { datetime: x.last_customer_message_at }, formatDateTime(x.last_customer_message_at))),
      h("span", { class: "meta" }, t("queue.due"), " ", dueMark(x.sla_deadline, x.sla_at_risk)),
      claim);
  });
  mount(parts,
    h("p", { class: "hint" }, t("queue.order")),
    rows.length ? h("ol", { class: "queue" }, rows) : h("p", { class: "empty" }, t("queue.empty")));
}

function actionForm(title, controls, submitText, work, extraClass = "") {
  const form = h("form", { class: `card action ${extraClass}`, novalidate: true },
    h("h3", {}, title), formError(), controls, h("button", { type: "submit", class: "secondary" }, submitText));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, () => work(form));
  });
  return form;
}

export async function agentTicketPage(go, id) {
  const ticket = await get(`/api/v1/tickets/${id}`);
  const reload = () => agentTicketPage(go, id);
  const path = `/api/v1/tickets/${id}`;
  const me = ((session() || {}).user || {}).id;
  const departments = await get("/api/v1/departments");
  let deadlines = null;
  try { deadlines = await get(`${path}/deadlines`); } catch { deadlines = null; }

  const header = [
    h("p", {}, h("a", { href: `#/agent?department=${encodeURIComponent(ticket.department)}` }, t("queue.back"))),
    h("h1", { dir: "auto" }, ticket.subject),
    h("p", { class: "meta" }, t("ticket.number"), " ", ticketNumber(ticket), " ", statusBadge(ticket.status), " ",
      priorityBadge(ticket.priority), " ",
      ticket.assignee_id ? t(ticket.assignee_id === me ? "ticket.assigned_me" : "ticket.assigned_other") : t("ticket.unassigned")),
  ];
  const targets = deadlines && deadlines.targets && deadlines.targets.length ? h("ul", { class: "targets" },
    deadlines.targets.map((x) => h("li", {}, `${t(`target.${x.target}`)} (${t(`clock.${x.status}`)}): `,
      x.deadline ? dueMark(x.status === "running" ? x.deadline.utc : null, Boolean(x.warned_at)) : "–"))) : null;

  const actions = [];
  if (ticket.status !== "closed") {
    if (!ticket.assignee_id) {
      actions.push(actionForm(t("agent.claim_title"), null, t("queue.claim"), async () => {
        await post(`${path}/claim`, {}); await reload();
      }));
    } else if (ticket.assignee_id === me) {
      actions.push(actionForm(t("agent.release_title"), null, t("agent.release"), async () => {
        await post(`${path}/release`, {}); await reload();
      }));
    }
    const files = filePicker();
    actions.push(actionForm(t("agent.reply_title"),
      [field(t("reply.body"), h("textarea", { name: "body", id: "in-agent-reply", rows: "5", required: true })), files.element],
      t("reply.submit"), async (form) => {
        const ids = await files.take();
        await post(`${path}/replies`, { body: form.elements.body.value.trim(), attachment_ids: ids });
        toast(t("reply.sent")); await reload();
      }, "reply"));
    actions.push(actionForm(t("agent.note_title"),
      [h("p", { class: "note-warning" }, t("message.note_hidden")),
        field(t("agent.note"), h("textarea", { name: "body", id: "in-note", rows: "3", required: true }))],
      t("agent.note_submit"), async (form) => {
        await post(`${path}/notes`, { body: form.elements.body.value.trim() });
        toast(t("agent.note_saved")); await reload();
      }, "note-form"));
    actions.push(actionForm(t("agent.priority_title"),
      field(t("new.priority"), h("select", { name: "priority", id: "in-set-priority" },
        PRIORITIES.map((p) => h("option", { value: p, selected: p === ticket.priority }, t(`priority.${p}`))))),
      t("agent.priority_submit"), async (form) => {
        await post(`${path}/priority`, { priority: form.elements.priority.value }); await reload();
      }));
    actions.push(actionForm(t("agent.transfer_title"), [
      field(t("new.department"), h("select", { name: "to_department", id: "in-transfer" },
        departments.filter((d) => d.department_id !== ticket.department)
          .map((d) => h("option", { value: d.department_id }, d.name)))),
      field(t("agent.reason"), h("input", { name: "reason", id: "in-transfer-reason" }))],
    t("agent.transfer_submit"), async (form) => {
      const body = { to_department: form.elements.to_department.value };
      if (form.elements.reason.value.trim()) body.reason = form.elements.reason.value.trim();
      await post(`${path}/transfer`, body); toast(t("agent.transferred")); go("#/agent");
    }));
    actions.push(actionForm(t("agent.merge_title"),
      field(t("agent.merge_into"), h("input", { name: "into_number", id: "in-merge", dir: "ltr", inputmode: "numeric" })),
      t("agent.merge_submit"), async (form) => {
        await post(`${path}/merge`, { into_number: form.elements.into_number.value.trim() }); await reload();
      }));
    actions.push(actionForm(t("agent.close_title"),
      field(t("agent.reason"), h("input", { name: "reason", id: "in-close-reason" })),
      t("ticket.close"), async (form) => {
        const body = {};
        if (form.elements.reason.value.trim()) body.reason = form.elements.reason.value.trim();
        await post(`${path}/close`, body); toast(t("ticket.closed_toast")); await reload();
      }));
  }

  const trail = h("details", { class: "card audit" },
    h("summary", {}, t("audit.title")),
    h("div", { class: "audit-body" }, t("audit.loading")));
  trail.addEventListener("toggle", async () => {
    if (!trail.open || trail.dataset.loaded) return;
    trail.dataset.loaded = "1";
    const entries = await get(`${path}/history`);
    trail.querySelector(".audit-body").replaceChildren(h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, t("audit.title")),
      h("thead", {}, h("tr", {}, ["audit.when", "audit.event", "audit.who", "audit.request"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, entries.map((e) => h("tr", {},
        h("td", {}, h("time", { datetime: e.recorded_at }, formatDateTime(e.recorded_at))),
        h("td", {}, t(`event.${e.type}`) === `event.${e.type}` ? e.type : t(`event.${e.type}`)),
        h("td", {}, `${t(`role.${e.actor_role}`) || e.actor_role}`),
        h("td", { dir: "ltr" }, h("code", {}, e.correlation_id || ""))))))));
  });

  mount(header, targets, h("h2", {}, t("ticket.conversation")), conversation(ticket),
    h("section", { class: "actions", "aria-label": t("agent.actions") }, actions), trail);
}
