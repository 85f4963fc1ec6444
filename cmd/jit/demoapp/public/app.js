// Demo page for the WeChat Official Account login element.
import { app, browserKind } from "/jit/sdk.js";

const el = app.getElement("auths.loginTypes.DemoWechatLogin");

const VIEWS = ["loading", "signed-in", "signed-out-wechat", "signed-out-browser"];

// Shown when the user has no avatar (snsapi_base) or it fails to load.
const DEFAULT_AVATAR =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 88 88"><rect width="88" height="88" fill="#dfe3e8"/>' +
      '<circle cx="44" cy="34" r="16" fill="#fff"/><path d="M14 82c4-17 16-25 30-25s26 8 30 25z" fill="#fff"/></svg>',
  );

const $ = (id) => document.getElementById(id);

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  $("app").setAttribute("aria-busy", String(view === "loading"));
}

// All server- and user-supplied text goes through textContent: nicknames and
// error messages are untrusted.
function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

// The server sends the browser back with ?login_error=CODE&message=... when a
// login fails. Read it once, then drop it from the address bar so a refresh or
// a shared link does not show a stale error.
function takeLoginError() {
  const params = new URLSearchParams(location.search);
  if (!params.has("login_error")) return "";
  const code = params.get("login_error");
  const message = params.get("message");
  params.delete("login_error");
  params.delete("message");
  const query = params.toString();
  history.replaceState(history.state, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  const text = message || "登录没有完成，请重试。";
  return code ? `登录失败：${text}（${code}）` : `登录失败：${text}`;
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

function renderSignedIn(user) {
  const avatar = $("avatar");
  avatar.onerror = () => {
    avatar.onerror = null;
    avatar.src = DEFAULT_AVATAR;
  };
  avatar.src = avatarUrl(user.headimgurl);
  $("nickname").textContent = user.nickname || "微信用户";
  $("openid").textContent = user.openid || "—";
  $("login-type").textContent = user.loginType || "—";
  show("signed-in");
}

function renderSignedOut() {
  if (el.isWechatBrowser()) {
    show("signed-out-wechat");
    return;
  }
  $("not-wechat-detail").textContent =
    browserKind() === "wecom"
      ? "你正在使用企业微信。微信公众号登录只能在微信中完成，请用微信“扫一扫”扫描下方二维码。"
      : "微信公众号登录只能在微信内置浏览器中完成。请用微信“扫一扫”扫描下方二维码，在微信中登录。";
  // Set only here so visitors inside WeChat never request the image. The
  // server turns this relative path into an absolute URL on its own host.
  $("qrcode").src = "/jit/qrcode.png?path=" + encodeURIComponent(el.loginUrl(location.pathname));
  show("signed-out-browser");
}

function resetButtons() {
  for (const id of ["wechat-login", "continue-here", "logout"]) $(id).disabled = false;
  $("wechat-login").textContent = "微信登录";
}

async function render() {
  resetButtons();
  show("loading");
  let user;
  try {
    user = await el.session();
  } catch (err) {
    showError(`无法获取登录状态：${err.message}`);
    user = null;
  }
  if (user) renderSignedIn(user);
  else renderSignedOut();
}

// Disabling the button keeps an impatient double tap from starting two
// authorizations, whose callbacks would race for the same session.
function startLogin(button) {
  button.disabled = true;
  if (button.id === "wechat-login") button.textContent = "正在跳转…";
  el.login(location.pathname);
}

$("wechat-login").addEventListener("click", (e) => startLogin(e.currentTarget));
$("continue-here").addEventListener("click", (e) => startLogin(e.currentTarget));

$("logout").addEventListener("click", async (e) => {
  e.currentTarget.disabled = true;
  showError("");
  try {
    await el.logout();
  } catch (err) {
    showError(`退出登录失败：${err.message}`);
  }
  await render();
});

// Coming back with the Back button may restore this page from the
// back/forward cache, with a login state that is no longer true.
addEventListener("pageshow", (e) => {
  if (e.persisted) render();
});

showError(takeLoginError());
render();
