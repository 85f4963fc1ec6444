package jit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/auths/wechatweb"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/models"
)

// The webapp fixture: WxMain, a 公众号 login (WechatPublicType) on
// testAppID, and WxWeb, the website-app QR login (WeChatType, JitAi's
// authConfig layout) on webAppID, an app of the same Open Platform account:
// one unionid per person across both, a different openid in each.
const (
	webappFixture = "testdata/apps/webapp"
	webAppID      = "wx4444444444444444"
	webLogin      = "WxWeb"
	// pandaWebOpenID is userPanda's openid in the website app.
	pandaWebOpenID = "oPandaWeb0000000000000000001"
)

func newWebEnv(t testing.TB, eo envOptions) *loginEnv {
	t.Helper()
	eo.fixture = webappFixture
	e := newLoginEnv(t, eo)
	p := userPanda
	p.OpenIDs = maps.Clone(p.OpenIDs)
	p.OpenIDs[webAppID] = pandaWebOpenID
	e.sim.AddUser(p)
	return e
}

// qrLogin is a whole website-app login through the simulator's QR page, as
// a browser does it: login route, WeChat's page (where the real one shows a
// QR the person scans; the simulator lists its users), the person's choice
// (openid, or "deny"), the callback. It returns the callback's response.
func (b *browser) qrLogin(name, openid, redirect string) *response {
	t := b.e.t
	t.Helper()
	r := b.get(loginPath(name, redirect))
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login %s: %d %s", name, r.StatusCode, r.body)
	}
	page := b.get(b.simPageURL(r.location()))
	if page.StatusCode != http.StatusOK || !strings.Contains(string(page.body), "微信扫码登录（模拟）") {
		t.Fatalf("QR page %s: %d %s", r.location(), page.StatusCode, page.body)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page.body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	action := formAction.FindStringSubmatch(string(page.body))
	if action == nil || form.Get("scope") != "snsapi_login" || form.Get("state") == "" {
		t.Fatalf("cannot read the QR page's form: %s", page.body)
	}
	if openid == "deny" {
		form.Set("action", "deny")
	} else {
		form.Set("openid", openid)
	}
	r = b.post(b.simPageURL(html.UnescapeString(action[1])), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.location(), b.e.srv.URL+"/auths/loginTypes/"+name+"/callback?") {
		t.Fatalf("scan and confirm: %d Location %q %s", r.StatusCode, r.location(), r.body)
	}
	return b.get(r.location())
}

// simPageURL makes a simulator page URL (absolute in a fake-WeChat env, or
// a path on the app in dev mode) fetchable, without its #wechat_redirect.
func (b *browser) simPageURL(raw string) string {
	u := mustURL(b.e.t, raw)
	u.Fragment = ""
	if u.Host == "" && b.e.wx != nil {
		return b.e.wx.URL + u.String()
	}
	return b.abs(u.String())
}

func identityOf(u userJSON, loginType string) (auths.Identity, bool) {
	for _, id := range u.Identities {
		if id.LoginType == loginType {
			return id, true
		}
	}
	return auths.Identity{}, false
}

func TestWeChatTypeRedirectShape(t *testing.T) {
	e := newWebEnv(t, envOptions{})
	b := e.browser()
	r := b.get(loginPath(webLogin, "/home?tab=1"))
	if r.StatusCode != http.StatusFound || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %d Cache-Control %q %s", r.StatusCode, r.Header.Get("Cache-Control"), r.body)
	}
	loc := r.location()
	state := mustURL(t, loc).Query().Get("state")
	if !regexp.MustCompile(`^[A-Za-z0-9]{16,128}$`).MatchString(state) {
		t.Errorf("state %q is not letters and digits", state)
	}
	callback := e.srv.URL + "/auths/loginTypes/" + webLogin + "/callback"
	want := e.wx.URL + "/connect/qrconnect?appid=" + webAppID +
		"&redirect_uri=" + url.QueryEscape(callback) +
		"&response_type=code&scope=snsapi_login&state=" + state + "#wechat_redirect"
	if loc != want {
		t.Errorf("Location\n got %s\nwant %s", loc, want)
	}
	var keys []string
	for _, kv := range strings.Split(mustURL(t, loc).RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != "appid,redirect_uri,response_type,scope,state" {
		t.Errorf("parameter order %v", keys)
	}
	// The 公众号 element of the same app still goes to its own page.
	if r := b.get(loginPath("WxMain", "/")); !strings.HasPrefix(r.location(), e.wx.URL+"/connect/oauth2/authorize?appid="+testAppID+"&") ||
		!strings.Contains(r.location(), "&scope=snsapi_userinfo&") {
		t.Errorf("WxMain Location %q", r.location())
	}

	// The front end's list: the website app with its scope, and no secret.
	r = b.get("/auths/loginTypes")
	var list []auths.PublicConfig
	if err := json.Unmarshal(r.body, &list); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("/auths/loginTypes: %d %s", r.StatusCode, r.body)
	}
	wantWeb := auths.PublicConfig{FullName: "auths.loginTypes." + webLogin, Type: wechatweb.Type, Title: "微信扫码登录",
		AppID: webAppID, Scope: "snsapi_login", Default: true}
	if len(list) != 2 || list[1] != wantWeb {
		t.Errorf("/auths/loginTypes = %+v, want WxMain and %+v", list, wantWeb)
	}
	if strings.Contains(string(r.body), testSecret) || strings.Contains(string(r.body), "appSecret") {
		t.Errorf("/auths/loginTypes shows the secret: %s", r.body)
	}
}

