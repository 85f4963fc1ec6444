package main

// End-to-end tests of the bundled demo app in a real browser: Debian's
// Chromium, headless, driven over the DevTools protocol by chromedp.
//
// The browser is never downloaded. Install it with
//
//	apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji
//
// (the fonts make the Chinese text and emoji nicknames in the screenshots
// legible). Without Chromium the tests skip, unless JIT_REQUIRE_BROWSER is
// set, as CI sets it: then a missing browser is a failure. Screenshots go to
// $JIT_ARTIFACTS when set, else to a temporary folder; their paths are logged.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	multiqrcode "github.com/makiuchi-d/gozxing/multi/qrcode"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
)

const (
	// An Android WeChat client, from auths/web/testdata/wechat-user-agents.tsv.
	wechatUA = "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5197 MMWEBSDK/20230805 MMWEBID/3346 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	// Desktop Chrome on Windows.
	desktopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

	// The simulator's default user the WeChat scenario logs in as.
	demoNickname = "小明😀"

	// The demo app's login element.
	demoLoginType = "auths.loginTypes.DemoWechatLogin"

	// The time zone the browsers run in, so the page's local times can be
	// checked: China has no daylight saving time, so a fixed offset is exact.
	browserTimeZone = "Asia/Shanghai"

	scenarioTimeout = 60 * time.Second
)

func TestBrowserWechatLoginAndLogout(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	b := newBrowser(t, execPath, "wechat", wechatUA, phoneViewport)

	// Inside WeChat: the login button, and no QR code.
	b.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	b.waitJS("the 微信登录 button", `isShown("signed-out-wechat") && isShown("wechat-login") && !$("wechat-login").disabled`)
	if b.evalBool(`isShown("not-wechat") || isShown("qrcode")`) {
		t.Errorf("a WeChat browser is shown the open-in-WeChat message or the QR code")
	}
	if got := b.text("wechat-login"); got != "微信登录" {
		t.Errorf("login button text %q, want 微信登录", got)
	}
	b.screenshot("wechat-1-signed-out")

	// 微信登录 → /auths/loginTypes/DemoWechatLogin/login → the simulator's
	// authorize page on the same server.
	b.do("click 微信登录", waitLoad(chromedp.Click(chromedp.ID("wechat-login"))))
	user := b.pickSimulatorUser(srv.URL, demoNickname)
	b.screenshot("wechat-2-simulator")

	// Consent → callback → back to / signed in.
	b.do("click "+demoNickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
	b.waitSignedIn(1)
	if loc := b.location(); loc != srv.URL+"/" {
		t.Errorf("after the login the browser is at %s, want %s/", loc, srv.URL)
	}
	// The avatar must be the user's picture, loaded; the page falls back to
	// a data: URL placeholder when it fails, which would hide a broken link.
	b.waitJS("the avatar to load", `isShown("avatar") && $("avatar").complete && $("avatar").naturalWidth > 0`)
	if src := b.evalString(`$("avatar").src`); strings.HasPrefix(src, "data:") {
		t.Errorf("the avatar is the placeholder, not the user's picture")
	}
	if got := b.text("openid"); got != user.OpenID {
		t.Errorf("#openid %q, want %q (the button's data-openid)", got, user.OpenID)
	}
	if b.evalBool(`isShown("error")`) {
		t.Errorf("an error is shown after the login: %q", b.text("error"))
	}

	// What the server knows, to compare the page with.
	me := b.sessionJSON()
	if me.UserID == "" {
		t.Fatalf("GET /auths/session has no userId: %+v", me)
	}
	if got := b.text("user-id"); got != me.UserID {
		t.Errorf("#user-id %q, want the session's userId %q", got, me.UserID)
	}
	// 登录方式 is the element's title from /api/elements, not its full name.
	title, appID := demoLoginElement(t)
	if me.LoginType != demoLoginType {
		t.Errorf("session loginType %q, want %q", me.LoginType, demoLoginType)
	}
	if got := b.text("login-type"); got != title {
		t.Errorf("#login-type %q, want the element's title %q", got, title)
	}

	// One bound identity: the demo element's, with its title and appId. It
	// is the only way to log in, so 解绑 is off; with every login element
	// of the app bound there is nothing to 绑定.
	type row struct {
		Title    string `json:"title"`
		Sub      string `json:"sub"`
		Button   string `json:"button"`
		Disabled bool   `json:"disabled"`
		Current  string `json:"current"`
		Times    []struct {
			Text     string `json:"text"`
			DateTime string `json:"dateTime"`
		} `json:"times"`
	}
	rowsJS := func(list string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#%s > li")].map((li) => ({
			title: li.querySelector(".item-title")?.textContent.trim() ?? "",
			sub: [...li.querySelectorAll(".item-sub")].map((e) => e.textContent.trim()).join(" | "),
			button: li.querySelector("button")?.textContent.trim() ?? "",
			disabled: li.querySelector("button")?.disabled ?? false,
			current: li.dataset.current ?? "",
			times: [...li.querySelectorAll("time")].map((e) => ({ text: e.textContent, dateTime: e.dateTime })),
		}))`, list)
	}
	ids := evalJS[[]row](b, rowsJS("identities"))
	if len(ids) != 1 {
		t.Fatalf("%d bound identities shown, want 1: %+v", len(ids), ids)
	}
	if !strings.HasPrefix(ids[0].Title, title) || !strings.Contains(ids[0].Sub, appID) {
		t.Errorf("identity row %+v, want the title %q and the appId %s", ids[0], title, appID)
	}
	if ids[0].Button != "解绑" || !ids[0].Disabled {
		t.Errorf("identity row button %q (disabled %v), want a disabled 解绑: it is the only identity", ids[0].Button, ids[0].Disabled)
	}
	if b.evalBool(`isShown("bind-options")`) {
		t.Errorf("a 绑定 button is shown although the only login element is bound: %q", b.text("bind-options"))
	}

	// One session, this one: 当前设备, the device summary, local times and
	// no 退出 button of its own.
	sessions := evalJS[[]row](b, rowsJS("sessions"))
	if len(sessions) != 1 {
		t.Fatalf("%d sessions shown, want 1: %+v", len(sessions), sessions)
	}
	cur := sessions[0]
	if cur.Current != "true" || !strings.Contains(cur.Title, "当前设备") || !strings.Contains(cur.Title, "微信 · Android") {
		t.Errorf("session row %+v, want 微信 · Android marked 当前设备", cur)
	}
	if cur.Button != "" {
		t.Errorf("the current session has a %q button; it is ended with 退出登录", cur.Button)
	}
	checkLocalTimes(t, cur.Sub, len(cur.Times), func(i int) (string, string) { return cur.Times[i].Text, cur.Times[i].DateTime })
	b.screenshot("wechat-3-signed-in")

	// A second device (its own browser and profile: a desktop Chrome that
	// continues through the simulator) logs in as the same WeChat user.
	d := newBrowser(t, execPath, "desktop", desktopUA, desktopViewport)
	d.loginOnDesktop(srv.URL, demoNickname)
	d.waitSignedIn(2)
	if got := d.sessionJSON().UserID; got != me.UserID {
		t.Fatalf("the second device is logged in as user %s, want the same user %s", got, me.UserID)
	}
	d.checkSessionRows("the second device", "Chrome · Windows", "微信 · Android")
	d.screenshot("devices-1-desktop-two-sessions")

	// The first device sees both after a reload.
	b.do("reload", chromedp.Reload())
	b.waitSignedIn(2)
	b.checkSessionRows("the first device", "微信 · Android", "Chrome · Windows")
	b.screenshot("devices-2-phone-two-sessions")

	// 退出 on the other device's row ends that session only.
	b.do("click 退出 on the desktop's row", chromedp.Click(chromedp.CSS(`#sessions li[data-current="false"] button`)))
	b.waitSignedIn(1)
	d.do("reload the second device", chromedp.Reload())
	d.waitJS("the second device to be logged out", `isShown("signed-out-browser") && !isShown("signed-in")`)

	// It logs in again, and 退出所有设备 there ends both.
	d.loginOnDesktop(srv.URL, demoNickname)
	d.waitSignedIn(2)
	d.do("click 退出所有设备", chromedp.Click(chromedp.ID("logout-all")))
	d.waitJS("the second device's login page after 退出所有设备", `isShown("signed-out-browser") && !isShown("signed-in")`)
	if status := d.evalInt(`fetch("/auths/session", { cache: "no-store" }).then((r) => r.status)`); status != 401 {
		t.Errorf("second device: GET /auths/session after 退出所有设备: %d, want 401", status)
	}
	d.screenshot("devices-3-desktop-logged-out-all")
	b.do("reload the first device", chromedp.Reload())
	b.waitJS("the first device to be logged out too", `isShown("signed-out-wechat") && !isShown("signed-in")`)
	if status := b.evalInt(`fetch("/auths/session", { cache: "no-store" }).then((r) => r.status)`); status != 401 {
		t.Errorf("first device: GET /auths/session after 退出所有设备 on the other: %d, want 401", status)
	}
	b.screenshot("devices-4-phone-logged-out")
	d.checkConsole()

	// Log in once more, and 退出登录 brings the login button back; the
	// session is gone on the server too, not only on the page.
	b.do("click 微信登录 again", waitLoad(chromedp.Click(chromedp.ID("wechat-login"))))
	again := b.pickSimulatorUser(srv.URL, demoNickname)
	b.do("click "+demoNickname+" again", waitLoad(chromedp.Click(chromedp.ID(again.ID))))
	b.waitSignedIn(1)
	if got := b.text("user-id"); got != me.UserID {
		t.Errorf("logged in again as user %q, want the same user %q", got, me.UserID)
	}
	b.do("click 退出登录", chromedp.Click(chromedp.ID("logout")))
	b.waitJS("the 微信登录 button after logout", `isShown("signed-out-wechat") && isShown("wechat-login") && !$("wechat-login").disabled`)
	if status := b.evalInt(`fetch("/auths/session", { cache: "no-store" }).then((r) => r.status)`); status != 401 {
		t.Errorf("GET /auths/session after logout: %d, want 401", status)
	}
	b.do("reload", chromedp.Reload())
	b.waitJS("the 微信登录 button after a reload", `isShown("signed-out-wechat") && !isShown("signed-in")`)
	b.screenshot("wechat-4-signed-out-again")
	b.checkConsole()
}

