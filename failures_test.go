package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jitwx/jit/auths"

	"github.com/jitwx/jit"
)

// A browser navigation that fails never ends on raw JSON: back to the
// login's page with login_error when the state is known, else a small page
// in Chinese. API clients keep JSON.
func TestFailuresInABrowserAreRedirectsOrPages(t *testing.T) {
	e := newUsersEnv(t)
	type want struct {
		status   int
		location string // for a redirect
		page     string // a sentence the HTML page must contain
		retry    bool   // the page offers 重新登录
		jsonCode string // what an API client gets instead
	}
	cases := []struct {
		name string
		run  func(get func(*browser, string) *response) *response
		want want
	}{
		{"forged state", func(get func(*browser, string) *response) *response {
			return get(e.browser(), callbackPath("WxMain", "CODE", strings.Repeat("A", 26)))
		}, want{status: 400, page: "不是本站发出的", retry: true, jsonCode: "state_invalid"}},
		{"no state", func(get func(*browser, string) *response) *response {
			return get(e.browser(), callbackPath("WxMain", "CODE", ""))
		}, want{status: 400, page: "登录链接不完整", retry: true, jsonCode: "state_missing"}},
		{"unknown element", func(get func(*browser, string) *response) *response {
			return get(e.browser(), callbackPath("Nope", "CODE", strings.Repeat("A", 26)))
		}, want{status: 404, page: "没有这种登录方式", jsonCode: "login_type_not_found"}},
		{"unsafe redirectUrl", func(get func(*browser, string) *response) *response {
			return get(e.browser(), loginPath("WxMain", "https://evil.example/"))
		}, want{status: 400, page: "不安全", retry: true, jsonCode: "invalid_redirect"}},
		{"another browser's state", func(get func(*browser, string) *response) *response {
			state := e.browser().startLogin("WxMain", "/home?tab=1")
			return get(e.browser(), callbackPath("WxMain", e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), state))
		}, want{status: 302, location: "/home?tab=1&login_error=state_browser_mismatch", jsonCode: "state_browser_mismatch"}},
		{"declined", func(get func(*browser, string) *response) *response {
			b := e.browser()
			return get(b, callbackPath("WxMain", "", b.startLogin("WxMain", "/home")))
		}, want{status: 302, location: "/home?login_error=authorization_denied", jsonCode: "authorization_denied"}},
		{"bad code", func(get func(*browser, string) *response) *response {
			b := e.browser()
			return get(b, callbackPath("WxMain", "notacode", b.startLogin("WxMain", "/home#top")))
		}, want{status: 302, location: "/home?login_error=code_invalid#top", jsonCode: "code_invalid"}},
		{"registration closed", func(get func(*browser, string) *response) *response {
			b := e.browser()
			return get(b, callbackPath("WxClosed", e.sim.IssueCode(closedAppID, userPlain.OpenID, "snsapi_userinfo"), b.startLogin("WxClosed", "/home")))
		}, want{status: 302, location: "/home?login_error=registration_closed", jsonCode: "registration_closed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run((*browser).getHTML)
			if r.StatusCode != tc.want.status {
				t.Fatalf("status %d, want %d (Location %q, body %s)", r.StatusCode, tc.want.status, r.location(), r.body)
			}
			if tc.want.location != "" {
				if r.location() != tc.want.location {
					t.Errorf("Location %q, want %q", r.location(), tc.want.location)
				}
			} else {
				body := string(r.body)
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want an HTML page", ct)
				}
				if !strings.Contains(body, `lang="zh-CN"`) || !strings.Contains(body, tc.want.page) || !strings.Contains(body, "登录没有完成") {
					t.Errorf("page does not say %q in Chinese:\n%s", tc.want.page, body)
				}
				if strings.Contains(body, "重新登录") != tc.want.retry {
					t.Errorf("重新登录 link shown = %v, want %v", !tc.want.retry, tc.want.retry)
				}
				for _, leak := range []string{testSecret, "goroutine", ".go:", "{\"code\""} {
					if strings.Contains(body, leak) {
						t.Errorf("page contains %q", leak)
					}
				}
			}
			// The same failure for an API client.
			wantError(t, tc.run((*browser).get), statusForJSON(tc.want), tc.want.jsonCode)
		})
	}
}

func statusForJSON(w struct {
	status   int
	location string
	page     string
	retry    bool
	jsonCode string
}) int {
	switch w.jsonCode {
	case "state_browser_mismatch", "authorization_denied", "registration_closed":
		return http.StatusForbidden
	case "code_invalid":
		return http.StatusBadRequest
	}
	return w.status
}

