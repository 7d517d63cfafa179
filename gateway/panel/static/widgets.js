// Pieces both panels use: status and priority badges, the conversation, the file
// picker with its 10 MB check and upload progress, the SLA "answer expected by" line
// and the office-closed notice.
import { download, get, MAX_FILE_BYTES, tooLarge, upload } from "./api.js";
import { field, h, toast, uid } from "./dom.js";
import { digits, formatDateTime, formatSize, jalaliText, lang, t, tehranToday } from "./i18n.js";

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, t(`status.${status}`));
}

export function priorityBadge(priority) {
  return h("span", { class: `badge priority-${priority}` }, t(`priority.${priority}`));
}

export function ticketNumber(ticket) {
  // Lists carry the bare number; it is read out (on the phone) in two groups of four.
  const bare = ticket.number || "";
  const shown = ticket.number_display || (/^\d{8}$/.test(bare) ? `${bare.slice(0, 4)}-${bare.slice(4)}` : bare);
  return h("bdi", { class: "number", dir: "ltr" }, digits(shown));
}

export function attachmentList(attachments) {
  if (!attachments || !attachments.length) return null;
  return h("ul", { class: "attachments", "aria-label": t("ticket.attachments") },
    attachments.map((a) => h("li", {},
      h("button", {
        type: "button",
        class: "link",
        onclick: () => download(a).catch((e) => toast(e.message)),
      }, a.name),
      h("span", { class: "muted" }, ` (${formatSize(a.size)})`))));
}

export function conversation(ticket) {
  return h("ol", { class: "conversation", "aria-label": t("ticket.conversation") },
    (ticket.messages || []).map((m) => {
      const note = m.kind === "internal_note";
      const mine = m.author_role === "customer";
      const who = note ? t("message.note") : t(`role.${m.author_role}`) || m.author_role;
      return h("li", { class: `message ${note ? "note" : mine ? "from-customer" : "from-staff"}` },
        h("article", { "aria-label": who },
          h("header", {},
            h("strong", {}, who),
            h("time", { datetime: m.created_at }, formatDateTime(m.created_at))),
          note ? h("p", { class: "note-warning" }, t("message.note_hidden")) : null,
          h("p", { class: "body", dir: "auto" }, m.body),
          attachmentList(m.attachments)));
    }));
}

// A file input that refuses files over 10 MB before anything is sent, and a
// progress bar for the upload. ``take()`` uploads and answers the attachment ids.
export function filePicker() {
  const input = h("input", { type: "file", name: "attachments", multiple: true });
  const list = h("ul", { class: "files" });
  const progress = h("progress", { max: "100", value: "0", hidden: true, id: uid("progress") });
  const progressLabel = h("label", { for: progress.id, hidden: true }, t("files.uploading"));
  input.addEventListener("change", () => {
    const big = tooLarge(input.files);
    list.replaceChildren(...[...input.files].map((f) =>
      h("li", { class: f.size > MAX_FILE_BYTES ? "too-big" : "" },
        `${f.name} (${formatSize(f.size)})`,
        f.size > MAX_FILE_BYTES ? ` — ${t("files.too_big")}` : "")));
    input.setCustomValidity(big.length ? t("files.too_big_named", { name: big[0].name }) : "");
    const error = document.getElementById(`${input.id}-error`);
    if (error) error.textContent = big.length ? t("files.too_big_named", { name: big[0].name }) : "";
  });
  const wrapper = field(t("files.label"), input, t("files.hint"));
  wrapper.append(list, progressLabel, progress);
  return {
    element: wrapper,
    async take() {
      const files = [...input.files];
      if (tooLarge(files).length) {
        const error = new Error(t("files.too_big_named", { name: tooLarge(files)[0].name }));
        error.fields = { attachments: [error.message] };
        throw error;
      }
      if (!files.length) return [];
      progress.hidden = false;
      progressLabel.hidden = false;
      const uploaded = await upload(files, (share) => {
        progress.value = String(Math.round(share * 100));
        progress.textContent = `${Math.round(share * 100)}%`;
      });
      progress.value = "100";
      return uploaded.map((a) => a.attachment_id);
    },
  };
}

// "Answer expected by" from the SLA service: the nearest running deadline, in
// Jalali date and Tehran time (the gateway adds deadline_tehran), and the calendar
// the ticket's department works by: {target, calendarId}.
export async function expectedBy(ticketId, tries = 5) {
  for (let attempt = 0; attempt < tries; attempt += 1) {
    try {
      const deadlines = await get(`/api/v1/tickets/${ticketId}/deadlines`);
      const running = (deadlines.targets || [])
        .filter((x) => x.status === "running" && x.deadline_tehran && x.target !== "resolution")
        .sort((a, b) => (a.deadline.utc < b.deadline.utc ? -1 : 1));
      return { target: running[0] || null, calendarId: deadlines.calendar_id };
    } catch (error) {
      // sla may not have applied the ticket's first event yet: ask again shortly.
      if (error.status !== 404) break;
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  }
  return { target: null, calendarId: "default" };
}

export function expectedByLine(target) {
  if (!target) return null;
  const when = target.deadline_tehran;
  return h("p", { class: "expected", "data-testid": "expected-by" },
    h("strong", {}, t("sla.expected_by")), " ",
    digits(`${lang() === "fa" ? when.weekday_fa + " " : ""}${jalaliText(when.jalali_date)}`), " ",
    t("sla.at"), " ", digits(when.tehran_time), " ", t("sla.tehran_time"));
}

// Whether the office is open now, from the calendar month the SLA service serves:
// closed at night, on the weekly days off (Thursday/Friday), and on holidays, named.
export async function officeNotice(calendarId = "default") {
  const today = tehranToday();
  let month;
  try {
    month = await get(`/api/v1/calendars/${calendarId}/months/${today.year}/${today.month}`);
  } catch {
    return null;
  }
  const day = (month.days || []).find((d) => d.jalali === today.jalali);
  if (!day) return null;
  const weekday = lang() === "fa" ? day.weekday_fa : day.weekday_en;
  let text = null;
  if (day.holidays && day.holidays.length) {
    const names = day.holidays.map((x) => (lang() === "fa" ? x.name_fa : x.name_en)).join("، ");
    text = t("office.holiday", { name: names });
  } else if (!day.working_intervals.length) {
    text = t("office.day_off", { weekday });
  } else {
    const open = day.working_intervals.some((span) => {
      const [from, to] = span.split("-");
      return today.time >= from && today.time < to;
    });
    if (!open) text = t("office.night", { hours: digits(day.working_intervals.join("، ")) });
  }
  if (!text) return null;
  return h("div", { class: "notice office-closed", role: "note", "data-testid": "office-closed" },
    h("strong", {}, t("office.closed")), " ", text, " ", t("office.later"));
}
