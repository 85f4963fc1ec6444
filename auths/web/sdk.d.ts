// Type declarations for the JitWx browser SDK (/jit/sdk.js).

/**
 * Where a page is running, as far as WeChat login is concerned.
 *
 * - `wecom`: WeCom (企业微信). Its UA also says MicroMessenger, but personal
 *   WeChat Official Account login does not apply there.
 * - `miniprogram`: a mini-program web-view.
 * - `macwechat`: WeChat for Mac.
 * - `windowswechat`: WeChat for Windows.
 * - `wechat`: WeChat on a phone.
 * - `other`: any other browser.
 */
export type BrowserKind = "wecom" | "miniprogram" | "macwechat" | "windowswechat" | "wechat" | "other";

/** Every {@link BrowserKind}, in the order the user agent checks run. */
export declare const BROWSER_KINDS: readonly BrowserKind[];

/**
 * Classifies a user agent, case-insensitively, checking in order for
 * `wxwork`, `miniProgram`/`MiniProgramEnv`, `MacWechat`, `WindowsWechat` and
 * `MicroMessenger`: each later marker also appears in the earlier clients' UAs.
 *
 * @param ua The user agent. When omitted, the current browser's
 *   `navigator.userAgent` is used and `window.__wxjs_environment ===
 *   "miniprogram"` also counts as a mini-program; outside a browser the result
 *   is `"other"`.
 */
export declare function browserKind(ua?: string | null): BrowserKind;

/**
 * Reports whether WeChat Official Account web login can run in this browser:
 * true for `wechat`, `macwechat`, `windowswechat` and `miniprogram`; false for
 * `wecom` and `other`.
 *
 * @param ua As for {@link browserKind}.
 */
export declare function isWechatBrowser(ua?: string | null): boolean;

/**
 * One account at a login provider that a user can log in with, as listed in
 * {@link SessionUser.identities}.
 */
export interface Identity {
  /** Full name of the login element, e.g. `auths.loginTypes.MyWechatLogin`. */
  loginType: string;
  /** The provider's app: for WeChat, the Official Account's appId. */
  appId: string;
  /** The account within that app. */
  openid: string;
  /** Same person across the apps of one WeChat Open Platform account; may be "". */
  unionid: string;
}

/** The logged-in user, as returned by `GET /auths/session`. */
export interface SessionUser {
  /** The app's own id of the user, stable across the user's identities. */
  userId: string;
  /** The user's openid for the Official Account that logged them in. */
  openid: string;
  /** WeChat nickname. Untrusted user input: render it as text, never as HTML. */
  nickname: string;
  /** Avatar URL, or "" when the user has none or the scope was snsapi_base. */
  headimgurl: string;
  /** Present only with snsapi_userinfo and an Open Platform binding; may be "". */
  unionid?: string;
  /**
   * Full name of the login element that created the session. Look its title
   * up in {@link App.elements}.
   */
  loginType: string;
  /**
   * Every identity bound to the user, the one this session logged in with
   * among them. Always an array (empty from servers that do not send it).
   */
  identities: Identity[];
}

/** One login of the current user, as listed by `GET /auths/sessions`. */
export interface SessionInfo {
  /** Public id of the session, for {@link App.endSession}. Not the cookie. */
  id: string;
  /** When the login happened (RFC 3339). */
  createdAt: string;
  /** When the session was last used (RFC 3339, updated about once a minute). */
  lastSeenAt: string;
  /** A short summary of the device, e.g. `"微信 · Android"` or `"Chrome · Windows"`. */
  userAgent: string;
  /** Full name of the login element the session logged in with. */
  loginType: string;
  /** True for the session of the browser that asked. */
  current: boolean;
}

/** One login element as the front end may see it (`GET /auths/loginTypes`). */
export interface LoginTypeInfo {
  /** Dotted full name, e.g. `auths.loginTypes.MyWechatLogin`. */
  fullName: string;
  /** Full name of its login Type, e.g. `auths.loginTypes.WechatPublicType`. */
  type: string;
  /** Human-readable title (e.json `title`). */
  title: string;
  /** The provider's app id (the 公众号's AppID), when it has one. */
  appId?: string;
  /** The WeChat scope, for WeChat login Types. */
  scope?: string;
  /** True for the app's default login element (e.json `"default": 1`). */
  default: boolean;
}

