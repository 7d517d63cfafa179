// The panel's entry: the header (menu, language switch) and a small hash router.
// Pages: #/login #/register #/new #/tickets #/ticket/<id> (customers);
// #/agent #/agent/ticket/<id> #/overview (staff).
import { session } from "./api.js";
import { h, mount } from "./dom.js";
import { applyLang, lang, setLang, t } from "./i18n.js";
import {
  loginPage, logout, myTicketsPage, newTicketPage, registerPage, ticketPage,
} from "./customer.js";
import { agentTicketPage, queuePage } from "./agent.js";
import { overviewPage } from "./overview.js";

const STAFF = ["agent", "supervisor", "admin"];

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function role() {
  const s = session();
  return s && s.user ? s.user.role : null;
}

function renderHeader() {
  const r = role();
  const nav = document.getElementById("nav");
  const link = (href, key) => h("a", { href, "aria-current": location.hash.split("?")[0] === href ? "page" : false }, t(key));
  let items;
  if (!r) items = [link("#/login", "nav.login"), link("#/register", "nav.register")];
  else if (STAFF.includes(r)) {
    items = [link("#/agent", "nav.queue")];
    if (r !== "agent") items.push(link("#/overview", "nav.overview"));
  } else {
    items = [h("span", { class: "menu-title", id: "menu-send" }, t("nav.send_request")),
      h("span", { class: "menu-group", role: "group", "aria-labelledby": "menu-send" },
        link("#/new", "nav.new"), link("#/tickets", "nav.mine"))];
  }
  if (r) items.push(h("button", { type: "button", class: "link", onclick: () => logout(go) }, t("nav.logout")));
  nav.setAttribute("aria-label", t("app.menu"));
  nav.replaceChildren(...items);
  const switcher = document.getElementById("lang");
  switcher.textContent = t("lang.switch");
  switcher.lang = lang() === "fa" ? "en" : "fa";
  document.getElementById("brand").textContent = t("app.name");
  document.getElementById("skip").textContent = t("app.skip");
}

async function route() {
  applyLang();
  renderHeader();
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const r = role();
  try {
    if (!r) {
      if (parts[0] === "register") return registerPage(go);
      return loginPage(go);
    }
    if (STAFF.includes(r)) {
      if (parts[0] === "agent" && parts[1] === "ticket" && parts[2]) return await agentTicketPage(go, parts[2]);
      if (parts[0] === "overview") return await overviewPage(go);
      return await queuePage(go, params);
    }
    if (parts[0] === "ticket" && parts[1]) return await ticketPage(go, parts[1]);
    if (parts[0] === "tickets") return await myTicketsPage(go, params);
    if (parts[0] === "new") return await newTicketPage(go);
    return await myTicketsPage(go, params);
  } catch (error) {
    mount(h("h1", {}, t("error.generic")), h("p", { role: "alert", class: "form-error" }, error.message || t("error.network")));
  } finally {
    document.getElementById("main").setAttribute("data-ready", location.hash);
  }
  return undefined;
}

window.addEventListener("hashchange", route);
window.addEventListener("pasokh:logged-out", () => go("#/login"));
document.getElementById("lang").addEventListener("click", () => {
  setLang(lang() === "fa" ? "en" : "fa");
  route();
});
route();
