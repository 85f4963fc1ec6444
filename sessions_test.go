package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/models"
)

const (
	androidWechatUA = "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5197 MMWEBSDK/20230805 MMWEBID/3346 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	windowsChromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

// uaTransport sends every request with one User-Agent.
type uaTransport struct {
	ua   string
	next http.RoundTripper
}

func (t uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", t.ua)
	return t.next.RoundTrip(r)
}

func (e *loginEnv) browserWithUA(ua string) *browser {
	b := e.browser()
	b.c.Transport = uaTransport{ua: ua, next: e.tr}
	return b
}

type sessionRow struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	UserAgent  string    `json:"userAgent"`
	LoginType  string    `json:"loginType"`
	Current    bool      `json:"current"`
}

func (b *browser) sessions() []sessionRow {
	r := b.get("/auths/sessions")
	var list []sessionRow
	if r.StatusCode != http.StatusOK || json.Unmarshal(r.body, &list) != nil {
		b.e.t.Fatalf("sessions: %d %s", r.StatusCode, r.body)
	}
	return list
}

func (b *browser) sameSite(method, path string) *response {
	req, err := http.NewRequest(method, b.abs(path), nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// A duplicate callback (same code, same browser) joins the first exchange's
// session: one row, one cookie value, so logging out from either ends both.
func TestDuplicateCallbackJoinsTheFirstSession(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	state := b.startLogin("WxMain", "/home")
	cb := callbackPath("WxMain", e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), state)
	first, second := b.get(cb), b.get(cb)
	wantLoggedIn(t, first, "/home")
	wantLoggedIn(t, second, "/home")
	c1, c2 := cookieNamed(first, auths.SessionCookie), cookieNamed(second, auths.SessionCookie)
	if c1 == nil || c2 == nil || c1.Value != c2.Value {
		t.Fatalf("session cookies %v and %v, want the same session", c1, c2)
	}
	if n := count(t, e, &models.Session{}, "login_state = ?", state); n != 1 {
		t.Fatalf("%d session rows for one login", n)
	}
	if r := b.post("/auths/logout", "", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	replay, _ := http.NewRequest(http.MethodGet, b.abs("/auths/session"), nil)
	replay.AddCookie(&http.Cookie{Name: c1.Name, Value: c1.Value})
	if r := e.browser().do(replay); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the first callback's cookie after logging out the duplicate's: %d", r.StatusCode)
	}
	// A duplicate after the logout does not log the browser back in.
	wantError(t, b.get(cb), http.StatusConflict, "state_used")
}

func TestSessionsListEndOneAndLogoutEverywhere(t *testing.T) {
	e := newUsersEnv(t)
	phone, pc := e.browserWithUA(androidWechatUA), e.browserWithUA(windowsChromeUA)
	me := phone.mustLogin("WxMain", userPanda.OpenID)
	pc.mustLogin("WxSecond", userPanda.OpenID)
	stranger := e.browser()
	stranger.mustLogin("WxMain", userPlain.OpenID)

	list := phone.sessions()
	if len(list) != 2 {
		t.Fatalf("sessions: %+v", list)
	}
	var mine, other sessionRow
	for _, s := range list {
		if s.Current {
			mine = s
		} else {
			other = s
		}
	}
	if mine.UserAgent != "微信 · Android" || mine.LoginType != "auths.loginTypes.WxMain" || mine.ID == "" ||
		other.UserAgent != "Chrome · Windows" || other.LoginType != "auths.loginTypes.WxSecond" || other.Current {
		t.Errorf("sessions %+v", list)
	}
	if mine.CreatedAt.IsZero() || mine.LastSeenAt.Before(mine.CreatedAt) {
		t.Errorf("times %+v", mine)
	}
	// Another user's session id is not found, and stays alive.
	theirs := stranger.sessions()[0].ID
	wantError(t, phone.sameSite(http.MethodDelete, "/auths/sessions/"+theirs), http.StatusNotFound, "session_not_found")
	if status, _ := stranger.user(); status != http.StatusOK {
		t.Errorf("another user's session ended: %d", status)
	}
	// Cross-site: refused.
	req, _ := http.NewRequest(http.MethodDelete, phone.abs("/auths/sessions/"+other.ID), nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantError(t, phone.do(req), http.StatusForbidden, "cross_site")
	// The phone ends the PC's session.
	if r := phone.sameSite(http.MethodDelete, "/auths/sessions/"+other.ID); r.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.StatusCode, r.body)
	}
	if status, _ := pc.user(); status != http.StatusUnauthorized {
		t.Errorf("the PC is still logged in: %d", status)
	}
	// Log in on the PC again, then log out everywhere from the phone.
	pc.mustLogin("WxMain", userPanda.OpenID)
	if r := phone.sameSite(http.MethodPost, "/auths/logout?all=1"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("logout all: %d %s", r.StatusCode, r.body)
	}
	for name, b := range map[string]*browser{"phone": phone, "pc": pc} {
		if status, _ := b.user(); status != http.StatusUnauthorized {
			t.Errorf("%s still logged in after logout everywhere: %d", name, status)
		}
	}
	if n := count(t, e, &models.Session{}, "user_id = ? AND expires_at > ?", me.UserID, time.Now()); n != 0 {
		t.Errorf("%d live sessions left", n)
	}
	if status, _ := stranger.user(); status != http.StatusOK {
		t.Errorf("logout everywhere ended another user's session: %d", status)
	}
}

