// Demo page for the WeChat Official Account login element.
import { app, browserKind } from "/jit/sdk.js";

const el = app.getElement("auths.loginTypes.DemoWechatLogin");

const VIEWS = ["loading", "signed-in", "signed-out-wechat", "signed-out-browser"];

// What the person is told when the server sends the browser back with
// ?login_error=CODE. The server's own message is no longer in the URL (a
// link could otherwise put any text on this page), so every code it can
// send has its sentence here.
const LOGIN_ERRORS = {
  state_missing: "登录链接不完整，请重新登录。",
  state_invalid: "这个登录链接不是本站发出的，请重新登录。",
  state_expired: "登录超时了，请重新登录。",
  state_used: "这个登录链接已经用过了，请重新登录。",
  state_browser_mismatch: "登录是在另一个浏览器里开始的，请在这里重新登录。",
  authorization_denied: "你取消了微信授权，没有登录。",
  code_used: "这个微信授权已经用过了，请重新登录。",
  code_invalid: "微信授权码无效或已过期，请重新登录。",
  snapshot_user: "当前是预览页面，请点击页面底部的「使用完整服务」后再登录。",
  registration_closed: "这个微信还没有注册账号，本应用暂不开放注册。",
  login_refused: "本应用拒绝了这次登录，如有疑问请联系客服。",
  identity_in_use: "这个微信已经绑定了另一个账号，没有做任何改动。",
  not_logged_in: "请先登录，再绑定微信。",
  user_disabled: "这个账号已被停用。",
  wechat_error: "微信拒绝了登录请求，请稍后再试。",
  wechat_timeout: "微信没有及时响应，请稍后再试。",
  wechat_unavailable: "暂时无法连接微信，请稍后再试。",
  login_in_progress: "登录还在进行中，请稍等片刻后刷新页面。",
  login_failed: "登录没有完成，请重试。",
  database_unavailable: "服务暂时不可用，请稍后再试。",
  invalid_redirect: "登录后要返回的地址不安全，请从本站页面重新登录。",
  login_type_not_found: "没有这种登录方式，请刷新页面后重试。",
  internal: "服务器出错了，请稍后再试。",
};

// Shown when the user has no avatar (snsapi_base) or it fails to load.
const DEFAULT_AVATAR =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 88 88"><rect width="88" height="88" fill="#dfe3e8"/>' +
      '<circle cx="44" cy="34" r="16" fill="#fff"/><path d="M14 82c4-17 16-25 30-25s26 8 30 25z" fill="#fff"/></svg>',
  );

