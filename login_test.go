package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/wechatpublic"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

func TestLoginHappyPath(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()

	// Login: 302 to WeChat's authorize URL, parameters in WeChat's order.
	r := b.get(loginPath(mainLogin, "/after?x=1"))
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login: status %d, body %s", r.StatusCode, r.body)
	}
	loc := r.location()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	state := u.Query().Get("state")
	if !regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`).MatchString(state) {
		t.Errorf("state %q is not 1-128 letters and digits", state)
	}
	callback := e.srv.URL + "/auths/loginTypes/" + mainLogin + "/callback"
	want := e.wx.URL + "/connect/oauth2/authorize?appid=" + testAppID +
		"&redirect_uri=" + url.QueryEscape(callback) +
		"&response_type=code&scope=snsapi_userinfo&state=" + state + "#wechat_redirect"
	if loc != want {
		t.Errorf("Location\n got %s\nwant %s", loc, want)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("login Cache-Control = %q, want no-store", cc)
	}
	bind := cookieNamed(r, auths.BindingCookie)
	if bind == nil || !bind.HttpOnly || bind.SameSite != http.SameSiteLaxMode || bind.Secure {
		t.Errorf("binding cookie = %+v, want HttpOnly, SameSite=Lax, not Secure on http", bind)
	}
	// A second login from the same browser gets a fresh state.
	if again := b.startLogin(mainLogin, "/"); again == state || again == "" {
		t.Errorf("second login state %q, first %q: want a fresh one", again, state)
	}

	// Consent on WeChat, then the callback: session cookie and 302 home.
	code := e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo")
	r = b.get(callbackPath(mainLogin, code, state))
	wantLoggedIn(t, r, "/after?x=1")
	sc := cookieNamed(r, auths.SessionCookie)
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.Path != "/" {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure on http", sc)
	}
	if got := e.sim.Calls(wechatsim.EndpointAccessToken); got != 1 {
		t.Errorf("access_token calls = %d, want 1", got)
	}

	// The session is the user, emoji and all.
	r, s := b.session()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("session: status %d, body %s", r.StatusCode, r.body)
	}
	wantS := sessionJSON{OpenID: userPanda.OpenID, Nickname: userPanda.Nickname, HeadImgURL: userPanda.HeadImgURL,
		UnionID: userPanda.UnionID, LoginType: "auths.loginTypes." + mainLogin}
	if s != wantS {
		t.Errorf("session = %+v\nwant %+v", s, wantS)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("session Content-Type = %q", r.Header.Get("Content-Type"))
	}

	// The model row holds the tokens.
	m, err := models.FindWechatUser(context.Background(), e.app.DB(), testAppID, userPanda.OpenID)
	if err != nil {
		t.Fatalf("user row: %v", err)
	}
	if m.AccessToken == "" || m.RefreshToken == "" || m.ExpiresIn != 7200 || m.Nickname != userPanda.Nickname ||
		m.LoginType != "auths.loginTypes."+mainLogin || m.UnionID != userPanda.UnionID {
		t.Errorf("user row = %+v", m)
	}

	// Logout ends the session on the server, not only in this browser.
	stolen := b.c.Jar.Cookies(mustURL(t, e.srv.URL))
	r = b.post("/auths/logout", "", nil)
	if r.StatusCode != http.StatusNoContent {
		t.Errorf("logout: status %d, body %s", r.StatusCode, r.body)
	}
	r, _ = b.session()
	wantError(t, r, http.StatusUnauthorized, "not_logged_in")
	replay := e.browser()
	replay.c.Jar.SetCookies(mustURL(t, e.srv.URL), stolen)
	r, _ = replay.session()
	wantError(t, r, http.StatusUnauthorized, "not_logged_in")
}

func TestLoginAbsoluteSameHostRedirect(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()
	target := e.srv.URL + "/done?next=%2Fhome"
	wantLoggedIn(t, b.fullLogin(mainLogin, userPlain.OpenID, target), target)
}

func TestLoginHTTPSPublicURL(t *testing.T) {
	const public = "https://h5.example.com"
	e := newLoginEnv(t, envOptions{opts: []jit.Option{jit.WithPublicURL(public)}})
	// The browser reaches the app through a TLS-terminating proxy as
	// h5.example.com; cookies are set by hand since the jar would not send
	// Secure cookies over the plain-http test hop.
	do := func(path string, cookies ...*http.Cookie) *response {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "h5.example.com"
		req.Header.Set("X-Forwarded-Proto", "https")
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		return e.browser().do(req)
	}
	r := do(loginPath(mainLogin, public+"/me"))
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", r.StatusCode, r.body)
	}
	u := mustURL(t, r.location())
	if got, want := u.Query().Get("redirect_uri"), public+"/auths/loginTypes/"+mainLogin+"/callback"; got != want {
		t.Errorf("redirect_uri = %q, want %q", got, want)
	}
	// Over https the cookies carry the __Host- prefix, so a sibling
	// subdomain cannot plant a binding cookie of its own.
	if cookieNamed(r, auths.BindingCookie) != nil {
		t.Fatal("binding cookie without the __Host- prefix over https")
	}
	bind := cookieNamed(r, auths.SecurePrefix+auths.BindingCookie)
	if bind == nil || !bind.Secure || !bind.HttpOnly || bind.SameSite != http.SameSiteLaxMode || bind.Path != "/" || bind.Domain != "" {
		t.Fatalf("binding cookie = %+v, want Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", bind)
	}
	code := e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo")
	r = do(callbackPath(mainLogin, code, u.Query().Get("state")), bind)
	wantLoggedIn(t, r, public+"/me")
	sc := cookieNamed(r, auths.SecurePrefix+auths.SessionCookie)
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.MaxAge <= 0 {
		t.Fatalf("session cookie = %+v, want Secure, HttpOnly, SameSite=Lax, persistent", sc)
	}
	// A plain-named binding cookie planted by another host is not enough.
	planted := do(callbackPath(mainLogin, code, u.Query().Get("state")), &http.Cookie{Name: auths.BindingCookie, Value: bind.Value})
	if planted.StatusCode != http.StatusForbidden {
		t.Errorf("callback with an unprefixed binding cookie over https: %d, want 403", planted.StatusCode)
	}
	if r := do("/auths/session", sc); r.StatusCode != http.StatusOK {
		t.Errorf("session: %d %s", r.StatusCode, r.body)
	}
	// The app's Go code reads the same cookie through CurrentUser, on a
	// request as the proxy forwards it.
	req := httptest.NewRequest(http.MethodGet, "http://10.0.0.5:8080/orders", nil)
	req.Host = "h5.example.com"
	req.Header.Set("X-Forwarded-Proto", "https")
	req.AddCookie(&http.Cookie{Name: sc.Name, Value: sc.Value})
	if u, err := e.app.CurrentUser(req); err != nil || u.OpenID != userPanda.OpenID {
		t.Errorf("CurrentUser behind the proxy: %+v, %v", u, err)
	}
	// Another host is still refused with a public URL set.
	wantError(t, do(loginPath(mainLogin, "https://h5.example.com.evil.com/")), http.StatusBadRequest, "invalid_redirect")
}

func TestLoginSnsapiBase(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()
	r := b.get(loginPath(baseLogin, "/base"))
	if !strings.Contains(r.location(), "&scope=snsapi_base&") {
		t.Errorf("Location %q does not ask for snsapi_base", r.location())
	}
	wantLoggedIn(t, b.fullLogin(baseLogin, userPlain.OpenID, "/base"), "/base")
	if got := e.sim.Calls(wechatsim.EndpointUserInfo); got != 0 {
		t.Errorf("userinfo calls = %d, want 0 for snsapi_base", got)
	}
	r, s := b.session()
	if r.StatusCode != http.StatusOK || s.OpenID != userPlain.OpenID || s.LoginType != "auths.loginTypes."+baseLogin {
		t.Errorf("session: %d %+v", r.StatusCode, s)
	}
}

// TestLoginRefusedStates: each bad callback is refused before its code
// reaches WeChat.
func TestLoginRefusedStates(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	code := func() string { return e.sim.IssueCode(testAppID, userPlain.OpenID, "snsapi_userinfo") }
	cases := []struct {
		name   string
		status int
		code   string
		// run performs the bad callback; setup steps may call WeChat, so
		// the count is taken by run itself via before().
		run func(t *testing.T, before func()) *response
	}{
		{"missing state", http.StatusBadRequest, "state_missing", func(t *testing.T, before func()) *response {
			b := e.browser()
			b.startLogin(mainLogin, "/")
			before()
			return b.get(callbackPath(mainLogin, code(), ""))
		}},
		{"forged state", http.StatusBadRequest, "state_invalid", func(t *testing.T, before func()) *response {
			b := e.browser()
			b.startLogin(mainLogin, "/")
			before()
			return b.get(callbackPath(mainLogin, code(), "AAAAAAAAAAAAAAAAAAAAAAAAAA"))
		}},
		{"state with odd characters", http.StatusBadRequest, "state_invalid", func(t *testing.T, before func()) *response {
			b := e.browser()
			st := b.startLogin(mainLogin, "/")
			before()
			return b.get(callbackPath(mainLogin, code(), st+"'--"))
		}},
		{"expired state", http.StatusBadRequest, "state_expired", func(t *testing.T, before func()) *response {
			b := e.browser()
			st := b.startLogin(mainLogin, "/")
			if err := e.app.DB().Model(&models.LoginState{}).Where("state = ?", st).
				Update("expires_at", time.Now().Add(-time.Second)).Error; err != nil {
				t.Fatal(err)
			}
			before()
			return b.get(callbackPath(mainLogin, code(), st))
		}},
		{"state from another browser", http.StatusForbidden, "state_browser_mismatch", func(t *testing.T, before func()) *response {
			victim, attacker := e.browser(), e.browser()
			attacker.startLogin(mainLogin, "/") // the attacker has a binding cookie of its own
			st := victim.startLogin(mainLogin, "/")
			before()
			return attacker.get(callbackPath(mainLogin, code(), st))
		}},
		{"state from a browser with no cookie", http.StatusForbidden, "state_browser_mismatch", func(t *testing.T, before func()) *response {
			st := e.browser().startLogin(mainLogin, "/")
			before()
			return e.browser().get(callbackPath(mainLogin, code(), st))
		}},
		{"used state, other code", http.StatusConflict, "state_used", func(t *testing.T, before func()) *response {
			b := e.browser()
			st := b.startLogin(mainLogin, "/")
			wantLoggedIn(t, b.get(callbackPath(mainLogin, code(), st)), "/")
			before()
			return b.get(callbackPath(mainLogin, code(), st))
		}},
		{"state of another login element", http.StatusBadRequest, "state_invalid", func(t *testing.T, before func()) *response {
			b := e.browser()
			st := b.startLogin(baseLogin, "/")
			before()
			return b.get(callbackPath(mainLogin, code(), st))
		}},
		{"denied: state without code", http.StatusForbidden, "authorization_denied", func(t *testing.T, before func()) *response {
			b := e.browser()
			st := b.startLogin(mainLogin, "/")
			before()
			return b.get(callbackPath(mainLogin, "", st))
		}},
		{"code after denial", http.StatusConflict, "state_used", func(t *testing.T, before func()) *response {
			b := e.browser()
			st := b.startLogin(mainLogin, "/")
			wantError(t, b.get(callbackPath(mainLogin, "", st)), http.StatusForbidden, "authorization_denied")
			before()
			return b.get(callbackPath(mainLogin, code(), st))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			r := tc.run(t, func() { n = e.sim.Calls(wechatsim.EndpointAccessToken) })
			wantError(t, r, tc.status, tc.code)
			if got := e.sim.Calls(wechatsim.EndpointAccessToken); got != n {
				t.Errorf("access_token calls went from %d to %d: the code reached WeChat", n, got)
			}
			if cookieNamed(r, auths.SessionCookie) != nil {
				t.Errorf("a refused callback set a session cookie")
			}
		})
	}
}

// TestLoginDuplicateCallback: WeChat on Android, a refresh or the back
// button repeats the callback; the user lands logged in and the code is
// exchanged once.
func TestLoginDuplicateCallback(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			e := newLoginEnv(t, envOptions{})
			if concurrent {
				// Hold the exchange so the duplicates really overlap.
				e.sim.Inject(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Delay: 200 * time.Millisecond})
			}
			b := e.browser()
			st := b.startLogin(mainLogin, "/twice")
			path := callbackPath(mainLogin, e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), st)
			const n = 4
			rs := make([]*response, n)
			if concurrent {
				var wg sync.WaitGroup
				for i := range rs {
					wg.Go(func() { rs[i] = b.get(path) })
				}
				wg.Wait()
			} else {
				for i := range rs {
					rs[i] = b.get(path)
				}
			}
			for i, r := range rs {
				wantLoggedIn(t, r, "/twice")
				if cookieNamed(r, auths.SessionCookie) == nil {
					t.Errorf("callback %d set no session cookie", i)
				}
			}
			if got := e.sim.Calls(wechatsim.EndpointAccessToken); got != 1 {
				t.Errorf("access_token calls = %d, want 1", got)
			}
			if r, s := b.session(); r.StatusCode != http.StatusOK || s.OpenID != userPanda.OpenID {
				t.Errorf("session: %d %+v", r.StatusCode, s)
			}
		})
	}
}

// A duplicate of a failed exchange gets the same error, without a second
// exchange.
func TestLoginDuplicateOfFailure(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	e.sim.Inject(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, ErrCode: 40029})
	b := e.browser()
	st := b.startLogin(mainLogin, "/")
	path := callbackPath(mainLogin, e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), st)
	wantError(t, b.get(path), http.StatusBadRequest, "code_invalid")
	wantError(t, b.get(path), http.StatusBadRequest, "code_invalid")
	if got := e.sim.Calls(wechatsim.EndpointAccessToken); got != 1 {
		t.Errorf("access_token calls = %d, want 1", got)
	}
}

func TestLoginOpenRedirect(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	refused := []string{
		"https://evil.com",
		"https://evil.com/after",
		"//evil.com",
		"///evil.com",
		"/\\evil.com",
		"\\\\evil.com",
		"http:evil.com",
		"https:evil.com",
		"http:/evil.com",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"https://user@evil.com",
		"https://" + strings.TrimPrefix(e.srv.URL, "http://") + "@evil.com",
		"/\t/evil.com",
		"/\n/evil.com",
		"\t//evil.com",
		" //evil.com",
		"//evil.com\t",
		"after",
		"evil.com",
		"ftp://" + strings.TrimPrefix(e.srv.URL, "http://") + "/",
		strings.Repeat("/a", 2000),
	}
	b := e.browser()
	for _, target := range refused {
		t.Run(fmt.Sprintf("%q", target), func(t *testing.T) {
			r := b.get(loginPath(mainLogin, target))
			wantError(t, r, http.StatusBadRequest, "invalid_redirect")
			if r.location() != "" {
				t.Errorf("refused login still redirects to %q", r.location())
			}
		})
	}
	allowed := []struct{ in, out string }{
		{"", "/"},
		{"/after?x=1", "/after?x=1"},
		{"/after#section", "/after#section"},
		{e.srv.URL + "/after", e.srv.URL + "/after"},
	}
	for _, a := range allowed {
		t.Run(fmt.Sprintf("allowed %q", a.in), func(t *testing.T) {
			wantLoggedIn(t, e.browser().fullLogin(mainLogin, userPlain.OpenID, a.in), a.out)
		})
	}
}

func TestLoginWechatFailures(t *testing.T) {
	cases := []struct {
		name    string
		env     envOptions
		faults  []wechatsim.Fault
		user    string
		prepare func(e *loginEnv) string // returns the code to use, "" = a fresh one
		status  int
		code    string
	}{
		{name: "invalid code 40029", status: http.StatusBadRequest, code: "code_invalid",
			prepare: func(*loginEnv) string { return "notARealCode" }},
		{name: "used code 40163", status: http.StatusBadRequest, code: "code_used",
			prepare: func(e *loginEnv) string {
				c := e.sim.IssueCode(testAppID, userPlain.OpenID, "snsapi_userinfo")
				b := e.browser()
				wantLoggedIn(e.t, b.get(callbackPath(mainLogin, c, b.startLogin(mainLogin, "/"))), "/")
				return c // replayed in another login
			}},
		{name: "expired code 42003", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, ErrCode: 42003}},
			status: http.StatusBadRequest, code: "code_invalid"},
		{name: "snapshot user", user: userSnap.OpenID, status: http.StatusForbidden, code: "snapshot_user"},
		{name: "user refused 50001", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointUserInfo, ErrCode: 50001}},
			status: http.StatusForbidden, code: "authorization_denied"},
		{name: "system busy on exchange", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, ErrCode: -1}},
			status: http.StatusBadGateway, code: "wechat_error"},
		{name: "502 on every base", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, HTTPStatus: http.StatusBadGateway, Times: 2}},
			status: http.StatusBadGateway, code: "wechat_unavailable"},
		{name: "dropped connections", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, Drop: true, Times: 4}},
			status: http.StatusBadGateway, code: "wechat_unavailable"},
		{name: "garbage body", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, Garbage: true}},
			status: http.StatusBadGateway, code: "wechat_unavailable"},
		{name: "token without a token", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, Body: `{"expires_in":7200}`}},
			status: http.StatusBadGateway, code: "wechat_unavailable"},
		{name: "garbage userinfo", faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointUserInfo, Garbage: true}},
			status: http.StatusBadGateway, code: "wechat_unavailable"},
		{name: "slow upstream", env: envOptions{opts: []jit.Option{jit.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond})}},
			faults: []wechatsim.Fault{{Endpoint: wechatsim.EndpointAccessToken, Delay: 3 * time.Second, Times: 2}},
			status: http.StatusGatewayTimeout, code: "wechat_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newLoginEnv(t, tc.env)
			user := tc.user
			if user == "" {
				user = userPanda.OpenID
			}
			code := ""
			if tc.prepare != nil {
				code = tc.prepare(e)
			}
			if code == "" {
				code = e.sim.IssueCode(testAppID, user, "snsapi_userinfo")
			}
			for _, f := range tc.faults {
				e.sim.Inject(f)
			}
			b := e.browser()
			st := b.startLogin(mainLogin, "/")
			start := time.Now()
			r := b.get(callbackPath(mainLogin, code, st))
			wantError(t, r, tc.status, tc.code)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("callback took %v", d)
			}
			if r, _ := b.session(); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("session after a failed login: %d %s", r.StatusCode, r.body)
			}
			if user == userSnap.OpenID {
				if _, err := models.FindWechatUser(context.Background(), e.app.DB(), testAppID, user); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("snapshot user stored: %v", err)
				}
				var msg apiError
				_ = json.Unmarshal(r.body, &msg)
				if !strings.Contains(msg.Message, "使用完整服务") {
					t.Errorf("snapshot message %q does not say to open the full service", msg.Message)
				}
			}
		})
	}
}

// TestLoginBadInput: nothing a client sends gives a 5xx.
func TestLoginBadInput(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()
	st := b.startLogin(mainLogin, "/")
	huge := strings.Repeat("A", 64<<10)
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/auths/loginTypes/Nope/login", 404, "login_type_not_found"},
		{"GET", "/auths/loginTypes/Nope/callback?code=x&state=y", 404, "login_type_not_found"},
		{"GET", "/auths/loginTypes/" + mainLogin + ".services.WechatPublicAuthSvc/login", 404, "login_type_not_found"},
		{"GET", "/auths/loginTypes/Meta/login", 404, "login_type_not_found"},
		{"GET", "/auths/loginTypes/WechatPublicType/login", 404, "login_type_not_found"},
		{"GET", "/auths/loginTypes/%2e%2e/login", 404, "login_type_not_found"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/callback", 400, "state_missing"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/callback?state=%00%01&code=%ff", 400, "state_invalid"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/callback?state=" + huge + "&code=" + huge, 400, "state_invalid"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/callback?state=" + st + "&code=" + huge, 400, "code_invalid"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/callback?state=" + st + "&state=" + st + "&code=a;b", 403, "authorization_denied"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/callback?%zz=1", 400, ""},
		{"GET", "/auths/loginTypes/" + mainLogin + "/login?redirectUrl=" + huge, 400, "invalid_redirect"},
		{"GET", "/auths/loginTypes/" + mainLogin + "/login?redirectUrl=%ff%fe", 400, "invalid_redirect"},
		{"POST", "/auths/loginTypes/" + mainLogin + "/callback", 405, "method_not_allowed"},
		{"GET", "/auths/logout", 404, "not_found"},
		{"GET", "/sub/", 404, "not_found"}, // public folders are not listed
		{"GET", "/sub/missing.txt", 404, "not_found"},
		{"GET", "/../app.json", 404, "not_found"},
		{"GET", "/auths/loginTypes/MyWechatLogin/MyWechatLogin.json", 404, "not_found"},
		{"GET", "/auths/nothing", 404, "not_found"},
		{"GET", "/no/such/file.txt", 404, "not_found"},
		{"GET", "/jit/nothing.js", 404, "not_found"},
		{"GET", "/api/nothing", 404, "not_found"},
	}
	for _, tc := range cases {
		name := tc.method + " " + tc.path
		if len(name) > 100 {
			name = name[:100]
		}
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := b.do(req)
			if r.StatusCode >= 500 || r.StatusCode == 0 {
				t.Fatalf("status %d for bad input (body %s)", r.StatusCode, r.body)
			}
			if tc.code == "" {
				if r.StatusCode != tc.status {
					t.Errorf("status = %d, want %d (body %s)", r.StatusCode, tc.status, r.body)
				}
				return
			}
			wantError(t, r, tc.status, tc.code)
		})
	}
	// Bad session cookies are 401, never 500.
	for _, v := range []string{"x", strings.Repeat("Z", 3000), "a%00b", "AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/auths/session", nil)
		req.Header.Set("Cookie", auths.SessionCookie+"="+v)
		wantError(t, e.browser().do(req), http.StatusUnauthorized, "not_logged_in")
	}
}

func TestLoginConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Run("100 logins of one user", func(t *testing.T) {
		e := newLoginEnv(t, envOptions{opts: []jit.Option{manyBrowsersOneAddress}})
		const n = 100
		var wg sync.WaitGroup
		rs := make([]*response, n)
		for i := range n {
			wg.Go(func() { rs[i] = e.browser().fullLogin(mainLogin, userPanda.OpenID, "/same") })
		}
		wg.Wait()
		for i, r := range rs {
			wantLoggedIn(t, r, "/same")
			if t.Failed() {
				t.Fatalf("login %d failed", i)
			}
		}
		var count int64
		if err := e.app.DB().Model(&models.WechatPublicAuthModel{}).Count(&count).Error; err != nil {
			t.Fatal(err)
		}
		if count != 1 {
			t.Errorf("wechat_public_auth has %d rows, want 1", count)
		}
		wantNoLockErrors(t, e, rs)
	})
	t.Run("200 distinct users", func(t *testing.T) {
		e := newLoginEnv(t, envOptions{opts: []jit.Option{manyBrowsersOneAddress}})
		const n = 200
		for i := range n {
			e.sim.AddUser(wechatsim.User{OpenID: fmt.Sprintf("oMany%024d", i), Nickname: fmt.Sprintf("用户%d😀", i)})
		}
		var wg sync.WaitGroup
		rs := make([]*response, n)
		bs := make([]*browser, n)
		for i := range n {
			bs[i] = e.browser()
			wg.Go(func() { rs[i] = bs[i].fullLogin(mainLogin, fmt.Sprintf("oMany%024d", i), fmt.Sprintf("/u/%d", i)) })
		}
		wg.Wait()
		for i, r := range rs {
			if r.StatusCode >= 500 {
				t.Errorf("login %d: %d %s", i, r.StatusCode, r.body)
			}
			wantLoggedIn(t, r, fmt.Sprintf("/u/%d", i))
		}
		var count int64
		if err := e.app.DB().Model(&models.WechatPublicAuthModel{}).Count(&count).Error; err != nil {
			t.Fatal(err)
		}
		if count != n {
			t.Errorf("wechat_public_auth has %d rows, want %d", count, n)
		}
		// Each browser is its own user.
		for _, i := range []int{0, 99, 199} {
			if r, s := bs[i].session(); r.StatusCode != 200 || s.OpenID != fmt.Sprintf("oMany%024d", i) {
				t.Errorf("browser %d session: %d %+v", i, r.StatusCode, s)
			}
		}
		wantNoLockErrors(t, e, rs)
	})
}

func wantNoLockErrors(t *testing.T, e *loginEnv, rs []*response) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(string(r.body), "locked") {
			t.Errorf("response mentions a lock: %s", r.body)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "database is locked") || strings.Contains(logs, "SQLITE_BUSY") {
		t.Errorf("log mentions a locked database:\n%s", logs)
	}
}

// recorder keeps every response the app sends, headers and body.
type recorder struct {
	mu  sync.Mutex
	all strings.Builder
	rt  http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	var buf strings.Builder
	fmt.Fprintf(&buf, "%s %s -> %d\n", req.Method, req.URL, resp.StatusCode)
	_ = resp.Header.Write(&buf)
	body, _ := readAllAndClose(resp)
	buf.Write(body)
	buf.WriteString("\n\n")
	r.mu.Lock()
	r.all.WriteString(buf.String())
	r.mu.Unlock()
	return resp, nil
}

// TestLoginSecretNeverLeaks runs logins, good and failing, and searches
// every response and every log line for the AppSecret.
func TestLoginSecretNeverLeaks(t *testing.T) {
	const secret = "LeakCanary7Qx9Zt3Wm5Yp1Rk8Jd"
	// The fake WeChat echoes the secret back in an errmsg, as a careless
	// proxy might, to check the service does not pass it on.
	echo := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("code") == "echoTheSecret" {
				fmt.Fprintf(w, `{"errcode":40125,"errmsg":"invalid appsecret %s, rid: 1-2-3"}`, r.URL.Query().Get("secret"))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	e := newLoginEnv(t, envOptions{secret: secret, logLevel: slog.LevelDebug, wrapWX: echo,
		opts: []jit.Option{jit.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond})}})
	rec := &recorder{rt: e.tr}
	newB := func() *browser {
		b := e.browser()
		b.c.Transport = rec
		return b
	}
	b := newB()
	wantLoggedIn(t, b.fullLogin(mainLogin, userPanda.OpenID, "/"), "/")
	b.session()
	b.get("/api/elements")
	b.get("/api/elements?full=1")
	b.get(loginPath(mainLogin, "https://evil.com"))
	b.get(callbackPath(mainLogin, "x", "forged"))
	b.post("/auths/logout", "", nil)
	// Failures: WeChat errors, echoed secret, upstream down, timeout.
	for _, f := range []wechatsim.Fault{
		{Endpoint: wechatsim.EndpointAccessToken, ErrCode: 40029},
		{Endpoint: wechatsim.EndpointAccessToken, HTTPStatus: 502, Times: 2},
		{Endpoint: wechatsim.EndpointAccessToken, Drop: true, Times: 4},
		{Endpoint: wechatsim.EndpointAccessToken, Garbage: true},
		{Endpoint: wechatsim.EndpointAccessToken, Delay: 2 * time.Second, Times: 2},
	} {
		e.sim.Reset()
		e.sim.Inject(f)
		b := newB()
		r := b.fullLogin(mainLogin, userPanda.OpenID, "/")
		if r.StatusCode < 400 {
			t.Errorf("fault %+v: status %d", f, r.StatusCode)
		}
	}
	b = newB()
	wantError(t, b.get(callbackPath(mainLogin, "echoTheSecret", b.startLogin(mainLogin, "/"))), http.StatusBadGateway, "wechat_error")
	// Dev-style debugging endpoints must not reveal it either.
	r := b.get("/api/elements")
	if r.StatusCode != 200 || !strings.Contains(string(r.body), "auths.loginTypes."+mainLogin) {
		t.Errorf("/api/elements: %d %s", r.StatusCode, r.body)
	}

	if strings.Contains(rec.all.String(), secret) {
		t.Errorf("a response contains the secret:\n%s", rec.all.String())
	}
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("no log output captured")
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the log contains the secret:\n%s", logs)
	}
	for _, el := range e.app.Elements() {
		if b, _ := json.Marshal(el); strings.Contains(string(b), secret) {
			t.Errorf("element info %s contains the secret", b)
		}
	}
	for _, name := range []string{"auths.loginTypes." + mainLogin, "auths.loginTypes." + mainLogin + ".services.WechatPublicAuthSvc"} {
		obj, err := e.app.GetElement(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{fmt.Sprint(obj), fmt.Sprintf("%+v", obj), fmt.Sprintf("%#v", obj)} {
			if strings.Contains(s, secret) {
				t.Errorf("%s prints the secret: %s", name, s)
			}
		}
		var text strings.Builder
		slog.New(slog.NewTextHandler(&text, nil)).Info("element", "obj", obj)
		if strings.Contains(text.String(), secret) {
			t.Errorf("%s logs the secret: %s", name, text.String())
		}
		if b, err := json.Marshal(obj); err == nil && strings.Contains(string(b), secret) {
			t.Errorf("%s marshals the secret: %s", name, b)
		}
	}
}

func TestStaticRoutes(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	b := e.browser()

	r := b.get("/jit/sdk.js")
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), "javascript") || !strings.Contains(string(r.body), "export") {
		t.Errorf("sdk.js: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	r = b.get("/jit/sdk.d.ts")
	if r.StatusCode != 200 || len(r.body) == 0 {
		t.Errorf("sdk.d.ts: %d", r.StatusCode)
	}

	r = b.get("/jit/qrcode.png?path=" + url.QueryEscape("/auths/loginTypes/"+mainLogin+"/login?redirectUrl=/x"))
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(r.body), "\x89PNG\r\n\x1a\n") {
		t.Errorf("qrcode: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	for _, p := range []string{"https://evil", "//evil.com/x", "/\\evil.com", "", "x", "/" + strings.Repeat("a", 5000)} {
		wantError(t, b.get("/jit/qrcode.png?path="+url.QueryEscape(p)), http.StatusBadRequest, "invalid_path")
	}

	r = b.get("/MP_verify_test.txt")
	if r.StatusCode != 200 || strings.TrimSpace(string(r.body)) != "kGx3sT9pLm2Qw7Zr" {
		t.Errorf("MP_verify file: %d %q", r.StatusCode, r.body)
	}
	if r := b.get("/sub/page.txt"); r.StatusCode != 200 || strings.TrimSpace(string(r.body)) != "hello" {
		t.Errorf("public sub file: %d %q", r.StatusCode, r.body)
	}
	r = b.get("/api/elements")
	var infos []struct{ FullName, Title, Type, Kind, Layer string }
	if err := json.Unmarshal(r.body, &infos); err != nil || r.StatusCode != 200 {
		t.Fatalf("/api/elements: %d %v", r.StatusCode, err)
	}
	found := false
	for _, i := range infos {
		if i.FullName == "auths.loginTypes."+mainLogin && i.Type == wechatpublic.Type && i.Title == "微信登录" {
			found = true
		}
	}
	if !found {
		t.Errorf("/api/elements lacks %s: %s", mainLogin, r.body)
	}
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)
	userButton  = regexp.MustCompile(`name="openid" value="([^"]+)"`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// TestDevSimulatorLogin logs in through the simulator mounted on the app