func TestWeChatTypeWebsiteLoginThroughTheSimulator(t *testing.T) {
	e := newWebEnv(t, envOptions{})
	b := e.browser()
	wantLoggedIn(t, b.qrLogin(webLogin, userPanda.OpenID, "/home"), "/home")
	status, u := b.user()
	if status != http.StatusOK {
		t.Fatalf("session: %d", status)
	}
	want := auths.Identity{LoginType: "auths.loginTypes." + webLogin, AppID: webAppID, OpenID: pandaWebOpenID, UnionID: userPanda.UnionID}
	if u.LoginType != want.LoginType || u.OpenID != pandaWebOpenID || u.UnionID != userPanda.UnionID ||
		u.Nickname != userPanda.Nickname || u.HeadImgURL != userPanda.HeadImgURL || len(u.Identities) != 1 || u.Identities[0] != want {
		t.Errorf("session = %+v, want identity %+v and the profile from /sns/userinfo", u, want)
	}
	for endpoint, n := range map[string]int{wechatsim.EndpointQRConnect: 2, wechatsim.EndpointAuthorize: 0,
		wechatsim.EndpointAccessToken: 1, wechatsim.EndpointUserInfo: 1} {
		if got := e.sim.Calls(endpoint); got != n {
			t.Errorf("%s calls = %d, want %d", endpoint, got, n)
		}
	}
	row, err := models.FindWechatUser(context.Background(), e.app.DB(), webAppID, pandaWebOpenID)
	if err != nil || row.UserID != u.UserID || row.Scope != "snsapi_login" || row.Nickname != userPanda.Nickname ||
		row.LoginType != want.LoginType || row.AccessToken == "" {
		t.Errorf("stored account: %+v, %v", row, err)
	}
	// The element's API client is a sub-element, bound to the website app.
	svc, err := e.app.GetElement("auths.loginTypes." + webLogin + "." + wechatweb.ServiceName)
	if err != nil {
		t.Fatal(err)
	}
	if el, err := e.app.GetElement("auths.loginTypes." + webLogin); err != nil || el.(*wechatweb.Login).Service() != svc {
		t.Errorf("%s is not the element's service (%v)", wechatweb.ServiceName, err)
	}

	// Refusing on the phone comes back without a code.
	wantError(t, e.browser().qrLogin(webLogin, "deny", "/home"), http.StatusForbidden, "authorization_denied")
	// The same callback twice is the shared flow's duplicate: one exchange.
	c := e.browser()
	state := c.startLogin(webLogin, "/x")
	cb := callbackPath(webLogin, e.sim.IssueCode(webAppID, userPlain.OpenID, "snsapi_login"), state)
	wantLoggedIn(t, c.get(cb), "/x")
	wantLoggedIn(t, c.get(cb), "/x")
	if got := e.sim.Calls(wechatsim.EndpointAccessToken); got != 2 {
		t.Errorf("access_token calls after a duplicate callback = %d, want 2", got)
	}
}

