package wechatsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	appID  = "wxsimtest"
	secret = "simtest-secret"
)

type fixture struct {
	sim    *Server
	srv    *httptest.Server
	client *http.Client
	prefix string // base path the simulator is mounted under
	now    time.Time
	mu     sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.sim = New(append([]Option{WithApp(appID, secret), WithClock(f.clock)}, opts...)...)
	f.prefix = f.sim.base
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(f.srv.Close)
	f.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// get returns status, body and the decoded JSON (nil if not JSON).
func (f *fixture) get(t *testing.T, path string, q url.Values) (int, string, map[string]any) {
	t.Helper()
	resp, err := f.client.Get(f.srv.URL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		m = nil
	}
	return resp.StatusCode, string(b), m
}

func (f *fixture) token(t *testing.T, code string) map[string]any {
	t.Helper()
	_, body, m := f.get(t, f.prefix+"/sns/oauth2/access_token", url.Values{"appid": {appID}, "secret": {secret}, "code": {code}, "grant_type": {"authorization_code"}})
	if m == nil || m["access_token"] == nil {
		t.Fatalf("token exchange failed: %s", body)
	}
	return m
}

var ridRE = regexp.MustCompile(`, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

func wantErrcode(t *testing.T, body string, m map[string]any, code int) {
	t.Helper()
	if m == nil {
		t.Fatalf("not JSON: %q", body)
	}
	if got, _ := m["errcode"].(float64); int(got) != code {
		t.Fatalf("errcode = %v, want %d (%s)", m["errcode"], code, body)
	}
	if msg, _ := m["errmsg"].(string); !ridRE.MatchString(msg) {
		t.Errorf("errmsg %q lacks a rid", msg)
	}
}

func TestAccessTokenErrors(t *testing.T) {
	f := newFixture(t)
	user := f.sim.Users()[0].OpenID
	used := f.sim.IssueCode(appID, user, "snsapi_base")
	f.token(t, used)
	expired := f.sim.IssueCode(appID, user, "snsapi_base")
	f.advance(CodeTTL)
	q := func(kv ...string) url.Values {
		v := url.Values{"appid": {appID}, "secret": {secret}, "code": {"x"}, "grant_type": {"authorization_code"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"no appid", q("appid", ""), 41002},
		{"no secret", q("secret", ""), 41004},
		{"no code", q("code", ""), 41008},
		{"bad grant", q("grant_type", "client_credential"), 40002},
		{"unknown appid", q("appid", "wxnope"), 40013},
		{"wrong secret", q("secret", "nope"), 40125},
		{"unknown code", q(), 40029},
		{"other app's code", q("appid", DefaultAppID, "secret", DefaultSecret), 40013}, // default app not registered when WithApp given
		{"used code", q("code", used), 40163},
		{"expired code", q("code", expired), 42003},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, body, m := f.get(t, "/sns/oauth2/access_token", tc.q)
			wantErrcode(t, body, m, tc.want)
		})
	}
	if got := f.sim.Calls(EndpointAccessToken); got != len(tests)+1 {
		t.Errorf("calls = %d, want %d", got, len(tests)+1)
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t, WithUsers(
		User{OpenID: "o1", Nickname: "小明😀", HeadImgURL: "/avatar/1.svg", Country: "中国", Province: "广东"},
		User{OpenID: "o2", UnionID: "u2", Nickname: "李雷"},
		User{OpenID: "o3", UnionID: "u3", Nickname: "快照", Snapshot: true},
	))

	t.Run("response shape", func(t *testing.T) {
		resp, err := http.Get(f.srv.URL + "/sns/userinfo?access_token=x&openid=o1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
			t.Errorf("content-type = %q, want text/plain like WeChat", ct)
		}
	})

	fields := []struct {
		openID, scope string
		wantUnion     any
		wantSnap      any
	}{
		{"o1", "snsapi_userinfo", nil, nil},
		{"o2", "snsapi_userinfo", "u2", nil},
		{"o2", "snsapi_base", nil, nil}, // unionid only with snsapi_userinfo
		{"o3", "snsapi_userinfo", "u3", float64(1)},
	}
	for _, tc := range fields {
		t.Run("token "+tc.openID+" "+tc.scope, func(t *testing.T) {
			m := f.token(t, f.sim.IssueCode(appID, tc.openID, tc.scope))
			if m["unionid"] != tc.wantUnion || m["is_snapshotuser"] != tc.wantSnap || m["expires_in"] != float64(7200) || m["scope"] != tc.scope || m["openid"] != tc.openID {
				t.Errorf("token = %v", m)
			}
		})
	}

	full := f.token(t, f.sim.IssueCode(appID, "o1", "snsapi_userinfo"))
	base := f.token(t, f.sim.IssueCode(appID, "o1", "snsapi_base"))
	at := func(m map[string]any) string { return m["access_token"].(string) }

	t.Run("userinfo", func(t *testing.T) {
		_, body, m := f.get(t, "/sns/userinfo", url.Values{"access_token": {at(full)}, "openid": {"o1"}, "lang": {"en"}})
		if m["nickname"] != "小明😀" || m["country"] != "China" || m["province"] != "Guangdong" || m["sex"] != float64(0) || m["city"] != "" {
			t.Errorf("userinfo = %s", body)
		}
		if _, ok := m["unionid"]; ok {
			t.Error("unionid present for a user without one")
		}
		if p, ok := m["privilege"].([]any); !ok || len(p) != 0 {
			t.Errorf("privilege = %v", m["privilege"])
		}
		if !strings.Contains(body, `"headimgurl":"http:\/\/127.0.0.1`) || m["headimgurl"] != f.srv.URL+"/avatar/1.svg" {
			t.Errorf("headimgurl not absolute with escaped slashes: %s", body)
		}
		_, _, tw := f.get(t, "/sns/userinfo", url.Values{"access_token": {at(full)}, "openid": {"o1"}, "lang": {"zh_TW"}})
		if tw["country"] != "中國" {
			t.Errorf("zh_TW country = %v", tw["country"])
		}
	})

	errs := []struct {
		name, path string
		q          url.Values
		want       int
	}{
		{"userinfo with base token", "/sns/userinfo", url.Values{"access_token": {at(base)}, "openid": {"o1"}}, 48001},
		{"userinfo no token", "/sns/userinfo", url.Values{"openid": {"o1"}}, 41001},
		{"auth bad token", "/sns/auth", url.Values{"access_token": {"nope"}, "openid": {"o1"}}, 40001},
		{"auth openid mismatch", "/sns/auth", url.Values{"access_token": {at(full)}, "openid": {"o2"}}, 40003},
		{"refresh bad", "/sns/oauth2/refresh_token", url.Values{"appid": {appID}, "grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, 40030},
		{"refresh no grant", "/sns/oauth2/refresh_token", url.Values{"appid": {appID}, "refresh_token": {"nope"}}, 40002},
		{"refresh missing", "/sns/oauth2/refresh_token", url.Values{"appid": {appID}, "grant_type": {"refresh_token"}}, 41003},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, body, m := f.get(t, tc.path, tc.q)
			wantErrcode(t, body, m, tc.want)
		})
	}

	t.Run("auth ok, then expired, refresh, refresh expired", func(t *testing.T) {
		_, body, m := f.get(t, "/sns/auth", url.Values{"access_token": {at(full)}, "openid": {"o1"}})
		if m["errcode"] != float64(0) || m["errmsg"] != "ok" {
			t.Fatalf("auth = %s", body)
		}
		f.advance(AccessTokenTTL)
		_, body, m = f.get(t, "/sns/auth", url.Values{"access_token": {at(full)}, "openid": {"o1"}})
		wantErrcode(t, body, m, 42001)
		rq := url.Values{"appid": {appID}, "grant_type": {"refresh_token"}, "refresh_token": {full["refresh_token"].(string)}}
		_, body, m = f.get(t, "/sns/oauth2/refresh_token", rq)
		if m["access_token"] == nil || m["access_token"] == full["access_token"] || m["openid"] != "o1" {
			t.Fatalf("refresh = %s", body)
		}
		_, _, ok := f.get(t, "/sns/auth", url.Values{"access_token": {m["access_token"].(string)}, "openid": {"o1"}})
		if ok["errcode"] != float64(0) {
			t.Errorf("refreshed token invalid: %v", ok)
		}
		f.advance(RefreshTokenTTL)
		_, body, m = f.get(t, "/sns/oauth2/refresh_token", rq)
		wantErrcode(t, body, m, 42002)
	})
}

