package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/wechatsim"
)

// The examples run whole logins with no WeChat account and no network:
// jit.WithDevSimulator mounts a WeChat simulator at /_wechat (dev mode also
// fills in the secret and WeChat's URLs), and a Go client with a cookie jar
// plays the person's browser. The app is testdata/apps/example: one login
// element, auths.loginTypes.WechatLogin, whose secret and WeChat URLs are
// {{VAR}}s. The helpers are at the bottom of this file.

// ExampleApp_CurrentUser reads the logged-in user in a plain net/http
// handler, next to the app's own routes.
func ExampleApp_CurrentUser() {
	sb := newDemoServer()
	defer sb.Close()
	app, err := jit.Open(context.Background(), "testdata/apps/example",
		jit.WithDevSimulator(sb.URL), // WeChat, simulated at /_wechat: never in production
		jit.WithDatabase(sb.DB),
		jit.WithoutReload(),
		jit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	mux := http.NewServeMux()
	mux.Handle("/", app.Handler()) // /auths/..., /_wechat/..., the app's public/ folder
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		u, err := app.CurrentUser(r)
		switch {
		case errors.Is(err, jit.ErrNotLoggedIn):
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		case err != nil: // the database is unreachable
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%s, logged in with %s, %d identity", u.Nickname, u.LoginType, len(u.Identities))
	})
	sb.Start(mux)

	b := newDemoBrowser()
	fmt.Println(b.get(sb.URL + "/api/me").text())

	// The person opens the login link in WeChat and taps 允许 as 李雷; WeChat
	// sends them back through the callback to redirectUrl.
	page := b.get(sb.URL + "/auths/loginTypes/WechatLogin/login?redirectUrl=" + url.QueryEscape("/api/me"))
	fmt.Println(page.allowAs(simLiLei).text())

	b.post(sb.URL + "/auths/logout")
	fmt.Println(b.get(sb.URL + "/api/me").text())

	// Output:
	// 401 not logged in
	// 200 李雷, logged in with auths.loginTypes.WechatLogin, 1 identity
	// 401 not logged in
}

// ExampleApp_RequireLogin protects pages of a net/http mux. A browser
// without a session is sent to log in and comes back to the page it asked
// for; any other client gets 401 JSON.
func ExampleApp_RequireLogin() {
	sb := newDemoServer()
	defer sb.Close()
	app, err := jit.Open(context.Background(), "testdata/apps/example",
		jit.WithDevSimulator(sb.URL), jit.WithDatabase(sb.DB), jit.WithoutReload(),
		jit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := jit.UserFromContext(r.Context()) // always there behind RequireLogin
		fmt.Fprintf(w, "%s's orders for month %s", u.Nickname, r.URL.Query().Get("month"))
	})
	mux := http.NewServeMux()
	mux.Handle("/", app.Handler())
	mux.Handle("/orders", app.RequireLogin(orders))
	sb.Start(mux)

	// A fetch from a script, or any client that does not ask for HTML.
	resp, err := http.Get(sb.URL + "/orders?month=6")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(demoText(resp))

	// A browser navigation lands on WeChat's authorize page...
	b := newDemoBrowser()
	page := b.get(sb.URL + "/orders?month=6")
	fmt.Println(page.Request.URL.Path)
	// ...and after 允许, back on the page it asked for, logged in.
	back := page.allowAs(simXiaoMing)
	fmt.Println(back.Request.URL.RequestURI(), back.text())

	// Output:
	// 401 {"code":"not_logged_in","message":"请先登录。"}
	// /_wechat/connect/oauth2/authorize
	// /orders?month=6 200 小明😀's orders for month 6
}