// lastSeenAt is written at most once a minute per session.
func TestLastSeenIsWrittenAtMostOnceAMinute(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	b.mustLogin("WxMain", userPanda.OpenID)
	read := func() time.Time {
		var s models.Session
		if err := e.app.DB().Order("created_at DESC").Take(&s).Error; err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}
	created := read()
	b.user()
	if got := read(); !got.Equal(created) {
		t.Errorf("lastSeenAt written again within a minute: %v → %v", created, got)
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := e.app.DB().Model(&models.Session{}).Where("1 = 1").Update("last_seen_at", old).Error; err != nil {
		t.Fatal(err)
	}
	b.user()
	touched := read()
	if !touched.After(old.Add(time.Minute)) {
		t.Errorf("lastSeenAt %v not refreshed after two minutes", touched)
	}
	b.user()
	if got := read(); !got.Equal(touched) {
		t.Errorf("written twice in a minute: %v → %v", touched, got)
	}
}

func TestLogoutEverywhereReachesTheOtherReplica(t *testing.T) {
	dsn, kind := repSharedDatabase(t)
	sim, env := repFakeWechat(t)
	a, b := startReplica(t, dsn, env), startReplica(t, dsn, env)
	user := sim.Users()[0].OpenID
	phone, pc := repBrowser(), repBrowser()
	for _, x := range []struct {
		c    *http.Client
		base string
	}{{phone, a.srv.URL}, {pc, b.srv.URL}} {
		state, err := repStartLogin(t, x.c, x.base)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, err := repFinishLogin(x.c, x.base, sim.IssueCode(replicaAppID, user, "snsapi_userinfo"), state); err != nil || status != http.StatusFound {
			t.Fatalf("login: %d %v", status, err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/auths/logout?all=1", nil)
	resp, err := phone.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout all on A: %d", resp.StatusCode)
	}
	if got := repSessionStatus(t, pc, b.srv.URL); got != http.StatusUnauthorized {
		t.Errorf("[%s] the session made on B survived logout everywhere on A: %d", kind, got)
	}
}

func TestEndSessionsFromGo(t *testing.T) {
	e := newUsersEnv(t)
	b := e.browser()
	u := b.mustLogin("WxMain", userPanda.OpenID)
	if err := e.app.EndSessions(context.Background(), u.UserID); err != nil {
		t.Fatal(err)
	}
	if status, _ := b.user(); status != http.StatusUnauthorized {
		t.Errorf("session after EndSessions: %d", status)
	}
}

func TestCurrentUserInGo(t *testing.T) {
	e := newUsersEnv(t)
	_, err := e.app.CurrentUser(httptest.NewRequest(http.MethodGet, "/", nil))
	if !errors.Is(err, jit.ErrNotLoggedIn) {
		t.Fatalf("CurrentUser without a cookie: %v, want ErrNotLoggedIn", err)
	}
	b := e.browser()
	want := b.mustLogin("WxMain", userPanda.OpenID)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range b.c.Jar.Cookies(mustURL(t, e.srv.URL)) {
		r.AddCookie(c)
	}
	got, err := e.app.CurrentUser(r)
	if err != nil || got.UserID != want.UserID || got.OpenID != userPanda.OpenID || len(got.Identities) != 1 {
		t.Fatalf("CurrentUser = %+v, %v; want user %s", got, err, want.UserID)
	}
	r.Header.Set("Cookie", auths.SessionCookie+"=NOTALIVESESSION0000000000")
	if _, err := e.app.CurrentUser(r); !errors.Is(err, jit.ErrNotLoggedIn) {
		t.Errorf("CurrentUser with a dead cookie: %v", err)
	}
}

func TestRequireLogin(t *testing.T) {
	e := newUsersEnv(t)
	mux := http.NewServeMux()
	mux.Handle("/private", e.app.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := jit.UserFromContext(r.Context())
		if !ok {
			http.Error(w, "no user in the context", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("hello " + u.UserID))
	})))
	mux.Handle("/", e.app.Handler())
	e.srv.Config.Handler = mux

	b := e.browser()
	r := b.getHTML("/private?tab=orders&x=%E4%B8%AD") // as a browser sends 中
	if r.StatusCode != http.StatusFound || r.location() != e.srv.URL+"/auths/loginTypes/WxMain/login?redirectUrl=%2Fprivate%3Ftab%3Dorders%26x%3D%25E4%25B8%25AD" {
		t.Errorf("browser without a session: %d %q", r.StatusCode, r.location())
	}
	wantError(t, b.get("/private"), http.StatusUnauthorized, "not_logged_in")

	// Following the redirect logs in and comes back to the page.
	login := b.get(r.location())
	state := mustURL(t, login.location()).Query().Get("state")
	back := b.get(callbackPath("WxMain", e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), state))
	wantLoggedIn(t, back, "/private?tab=orders&x=%E4%B8%AD")
	_, u := b.user()
	if r := b.getHTML(back.location()); r.StatusCode != http.StatusOK || string(r.body) != "hello "+u.UserID {
		t.Errorf("logged in: %d %q", r.StatusCode, r.body)
	}
}

// With two login elements and neither marked default there is nowhere to
// send a browser: it gets the 401 too.
func TestRequireLoginWithoutADefaultElement(t *testing.T) {
	e := newLoginEnv(t, envOptions{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/private", nil)
	req.Header.Set("Accept", "text/html")
	e.app.RequireLogin(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not_logged_in") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
