// The customer's pages: register (SMS code with a resend timer), log in, and the
// "send request" menu: a new request (the notes first) and my tickets.
import { clearSession, get, post, saveSession, session } from "./api.js";
import { field, formError, h, mount, showErrors, submitting, toast } from "./dom.js";
import { digits, formatDateTime, t } from "./i18n.js";
import {
  conversation, expectedBy, expectedByLine, filePicker, officeNotice, priorityBadge,
  statusBadge, ticketNumber,
} from "./widgets.js";

const STATUSES = ["unanswered", "under_review", "answered", "closed"];
const PRIORITIES = ["low", "normal", "high", "urgent"];

function input(name, attrs = {}) {
  return h("input", { name, id: `in-${name}`, ...attrs });
}

async function logIn(login, password) {
  const data = await post("/api/v1/auth/login", { login, password });
  saveSession(data);
  return data;
}

// -- log in --------------------------------------------------------------------------

export function loginPage(go) {
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", {}, t("login.title")),
    formError(),
    field(t("login.login"), input("login", { autocomplete: "username", required: true, dir: "ltr" }),
      t("login.login_hint")),
    field(t("login.password"), input("password", { type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
    h("p", {}, t("login.no_account"), " ", h("a", { href: "#/register" }, t("register.title"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const data = await logIn(form.elements.login.value.trim(), form.elements.password.value);
      go(["agent", "supervisor", "admin"].includes(data.user.role) ? "#/agent" : "#/tickets");
    });
  });
  mount(form);
}

// -- register, then the SMS code -------------------------------------------------------

export function registerPage(go) {
  const kind = h("select", { name: "kind", id: "in-kind" },
    h("option", { value: "person" }, t("register.person")),
    h("option", { value: "company" }, t("register.company")));
  const orgField = field(t("register.organisation"), input("organisation_name"));
  orgField.hidden = true;
  kind.addEventListener("change", () => { orgField.hidden = kind.value !== "company"; });
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", {}, t("register.title")),
    formError(),
    field(t("register.name"), input("name", { autocomplete: "name", required: true })),
    field(t("register.phone"), input("phone", { type: "tel", autocomplete: "tel", inputmode: "tel", required: true, dir: "ltr" }),
      t("register.phone_hint")),
    field(t("register.password"), input("password", { type: "password", autocomplete: "new-password", required: true }),
      t("register.password_hint")),
    field(t("register.kind"), kind),
    orgField,
    h("button", { type: "submit", class: "primary" }, t("register.submit")),
    h("p", {}, t("register.have_account"), " ", h("a", { href: "#/login" }, t("login.title"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const body = {
        kind: kind.value,
        name: form.elements.name.value.trim(),
        phone: form.elements.phone.value.trim(),
        password: form.elements.password.value,
      };
      if (kind.value === "company") body.organisation_name = form.elements.organisation_name.value.trim();
      const registered = await post("/api/v1/auth/register", body);
      codePage(go, body.phone, body.password, registered.resend_after_seconds ?? 60);
    });
  });
  mount(form);
}

function codePage(go, phone, password, resendAfter) {
  const resend = h("button", { type: "button", class: "secondary", "data-testid": "resend" });
  const timerText = h("span", { "aria-live": "polite", class: "muted" });
  let left = resendAfter;
  const tick = () => {
    if (!document.body.contains(resend)) { clearInterval(timer); return; }
    left -= 1;
    render();
  };
  const render = () => {
    resend.disabled = left > 0;
    resend.textContent = t("code.resend");
    timerText.textContent = left > 0 ? t("code.resend_in", { seconds: digits(String(left)) }) : "";
  };
  let timer = setInterval(tick, 1000);
  render();
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", {}, t("code.title")),
    h("p", {}, t("code.sent_to", { phone: digits(phone) })),
    formError(),
    field(t("code.code"), input("code", { inputmode: "numeric", autocomplete: "one-time-code", required: true, dir: "ltr" })),
    h("button", { type: "submit", class: "primary" }, t("code.submit")),
    h("p", { class: "resend-row" }, resend, " ", timerText));
  resend.addEventListener("click", () => submitting(form, async () => {
    const answer = await post("/api/v1/auth/resend-code", { phone });
    left = answer.resend_after_seconds ?? 60;
    clearInterval(timer);
    timer = setInterval(tick, 1000);
    render();
    toast(t("code.resent"));
  }).then(render));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      await post("/api/v1/auth/verify-phone", { phone, code: form.elements.code.value.trim() });
      clearInterval(timer);
      await logIn(phone, password);
      toast(t("code.welcome"));
      go("#/new");
    });
  });
  mount(form);
  form.elements.code.focus();
}

