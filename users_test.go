package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/models"
)

// The users fixture: four WeChat login elements on four Official Accounts
// of one Open Platform account (so one unionid per person across them),
// and a login of the test-only Type.
const (
	usersFixture = "testdata/apps/users"
	secondAppID  = "wx1111111111111111" // WxSecond: registration open (allowRegister: true)
	closedAppID  = "wx2222222222222222" // WxClosed: allowRegister: 0
	noLinkAppID  = "wx3333333333333333" // WxNoLink: linkByUnionid: false
)

var elementApp = map[string]string{
	"WxMain": testAppID, "WxSecond": secondAppID, "WxClosed": closedAppID, "WxNoLink": noLinkAppID,
	mainLogin: testAppID, baseLogin: testAppID,
}

func newUsersEnv(t testing.TB, opts ...jit.Option) *loginEnv {
	return newLoginEnv(t, envOptions{fixture: usersFixture, opts: opts})
}

// userJSON is GET /auths/session.
type userJSON struct {
	UserID     string           `json:"userId"`
	Nickname   string           `json:"nickname"`
	HeadImgURL string           `json:"headimgurl"`
	LoginType  string           `json:"loginType"`
	OpenID     string           `json:"openid"`
	UnionID    string           `json:"unionid"`
	Identities []auths.Identity `json:"identities"`
}

func (b *browser) user() (int, userJSON) {
	r := b.get("/auths/session")
	var u userJSON
	if r.StatusCode == http.StatusOK {
		if err := json.Unmarshal(r.body, &u); err != nil {
			b.e.t.Errorf("session body %q: %v", r.body, err)
		}
	}
	return r.StatusCode, u
}

// loginWith runs a whole login on element name as the simulator's user
// openid (its canonical id), optionally as a bind.
func (b *browser) loginWith(name, openid string, bind bool) *response {
	p := loginPath(name, "/home")
	if bind {
		p += "&bind=1"
	}
	r := b.get(p)
	if r.StatusCode != http.StatusFound {
		return r
	}
	u, err := url.Parse(r.location())
	if err != nil {
		b.e.t.Fatalf("authorize URL %q: %v", r.location(), err)
	}
	code := b.e.sim.IssueCode(elementApp[name], openid, "snsapi_userinfo")
	return b.get(callbackPath(name, code, u.Query().Get("state")))
}

func (b *browser) mustLogin(name, openid string) userJSON {
	b.e.t.Helper()
	wantLoggedIn(b.e.t, b.loginWith(name, openid, false), "/home")
	status, u := b.user()
	if status != http.StatusOK || u.UserID == "" {
		b.e.t.Fatalf("after logging in on %s: session %d %+v", name, status, u)
	}
	return u
}