// TestBrowserLoginErrorParam: the server sends a failed login back with
// ?login_error=CODE only; the page says what happened in Chinese for every
// code the server sends, and takes the parameter out of the address bar.
func TestBrowserLoginErrorParam(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	b := newBrowser(t, execPath, "login-error", wechatUA, phoneViewport)

	b.do("open the demo page with login_error", chromedp.Navigate(srv.URL+"/?from=menu&login_error=registration_closed#top"))
	b.waitJS("the error and the login button", `isShown("error") && isShown("signed-out-wechat")`)
	if got, want := b.text("error"), "这个微信还没有注册账号，本应用暂不开放注册。"; got != want {
		t.Errorf("#error %q, want %q", got, want)
	}
	if loc := b.location(); loc != srv.URL+"/?from=menu#top" {
		t.Errorf("address bar %s, want %s/?from=menu#top: login_error removed, the rest kept", loc, srv.URL)
	}
	b.screenshot("login-error-1-registration-closed")

	// A reload does not show the stale error again.
	b.do("reload", chromedp.Reload())
	b.waitJS("the login button after a reload", `isShown("signed-out-wechat")`)
	if b.evalBool(`isShown("error")`) {
		t.Errorf("the error is still shown after a reload: %q", b.text("error"))
	}

	// Every code the server sends has its own sentence, not the fallback.
	for _, code := range loginErrorCodes {
		b.do("open with login_error="+code, chromedp.Navigate(srv.URL+"/?login_error="+code))
		b.waitJS("the error for "+code, `isShown("error") && isShown("signed-out-wechat")`)
		got := b.text("error")
		if strings.Contains(got, code) || strings.HasPrefix(got, "登录没有完成，请重试。（") || !strings.HasSuffix(got, "。") {
			t.Errorf("login_error=%s shows %q, want a sentence of its own", code, got)
		}
		if loc := b.location(); loc != srv.URL+"/" {
			t.Errorf("login_error=%s: address bar %s, want %s/", code, loc, srv.URL)
		}
	}

	// An unknown code: the generic sentence with the code, as text.
	b.do("open with an unknown code", chromedp.Navigate(srv.URL+"/?login_error="+url.QueryEscape("<b>new_code</b>")))
	b.waitJS("the error for an unknown code", `isShown("error")`)
	if got, want := b.text("error"), "登录没有完成，请重试。（<b>new_code</b>）"; got != want {
		t.Errorf("#error %q, want %q", got, want)
	}
	if b.evalBool(`!!document.querySelector("#error b")`) {
		t.Errorf("the code was rendered as HTML")
	}

	// A bind needs a session: started logged out, the server sends the
	// browser back with login_error=not_logged_in.
	b.do("start a bind logged out", waitLoad(chromedp.Evaluate[chromedp.Void](`import("/jit/sdk.js").then(({ app }) =>
		app.getElement("auths.loginTypes.DemoWechatLogin").login({ redirectUrl: "/", bind: true }))`, chromedp.EvalAwaitPromise)))
	b.waitJS("the not_logged_in error", `isShown("error") && isShown("signed-out-wechat")`)
	if got, want := b.text("error"), "请先登录，再绑定微信。"; got != want {
		t.Errorf("bind logged out: #error %q, want %q", got, want)
	}
	if loc := b.location(); loc != srv.URL+"/" {
		t.Errorf("bind logged out: address bar %s, want %s/", loc, srv.URL)
	}
	b.screenshot("login-error-2-bind-not-logged-in")
	b.checkConsole()
}

