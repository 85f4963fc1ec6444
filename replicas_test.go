package jit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

const (
	replicaAppID  = "wx00aa11bb22cc33dd"
	replicaSecret = "ReplicaSecret0123456789abcdefXYZ"
	replicaLogin  = "auths.loginTypes.ShopLogin"
)

// replicaApp is a one-element app whose WeChat endpoints come from the
// environment, so tests can point it at a fake.
var replicaApp = fstest.MapFS{
	"auths/loginTypes/ShopLogin/e.json": {Data: []byte(`{"title":"shop","type":"auths.loginTypes.WechatPublicType"}`)},
	"auths/loginTypes/ShopLogin/ShopLogin.json": {Data: []byte(`{
		"appId": "` + replicaAppID + `", "appSecret": "{{WECHAT_APP_SECRET}}",
		"authorizeUrl": "{{WECHAT_AUTHORIZE_URL}}", "apiBaseUrls": ["{{WECHAT_API_BASE}}"]}`)},
}

// pgServer is the local PostgreSQL the tests use when it answers.
const pgServer = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// freshPGSchema creates a schema on the local PostgreSQL server, dropped
// when the test ends, and returns a DSN that uses it.
func freshPGSchema(tb testing.TB, prefix string) (string, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
	if err != nil {
		return "", err
	}
	c.Close()
	db, err := sql.Open("pgx", pgServer)
	if err != nil {
		return "", err
	}
	schema := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		return "", err
	}
	tb.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
	return pgServer + "&search_path=" + schema, nil
}

// repSharedDatabase returns a DSN both replicas use: a fresh schema on the
// local PostgreSQL server when it answers, else one SQLite file.
func repSharedDatabase(t testing.TB) (dsn, kind string) {
	t.Helper()
	if os.Getenv("JIT_TEST_DB") == "sqlite" {
		t.Log("JIT_TEST_DB=sqlite: replicas share a SQLite file")
		return filepath.Join(t.TempDir(), "shared.db"), "sqlite"
	}
	dsn, err := freshPGSchema(t, "jit_replicas")
	if err == nil {
		t.Log("replicas share PostgreSQL")
		return dsn, "postgres"
	}
	t.Logf("PostgreSQL is not available (%v): replicas share a SQLite file", err)
	return filepath.Join(t.TempDir(), "shared.db"), "sqlite"
}

type replica struct {
	app *jit.App
	srv *httptest.Server
}

// openReplicaApp opens the one-element test app on dsn, with env as its
// environment, quiet and without reload; extra options come last and win.
func openReplicaApp(dsn string, env map[string]string, extra ...jit.Option) (*jit.App, error) {
	opts := append([]jit.Option{jit.WithoutReload(), jit.WithDatabase(dsn), jit.WithLogger(slog.New(slog.DiscardHandler)),
		jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })}, extra...)
	return jit.OpenFS(context.Background(), replicaApp, ".", opts...)
}

// startReplica serves the test app until the test ends.
func startReplica(t testing.TB, dsn string, env map[string]string, extra ...jit.Option) *replica {
	t.Helper()
	app, err := openReplicaApp(dsn, env, extra...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() { srv.Close(); app.Close() })
	return &replica{app: app, srv: srv}
}

func repFakeWechat(t testing.TB) (*wechatsim.Server, map[string]string) {
	sim := wechatsim.New(wechatsim.WithApp(replicaAppID, replicaSecret))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, map[string]string{
		"WECHAT_APP_SECRET":    replicaSecret,
		"WECHAT_AUTHORIZE_URL": srv.URL + "/connect/oauth2/authorize",
		"WECHAT_API_BASE":      srv.URL,
	}
}

func repBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startLogin runs the login route on one replica and returns the state
// WeChat would echo back.
func repStartLogin(t testing.TB, c *http.Client, base string) (string, error) {
	resp, err := c.Get(base + "/auths/loginTypes/ShopLogin/login?redirectUrl=/done")
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("login: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", err
	}
	return loc.Query().Get("state"), nil
}