func TestWeChatTypeUnionidLinksTheWebsiteToTheOfficialAccount(t *testing.T) {
	e := newWebEnv(t, envOptions{})
	phone := e.browser()
	oa := phone.mustLogin("WxMain", userPanda.OpenID) // inside WeChat, on the 公众号
	desk := e.browser()
	wantLoggedIn(t, desk.qrLogin(webLogin, userPanda.OpenID, "/home"), "/home") // on a desktop, by QR
	_, web := desk.user()
	if web.UserID != oa.UserID {
		t.Fatalf("the website login made user %s, want the 公众号 user %s (same unionid)", web.UserID, oa.UserID)
	}
	oaID, ok1 := identityOf(web, "auths.loginTypes.WxMain")
	webID, ok2 := identityOf(web, "auths.loginTypes."+webLogin)
	if !ok1 || !ok2 || len(web.Identities) != 2 ||
		oaID != (auths.Identity{LoginType: "auths.loginTypes.WxMain", AppID: testAppID, OpenID: userPanda.OpenID, UnionID: userPanda.UnionID}) ||
		webID != (auths.Identity{LoginType: "auths.loginTypes." + webLogin, AppID: webAppID, OpenID: pandaWebOpenID, UnionID: userPanda.UnionID}) {
		t.Errorf("identities %+v", web.Identities)
	}
	if web.LoginType != "auths.loginTypes."+webLogin || web.OpenID != pandaWebOpenID {
		t.Errorf("the desktop session is %s %s, want the website identity", web.LoginType, web.OpenID)
	}
	users, ids, accounts := count(t, e, &models.User{}, ""), count(t, e, &models.Identity{}, ""), count(t, e, &models.WechatPublicAuthModel{}, "")
	if users != 1 || ids != 2 || accounts != 2 {
		t.Errorf("%d users, %d identities, %d stored accounts; want 1, 2 and 2 (one per app)", users, ids, accounts)
	}
	// Logging in again on the website finds the same user.
	again := e.browser()
	wantLoggedIn(t, again.qrLogin(webLogin, userPanda.OpenID, "/"), "/")
	if _, u := again.user(); u.UserID != oa.UserID {
		t.Errorf("second website login: user %s, want %s", u.UserID, oa.UserID)
	}
	// A person without a unionid has nothing to link by: a new user.
	other := e.browser()
	wantLoggedIn(t, other.qrLogin(webLogin, userPlain.OpenID, "/"), "/")
	if _, u := other.user(); u.UserID == "" || u.UserID == oa.UserID || len(u.Identities) != 1 {
		t.Errorf("a person without unionid: %+v", u)
	}
	// Unbinding the website identity forgets its stored tokens.
	if r := phone.sameSite(http.MethodPost, "/auths/loginTypes/"+webLogin+"/unbind"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("unbind: %d %s", r.StatusCode, r.body)
	}
	if n := count(t, e, &models.WechatPublicAuthModel{}, "app_id = ? AND open_id = ?", webAppID, pandaWebOpenID); n != 0 {
		t.Errorf("%d stored accounts of the unbound website identity", n)
	}
	if _, u := phone.user(); len(u.Identities) != 1 || u.Identities[0].AppID != testAppID {
		t.Errorf("after unbind: %+v", u.Identities)
	}
}

func TestWeChatTypeBrokenConfigIsAProblemNamingFileAndField(t *testing.T) {
	const file = "auths/loginTypes/WxWeb/WxWeb.json"
	tests := []struct {
		name, cfg, field, msg string
	}{
		{"appId missing", `{"authConfig": {"appSecret": "{{WECHAT_APP_SECRET}}"}}`, "authConfig.appId", "required"},
		{"appId a number", `{"authConfig": {"appId": 4444444444444444, "appSecret": "{{WECHAT_APP_SECRET}}"}}`, "authConfig.appId", "must be a string"},
		{"appId a list", `{"authConfig": {"appId": ["wx4444444444444444"], "appSecret": "{{WECHAT_APP_SECRET}}"}}`, "authConfig.appId", "must be a string"},
		{"appId malformed", `{"authConfig": {"appId": "wx44", "appSecret": "{{WECHAT_APP_SECRET}}"}}`, "authConfig.appId", `must be "wx" followed by 16 lowercase hex digits`},
		{"secret a number", `{"authConfig": {"appId": "wx4444444444444444", "appSecret": 12345678901234567}}`, "authConfig.appSecret", "must be a string"},
		{"no authConfig (the 公众号 layout)", `{"appId": "wx4444444444444444", "appSecret": "{{WECHAT_APP_SECRET}}"}`, "authConfig.appId", "required"},
		{"authConfig a string", `{"authConfig": "wx4444444444444444"}`, "authConfig", "must be an object"},
		{"secret variable unset", `{"authConfig": {"appId": "wx4444444444444444", "appSecret": "{{WECHAT_WEB_APP_SECRET}}"}}`, "authConfig.appSecret", "environment variable WECHAT_WEB_APP_SECRET is not set"},
		{"lang wrong", `{"authConfig": {"appId": "wx4444444444444444", "appSecret": "{{WECHAT_APP_SECRET}}"}, "lang": 1}`, "lang", "must be a string"},
	}
	env := map[string]string{"WECHAT_APP_SECRET": testSecret}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"auths/loginTypes/WxWeb/e.json": `{"title": "微信扫码登录", "type": "auths.loginTypes.WeChatType"}`,
				file:                            tc.cfg,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			app, err := jit.Open(ctx, dir, jit.WithoutReload(), jit.WithoutDatabase(), jit.WithLogger(quietLogger()),
				jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer app.Close()
			var found *elements.Problem
			for _, p := range app.Problems() {
				if p.Severity == elements.SeverityError && p.Element == "auths.loginTypes.WxWeb" {
					found = p
					break
				}
			}
			if found == nil || found.File != file || found.Field != tc.field || !strings.Contains(found.Msg, tc.msg) {
				t.Fatalf("problems %v\nwant an error %s: %s: …%s…", app.Problems(), file, tc.field, tc.msg)
			}
			if !strings.HasPrefix(found.Error(), file+": "+tc.field+": ") {
				t.Errorf("problem reads %q", found.Error())
			}
			if _, ok := app.Lookup("auths.loginTypes.WxWeb"); ok {
				t.Error("a broken element is live")
			}
			if s := fmt.Sprint(app.Problems()); strings.Contains(s, testSecret) {
				t.Errorf("the problems show the secret: %s", s)
			}
		})
	}
}