/** One entry of `GET /api/elements`. */
export interface ElementInfo {
  /** Dotted full name, e.g. `auths.loginTypes.MyWechatLogin`. */
  fullName: string;
  /** Human-readable title. */
  title: string;
  /** Full name of the element's type, e.g. `auths.loginTypes.WechatPublicType`. */
  type: string;
  /**
   * `"meta"`, `"type"`, `"instance"` or `"inert"`. Login elements a person
   * can use are the `instance`s whose full name starts with `auths.loginTypes.`.
   */
  kind: string;
  layer: string;
  /** The element this one rewrites or extends, when there is one. */
  parent?: string;
}

/** Options of {@link LoginTypeElement.loginUrl} and {@link LoginTypeElement.login}. */
export interface LoginOptions {
  /** Where to return after login; see {@link LoginTypeElement.loginUrl}. */
  redirectUrl?: string | URL;
  /**
   * Attach this login's identity to the logged-in user instead of logging
   * in (adds `bind=1`). Without a session the server sends the browser back
   * to `redirectUrl` with `?login_error=not_logged_in`; an identity that
   * belongs to another user comes back as `login_error=identity_in_use`.
   */
  bind?: boolean;
}

/**
 * Where a QR login stands, as `GET /auths/loginTypes/<Name>/qr/<ticket>`
 * reports it:
 *
 * - `waiting`: the QR code is shown, nobody has scanned it yet.
 * - `scanned`: a phone opened the link and is on the confirmation page.
 * - `confirmed`: the person confirmed on the phone; this browser is logged in.
 * - `denied`: the person tapped 取消 on the phone, or the app refused the
 *   login (registration closed, the login hook). Final.
 * - `expired`: the ticket's lifetime ran out before a confirmation. Final.
 */
export type QrLoginStatus = "waiting" | "scanned" | "confirmed" | "denied" | "expired";

/** What {@link QrLoginOptions.onStatus} is told, on the ticket and at each change. */
export interface QrLoginState {
  /**
   * The new status. First always `waiting`, with the ticket; then each
   * status the server reports that differs from the last one. A newer
   * server may report a status not listed in {@link QrLoginStatus}.
   */
  status: QrLoginStatus | (string & {});
  /** The one-time ticket (letters and digits). */
  ticket: string;
  /**
   * The link the phone must open, `<public url>/auths/loginTypes/<Name>/scan?ticket=<ticket>`:
   * what the QR code encodes.
   */
  url: string;
  /** The ticket's lifetime in seconds, as the server gave it (default 120). */
  expiresIn: number;
  /** When the ticket expires, in milliseconds since the epoch by this browser's clock (for a countdown). */
  expiresAt: number;
  /**
   * An image of the QR code of {@link url}, drawn by the server:
   * `/jit/qrcode.png?path=<path and query of url>`. Put it in an `<img src>`.
   */
  qrCodeUrl: string;
}

/** Options of {@link LoginTypeElement.qrLogin}. */
export interface QrLoginOptions {
  /**
   * Called with the ticket (status `waiting`) once it exists, then at every
   * change of status. An exception it throws ends the login: the promise
   * rejects with it and polling stops.
   */
  onStatus?: (state: QrLoginState) => void;
  /** Aborting it is the same as {@link QrLogin.cancel}. */
  signal?: AbortSignal;
  /**
   * Seconds the server may hold each long poll before answering with an
   * unchanged status: 0 to 25, default 25.
   */
  wait?: number;
  /**
   * Milliseconds to pause before each retry of a request that failed on
   * the network or with HTTP 5xx or 429; its length is the number of
   * retries, after which the login rejects with the last error. Default
   * `[1000, 2000, 4000]`. A successful answer starts the count again.
   */
  retryDelays?: readonly number[];
}