func repFinishLogin(c *http.Client, base, code, state string) (int, string, error) {
	resp, err := c.Get(base + "/auths/loginTypes/ShopLogin/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state))
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

func repSessionStatus(t testing.TB, c *http.Client, base string) int {
	resp, err := c.Get(base + "/auths/session")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTwoReplicasShareLoginsAndSessions(t *testing.T) {
	dsn, kind := repSharedDatabase(t)
	sim, env := repFakeWechat(t)
	a := startReplica(t, dsn, env)
	b := startReplica(t, dsn, env)
	users := sim.Users()

	// Cookies ignore ports, so one jar is one browser talking to both
	// replicas behind a load balancer.
	c := repBrowser()
	state, err := repStartLogin(t, c, a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	code := sim.IssueCode(replicaAppID, users[0].OpenID, "snsapi_userinfo")
	status, loc, err := repFinishLogin(c, b.srv.URL, code, state)
	if err != nil || status != http.StatusFound || loc != "/done" {
		t.Fatalf("[%s] callback on B for a login started on A: %d %q %v", kind, status, loc, err)
	}
	if got := repSessionStatus(t, c, a.srv.URL); got != http.StatusOK {
		t.Fatalf("[%s] session made on B not valid on A: %d", kind, got)
	}
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/auths/logout", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The logout cleared this jar's cookie; replay the old cookie to prove
	// the session is gone server side, not just forgotten by the browser.
	if got := repSessionStatus(t, c, a.srv.URL); got != http.StatusUnauthorized {
		t.Fatalf("[%s] after logout on B, session on A: %d", kind, got)
	}
}

func TestLogoutEndsTheSessionServerSide(t *testing.T) {
	dsn, kind := repSharedDatabase(t)
	sim, env := repFakeWechat(t)
	a := startReplica(t, dsn, env)
	b := startReplica(t, dsn, env)
	c := repBrowser()
	state, err := repStartLogin(t, c, a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := repFinishLogin(c, a.srv.URL, sim.IssueCode(replicaAppID, sim.Users()[1].OpenID, "snsapi_userinfo"), state); err != nil || status != http.StatusFound {
		t.Fatalf("callback: %d %v", status, err)
	}
	u, _ := url.Parse(a.srv.URL)
	var stolen *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "jit_session" {
			stolen = ck
		}
	}
	if stolen == nil {
		t.Fatal("no session cookie")
	}
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/auths/logout", nil)
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	replay, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/auths/session", nil)
	replay.AddCookie(stolen)
	resp, err := http.DefaultClient.Do(replay)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("[%s] a logged-out session cookie still works on the other replica: %d", kind, resp.StatusCode)
	}
}

func TestConcurrentLoginsAcrossReplicasKeepOneRowPerUser(t *testing.T) {
	dsn, kind := repSharedDatabase(t)
	sim, env := repFakeWechat(t)
	reps := []*replica{startReplica(t, dsn, env, manyBrowsersOneAddress), startReplica(t, dsn, env, manyBrowsersOneAddress)}
	const users, loginsPerUser = 50, 4 // 200 logins
	var openids []string
	for i := range users {
		u := wechatsim.User{Nickname: fmt.Sprintf("用户%d", i)}
		u.OpenID = wechatsim.OpenIDForNickname(u.Nickname)
		sim.AddUser(u)
		openids = append(openids, u.OpenID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, users*loginsPerUser)
	for i := range users * loginsPerUser {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := repBrowser()
			start, land := reps[i%2], reps[(i/2)%2]
			state, err := repStartLogin(t, c, start.srv.URL)
			if err != nil {
				errs <- err
				return
			}
			code := sim.IssueCode(replicaAppID, openids[i%users], "snsapi_userinfo")
			status, loc, err := repFinishLogin(c, land.srv.URL, code, state)
			if err != nil || status != http.StatusFound || loc != "/done" {
				errs <- fmt.Errorf("login %d: %d %q %v", i, status, loc, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var rows int64
	if err := reps[0].app.DB().Model(&models.WechatPublicAuthModel{}).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != users {
		t.Fatalf("[%s] %d rows for %d users", kind, rows, users)
	}
	// Four concurrent first logins of one person make one app user.
	var appUsers, identities int64
	reps[0].app.DB().Model(&models.User{}).Count(&appUsers)
	reps[0].app.DB().Model(&models.Identity{}).Count(&identities)
	if appUsers != users || identities != users {
		t.Fatalf("[%s] %d app users and %d identities for %d people", kind, appUsers, identities, users)
	}
	t.Logf("[%s] %d logins over 2 replicas: %d rows", kind, users*loginsPerUser, rows)
}

func TestSecretKeyEncryptsTokensAndAWrongKeyStopsStartup(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "keyed.db")
	sim, env := repFakeWechat(t)
	env["JIT_SECRET_KEY"] = strings.Repeat("s3cr3t", 8)
	r := startReplica(t, dsn, env)
	c := repBrowser()
	state, err := repStartLogin(t, c, r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := repFinishLogin(c, r.srv.URL, sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo"), state); err != nil || status != http.StatusFound {
		t.Fatalf("callback: %d %v", status, err)
	}
	row, err := models.FindWechatUser(context.Background(), r.app.DB(), replicaAppID, sim.Users()[0].OpenID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(row.AccessToken, "v1:") || !strings.HasPrefix(row.RefreshToken, "v1:") {
		t.Fatalf("tokens stored in the clear: %q %q", row.AccessToken, row.RefreshToken)
	}

	env["JIT_SECRET_KEY"] = strings.Repeat("other!", 8)
	_, err = openReplicaApp(dsn, env)
	if !errors.Is(err, models.ErrWrongKey) || !strings.Contains(err.Error(), "JIT_SECRET_KEY") {
		t.Fatalf("opening with another key: %v", err)
	}

	delete(env, "JIT_SECRET_KEY")
	_, err = openReplicaApp(dsn, env)
	if !errors.Is(err, models.ErrKeyMissing) || !strings.Contains(err.Error(), "JIT_SECRET_KEY") {
		t.Fatalf("opening a keyed database with no key: %v", err)
	}
}

// A duplicate callback that arrives after the user logged out must not log
// them back in, even inside the duplicate window.
func TestDuplicateCallbackAfterLogoutIsRefused(t *testing.T) {
	sim, env := repFakeWechat(t)
	r := startReplica(t, filepath.Join(t.TempDir(), "dup.db"), env)
	c := repBrowser()
	state, err := repStartLogin(t, c, r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	code := sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo")
	if status, _, err := repFinishLogin(c, r.srv.URL, code, state); err != nil || status != http.StatusFound {
		t.Fatalf("callback: %d %v", status, err)
	}
	if status, _, _ := repFinishLogin(c, r.srv.URL, code, state); status != http.StatusFound {
		t.Fatalf("duplicate before logout: %d, want 302", status)
	}
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/auths/logout", nil)
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if status, _, _ := repFinishLogin(c, r.srv.URL, code, state); status != http.StatusConflict {
		t.Fatalf("duplicate after logout: %d, want 409", status)
	}
	if got := repSessionStatus(t, c, r.srv.URL); got != http.StatusUnauthorized {
		t.Fatalf("logged back in: session %d", got)
	}
	if n := sim.Calls(wechatsim.EndpointAccessToken); n != 1 {
		t.Fatalf("%d code exchanges, want 1", n)
	}
}

func TestSessionTTL(t *testing.T) {
	sim, env := repFakeWechat(t)
	r := startReplica(t, filepath.Join(t.TempDir(), "ttl.db"), env, jit.WithSessionTTL(90*time.Minute))
	c := repBrowser()
	state, err := repStartLogin(t, c, r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(r.srv.URL + "/auths/loginTypes/ShopLogin/callback?state=" + state + "&code=" + sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	maxAge := -1
	for _, ck := range resp.Cookies() {
		if ck.Name == "jit_session" {
			maxAge = ck.MaxAge
		}
	}
	if maxAge != 90*60 {
		t.Fatalf("session cookie Max-Age %d, want %d", maxAge, 90*60)
	}
	var sess models.Session
	if err := r.app.DB().Take(&sess).Error; err != nil {
		t.Fatal(err)
	}
	if d := sess.ExpiresAt.Sub(sess.CreatedAt); d != 90*time.Minute {
		t.Fatalf("session row lasts %v", d)
	}
}

// Android's double redirect where the browser drops the first callback
// while WeChat is still answering: the first exchange finishes anyway and
// the second callback is logged in from it, without a second exchange.
func TestDuplicateCallbackAfterTheFirstWasDropped(t *testing.T) {
	sim, env := repFakeWechat(t)
	r := startReplica(t, filepath.Join(t.TempDir(), "drop.db"), env)
	c := repBrowser()
	state, err := repStartLogin(t, c, r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	code := sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo")
	sim.Inject(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Delay: 300 * time.Millisecond})
	impatient := *c
	impatient.Timeout = 100 * time.Millisecond
	if _, _, err := repFinishLogin(&impatient, r.srv.URL, code, state); err == nil {
		t.Fatal("the first callback was meant to be dropped by the browser")
	}
	start := time.Now()
	status, loc, err := repFinishLogin(c, r.srv.URL, code, state)
	if err != nil || status != http.StatusFound || loc != "/done" {
		t.Fatalf("second callback: %d %q %v", status, loc, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("second callback took %v", took)
	}
	if n := sim.Calls(wechatsim.EndpointAccessToken); n != 1 {
		t.Fatalf("%d code exchanges, want 1", n)
	}
	if got := repSessionStatus(t, c, r.srv.URL); got != http.StatusOK {
		t.Fatalf("session: %d", got)
	}
}
