package jit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths/wechatsim"
)

// The login fixture: two instances of auths.loginTypes.WechatPublicType on
// one Official Account, MyWechatLogin (snsapi_userinfo, two API bases) and
// BaseWechatLogin (snsapi_base).
const (
	loginFixture = "testdata/apps/login"
	testAppID    = "wx0123456789abcdef"
	mainLogin    = "MyWechatLogin"
	baseLogin    = "BaseWechatLogin"
	// testSecret is distinctive so a leak is found by a plain search.
	testSecret = "ZqS3cretXy7Kp2Lm9Wv4Tn8Rb6Hd"
)

// Users of the fake WeChat.
var (
	userPanda = wechatsim.User{OpenID: "oPanda00000000000000000000001", UnionID: "uPanda0000000000000000000001",
		OpenIDs:  map[string]string{secondAppID: "oPandaSecond000000000000001", noLinkAppID: "oPandaNoLink000000000000001"},
		Nickname: "熊猫🐼 Panda", HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/panda/132"}
	userPlain = wechatsim.User{OpenID: "oPlain00000000000000000000002", Nickname: "Plain"}
	userSnap  = wechatsim.User{OpenID: "oSnap000000000000000000000003", Nickname: "微信用户", Snapshot: true,
		HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/snap/132"}
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loginEnv is one app over the login fixture, served on loopback, with its
// own fake WeChat and its own SQLite file.
type loginEnv struct {
	t    testing.TB
	sim  *wechatsim.Server
	wx   *httptest.Server
	app  *jit.App
	srv  *httptest.Server
	logs *lockedBuffer
	tr   *http.Transport
}

type envOptions struct {
	fixture  string // the app folder; loginFixture by default
	secret   string
	logLevel slog.Level
	opts     []jit.Option
	// handler wraps the fake WeChat, e.g. to see what it is sent.
	wrapWX func(http.Handler) http.Handler
}

func newLoginEnv(t testing.TB, eo envOptions) *loginEnv {
	t.Helper()
	if eo.secret == "" {
		eo.secret = testSecret
	}
	if eo.logLevel == 0 {
		eo.logLevel = slog.LevelInfo
	}
	e := &loginEnv{t: t, logs: &lockedBuffer{}}
	if eo.fixture == "" {
		eo.fixture = loginFixture
	}
	simOpts := []wechatsim.Option{wechatsim.WithUsers(userPanda, userPlain, userSnap)}
	for _, id := range []string{testAppID, secondAppID, closedAppID, noLinkAppID, webAppID} {
		simOpts = append(simOpts, wechatsim.WithApp(id, eo.secret))
	}
	e.sim = wechatsim.New(simOpts...)
	var wxh http.Handler = e.sim
	if eo.wrapWX != nil {
		wxh = eo.wrapWX(wxh)
	}
	e.wx = newLoopbackServer(t, wxh)
	env := map[string]string{
		"WECHAT_APP_SECRET":      eo.secret,
		"WECHAT_AUTHORIZE_URL":   e.wx.URL + "/connect/oauth2/authorize",
		"WECHAT_API_BASE":        e.wx.URL,
		"WECHAT_API_BASE_BACKUP": e.wx.URL,
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: eo.logLevel}))
	opts := []jit.Option{
		jit.WithoutReload(),
		jit.WithDatabase(filepath.Join(t.TempDir(), "jit.db")),
		jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		jit.WithLogger(logger),
	}
	opts = append(opts, eo.opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := jit.Open(ctx, eo.fixture, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	if ps := app.Problems(); ps.HasErrors() {
		t.Fatalf("fixture problems: %v", ps)
	}
	e.app = app
	e.srv = newLoopbackServer(t, app.Handler())
	e.tr = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(e.tr.CloseIdleConnections)
	return e
}

// browser is one browser: its own cookie jar, no automatic redirects, so
// each hop is asserted.
type browser struct {
	e *loginEnv
	c *http.Client
}

func (e *loginEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		Transport:     e.tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a read and closed HTTP response.
type response struct {
	*http.Response
	body []byte
}

func (r *response) location() string { return r.Header.Get("Location") }

// do sends req; a transport error fails the test (from any goroutine).
func (b *browser) do(req *http.Request) *response {
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Errorf("%s %s: %v", req.Method, req.URL, err)
		return &response{Response: &http.Response{StatusCode: 0, Header: http.Header{}}}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Errorf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return &response{Response: resp, body: body}
}

func (b *browser) abs(pathOrURL string) string {
	if strings.HasPrefix(pathOrURL, "/") {
		return b.e.srv.URL + pathOrURL
	}
	return pathOrURL
}

func (b *browser) get(pathOrURL string) *response {
	req, err := http.NewRequest(http.MethodGet, b.abs(pathOrURL), nil)
	if err != nil {
		b.e.t.Fatalf("new request: %v", err)
	}
	return b.do(req)
}

func (b *browser) post(pathOrURL, contentType string, body io.Reader) *response {
	req, err := http.NewRequest(http.MethodPost, b.abs(pathOrURL), body)
	if err != nil {
		b.e.t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return b.do(req)
}

func loginPath(name, redirect string) string {
	p := "/auths/loginTypes/" + name + "/login"
	if redirect != "" {
		p += "?redirectUrl=" + url.QueryEscape(redirect)
	}
	return p
}

func callbackPath(name, code, state string) string {
	q := url.Values{}
	if code != "" {
		q.Set("code", code)
	}
	if state != "" {
		q.Set("state", state)
	}
	return "/auths/loginTypes/" + name + "/callback?" + q.Encode()
}

// startLogin runs the login route and returns the state from the authorize
// URL it redirects to.
func (b *browser) startLogin(name, redirect string) string {
	r := b.get(loginPath(name, redirect))
	if r.StatusCode != http.StatusFound {
		b.e.t.Errorf("login %s: status %d, body %s", name, r.StatusCode, r.body)
		return ""
	}
	u, err := url.Parse(r.location())
	if err != nil {
		b.e.t.Errorf("login %s: Location %q: %v", name, r.location(), err)
		return ""
	}
	return u.Query().Get("state")
}

// fullLogin is a whole login as openid: login route, consent (a code issued
// by the fake), callback.
func (b *browser) fullLogin(name, openid, redirect string) *response {
	state := b.startLogin(name, redirect)
	scope := "snsapi_userinfo"
	if name == baseLogin {
		scope = "snsapi_base"
	}
	code := b.e.sim.IssueCode(testAppID, openid, scope)
	return b.get(callbackPath(name, code, state))
}

// apiError is the JSON body of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	ErrCode int    `json:"errcode"`
}

// wantError asserts an error response: status, JSON content type and code.
func wantError(t testing.TB, r *response, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON (body %q)", ct, r.body)
	}
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Errorf("body %q is not JSON: %v", r.body, err)
		return
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if e.Message == "" {
		t.Errorf("error %q has no message", e.Code)
	}
}

// wantLoggedIn asserts a callback that landed the user logged in.
func wantLoggedIn(t testing.TB, r *response, redirect string) {
	t.Helper()
	if r.StatusCode != http.StatusFound || r.location() != redirect {
		t.Errorf("callback: status %d Location %q, want 302 to %q (body %s)", r.StatusCode, r.location(), redirect, r.body)
	}
}

type sessionJSON struct {
	OpenID     string `json:"openid"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
	UnionID    string `json:"unionid"`
	LoginType  string `json:"loginType"`
}

func (b *browser) session() (*response, sessionJSON) {
	r := b.get("/auths/session")
	var s sessionJSON
	if r.StatusCode == http.StatusOK {
		if err := json.Unmarshal(r.body, &s); err != nil {
			b.e.t.Errorf("session body %q: %v", r.body, err)
		}
	}
	return r, s
}

func cookieNamed(r *response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// newLoopbackServer serves h on 127.0.0.1 (httptest's default) until the
// test ends.
func newLoopbackServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// httptestUnstarted listens on loopback without serving yet, so the URL is
// known before the handler exists.
func httptestUnstarted(t testing.TB) *httptest.Server {
	return httptest.NewUnstartedServer(nil)
}

// readAllAndClose reads a response body and puts an unread copy back.
func readAllAndClose(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

// getHTML is a browser navigation: Accept says text/html, as for a link.
func (b *browser) getHTML(pathOrURL string) *response {
	req, err := http.NewRequest(http.MethodGet, b.abs(pathOrURL), nil)
	if err != nil {
		b.e.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	return b.do(req)
}

// writeFiles writes files (slash paths relative to dir), creating folders.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// manyBrowsersOneAddress lifts the per-client rate limit of the login
// routes for load tests, whose many browsers share one loopback address.
var manyBrowsersOneAddress = jit.WithLoginRateLimit(0, 0)
