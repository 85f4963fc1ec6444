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

// A copy of /work/shared/wechat-user-agents.tsv, so the tests do not depend
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
    for (const m of ["login", "loginUrl", "isWechatBrowser", "browserKind", "session", "logout"]) {
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

  test("throws a JitError outside a browser", () => {
    assert.throws(() => el.login("/x"), JitError);
  });
});

describe("session", () => {
  const user = {
    openid: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    nickname: "小明😀<b>",
    headimgurl: "https://thirdwx.qlogo.cn/mmopen/x/132",
    unionid: "",
    loginType: "auths.loginTypes.MyWechatLogin",
  };

  test("200 resolves to the user", async () => {
    const f = fakeFetch(200, user);
    stubGlobal("fetch", f);
    assert.deepEqual(await app.session(), user);
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0].url, "/auths/session");
    assert.equal(f.calls[0].init.method, "GET");
    assert.equal(f.calls[0].init.credentials, "same-origin");
    assert.equal(f.calls[0].init.cache, "no-store");
  });

  test("401 resolves to null", async () => {
    stubGlobal("fetch", fakeFetch(401, { code: "unauthenticated", message: "not logged in" }));
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
    stubGlobal("fetch", fakeFetch(200, "null"));
    await assert.rejects(app.session(), JitError);
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

describe("logout", () => {
  test("POSTs to /auths/logout", async () => {
    const f = fakeFetch(204);
    stubGlobal("fetch", f);
    assert.equal(await app.logout(), undefined);
    assert.equal(f.calls[0].url, "/auths/logout");
    assert.equal(f.calls[0].init.method, "POST");
    assert.equal(f.calls[0].init.credentials, "same-origin");
  });

  test("200 and 401 (no session) both succeed; the element's logout is the same", async () => {
    stubGlobal("fetch", fakeFetch(200, {}));
    await app.logout();
    const f = fakeFetch(401, { code: "unauthenticated", message: "no session" });
    stubGlobal("fetch", f);
    await app.getElement("auths.loginTypes.MyWechatLogin").logout();
    assert.equal(f.calls[0].init.method, "POST");
  });

  test("a server error rejects", async () => {
    stubGlobal("fetch", fakeFetch(403, { code: "csrf", message: "forbidden" }));
    await assert.rejects(app.logout(), { name: "JitError", status: 403, code: "csrf" });
  });
});

describe("elements", () => {
  test("GETs /api/elements", async () => {
    const list = [
      {
        fullName: "auths.loginTypes.MyWechatLogin",
        title: "微信登录",
        type: "auths.loginTypes.WechatPublicType",
        kind: "loginType",
        layer: "app",
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

test("works without fetch: rejects instead of throwing synchronously", async () => {
  stubGlobal("fetch", undefined);
  const pending = app.session();
  assert.ok(pending instanceof Promise);
  await assert.rejects(pending, JitError);
});