// -- a new request -------------------------------------------------------------------

export async function newTicketPage(go) {
  const notice = await officeNotice();
  const notes = h("section", { class: "card notes", "aria-labelledby": "notes-title" },
    h("h1", { id: "notes-title" }, t("new.notes_title")),
    h("ol", {}, ["one_subject", "no_repeat", "formal", "keep_number"].map((k) =>
      h("li", {}, h("strong", {}, t(`new.note.${k}.title`)), " ", t(`new.note.${k}.text`)))),
    h("button", { type: "button", class: "primary", "data-testid": "notes-read", onclick: () => showForm() },
      t("new.notes_read")));
  mount(notice, notes);

  async function showForm() {
    const departments = await get("/api/v1/departments");
    const department = h("select", { name: "department", id: "in-department", required: true },
      h("option", { value: "" }, t("new.choose_department")),
      departments.map((d) => h("option", { value: d.department_id }, d.name)));
    const priority = h("select", { name: "priority", id: "in-priority" },
      PRIORITIES.map((p) => h("option", { value: p, selected: p === "normal" }, t(`priority.${p}`))));
    const files = filePicker();
    const different = h("div", { class: "duplicate", hidden: true });
    const form = h("form", { class: "card", novalidate: true },
      h("h2", { id: "form-title", tabindex: "-1" }, t("new.title")),
      formError(),
      field(t("new.department"), department),
      field(t("new.subject"), input("subject", { required: true, maxlength: "200" }), t("new.subject_hint")),
      field(t("new.priority"), priority),
      field(t("new.body"), h("textarea", { name: "body", id: "in-body", rows: "6", required: true }), t("new.body_hint")),
      files.element,
      different,
      h("button", { type: "submit", class: "primary" }, t("new.submit")));
    let differentMatter = false;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitting(form, async () => {
        const attachmentIds = await files.take();
        try {
          const ticket = await post("/api/v1/tickets", {
            department: department.value,
            subject: form.elements.subject.value.trim(),
            body: form.elements.body.value.trim(),
            priority: priority.value,
            attachment_ids: attachmentIds,
            different_matter: differentMatter,
          });
          createdPage(ticket);
        } catch (error) {
          if (error.code === "duplicate_ticket" && error.details.existing_ticket) {
            const existing = error.details.existing_ticket;
            different.hidden = false;
            different.replaceChildren(
              h("a", { href: `#/ticket/${existing.ticket_id}` }, t("new.open_existing")), " ",
              h("button", { type: "button", class: "secondary", onclick: () => {
                differentMatter = true;
                form.requestSubmit();
              } }, t("new.different_matter")));
          }
          throw error;
        }
      });
    });
    notes.remove();
    document.getElementById("main").append(form);
    form.querySelector("#form-title").focus();
  }
}

function createdPage(ticket) {
  mount(h("section", { class: "card created", "aria-labelledby": "created-title" },
    h("h1", { id: "created-title" }, t("new.created")),
    h("p", { class: "big-number" }, t("ticket.number"), " ", ticketNumber(ticket)),
    h("p", {}, t("new.keep_number")),
    h("a", { class: "button primary", href: `#/ticket/${ticket.ticket_id}` }, t("new.view"))));
}

// -- my tickets ----------------------------------------------------------------------

export async function myTicketsPage(go, params) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const filters = h("div", { class: "filters", role: "group", "aria-label": t("tickets.filter") },
    ["", ...STATUSES].map((s) => h("a", {
      class: `chip${s === status ? " active" : ""}`,
      href: s ? `#/tickets?status=${s}` : "#/tickets",
      "aria-current": s === status ? "page" : false,
    }, s ? t(`status.${s}`) : t("tickets.all"))));
  const search = numberSearch(go, "#/ticket/");
  const page = await get("/api/v1/tickets", { status, per_page: 50 });
  const list = page.items.length
    ? h("ul", { class: "ticket-list" }, page.items.map((x) => h("li", {},
      h("a", { href: `#/ticket/${x.ticket_id}`, class: "ticket-row" },
        h("span", { class: "subject", dir: "auto" }, x.subject),
        h("span", { class: "meta" }, ticketNumber(x), " ", statusBadge(x.status), " ",
          h("time", { datetime: x.updated_at }, formatDateTime(x.updated_at)))))))
    : h("p", { class: "empty" }, t("tickets.none"));
  mount(h("h1", {}, t("tickets.title")), search, filters, list);
}