/** A QR login in progress, as {@link LoginTypeElement.qrLogin} returns it. */
export interface QrLogin {
  /**
   * Resolves with the logged-in user once the phone confirmed (the session
   * cookie is then set for this browser). Rejects with a {@link JitError}
   * whose `code` is `qr_denied` (declined on the phone or refused by the
   * app), `qr_expired` (the QR code ran out: start a new qrLogin),
   * `cancelled` ({@link cancel} or the signal), or the server's code for a
   * refused ticket (`ticket_other_browser` 403, `ticket_not_found` 404,
   * `ticket_used` 409), or with the last error after the retries of
   * network errors ran out (`status` 0).
   */
  readonly promise: Promise<SessionUser>;
  /**
   * Stops the login: the request in flight is aborted, no further request
   * is sent and `onStatus` is not called again; {@link promise} rejects with
   * `code` `cancelled`. Does nothing once the login has ended.
   */
  cancel(): void;
}

/** Error thrown for a failed request or a response the SDK cannot use. */
export declare class JitError extends Error {
  constructor(message: string, details?: { status?: number; code?: string; cause?: unknown });
  readonly name: "JitError";
  /** HTTP status, or 0 when no response arrived (network error, no fetch). */
  status: number;
  /** The server's error code (`code` in its JSON body), or "". */
  code: string;
}

/** An element of the app, addressed by its dotted full name. */
export interface Element {
  readonly fullName: string;
}

/** An element under `auths.loginTypes.`: a way to log in. */
export interface LoginTypeElement extends Element {
  /**
   * The URL that starts this login and comes back to `redirectUrl`, e.g.
   * `/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fafter-login`. The
   * element's full name maps to the path with dots turned into slashes.
   *
   * @param redirectUrl Where to return after login: a relative URL or one on
   *   the same host. Defaults to the current `location.pathname + location.search`
   *   (`"/"` outside a browser).
   * @param options `{ bind: true }` adds `&bind=1`: see {@link LoginOptions.bind}.
   */
  loginUrl(redirectUrl?: string | URL, options?: LoginOptions): string;
  /** The same with only options, e.g. `loginUrl({ bind: true })`. */
  loginUrl(options: LoginOptions): string;
  /**
   * Navigates to {@link loginUrl} with `location.assign`. WeChat login only
   * completes inside WeChat (see {@link isWechatBrowser}); the development
   * simulator works in any browser.
   *
   * @throws {JitError} outside a browser, where there is no `location`.
   */
  login(redirectUrl?: string | URL, options?: LoginOptions): void;
  /** The same with only options, e.g. `login({ bind: true })`. */
  login(options: LoginOptions): void;
  /**
   * Detaches this login element's identity from the logged-in user
   * (`POST /auths/loginTypes/<Name>/unbind`). Only from a page of this site:
   * the server refuses cross-site requests (403 `cross_site`).
   *
   * @throws {JitError} with `code` `last_identity` (409) when it is the
   *   user's only way to log in, `identity_not_found` (404) when the user has
   *   no identity of this element, `not_logged_in` (401), or on a network
   *   error.
   */
  unbind(): Promise<void>;
  /**
   * Logs this browser (a desktop's, typically) in by a phone: shows a QR
   * code that the person scans with WeChat and confirms on the phone. For
   * login elements of a WeChat Official Account Type (`WechatPublicType`),
   * which need no Open Platform account.
   *
   * 1. `POST /auths/loginTypes/<Name>/qr` makes a one-time ticket, bound to
   *    this browser by a cookie; `onStatus` gets it with status `waiting`
   *    and the {@link QrLoginState.qrCodeUrl} to show.
   * 2. `GET /auths/loginTypes/<Name>/qr/<ticket>?wait=25&since=<status>` is
   *    long-polled; each change is passed to `onStatus`.
   * 3. The answer that says `confirmed` sets the session cookie; the promise
   *    resolves with {@link App.session}'s user.
   *
   * Network errors and 5xx answers are retried (see
   * {@link QrLoginOptions.retryDelays}). Only from a page of this site: the
   * server refuses cross-site requests (403 `cross_site`).
   *
   * ```js
   * const login = el.qrLogin({ onStatus: (s) => { if (s.status === "waiting") img.src = s.qrCodeUrl; } });
   * const me = await login.promise;   // or login.cancel()
   * ```
   *
   * @throws {TypeError} when `onStatus` is given and is not a function.
   */
  qrLogin(options?: QrLoginOptions): QrLogin;
  /** Same as the module-level {@link isWechatBrowser}. */
  isWechatBrowser(ua?: string | null): boolean;
  /** Same as the module-level {@link browserKind}. */
  browserKind(ua?: string | null): BrowserKind;
  /** Same as {@link App.session}. */
  session(): Promise<SessionUser | null>;
  /** Same as {@link App.logout}. */
  logout(options?: LogoutOptions): Promise<void>;
}

