// JitWx browser SDK, served by the Go server at /jit/sdk.js.
//
//   import { app } from "/jit/sdk.js";
//   const el = app.getElement("auths.loginTypes.MyWechatLogin");
//   if (el.isWechatBrowser()) el.login("/after-login");
//   const me = await app.session();          // null when logged out
//   const devices = await app.sessions();    // this user's logins
//   el.login({ bind: true });                // attach this WeChat to `me`
//   const { promise, cancel } = el.qrLogin({ onStatus });  // desktop: log in by a phone scanning a QR
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

// qrLogin's statuses that end a login.
const QR_FINAL = new Set(["confirmed", "denied", "expired"]);

// The longest wait the server accepts for one long poll, in seconds.
const QR_MAX_WAIT = 25;

// A long poll that gets no answer this long after its wait is given up and
// retried: a proxy may hold a dead connection open without failing it.
const QR_POLL_GRACE_MS = 15000;

// Pauses before the retries of a request that failed on the network or
// with a 5xx; their count is the number of retries.
const QR_RETRY_DELAYS = Object.freeze([1000, 2000, 4000]);

function cancelledError() {
  return new JitError("qrLogin: cancelled", { code: "cancelled" });
}

// Resolves after ms, or rejects at once when signal aborts.
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelledError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

// The path and query of an absolute or site-relative URL: what
// /jit/qrcode.png takes (it draws this site's origin in front).
function pathAndQuery(url) {
  const loc = currentLocation();
  const u = new URL(url, loc && loc.href ? loc.href : "http://localhost/");
  return u.pathname + u.search;
}