// ExampleApp_RequireLogin_echo mounts the app in an echo server: the app's
// routes as a catch-all, RequireLogin as group middleware.
func ExampleApp_RequireLogin_echo() {
	sb := newDemoServer()
	defer sb.Close()
	app, err := jit.Open(context.Background(), "testdata/apps/example",
		jit.WithDevSimulator(sb.URL), jit.WithDatabase(sb.DB), jit.WithoutReload(),
		jit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	e := echo.New()
	e.Any("/*", echo.WrapHandler(app.Handler())) // /auths/..., /_wechat/..., /jit/sdk.js, public/
	account := e.Group("/account", echo.WrapMiddleware(app.RequireLogin))
	account.GET("/profile", func(c echo.Context) error {
		u, _ := jit.UserFromContext(c.Request().Context())
		return c.JSON(http.StatusOK, map[string]string{"nickname": u.Nickname, "openid": u.OpenID})
	})
	sb.Start(e)

	b := newDemoBrowser()
	back := b.get(sb.URL + "/account/profile").allowAs(simHanMeimei)
	fmt.Println(back.text())

	// Output:
	// 200 {"nickname":"Han Meimei","openid":"oSim0000000000000000000000003"}
}

// ExampleApp_EndSessions logs a user out everywhere, e.g. after an
// administrator disabled the account. The person logged in on a phone and
// on a laptop; both are the same user, with one session each.
func ExampleApp_EndSessions() {
	sb := newDemoServer()
	defer sb.Close()
	app, err := jit.Open(context.Background(), "testdata/apps/example",
		jit.WithDevSimulator(sb.URL), jit.WithDatabase(sb.DB), jit.WithoutReload(),
		jit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	sb.Start(app.Handler())
	login := sb.URL + "/auths/loginTypes/WechatLogin/login?redirectUrl=%2F"

	phone, laptop := newDemoBrowser(), newDemoBrowser()
	phone.get(login).allowAs(simLiLei)
	laptop.get(login).allowAs(simLiLei)
	var me auths.SessionUser
	phone.getJSON(sb.URL+"/auths/session", &me)
	var sessions []auths.SessionInfo
	phone.getJSON(sb.URL+"/auths/sessions", &sessions)
	fmt.Println(me.Nickname, "has", len(sessions), "sessions")

	if err := app.EndSessions(context.Background(), me.UserID); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(phone.get(sb.URL + "/auths/session").text())
	fmt.Println(laptop.get(sb.URL + "/auths/session").text())

	// Output:
	// 李雷 has 2 sessions
	// 401 {"code":"not_logged_in","message":"请先登录。"}
	// 401 {"code":"not_logged_in","message":"请先登录。"}
}

// ExampleWithLoginHook lets only invited people in: the hook refuses a
// WeChat user whose unionid is not on the list. It runs before anything is
// stored, so a refused person leaves no user, identity or session behind.
func ExampleWithLoginHook() {
	invited := map[string]bool{"uSim000000000000000000000002": true} // 李雷's unionid

	sb := newDemoServer()
	defer sb.Close()
	app, err := jit.Open(context.Background(), "testdata/apps/example",
		jit.WithLoginHook(func(ctx context.Context, ev *auths.LoginEvent) error {
			if !invited[ev.Identity.UnionID] {
				return errors.New("本应用仅限受邀用户使用。") // the login_refused message
			}
			return nil
		}),
		jit.WithDevSimulator(sb.URL), jit.WithDatabase(sb.DB), jit.WithoutReload(),
		jit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	sb.Start(app.Handler())
	login := sb.URL + "/auths/loginTypes/WechatLogin/login?redirectUrl=%2Fwelcome"

	// 小明 has no unionid. His WeChat browser is shown the hook's message
	// on a page in Chinese, with a link back to redirectUrl.
	b := newDemoBrowser()
	page := b.get(login).allowAs(simXiaoMing)
	fmt.Println(page.StatusCode, strings.Contains(page.body, "本应用仅限受邀用户使用。"), strings.Contains(page.body, `href="/welcome"`))
	fmt.Println(b.get(sb.URL + "/auths/session").text())

	// A client that does not ask for HTML gets the 403 with the hook's message.
	api := newDemoBrowser()
	api.accept = "application/json"
	fmt.Println(api.get(login).allowAs(simXiaoMing).text())

	// 李雷 is invited.
	b = newDemoBrowser()
	back := b.get(login).allowAs(simLiLei)
	fmt.Println(back.Request.URL.RequestURI())
	var me auths.SessionUser
	b.getJSON(sb.URL+"/auths/session", &me)
	fmt.Println(me.Nickname, me.UnionID)

	// Refused logins stored nothing: 李雷 is the only user.
	var users int64
	app.DB().Table("jit_users").Count(&users)
	fmt.Println(users, "user")

	// Output:
	// 403 true true
	// 401 {"code":"not_logged_in","message":"请先登录。"}
	// 403 {"code":"login_refused","message":"本应用仅限受邀用户使用。"}
	// /welcome
	// 李雷 uSim000000000000000000000002
	// 1 user
}

// ExampleWithPublicURL mounts the app under /app/ of a bigger site. The
// public URL carries the path: WeChat is told to come back to
// /app/auths/loginTypes/…/callback, RequireLogin sends browsers to
// /app/auths/…/login, and the cookies are scoped to /app/.
func ExampleWithPublicURL() {
	wx := newDemoWechat() // WeChat on its own loopback server, as in production
	defer wx.Close()
	sb := newDemoServer()
	defer sb.Close()
	app, err := jit.Open(context.Background(), "testdata/apps/example",
		jit.WithPublicURL(sb.URL+"/app/"),
		wx.Env(), // WECHAT_APP_SECRET, WECHAT_AUTHORIZE_URL, WECHAT_API_BASE
		jit.WithDatabase(sb.DB), jit.WithoutReload(),
		jit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := jit.UserFromContext(r.Context())
		fmt.Fprintf(w, "%s's orders", u.Nickname)
	})
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", app.Handler())) // /app/auths/..., /app/jit/sdk.js
	mux.Handle("/app/orders", app.RequireLogin(orders))
	sb.Start(mux)

	b := newDemoBrowser()
	page := b.get(sb.URL + "/app/orders?month=6")
	callback, _ := url.Parse(page.Request.URL.Query().Get("redirect_uri"))
	fmt.Println("WeChat comes back to", callback.Path)
	back := page.allowAs(simLiLei)
	fmt.Println(back.Request.URL.RequestURI(), back.text())
	fmt.Println("cookies for /app/:", b.cookieNames(sb.URL+"/app/"))
	fmt.Println("cookies for /:", b.cookieNames(sb.URL+"/"))

	// Output:
	// WeChat comes back to /app/auths/loginTypes/WechatLogin/callback
	// /app/orders?month=6 200 李雷's orders
	// cookies for /app/: [jit_bind jit_session]
	// cookies for /: []
}

// The simulator's default WeChat users (wechatsim.New without WithUsers),
// by openid. Only 李雷 has a unionid: uSim000000000000000000000002.
const (
	simXiaoMing  = "oSim0000000000000000000000001" // 小明😀
	simLiLei     = "oSim0000000000000000000000002" // 李雷
	simHanMeimei = "oSim0000000000000000000000003" // Han Meimei
)

// demoServer is a loopback HTTP server, not started yet because the app must
// know its URL first (jit.WithDevSimulator), and a throwaway SQLite file.
type demoServer struct {
	URL string // http://127.0.0.1:port
	DB  string // a SQLite file in a temporary folder

	srv *httptest.Server
	dir string
}

func newDemoServer() *demoServer {
	dir, err := os.MkdirTemp("", "jit-example-")
	if err != nil {
		panic(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	return &demoServer{URL: "http://" + srv.Listener.Addr().String(), DB: filepath.Join(dir, "jit.db"), srv: srv, dir: dir}
}

// Start serves h at sb.URL.
func (sb *demoServer) Start(h http.Handler) {
	sb.srv.Config.Handler = h
	sb.srv.Start()
}

// Close stops the server and removes the database. Defer it before the
// app's Close, so that it runs after.
func (sb *demoServer) Close() {
	if sb.srv.Config.Handler != nil {
		sb.srv.Close()
	} else {
		sb.srv.Listener.Close()
	}
	os.RemoveAll(sb.dir)
}

// demoBrowser is a client with a cookie jar that follows redirects and sends
// Accept: text/html, like a page navigation in WeChat's browser.
type demoBrowser struct {
	client *http.Client
	accept string
}

func newDemoBrowser() *demoBrowser {
	jar, _ := cookiejar.New(nil)
	return &demoBrowser{client: &http.Client{Jar: jar}, accept: "text/html,application/xhtml+xml,*/*;q=0.8"}
}

// demoPage is a response the browser ended on, after any redirects; its body
// is already read.
type demoPage struct {
	*http.Response
	b    *demoBrowser
	body string
}

func (b *demoBrowser) do(method, u string, form url.Values) *demoPage {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Accept", b.accept)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.47")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		panic(err)
	}
	return &demoPage{Response: resp, b: b, body: demoBody(resp)}
}

func (b *demoBrowser) get(u string) *demoPage  { return b.do(http.MethodGet, u, nil) }
func (b *demoBrowser) post(u string) *demoPage { return b.do(http.MethodPost, u, url.Values{}) }

// getJSON decodes a 200 JSON answer into v.
func (b *demoBrowser) getJSON(u string, v any) {
	p := b.do(http.MethodGet, u, nil)
	if p.StatusCode != http.StatusOK {
		panic(p.text())
	}
	if err := json.Unmarshal([]byte(p.body), v); err != nil {
		panic(err)
	}
}

// allowAs plays the person on the simulator's authorize page p: they tap
// 允许 as the simulator user openid. The browser follows WeChat's redirect
// to the callback and on.
func (p *demoPage) allowAs(openid string) *demoPage {
	if !strings.HasSuffix(p.Request.URL.Path, "/connect/oauth2/authorize") {
		panic("not on the authorize page: " + p.text())
	}
	form := p.Request.URL.Query() // appid, redirect_uri, scope, state, ...
	form.Set("openid", openid)
	return p.b.do(http.MethodPost, p.Request.URL.String(), form)
}

// text is the status and the body, for printing.
func (p *demoPage) text() string {
	return fmt.Sprint(p.StatusCode, " ", strings.TrimSuffix(p.body, "\n"))
}

func demoBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func demoText(resp *http.Response) string {
	return fmt.Sprint(resp.StatusCode, " ", strings.TrimSuffix(demoBody(resp), "\n"))
}

// cookieNames lists the cookies the browser would send to u.
func (b *demoBrowser) cookieNames(u string) []string {
	parsed, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	names := []string{}
	for _, c := range b.client.Jar.Cookies(parsed) {
		names = append(names, c.Name)
	}
	return names
}

// demoWechat is WeChat on its own loopback server: the simulator with its
// default users, knowing the example app's appId.
type demoWechat struct {
	*httptest.Server
}

func newDemoWechat() *demoWechat {
	sim := wechatsim.New(wechatsim.WithApp("wx0123456789abcdef", demoWechatSecret))
	return &demoWechat{httptest.NewServer(sim)}
}

const demoWechatSecret = "exampleSecret0000000000000000000"

// Env fills the example app's {{VAR}}s with the fake's URLs and secret.
func (wx *demoWechat) Env() jit.Option {
	env := map[string]string{
		"WECHAT_APP_SECRET":    demoWechatSecret,
		"WECHAT_AUTHORIZE_URL": wx.URL + "/connect/oauth2/authorize",
		"WECHAT_API_BASE":      wx.URL,
	}
	return jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}