// Local time, 24-hour: "2025/03/01 16:05".
const TIME_FORMAT = new Intl.DateTimeFormat("zh-CN", {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

const $ = (id) => document.getElementById(id);

// Creates an element with a class and text. All server- and user-supplied
// text goes through textContent: nicknames, device names, titles and error
// messages are untrusted.
function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  $("app").setAttribute("aria-busy", String(view === "loading"));
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

// The server sends the browser back with ?login_error=CODE when a login
// fails. Read it once, then drop it from the address bar so a refresh or a
// shared link does not show a stale error.
function takeLoginError() {
  const params = new URLSearchParams(location.search);
  if (!params.has("login_error")) return "";
  const code = params.get("login_error") ?? "";
  params.delete("login_error");
  params.delete("message"); // older servers sent their message too; never shown
  const query = params.toString();
  history.replaceState(history.state, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  if (Object.hasOwn(LOGIN_ERRORS, code)) return LOGIN_ERRORS[code];
  const shown = code.slice(0, 64);
  return shown ? `登录没有完成，请重试。（${shown}）` : "登录没有完成，请重试。";
}

// Only http(s) images; http is upgraded on https pages to avoid mixed content
// (WeChat's avatar host serves both).
function avatarUrl(raw) {
  if (!raw) return DEFAULT_AVATAR;
  try {
    const url = new URL(raw, location.href);
    if (url.protocol === "http:" && location.protocol === "https:") url.protocol = "https:";
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : DEFAULT_AVATAR;
  } catch {
    return DEFAULT_AVATAR;
  }
}

function formatTime(raw) {
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? "—" : TIME_FORMAT.format(d);
}

function timeTag(raw) {
  const t = h("time", "", formatTime(raw));
  t.dateTime = String(raw ?? "");
  return t;
}

// An element's title, else its full name (an element deleted since, or a
// /auths/loginTypes that failed).
function titleOf(titles, fullName) {
  return titles.get(fullName) || fullName || "—";
}

// Runs a button's action with the button disabled, so a double tap does
// not send it twice, and shows a failure with the server's (Chinese)
// message. A 401 means the session ended meanwhile: show the login again.
async function act(button, what, action) {
  button.disabled = true;
  showError("");
  try {
    await action();
  } catch (err) {
    if (err.status !== 401) showError(`${what}失败：${err.message}`);
  }
  await render();
}

function renderIdentities(user, titles, logins) {
  const list = $("identities");
  list.replaceChildren();
  const only = user.identities.length <= 1;
  for (const id of user.identities) {
    const item = h("li", "item identity");
    item.dataset.loginType = id.loginType ?? "";
    const main = h("div", "item-main");
    const title = h("span", "item-title", titleOf(titles, id.loginType));
    if (id.loginType === user.loginType && id.openid === user.openid) title.append(" ", h("span", "tag", "本次登录"));
    main.append(title, h("span", "item-sub mono", id.appId || "—"));
    if (only) main.append(h("span", "item-sub", "唯一的登录方式，不能解绑"));
    const unbind = h("button", "btn-small", "解绑");
    unbind.type = "button";
    unbind.disabled = only;
    unbind.setAttribute("aria-label", `解绑${titleOf(titles, id.loginType)}`);
    unbind.addEventListener("click", () =>
      act(unbind, "解绑", () => app.getElement(id.loginType).unbind()),
    );
    item.append(main, unbind);
    list.append(item);
  }

  // Login elements of an app the user has no identity in can be bound: a
  // WeChat login with bind=1 attaches that WeChat to this user. An identity
  // is per app (appId), whichever element of that app made it.
  const bound = new Set(user.identities.map((id) => id.appId));
  const box = $("bind-options");
  box.replaceChildren();
  for (const e of logins) {
    if (bound.has(e.appId) || !canRunHere(e)) continue;
    const button = h("button", "btn btn-outline", `绑定${e.title || e.fullName}`);
    button.type = "button";
    button.dataset.loginType = e.fullName;
    button.addEventListener("click", () => {
      button.disabled = true;
      app.getElement(e.fullName).login({ redirectUrl: location.pathname, bind: true });
    });
    box.append(button);
  }
  box.hidden = box.childElementCount === 0;
}

// Where a login element's own login page works: a website app's QR page
// (WeChatType) wants a screen to scan from, outside WeChat; a 公众号 login
// runs inside WeChat only.
function canRunHere(e) {
  const website = e.type === WEBSITE_LOGIN_TYPE;
  return el.isWechatBrowser() ? !website : website;
}

function renderSessions(sessions, error) {
  const list = $("sessions");
  list.replaceChildren();
  $("sessions-error").textContent = error;
  $("sessions-error").hidden = !error;
  // The current device first, then the most recently used.
  const sorted = [...sessions].sort(
    (a, b) => Number(b.current) - Number(a.current) || String(b.lastSeenAt).localeCompare(String(a.lastSeenAt)),
  );
  for (const s of sorted) {
    const item = h("li", "item session");
    item.dataset.current = String(Boolean(s.current));
    const main = h("div", "item-main");
    const title = h("span", "item-title", s.userAgent || "未知设备");
    if (s.current) title.append(" ", h("span", "tag", "当前设备"));
    const created = h("span", "item-sub", "登录于 ");
    created.append(timeTag(s.createdAt));
    const seen = h("span", "item-sub", "最近活动 ");
    seen.append(timeTag(s.lastSeenAt));
    main.append(title, created, seen);
    item.append(main);
    if (!s.current) {
      const end = h("button", "btn-small", "退出");
      end.type = "button";
      end.setAttribute("aria-label", `让${s.userAgent || "这台设备"}退出登录`);
      end.addEventListener("click", () =>
        act(end, "退出设备", async () => {
          try {
            await app.endSession(s.id);
          } catch (err) {
            // Already ended elsewhere: the list is refreshed either way.
            if (err.code !== "session_not_found") throw err;
          }
        }),
      );
      item.append(end);
    }
    list.append(item);
  }
}

function renderSignedIn(user, logins, sessions, sessionsError) {
  const titles = new Map(logins.map((e) => [e.fullName, e.title]));
  const avatar = $("avatar");
  avatar.onerror = () => {
    avatar.onerror = null;
    avatar.src = DEFAULT_AVATAR;
  };
  avatar.src = avatarUrl(user.headimgurl);
  $("nickname").textContent = user.nickname || "微信用户";
  $("user-id").textContent = user.userId || "—";
  $("openid").textContent = user.openid || "—";
  $("login-type").textContent = titleOf(titles, user.loginType);
  renderIdentities(user, titles, logins);
  renderSessions(sessions, sessionsError);
  show("signed-in");
}

function renderSignedOut(logins) {
  if (el.isWechatBrowser()) {
    stopQrLogin();
    show("signed-out-wechat");
    return;
  }
  // WeCom's browser cannot do a 公众号 login itself, but a phone can.
  $("wecom-notice").hidden = browserKind() !== "wecom";
  renderWebsiteLogins(logins);
  showDevTools();
  show("signed-out-browser");
  startQrLogin();
}

// --- Cross-device login: this (desktop) page shows a QR code, a phone
// scans it in WeChat and confirms, and this page is then logged in.

const QR_CAPTIONS = {
  loading: "正在生成二维码…",
  waiting: "请用微信扫码登录",
  scanned: "已扫码，请在手机上确认",
  confirmed: "已确认，正在登录…",
  expired: "二维码已过期",
  denied: "已取消登录",
};

let qrLogin = null; // the QR login in progress, { cancel, promise }
let scanUrl = ""; // the link the QR code holds

function stopQrLogin() {
  const running = qrLogin;
  qrLogin = null;
  scanUrl = "";
  if (running) running.cancel();
}

// Draws the QR box for a status: the caption below the code, and over the
// code a check (scanned) or a message with 刷新 (the code is used up).
// message, when given, replaces the caption (server text: textContent).
function showQrStatus(status, message) {
  $("qr-box").dataset.status = status;
  $("qr-caption").textContent = message ?? QR_CAPTIONS[status] ?? QR_CAPTIONS.waiting;
  const ended = status === "expired" || status === "denied" || status === "error";
  const scanned = status === "scanned" || status === "confirmed";
  $("qr-overlay").hidden = !(ended || scanned);
  $("qr-overlay-check").toggleAttribute("hidden", !scanned); // an SVG element: no .hidden
  $("qr-overlay-text").textContent = scanned ? "已扫码" : ended ? (status === "error" ? "二维码加载失败" : QR_CAPTIONS[status]) : "";
  $("qr-refresh").hidden = !ended;
  $("qr-refresh").disabled = false;
  $("qr-simulate").disabled = !scanUrl || ended || status === "confirmed";
  $("qr-placeholder").hidden = status !== "loading";
  $("qrcode").hidden = status === "loading";
}

function startQrLogin() {
  stopQrLogin();
  $("qrcode").removeAttribute("src");
  showQrStatus("loading");
  const login = el.qrLogin({
    onStatus(s) {
      if (qrLogin !== login) return;
      if (s.status === "waiting" && s.qrCodeUrl) {
        scanUrl = s.url;
        $("qrcode").src = s.qrCodeUrl;
      }
      showQrStatus(s.status);
    },
  });
  qrLogin = login;
  login.promise.then(
    () => {
      if (qrLogin !== login) return;
      qrLogin = null;
      // Logged in: draw the signed-in view from the server's state, as
      // after any login, without reloading the page.
      render();
    },
    (err) => {
      if (qrLogin !== login || err.code === "cancelled") return;
      qrLogin = null;
      if (err.code === "qr_expired") showQrStatus("expired");
      else if (err.code === "qr_denied") showQrStatus("denied");
      else showQrStatus("error", qrErrorText(err));
    },
  );
}

// The caption for a QR login that failed otherwise. The server's refusals
// (ticket_not_found, cross_site, …) carry a Chinese message, shown as
// text; the SDK's own messages ("qrLogin: …") are English, for developers.
function qrErrorText(err) {
  if (err.status === 0) return "网络连接失败，请检查网络后刷新。";
  const message = typeof err.message === "string" ? err.message : "";
  if (err.code && message && !message.startsWith("qrLogin:")) return message;
  return "二维码出错了，请刷新。";
}

$("qr-refresh").addEventListener("click", (e) => {
  e.currentTarget.disabled = true;
  startQrLogin();
});

// Dev mode: the phone's part runs in a new tab of this browser, through the
// simulator's authorize page, so the whole flow works on one machine.
$("qr-simulate").addEventListener("click", () => {
  if (scanUrl) window.open(scanUrl, "_blank");
});

// Dev mode is when the WeChat simulator is mounted at /_wechat (jit serve
// without --app, jit.WithDevSimulator). The page is the same file in both
// modes, so it asks the server: the simulator serves its avatars at
// /_wechat/avatar/N.svg, a route with no side effects (the authorize page
// would count as a WeChat call), and without the simulator the app answers
// that path with its JSON 404. Asked once per page load, never cached.
let devMode;
function isDevMode() {
  devMode ??= fetch("/_wechat/avatar/0.svg", { method: "HEAD", cache: "no-store" })
    .then((res) => res.ok && (res.headers.get("Content-Type") ?? "").startsWith("image/svg+xml"))
    .catch(() => false);
  return devMode;
}

function showDevTools() {
  isDevMode().then((dev) => {
    $("dev-tools").hidden = !dev;
  });
}

// WeChat website-app logins (微信开放平台 网站应用, auths.loginTypes.WeChatType):
// WeChat's own QR page, for apps that have an Open Platform account too.
const WEBSITE_LOGIN_TYPE = "auths.loginTypes.WeChatType";

function renderWebsiteLogins(logins) {
  const box = $("website-logins");
  box.replaceChildren();
  const sites = logins.filter((e) => e.type === WEBSITE_LOGIN_TYPE);
  for (const e of sites) {
    const label = sites.length > 1 ? `网站应用扫码登录（${e.title || e.fullName}）` : "网站应用扫码登录";
    const button = h("button", "btn btn-outline", label);
    button.type = "button";
    button.dataset.loginType = e.fullName;
    button.addEventListener("click", () => {
      button.disabled = true;
      stopQrLogin();
      app.getElement(e.fullName).login(location.pathname);
    });
    box.append(button);
  }
  box.hidden = sites.length === 0;
}

function resetButtons() {
  for (const id of ["wechat-login", "continue-here", "logout", "logout-all"]) $(id).disabled = false;
  $("wechat-login").textContent = "微信登录";
}

// Renders the page from the server's state. Overlapping calls (a click
// during a reload) are fine: only the latest one draws.
let renders = 0;
async function render() {
  const mine = ++renders;
  // A new render shows a new QR code if it is still needed.
  stopQrLogin();
  resetButtons();
  show("loading");
  // Element titles are only labels: without them the full names show.
  const loginsPending = app.loginTypes().catch(() => []);
  let user;
  try {
    user = await el.session();
  } catch (err) {
    showError(`无法获取登录状态：${err.message}`);
    user = null;
  }
  let sessions = [];
  let sessionsError = "";
  if (user) {
    try {
      sessions = await app.sessions();
    } catch (err) {
      if (err.status === 401) user = null; // ended between the two requests
      else sessionsError = `无法获取登录设备：${err.message}`;
    }
  }
  const logins = await loginsPending;
  if (mine !== renders) return;
  if (user) renderSignedIn(user, logins, sessions, sessionsError);
  else renderSignedOut(logins);
}

// Disabling the button keeps an impatient double tap from starting two
// authorizations, whose callbacks would race for the same session.
function startLogin(button) {
  button.disabled = true;
  stopQrLogin();
  if (button.id === "wechat-login") button.textContent = "正在跳转…";
  el.login(location.pathname);
}

$("wechat-login").addEventListener("click", (e) => startLogin(e.currentTarget));
$("continue-here").addEventListener("click", (e) => startLogin(e.currentTarget));

$("logout").addEventListener("click", (e) => act(e.currentTarget, "退出登录", () => app.logout()));
$("logout-all").addEventListener("click", (e) =>
  act(e.currentTarget, "退出所有设备", () => app.logout({ all: true })),
);

// Coming back with the Back button may restore this page from the
// back/forward cache, with a login state that is no longer true.
addEventListener("pageshow", (e) => {
  if (e.persisted) render();
});

showError(takeLoginError());
render();