export function numberSearch(go, prefix) {
  const form = h("form", { class: "search", role: "search" },
    formError(),
    field(t("search.label"), input("number", { inputmode: "numeric", dir: "ltr", placeholder: "۱۲۳۴-۵۶۷۸" })),
    h("button", { type: "submit", class: "secondary" }, t("search.submit")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const found = await get(`/api/v1/tickets/by-number/${encodeURIComponent(form.elements.number.value.trim())}`);
      go(`${prefix}${found.ticket_id}`);
    });
  });
  return form;
}

// -- one ticket ----------------------------------------------------------------------

export async function ticketPage(go, id) {
  const ticket = await get(`/api/v1/tickets/${id}`);
  const parts = [
    h("h1", { dir: "auto" }, ticket.subject),
    h("p", { class: "meta" }, t("ticket.number"), " ", ticketNumber(ticket), " ",
      statusBadge(ticket.status), " ", priorityBadge(ticket.priority)),
  ];
  if (ticket.status === "unanswered" || ticket.status === "under_review") {
    const { target, calendarId } = await expectedBy(id);
    parts.push(expectedByLine(target), await officeNotice(calendarId));
  }
  parts.push(h("h2", {}, t("ticket.conversation")), conversation(ticket));
  const again = () => ticketPage(go, id);
  if (ticket.status !== "closed") {
    parts.push(replyForm(ticket, again), commandButton(ticket, "close", "ticket.close", "ticket.closed_toast", again));
  }
  else {
    parts.push(h("p", { class: "notice" }, t("ticket.closed_notice")));
    parts.push(commandButton(ticket, "reopen", "ticket.reopen", "ticket.reopened_toast", again));
    parts.push(ticket.rating ? h("p", { class: "rated" }, t("rating.yours", { score: digits(String(ticket.rating)) }))
      : ratingForm(ticket, again));
  }
  mount(parts);
}

function replyForm(ticket, done) {
  const files = filePicker();
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "reply-title" },
    h("h2", { id: "reply-title" }, t("reply.title")),
    h("p", { class: "hint" }, t("reply.hint")),
    formError(),
    field(t("reply.body"), h("textarea", { name: "body", id: "in-reply", rows: "4", required: true })),
    files.element,
    h("button", { type: "submit", class: "primary" }, t("reply.submit")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const ids = await files.take();
      await post(`/api/v1/tickets/${ticket.ticket_id}/replies`, { body: form.elements.body.value.trim(), attachment_ids: ids });
      toast(t("reply.sent"));
      await done();
    });
  });
  return form;
}

// A one-button command on the ticket (close, reopen), with its error shown beside it.
function commandButton(ticket, command, labelKey, doneKey, done) {
  const form = h("form", { class: "inline" },
    formError(),
    h("button", { type: "submit", class: "secondary" }, t(labelKey)));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      await post(`/api/v1/tickets/${ticket.ticket_id}/${command}`, {});
      toast(t(doneKey));
      await done();
    });
  });
  return form;
}

function ratingForm(ticket, done) {
  const stars = h("fieldset", { class: "stars" },
    h("legend", {}, t("rating.question")),
    [1, 2, 3, 4, 5].map((n) => h("label", { class: "star" },
      h("input", { type: "radio", name: "score", value: String(n), required: true }),
      ` ${digits(String(n))} `, t(`rating.${n}`))));
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "rate-title" },
    h("h2", { id: "rate-title" }, t("rating.title")),
    formError(),
    stars,
    field(t("rating.comment"), h("textarea", { name: "comment", id: "in-comment", rows: "2" })),
    h("button", { type: "submit", class: "primary" }, t("rating.submit")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const chosen = form.querySelector("input[name=score]:checked");
      if (!chosen) throw Object.assign(new Error(t("rating.choose")), { fields: {} });
      const body = { score: Number(chosen.value) };
      if (form.elements.comment.value.trim()) body.comment = form.elements.comment.value.trim();
      await post(`/api/v1/tickets/${ticket.ticket_id}/rating`, body);
      toast(t("rating.thanks"));
      await done();
    });
  });
  return form;
}

export async function logout(go) {
  const s = session();
  if (s) {
    try { await post("/api/v1/auth/logout", { refresh_token: s.refresh_token }); } catch { /* ended anyway */ }
  }
  clearSession();
  go("#/login");
}
