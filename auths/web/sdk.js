// JitWx browser SDK, served by the Go server at /jit/sdk.js.
//
//   import { app } from "/jit/sdk.js";
//   const el = app.getElement("auths.loginTypes.MyWechatLogin");
//   if (el.isWechatBrowser()) el.login("/after-login");
//   const me = await app.session();          // null when logged out
//   const devices = await app.sessions();    // this user's logins
//   el.login({ bind: true });                // attach this WeChat to `me`
//
// A plain ES module without dependencies: it must load as-is from the server,
// with no bundler, and also under Node for tests, so every browser global
// (navigator, location, window, fetch) is looked up lazily and guarded.
// Type declarations live beside it in sdk.d.ts.

const LOGIN_TYPES_PREFIX = "auths.loginTypes.";

// Dot-separated segments of letters, digits, "_" and "-". Element names become
// URL path segments, so anything that could escape the path (/, ?, #, %, ..)
// is rejected instead of encoded.
const ELEMENT_NAME = /^[\w-]+(?:\.[\w-]+)*$/;

/** The values browserKind() returns. */
export const BROWSER_KINDS = Object.freeze([
  "wecom",
  "miniprogram",
  "macwechat",
  "windowswechat",
  "wechat",
  "other",
]);

/** Error for a response the SDK cannot turn into a result. */
export class JitError extends Error {
  /**
   * @param {string} message
   * @param {{ status?: number, code?: string, cause?: unknown }} [details]
   */
  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "JitError";
    /** HTTP status, or 0 when no response arrived. */
    this.status = details.status ?? 0;
    /** The server's error code ("code" in its JSON body), or "". */
    this.code = details.code ?? "";
  }
}

function currentUserAgent() {
  return typeof navigator !== "undefined" && navigator ? navigator.userAgent : "";
}

function currentLocation() {
  return typeof location !== "undefined" && location ? location : undefined;
}

// WeChat sets window.__wxjs_environment in mini-program web-views; older
// clients do not put "miniProgram" in the UA, so this is the only signal there.
function inMiniProgramEnv() {
  return typeof window !== "undefined" && window != null && window.__wxjs_environment === "miniprogram";
}

/**
 * Classifies a user agent. The checks run in this order because each later
 * marker also appears in the earlier clients' UAs: WeCom says MicroMessenger,
 * WeChat for Mac says WindowsWechat, and so on.
 *
 * With no argument it describes the current browser, which includes the
 * mini-program flag WeChat sets on window; an explicit UA string is
 * classified on its own, so results for logged or foreign UAs do not depend
 * on where the code runs.
 *
 * @param {string | null} [ua]
 * @returns {"wecom" | "miniprogram" | "macwechat" | "windowswechat" | "wechat" | "other"}
 */
export function browserKind(ua) {
  const current = ua === undefined;
  const s = String((current ? currentUserAgent() : ua) ?? "").toLowerCase();
  if (s.includes("wxwork")) return "wecom";
  // Covers both "miniProgram" (mobile) and "MiniProgramEnv/Windows" (desktop).
  if (s.includes("miniprogram") || (current && inMiniProgramEnv())) return "miniprogram";
  if (s.includes("macwechat")) return "macwechat";
  if (s.includes("windowswechat")) return "windowswechat";
  if (s.includes("micromessenger")) return "wechat";
  return "other";
}

/**
 * Reports whether WeChat Official Account web login can run in this browser:
 * true in WeChat itself (mobile, Mac, Windows, mini-program web-views), false
 * in WeCom, whose OAuth flow is a different product, and everywhere else.
 *
 * @param {string | null} [ua]
 * @returns {boolean}
 */
export function isWechatBrowser(ua) {
  const kind = browserKind(ua);
  return kind !== "wecom" && kind !== "other";
}

// loginUrl and login take (redirectUrl?, options?) or (options?), where
// options is a plain object { redirectUrl?, bind? }. A URL or any other
// object with a prototype is a redirect URL, as before options existed.
function loginArgs(first, second) {
  if (first !== null && typeof first === "object") {
    const proto = Object.getPrototypeOf(first);
    if (proto === Object.prototype || proto === null) return [first.redirectUrl, first];
  }
  return [first, second];
}

function currentPath() {
  const loc = currentLocation();
  return loc ? `${loc.pathname}${loc.search}` : "/";
}