func count(t testing.TB, e *loginEnv, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := e.app.DB().Model(model)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFirstLoginRegistersAUserAndReturningLoginsFindIt(t *testing.T) {
	e := newUsersEnv(t)
	u := e.browser().mustLogin("WxMain", userPanda.OpenID)
	if len(u.UserID) < 20 || strings.ContainsAny(u.UserID, "/+=?&#") {
		t.Errorf("user id %q is not a random URL-safe id", u.UserID)
	}
	want := auths.Identity{LoginType: "auths.loginTypes.WxMain", AppID: testAppID, OpenID: userPanda.OpenID, UnionID: userPanda.UnionID}
	if u.Nickname != userPanda.Nickname || u.HeadImgURL != userPanda.HeadImgURL || u.OpenID != userPanda.OpenID ||
		u.UnionID != userPanda.UnionID || u.LoginType != want.LoginType || len(u.Identities) != 1 || u.Identities[0] != want {
		t.Errorf("session = %+v", u)
	}
	again := e.browser().mustLogin("WxMain", userPanda.OpenID)
	if again.UserID != u.UserID {
		t.Errorf("a returning login made user %s, want %s", again.UserID, u.UserID)
	}
	if n := count(t, e, &models.User{}, ""); n != 1 {
		t.Errorf("%d users after two logins of one person", n)
	}
	row, err := models.FindWechatUser(context.Background(), e.app.DB(), testAppID, userPanda.OpenID)
	if err != nil || row.UserID != u.UserID {
		t.Errorf("wechat_public_auth row: %+v, %v; want userId %s", row, err, u.UserID)
	}
}

func TestRegistrationClosedRefusesUnknownIdentitiesOnly(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	r := b.loginWith("WxClosed", userPlain.OpenID, false)
	wantError(t, r, http.StatusForbidden, "registration_closed")
	for model, n := range map[string]int64{
		"users":      count(t, e, &models.User{}, ""),
		"identities": count(t, e, &models.Identity{}, ""),
		"accounts":   count(t, e, &models.WechatPublicAuthModel{}, ""),
		"sessions":   count(t, e, &models.Session{}, ""),
	} {
		if n != 0 {
			t.Errorf("a refused registration stored %d %s", n, model)
		}
	}
	if cookieNamed(r, auths.SessionCookie) != nil {
		t.Error("a refused registration set a session cookie")
	}
	if status, _ := b.user(); status != http.StatusUnauthorized {
		t.Errorf("session after a refused registration: %d", status)
	}
	// A person the app already knows (through their unionid) may log in.
	known := e.browser().mustLogin("WxMain", userPanda.OpenID)
	if got := e.browser().mustLogin("WxClosed", userPanda.OpenID); got.UserID != known.UserID {
		t.Errorf("known person on the closed element became %s, want %s", got.UserID, known.UserID)
	}
}

func TestUnionidLinksIdentitiesOfTwoAppsToOneUser(t *testing.T) {
	e := newUsersEnv(t)
	first := e.browser().mustLogin("WxMain", userPanda.OpenID)
	second := e.browser().mustLogin("WxSecond", userPanda.OpenID)
	if second.UserID != first.UserID {
		t.Fatalf("the second 公众号 made user %s, want %s (same unionid)", second.UserID, first.UserID)
	}
	if second.OpenID != userPanda.OpenIDIn(secondAppID) || second.OpenID == first.OpenID {
		t.Errorf("openid in the second app %q, want %q", second.OpenID, userPanda.OpenIDIn(secondAppID))
	}
	if len(second.Identities) != 2 || second.Identities[1].AppID != secondAppID || second.Identities[1].UnionID != userPanda.UnionID {
		t.Errorf("identities %+v", second.Identities)
	}
	// linkByUnionid: false keeps the element's identities apart.
	other := e.browser().mustLogin("WxNoLink", userPanda.OpenID)
	if other.UserID == first.UserID || len(other.Identities) != 1 {
		t.Errorf("linkByUnionid false linked anyway: %+v", other)
	}
}

func TestProfileFillsOnlyWhatTheUserLacks(t *testing.T) {
	e := newUsersEnv(t)
	u := e.browser().mustLogin("WxMain", userPlain.OpenID)
	// The app renames the user and clears the avatar.
	if err := e.app.DB().Model(&models.User{}).Where("id = ?", u.UserID).
		Updates(map[string]any{"nickname": "张三（管理员改的）", "avatar_url": ""}).Error; err != nil {
		t.Fatal(err)
	}
	plain := userPlain
	plain.Nickname, plain.HeadImgURL = "Plain 改名了", "https://thirdwx.qlogo.cn/mmopen/vi_32/plain/132"
	e.sim.AddUser(plain)
	got := e.browser().mustLogin("WxMain", userPlain.OpenID)
	if got.Nickname != "张三（管理员改的）" || got.HeadImgURL != plain.HeadImgURL {
		t.Errorf("after the next login: nickname %q avatar %q; want the app's nickname kept and the avatar filled", got.Nickname, got.HeadImgURL)
	}
}

func TestBindAttachesAnIdentityToTheCurrentUser(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	me := b.mustLogin("WxMain", userPlain.OpenID)
	wantLoggedIn(t, b.loginWith("WxSecond", userPlain.OpenID, true), "/home")
	_, after := b.user()
	if after.UserID != me.UserID || len(after.Identities) != 2 || after.Identities[1].AppID != secondAppID {
		t.Fatalf("after bind: %+v", after)
	}
	if after.LoginType != "auths.loginTypes.WxMain" {
		t.Errorf("bind changed the session's login to %s", after.LoginType)
	}
	if n := count(t, e, &models.Session{}, "user_id = ?", me.UserID); n != 1 {
		t.Errorf("bind made %d sessions, want the one it ran in", n)
	}
	// The bound identity now logs in as this user.
	if u := e.browser().mustLogin("WxSecond", userPlain.OpenID); u.UserID != me.UserID {
		t.Errorf("login with the bound identity: user %s, want %s", u.UserID, me.UserID)
	}
}

func TestBindRefusals(t *testing.T) {
	e := newUsersEnv(t)
	panda := e.browser().mustLogin("WxMain", userPanda.OpenID)
	e.browser().mustLogin("WxSecond", userPanda.OpenID)

	b := e.browser()
	plain := b.mustLogin("WxMain", userPlain.OpenID)
	before := count(t, e, &models.Identity{}, "")
	// Panda's identity in the second app is Panda's user's: 409.
	wantError(t, b.loginWith("WxSecond", userPanda.OpenID, true), http.StatusConflict, "identity_in_use")
	// Panda's identity in the closed app is new, but its unionid is Panda's.
	wantError(t, b.loginWith("WxClosed", userPanda.OpenID, true), http.StatusConflict, "identity_in_use")
	if n := count(t, e, &models.Identity{}, ""); n != before {
		t.Errorf("identities %d → %d after refused binds", before, n)
	}
	if _, u := b.user(); u.UserID != plain.UserID || len(u.Identities) != 1 {
		t.Errorf("the binding user changed: %+v", u)
	}
	if _, u := e.browser().user(); u.UserID == panda.UserID {
		t.Error("a fresh browser is logged in")
	}

	// bind=1 without a session: 401 for an API client, back to the page
	// with login_error for a browser.
	wantError(t, e.browser().get(loginPath("WxSecond", "/home")+"&bind=1"), http.StatusUnauthorized, "not_logged_in")
	r := e.browser().getHTML(loginPath("WxSecond", "/home") + "&bind=1")
	if r.StatusCode != http.StatusFound || r.location() != "/home?login_error=not_logged_in" {
		t.Errorf("browser bind without a session: %d %q", r.StatusCode, r.location())
	}
}

// The bind intent lives in the state row: a callback cannot turn an
// ordinary login into a bind, and a bind whose browser logged out since
// binds nothing.
func TestBindIntentIsStoredNotReadFromTheCallback(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	me := b.mustLogin("WxMain", userPlain.OpenID)
	state := b.startLogin("WxSecond", "/home")
	code := e.sim.IssueCode(secondAppID, userPanda.OpenID, "snsapi_userinfo")
	wantLoggedIn(t, b.get(callbackPath("WxSecond", code, state)+"&bind=1"), "/home")
	if _, u := b.user(); u.UserID == me.UserID {
		t.Errorf("bind=1 on the callback attached Panda to %s", me.UserID)
	}

	c := e.browser()
	c.mustLogin("WxMain", userPlain.OpenID)
	r := c.get(loginPath("WxSecond", "/home") + "&bind=1")
	st := mustURL(t, r.location()).Query().Get("state")
	c.post("/auths/logout", "", nil)
	wantError(t, c.get(callbackPath("WxSecond", e.sim.IssueCode(secondAppID, userPlain.OpenID, "snsapi_userinfo"), st)),
		http.StatusUnauthorized, "not_logged_in")
	if n := count(t, e, &models.Identity{}, "user_id = ?", me.UserID); n != 1 {
		t.Errorf("a bind after logout attached an identity: %d", n)
	}
}

func TestUnbind(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	me := b.mustLogin("WxMain", userPlain.OpenID)
	wantLoggedIn(t, b.loginWith("WxSecond", userPlain.OpenID, true), "/home")

	// From another site: refused, whichever header gives it away.
	for name, h := range map[string]http.Header{
		"Origin":         {"Origin": {"https://evil.example"}},
		"Sec-Fetch-Site": {"Sec-Fetch-Site": {"cross-site"}},
		"null Origin":    {"Origin": {"null"}},
	} {
		req, _ := http.NewRequest(http.MethodPost, b.abs("/auths/loginTypes/WxSecond/unbind"), nil)
		for k, v := range h {
			req.Header[k] = v
		}
		t.Run(name, func(t *testing.T) { wantError(t, b.do(req), http.StatusForbidden, "cross_site") })
	}
	if n := count(t, e, &models.Identity{}, "user_id = ?", me.UserID); n != 2 {
		t.Fatalf("a cross-site unbind removed an identity: %d left", n)
	}

	// From the app's own page.
	req, _ := http.NewRequest(http.MethodPost, b.abs("/auths/loginTypes/WxSecond/unbind"), nil)
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := b.do(req); r.StatusCode != http.StatusNoContent {
		t.Fatalf("unbind: %d %s", r.StatusCode, r.body)
	}
	if _, u := b.user(); len(u.Identities) != 1 || u.Identities[0].AppID != testAppID {
		t.Errorf("after unbind: %+v", u.Identities)
	}
	if _, err := models.FindWechatUser(context.Background(), e.app.DB(), secondAppID, userPlain.OpenID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("the unbound account's tokens are kept: %v", err)
	}
	wantError(t, b.post("/auths/loginTypes/WxSecond/unbind", "", nil), http.StatusNotFound, "identity_not_found")
	wantError(t, b.post("/auths/loginTypes/WxMain/unbind", "", nil), http.StatusConflict, "last_identity")
	wantError(t, e.browser().post("/auths/loginTypes/WxMain/unbind", "", nil), http.StatusUnauthorized, "not_logged_in")
	// The unbound identity is a stranger again: a login makes a new user.
	if u := e.browser().mustLogin("WxSecond", userPlain.OpenID); u.UserID == me.UserID {
		t.Error("the unbound identity still logs in as its old user")
	}
}

func TestLoginHookDecidesWithTheResolvedUser(t *testing.T) {
	var events []auths.LoginEvent
	e := newUsersEnv(t, jit.WithLoginHook(func(_ context.Context, ev *auths.LoginEvent) error {
		events = append(events, *ev)
		if ev.Identity.OpenID == userPlain.OpenID && !ev.Bind {
			return errors.New("本应用只对受邀用户开放。")
		}
		return nil
	}))
	b := e.browser()
	r := b.loginWith("WxMain", userPlain.OpenID, false)
	wantError(t, r, http.StatusForbidden, "login_refused")
	var body apiError
	_ = json.Unmarshal(r.body, &body)
	if body.Message != "本应用只对受邀用户开放。" {
		t.Errorf("message %q, want the hook's", body.Message)
	}
	if n := count(t, e, &models.User{}, "") + count(t, e, &models.WechatPublicAuthModel{}, "") + count(t, e, &models.Session{}, ""); n != 0 {
		t.Errorf("a refused login stored %d rows", n)
	}
	panda := b.mustLogin("WxMain", userPanda.OpenID)
	e.browser().mustLogin("WxMain", userPanda.OpenID)
	wantLoggedIn(t, b.loginWith("WxSecond", userPlain.OpenID, true), "/home")

	if len(events) != 4 {
		t.Fatalf("%d hook calls, want 4", len(events))
	}
	first, returning, bind := events[1], events[2], events[3]
	if first.User != nil || first.Bind || first.Identity.AppID != testAppID || first.Profile.Nickname != userPanda.Nickname {
		t.Errorf("first login event %+v", first)
	}
	if returning.User == nil || returning.User.ID != panda.UserID {
		t.Errorf("returning login event user %+v, want %s", returning.User, panda.UserID)
	}
	if !bind.Bind || bind.User == nil || bind.User.ID != panda.UserID || bind.Identity.AppID != secondAppID {
		t.Errorf("bind event %+v", bind)
	}
}

func TestDisabledUserCannotLogInOrUseASession(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	u := b.mustLogin("WxMain", userPlain.OpenID)
	if err := e.app.DB().Model(&models.User{}).Where("id = ?", u.UserID).Update("disabled", true).Error; err != nil {
		t.Fatal(err)
	}
	if status, _ := b.user(); status != http.StatusUnauthorized {
		t.Errorf("a disabled user's session still works: %d", status)
	}
	wantError(t, e.browser().loginWith("WxMain", userPlain.OpenID, false), http.StatusForbidden, "user_disabled")
}

func TestSecondLoginTypeUsesTheSameRoutes(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	r := b.get(loginPath("TestLogin", "/home"))
	authorize := mustURL(t, r.location())
	if r.StatusCode != http.StatusFound || authorize.Host != "provider.invalid" ||
		authorize.Query().Get("redirect_uri") != e.srv.URL+"/auths/loginTypes/TestLogin/callback" {
		t.Fatalf("login: %d %q", r.StatusCode, r.location())
	}
	wantError(t, b.get(callbackPath("TestLogin", "bogus", authorize.Query().Get("state"))), http.StatusBadRequest, "code_invalid")
	state := b.startLogin("TestLogin", "/home")
	wantLoggedIn(t, b.get(callbackPath("TestLogin", "fake-alice", state)), "/home")
	status, u := b.user()
	if status != http.StatusOK || u.Nickname != "Fake alice" || u.LoginType != "auths.loginTypes.TestLogin" ||
		len(u.Identities) != 1 || u.Identities[0].AppID != "fakeapp" {
		t.Errorf("session: %d %+v", status, u)
	}
	// The WeChat Type's duplicate handling applies to it too.
	r = b.get(callbackPath("TestLogin", "fake-alice", state))
	wantLoggedIn(t, r, "/home")
	// And it can be bound to a WeChat user.
	wantLoggedIn(t, b.loginWith("WxMain", userPlain.OpenID, true), "/home")
	if _, u := b.user(); len(u.Identities) != 2 {
		t.Errorf("identities after binding WeChat to a test-Type user: %+v", u.Identities)
	}
}

func TestAllowRegisterMustBeAFlag(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"auths/loginTypes/Bad/e.json":   `{"type": "auths.loginTypes.TestOnlyType", "allowRegister": "yes"}`,
		"auths/loginTypes/Bad/Bad.json": `{"appId": "x"}`,
	})
	app, err := jit.Open(context.Background(), dir, jit.WithoutReload(), jit.WithoutDatabase(), jit.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	got := app.Problems().Err()
	if got == nil || !strings.Contains(got.Error(), "auths/loginTypes/Bad/e.json") || !strings.Contains(got.Error(), "allowRegister") {
		t.Errorf("problems %v, want one naming auths/loginTypes/Bad/e.json and allowRegister", got)
	}
}