func TestAuthorizePage(t *testing.T) {
	f := newFixture(t, WithBasePath("/_wechat"))
	valid := url.Values{"appid": {appID}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"}, "scope": {"snsapi_userinfo"}, "state": {"abc123"}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range valid {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	tests := []struct {
		name string
		q    url.Values
		want string
	}{
		{"ok", valid, `data-openid="oSim0000000000000000000000001"`},
		{"no appid", with("appid", ""), "10012"},
		{"unknown appid", with("appid", "wxnope"), "appid无效"},
		{"no redirect", with("redirect_uri", ""), "10011"},
		{"no scope", with("scope", ""), "10010"},
		{"bad scope", with("scope", "snsapi_login"), "10005"},
		{"no state", with("state", ""), "10013"},
		{"long state", with("state", strings.Repeat("a", 129)), "state参数过长"},
		{"state with symbols", with("state", "a-b"), "state参数过长"},
		{"bad response_type", with("response_type", "token"), "response_type"},
		{"fragment in redirect", with("redirect_uri", "https://a.example.com/#/cb"), "10003"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := f.get(t, "/_wechat/connect/oauth2/authorize", tc.q)
			if status != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body lacks %q:\n%s", status, tc.want, body)
			}
		})
	}
	if status, _, _ := f.get(t, "/connect/oauth2/authorize", valid); status != http.StatusNotFound {
		t.Errorf("route outside base path answered %d", status)
	}
	if got := f.sim.Calls(EndpointAuthorize); got != len(tests) {
		t.Errorf("authorize calls = %d", got)
	}

	_, page, _ := f.get(t, "/_wechat/connect/oauth2/authorize", valid)
	for _, want := range []string{`id="wx-deny"`, `id="wx-nickname"`, `id="wx-custom"`, `小明😀`, `action="/_wechat/connect/oauth2/authorize"`, `src="/_wechat/avatar/1.svg"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}

	submit := func(t *testing.T, redirect string, form url.Values) *url.URL {
		t.Helper()
		v := with("redirect_uri", redirect)
		for k, vv := range form {
			v[k] = vv
		}
		resp, err := f.client.PostForm(f.srv.URL+"/_wechat/connect/oauth2/authorize", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}

	t.Run("consent with existing query", func(t *testing.T) {
		loc := submit(t, "https://app.example.com/cb?x=1", url.Values{"openid": {"oSim0000000000000000000000002"}})
		q := loc.Query()
		if loc.Host != "app.example.com" || q.Get("x") != "1" || q.Get("state") != "abc123" || q.Get("code") == "" || strings.Count(loc.RawQuery, "?") != 0 {
			t.Fatalf("location = %s", loc)
		}
		m := f.token(t, q.Get("code"))
		if m["openid"] != "oSim0000000000000000000000002" || m["unionid"] == nil {
			t.Errorf("token = %v", m)
		}
	})
	t.Run("deny", func(t *testing.T) {
		loc := submit(t, "https://app.example.com/cb", url.Values{"action": {"deny"}})
		if loc.Query().Has("code") || loc.Query().Get("state") != "abc123" {
			t.Errorf("location = %s", loc)
		}
	})
	t.Run("custom nickname is stable and escaped", func(t *testing.T) {
		nick := `<script>alert(1)</script>`
		var codes []string
		for range 2 {
			loc := submit(t, "https://app.example.com/cb", url.Values{"action": {"custom"}, "nickname": {nick}})
			codes = append(codes, loc.Query().Get("code"))
		}
		a, b := f.token(t, codes[0]), f.token(t, codes[1])
		if a["openid"] != OpenIDForNickname(nick) || a["openid"] != b["openid"] {
			t.Errorf("openids %v %v", a["openid"], b["openid"])
		}
		if n := len(f.sim.Users()); n != 4 {
			t.Errorf("users = %d, want 4 (one custom, not duplicated)", n)
		}
		_, page, _ := f.get(t, "/_wechat/connect/oauth2/authorize", valid)
		if strings.Contains(page, nick) || !strings.Contains(page, "&lt;script&gt;") {
			t.Error("nickname not escaped in page")
		}
		_, body, m := f.get(t, "/_wechat/sns/userinfo", url.Values{"access_token": {a["access_token"].(string)}, "openid": {a["openid"].(string)}})
		if m["nickname"] != nick || !strings.HasPrefix(m["headimgurl"].(string), f.srv.URL+"/_wechat/avatar/") {
			t.Errorf("userinfo = %s", body)
		}
	})
	t.Run("avatar", func(t *testing.T) {
		resp, err := http.Get(f.srv.URL + "/_wechat/avatar/7.svg")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(b), "<svg") {
			t.Errorf("avatar: %s %q", resp.Header.Get("Content-Type"), b)
		}
		if status, _, _ := f.get(t, "/_wechat/avatar/x.png", nil); status != http.StatusNotFound {
			t.Errorf("bad avatar status %d", status)
		}
	})
}

func TestDefaults(t *testing.T) {
	s := New()
	users := s.Users()
	var emoji, union bool
	for _, u := range users {
		emoji = emoji || u.Nickname == "小明😀"
		union = union || u.UnionID != ""
		if u.Snapshot {
			t.Error("default snapshot user")
		}
	}
	if len(users) != 3 || !emoji || !union {
		t.Errorf("default users = %+v", users)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	code := s.IssueCode(DefaultAppID, users[0].OpenID, "snsapi_base")
	resp, err := http.Get(srv.URL + "/sns/oauth2/access_token?" + url.Values{"appid": {DefaultAppID}, "secret": {DefaultSecret}, "code": {code}, "grant_type": {"authorization_code"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"access_token"`) {
		t.Errorf("default app exchange: %s", b)
	}
	s.AddUser(User{Nickname: "新人"})
	if got := s.Users()[3].OpenID; got != OpenIDForNickname("新人") || len(got) != 28 {
		t.Errorf("derived openid %q", got)
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t)
	f.sim.Inject(Fault{Endpoint: EndpointAuth, ErrCode: -1, Times: 2})
	f.sim.Inject(Fault{Endpoint: EndpointAuth, HTTPStatus: 502})
	f.sim.Inject(Fault{Endpoint: EndpointAuth, Garbage: true})
	f.sim.Inject(Fault{Endpoint: EndpointAuth, Body: `{"x":1}`})
	f.sim.Inject(Fault{Endpoint: EndpointAuth, Drop: true})
	q := url.Values{"access_token": {"nope"}, "openid": {"o"}}
	steps := []struct {
		status int
		check  func(body string, m map[string]any) bool
	}{
		{200, func(_ string, m map[string]any) bool { return m["errcode"] == float64(-1) }},
		{200, func(_ string, m map[string]any) bool { return m["errcode"] == float64(-1) }},
		{502, func(string, map[string]any) bool { return true }},
		{200, func(b string, m map[string]any) bool { return m == nil && strings.Contains(b, "<html>") }},
		{200, func(_ string, m map[string]any) bool { return m["x"] == float64(1) }},
	}
	for i, st := range steps {
		status, body, m := f.get(t, "/sns/auth", q)
		if status != st.status || !st.check(body, m) {
			t.Errorf("step %d: %d %q", i, status, body)
		}
	}
	// A fresh connection: Go silently retries a GET whose reused connection drops.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := fresh.Get(f.srv.URL + "/sns/auth?" + q.Encode()); err == nil {
		t.Error("dropped connection returned a response")
	}
	_, body, m := f.get(t, "/sns/auth", q)
	wantErrcode(t, body, m, 40001) // faults used up
	if got := f.sim.Calls(EndpointAuth); got != 7 {
		t.Errorf("calls = %d, want 7", got)
	}

	f.sim.Inject(Fault{Endpoint: EndpointUserInfo, Delay: 5 * time.Second})
	c := &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := c.Get(f.srv.URL + "/sns/userinfo?" + q.Encode()); err == nil {
		t.Error("delay fault did not delay")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("delay ignored client timeout")
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	users := f.sim.Users()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			code := f.sim.IssueCode(appID, users[i%len(users)].OpenID, "snsapi_userinfo")
			resp, err := http.Get(f.srv.URL + "/sns/oauth2/access_token?" + url.Values{"appid": {appID}, "secret": {secret}, "code": {code}, "grant_type": {"authorization_code"}}.Encode())
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			f.sim.AddUser(User{Nickname: fmt.Sprint("n", i%5)})
		})
	}
	wg.Wait()
	if got := f.sim.Calls(EndpointAccessToken); got != 50 {
		t.Errorf("calls = %d", got)
	}
	if got := len(f.sim.Users()); got != 3+5 {
		t.Errorf("users = %d", got)
	}
}

