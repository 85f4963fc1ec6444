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
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/jitwx/jit"
)

const (
	// An Android WeChat client, from auths/web/testdata/wechat-user-agents.tsv.
	wechatUA = "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5197 MMWEBSDK/20230805 MMWEBID/3346 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	// Desktop Chrome on Windows.
	desktopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

	// The simulator's default user the WeChat scenario logs in as.
	demoNickname = "小明😀"

	scenarioTimeout = 60 * time.Second
)

func TestBrowserWechatLoginAndLogout(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	b := newBrowser(t, execPath, "wechat", wechatUA, phoneViewport)
	ctx := b.ctx

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
	b.do("wait for the simulator's user list", chromedp.WaitVisible(chromedp.ID("wx-users")))
	if loc := b.location(); !strings.HasPrefix(loc, srv.URL+"/_wechat/connect/oauth2/authorize?") {
		t.Fatalf("after 微信登录 the browser is at %s, want the simulator's authorize page", loc)
	}
	// The user buttons are wx-user-N in the simulator's order; pick the one
	// whose nickname is 小明😀 rather than relying on its index.
	type pick struct {
		ID     string `json:"id"`
		OpenID string `json:"openid"`
	}
	user, err := chromedp.Run(ctx, chromedp.Evaluate[pick](fmt.Sprintf(`(() => {
		for (const b of document.querySelectorAll("#wx-users button[id^='wx-user-']")) {
			const name = b.querySelector("span")?.firstChild?.textContent ?? "";
			if (name.trim() === %q) return { id: b.id, openid: b.dataset.openid ?? "" };
		}
		return { id: "", openid: "" };
	})()`, demoNickname)))
	if err != nil {
		b.fatalf("find the %s button: %v", demoNickname, err)
	}
	if user.ID == "" || user.OpenID == "" {
		b.fatalf("no wx-user-N button with nickname %s and a data-openid on the simulator page", demoNickname)
	}
	b.screenshot("wechat-2-simulator")

	// Consent → callback → back to / signed in.
	b.do("click "+demoNickname, waitLoad(chromedp.Click(chromedp.ID(user.ID))))
	b.waitJS("the signed-in view with the nickname", fmt.Sprintf(`isShown("signed-in") && $("nickname").textContent === %q`, demoNickname))
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
	if got := b.text("login-type"); got == "" || got == "—" {
		t.Errorf("#login-type is empty")
	}
	if b.evalBool(`isShown("error")`) {
		t.Errorf("an error is shown after the login: %q", b.text("error"))
	}
	b.screenshot("wechat-3-signed-in")

	// Logout brings the login button back, and the session is gone on the
	// server too, not only on the page.
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

func TestBrowserDesktopShowsQRCode(t *testing.T) {
	execPath := requireChromium(t)
	srv := startDemoServer(t)
	b := newBrowser(t, execPath, "desktop", desktopUA, desktopViewport)

	b.do("open the demo page", chromedp.Navigate(srv.URL+"/"))
	b.waitJS("the open-in-WeChat message", `isShown("signed-out-browser") && isShown("not-wechat")`)
	b.waitJS("the QR code image to load", `isShown("qrcode") && $("qrcode").complete && $("qrcode").naturalWidth > 0`)
	if b.evalBool(`isShown("wechat-login") || isShown("signed-in")`) {
		t.Errorf("a desktop browser is shown the WeChat login button or a session")
	}
	if got := b.text("not-wechat"); !strings.Contains(got, "微信") {
		t.Errorf("#not-wechat text %q does not mention 微信", got)
	}
	// The QR code points at this server's login route, so scanning it opens
	// the login inside WeChat.
	if src := b.evalString(`$("qrcode").src`); !strings.HasPrefix(src, srv.URL+"/jit/qrcode.png?path=") ||
		!strings.Contains(src, "DemoWechatLogin") {
		t.Errorf("#qrcode src %q, want %s/jit/qrcode.png?path=…DemoWechatLogin…", src, srv.URL)
	}
	if !b.evalBool(`isShown("continue-here")`) {
		t.Errorf("#continue-here is not shown")
	}
	b.screenshot("desktop-1-not-wechat")
	b.checkConsole()
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
	srv := httptest.NewUnstartedServer(nil)
	self := "http://" + srv.Listener.Addr().String()
	sub, err := fs.Sub(demoFS, "demoapp")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	app, err := jit.OpenFS(t.Context(), sub, ".",
		jit.WithLogger(logger),
		jit.WithDevSimulator(self),
		jit.WithDatabase(filepath.Join(t.TempDir(), "jit.db")),
		jit.WithoutReload(),
	)
	if err != nil {
		srv.Listener.Close()
		t.Fatalf("open the demo app: %v", err)
	}
	for _, p := range app.Problems() {
		t.Logf("demo app problem: %s: %v", p.Severity, p)
	}
	t.Cleanup(func() { app.Close() })
	srv.Config.Handler = app.Handler()
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
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: vp.width, Height: vp.height, DeviceScaleFactor: vp.scale, Mobile: vp.mobile,
		})
		return err
	}))
	return b
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