// itself, as a developer's ordinary browser would, with no secret set.
func TestDevSimulatorLogin(t *testing.T) {
	srv := httptestUnstarted(t)
	self := "http://" + srv.Listener.Addr().String()
	// No variables at all: dev mode supplies the secret and replaces the
	// URLs, so their {{VAR}}s need no value.
	env := map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := jit.Open(ctx, loginFixture, jit.WithoutReload(), jit.WithDevSimulator(self),
		jit.WithDatabase(t.TempDir()+"/jit.db"),
		jit.WithLogger(slog.New(slog.DiscardHandler)),
		jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer app.Close()
	if ps := app.Problems(); ps.HasErrors() {
		t.Fatalf("problems: %v", ps)
	}
	srv.Config.Handler = app.Handler()
	srv.Start()
	defer srv.Close()
	e := &loginEnv{t: t, app: app, srv: srv, tr: &http.Transport{}}
	defer e.tr.CloseIdleConnections()
	b := e.browser()

	r := b.get(loginPath(mainLogin, "/welcome"))
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", r.StatusCode, r.body)
	}
	authorize, err := url.Parse(self)
	if err == nil {
		authorize, err = authorize.Parse(r.location())
	}
	if err != nil || authorize.Host != srv.Listener.Addr().String() || !strings.HasPrefix(authorize.Path, "/_wechat/") {
		t.Fatalf("authorize URL %q is not the mounted simulator (%v)", r.location(), err)
	}
	authorize.Fragment = ""
	page := b.get(authorize.String())
	if page.StatusCode != 200 || !strings.Contains(string(page.body), "<form") {
		t.Fatalf("authorize page: %d %s", page.StatusCode, page.body)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page.body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	users := userButton.FindAllStringSubmatch(string(page.body), -1)
	action := formAction.FindStringSubmatch(string(page.body))
	if len(users) == 0 || action == nil || form.Get("state") == "" {
		t.Fatalf("cannot read the consent form: %s", page.body)
	}
	form.Set("openid", users[0][1]) // the first default user, 小明😀
	r = b.post(html.UnescapeString(action[1]), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if r.StatusCode != http.StatusFound || !strings.Contains(r.location(), "/auths/loginTypes/"+mainLogin+"/callback?code=") {
		t.Fatalf("consent: %d Location %q body %s", r.StatusCode, r.location(), r.body)
	}
	wantLoggedIn(t, b.get(r.location()), "/welcome")
	r, s := b.session()
	if r.StatusCode != 200 || s.Nickname != "小明😀" || s.OpenID != users[0][1] || !strings.HasPrefix(s.HeadImgURL, "http") {
		t.Errorf("session: %d %+v", r.StatusCode, s)
	}
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLoginWithoutDatabase: an app opened for inspection only answers the
// login routes with a JSON error, not a dropped connection.
func TestLoginWithoutDatabase(t *testing.T) {
	env := map[string]string{"WECHAT_APP_SECRET": testSecret, "WECHAT_AUTHORIZE_URL": "https://open.weixin.qq.com/connect/oauth2/authorize",
		"WECHAT_API_BASE": "https://api.weixin.qq.com", "WECHAT_API_BASE_BACKUP": "https://api2.weixin.qq.com"}
	app, err := jit.Open(context.Background(), loginFixture, jit.WithoutReload(), jit.WithoutDatabase(),
		jit.WithLogger(slog.New(slog.DiscardHandler)),
		jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	e := &loginEnv{t: t, app: app, srv: newLoopbackServer(t, app.Handler()), tr: &http.Transport{}}
	defer e.tr.CloseIdleConnections()
	b := e.browser()
	for _, p := range []string{loginPath(mainLogin, "/"), callbackPath(mainLogin, "c", "AAAAAAAAAAAAAAAAAAAAAAAAAA"), "/auths/session"} {
		r := b.get(p)
		wantError(t, r, http.StatusServiceUnavailable, "database_unavailable")
	}
	wantError(t, b.post("/auths/logout", "", nil), http.StatusServiceUnavailable, "database_unavailable")
	if r := b.get("/api/elements"); r.StatusCode != 200 {
		t.Errorf("/api/elements: %d", r.StatusCode)
	}
}