// The codes the server can put in ?login_error= (auths/http.go, auths/pages.go
// and the WeChat login Type).
var loginErrorCodes = []string{
	"state_missing", "state_invalid", "state_expired", "state_used", "state_browser_mismatch",
	"authorization_denied", "code_used", "code_invalid", "snapshot_user", "registration_closed",
	"login_refused", "identity_in_use", "not_logged_in", "user_disabled", "wechat_error",
	"wechat_timeout", "wechat_unavailable", "login_in_progress", "login_failed",
	"database_unavailable", "invalid_redirect", "login_type_not_found", "internal",
}

// TestBrowserDesktopShowsQRCode: a desktop browser is shown a live login QR
// code (not a QR of the login link), which holds the scan link of a fresh
// ticket; in dev mode "在本机模拟手机扫码" opens that link in a new tab of
// the same browser, where the phone's part runs through the simulator and
// logs the desktop page in.
func TestBrowserDesktopShowsQRCode(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	b := newBrowser(t, execPath, "desktop", desktopUA, desktopViewport)

	b.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	b.waitQRStatus("waiting", "请用微信扫码登录")
	if b.evalBool(`isShown("wechat-login") || isShown("signed-in")`) {
		t.Errorf("a desktop browser is shown the WeChat login button or a session")
	}
	if b.evalBool(`document.body.innerText.includes("微信扫一扫，登录本页面")`) {
		t.Errorf("the old QR code of the login link is still captioned on the page")
	}
	if got := b.text("not-wechat"); !strings.Contains(got, "微信") {
		t.Errorf("#not-wechat text %q does not mention 微信", got)
	}
	scan := b.readQRCode("desktop-qr")
	checkScanURL(t, srv.URL, scan)
	// The image is drawn by this server from the scan link's path.
	if src := b.evalString(`$("qrcode").src`); !strings.HasPrefix(src, srv.URL+"/jit/qrcode.png?path=") {
		t.Errorf("#qrcode src %q, want %s/jit/qrcode.png?path=…", src, srv.URL)
	}
	// Dev mode (the simulator is mounted): the tools to run the phone's
	// part here, and the demo's website-app login.
	b.waitJS("the dev-mode tools", `isShown("dev-tools") && isShown("qr-simulate") && !$("qr-simulate").disabled && isShown("continue-here")`)
	if got := b.text("qr-simulate"); got != "在本机模拟手机扫码" {
		t.Errorf("#qr-simulate text %q, want 在本机模拟手机扫码", got)
	}
	if got := b.text("website-logins"); !b.evalBool(`isShown("website-logins")`) || got != "网站应用扫码登录" {
		t.Errorf("the website-app login: %q", got)
	}
	b.screenshot("desktop-1-login-qr")

	// 在本机模拟手机扫码 opens the scan link in a new tab.
	opened := chromedp.WaitNewTarget(b.tab, func(info *target.Info) bool { return info.Type == "page" })
	b.evalBool(`(window.__sameDocument = true)`)
	// window.open as the page has it, noting the URL.
	b.evalBool(`(() => {
		const open = window.open;
		window.open = (url, ...rest) => {
			window.__opened = String(url);
			return open.call(window, url, ...rest);
		};
		return true;
	})()`)
	b.do("click 在本机模拟手机扫码", chromedp.Click(chromedp.ID("qr-simulate")))
	var id target.ID
	select {
	case id = <-opened:
	case <-b.ctx.Done():
		b.fatalf("no tab opened by 在本机模拟手机扫码")
	}
	popupTab, cancel := chromedp.NewContext(b.tab, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	popup := setUpTab(t, "desktop-popup", popupTab, desktopUA, desktopViewport)
	user := popup.pickSimulatorUser(srv.URL, demoNickname)
	// The tab was opened at the link the QR code holds.
	if got := b.evalString(`window.__opened ?? ""`); got != scan {
		t.Errorf("在本机模拟手机扫码 opened %q, want the QR code's link %q", got, scan)
	}
	popup.do("click "+demoNickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
	popup.confirmOnPhone(true)
	b.waitJS("the desktop page signed in", fmt.Sprintf(`isShown("signed-in") && $("nickname").textContent === %q`, demoNickname))
	if !b.evalBool(`window.__sameDocument === true`) {
		t.Errorf("the desktop page was reloaded to show the login")
	}
	b.screenshot("desktop-2-signed-in-by-simulated-scan")
	b.checkConsole()
}

// TestBrowserQRLoginAcrossDevices is the cross-device login with two
// browser contexts: the desktop shows the QR, the test decodes the image,
// a WeChat phone opens the link, logs in through the simulator and taps
// 确认登录, and the desktop page is then signed in without a reload.
func TestBrowserQRLoginAcrossDevices(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	desk := newBrowser(t, execPath, "qr-desktop", desktopUA, desktopViewport)
	phone := desk.newContext("qr-phone", wechatUA, phoneViewport)

	desk.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	desk.waitQRStatus("waiting", "请用微信扫码登录")
	desk.evalBool(`(window.__sameDocument = true)`)
	scan := desk.readQRCode("qr-desktop-qr")
	checkScanURL(t, srv.URL, scan)
	desk.screenshot("qr-1-desktop-qr")

	phone.scanAndLogIn(srv.URL, scan)
	desk.waitQRStatus("scanned", "已扫码，请在手机上确认")
	desk.screenshot("qr-2-desktop-scanned")
	// Only the desktop that made the ticket may poll it: the phone, which
	// knows the ticket, gets 403 ticket_other_browser and no session.
	poll := strings.Replace(scan, "/scan?ticket=", "/qr/", 1) + "?wait=0"
	type apiError struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	pollJS := func(u string) string {
		return fmt.Sprintf(`fetch(%q, { cache: "no-store" }).then(async (r) => ({ status: r.status, code: (await r.json()).code ?? "" }))`, u)
	}
	if got := evalJS[apiError](phone, pollJS(poll)); got.Status != 403 || got.Code != "ticket_other_browser" {
		t.Errorf("the phone polling the desktop's ticket: %+v, want 403 ticket_other_browser", got)
	}
	if got := evalJS[apiError](desk, pollJS(srv.URL+"/auths/loginTypes/DemoWechatLogin/qr/"+strings.Repeat("A", 26)+"?wait=0")); got.Status != 404 || got.Code != "ticket_not_found" {
		t.Errorf("polling an unknown ticket: %+v, want 404 ticket_not_found", got)
	}
	phone.screenshot("qr-3-phone-confirm")

	phone.confirmOnPhone(true)
	phone.screenshot("qr-4-phone-confirmed")

	desk.waitJS("the desktop page signed in", fmt.Sprintf(`isShown("signed-in") && $("nickname").textContent === %q && document.querySelectorAll("#sessions > li").length >= 1`, demoNickname))
	if !desk.evalBool(`window.__sameDocument === true`) {
		t.Errorf("the desktop page was reloaded to show the login")
	}
	if loc := desk.location(); loc != srv.URL+"/" {
		t.Errorf("the desktop page is at %s, want %s/", loc, srv.URL)
	}
	me := desk.sessionJSON()
	if me.UserID == "" || me.LoginType != demoLoginType {
		t.Errorf("desktop GET /auths/session: %+v, want a user logged in with %s", me, demoLoginType)
	}
	if got := desk.text("user-id"); got != me.UserID {
		t.Errorf("#user-id %q, want the session's userId %q", got, me.UserID)
	}
	current := desk.evalString(`document.querySelector('#sessions > li[data-current="true"] .item-title')?.textContent.trim() ?? ""`)
	if current != "Chrome · Windows 当前设备" {
		t.Errorf("the desktop's current session row is %q, want Chrome · Windows 当前设备", current)
	}
	desk.screenshot("qr-5-desktop-signed-in")
	desk.checkConsole()

	// The ticket is spent: polling it again is refused.
	if got := evalJS[apiError](desk, pollJS(poll)); got.Status != 409 || got.Code != "ticket_used" {
		t.Errorf("polling the confirmed ticket again: %+v, want 409 ticket_used", got)
	}
}

// TestBrowserQRLoginDenied: the phone taps 取消; the desktop says so, stays
// logged out, and 刷新 gives a new QR code of a new ticket.
func TestBrowserQRLoginDenied(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	desk := newBrowser(t, execPath, "qr-deny-desktop", desktopUA, desktopViewport)
	phone := desk.newContext("qr-deny-phone", wechatUA, phoneViewport)

	desk.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	desk.waitQRStatus("waiting", "请用微信扫码登录")
	scan := desk.readQRCode("qr-deny-desktop-qr")
	checkScanURL(t, srv.URL, scan)

	phone.scanAndLogIn(srv.URL, scan)
	desk.waitQRStatus("scanned", "已扫码，请在手机上确认")
	phone.confirmOnPhone(false)
	phone.screenshot("qr-deny-1-phone-cancelled")

	desk.waitQRStatus("denied", "已取消登录")
	desk.waitJS("the 刷新 button", `isShown("qr-refresh") && !$("qr-refresh").disabled && $("qr-refresh").textContent.trim() === "刷新"`)
	if got := desk.text("qr-overlay-text"); got != "已取消登录" {
		t.Errorf("the text over the QR code is %q, want 已取消登录", got)
	}
	if desk.evalBool(`isShown("signed-in")`) {
		t.Errorf("the desktop is shown signed in after 取消")
	}
	if status := desk.evalInt(`fetch("/auths/session", { cache: "no-store" }).then((r) => r.status)`); status != 401 {
		t.Errorf("desktop GET /auths/session after 取消: %d, want 401", status)
	}
	desk.screenshot("qr-deny-2-desktop-denied")

	desk.do("click 刷新", chromedp.Click(chromedp.ID("qr-refresh")))
	desk.waitQRStatus("waiting", "请用微信扫码登录")
	again := desk.readQRCode("qr-deny-desktop-qr-again")
	checkScanURL(t, srv.URL, again)
	if again == scan {
		t.Errorf("刷新 shows the same QR code %s, want a new ticket", scan)
	}
	desk.screenshot("qr-deny-3-desktop-refreshed")
	desk.checkConsole()
}

// TestBrowserQRCodeExpired: a ticket that expires shows 二维码已过期 over
// the code with 刷新, which makes a new one. Tickets live 30 s at least, so
// the server's answer is replaced: the polls of the page's first ticket are
// told it expired.
func TestBrowserQRCodeExpired(t *testing.T) {
	execPath := requireChromium(t)
	var created atomic.Int32
	srv := startDemoServerWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			const route = "/auths/loginTypes/DemoWechatLogin/qr"
			switch {
			case r.Method == http.MethodPost && r.URL.Path == route:
				created.Add(1)
			case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, route+"/") && created.Load() == 1:
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"status":"expired"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	b := newBrowser(t, execPath, "qr-expired", desktopUA, desktopViewport)
	b.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	b.waitQRStatus("expired", "二维码已过期")
	b.waitJS("the 刷新 button", `isShown("qr-refresh") && !$("qr-refresh").disabled`)
	if got := b.text("qr-overlay-text"); got != "二维码已过期" {
		t.Errorf("the text over the QR code is %q, want 二维码已过期", got)
	}
	if !b.evalBool(`$("qr-simulate").disabled`) {
		t.Errorf("在本机模拟手机扫码 is enabled for an expired code")
	}
	b.screenshot("qr-expired-1-desktop")
	b.do("click 刷新", chromedp.Click(chromedp.ID("qr-refresh")))
	b.waitQRStatus("waiting", "请用微信扫码登录")
	if n := created.Load(); n != 2 {
		t.Errorf("%d tickets made, want 2: the first and the one 刷新 asked for", n)
	}
	checkScanURL(t, srv.URL, b.readQRCode("qr-expired-desktop-qr-again"))
	b.checkConsole()
}

// TestBrowserQRLoginRefused: when the app refuses the phone's login (here
// its login hook), the phone is told why and the desktop shows the denied
// state, as for 取消.
func TestBrowserQRLoginRefused(t *testing.T) {
	execPath := requireChromium(t)
	const why = "本应用仅限受邀用户使用。"
	srv := startDemoServerWith(t, nil, jit.WithLoginHook(func(context.Context, *auths.LoginEvent) error {
		return errors.New(why)
	}))
	desk := newBrowser(t, execPath, "qr-refused-desktop", desktopUA, desktopViewport)
	phone := desk.newContext("qr-refused-phone", wechatUA, phoneViewport)

	desk.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	desk.waitQRStatus("waiting", "请用微信扫码登录")
	scan := desk.readQRCode("qr-refused-desktop-qr")
	checkScanURL(t, srv.URL, scan)

	phone.do("open the scanned link", chromedp.Navigate(scan))
	user := phone.pickSimulatorUser(srv.URL, demoNickname)
	phone.do("click "+demoNickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
	phone.waitJS("the hook's message on the phone", fmt.Sprintf(`document.body.innerText.includes(%q)`, why))
	if phone.evalBool("!!(" + buttonJS("确认登录") + ")") {
		t.Errorf("the phone is asked to confirm a login the app refused")
	}
	phone.screenshot("qr-refused-1-phone")

	desk.waitQRStatus("denied", "已取消登录")
	if status := desk.evalInt(`fetch("/auths/session", { cache: "no-store" }).then((r) => r.status)`); status != 401 {
		t.Errorf("desktop GET /auths/session after a refused login: %d, want 401", status)
	}
	desk.screenshot("qr-refused-2-desktop")
	desk.checkConsole()
}

// TestBrowserWebsiteAppLogin: the demo's login element of the WeChat
// website-app Type (auths.loginTypes.WeChatType) is offered on the desktop
// as 网站应用扫码登录; it runs through the simulator's qrconnect page and
// logs the desktop in.
func TestBrowserWebsiteAppLogin(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	b := newBrowser(t, execPath, "website-app", desktopUA, desktopViewport)
	b.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	b.waitQRStatus("waiting", "请用微信扫码登录")
	b.waitJS("the website-app login button", `isShown("website-logins") && document.querySelectorAll("#website-logins button").length === 1`)
	if got := b.evalString(`document.querySelector("#website-logins button").textContent`); got != "网站应用扫码登录" {
		t.Errorf("website-app button text %q, want 网站应用扫码登录", got)
	}
	b.screenshot("website-app-1-button")
	b.do("click 网站应用扫码登录", waitLoad(chromedp.Click(chromedp.CSS("#website-logins button"))))
	if loc := b.location(); !strings.HasPrefix(loc, srv.URL+"/_wechat/connect/qrconnect?appid=wx00000000000000aa&") ||
		!strings.Contains(loc, "&scope=snsapi_login&") {
		t.Fatalf("网站应用扫码登录 went to %s, want the simulator's qrconnect page", loc)
	}
	user := b.pickSimulatorUser(srv.URL, demoNickname)
	b.screenshot("website-app-2-simulator")
	b.do("click "+demoNickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
	b.waitSignedIn(1)
	if got := b.text("login-type"); got != "微信扫码登录（网站应用演示）" {
		t.Errorf("#login-type %q, want the website-app element's title", got)
	}
	b.screenshot("website-app-3-signed-in")
	b.checkConsole()
}

// checkScanURL checks a decoded QR code: the scan link of a ticket of the
// demo's login element on this server.
func checkScanURL(t *testing.T, srvURL, scan string) {
	t.Helper()
	prefix := srvURL + "/auths/loginTypes/DemoWechatLogin/scan?ticket="
	ticket, ok := strings.CutPrefix(scan, prefix)
	if !ok || ticket == "" || strings.ContainsAny(ticket, "&#/?") {
		t.Fatalf("the QR code holds %q, want %s<ticket>", scan, prefix)
	}
}

// waitQRStatus waits for the desktop view's QR box in this status with
// this caption, its image loaded.
func (b *browser) waitQRStatus(status, caption string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("the QR code %s (%s)", status, caption), fmt.Sprintf(
		`isShown("signed-out-browser") && $("qr-box").dataset.status === %q && $("qr-caption").textContent === %q && isShown("qrcode") && $("qrcode").complete && $("qrcode").naturalWidth > 0`,
		status, caption))
}

// readQRCode decodes the QR code the page shows, from the pixels on the
// screen (a screenshot of the <img>), and checks that the PNG the server
// sent holds the same text.
func (b *browser) readQRCode(name string) string {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.ID("qrcode")))
	if err != nil {
		b.fatalf("screenshot the QR code: %v", err)
	}
	b.save(name, shot)
	shown, err := decodeQRCode(shot)
	if err != nil {
		b.fatalf("decode the QR code on the screen: %v", err)
	}
	// The image bytes, fetched by the page from its own src.
	b64 := b.evalString(`fetch($("qrcode").src).then((r) => r.arrayBuffer()).then((buf) => {
		let s = "";
		for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);
		return btoa(s);
	})`)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		b.fatalf("the QR code's PNG: %v", err)
	}
	served, err := decodeQRCode(raw)
	if err != nil {
		b.fatalf("decode the QR code's PNG: %v", err)
	}
	if served != shown {
		b.t.Errorf("the QR code on the screen holds %q, its PNG %q", shown, served)
	}
	return shown
}