async function readJson(res) {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function httpError(res, what) {
  const body = await readJson(res).catch(() => undefined);
  const message = body && typeof body.message === "string" && body.message
    ? body.message
    : `${what}: HTTP ${res.status}`;
  const code = body && body.code != null ? String(body.code) : "";
  return new JitError(message, { status: res.status, code });
}

/**
 * Creates an SDK instance bound to one server.
 *
 * @param {{ baseUrl?: string, fetch?: typeof fetch }} [options]
 */
export function createApp(options = {}) {
  // Stored without a trailing slash so every route below can start with "/".
  const baseUrl = String(options.baseUrl ?? "").replace(/\/+$/, "");

  async function request(path, init, what) {
    // Resolved per call so a fetch installed (or stubbed) after import is used.
    const doFetch = options.fetch ?? globalThis.fetch;
    if (typeof doFetch !== "function") {
      throw new JitError(`${what}: fetch is not available`);
    }
    try {
      return await doFetch(baseUrl + path, {
        credentials: "same-origin",
        ...init,
        headers: { Accept: "application/json", ...(init && init.headers) },
      });
    } catch (err) {
      throw new JitError(`${what}: network error`, { cause: err });
    }
  }

  async function session() {
    // no-store: right after login or logout a cached answer would be wrong.
    const res = await request("/auths/session", { method: "GET", cache: "no-store" }, "session");
    if (res.status === 401) return null;
    if (!res.ok) throw await httpError(res, "session");
    const user = await readJson(res);
    if (user == null || typeof user !== "object" || Array.isArray(user)) {
      throw new JitError("session: response is not a JSON object", { status: res.status });
    }
    // Servers from before the user layer send no identities; callers can
    // then still iterate without a check.
    if (!Array.isArray(user.identities)) user.identities = [];
    return user;
  }

  async function sessions() {
    const res = await request("/auths/sessions", { method: "GET", cache: "no-store" }, "sessions");
    if (!res.ok) throw await httpError(res, "sessions");
    const list = await readJson(res);
    if (!Array.isArray(list)) {
      throw new JitError("sessions: response is not a JSON array", { status: res.status });
    }
    return list;
  }

  async function endSession(id) {
    // Session ids are letters and digits; anything else is a caller's bug,
    // and encoding keeps it inside the one path segment regardless.
    if (typeof id !== "string" || id === "") {
      throw new TypeError(`endSession: invalid session id ${JSON.stringify(id)}`);
    }
    const res = await request(`/auths/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }, "endSession");
    if (!res.ok) throw await httpError(res, "endSession");
  }

  async function logout(options) {
    const all = Boolean(options && options.all);
    const res = await request(all ? "/auths/logout?all=1" : "/auths/logout", { method: "POST" }, "logout");
    // 401 means there was no session to end, which is what the caller wants.
    if (!res.ok && res.status !== 401) throw await httpError(res, "logout");
  }

  async function elements() {
    const res = await request("/api/elements", { method: "GET" }, "elements");
    if (!res.ok) throw await httpError(res, "elements");
    const list = await readJson(res);
    if (!Array.isArray(list)) {
      throw new JitError("elements: response is not a JSON array", { status: res.status });
    }
    return list;
  }

  async function loginTypes() {
    const res = await request("/auths/loginTypes", { method: "GET" }, "loginTypes");
    if (!res.ok) throw await httpError(res, "loginTypes");
    const list = await readJson(res);
    if (!Array.isArray(list)) {
      throw new JitError("loginTypes: response is not a JSON array", { status: res.status });
    }
    return list;
  }

  function loginElement(fullName) {
    const route = `${baseUrl}/${fullName.split(".").join("/")}`;

    function loginUrl(redirectUrl, options) {
      [redirectUrl, options] = loginArgs(redirectUrl, options);
      const target = redirectUrl === undefined ? currentPath() : String(redirectUrl);
      const bind = options && options.bind ? "&bind=1" : "";
      return `${route}/login?redirectUrl=${encodeURIComponent(target)}${bind}`;
    }

    async function unbind() {
      const res = await request(`/${fullName.split(".").join("/")}/unbind`, { method: "POST" }, "unbind");
      if (!res.ok) throw await httpError(res, "unbind");
    }

    return Object.freeze({
      fullName,
      loginUrl,
      login(redirectUrl, options) {
        const loc = currentLocation();
        if (!loc || typeof loc.assign !== "function") {
          throw new JitError("login: no browser location to navigate; use loginUrl() instead");
        }
        loc.assign(loginUrl(redirectUrl, options));
      },
      unbind,
      isWechatBrowser,
      browserKind,
      session,
      logout,
    });
  }

  return Object.freeze({
    baseUrl,
    /**
     * @param {string} fullName
     */
    getElement(fullName) {
      if (typeof fullName !== "string" || !ELEMENT_NAME.test(fullName)) {
        throw new TypeError(`getElement: invalid element name ${JSON.stringify(fullName)}`);
      }
      if (fullName.startsWith(LOGIN_TYPES_PREFIX)) return loginElement(fullName);
      return Object.freeze({ fullName });
    },
    session,
    sessions,
    endSession,
    logout,
    elements,
    loginTypes,
  });
}

/** The SDK bound to the server that served this module. */
export const app = createApp();