// Mounted under /app/ with http.StripPrefix: callback URLs, redirects and
// cookie paths carry the prefix.
func TestMountedUnderAPrefix(t *testing.T) {
	srv := httptestUnstarted(t)
	public := "http://" + srv.Listener.Addr().String() + "/app/"
	e := newUsersEnv(t, jit.WithPublicURL(public))
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", e.app.Handler()))
	mux.Handle("/app/private", http.StripPrefix("/app", e.app.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := jit.UserFromContext(r.Context())
		w.Write([]byte("hello " + u.Nickname))
	}))))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv

	b := e.browser()
	r := b.getHTML("/app/private")
	wantLogin := public + "auths/loginTypes/WxMain/login?redirectUrl=" + url.QueryEscape("/app/private")
	if r.StatusCode != http.StatusFound || r.location() != wantLogin {
		t.Fatalf("RequireLogin under /app: %d %q, want %q", r.StatusCode, r.location(), wantLogin)
	}
	r = b.get(r.location())
	authorize := mustURL(t, r.location())
	if got := authorize.Query().Get("redirect_uri"); got != public+"auths/loginTypes/WxMain/callback" {
		t.Errorf("redirect_uri %q", got)
	}
	bind := r.Cookies()
	if len(bind) != 1 || bind[0].Path != "/app/" {
		t.Errorf("binding cookie %+v, want Path=/app/", bind)
	}
	code := e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo")
	r = b.get("/app/auths/loginTypes/WxMain/callback?" + url.Values{"code": {code}, "state": {authorize.Query().Get("state")}}.Encode())
	wantLoggedIn(t, r, "/app/private")
	if sc := r.Cookies(); len(sc) != 1 || sc[0].Path != "/app/" {
		t.Errorf("session cookie %+v, want Path=/app/", sc)
	}
	if r := b.getHTML("/app/private"); r.StatusCode != http.StatusOK || string(r.body) != "hello "+userPanda.Nickname {
		t.Errorf("page after login: %d %q", r.StatusCode, r.body)
	}
	if r := b.get("/app/auths/session"); r.StatusCode != http.StatusOK {
		t.Errorf("session under /app: %d %s", r.StatusCode, r.body)
	}
}

// Dev mode under a prefix: the simulator's pages and avatars are reached
// through the prefix too.
func TestDevSimulatorUnderAPrefix(t *testing.T) {
	srv := httptestUnstarted(t)
	self := "http://" + srv.Listener.Addr().String()
	app, err := jit.Open(t.Context(), usersFixture, jit.WithoutReload(), jit.WithDevSimulator(self+"/app"),
		jit.WithPublicURL(self+"/app/"), jit.WithDatabase(t.TempDir()+"/jit.db"), jit.WithLogger(quietLogger()),
		jit.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", app.Handler()))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	e := &loginEnv{t: t, app: app, srv: srv, tr: &http.Transport{}}
	t.Cleanup(e.tr.CloseIdleConnections)
	b := e.browser()

	r := b.get("/app" + loginPath("WxMain", "/app/home"))
	if !strings.HasPrefix(r.location(), "/app/_wechat/connect/oauth2/authorize?") {
		t.Fatalf("authorize URL %q is not under /app", r.location())
	}
	page := b.get(r.location())
	action := formAction.FindStringSubmatch(string(page.body))
	users := userButton.FindAllStringSubmatch(string(page.body), -1)
	if page.StatusCode != http.StatusOK || action == nil || !strings.HasPrefix(action[1], "/app/_wechat/") || len(users) == 0 {
		t.Fatalf("authorize page: %d, form action %v", page.StatusCode, action)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page.body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	form.Set("openid", users[0][1])
	r = b.post(html.UnescapeString(action[1]), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	wantLoggedIn(t, b.get(r.location()), "/app/home")
	var u userJSON
	if r := b.get("/app/auths/session"); r.StatusCode != http.StatusOK || json.Unmarshal(r.body, &u) != nil ||
		!strings.HasPrefix(u.HeadImgURL, self+"/app/_wechat/avatar/") {
		t.Fatalf("session: %d %s", r.StatusCode, r.body)
	}
	if r := b.get(strings.TrimPrefix(u.HeadImgURL, self)); r.StatusCode != http.StatusOK {
		t.Errorf("avatar %s: %d", u.HeadImgURL, r.StatusCode)
	}
}

// The login hook's message is for the person: a browser is shown it on a
// page with the way back, not sent back with only the code.
func TestLoginHookRefusalInABrowserShowsItsMessage(t *testing.T) {
	e := newUsersEnv(t, jit.WithLoginHook(func(context.Context, *auths.LoginEvent) error {
		return errors.New("本应用只对<受邀>用户开放。")
	}))
	b := e.browser()
	state := b.startLogin("WxMain", "/home?tab=1")
	r := b.getHTML(callbackPath("WxMain", e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), state))
	body := string(r.body)
	if r.StatusCode != http.StatusForbidden || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), body)
	}
	for _, want := range []string{"登录被拒绝", "本应用只对&lt;受邀&gt;用户开放。", `href="/home?tab=1">返回`, "login_refused"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "重新登录") {
		t.Error("a refused login offers to log in again")
	}
}