// decodeQRCode reads the text of the one QR code in a PNG.
//
// It uses gozxing's multi-code reader, which tries every triple of finder
// pattern candidates: the single-code reader takes the best-looking triple
// only, and for a few percent of tickets a run of data modules that looks
// like a finder pattern wins, so a valid code is not found ("dimension =
// 39"; zbarimg reads those).
func decodeQRCode(pngBytes []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return "", err
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	results, err := multiqrcode.NewQRCodeMultiReader().DecodeMultiple(bmp,
		map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", err
	}
	text := results[0].GetText()
	for _, r := range results[1:] {
		if r.GetText() != text {
			return "", fmt.Errorf("the image holds several QR codes: %q and %q", text, r.GetText())
		}
	}
	return text, nil
}

// scanAndLogIn is the phone opening a scanned link in WeChat: the
// simulator's authorize page, the demo user, and the confirmation page.
func (b *browser) scanAndLogIn(srvURL, scan string) {
	b.t.Helper()
	b.do("open the scanned link", chromedp.Navigate(scan))
	user := b.pickSimulatorUser(srvURL, demoNickname)
	b.do("click "+demoNickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
	b.waitJS("the confirmation page", fmt.Sprintf(`document.body.innerText.includes(%q) && !!(%s) && !!(%s)`,
		"在电脑上登录「"+demoAppTitle(b.t)+"」？", buttonJS("确认登录"), buttonJS("取消")))
}

// confirmOnPhone taps 确认登录 (confirm) or 取消 on the confirmation page.
func (b *browser) confirmOnPhone(confirm bool) {
	b.t.Helper()
	label, after := "确认登录", "已确认"
	if !confirm {
		label, after = "取消", "已取消"
	}
	b.waitJS("the confirmation page", "!!("+buttonJS(label)+")")
	b.do("tap "+label, waitLoad(chromedp.Click(chromedp.JSPath(buttonJS(label)))))
	b.waitJS("the page after "+label, fmt.Sprintf(`document.body.innerText.includes(%q)`, after))
}

// buttonJS is a JavaScript expression for the button with this text.
func buttonJS(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("button")].find((b) => b.textContent.trim() === %q)`, text)
}

// demoAppTitle is the demo app's title (app.json), which the phone's
// confirmation page names.
func demoAppTitle(t *testing.T) string {
	t.Helper()
	b, err := fs.ReadFile(demoFS, "demoapp/app.json")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal(b, &a); err != nil || a.Title == "" {
		t.Fatalf("demoapp/app.json: no title (%v)", err)
	}
	return a.Title
}

// requireChromium finds Debian's Chromium. It skips the test when there is
// none, unless JIT_REQUIRE_BROWSER is set.
func requireChromium(t *testing.T) string {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			path = ""
		}
	}
	if path == "" {
		msg := "chromium not found (want /usr/bin/chromium or chromium on PATH); install it with: apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji"
		if os.Getenv("JIT_REQUIRE_BROWSER") != "" {
			t.Fatalf("JIT_REQUIRE_BROWSER is set but %s", msg)
		}
		t.Skip(msg)
	}
	return path
}

// startDemoServer serves the bundled demo app as "jit serve" does with no
// --app: dev mode with the WeChat simulator at /_wechat, on a free port, with
// its own SQLite file.
func startDemoServer(t *testing.T) *httptest.Server {
	t.Helper()
	return startDemoServerWith(t, nil)
}

// startDemoServerWith is startDemoServer with wrap, when not nil, in front
// of the app's handler, and more options for the app.
func startDemoServerWith(t *testing.T, wrap func(http.Handler) http.Handler, opts ...jit.Option) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	self := "http://" + srv.Listener.Addr().String()
	sub, err := fs.Sub(demoFS, "demoapp")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	app, err := jit.OpenFS(t.Context(), sub, ".", append([]jit.Option{
		jit.WithLogger(logger),
		jit.WithDevSimulator(self),
		jit.WithDatabase(filepath.Join(t.TempDir(), "jit.db")),
		jit.WithoutReload(),
	}, opts...)...)
	if err != nil {
		srv.Listener.Close()
		t.Fatalf("open the demo app: %v", err)
	}
	for _, p := range app.Problems() {
		t.Logf("demo app problem: %s: %v", p.Severity, p)
	}
	t.Cleanup(func() { app.Close() })
	srv.Config.Handler = app.Handler()
	if wrap != nil {
		srv.Config.Handler = wrap(srv.Config.Handler)
	}
	srv.Start()
	t.Cleanup(srv.Close) // runs before app.Close: no request outlives the app
	return srv
}

// testLogWriter sends the server's log lines to t.Log, shown on failure or
// with -v.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type viewport struct {
	width, height int64
	scale         float64
	mobile        bool
}

var (
	phoneViewport   = viewport{width: 390, height: 844, scale: 2, mobile: true}
	desktopViewport = viewport{width: 1280, height: 860, scale: 1}
)

// browser is one headless Chromium with one tab, a user agent and a
// viewport, for one scenario.
type browser struct {
	t    *testing.T
	name string
	tab  context.Context // the tab, for screenshots after a failure
	ctx  context.Context // the tab with the scenario's deadline
	dir  string          // where screenshots go

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, execPath, name, ua string, vp viewport) *browser {
	t.Helper()
	// A fresh profile in the test's temp dir. Chromium's helper processes
	// can still write there for a moment after it exits, which would fail
	// t.TempDir's own removal, so remove the profile with retries first.
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	t.Cleanup(func() { removeWithRetry(t, profile) })

	// The browser lives a little longer than the scenario so that a failure
	// can still take a screenshot.
	life, cancelLife := context.WithTimeout(t.Context(), scenarioTimeout+30*time.Second)
	t.Cleanup(cancelLife)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life,
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(profile),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelTab)

	// Start the browser and the tab with the tab's own context, not the
	// scenario's: the browser process is tied to the context it starts with.
	// The allocator's deadline bounds the start.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium %s: %v", execPath, err)
	}
	return setUpTab(t, name, tab, ua, vp)
}

// newContext opens a tab in a new browser context of b's Chromium: a
// separate cookie jar and storage, like a second device, without a second
// browser process. It is closed with the test.
func (b *browser) newContext(name, ua string, vp viewport) *browser {
	b.t.Helper()
	tab, cancel := chromedp.NewContext(b.tab, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		b.t.Fatalf("open a browser context for %s: %v", name, err)
	}
	return setUpTab(b.t, name, tab, ua, vp)
}

// setUpTab records the tab's console and emulates the device: its user
// agent, the time zone and the viewport.
func setUpTab(t *testing.T, name string, tab context.Context, ua string, vp viewport) *browser {
	t.Helper()
	b := &browser{t: t, name: name, tab: tab, dir: artifactDir(t)}
	var cancel context.CancelFunc
	b.ctx, cancel = context.WithTimeout(tab, scenarioTimeout)
	t.Cleanup(cancel)

	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()

	b.do("emulate the device", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: ua, AcceptLanguage: "zh-CN,zh;q=0.9",
		}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{
			TimezoneID: browserTimeZone,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: vp.width, Height: vp.height, DeviceScaleFactor: vp.scale, Mobile: vp.mobile,
		})
		return err
	}))
	return b
}

// simulatorUser is a user button of the simulator's authorize page.
type simulatorUser struct {
	ID     string `json:"id"`
	OpenID string `json:"openid"`
}

// pickSimulatorUser waits for the simulator's authorize page and returns
// the button of the user with this nickname. The user buttons are
// wx-user-N in the simulator's order; the nickname is matched rather than
// relying on an index.
func (b *browser) pickSimulatorUser(srvURL, nickname string) simulatorUser {
	b.t.Helper()
	b.do("wait for the simulator's user list", chromedp.WaitVisible(chromedp.ID("wx-users")))
	if loc := b.location(); !strings.HasPrefix(loc, srvURL+"/_wechat/connect/oauth2/authorize?") &&
		!strings.HasPrefix(loc, srvURL+"/_wechat/connect/qrconnect?") {
		b.fatalf("the browser is at %s, want the simulator's authorize or qrconnect page", loc)
	}
	user, err := chromedp.Run(b.ctx, chromedp.Evaluate[simulatorUser](fmt.Sprintf(`(() => {
		for (const b of document.querySelectorAll("#wx-users button[id^='wx-user-']")) {
			const name = b.querySelector("span")?.firstChild?.textContent ?? "";
			if (name.trim() === %q) return { id: b.id, openid: b.dataset.openid ?? "" };
		}
		return { id: "", openid: "" };
	})()`, nickname)))
	if err != nil {
		b.fatalf("find the %s button: %v", nickname, err)
	}
	if user.ID == "" || user.OpenID == "" {
		b.fatalf("no wx-user-N button with nickname %s and a data-openid on the simulator page", nickname)
	}
	return user
}

// loginOnDesktop logs a desktop browser in as nickname: the demo page, its
// "在当前浏览器继续" link to the simulator, the user's button.
func (b *browser) loginOnDesktop(srvURL, nickname string) {
	b.t.Helper()
	b.do("open the demo page", chromedp.Navigate(srvURL+"/"))
	b.waitJS("在当前浏览器继续", `isShown("signed-out-browser") && isShown("continue-here") && !$("continue-here").disabled`)
	b.do("click 在当前浏览器继续", waitLoad(chromedp.Click(chromedp.ID("continue-here"))))
	user := b.pickSimulatorUser(srvURL, nickname)
	b.do("click "+nickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
}

// waitSignedIn waits for the signed-in view of the demo user with this
// many sessions listed.
func (b *browser) waitSignedIn(sessions int) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("the signed-in view with %d session(s)", sessions), fmt.Sprintf(
		`isShown("signed-in") && $("nickname").textContent === %q && document.querySelectorAll("#sessions > li").length === %d`,
		demoNickname, sessions))
}

// sessionUser is GET /auths/session.
type sessionUser struct {
	UserID     string `json:"userId"`
	LoginType  string `json:"loginType"`
	OpenID     string `json:"openid"`
	Identities []struct {
		LoginType string `json:"loginType"`
		AppID     string `json:"appId"`
	} `json:"identities"`
}

// sessionJSON asks the server who the page is logged in as.
func (b *browser) sessionJSON() sessionUser {
	b.t.Helper()
	return evalJS[sessionUser](b, `fetch("/auths/session", { cache: "no-store" }).then((r) => r.json())`)
}

// checkSessionRows checks a list of two sessions: this device's first,
// marked 当前设备 and without a button, then the other with a 退出 button.
func (b *browser) checkSessionRows(who, current, other string) {
	b.t.Helper()
	type row struct {
		Current string `json:"current"`
		Title   string `json:"title"`
		Button  string `json:"button"`
	}
	rows := evalJS[[]row](b, `[...document.querySelectorAll("#sessions > li")].map((li) => ({
		current: li.dataset.current ?? "",
		title: li.querySelector(".item-title")?.textContent.trim() ?? "",
		button: li.querySelector("button")?.textContent.trim() ?? "",
	}))`)
	if len(rows) != 2 {
		b.t.Errorf("%s: %d sessions listed, want 2: %+v", who, len(rows), rows)
		return
	}
	if r := rows[0]; r.Current != "true" || r.Title != current+" 当前设备" || r.Button != "" {
		b.t.Errorf("%s: first session row %+v, want %q marked 当前设备, without a button", who, r, current)
	}
	if r := rows[1]; r.Current != "false" || r.Title != other || r.Button != "退出" {
		b.t.Errorf("%s: second session row %+v, want %q with a 退出 button", who, r, other)
	}
}

// checkLocalTimes checks a session row's times: 登录于 and 最近活动, each
// the server's timestamp (the <time> element's datetime) shown as
// "2006/01/02 15:04" in the browser's time zone.
func checkLocalTimes(t *testing.T, sub string, n int, get func(i int) (text, dateTime string)) {
	t.Helper()
	if !strings.Contains(sub, "登录于") || !strings.Contains(sub, "最近活动") {
		t.Errorf("session row %q does not say 登录于 and 最近活动", sub)
	}
	if n != 2 {
		t.Errorf("session row has %d times, want 2 (created, last seen)", n)
	}
	china := time.FixedZone("CST", 8*60*60)
	for i := range n {
		text, dt := get(i)
		at, err := time.Parse(time.RFC3339Nano, dt)
		if err != nil {
			t.Errorf("session time %d: datetime %q: %v", i, dt, err)
			continue
		}
		if want := at.In(china).Format("2006/01/02 15:04"); text != want {
			t.Errorf("session time %d is shown as %q, want %q (%s in %s)", i, text, want, dt, browserTimeZone)
		}
		if d := time.Since(at); d < -time.Minute || d > 5*time.Minute {
			t.Errorf("session time %d is %s, not the login just now", i, dt)
		}
	}
}

// demoLoginElement reads the demo login element's title and appId from its
// files, which the page must show.
func demoLoginElement(t *testing.T) (title, appID string) {
	t.Helper()
	dir := "demoapp/" + strings.ReplaceAll(demoLoginType, ".", "/")
	var e struct {
		Title string `json:"title"`
	}
	var cfg struct {
		AppID string `json:"appId"`
	}
	for file, v := range map[string]any{"e.json": &e, path.Base(dir) + ".json": &cfg} {
		b, err := fs.ReadFile(demoFS, dir+"/"+file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s/%s: %v", dir, file, err)
		}
	}
	if e.Title == "" || cfg.AppID == "" {
		t.Fatalf("%s: no title or appId", dir)
	}
	return e.Title, cfg.AppID
}

// helpers is defined on every page before a check runs.
const helpers = `const $ = (id) => document.getElementById(id);
const isShown = (id) => { const e = $(id); return !!e && e.checkVisibility({ visibilityProperty: true }) && e.getClientRects().length > 0; };`

func (b *browser) do(what string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, a); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the expression, with the helpers, is true.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	// Poll re-evaluates in the new document after a navigation.
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { %s return %s; })()`, helpers, expr),
		chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		b.fatalf("wait for %s (%s): %v", what, expr, err)
	}
}