func TestWeChatTypeSecretNeverPrinted(t *testing.T) {
	const secret = "WebLeakCanary5Rk8Jd3Qx9Zt7Wm"
	e := newWebEnv(t, envOptions{secret: secret, logLevel: slog.LevelDebug})
	b := e.browser()
	wantLoggedIn(t, b.qrLogin(webLogin, userPanda.OpenID, "/home"), "/home")
	wantError(t, b.get(callbackPath(webLogin, "x", b.startLogin(webLogin, "/"))), http.StatusBadRequest, "code_invalid")
	var bodies []string
	for _, p := range []string{"/auths/loginTypes", "/api/elements", "/auths/session"} {
		bodies = append(bodies, string(b.get(p).body))
	}
	for _, name := range []string{"auths.loginTypes." + webLogin, "auths.loginTypes." + webLogin + "." + wechatweb.ServiceName} {
		obj, err := e.app.GetElement(name)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, fmt.Sprint(obj), fmt.Sprintf("%v", obj), fmt.Sprintf("%+v", obj), fmt.Sprintf("%#v", obj))
		var text, js strings.Builder
		slog.New(slog.NewTextHandler(&text, nil)).Info("element", "obj", obj)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("element", "obj", obj)
		bodies = append(bodies, text.String(), js.String())
		if b, err := json.Marshal(obj); err == nil {
			bodies = append(bodies, string(b))
		}
	}
	el, _ := e.app.GetElement("auths.loginTypes." + webLogin)
	if l := el.(*wechatweb.Login); !strings.Contains(fmt.Sprint(l), webAppID) || l.Scope() != "snsapi_login" {
		t.Errorf("String() = %s", l)
	}
	bodies = append(bodies, e.logs.String(), fmt.Sprint(e.app.Problems()))
	for _, s := range bodies {
		if strings.Contains(s, secret) {
			t.Errorf("the secret is printed: %s", s)
		}
	}
}

// TestWeChatTypeWebsiteLoginInDevMode: dev mode points the website app at
// the simulator's QR page mounted on the app itself (Simulate), with no
// variables set.
func TestWeChatTypeWebsiteLoginInDevMode(t *testing.T) {
	srv := httptestUnstarted(t)
	self := "http://" + srv.Listener.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := jit.Open(ctx, webappFixture, jit.WithoutReload(), jit.WithDevSimulator(self),
		jit.WithDatabase(t.TempDir()+"/jit.db"), jit.WithLogger(quietLogger()),
		jit.WithLookupEnv(func(string) (string, bool) { return "", false }))
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
	r := b.get(loginPath(webLogin, "/welcome"))
	if !strings.HasPrefix(r.location(), "/_wechat/connect/qrconnect?appid="+webAppID+"&redirect_uri=") {
		t.Fatalf("login: %d Location %q", r.StatusCode, r.location())
	}
	users := wechatsim.New().Users()
	wantLoggedIn(t, b.qrLogin(webLogin, users[1].OpenID, "/welcome"), "/welcome") // 李雷, who has a unionid
	_, u := b.user()
	if u.LoginType != "auths.loginTypes."+webLogin || u.OpenID != users[1].OpenID || u.UnionID != users[1].UnionID ||
		u.Nickname != users[1].Nickname || len(u.Identities) != 1 || u.Identities[0].AppID != webAppID {
		t.Errorf("session: %+v", u)
	}
}