const (
	appID2  = "wxsimtest2"
	secret2 = "simtest-secret-2"
)

// tokenIn exchanges code at the app appID with its secret.
func (f *fixture) tokenIn(t *testing.T, app, sec, code string) map[string]any {
	t.Helper()
	_, body, m := f.get(t, f.prefix+"/sns/oauth2/access_token", url.Values{"appid": {app}, "secret": {sec}, "code": {code}, "grant_type": {"authorization_code"}})
	if m == nil || m["access_token"] == nil {
		t.Fatalf("token exchange at %s failed: %s", app, body)
	}
	return m
}

func TestOpenIDIn(t *testing.T) {
	u := User{OpenID: "oA", OpenIDs: map[string]string{"wx2": "oB", "wx3": ""}}
	tests := []struct {
		user      User
		app, want string
	}{
		{u, "wx1", "oA"},
		{u, "wx2", "oB"},
		{u, "wx3", "oA"}, // an empty entry counts as unlisted
		{User{OpenID: "oA"}, "wx2", "oA"},
	}
	for _, tc := range tests {
		if got := tc.user.OpenIDIn(tc.app); got != tc.want {
			t.Errorf("OpenIDIn(%q) = %q, want %q", tc.app, got, tc.want)
		}
	}
}

func TestMultiAppOpenIDs(t *testing.T) {
	const canon, other, union = "oCanon", "oOther", "uShared"
	openIDs := map[string]string{appID2: other}
	f := newFixture(t, WithApp(appID2, secret2), WithUsers(
		User{OpenID: canon, OpenIDs: openIDs, UnionID: union, Nickname: "多应用"},
		User{OpenID: "oSingle", Nickname: "单"},
	))
	openIDs[appID2] = "mutated" // the simulator keeps its own copy
	if got := f.sim.Users()[0].OpenIDIn(appID2); got != other {
		t.Fatalf("Users()[0].OpenIDIn = %q, want %q", got, other)
	}
	f.sim.Users()[0].OpenIDs[appID2] = "mutated"
	if got := f.sim.Users()[0].OpenIDIn(appID2); got != other {
		t.Fatalf("Users() shares its OpenIDs map")
	}

	apps := []struct {
		app, secret, wantOpenID string
	}{
		{appID, secret, canon},
		{appID2, secret2, other},
	}
	toks := map[string]map[string]any{}
	for _, a := range apps {
		t.Run("exchange "+a.app, func(t *testing.T) {
			m := f.tokenIn(t, a.app, a.secret, f.sim.IssueCode(a.app, canon, "snsapi_userinfo"))
			if m["openid"] != a.wantOpenID || m["unionid"] != union {
				t.Fatalf("token = %v, want openid %s unionid %s", m, a.wantOpenID, union)
			}
			toks[a.app] = m
		})
	}
	if len(toks) != len(apps) {
		t.FailNow()
	}
	if toks[appID]["openid"] == toks[appID2]["openid"] {
		t.Fatalf("same openid in both apps: %v", toks[appID]["openid"])
	}
	at := func(app string) string { return toks[app]["access_token"].(string) }
	rt := func(app string) string { return toks[app]["refresh_token"].(string) }

	for _, a := range apps {
		t.Run("userinfo "+a.app, func(t *testing.T) {
			_, body, m := f.get(t, "/sns/userinfo", url.Values{"access_token": {at(a.app)}, "openid": {a.wantOpenID}})
			if m["openid"] != a.wantOpenID || m["unionid"] != union || m["nickname"] != "多应用" {
				t.Errorf("userinfo = %s", body)
			}
			_, body, m = f.get(t, "/sns/auth", url.Values{"access_token": {at(a.app)}, "openid": {a.wantOpenID}})
			if m["errcode"] != float64(0) {
				t.Errorf("auth = %s", body)
			}
		})
	}

	errs := []struct {
		name, path string
		q          url.Values
		want       int
	}{
		{"auth app1 token with app2 openid", "/sns/auth", url.Values{"access_token": {at(appID)}, "openid": {other}}, 40003},
		{"auth app2 token with app1 openid", "/sns/auth", url.Values{"access_token": {at(appID2)}, "openid": {canon}}, 40003},
		{"userinfo app2 token with app1 openid", "/sns/userinfo", url.Values{"access_token": {at(appID2)}, "openid": {canon}}, 40003},
		{"app1 code at app2", "/sns/oauth2/access_token", url.Values{"appid": {appID2}, "secret": {secret2}, "code": {f.sim.IssueCode(appID, canon, "snsapi_base")}, "grant_type": {"authorization_code"}}, 40029},
		{"app1 refresh token at app2", "/sns/oauth2/refresh_token", url.Values{"appid": {appID2}, "grant_type": {"refresh_token"}, "refresh_token": {rt(appID)}}, 40030},
		{"app2 with app1 secret", "/sns/oauth2/access_token", url.Values{"appid": {appID2}, "secret": {secret}, "code": {f.sim.IssueCode(appID2, canon, "snsapi_base")}, "grant_type": {"authorization_code"}}, 40125},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, body, m := f.get(t, tc.path, tc.q)
			wantErrcode(t, body, m, tc.want)
		})
	}

	f.advance(AccessTokenTTL)
	for _, a := range apps {
		t.Run("refresh "+a.app, func(t *testing.T) {
			_, body, m := f.get(t, "/sns/auth", url.Values{"access_token": {at(a.app)}, "openid": {a.wantOpenID}})
			wantErrcode(t, body, m, 42001)
			_, body, m = f.get(t, "/sns/oauth2/refresh_token", url.Values{"appid": {a.app}, "grant_type": {"refresh_token"}, "refresh_token": {rt(a.app)}})
			if m["access_token"] == nil || m["openid"] != a.wantOpenID || m["refresh_token"] != rt(a.app) {
				t.Fatalf("refresh = %s", body)
			}
			fresh := m["access_token"].(string)
			_, body, m = f.get(t, "/sns/userinfo", url.Values{"access_token": {fresh}, "openid": {a.wantOpenID}})
			if m["openid"] != a.wantOpenID || m["unionid"] != union {
				t.Errorf("userinfo after refresh = %s", body)
			}
			wrong := other
			if a.wantOpenID == other {
				wrong = canon
			}
			_, body, m = f.get(t, "/sns/auth", url.Values{"access_token": {fresh}, "openid": {wrong}})
			wantErrcode(t, body, m, 40003)
		})
	}

	t.Run("authorize page in app2", func(t *testing.T) {
		q := url.Values{"appid": {appID2}, "redirect_uri": {"https://app2.example.com/cb"}, "response_type": {"code"}, "scope": {"snsapi_base"}, "state": {"s"}}
		_, page, _ := f.get(t, "/connect/oauth2/authorize", q)
		if !strings.Contains(page, `data-openid="`+canon+`" data-app-openid="`+other+`"`) {
			t.Errorf("page lacks the canonical and per-app openid:\n%s", page)
		}
		q.Set("openid", canon)
		resp, err := f.client.PostForm(f.srv.URL+"/connect/oauth2/authorize", q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			t.Fatalf("consent: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		m := f.tokenIn(t, appID2, secret2, loc.Query().Get("code"))
		if m["openid"] != other || m["unionid"] != nil { // snsapi_base: no unionid
			t.Errorf("token = %v", m)
		}
	})
}

func TestSameOpenIDAcrossAppsWithoutOpenIDs(t *testing.T) {
	const union = "uU"
	f := newFixture(t, WithApp(appID2, secret2), WithUsers(
		User{OpenID: "oPlain", Nickname: "普通"},
		User{OpenID: "oUnion", UnionID: union, Nickname: "联合", OpenIDs: map[string]string{"wxunrelated": "oElse"}},
	))
	users := []struct {
		openID    string
		wantUnion any
	}{
		{"oPlain", nil},
		{"oUnion", union},
	}
	apps := []struct{ app, secret string }{{appID, secret}, {appID2, secret2}}
	for _, u := range users {
		for _, a := range apps {
			t.Run(u.openID+" in "+a.app, func(t *testing.T) {
				m := f.tokenIn(t, a.app, a.secret, f.sim.IssueCode(a.app, u.openID, "snsapi_userinfo"))
				if m["openid"] != u.openID || m["unionid"] != u.wantUnion {
					t.Fatalf("token = %v", m)
				}
				_, body, info := f.get(t, "/sns/userinfo", url.Values{"access_token": {m["access_token"].(string)}, "openid": {u.openID}})
				if info["openid"] != u.openID || info["unionid"] != u.wantUnion {
					t.Errorf("userinfo = %s", body)
				}
			})
		}
	}
}
