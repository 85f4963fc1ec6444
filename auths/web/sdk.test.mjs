// Tests for sdk.js. Run: node --test auths/web/sdk.test.mjs
// (go test ./auths/web/ runs them too).

import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  app,
  createApp,
  browserKind,
  isWechatBrowser,
  BROWSER_KINDS,
  JitError,
} from "./sdk.js";

const INSIDE_WECHAT = new Set(["wechat", "macwechat", "windowswechat", "miniprogram"]);

// A copy of ../shared/wechat-user-agents.tsv, so the tests do not depend
// on anything outside the repository.
const samples = readFileSync(new URL("./testdata/wechat-user-agents.tsv", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.startsWith("#"))
  .map((line) => {
    const tab = line.indexOf("\t");
    return { want: line.slice(0, tab), ua: line.slice(tab + 1).replace(/\r$/, "") };
  });

// Browser globals the SDK reads. Node 21+ defines navigator as an accessor,
// so stubs go through defineProperty and are restored exactly.
const globalsToRestore = ["location", "navigator", "window", "fetch"];
const saved = new Map(globalsToRestore.map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)]));

function stubGlobal(name, value) {
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true, enumerable: true });
}

afterEach(() => {
  for (const [name, desc] of saved) {
    if (desc) Object.defineProperty(globalThis, name, desc);
    else delete globalThis[name];
  }
});

/** A fetch stub that records its calls and answers with the given response. */
function fakeFetch(status, body) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
    return new Response(status === 204 ? null : text, {
      status,
      headers: { "Content-Type": "application/json" },
    });
  };
  fn.calls = calls;
  return fn;
}

function stubLocation(pathname = "/page", search = "") {
  const assigned = [];
  stubGlobal("location", { pathname, search, assign: (url) => assigned.push(url) });
  return assigned;
}

describe("browserKind", () => {
  test("the sample file is non-trivial and covers every kind", () => {
    assert.ok(samples.length >= 10, `only ${samples.length} samples`);
    for (const { want } of samples) assert.ok(BROWSER_KINDS.includes(want), `unknown class ${want}`);
    assert.deepEqual(new Set(samples.map((s) => s.want)), new Set(BROWSER_KINDS));
  });

  for (const { want, ua } of samples) {
    test(`${want}: ${ua.slice(0, 90)}`, () => {
      assert.equal(browserKind(ua), want);
      assert.equal(isWechatBrowser(ua), INSIDE_WECHAT.has(want));
      assert.equal(browserKind(ua.toUpperCase()), want, "case-insensitive");
      assert.equal(browserKind(ua.toLowerCase()), want, "case-insensitive");
    });
  }

  test("empty, null and non-browser inputs are other", () => {
    assert.equal(browserKind(""), "other");
    assert.equal(browserKind(null), "other");
    assert.equal(isWechatBrowser(""), false);
  });

  test("without an argument it reads navigator.userAgent", () => {
    stubGlobal("navigator", { userAgent: samples.find((s) => s.want === "wechat").ua });
    assert.equal(browserKind(), "wechat");
    assert.equal(isWechatBrowser(), true);
    stubGlobal("navigator", undefined);
    assert.equal(browserKind(), "other");
  });

  test("window.__wxjs_environment marks a mini-program for the current browser only", () => {
    const plainWechat = samples.find((s) => s.want === "wechat").ua;
    const wecom = samples.find((s) => s.want === "wecom").ua;
    stubGlobal("window", { __wxjs_environment: "miniprogram" });
    stubGlobal("navigator", { userAgent: plainWechat });
    assert.equal(browserKind(), "miniprogram");
    assert.equal(browserKind(plainWechat), "wechat", "an explicit UA ignores the page environment");
    stubGlobal("navigator", { userAgent: wecom });
    assert.equal(browserKind(), "wecom", "WeCom is checked first");
  });

  test("element methods match the module functions", () => {
    const el = app.getElement("auths.loginTypes.MyWechatLogin");
    for (const { ua } of samples) {
      assert.equal(el.browserKind(ua), browserKind(ua));
      assert.equal(el.isWechatBrowser(ua), isWechatBrowser(ua));
    }
  });
});

describe("getElement", () => {
  test("login types get login methods; other elements only a name", () => {
    const el = app.getElement("auths.loginTypes.MyWechatLogin");
    assert.equal(el.fullName, "auths.loginTypes.MyWechatLogin");
    for (const m of ["login", "loginUrl", "unbind", "isWechatBrowser", "browserKind", "session", "logout"]) {
      assert.equal(typeof el[m], "function", m);
    }
    const other = app.getElement("models.Orders");
    assert.deepEqual({ ...other }, { fullName: "models.Orders" });
    assert.ok(Object.isFrozen(el) && Object.isFrozen(other));
  });

  test("rejects names that could escape the URL path", () => {
    for (const bad of ["", "auths.loginTypes.", "auths..x", ".a", "a/b", "a.b?c", "a.b#c", "a.%2e", "a b", "a.b\n"]) {
      assert.throws(() => app.getElement(bad), TypeError, JSON.stringify(bad));
    }
    assert.throws(() => app.getElement(undefined), TypeError);
    assert.throws(() => app.getElement(42), TypeError);
  });
});