func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](fmt.Sprintf(`(async () => { %s return await (%s); })()`, helpers, expr), chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) evalBool(expr string) bool     { b.t.Helper(); return evalJS[bool](b, expr) }
func (b *browser) evalInt(expr string) int       { b.t.Helper(); return evalJS[int](b, expr) }
func (b *browser) evalString(expr string) string { b.t.Helper(); return evalJS[string](b, expr) }
func (b *browser) text(id string) string {
	b.t.Helper()
	return strings.TrimSpace(b.evalString(fmt.Sprintf(`$(%q)?.textContent ?? ""`, id)))
}

func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatalf("location: %v", err)
	}
	return loc
}

// screenshot saves a PNG of the whole page as a test artifact.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf("screenshot %s: %v", name, err)
	}
	return b.save(name, png)
}

func (b *browser) save(name string, png []byte) string {
	b.t.Helper()
	path := filepath.Join(b.dir, "browser-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
		return ""
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// fatalf saves a screenshot of the page as it is, logs the console, and
// ends the test.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		b.save(b.name+"-failure", png)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		b.t.Logf("page at failure: %s", loc)
	}
	b.logConsole()
	b.t.Fatalf(format, args...)
}

func (b *browser) logConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		b.t.Logf("console %s (%s:%d)", m, m.URL, m.Line)
	}
}

// checkConsole fails the test on an uncaught exception or a console.error
// call of the page. Browser log entries (such as the 401 of a signed-out
// session check) are only logged.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.logConsole()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
			b.t.Errorf("page console: %s (%s:%d)", m, m.URL, m.Line)
		}
	}
}

// waitLoad runs a click that navigates, and waits for the load event of the
// page it ends on (redirects fire none).
func waitLoad(click chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.WaitEvent(page.LoadEventFired, nil, click)(ctx, t)
		return err
	})
}

var (
	artifactsOnce sync.Once
	artifactsDir  string
	artifactsErr  error
)

// artifactDir is $JIT_ARTIFACTS, created if needed, or a temp dir of the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	env := os.Getenv("JIT_ARTIFACTS")
	if env == "" {
		return t.TempDir()
	}
	artifactsOnce.Do(func() {
		artifactsDir, artifactsErr = filepath.Abs(env)
		if artifactsErr == nil {
			artifactsErr = os.MkdirAll(artifactsDir, 0o755)
		}
	})
	if artifactsErr != nil {
		t.Fatalf("JIT_ARTIFACTS: %v", artifactsErr)
	}
	return artifactsDir
}

func removeWithRetry(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("remove the chromium profile: %v", err)
}