// GET /auths/loginTypes tells the front end what it may know of each login
// element, and nothing more.
func TestLoginTypesListsWhatTheFrontEndMaySee(t *testing.T) {
	e := newUsersEnv(t)
	r := e.browser().get("/auths/loginTypes")
	var list []auths.PublicConfig
	if r.StatusCode != http.StatusOK || json.Unmarshal(r.body, &list) != nil || len(list) != 5 {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	byName := map[string]auths.PublicConfig{}
	for _, p := range list {
		byName[p.FullName] = p
	}
	if got := byName["auths.loginTypes.WxMain"]; got.Title != "微信登录" || !got.Default || got.AppID != testAppID ||
		got.Type != "auths.loginTypes.WechatPublicType" || got.Scope != "snsapi_userinfo" {
		t.Errorf("WxMain: %+v", got)
	}
	if byName["auths.loginTypes.WxSecond"].Default || byName["auths.loginTypes.TestLogin"].Type != testOnlyType {
		t.Errorf("list: %+v", list)
	}
	if strings.Contains(string(r.body), testSecret) || strings.Contains(string(r.body), "appSecret") {
		t.Errorf("the list shows a secret: %s", r.body)
	}
}

// An app that deleted a user row but left its identity: the next login of
// that identity restores the user under its old id rather than failing or
// splitting the person.
func TestLoginRestoresADeletedUserOfAStoredIdentity(t *testing.T) {
	e := newUsersEnv(t)
	before := e.browser().mustLogin("WxMain", userPanda.OpenID)
	if err := e.app.DB().Where("id = ?", before.UserID).Delete(&models.User{}).Error; err != nil {
		t.Fatal(err)
	}
	after := e.browser().mustLogin("WxMain", userPanda.OpenID)
	if after.UserID != before.UserID || after.Nickname != userPanda.Nickname {
		t.Errorf("after the user row was deleted: %+v, want user %s back", after, before.UserID)
	}
	if n := count(t, e, &models.Identity{}, ""); n != 1 {
		t.Errorf("%d identities", n)
	}
}