function isRetryable(res) {
  return res.status >= 500 || res.status === 429;
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

    // qrLogin: a login of this (desktop) browser by a phone that scans a
    // QR code. See sdk.d.ts for the contract; the steps are
    //   POST qr                           → {ticket, url, expiresIn} + a cookie
    //   GET  qr/<ticket>?wait=&since=     → {status}, a long poll, repeated
    //   GET  /auths/session               after "confirmed"
    function qrLogin(options = {}) {
      const onStatus = options.onStatus;
      if (onStatus !== undefined && typeof onStatus !== "function") {
        throw new TypeError("qrLogin: onStatus must be a function");
      }
      const waitOpt = Number(options.wait ?? QR_MAX_WAIT);
      const wait = Number.isFinite(waitOpt) ? Math.min(QR_MAX_WAIT, Math.max(0, Math.floor(waitOpt))) : QR_MAX_WAIT;
      const retryDelays = Array.isArray(options.retryDelays) ? options.retryDelays.map(Number) : QR_RETRY_DELAYS;
      const signal = options.signal;
      const path = `/${fullName.split(".").join("/")}`;

      // Aborted by cancel() and when the login ends: stops the request in
      // flight, a pause between retries, and every later step.
      const stop = new AbortController();
      let done = false;
      let resolveLogin, rejectLogin;
      const promise = new Promise((resolve, reject) => {
        resolveLogin = resolve;
        rejectLogin = reject;
      });
      const finish = (settle, value) => {
        if (done) return;
        done = true;
        stop.abort();
        if (signal) signal.removeEventListener("abort", cancel);
        settle(value);
      };
      function cancel() {
        finish(rejectLogin, cancelledError());
      }

      function checkStopped() {
        if (stop.signal.aborted) throw cancelledError();
      }

      // One request with its own deadline, aborted too when the login stops.
      async function send(route, init, what, timeoutMs) {
        checkStopped();
        const ctl = new AbortController();
        const onStop = () => ctl.abort();
        stop.signal.addEventListener("abort", onStop, { once: true });
        const timer = timeoutMs > 0 ? setTimeout(() => ctl.abort(), timeoutMs) : undefined;
        try {
          const res = await request(route, { ...init, signal: ctl.signal }, what);
          // The body is read here, under the same deadline: a long poll's
          // answer can stall after its headers too.
          const text = await res.text().catch((err) => {
            throw new JitError(`${what}: network error`, { cause: err });
          });
          return { status: res.status, ok: res.ok, text };
        } finally {
          clearTimeout(timer);
          stop.signal.removeEventListener("abort", onStop);
        }
      }

      // send, retried after network errors and 5xx answers with the pauses
      // of retryDelays; other answers are the caller's to judge.
      async function sendWithRetries(route, init, what, timeoutMs) {
        for (let attempt = 0; ; attempt++) {
          let failure;
          try {
            const res = await send(route, init, what, timeoutMs);
            if (!isRetryable(res)) return res;
            failure = errorOf(res, what);
          } catch (err) {
            checkStopped();
            failure = err;
          }
          if (attempt >= retryDelays.length) throw failure;
          await sleep(retryDelays[attempt], stop.signal);
        }
      }

      function parse(res) {
        if (!res.text) return undefined;
        try {
          return JSON.parse(res.text);
        } catch {
          return undefined;
        }
      }

      function errorOf(res, what) {
        const body = parse(res);
        const message = body && typeof body.message === "string" && body.message ? body.message : `${what}: HTTP ${res.status}`;
        const code = body && body.code != null ? String(body.code) : "";
        return new JitError(message, { status: res.status, code });
      }

      function emit(info) {
        checkStopped();
        if (onStatus) onStatus({ ...info });
      }

      // The session the confirmed ticket started, retried like the polls:
      // the cookie is set, only the answer is missing.
      async function signedInUser() {
        for (let attempt = 0; ; attempt++) {
          checkStopped();
          try {
            const user = await session();
            checkStopped();
            return user;
          } catch (err) {
            checkStopped();
            const retryable = err instanceof JitError && (err.status === 0 || err.status >= 500);
            if (!retryable || attempt >= retryDelays.length) throw err;
          }
          await sleep(retryDelays[attempt], stop.signal);
        }
      }

      async function run() {
        // The ticket. The cookie that comes with it binds it to this browser.
        const created = await sendWithRetries(`${path}/qr`, { method: "POST" }, "qrLogin", 0);
        if (!created.ok) throw errorOf(created, "qrLogin");
        const t = parse(created);
        if (!t || typeof t.ticket !== "string" || !t.ticket || typeof t.url !== "string" || !t.url) {
          throw new JitError("qrLogin: response has no ticket and url", { status: created.status });
        }
        const expiresIn = Number(t.expiresIn) > 0 ? Number(t.expiresIn) : 120;
        const info = {
          ticket: t.ticket,
          url: t.url,
          expiresIn,
          expiresAt: Date.now() + expiresIn * 1000,
          qrCodeUrl: `${baseUrl}/jit/qrcode.png?path=${encodeURIComponent(pathAndQuery(t.url))}`,
        };
        let status = "waiting";
        emit({ status, ...info });

        const pollRoute = `${path}/qr/${encodeURIComponent(t.ticket)}`;
        for (;;) {
          const res = await sendWithRetries(
            `${pollRoute}?wait=${wait}&since=${encodeURIComponent(status)}`,
            { method: "GET", cache: "no-store" },
            "qrLogin",
            wait * 1000 + QR_POLL_GRACE_MS,
          );
          if (res.status === 409) {
            // ticket_used: confirmed and spent. When the answer that said
            // "confirmed" was lost on the way, this browser has the session.
            const err = errorOf(res, "qrLogin");
            const user = await signedInUser();
            if (!user) throw err;
            emit({ status: "confirmed", ...info });
            return user;
          }
          if (!res.ok) throw errorOf(res, "qrLogin");
          const body = parse(res);
          if (!body || typeof body.status !== "string" || !body.status) {
            throw new JitError("qrLogin: response has no status", { status: res.status });
          }
          if (body.status !== status) {
            status = body.status;
            emit({ status, ...info });
          }
          if (!QR_FINAL.has(status)) continue;
          if (status === "denied") {
            throw new JitError("qrLogin: the login was declined on the phone", { status: res.status, code: "qr_denied" });
          }
          if (status === "expired") {
            throw new JitError("qrLogin: the QR code expired", { status: res.status, code: "qr_expired" });
          }
          const user = await signedInUser();
          if (!user) {
            throw new JitError("qrLogin: confirmed, but this browser has no session", { status: 401, code: "not_logged_in" });
          }
          return user;
        }
      }

      if (signal && signal.aborted) {
        cancel();
      } else {
        if (signal) signal.addEventListener("abort", cancel, { once: true });
        run().then(
          (user) => finish(resolveLogin, user),
          (err) => finish(rejectLogin, err),
        );
      }
      return Object.freeze({ promise, cancel });
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
      qrLogin,
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