describe("loginUrl", () => {
  const el = app.getElement("auths.loginTypes.MyWechatLogin");

  test("maps the name to the route and encodes the redirect", () => {
    assert.equal(el.loginUrl("/after-login"), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fafter-login");
  });

  test("escapes query separators so they stay inside redirectUrl", () => {
    const url = el.loginUrl("/orders?a=1&b=2#top");
    assert.equal(url, "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Forders%3Fa%3D1%26b%3D2%23top");
    const parsed = new URL(url, "https://example.com");
    assert.deepEqual([...parsed.searchParams.keys()], ["redirectUrl"]);
    assert.equal(parsed.searchParams.get("redirectUrl"), "/orders?a=1&b=2#top");
    assert.equal(parsed.hash, "");
  });

  test("escapes Chinese characters as UTF-8", () => {
    const url = el.loginUrl("/商品?分类=茶叶&q=龙井 绿茶");
    assert.match(url, /^[\x21-\x7e]+$/, "ASCII only");
    assert.ok(url.includes("%E5%95%86%E5%93%81"), url);
    const parsed = new URL(url, "https://example.com");
    assert.equal(parsed.searchParams.get("redirectUrl"), "/商品?分类=茶叶&q=龙井 绿茶");
  });

  test("defaults to the current path and query", () => {
    stubLocation("/shop/cart", "?coupon=A%26B");
    const parsed = new URL(el.loginUrl(), "https://example.com");
    assert.equal(parsed.searchParams.get("redirectUrl"), "/shop/cart?coupon=A%26B");
  });

  test("defaults to / outside a browser", () => {
    assert.equal(el.loginUrl(), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2F");
  });

  test("accepts a URL object", () => {
    const url = el.loginUrl(new URL("https://example.com/x?y=1"));
    assert.equal(new URL(url, "https://example.com").searchParams.get("redirectUrl"), "https://example.com/x?y=1");
  });

  test("nested names map dots to slashes", () => {
    assert.equal(
      app.getElement("auths.loginTypes.corp.Wechat_2").loginUrl("/"),
      "/auths/loginTypes/corp/Wechat_2/login?redirectUrl=%2F",
    );
  });

  test("bind: true adds bind=1 after the redirect", () => {
    const url = el.loginUrl("/me?tab=账号", { bind: true });
    assert.equal(url, "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fme%3Ftab%3D%E8%B4%A6%E5%8F%B7&bind=1");
    const parsed = new URL(url, "https://example.com");
    assert.deepEqual([...parsed.searchParams], [["redirectUrl", "/me?tab=账号"], ["bind", "1"]]);
  });

  test("options alone: redirectUrl from the options or the current page", () => {
    stubLocation("/me", "?a=1");
    assert.equal(el.loginUrl({ bind: true }), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fme%3Fa%3D1&bind=1");
    assert.equal(el.loginUrl({ redirectUrl: "/x", bind: true }), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fx&bind=1");
    assert.equal(el.loginUrl({ redirectUrl: "/x" }), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fx");
    assert.equal(el.loginUrl({}), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fme%3Fa%3D1");
  });

  test("no bind param unless bind is truthy; a URL is still a redirect, not options", () => {
    assert.equal(el.loginUrl("/x", { bind: false }), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fx");
    assert.equal(el.loginUrl("/x", {}), "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fx");
    const url = el.loginUrl(new URL("https://example.com/y"), { bind: true });
    const parsed = new URL(url, "https://example.com");
    assert.equal(parsed.searchParams.get("redirectUrl"), "https://example.com/y");
    assert.equal(parsed.searchParams.get("bind"), "1");
  });

  test("baseUrl prefixes the route, trailing slashes ignored", () => {
    const el2 = createApp({ baseUrl: "/myapp//" }).getElement("auths.loginTypes.MyWechatLogin");
    assert.equal(el2.loginUrl("/x"), "/myapp/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fx");
    assert.equal(createApp({ baseUrl: "/myapp/" }).baseUrl, "/myapp");
    assert.equal(createApp().baseUrl, "");
  });
});

describe("login", () => {
  const el = app.getElement("auths.loginTypes.MyWechatLogin");

  test("navigates with location.assign", () => {
    const assigned = stubLocation();
    el.login("/after-login?a=1&b=2");
    assert.deepEqual(assigned, ["/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fafter-login%3Fa%3D1%26b%3D2"]);
  });

  test("returns to the current page by default", () => {
    const assigned = stubLocation("/订单", "?id=7");
    el.login();
    assert.equal(assigned.length, 1);
    assert.equal(new URL(assigned[0], "https://example.com").searchParams.get("redirectUrl"), "/订单?id=7");
  });

  test("bind: true navigates to the bind login, back to the current page by default", () => {
    const assigned = stubLocation("/me", "");
    el.login({ bind: true });
    el.login("/after", { bind: true });
    assert.deepEqual(assigned, [
      "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fme&bind=1",
      "/auths/loginTypes/MyWechatLogin/login?redirectUrl=%2Fafter&bind=1",
    ]);
  });

  test("throws a JitError outside a browser", () => {
    assert.throws(() => el.login("/x"), JitError);
    assert.throws(() => el.login({ bind: true }), JitError);
  });
});

describe("session", () => {
  const user = {
    userId: "U7K2M9QH3XW4ZC8RDF5TNB6JYA",
    nickname: "小明😀<b>",
    headimgurl: "https://thirdwx.qlogo.cn/mmopen/x/132",
    loginType: "auths.loginTypes.MyWechatLogin",
    openid: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    unionid: "",
    identities: [
      {
        loginType: "auths.loginTypes.MyWechatLogin",
        appId: "wx0123456789abcdef",
        openid: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        unionid: "",
      },
      { loginType: "auths.loginTypes.OtherLogin", appId: "wxfedcba9876543210", openid: "oOther", unionid: "" },
    ],
  };

  test("200 resolves to the user, with every field the server sends", async () => {
    const f = fakeFetch(200, user);
    stubGlobal("fetch", f);
    assert.deepEqual(await app.session(), user);
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0].url, "/auths/session");
    assert.equal(f.calls[0].init.method, "GET");
    assert.equal(f.calls[0].init.credentials, "same-origin");
    assert.equal(f.calls[0].init.cache, "no-store");
  });

  test("identities is an array even when an older server leaves it out", async () => {
    const { identities, userId, ...old } = user;
    stubGlobal("fetch", fakeFetch(200, old));
    assert.deepEqual(await app.session(), { ...old, identities: [] });
    stubGlobal("fetch", fakeFetch(200, { ...old, identities: null }));
    assert.deepEqual((await app.session()).identities, []);
  });

  test("401 resolves to null", async () => {
    stubGlobal("fetch", fakeFetch(401, { code: "not_logged_in", message: "请先登录。" }));
    assert.equal(await app.session(), null);
    assert.equal(await app.getElement("auths.loginTypes.MyWechatLogin").session(), null);
  });

  test("other failures reject with the server's code and message", async () => {
    stubGlobal("fetch", fakeFetch(500, { code: "internal", message: "database down" }));
    await assert.rejects(app.session(), (err) => {
      assert.ok(err instanceof JitError);
      assert.equal(err.status, 500);
      assert.equal(err.code, "internal");
      assert.equal(err.message, "database down");
      return true;
    });
  });

  test("a non-JSON error body still gives a useful error", async () => {
    stubGlobal("fetch", fakeFetch(502, "<html>Bad Gateway</html>"));
    await assert.rejects(app.session(), { name: "JitError", status: 502, code: "", message: "session: HTTP 502" });
  });

  test("a 200 without a JSON object is an error, not a user", async () => {
    for (const body of ["null", "[]", '"x"', "not json"]) {
      stubGlobal("fetch", fakeFetch(200, body));
      await assert.rejects(app.session(), JitError, body);
    }
  });

  test("network errors reject with a JitError carrying the cause", async () => {
    const cause = new TypeError("Failed to fetch");
    stubGlobal("fetch", async () => {
      throw cause;
    });
    await assert.rejects(app.session(), (err) => err instanceof JitError && err.status === 0 && err.cause === cause);
  });

  test("createApp options: baseUrl and a custom fetch", async () => {
    const f = fakeFetch(200, user);
    const a = createApp({ baseUrl: "/myapp", fetch: f });
    assert.deepEqual(await a.session(), user);
    assert.equal(f.calls[0].url, "/myapp/auths/session");
  });
});

describe("sessions", () => {
  const list = [
    {
      id: "A1B2C3D4E5F6G7H8J9K0L1M2N3",
      createdAt: "2025-03-01T08:00:00Z",
      lastSeenAt: "2025-03-02T09:30:00Z",
      userAgent: "微信 · Android",
      loginType: "auths.loginTypes.MyWechatLogin",
      current: true,
    },
    {
      id: "Z9Y8X7W6V5U4T3S2R1Q0P9O8N7",
      createdAt: "2025-02-01T08:00:00Z",
      lastSeenAt: "2025-02-01T08:00:00Z",
      userAgent: "Chrome · Windows",
      loginType: "auths.loginTypes.MyWechatLogin",
      current: false,
    },
  ];

  test("GETs /auths/sessions without the cache", async () => {
    const f = fakeFetch(200, list);
    stubGlobal("fetch", f);
    assert.deepEqual(await app.sessions(), list);
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0].url, "/auths/sessions");
    assert.equal(f.calls[0].init.method, "GET");
    assert.equal(f.calls[0].init.credentials, "same-origin");
    assert.equal(f.calls[0].init.cache, "no-store");
    assert.equal(f.calls[0].init.headers.Accept, "application/json");
  });

  test("an empty list is a list", async () => {
    stubGlobal("fetch", fakeFetch(200, []));
    assert.deepEqual(await app.sessions(), []);
  });

  test("401 rejects with not_logged_in (unlike session, there is no null answer)", async () => {
    stubGlobal("fetch", fakeFetch(401, { code: "not_logged_in", message: "请先登录。" }));
    await assert.rejects(app.sessions(), { name: "JitError", status: 401, code: "not_logged_in", message: "请先登录。" });
  });

  test("rejects a body that is not an array", async () => {
    stubGlobal("fetch", fakeFetch(200, { sessions: list }));
    await assert.rejects(app.sessions(), JitError);
  });

  test("baseUrl and a custom fetch", async () => {
    const f = fakeFetch(200, list);
    await createApp({ baseUrl: "/myapp/", fetch: f }).sessions();
    assert.equal(f.calls[0].url, "/myapp/auths/sessions");
  });
});

describe("endSession", () => {
  test("DELETEs /auths/sessions/<id>", async () => {
    const f = fakeFetch(204);
    stubGlobal("fetch", f);
    assert.equal(await app.endSession("Z9Y8X7W6V5U4T3S2R1Q0P9O8N7"), undefined);
    assert.equal(f.calls[0].url, "/auths/sessions/Z9Y8X7W6V5U4T3S2R1Q0P9O8N7");
    assert.equal(f.calls[0].init.method, "DELETE");
    assert.equal(f.calls[0].init.credentials, "same-origin");
  });

  test("an id cannot leave its path segment", async () => {
    const f = fakeFetch(404, { code: "session_not_found", message: "没有这个登录设备。" });
    stubGlobal("fetch", f);
    await assert.rejects(app.endSession("../logout?all=1#x"), JitError);
    assert.equal(f.calls[0].url, "/auths/sessions/..%2Flogout%3Fall%3D1%23x");
  });

  test("404 rejects with session_not_found and the server's message", async () => {
    stubGlobal("fetch", fakeFetch(404, { code: "session_not_found", message: "没有这个登录设备。" }));
    await assert.rejects(app.endSession("X"), {
      name: "JitError",
      status: 404,
      code: "session_not_found",
      message: "没有这个登录设备。",
    });
  });

  test("403 cross_site rejects", async () => {
    stubGlobal("fetch", fakeFetch(403, { code: "cross_site", message: "只能在本站页面上进行这个操作。" }));
    await assert.rejects(app.endSession("X"), { status: 403, code: "cross_site" });
  });

  test("a missing or empty id rejects with a TypeError before any request", async () => {
    const f = fakeFetch(204);
    stubGlobal("fetch", f);
    for (const bad of [undefined, null, "", 42, {}]) {
      const pending = app.endSession(bad);
      assert.ok(pending instanceof Promise);
      await assert.rejects(pending, TypeError, String(bad));
    }
    assert.equal(f.calls.length, 0);
  });

  test("baseUrl prefixes the route", async () => {
    const f = fakeFetch(204);
    await createApp({ baseUrl: "/myapp", fetch: f }).endSession("X");
    assert.equal(f.calls[0].url, "/myapp/auths/sessions/X");
  });
});

describe("logout", () => {
  test("POSTs to /auths/logout", async () => {
    const f = fakeFetch(204);
    stubGlobal("fetch", f);
    assert.equal(await app.logout(), undefined);
    assert.equal(f.calls[0].url, "/auths/logout");
    assert.equal(f.calls[0].init.method, "POST");
    assert.equal(f.calls[0].init.credentials, "same-origin");
  });

  test("{ all: true } ends every session: POST /auths/logout?all=1", async () => {
    const f = fakeFetch(204);
    stubGlobal("fetch", f);
    await app.logout({ all: true });
    await app.getElement("auths.loginTypes.MyWechatLogin").logout({ all: true });
    await app.logout({ all: false });
    await app.logout({});
    assert.deepEqual(
      f.calls.map((c) => `${c.init.method} ${c.url}`),
      ["POST /auths/logout?all=1", "POST /auths/logout?all=1", "POST /auths/logout", "POST /auths/logout"],
    );
  });

  test("{ all: true } without a session (401) succeeds too", async () => {
    stubGlobal("fetch", fakeFetch(401, { code: "not_logged_in", message: "请先登录。" }));
    await app.logout({ all: true });
  });

  test("baseUrl prefixes logout with all", async () => {
    const f = fakeFetch(204);
    await createApp({ baseUrl: "/myapp", fetch: f }).logout({ all: true });
    assert.equal(f.calls[0].url, "/myapp/auths/logout?all=1");
  });

  test("200 and 401 (no session) both succeed; the element's logout is the same", async () => {
    stubGlobal("fetch", fakeFetch(200, {}));
    await app.logout();
    const f = fakeFetch(401, { code: "not_logged_in", message: "请先登录。" });
    stubGlobal("fetch", f);
    await app.getElement("auths.loginTypes.MyWechatLogin").logout();
    assert.equal(f.calls[0].init.method, "POST");
  });

  test("a server error rejects", async () => {
    stubGlobal("fetch", fakeFetch(403, { code: "cross_site", message: "只能在本站页面上进行这个操作。" }));
    await assert.rejects(app.logout(), { name: "JitError", status: 403, code: "cross_site" });
  });
});

describe("unbind", () => {
  const el = app.getElement("auths.loginTypes.MyWechatLogin");

  test("POSTs to the element's unbind route", async () => {
    const f = fakeFetch(204);
    stubGlobal("fetch", f);
    assert.equal(await el.unbind(), undefined);
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0].url, "/auths/loginTypes/MyWechatLogin/unbind");
    assert.equal(f.calls[0].init.method, "POST");
    assert.equal(f.calls[0].init.credentials, "same-origin");
  });

  test("nested names and baseUrl", async () => {
    const f = fakeFetch(204);
    await createApp({ baseUrl: "/myapp/", fetch: f }).getElement("auths.loginTypes.corp.Wechat_2").unbind();
    assert.equal(f.calls[0].url, "/myapp/auths/loginTypes/corp/Wechat_2/unbind");
  });

  test("the server's refusals reject with their codes", async () => {
    const cases = [
      [409, "last_identity", "这是账号唯一的登录方式，不能解绑。"],
      [404, "identity_not_found", "这个账号没有绑定这种登录方式。"],
      [401, "not_logged_in", "请先登录。"],
      [403, "cross_site", "只能在本站页面上进行这个操作。"],
    ];
    for (const [status, code, message] of cases) {
      stubGlobal("fetch", fakeFetch(status, { code, message }));
      await assert.rejects(el.unbind(), { name: "JitError", status, code, message });
    }
  });

  test("a network error rejects with the cause", async () => {
    const cause = new TypeError("Failed to fetch");
    stubGlobal("fetch", async () => {
      throw cause;
    });
    await assert.rejects(el.unbind(), (err) => err instanceof JitError && err.status === 0 && err.cause === cause);
  });

  test("elements other than login types have no unbind", () => {
    assert.equal(app.getElement("models.Orders").unbind, undefined);
  });
});

describe("app", () => {
  test("has the documented methods and is frozen", () => {
    for (const m of ["getElement", "session", "sessions", "endSession", "logout", "elements"]) {
      assert.equal(typeof app[m], "function", m);
    }
    assert.ok(Object.isFrozen(app));
  });
});

describe("elements", () => {
  test("GETs /api/elements", async () => {
    const list = [
      {
        fullName: "auths.loginTypes.MyWechatLogin",
        title: "微信登录",
        type: "auths.loginTypes.WechatPublicType",
        kind: "instance",
        layer: "app",
        parent: "auths.loginTypes",
      },
    ];
    const f = fakeFetch(200, list);
    stubGlobal("fetch", f);
    assert.deepEqual(await app.elements(), list);
    assert.equal(f.calls[0].url, "/api/elements");
    assert.equal(f.calls[0].init.method, "GET");
  });

  test("rejects a body that is not an array", async () => {
    stubGlobal("fetch", fakeFetch(200, { not: "a list" }));
    await assert.rejects(app.elements(), JitError);
  });

  test("rejects on an error status", async () => {
    stubGlobal("fetch", fakeFetch(404, { code: "not_found", message: "no such route" }));
    await assert.rejects(app.elements(), { status: 404, code: "not_found" });
  });
});

describe("loginTypes", () => {
  test("GETs /auths/loginTypes", async () => {
    const list = [
      {
        fullName: "auths.loginTypes.MyWechatLogin",
        type: "auths.loginTypes.WechatPublicType",
        title: "微信登录",
        appId: "wx0123456789abcdef",
        scope: "snsapi_userinfo",
        default: true,
      },
    ];
    const f = fakeFetch(200, list);
    stubGlobal("fetch", f);
    assert.deepEqual(await app.loginTypes(), list);
    assert.equal(f.calls[0].url, "/auths/loginTypes");
    assert.equal(f.calls[0].init.method, "GET");
  });

  test("rejects a body that is not an array", async () => {
    stubGlobal("fetch", fakeFetch(200, { not: "a list" }));
    await assert.rejects(app.loginTypes(), JitError);
  });
});

test("works without fetch: rejects instead of throwing synchronously", async () => {
  stubGlobal("fetch", undefined);
  const pending = app.session();
  assert.ok(pending instanceof Promise);
  await assert.rejects(pending, JitError);
});

describe("qrLogin", () => {
  const NAME = "auths.loginTypes.MyWechatLogin";
  const ROUTE = "/auths/loginTypes/MyWechatLogin";
  const TICKET = "T0ticket1";
  const SCAN_URL = `https://h5.example.com${ROUTE}/scan?ticket=${TICKET}`;
  const USER = { userId: "u1", nickname: "小明😀", openid: "o1", headimgurl: "", loginType: NAME, identities: [] };
  const NO_RETRY_PAUSE = [0, 0, 0];

  function json(status, body) {
    return new Response(status === 204 ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  }

  // A fake server for the QR routes. polls is a list of answers to the
  // long polls, in order: a status string (200 {status}), a Response, an
  // Error (thrown, a network error) or "hang" (answers only when aborted).
  // Each call is recorded with its URL, init and the wait/since params.
  function qrServer({ polls = [], created, session = USER, sessionStatus } = {}) {
    const calls = [];
    const queue = [...polls];
    const fn = async (url, init = {}) => {
      const call = { url, init, method: init.method ?? "GET" };
      calls.push(call);
      const u = new URL(url, "http://test.invalid");
      if (call.method === "POST" && u.pathname.endsWith("/qr")) {
        return created ?? json(201, { ticket: TICKET, url: SCAN_URL, expiresIn: 120 });
      }
      if (u.pathname === "/auths/session" || u.pathname.endsWith("/auths/session")) {
        if (sessionStatus) return json(sessionStatus, { code: "x", message: "x" });
        return session ? json(200, session) : json(401, { code: "not_logged_in", message: "请先登录。" });
      }
      if (u.pathname.includes("/qr/")) {
        call.wait = u.searchParams.get("wait");
        call.since = u.searchParams.get("since");
        const next = queue.length ? queue.shift() : "hang";
        if (next === "hang") {
          return new Promise((_, reject) => {
            const sig = init.signal;
            if (!sig) return;
            const fail = () => reject(new DOMException("The operation was aborted.", "AbortError"));
            if (sig.aborted) fail();
            else sig.addEventListener("abort", fail, { once: true });
          });
        }
        if (next instanceof Error) throw next;
        if (next instanceof Response) return next;
        return json(200, { status: next });
      }
      return json(404, { code: "not_found", message: "no route" });
    };
    fn.calls = calls;
    fn.polls = () => calls.filter((c) => c.url.includes("/qr/"));
    return fn;
  }

  function start(f, opts = {}, appOptions = {}) {
    const states = [];
    const el = createApp({ fetch: f, ...appOptions }).getElement(NAME);
    const login = el.qrLogin({ onStatus: (s) => states.push(s), retryDelays: NO_RETRY_PAUSE, ...opts });
    return { login, states };
  }

  // Lets pending promise callbacks and zero-delay timers run.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

  test("POSTs qr, then long-polls the ticket with wait=25 and since=<last status>", async () => {
    const f = qrServer({ polls: ["scanned", "confirmed"] });
    const { login } = start(f);
    assert.deepEqual(await login.promise, USER);

    assert.equal(f.calls[0].url, `${ROUTE}/qr`);
    assert.equal(f.calls[0].method, "POST");
    assert.equal(f.calls[0].init.credentials, "same-origin");
    assert.equal(f.calls[0].init.headers.Accept, "application/json");

    const polls = f.polls();
    assert.deepEqual(
      polls.map((c) => c.url),
      [`${ROUTE}/qr/${TICKET}?wait=25&since=waiting`, `${ROUTE}/qr/${TICKET}?wait=25&since=scanned`],
    );
    for (const p of polls) {
      assert.equal(p.method, "GET");
      assert.equal(p.init.cache, "no-store");
      assert.equal(p.init.credentials, "same-origin");
      assert.ok(p.init.signal instanceof AbortSignal, "polls can be aborted");
    }
    // After confirmed: the session, and nothing else.
    assert.equal(f.calls.at(-1).url, "/auths/session");
    assert.equal(f.calls.length, 4);
  });

  test("waiting → scanned → confirmed: onStatus sees each change once and the promise gets the session user", async () => {
    // An unchanged answer (the wait ran out) is not a change.
    const f = qrServer({ polls: ["waiting", "waiting", "scanned", "scanned", "confirmed"] });
    const { login, states } = start(f);
    const user = await login.promise;
    assert.equal(user.nickname, "小明😀");
    assert.deepEqual(user.identities, []);

    assert.deepEqual(states.map((s) => s.status), ["waiting", "scanned", "confirmed"]);
    const first = states[0];
    assert.equal(first.ticket, TICKET);
    assert.equal(first.url, SCAN_URL);
    assert.equal(first.expiresIn, 120);
    assert.ok(Math.abs(first.expiresAt - (Date.now() + 120_000)) < 5000, `expiresAt ${first.expiresAt}`);
    // The QR image of the scan link: its path and query, on this site.
    assert.equal(first.qrCodeUrl, `/jit/qrcode.png?path=${encodeURIComponent(`${ROUTE}/scan?ticket=${TICKET}`)}`);
    for (const s of states) {
      assert.equal(s.ticket, TICKET);
      assert.equal(s.qrCodeUrl, first.qrCodeUrl);
    }
    // since= follows the last status seen.
    assert.deepEqual(f.polls().map((c) => c.since), ["waiting", "waiting", "waiting", "scanned", "scanned"]);
    assert.ok(f.polls().every((c) => c.wait === "25"));
  });

  test("onStatus is called with the ticket before the first poll", async () => {
    let pollsAtFirstStatus = -1;
    const f = qrServer({ polls: ["confirmed"] });
    const el = createApp({ fetch: f }).getElement(NAME);
    await el.qrLogin({
      retryDelays: NO_RETRY_PAUSE,
      onStatus: (s) => {
        if (s.status === "waiting") pollsAtFirstStatus = f.polls().length;
      },
    }).promise;
    assert.equal(pollsAtFirstStatus, 0);
  });

  test("baseUrl prefixes every route and the QR image; the QR path keeps the public URL's path", async () => {
    const url = `https://h5.example.com/app${ROUTE}/scan?ticket=${TICKET}`;
    const f = qrServer({ polls: ["confirmed"], created: json(201, { ticket: TICKET, url, expiresIn: 60 }) });
    const { login, states } = start(f, {}, { baseUrl: "/app/" });
    await login.promise;
    assert.equal(f.calls[0].url, `/app${ROUTE}/qr`);
    assert.equal(f.polls()[0].url, `/app${ROUTE}/qr/${TICKET}?wait=25&since=waiting`);
    assert.equal(f.calls.at(-1).url, "/app/auths/session");
    assert.equal(states[0].qrCodeUrl, `/app/jit/qrcode.png?path=${encodeURIComponent(`/app${ROUTE}/scan?ticket=${TICKET}`)}`);
    assert.equal(states[0].expiresIn, 60);
  });

  test("denied rejects with qr_denied and stops polling", async () => {
    const f = qrServer({ polls: ["scanned", "denied", "confirmed"] });
    const { login, states } = start(f);
    await assert.rejects(login.promise, (err) => err instanceof JitError && err.code === "qr_denied");
    assert.deepEqual(states.map((s) => s.status), ["waiting", "scanned", "denied"]);
    await settle();
    assert.equal(f.polls().length, 2);
    assert.ok(!f.calls.some((c) => c.url.includes("/auths/session")), "no session request after denied");
  });

  test("expired rejects with qr_expired and stops polling", async () => {
    const f = qrServer({ polls: ["waiting", "expired", "waiting"] });
    const { login, states } = start(f);
    await assert.rejects(login.promise, (err) => err instanceof JitError && err.code === "qr_expired");
    assert.deepEqual(states.map((s) => s.status), ["waiting", "expired"]);
    await settle();
    assert.equal(f.polls().length, 2);
  });

  test("cancel() aborts the poll in flight, rejects with cancelled and polls no more", async () => {
    const f = qrServer({ polls: ["scanned", "hang"] });
    const { login, states } = start(f);
    while (f.polls().length < 2) await settle();
    const inFlight = f.polls()[1];
    assert.equal(inFlight.since, "scanned");
    assert.equal(inFlight.init.signal.aborted, false);

    login.cancel();
    await assert.rejects(login.promise, (err) => err instanceof JitError && err.code === "cancelled");
    assert.equal(inFlight.init.signal.aborted, true, "the long poll was aborted");
    await settle();
    await settle();
    assert.equal(f.polls().length, 2, "no poll after cancel");
    assert.deepEqual(states.map((s) => s.status), ["waiting", "scanned"]);
    login.cancel(); // a second cancel is harmless
  });

  test("cancel() after a result changes nothing", async () => {
    const f = qrServer({ polls: ["confirmed"] });
    const { login } = start(f);
    assert.deepEqual(await login.promise, USER);
    login.cancel();
    assert.deepEqual(await login.promise, USER);
  });

  test("an AbortSignal cancels like cancel(); an aborted one sends nothing", async () => {
    const f = qrServer({ polls: ["hang"] });
    const ctl = new AbortController();
    const { login } = start(f, { signal: ctl.signal });
    while (f.polls().length < 1) await settle();
    ctl.abort();
    await assert.rejects(login.promise, { code: "cancelled" });
    assert.equal(f.polls()[0].init.signal.aborted, true);

    const g = qrServer();
    const { login: never, states } = start(g, { signal: AbortSignal.abort() });
    await assert.rejects(never.promise, { code: "cancelled" });
    await settle();
    assert.equal(g.calls.length, 0);
    assert.equal(states.length, 0);
  });

  test("cancel during the pause before a retry", async () => {
    const f = qrServer({ polls: [new TypeError("Failed to fetch"), "confirmed"] });
    const { login } = start(f, { retryDelays: [60_000] });
    while (f.polls().length < 1) await settle();
    login.cancel();
    await assert.rejects(login.promise, { code: "cancelled" });
    await settle();
    assert.equal(f.polls().length, 1);
  });

  test("network errors and 5xx answers are retried, then the login goes on", async () => {
    const down = new TypeError("Failed to fetch");
    const f = qrServer({
      polls: [down, json(502, { code: "bad_gateway", message: "x" }), "scanned", down, down, down, "confirmed"],
    });
    const { login, states } = start(f);
    assert.deepEqual(await login.promise, USER);
    assert.deepEqual(states.map((s) => s.status), ["waiting", "scanned", "confirmed"]);
    // A retry asks the same question.
    assert.deepEqual(f.polls().map((c) => c.since), ["waiting", "waiting", "waiting", "scanned", "scanned", "scanned", "scanned"]);
  });

  test("a network error that persists rejects after the retries, with the cause", async () => {
    const down = new TypeError("Failed to fetch");
    const f = qrServer({ polls: [down, down, down, down, "confirmed"] });
    const { login } = start(f, { retryDelays: [0, 1] });
    await assert.rejects(login.promise, (err) => err instanceof JitError && err.status === 0 && err.cause === down);
    assert.equal(f.polls().length, 3, "one try and two retries");
  });

  test("creating the ticket is retried on network errors too", async () => {
    let posts = 0;
    const inner = qrServer({ polls: ["confirmed"] });
    const f = async (url, init) => {
      if (init.method === "POST" && posts++ === 0) throw new TypeError("Failed to fetch");
      return inner(url, init);
    };
    const el = createApp({ fetch: f }).getElement(NAME);
    assert.deepEqual(await el.qrLogin({ retryDelays: [0] }).promise, USER);
    assert.equal(posts, 2);
  });

  test("a refused ticket request rejects with the server's code, without retries", async () => {
    const f = qrServer({ created: json(403, { code: "cross_site", message: "只能在本站页面上进行这个操作。" }) });
    const { login, states } = start(f);
    await assert.rejects(login.promise, { name: "JitError", status: 403, code: "cross_site", message: "只能在本站页面上进行这个操作。" });
    assert.equal(f.calls.length, 1);
    assert.equal(states.length, 0);
  });

  test("a ticket answer without ticket or url rejects", async () => {
    const f = qrServer({ created: json(201, { expiresIn: 120 }) });
    await assert.rejects(start(f).login.promise, JitError);
  });

  test("the server's refusals of a poll reject with their codes, without retries", async () => {
    const cases = [
      [403, "ticket_other_browser", "这个二维码是在另一个浏览器里生成的。"],
      [404, "ticket_not_found", "二维码不存在。"],
    ];
    for (const [status, code, message] of cases) {
      const f = qrServer({ polls: [json(status, { code, message }), "confirmed"] });
      const { login } = start(f);
      await assert.rejects(login.promise, { name: "JitError", status, code, message });
      assert.equal(f.polls().length, 1, code);
    }
  });

  test("409 ticket_used: the confirmed answer was lost, and the session is there", async () => {
    const f = qrServer({ polls: ["scanned", json(409, { code: "ticket_used", message: "二维码已经用过了。" })] });
    const { login, states } = start(f);
    assert.deepEqual(await login.promise, USER);
    assert.deepEqual(states.map((s) => s.status), ["waiting", "scanned", "confirmed"]);
  });

  test("409 ticket_used without a session rejects with ticket_used", async () => {
    const f = qrServer({ session: null, polls: [json(409, { code: "ticket_used", message: "二维码已经用过了。" })] });
    await assert.rejects(start(f).login.promise, { status: 409, code: "ticket_used" });
  });

  test("confirmed without a session cookie rejects with not_logged_in", async () => {
    const f = qrServer({ session: null, polls: ["confirmed"] });
    await assert.rejects(start(f).login.promise, { code: "not_logged_in" });
  });

  test("the session request after confirmed is retried on a 5xx", async () => {
    let sessions = 0;
    const inner = qrServer({ polls: ["confirmed"] });
    const f = async (url, init) => {
      if (url === "/auths/session" && sessions++ === 0) return json(503, { code: "database_unavailable", message: "x" });
      return inner(url, init);
    };
    const el = createApp({ fetch: f }).getElement(NAME);
    assert.deepEqual(await el.qrLogin({ retryDelays: [0] }).promise, USER);
    assert.equal(sessions, 2);
  });

  test("an answer without a status rejects", async () => {
    const f = qrServer({ polls: [json(200, { nope: true })] });
    await assert.rejects(start(f).login.promise, JitError);
  });

  test("an exception in onStatus ends the login with it", async () => {
    const f = qrServer({ polls: ["scanned", "confirmed"] });
    const boom = new Error("boom");
    const el = createApp({ fetch: f }).getElement(NAME);
    const login = el.qrLogin({
      retryDelays: NO_RETRY_PAUSE,
      onStatus: (s) => {
        if (s.status === "scanned") throw boom;
      },
    });
    await assert.rejects(login.promise, (err) => err === boom);
    await settle();
    assert.equal(f.polls().length, 1);
  });

  test("wait is sent as given, clamped to 0..25", async () => {
    for (const [given, sent] of [[0, "0"], [10, "10"], [100, "25"], [-3, "0"], ["x", "25"]]) {
      const f = qrServer({ polls: ["confirmed"] });
      await start(f, { wait: given }).login.promise;
      assert.equal(f.polls()[0].wait, sent, `wait ${given}`);
    }
  });

  test("the ticket stays inside its path segment", async () => {
    const odd = "a/b?c#d";
    const f = qrServer({ polls: ["confirmed"], created: json(201, { ticket: odd, url: SCAN_URL, expiresIn: 120 }) });
    await start(f).login.promise;
    assert.equal(f.polls()[0].url, `${ROUTE}/qr/${encodeURIComponent(odd)}?wait=25&since=waiting`);
  });

  test("a non-function onStatus is a TypeError, before any request", () => {
    const f = qrServer();
    assert.throws(() => createApp({ fetch: f }).getElement(NAME).qrLogin({ onStatus: "nope" }), TypeError);
    assert.equal(f.calls.length, 0);
  });

  test("the returned handle is frozen and has promise and cancel", async () => {
    const f = qrServer({ polls: ["confirmed"] });
    const login = createApp({ fetch: f }).getElement(NAME).qrLogin();
    assert.ok(Object.isFrozen(login));
    assert.ok(login.promise instanceof Promise);
    assert.equal(typeof login.cancel, "function");
    await login.promise;
  });
});