/** Options of {@link App.logout}. */
export interface LogoutOptions {
  /** End every session of the user, on every device ("退出所有设备"). */
  all?: boolean;
}

/** Options for {@link createApp}. */
export interface AppOptions {
  /**
   * Prefix for every server route, e.g. `"/myapp"` when the server is mounted
   * below the site root. Trailing slashes are ignored. Default `""`.
   */
  baseUrl?: string;
  /** The fetch to use instead of `globalThis.fetch` (looked up on each call). */
  fetch?: typeof fetch;
}

/** An SDK instance bound to one server. */
export interface App {
  /** The normalized base URL, without a trailing slash. */
  readonly baseUrl: string;
  /**
   * Returns the element with this dotted full name. Names under
   * `auths.loginTypes.` give a {@link LoginTypeElement}.
   *
   * @throws {TypeError} unless the name is dot-separated segments of letters,
   *   digits, `_` and `-`.
   */
  getElement<N extends string>(fullName: N): N extends `auths.loginTypes.${string}` ? LoginTypeElement : Element;
  /**
   * The logged-in user, or null when not logged in (HTTP 401). Sends cookies
   * for the same origin only.
   *
   * @throws {JitError} on a network error or any other failed response.
   */
  session(): Promise<SessionUser | null>;
  /**
   * The logged-in user's sessions, one per device or browser
   * (`GET /auths/sessions`), the asking one marked `current`.
   *
   * @throws {JitError} with status 401 and `code` `not_logged_in` when not
   *   logged in; on a network error, any other failed response or a body
   *   that is not a JSON array.
   */
  sessions(): Promise<SessionInfo[]>;
  /**
   * Ends one of the user's sessions (`DELETE /auths/sessions/<id>`), e.g. a
   * lost phone's. Ending the current one logs this browser out.
   *
   * @param id A {@link SessionInfo.id}.
   * @throws {TypeError} when `id` is not a non-empty string (rejected promise).
   * @throws {JitError} with `code` `session_not_found` (404) when the user
   *   has no such live session, `not_logged_in` (401), `cross_site` (403), or
   *   on a network error.
   */
  endSession(id: string): Promise<void>;
  /**
   * Ends the session (`POST /auths/logout`), or with `{ all: true }` every
   * session of the user on every device (`POST /auths/logout?all=1`).
   * Resolves also when there was no session (HTTP 401).
   *
   * @throws {JitError} on a network error or any other failed response.
   */
  logout(options?: LogoutOptions): Promise<void>;
  /**
   * Lists the app's elements (`GET /api/elements`).
   *
   * @throws {JitError} on a network error, a failed response or a body that
   *   is not a JSON array.
   */
  elements(): Promise<ElementInfo[]>;
  /**
   * Lists the app's login elements with what the front end may see of
   * them: title, Type, appId, default (`GET /auths/loginTypes`).
   *
   * @throws {JitError} on a network error, a failed response or a body that
   *   is not a JSON array.
   */
  loginTypes(): Promise<LoginTypeInfo[]>;
}

/** Creates an SDK instance; {@link app} is `createApp()`. */
export declare function createApp(options?: AppOptions): App;

/** The SDK bound to the server that served this module. */
export declare const app: App;
